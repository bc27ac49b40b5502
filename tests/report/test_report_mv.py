"""The multivariate report: its pieces checked against scipy and scikit-learn, the page and files
written from an analysis (a posterior of draws around EM's estimate, no sampling), the CLI's
several columns, and (slow) a whole `gmm-bayes report` of Old Faithful's two columns."""

import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
from report.fake_report_mv import X, faithful_analysis, fake_analysis
from scipy.stats import multivariate_normal
from sklearn.mixture import GaussianMixture

import gmm_bayes as gb
from gmm_bayes.cli import UsageError, _resolve_data, column_names, main
from gmm_bayes.mixture import log_density
from gmm_bayes.report.figures_mv import ellipse_points, plot_ellipses
from gmm_bayes.report.pipeline_mv import (
    COVARIANCE_TYPES,
    comparison_rows_mv,
    sklearn_covariances,
    write_dataset_mv,
)
from gmm_bayes.report.provenance import ReportSettings, source_meta


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_sklearn_covariances_give_sklearns_own_density(covariance_type):
    gm = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    cov = sklearn_covariances(gm, 2)
    np.testing.assert_allclose(
        log_density(X, gm.weights_, gm.means_, cov), gm.score_samples(X), rtol=1e-10
    )


def test_the_95_percent_ellipse_holds_95_percent_of_simulated_draws():
    mean, cov = np.array([1.0, -2.0]), np.array([[4.0, 1.5], [1.5, 1.0]])
    pts = ellipse_points(mean, cov, 0.95, n=400)
    draws = np.random.default_rng(0).multivariate_normal(mean, cov, size=40_000)
    # a draw is inside when its Mahalanobis radius is below the curve's (constant on it)
    radius = lambda p: np.einsum("ni,ij,nj->n", p - mean, np.linalg.inv(cov), p - mean)  # noqa: E731
    inside = radius(draws) <= radius(pts).mean()
    assert abs(inside.mean() - 0.95) < 0.005  # binomial sd 0.0011


def test_ellipses_are_drawn_per_component_and_method():
    fig, ax = plt.subplots()
    em = gb.fit_em(X, 2, random_state=0)
    fits = {"em": (em.means, em.covariances), "posterior_mean": (em.means, em.covariances)}
    plot_ellipses(ax, X, fits, columns=["eruptions", "waiting"])
    styles = sorted(line.get_linestyle() for line in ax.lines if len(line.get_xdata()))
    # EM: 2 dashed 95% ellipses; posterior: 2 x (50%, 95%) solid
    assert styles == ["-"] * 4 + ["--"] * 2
    plt.close(fig)


def test_comparison_rows_are_ems_and_sklearns_bic():
    analysis = faithful_analysis()
    rows = comparison_rows_mv(analysis, X)
    assert len(rows) == 2 * len(COVARIANCE_TYPES)
    for row in rows:
        key = (row["covariance_type"], row["K"])
        assert row["em_bic"] == analysis.em[key].bic()
        assert row["sklearn_bic"] == pytest.approx(analysis.sklearn[key].bic(X), rel=1e-12)
    # K=1 is the same model under every type but spherical (one full Gaussian): BIC by hand
    full_1 = next(r for r in rows if r["K"] == 1 and r["covariance_type"] == "full")
    gaussian = multivariate_normal(X.mean(axis=0), np.cov(X.T, bias=True))
    expected = -2 * gaussian.logpdf(X).sum() + 5 * np.log(len(X))  # 2 means + 3 covariances
    assert full_1["em_bic"] == pytest.approx(expected, rel=1e-9)
    assert [r["recommended"] for r in rows].count(True) == 1
    assert [r["em_bic_best"] for r in rows].count(True) == 1
    sampled = {(r["K"], r["covariance_type"]) for r in rows if r["sampled"]}
    assert sampled == {(k, t) for k, t in analysis.sampled.items()}
    # a model not sampled has no posterior columns
    assert all(r["elpd_loo"] == "" for r in rows if not r["sampled"])


