"""The pages read the typed status: badges, boxes and tables follow ``Status``, never the prose."""

import re

import numpy as np
import pytest
from report.fake_report import fake_report

from gmm_bayes.bayes import Status
from gmm_bayes.report.pages import bundled_row, md_cell

#: a verdict that says OK whatever the status: the pages must not believe it
LYING_VERDICT = "OK: no sampling problems detected. The prose is not the status."


def pages(tmp_path, status_k2):
    """Both pages of a report whose K=2 posterior has ``status_k2`` (and a lying verdict)."""
    report = fake_report(tmp_path, status_k2, LYING_VERDICT)
    return report["ctx"], report["html"], report["md"]


@pytest.mark.parametrize("status", [Status.MULTIMODAL, Status.NOT_CONVERGED, Status.FAILED])
def test_badges_follow_the_status(tmp_path, status):
    ctx, html, md = pages(tmp_path, status)
    word = status.value
    summaries = re.findall(r"<summary>(.*?)</summary>", html)
    # the failed K's status is in its summary line; the recommended K is open
    assert (
        summaries[1]
        == f'K = 2 <span class="badge bad">{word}</span> <span class="small">not usable</span>'
    )
    assert summaries[0].startswith('K = 1 <span class="badge good">OK</span>')
    assert re.search(r'<details id="K1" open>', html) and '<details id="K2">' in html
    glance = re.findall(r'<td class="text"><span class="badge (\w+)">([A-Z ]+)</span></td>', html)
    assert glance == [("good", "OK"), ("bad", word)]
    assert html.count("Do not read the posterior columns") == 1  # K=2 only
    assert html.count('<table class="estimates untrusted">') == 1
    assert LYING_VERDICT in html  # the verdict is shown, as prose
    assert f"## K = 2: {word}" in md and f"| 2 | {word} |" in md
    # the converged row says NO for the failed posterior, from its typed diagnostics
    k2 = next(kc for kc in ctx["ks"] if kc["k"] == 2)
    assert k2["converged"][-1] == "NO" and k2["trusted"][-1] == "NO"
    assert ctx["ks"][0]["converged"][-1] == "yes"
    assert "**Do not read the posterior columns as answers:**" in md
    assert md_cell(LYING_VERDICT) in md
    row = bundled_row(ctx, "fake")
    assert row["statuses"] == [(1, "good", "OK"), (2, "bad", word)]


def test_trustworthy_posteriors_show_no_warning_box(tmp_path):
    ctx, html, md = pages(tmp_path, Status.OK)
    assert "Do not read" not in html and "Do not read" not in md
    assert [kc["status"] for kc in ctx["ks"]] == [Status.OK, Status.OK]


def test_first_screen_is_the_answer_and_provenance_comes_last(tmp_path):
    """Recommended K, its reason and every K's status come before the comparison details and
    the provenance (the sha256 of the data)."""
    report = fake_report(tmp_path, Status.MULTIMODAL)
    html, ctx = report["html"], report["ctx"]
    recommended = ctx["answer"]["k"]
    assert recommended == report["comparison"].attrs["recommended_k"] == 1  # K=2 failed
    where = {
        "answer": html.index(f"Recommended: <strong>K = {recommended}</strong>"),
        "status table": html.index('<table id="status">'),
        "next steps": html.index("What to do next"),
        "comparison": html.index('<h2 id="choice">'),
        "per K": html.index('<details id="K1"'),
        "methods": html.index('<h2 id="methods">'),
        "provenance": html.index('<h2 id="provenance">'),
        "sha256": html.index(ctx["sha256"]),
    }
    assert list(where.values()) == sorted(where.values()), where
    assert report["comparison"].attrs["recommended_reason"] in html
    # the failed K's command: the same data, that K, tempered SMC
    (step,) = ctx["next_steps"]
    assert step["k"] == 2
    assert step["command"].startswith("gmm-bayes report ")
    assert "--components 2 --sampler smc" in step["command"]
    assert f'<code class="cmd">{step["command"]}</code>' in html


def test_viewport_scrolling_tables_and_print_stylesheet(tmp_path):
    html = fake_report(tmp_path, Status.OK)["html"]
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    # every table sits in a horizontally scrolling box (the page itself never scrolls sideways)
    assert html.count("<table") == html.count('<div class="scroll">\n<table')
    print_css = html[html.index("@media print") :]
    assert "details::details-content" in print_css and "content-visibility: visible" in print_css


def test_estimates_table_rounds_numbers_components_units_and_marks(tmp_path):
    report = fake_report(tmp_path, Status.OK)
    k2 = report["ctx"]["ks"][1]
    est = report["results"][1].estimates
    rows = k2["table"]
    assert [r["component"] for r in rows] == [1, 2] * 3  # numbered from 1
    assert rows[2]["param"] == "mu (mean, cm)" and rows[0]["param"] == "w (weight)"
    # mu of component 1: EM's value to two significant digits of the posterior sd
    sd = float(est["mu_sd"][0])
    decimals = 1 - int(np.floor(np.log10(sd)))
    em_mu = float(est["mu"].sel({"method": "em", "component": 0}))
    se = float(est["mu_se"].sel({"method": "em", "component": 0}))
    assert rows[2]["cells"][0]["text"].startswith(f"{em_mu:.{decimals}f} ± ")
    assert rows[2]["cells"][0]["text"].endswith(f"{se:.2g}")
    assert (
        rows[2]["posterior"]["mean"]
        == f"{float(est['mu'].sel({'method': 'posterior_mean', 'component': 0})):.{decimals}f}"
    )
    assert rows[2]["posterior"]["r_hat"] == f"{float(est['mu_r_hat'][0]):.2f}"
    assert "mcse" in rows[2]["posterior"]


def test_reasons_of_a_failed_smc_posterior_are_the_smc_rule(tmp_path):
    """An SMC posterior is judged by its runs' agreement and distinct particles, not R-hat."""
    import dataclasses

    from gmm_bayes.report.sections import k_context

    report = fake_report(tmp_path, Status.NOT_CONVERGED)
    result = report["results"][1]
    diag = dataclasses.replace(
        result.diagnostics,
        sampler="smc",
        max_rhat=1.5,
        mode_fraction=np.array([[0.8, 0.2], [0.5, 0.5]]),
        distinct_particles=np.array([0.9, 0.3]),
    )
    ctx = k_context(dataclasses.replace(result, diagnostics=diag), report["comparison"])
    assert ctx["why"].startswith(
        "SMC runs disagree on mode weights by up to 0.30; an SMC run keeps only 30% distinct"
    )
    assert "r_hat" not in ctx["why"] and ctx["sampler"] == "tempered SMC"
    nuts = dataclasses.replace(result, diagnostics=dataclasses.replace(diag, sampler="nuts"))
    assert "r_hat 1.50" in k_context(nuts, report["comparison"])["why"]
