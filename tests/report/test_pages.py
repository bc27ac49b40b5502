"""The pages read the typed status: badges, boxes and tables follow ``Status``, never the prose."""

import re
from collections import defaultdict

import numpy as np
import pytest
import xarray as xr
from compare.fakes import around, fake_diagnostics, fake_posterior, two_groups

import gmm_bayes as gb
from gmm_bayes.bayes import Diagnostics, Status
from gmm_bayes.compare import chain_means, compare_components, compare_estimates
from gmm_bayes.report.pages import bundled_row, dataset_context, k_context, md_cell, render
from gmm_bayes.report.pipeline import KResult
from gmm_bayes.report.provenance import ReportSettings, source_meta

#: a verdict that says OK whatever the status: the pages must not believe it
LYING_VERDICT = "OK: no sampling problems detected. The prose is not the status."


def _result(x, k, status, seed, verdict=None):
    fits = {"em": gb.fit_em(x, k, random_state=0), "sklearn": gb.fit_sklearn(x, k)}
    tree = fake_posterior(*around(fits["em"]), y=x, seed=seed)
    tree["diagnostics"] = xr.DataTree(fake_diagnostics(status, verdict=verdict).to_dataset())
    diag = Diagnostics.from_dataset(tree["diagnostics"].to_dataset())
    return KResult(
        k=k,
        fits=fits,
        tree=tree,
        diagnostics=diag,
        estimates=compare_estimates(x, fits, tree),
        curves=None,
        membership=None,
        chain_means=chain_means(tree),
        seconds=1.0,
        warnings=[],
    )


def pages(tmp_path, status_k2):
    """Both pages of a report whose K=2 posterior has ``status_k2`` (and a lying verdict)."""
    x = two_groups()
    results = [_result(x, 1, Status.OK, 0), _result(x, 2, status_k2, 1, LYING_VERDICT)]
    comparison = compare_components(
        x,
        {r.k: r.tree for r in results},
        em_fits={r.k: r.em for r in results},
        sklearn_fits={r.k: r.fits["sklearn"] for r in results},
    )
    source = tmp_path / "d.csv"
    source.write_text("v\n" + "\n".join(map(repr, x)))
    ctx = dataset_context(
        meta={**source_meta(source, "v"), "notebook": None},
        n=x.size,
        ks=[k_context(r, comparison) for r in results],
        comparison=comparison,
        settings=ReportSettings(ks=(1, 2)),
        versions=[("numpy", np.__version__)],
        written="now",
        elapsed="1.0 s",
        figs=defaultdict(lambda: "fig/x.png"),
        files=["index.html"],
    )
    return ctx, render("dataset.html", **ctx), render("summary.md", **ctx)


@pytest.mark.parametrize("status", [Status.MULTIMODAL, Status.NOT_CONVERGED, Status.FAILED])
def test_badges_follow_the_status(tmp_path, status):
    ctx, html, md = pages(tmp_path, status)
    word = status.value
    summaries = re.findall(r"<summary>(.*?)</summary>", html)
    # the failed K's status is in its summary line; the recommended K is open
    assert summaries[1] == f'K = 2 <span class="badge bad">{word}</span> <span class="small">not usable</span>'
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
