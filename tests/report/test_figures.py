"""The report's figures: what is drawn matches the captions, one style everywhere, nothing hidden.

Built from fake posteriors (no sampling): K = 1, 2 on two well separated groups, then every
figure written once by :func:`gmm_bayes.report.figure_set.write_figures`.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
from compare.fakes import around, fake_diagnostics, fake_posterior, two_groups
from matplotlib.colors import to_hex
from matplotlib.container import BarContainer
from PIL import Image

import gmm_bayes as gb
from gmm_bayes.bayes import Diagnostics, Status
from gmm_bayes.compare import (
    chain_means,
    compare_components,
    compare_estimates,
    density_curves,
    membership_table,
)
from gmm_bayes.compare.figure_data import classification
from gmm_bayes.conventions import PARAMS
from gmm_bayes.report import figure_set, figures_choice, figures_diagnostics
from gmm_bayes.report import figures as plots
from gmm_bayes.report.pipeline import KResult


def _tree(x, fit, seed):
    """A fake posterior around ``fit`` with the predictive draws LOO-PIT and the PPC need."""
    tree = fake_posterior(*around(fit), y=x, seed=seed)
    post = tree["posterior"].to_dataset()
    rng = np.random.default_rng(seed)
    cum = post["w"].cumsum("component").values
    z = (rng.random(cum.shape[:2] + (x.size,))[..., None] > cum[:, :, None, :]).sum(-1)
    z = np.minimum(z, cum.shape[-1] - 1)
    mu = np.take_along_axis(post["mu"].values, z, axis=-1)
    sigma = np.take_along_axis(post["sigma"].values, z, axis=-1)
    y = rng.normal(mu, sigma)
    tree["posterior_predictive"] = xr.DataTree(xr.Dataset({"y": (("chain", "draw", "obs"), y)}))
    tree["diagnostics"] = xr.DataTree(fake_diagnostics(Status.OK).to_dataset())
    return tree


def fake_results(x, ks=(1, 2)):
    """KResults and the comparison of a report on ``x``, from fake posteriors around EM."""
    results = []
    for k in ks:
        fits = {"em": gb.fit_em(x, k, random_state=0), "sklearn": gb.fit_sklearn(x, k)}
        if k > 1:
            fits["em_tied"] = gb.fit_em(x, k, random_state=0, covariance_type="tied")
        tree = _tree(x, fits["em"], seed=k)
        est = compare_estimates(x, {m: fits[m] for m in ("em", "sklearn")}, tree)
        results.append(
            KResult(
                k=k,
                fits=fits,
                tree=tree,
                diagnostics=Diagnostics.from_dataset(tree["diagnostics"].to_dataset()),
                estimates=est,
                curves=density_curves(x, est, tree),
                membership=membership_table(x, tree, fits["em"]),
                chain_means=chain_means(tree),
                seconds=0.0,
                warnings=[],
            )
        )
    comparison = compare_components(
        x,
        {r.k: r.tree for r in results},
        em_fits={r.k: r.em for r in results},
        sklearn_fits={r.k: r.fits["sklearn"] for r in results},
    )
    return results, comparison


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    x = two_groups() + 10.0  # positive data: the density's x-axis must not run below 0
    results, comparison = fake_results(x)
    figdir = tmp_path_factory.mktemp("report") / "fig"
    records = figure_set.write_figures(figdir, x, results, comparison, column="v", units="cm")
    return {"x": x, "results": results, "comparison": comparison, "dir": figdir, "figs": records}


def test_every_figure_is_a_150_dpi_png_with_a_record(report):
    files = sorted(p.name for p in report["dir"].iterdir())
    assert files == sorted(f.file.removeprefix("fig/") for f in report["figs"])
    kinds = {f.file.split("/")[1].split("_K")[0].removesuffix(".png") for f in report["figs"]}
    assert kinds == {
        "k_comparison", "density", "forest", "classification", "pair", "ppc", "loo_pit",
        "rank", "trace",
    }  # fmt: skip
    for name in files:
        with Image.open(report["dir"] / name) as image:
            # PNG stores pixels per metre: 150 dpi reads back as 150.01
            assert image.info["dpi"] == pytest.approx((figure_set.DPI, figure_set.DPI), abs=0.05)
    for f in report["figs"]:
        assert f.section in ("choice", "fit", "diagnostics") and f.caption and f.alt
        assert f.k is None if f.section == "choice" else f.k in (1, 2)


def _density_axes(x, curves, **kwargs):
    fig, ax = plt.subplots()
    artists = plots.plot_data_density(ax, x, curves, **kwargs)
    return fig, ax, artists


def test_methods_have_their_line_styles_and_components_their_colours(report):
    x, r = report["x"], report["results"][1]
    fig, ax, _ = _density_axes(x, r.curves)
    styles = {line.get_label(): line.get_linestyle() for line in ax.get_lines()}
    assert styles["posterior"] == "-" and styles["gmm_bayes EM"] == "--"
    assert styles["scikit-learn (defaults)"] == ":"
    thin = [to_hex(line.get_color()) for line in ax.get_lines() if line.get_linewidth() == 1]
    palette = [to_hex(plots.component_color(j)) for j in range(2)]
    assert thin == palette * 2  # posterior's components, then EM's, in component order
    plt.close(fig)
    # the same colour for component j in the forest, the classification and the pair plot
    fig, axes = plt.subplots(1, 3)
    plots.plot_forest(axes, r.estimates)
    bars = [to_hex(c.get_color()[0]) for c in axes[1].collections if c.get_linewidth()[0] == 4]
    assert bars == palette
    plt.close(fig)
    fig, ax = plt.subplots()
    classes = classification(r.membership)
    plots.plot_classification(ax, classes)
    dots = ax.collections[0].get_facecolors()
    for j in range(2):
        drawn = {to_hex(c) for c in dots[classes["component"].values == j]}
        assert drawn == {palette[j]}
    plt.close(fig)
    fig, ax = plt.subplots()
    figures_diagnostics.plot_pair(ax, r.tree["posterior"].to_dataset())
    assert [to_hex(c.get_facecolor()[0]) for c in ax.collections] == palette
    plt.close(fig)


def test_density_axis_stays_in_the_support(report):
    x, r = report["x"], report["results"][1]
    fig, ax, _ = _density_axes(x, r.curves)
    lo, hi = ax.get_xlim()
    span = x.max() - x.min()
    assert x.min() - 0.051 * span <= lo <= x.min() and x.max() <= hi <= x.max() + 0.051 * span
    plt.close(fig)
    positive = np.concatenate([x - x.min() + 0.01, [0.01]])
    est = compare_estimates(positive, {"em": gb.fit_em(positive, 2, random_state=0)})
    fig, ax, _ = _density_axes(positive, density_curves(positive, est), methods=("em",))
    assert ax.get_xlim()[0] >= 0.0
    plt.close(fig)


def test_a_spike_is_clipped_and_its_height_written():
    # two components, one of sd 1e-3: its peak w / (sigma sqrt(2 pi)) is far above the data
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(5.0, 1.0, 200), np.full(20, 6.0)])
    est = xr.Dataset(
        {
            "w": (("method", "component"), [[0.9, 0.1]]),
            "mu": (("method", "component"), [[5.0, 6.0]]),
            "sigma": (("method", "component"), [[1.0, 1e-3]]),
        },
        coords={"method": ["em"], "method_label": ("method", ["gmm_bayes EM"])},
        attrs={"hdi_prob": 0.94},
    )
    peak = 0.9 * np.exp(-0.5) / np.sqrt(2 * np.pi) + 0.1 / (1e-3 * np.sqrt(2 * np.pi))
    fig, ax, artists = _density_axes(x, density_curves(x, est), methods=("em",))
    assert ax.get_ylim()[1] < peak / 10
    texts = [a.get_text() for a in artists if hasattr(a, "get_text")]
    assert texts == [plots.spike_label("em", peak)] and "40.1" in texts[0]  # 39.89 + 0.22
    assert texts[0] in figure_set.density_caption(texts)
    plt.close(fig)
    fig, ax, artists = _density_axes(x[:200], density_curves(x[:200], est.isel(component=[0])))
    assert not [a for a in artists if hasattr(a, "get_text")]
    assert "clipped" not in figure_set.density_caption([])
    plt.close(fig)


def test_forest_marks_estimates_outside_the_hdi_without_text(report):
    est = report["results"][1].estimates.copy()
    est["mu_in_hdi"] = est["mu_in_hdi"] & False
    fig, axes = plt.subplots(1, 3)
    plots.plot_forest(axes, est)
    assert not axes[1].texts  # no labels to overlap
    rings = [c for c in axes[1].collections if c.get_label() == "outside the posterior HDI"]
    assert len(rings) == 2 and all(len(c.get_offsets()) == 2 for c in rings)  # EM, scikit-learn
    assert [t.get_text() for t in axes[0].get_yticklabels()] == ["component 1", "component 2"]
    plt.close(fig)


def _figure(report, kind, k=2):
    return next(f for f in report["figs"] if f.file == f"fig/{kind}_K{k}.png")


def test_ppc_caption_names_what_arviz_draws(report):
    pc = figures_diagnostics.plot_ppc(report["results"][1].tree)
    observed = pc.get_viz("figure").axes[0].get_lines()[-1].get_ydata()
    # a density rises and falls; an ECDF would only rise
    kde = np.any(np.diff(observed) < 0)
    caption = _figure(report, "ppc").caption
    assert kde == ("kernel density" in caption) and ("ECDF" in caption) == (not kde)
    plt.close("all")


def test_loo_pit_caption_mentions_an_envelope_only_if_drawn(report):
    pc = figures_diagnostics.plot_loo_pit(report["results"][1].tree)
    ax = pc.get_viz("figure").axes[0]
    envelope = any(type(c).__name__ in ("PolyCollection", "FillBetweenPolyCollection")
                   for c in ax.collections)  # fmt: skip
    caption = _figure(report, "loo_pit").caption
    assert envelope == ("No envelope" not in caption)
    plt.close("all")


def test_rank_titles_name_parameter_and_component(report):
    fig = figures_diagnostics.plot_rank(report["results"][1].tree)
    titles = {ax.get_title() for ax in fig.axes}
    assert {"w[1]", "w[2]", "mu[1]", "mu[2]", "sigma[1]", "sigma[2]"} <= titles
    plt.close("all")


def test_choice_draws_e_and_v_criteria_and_greys_failed_k(report):
    comparison = figure_set.with_tied_criteria(report["comparison"], report["results"])
    tied = report["results"][1].fits["em_tied"]
    assert float(comparison["em_tied_bic"].sel(K=2)) == tied.bic()
    fig, axes = plt.subplots(1, 2)
    figures_choice.plot_choice(axes, comparison.assign(trustworthy=("K", [True, False])))
    labels = [line.get_label() for line in axes[1].get_lines()]
    assert labels == [
        "BIC V (unequal variances)", "ICL V (unequal variances)",
        "BIC E (equal variances)", "ICL E (equal variances)",
    ]  # fmt: skip
    failed = [c for c in axes[0].containers if c.get_label() == "failed diagnostics"]
    assert len(failed) == 1 and failed[0].lines[0].get_xdata().tolist() == [2]
    assert failed[0].lines[0].get_markerfacecolor() == "none"
    plt.close(fig)
    assert "E model (one shared variance)" in figure_set.choice_caption(comparison)
    assert "not fitted" in figure_set.choice_caption(report["comparison"])
    assert "Hollow grey" not in figure_set.choice_caption(comparison)


def test_choice_adds_p_k_panel_when_the_evidence_was_computed(report):
    comparison = report["comparison"].assign(p_k=("K", [0.2, 0.8]), p_k_se=("K", [0.01, 0.01]))
    fig, axes = plt.subplots(1, 3)
    figures_choice.plot_choice(axes, comparison)
    bars = next(c for c in axes[2].containers if isinstance(c, BarContainer))
    heights = [bar.get_height() for bar in bars]
    assert heights == [0.2, 0.8]
    plt.close(fig)
    assert "p(K | y)" in figure_set.choice_caption(comparison)
    assert "p(K | y)" not in figure_set.choice_caption(report["comparison"])


def test_trace_rows_and_thinning(report):
    post = report["results"][1].tree["posterior"].to_dataset()
    fig, axes = plt.subplots(3, 1)
    figures_diagnostics.plot_trace(axes, post, max_draws=100)
    assert [ax.get_ylabel() for ax in axes] == ["w", "mu", "sigma"]
    line = axes[1].get_lines()[0]
    assert line.get_xdata().tolist() == list(range(0, 300, 3))
    assert to_hex(line.get_color()) == to_hex(plots.component_color(0))
    assert "one draw in 3" in axes[-1].get_xlabel()
    plt.close(fig)


def test_histogram_of_gridded_data_has_the_same_number_of_grid_values_per_bin():
    # whole minutes, as Old Faithful's waiting times: a default histogram alternates bins of
    # two and three grid values (a comb); the edges must fall halfway between grid values
    x = gb.load_dataset("faithful")
    edges = plots.histogram_edges(x)
    np.testing.assert_allclose(edges % 1, 0.5)
    assert len(set(np.round(np.diff(edges), 9))) == 1
    assert edges[0] < x.min() and x.max() < edges[-1]
    assert np.isscalar(plots.histogram_edges(np.random.default_rng(0).normal(size=50)))


def test_smc_posteriors_get_no_trace_and_their_rank_caption_says_runs(report, tmp_path):
    r = report["results"][1]
    tree = r.tree.copy()
    tree.attrs["sampler"] = "smc"  # SMC particles have no order: a trace would mean nothing
    smc = type(r)(**{**vars(r), "tree": tree})
    records = figure_set.write_figures(tmp_path / "fig", report["x"], [smc], report["comparison"])
    kinds = {f.file.split("/")[1].split("_K")[0] for f in records}
    assert "trace" not in kinds and "rank" in kinds
    rank = next(f for f in records if "rank" in f.file)
    assert "independent SMC run" in rank.caption and "chain" not in rank.caption.split(":")[1]
    nuts = next(f for f in report["figs"] if f.file == "fig/rank_K2.png")
    assert "one line per chain" in nuts.caption


@pytest.mark.parametrize("recommended", [-1, 2])
def test_choice_marks_the_recommended_k_only_when_there_is_one(report, recommended):
    comparison = report["comparison"].assign_attrs(recommended_k=recommended)
    fig, axes = plt.subplots(1, 2)
    figures_choice.plot_choice(axes, comparison)
    bands = [
        p for p in axes[0].patches if to_hex(p.get_facecolor()) == figures_choice.HIGHLIGHT.lower()
    ]
    assert len(bands) == (recommended > 0)
    if bands:
        assert bands[0].get_x() == pytest.approx(recommended - 0.4)
    plt.close(fig)
    caption = figure_set.choice_caption(comparison)
    assert ("recommended K = 2" in caption) == (recommended > 0)
    assert "K = -1" not in caption


def test_collapsed_fits_are_ringed_and_left_out_of_the_criteria_curves(report):
    comparison = figure_set.with_tied_criteria(report["comparison"], report["results"])
    comparison = comparison.assign(em_degenerate=("K", [False, True]))
    fig, axes = plt.subplots(1, 2)
    figures_choice.plot_choice(axes, comparison)
    bic_v = next(line for line in axes[1].get_lines() if line.get_label().startswith("BIC V"))
    assert np.isnan(bic_v.get_ydata()[1]) and np.isfinite(bic_v.get_ydata()[0])
    rings = [c for c in axes[1].collections if c.get_label() == "collapsed fit (not used)"]
    assert len(rings) == 1
    assert rings[0].get_offsets().tolist() == [[2, float(comparison["em_bic"].sel(K=2))]]
    plt.close(fig)
    assert "Grey rings: collapsed fits" in figure_set.choice_caption(comparison)
    assert "Grey rings" not in figure_set.choice_caption(report["comparison"])


def test_rank_plot_shows_arviz_stats_p_values_in_red_below_the_threshold():
    import arviz_stats  # noqa: F401  (the .azstats accessor)

    from gmm_bayes.bayes.status import RANK_P_MIN

    rng = np.random.default_rng(1)
    post = xr.Dataset(
        {p: (("chain", "draw", "component"), rng.normal(size=(4, 300, 2))) for p in PARAMS}
    )
    post["mu"][0, :, 1] += 0.5  # chain 1 of mu[2] sits higher: the chains disagree
    fig = figures_diagnostics.plot_rank(xr.DataTree.from_dict({"posterior": post}))
    shown = {ax.get_title(): ax.texts[0] for ax in fig.axes}
    ranks = post.azstats.compute_ranks(dim=["chain", "draw"], relative=True)
    # independent: arviz_stats' own test, the one arviz_plots.plot_rank annotates
    expected = ranks.azstats.mchain_uniformity_test(dim=["chain", "draw"])[0]
    for name in PARAMS:
        for j in range(2):
            p = float(expected[name].isel(component=j))
            text = shown[f"{name}[{j + 1}]"]
            assert text.get_text() == f"p = {p:.2f}"
            assert (to_hex(text.get_color()) == to_hex("tab:red")) == (p < RANK_P_MIN)
    assert float(expected["mu"].isel(component=1)) < RANK_P_MIN
    plt.close(fig)
