"""Data sets built side by side in worker processes: results, progress and failures relayed."""

import os

import pandas as pd
import pytest

from gmm_bayes.report import parallel, pipeline
from gmm_bayes.report.progress import Progress
from gmm_bayes.report.provenance import ReportSettings


def square_in_a_worker(x, *, progress):
    """A job: its steps reach the parent, its phase time is added to the parent's."""
    with progress.phase("EM"):
        progress.note(f"pid {os.getpid()}")
        progress.step(f"squared {x}")
    return x * x


def fail_on_three(x, *, progress):
    if x == 3:
        raise ValueError(f"x must not be 3, got {x}")
    return x


def test_jobs_run_in_other_processes_and_relay_their_progress():
    lines = []
    progress = Progress(lines.append)
    progress.plan(3)
    jobs = {name: (x,) for name, x in [("a", 1), ("b", 2), ("c", 3)]}
    results = parallel.run_jobs(square_in_a_worker, jobs, progress, workers=2)
    assert list(results.items()) == [("a", 1), ("b", 4), ("c", 9)]  # the order of the jobs
    steps = sorted(line for line in lines if line.startswith("["))
    assert sorted(s.split("] ")[1] for s in steps) == ["squared 1", "squared 2", "squared 3"]
    assert {s.split("] ")[0] for s in steps} == {"[1/3", "[2/3", "[3/3"}
    pids = {int(line.split()[1]) for line in lines if line.startswith("pid")}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    assert progress.phases["EM"] > 0


def test_one_worker_runs_the_jobs_here():
    lines = []
    results = parallel.run_jobs(square_in_a_worker, {"a": (5,)}, Progress(lines.append), workers=4)
    assert results == {"a": 25} and f"pid {os.getpid()}" in lines


@pytest.mark.slow
def test_a_failed_job_raises_its_error_in_the_parent():
    jobs = {name: (x,) for name, x in [("a", 1), ("b", 3), ("c", 2)]}
    with pytest.raises(ValueError, match="x must not be 3, got 3"):
        parallel.run_jobs(fail_on_three, jobs, Progress(), workers=2)


@pytest.mark.slow
def test_bundled_reports_do_not_depend_on_the_number_of_workers(tmp_path):
    bundled = {"seed_notebook": (1,), "galaxy": (1,)}
    settings = ReportSettings(draws=40, tune=40, chains=2, seed=4, evidence=False)
    for workers in (1, 2):
        pipeline.write_bundled(tmp_path / f"w{workers}", bundled, settings, quiet=True,
                               workers=workers)  # fmt: skip
    for name in bundled:
        one, two = (pd.read_csv(tmp_path / f"w{w}" / name / "estimates.csv") for w in (1, 2))
        pd.testing.assert_frame_equal(one, two)
