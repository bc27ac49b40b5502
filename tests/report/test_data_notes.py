"""The top of a page says when the data lie on a recording grid or have heaps."""

import numpy as np

import gmm_bayes as gb
from gmm_bayes.report.files import data_notes


def test_geyser_durations_grid_and_heaps_are_said():
    x = gb.load_dataset("geyser_duration")
    notes = data_notes(x, [], "minutes")
    assert "grid of 0.01667 minutes" in notes[0]  # recorded in seconds: 1/60 minute
    assert "densities" in notes[0]  # the report's fits do not use the interval likelihood
    # the night-time durations coded 4.000: counted independently
    count = int(np.sum(x == 4.0))
    assert count == 53
    assert notes[1].startswith(f"Heaps: 4 minutes ({count} times), 2 minutes (")


def test_continuous_data_get_no_note():
    assert data_notes(gb.load_dataset("galaxy"), [], "1000 km/s") == []
