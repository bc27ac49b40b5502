"""The multivariate posterior predictive check: its numbers against numpy, and its caption
against what the figure draws."""

import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
from report.fake_report_mv import faithful_analysis

from gmm_bayes.report.ppc_mv import REPLICATE_COLOR, plot_ppc_mv, ppc_caption, ppc_numbers


def test_correlations_and_p_value_match_numpy():
    tree = faithful_analysis().trees[2]
    numbers = ppc_numbers(tree)
    observed = tree["observed_data"]["y"].values
    assert numbers.correlation_observed[0] == pytest.approx(np.corrcoef(observed.T)[0, 1])
    reps = tree["posterior_predictive"]["y"].values.reshape(-1, *observed.shape)
    by_numpy = np.array([np.corrcoef(r.T)[0, 1] for r in reps])
    np.testing.assert_allclose(numbers.correlation_replicated[:, 0], by_numpy, rtol=1e-10)
    assert numbers.p_values[0] == np.mean(by_numpy >= numbers.correlation_observed[0])


def test_caption_states_what_is_drawn():
    numbers = ppc_numbers(faithful_analysis().trees[2], num_samples=25)
    fig, axes = plt.subplots(1, 3)
    drawn = plot_ppc_mv(axes, numbers, columns=["eruptions", "waiting"])
    caption = ppc_caption(numbers, ["eruptions", "waiting"])
    shown = int(re.search(r"in (\d+) replicated data sets \(light blue\)", caption)[1])
    every = int(re.search(r"in all (\d+) replicated", caption)[1])
    corr, p = re.search(r"eruptions and waiting (-?[\d.]+) \(p = ([\d.]+)\)", caption).groups()
    for ax in axes[:2]:
        colours = [line.get_color() for line in ax.lines]
        assert colours.count(REPLICATE_COLOR) == shown == 25 and colours.count("black") == 1
    assert sum(bar.get_height() for bar in drawn["histograms"][0]) == every == 400
    assert f"{drawn['observed'][0].get_xdata()[0]:.3f}" == corr
    assert axes[2].get_title().endswith(f"p = {p}")
    plt.close(fig)
