"""The multivariate report compares K the Bayesian way: PSIS-LOO differences with the se of the
difference, stacking over trustworthy posteriors only, the recommended K on the first screen
beside EM BIC's choice, and a status row per K read from each posterior's diagnostics."""

import re
from types import SimpleNamespace

import arviz_stats as azs
import numpy as np
import pytest
from report.fake_report_mv import X, faithful_analysis, with_status

from gmm_bayes.bayes import Diagnostics, Status
from gmm_bayes.compare.recommendation import RULE_LOO, RULE_NONE
from gmm_bayes.data import dataset_path
from gmm_bayes.report.comparison_mv import lowest_bic
from gmm_bayes.report.pages import render
from gmm_bayes.report.pages_mv import page_context_mv
from gmm_bayes.report.pipeline_mv import comparison_rows_mv, estimate_rows
from gmm_bayes.report.provenance import ReportSettings, source_meta


def page(analysis):
    """The page context and HTML of ``analysis`` (no figures drawn)."""
    meta = source_meta(dataset_path("faithful2d"), "eruptions,waiting", name="faithful2d")
    meta["columns"] = ["eruptions", "waiting"]
    rows, grid = estimate_rows(analysis, X), comparison_rows_mv(analysis, X)
    ctx = page_context_mv(X, analysis, meta, ReportSettings(ks=(1, 2)), [], rows, grid)
    ctx["elapsed"] = "1.0 s"
    return ctx, render("dataset_mv.html", **ctx)


def test_elpd_differences_have_the_se_of_the_pointwise_difference():
    analysis = faithful_analysis()
    cmp = analysis.comparison
    loo = {k: azs.loo(tree, pointwise=True) for k, tree in analysis.trees.items()}
    for k in (1, 2):
        assert cmp["elpd_loo"].sel(K=k) == pytest.approx(float(loo[k].elpd), rel=1e-12)
    # Vehtari, Gelman & Gabry (2017) eq. 24: se = sqrt(N var(elpd_i(1) - elpd_i(2)))
    diff = np.asarray(loo[1].elpd_i).ravel() - np.asarray(loo[2].elpd_i).ravel()
    best, other = (2, 1) if diff.sum() < 0 else (1, 2)
    assert cmp["elpd_diff"].sel(K=best) == 0.0
    assert cmp["elpd_diff"].sel(K=other) == pytest.approx(-abs(diff.sum()), rel=1e-9)
    assert cmp["elpd_diff_se"].sel(K=other) == pytest.approx(
        np.sqrt(diff.size * diff.var()), rel=1e-6
    )


def test_a_failed_posterior_gets_no_stacking_weight_and_is_not_recommended():
    analysis = with_status(faithful_analysis(), 2, Status.NOT_CONVERGED)
    cmp = analysis.comparison
    assert not cmp["trustworthy"].sel(K=2) and cmp["stacking_weight"].sel(K=2) == 0.0
    assert cmp["stacking_weight"].sel(K=1) == 1.0
    assert analysis.recommended == 1 and cmp.attrs["recommended_rule"] == RULE_LOO
    none = with_status(analysis, 1, Status.FAILED)
    assert none.recommended is None and none.comparison.attrs["recommended_rule"] == RULE_NONE


def test_first_screen_has_the_recommended_k_its_rule_and_ems_bic_choice():
    analysis = faithful_analysis()
    ctx, html = page(analysis)
    answer = html[html.index('<section id="answer"') : html.index("</section>")]
    k = analysis.recommended
    assert k == analysis.comparison.attrs["recommended_k"] == 2  # K=1 is ~150 elpd below
    assert f"Recommended: <strong>K = {k}</strong> ({analysis.sampled[k]} covariances)" in answer
    assert f"Rule: {analysis.comparison.attrs['recommended_rule']}" in answer
    bic_type, bic_k = analysis.bic_best
    assert f"<strong>K = {bic_k}, {bic_type}</strong>" in answer
    # the answer comes before the status table, the provenance after both
    assert html.index('id="answer"') < html.index('id="status"') < html.index('id="provenance"')


def test_status_table_reads_each_posteriors_diagnostics_and_opens_the_recommended_k():
    analysis = with_status(faithful_analysis(), 1, Status.NOT_CONVERGED)
    ctx, html = page(analysis)
    table = html[html.index('<table id="status">') : html.index("</table>")]
    rows = re.findall(r"<tr class=\"([^\"]*)\">(.*?)</tr>", table, re.S)
    assert len(rows) == 2
    for (css, row), k in zip(rows, (1, 2), strict=True):
        diag = Diagnostics.from_dataset(analysis.trees[k]["diagnostics"].to_dataset())
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        assert diag.status.value in cells[2] and cells[3] == "nutpie"
        assert cells[4] == str(diag.n_divergent)
        assert cells[5] == f"{diag.max_rhat:.3f}"
        assert cells[6] == f"{diag.min_ess_bulk:.0f} / {diag.min_ess_tail:.0f}"
        assert (css == "untrusted-row") == (k == 1)
    assert '<details id="K2" open>' in html and '<details id="K1">' in html
    assert "--components 1" in html  # what to run for the failed K
    # K=1's weight is 1 in every draw: no sd shown beside it, K=2's has one
    assert [s["estimates"][0]["sds"][0] == "" for s in ctx["sections"]] == [True, False]


def test_lowest_bic_skips_collapsed_fits():
    fit = lambda bic, degenerate: SimpleNamespace(bic=lambda: bic, degenerate=degenerate)  # noqa: E731
    assert lowest_bic({"full": fit(10.0, True), "tied": fit(12.0, False)}) == "tied"
    assert lowest_bic({"full": fit(10.0, True), "tied": fit(12.0, True)}) == "full"
