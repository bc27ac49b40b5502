"""Numbers as the pages show them (rounded to their uncertainty) and estimates.csv's schema."""

import csv

import numpy as np
import pytest
from report.fake_report import fake_report

from gmm_bayes.bayes import Status
from gmm_bayes.report.tables import ESTIMATE_COLUMNS, estimates_rows, rounded, write_csv


@pytest.mark.parametrize(
    ("value", "uncertainty", "shown"),
    [
        # two significant digits of the uncertainty fix the last decimal shown
        (80.15342, 0.45, "80.15"),
        (80.15342, 2.3, "80.2"),
        (80.15342, 23.0, "80"),
        (0.36123, 0.0291, "0.361"),
        (-3.98761, 0.00123, "-3.9876"),
        # no usable uncertainty: four significant digits
        (0.123456, float("nan"), "0.1235"),
        (0.123456, 0.0, "0.1235"),
        (float("nan"), 0.1, "—"),
    ],
)
def test_rounded_to_two_significant_digits_of_the_uncertainty(value, uncertainty, shown):
    assert rounded(value, uncertainty) == shown


def test_rounding_agrees_with_the_uncertainty_on_random_numbers():
    """Independent check: the shown value differs from the value by at most half the last
    shown digit, and that digit is at most a tenth of the uncertainty (two of its digits)."""
    rng = np.random.default_rng(0)
    for value, unc in zip(rng.normal(0, 1e3, 200), 10 ** rng.uniform(-5, 3, 200), strict=True):
        text = rounded(value, unc)
        decimals = len(text.split(".")[1]) if "." in text else 0
        step = 10.0**-decimals
        assert abs(float(text) - value) <= step / 2 + 1e-9
        assert step <= unc / 10 * 1.0000001 or decimals == 0


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    return fake_report(tmp_path_factory.mktemp("tables"), Status.MULTIMODAL)


def test_estimates_csv_is_tidy(report, tmp_path):
    rows = estimates_rows(report["results"], report["comparison"])
    path = tmp_path / "estimates.csv"
    write_csv(path, rows, ESTIMATE_COLUMNS)
    with open(path, newline="") as fh:
        read = list(csv.DictReader(fh))
    assert tuple(read[0]) == ESTIMATE_COLUMNS
    # one row per (K, method, parameter, component): K=1 and K=2, 3 methods, 3 parameters
    keys = {(r["K"], r["method"], r["parameter"], r["component"]) for r in read}
    assert len(keys) == len(read) == 3 * 3 * (1 + 2)
    assert {r["component"] for r in read} == {"1", "2"}
    by = {(r["K"], r["method"], r["parameter"], r["component"]): r for r in read}
    em, post = by[("2", "em", "mu", "1")], by[("2", "posterior_mean", "mu", "1")]
    sk = by[("2", "sklearn", "mu", "1")]
    # columns mean the same on every row: a standard error only where one was computed,
    # a posterior sd only on the posterior's rows, the interval named
    assert float(em["std_error"]) > 0 and em["posterior_sd"] == "" and em["interval"] == "Wald 95%"
    assert post["std_error"] == "" and float(post["posterior_sd"]) > 0
    assert post["interval"] == "HDI 94%" and float(post["r_hat"]) > 0
    assert sk["std_error"] == sk["posterior_sd"] == sk["lower"] == sk["r_hat"] == ""
    # trustworthy and converged follow the typed diagnostics: the K=2 posterior is MULTIMODAL
    assert (post["status"], post["converged"], post["trustworthy"]) == (
        "MULTIMODAL",
        "False",
        "False",
    )
    k1 = by[("1", "posterior_mean", "mu", "1")]
    assert (k1["status"], k1["converged"], k1["trustworthy"]) == ("OK", "True", "True")
    assert em["trustworthy"] == "True" and em["status"] == ""
    # the Wald interval is EM's estimate +- 1.96 se
    centre = float(em["estimate"])
    half = 1.959963984540054 * float(em["std_error"])  # scipy.stats.norm.ppf(0.975)
    assert float(em["lower"]) == pytest.approx(centre - half, rel=1e-9)
    assert float(em["upper"]) == pytest.approx(centre + half, rel=1e-9)


def test_summary_markdown_has_no_html_entities_or_absolute_paths(report):
    md = report["md"]
    for entity in ("&lt;", "&gt;", "&amp;", "&plusmn;", "&#"):
        assert entity not in md
    # the data file by its path relative to the working directory, or its name; a full path
    # only in a command to run (which must find the file)
    assert "- data: `d.csv` (sha256" in md
    assert all(line.count("/tmp") == line.count("--column v") for line in md.splitlines())
    assert "| K | status | sampler |" in md


def test_the_status_reason_counts_in_words():
    from types import SimpleNamespace

    from gmm_bayes.bayes import Status
    from gmm_bayes.report.sections import _why

    def reason(outside, high_k):
        diag = SimpleNamespace(
            sigma_outside_prior=outside, n_max_treedepth=0, mode_fraction=np.ones((4, 1))
        )
        return _why(Status.CAUTION, diag, {"pareto_k_bad": high_k, "pareto_k_very_bad": 0})

    assert reason([0], 1) == (
        "EM sigma of component 1 outside the prior's 95%; Pareto k high for 1 observation"
    )
    assert reason([0, 2], 3) == (
        "EM sigma of components 1, 3 outside the prior's 95%; Pareto k high for 3 observations"
    )
