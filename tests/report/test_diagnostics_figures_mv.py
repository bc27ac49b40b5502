"""The multivariate report's diagnostics figures and methods paragraph: the rank plots say what
the diagnostics test (the same p-values, one colour per component), the paragraph states the
model's own prior constants."""

import re

import matplotlib.pyplot as plt
from report.fake_report_mv import X, faithful_analysis, fake_tree

import gmm_bayes as gb
from gmm_bayes.bayes.diagnostics import diagnose
from gmm_bayes.bayes.priors_mv import LKJ_ETA, MU_SCALE, SD_PRIOR
from gmm_bayes.report.figure_set_mv import rank_figure_mv
from gmm_bayes.report.figures import component_color
from gmm_bayes.report.methods_mv import cited_references, methods_paragraph_mv
from gmm_bayes.report.provenance import ReportSettings


def test_rank_panels_show_the_diagnostics_p_values_in_each_components_colour():
    tree = fake_tree(gb.fit_em(X, 2, random_state=0), X, seed=3, shape=(4, 200))
    found = diagnose(tree)
    tested = dict(zip(found.rank_parameters, found.rank_p_values, strict=True))
    fig = rank_figure_mv(tree, 1, "waiting")
    panels = {ax.get_title(): ax for ax in fig.axes}
    assert sorted(panels) == ["mean waiting [1]", "mean waiting [2]", "sd waiting [1]",
                              "sd waiting [2]", "w [1]", "w [2]"]  # fmt: skip
    for k in (0, 1):
        ax = panels[f"mean waiting [{k + 1}]"]
        assert ax.texts[0].get_text() == f"p = {tested[f'mu[{k},1]']:.2f}"
        chains = [line for line in ax.lines if len(line.get_xdata()) > 2]
        assert len(chains) == 4 and {line.get_color() for line in chains} == {component_color(k)}
    plt.close(fig)


def test_methods_paragraph_states_the_models_prior_constants_and_cites_its_sources():
    text = methods_paragraph_mv(
        X,
        ReportSettings(ks=(1, 2), draws=500, chains=2),
        sampled={1: "full", 2: "tied"},
        sampler="nutpie",
        versions=[("pymc", "6.4.0")],
        columns=["eruptions", "waiting"],
    )
    assert f"LKJ(eta = {LKJ_ETA:g})" in text and f"Normal(0, {MU_SCALE:g}^2 I_d)" in text
    assert f"InverseGamma({SD_PRIOR[0]:g}, {SD_PRIOR[1]:g})" in text
    # model_mv's docstring: the sd prior's central 95% matches the univariate default's
    # (0.134, 0.643) column sds
    low, high = map(float, re.search(r"from ([\d.]+) to ([\d.]+) column sds", text).groups())
    assert abs(low - 0.134) < 0.005 and abs(high - 0.643) < 0.01
    assert "K = 1: full, VVV; K = 2: tied, EEE" in text and "one shared (tied)" in text
    assert "2 chains of 500 draws" in text and "PyMC 6.4.0" in text
    references = cited_references(text)
    assert any(r.startswith("Lewandowski") for r in references)
    # every year cited in the text has its reference, and no reference is listed uncited
    cited_years = set(re.findall(r"\b(?:19|20)\d\d\b", text))
    assert {re.search(r"\((\d{4})\)", r).group(1) for r in references} == cited_years


def test_the_page_and_summary_carry_the_methods_and_references(tmp_path):
    from gmm_bayes.data import dataset_path
    from gmm_bayes.report.pipeline_mv import write_dataset_mv
    from gmm_bayes.report.provenance import source_meta

    meta = source_meta(dataset_path("faithful2d"), "eruptions,waiting", name="faithful2d")
    meta["columns"] = ["eruptions", "waiting"]
    ctx = write_dataset_mv(
        tmp_path, X, faithful_analysis(), meta, ReportSettings(ks=(1, 2)), lambda: 1.0
    )
    html = (tmp_path / "index.html").read_text()
    assert '<h2 id="methods">Methods</h2>' in html
    assert "Lewandowski, Kurowicka &amp; Joe (2009)" in html
    assert ctx["methods"] in (tmp_path / "summary.md").read_text()
    captions = {f.file: f.caption for f in ctx["sections"][1]["figures"]}
    assert "thinned to their effective sample size" in captions["fig/rank_K2_1.png"]
    assert "BFMI" in captions["fig/energy_K2.png"]


def test_the_energy_caption_says_what_arviz_draws():
    from gmm_bayes.report.figures_diagnostics import plot_energy

    tree = fake_tree(gb.fit_em(X, 2, random_state=0), X, shape=(4, 200))
    fig = plot_energy(tree).get_viz("figure")
    bfmi, energy = fig.axes
    assert bfmi.get_title() == "BFMI" and len(bfmi.collections[0].get_offsets()) == 4  # chains
    assert [(line.get_linestyle(), line.get_xdata()[0]) for line in bfmi.lines] == [("--", 0.3)]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["marginal", "transition"]
    assert len(energy.lines) == 2
    plt.close(fig)
