"""A report's per-K results and pages built from fake posteriors (no sampling): the fast tier's
way to check what the pages and CSV files say."""

from collections import defaultdict

import numpy as np
import xarray as xr
from compare.fakes import around, fake_diagnostics, fake_posterior, two_groups

import gmm_bayes as gb
from gmm_bayes.bayes import Diagnostics, Status, posterior_modes
from gmm_bayes.compare import chain_means, compare_components, compare_estimates
from gmm_bayes.report.pages import dataset_context, k_context, render
from gmm_bayes.report.pipeline import KResult
from gmm_bayes.report.provenance import ReportSettings, source_meta


def fake_result(x, k, status, seed, verdict=None):
    """One K's :class:`KResult` whose posterior has ``status`` (EM with its standard errors)."""
    fits = {"em": gb.fit_em(x, k, random_state=0), "sklearn": gb.fit_sklearn(x, k)}
    tree = fake_posterior(*around(fits["em"]), y=x, seed=seed)
    tree["diagnostics"] = xr.DataTree(fake_diagnostics(status, verdict=verdict).to_dataset())
    diag = Diagnostics.from_dataset(tree["diagnostics"].to_dataset())
    se = {"em": fits["em"].standard_errors(x, method="information")}
    return KResult(
        k=k,
        fits=fits,
        tree=tree,
        diagnostics=diag,
        estimates=compare_estimates(x, fits, tree, standard_errors=se),
        curves=None,
        membership=None,
        chain_means=chain_means(tree),
        seconds=1.0,
        warnings=[],
        modes=posterior_modes(tree),
    )


def fake_report(tmp_path, status_k2, verdict=None):
    """Results, comparison, context and both pages of a K = 1, 2 report (K=2 has ``status_k2``)."""
    x = two_groups()
    results = [fake_result(x, 1, Status.OK, 0), fake_result(x, 2, status_k2, 1, verdict)]
    comparison = compare_components(
        x,
        {r.k: r.tree for r in results},
        em_fits={r.k: r.em for r in results},
        sklearn_fits={r.k: r.fits["sklearn"] for r in results},
    )
    source = tmp_path / "d.csv"
    source.write_text("v\n" + "\n".join(map(repr, x)))
    recommended = int(comparison.attrs.get("recommended_k", -1))
    ctx = dataset_context(
        meta={**source_meta(source, "v", units="cm"), "notebook": None},
        n=x.size,
        ks=[k_context(r, comparison, units="cm", recommended=recommended) for r in results],
        comparison=comparison,
        settings=ReportSettings(ks=(1, 2)),
        versions=[("numpy", np.__version__)],
        written="now",
        elapsed="1.0 s",
        figs=defaultdict(lambda: "fig/x.png"),
        files=["index.html"],
        methods="We fitted mixtures.",
    )
    return {
        "x": x,
        "results": results,
        "comparison": comparison,
        "ctx": ctx,
        "html": render("dataset.html", **ctx),
        "md": render("summary.md", **ctx),
    }