def test_page_and_files_of_a_multivariate_report(tmp_path):
    from gmm_bayes.data import dataset_path

    analysis = faithful_analysis()
    meta = source_meta(dataset_path("faithful2d"), "eruptions,waiting", name="faithful2d")
    meta["columns"] = ["eruptions", "waiting"]
    ctx = write_dataset_mv(tmp_path, X, analysis, meta, ReportSettings(ks=(1, 2)), lambda: 1.0)
    names = {p.name for p in tmp_path.iterdir()}
    assert {"index.html", "summary.md", "estimates.csv", "comparison.csv", "posterior_K1.nc",
            "posterior_K2.nc"} <= names  # fmt: skip
    assert {p.name for p in (tmp_path / "fig").iterdir()} == {
        "k_comparison.png", "ellipses_K1.png", "ppc_K1.png", "rank_K1_1.png", "rank_K1_2.png",
        "energy_K1.png", "ellipses_K2.png", "uncertainty_K2.png", "ppc_K2.png", "rank_K2_1.png",
        "rank_K2_2.png", "energy_K2.png",
    }  # fmt: skip
    html = (tmp_path / "index.html").read_text()
    assert "mean eruptions" in html and "corr(eruptions, waiting)" in html
    # EM's weight of component 1 at K=2, to two significant digits of its posterior sd
    section = next(s for s in ctx["sections"] if s["k"] == 2)
    em_row = next(r for r in section["estimates"] if r["method"] == "gmm_bayes EM")
    sd = float(analysis.trees[2]["posterior"]["w"].isel(component=0).std())
    places = 1 - int(np.floor(np.log10(sd)))
    em = analysis.em[analysis.sampled[2], 2]
    assert em_row["values"][0] == f"{em.weights[0]:.{places}f}"
    back = xr.open_datatree(tmp_path / "posterior_K2.nc")
    assert back["posterior"]["cov"].dims[-2:] == ("dim", "dim_bis")


def test_bundled_index_links_the_multivariate_report(tmp_path, monkeypatch):
    from gmm_bayes.report import pipeline_mv
    from gmm_bayes.report.pipeline import write_bundled

    monkeypatch.setattr(pipeline_mv, "analyse_mv", lambda x, settings, **_: faithful_analysis())
    write_bundled(tmp_path / "reports", {"faithful2d": (1, 2)}, ReportSettings(), quiet=True)
    index = (tmp_path / "reports" / "index.html").read_text()
    assert '<a href="faithful2d/index.html">faithful2d</a>' in index
    assert "EM BIC: 2 (full)" in index
    assert (tmp_path / "reports" / "faithful2d" / "fig" / "ellipses_K2.png").exists()


def test_three_columns_get_a_figure_pair_per_pair_of_columns(tmp_path):
    from gmm_bayes.report.figure_set_mv import write_figures_mv

    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(size=(60, 3)), rng.normal(size=(60, 3)) + [4.0, 0.0, 2.0]])
    figs = write_figures_mv(tmp_path / "fig", x, fake_analysis(x=x), "abc")
    shown = [f.file.removeprefix("fig/") for f in figs]
    pairs = ["1_2", "1_3", "2_3"]
    assert shown == [
        "k_comparison.png",
        *(f"ellipses_K1_{p}.png" for p in pairs),
        "ppc_K1.png",
        *(f"rank_K1_{j}.png" for j in (1, 2, 3)),
        "energy_K1.png",
        *(f"{kind}_K2_{p}.png" for p in pairs for kind in ("ellipses", "uncertainty")),
        "ppc_K2.png",
        *(f"rank_K2_{j}.png" for j in (1, 2, 3)),
        "energy_K2.png",
    ]


def test_cli_columns(tmp_path):
    csv = tmp_path / "d.csv"
    csv.write_text("a,b,c\n1,2,3\n4,5,6\n7,8,10\n")
    assert column_names(["a", "b"]) == ["a", "b"] == column_names(None, "a, b")
    x, _, column, _ = _resolve_data(str(csv), ["a", "c"])
    assert x.shape == (3, 2) and column == "a,c"
    x, _, column, _ = _resolve_data(str(csv), None, "b,c")
    assert x[:, 1].tolist() == [3.0, 6.0, 10.0]
    x, _, column, name = _resolve_data("faithful2d", None)
    assert x.shape == (272, 2) and column == "eruptions,waiting" and name == "faithful2d"
    with pytest.raises(UsageError, match="no column 'zz'"):
        _resolve_data(str(csv), ["a", "zz"])
    with pytest.raises(UsageError, match="not both"):
        column_names(["a"], "b,c")
    with pytest.raises(UsageError, match="empty name"):
        column_names(None, "a,")


def test_fit_refuses_several_columns(capsys):
    assert main(["fit", "faithful2d"]) == 2
    assert (
        "gmm-bayes fit is univariate; for 2 columns run gmm-bayes report" in capsys.readouterr().err
    )


@pytest.mark.slow
def test_report_of_two_columns_from_the_command_line(tmp_path):
    out = tmp_path / "rep"
    done = subprocess.run(
        [sys.executable, "-m", "gmm_bayes", "report", "faithful2d", "--column", "eruptions",
         "waiting", "-k", "1-2", "--draws", "500", "--tune", "300", "--sampler", "nutpie",
         "-q", "--out", str(out)],
        capture_output=True, text=True, timeout=900, env={"MPLBACKEND": "Agg", "PATH": ""},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    html = (out / "index.html").read_text()
    # K=2 full (BIC 2322.19, mclust's VVV,2): its elpd_loo is about 150 above K=1's
    assert "Recommended: <strong>K = 2</strong> (full covariances)" in html
    assert (out / "posterior_K1.nc").exists() and (out / "posterior_K2.nc").exists()
