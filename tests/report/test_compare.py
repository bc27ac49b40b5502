"""The comparison datasets: EM, scikit-learn and posterior estimates; model comparison across K."""

import numpy as np
import pytest
import xarray as xr
from scipy import stats

import gmm_bayes as gb
from gmm_bayes.compare import (
    METHODS,
    chain_means,
    compare_components,
    compare_estimates,
    density_curves,
    membership_table,
    mixture_log_likelihood,
    notebook_replay,
)

TRUE = {"w": np.array([0.4, 0.6]), "mu": np.array([-4.0, 3.0]), "sigma": np.array([1.0, 0.7])}


@pytest.fixture(scope="module")
def x():
    rng = np.random.default_rng(42)
    n = 120
    z = rng.random(n) < TRUE["w"][0]
    return np.where(z, rng.normal(-4.0, 1.0, n), rng.normal(3.0, 0.7, n))


def fake_posterior(center, spread, *, chains=2, draws=300, seed=0, y=None):
    """A posterior group (no sampling): normal draws around ``center`` (w kept on the simplex).

    With ``y``, an ``observed_data`` group holds it (for membership probabilities).
    """
    rng = np.random.default_rng(seed)
    k = center["mu"].size
    data = {}
    for p in ("w", "mu", "sigma"):
        d = center[p] + spread[p] * rng.standard_normal((chains, draws, k))
        data[p] = (("chain", "draw", "component"), d)
    w = np.abs(data["w"][1])
    data["w"] = (("chain", "draw", "component"), w / w.sum(axis=-1, keepdims=True))
    data["sigma"] = (("chain", "draw", "component"), np.abs(data["sigma"][1]))
    post = xr.Dataset(
        data,
        coords={"chain": np.arange(chains), "draw": np.arange(draws), "component": np.arange(k)},
    )
    groups = {"posterior": post}
    if y is not None:
        groups["observed_data"] = xr.Dataset({"y": ("obs", y)}, coords={"obs": np.arange(y.size)})
    return xr.DataTree.from_dict(groups)


def test_mixture_log_likelihood_matches_scipy(x):
    ref = np.log(
        sum(
            w * stats.norm.pdf(x, m, s)
            for w, m, s in zip(TRUE["w"], TRUE["mu"], TRUE["sigma"], strict=True)
        )
    ).sum()
    assert mixture_log_likelihood(x, TRUE["w"], TRUE["mu"], TRUE["sigma"]) == pytest.approx(
        ref, rel=1e-12
    )
    # leading draw dimensions broadcast
    stacked = {p: np.stack([TRUE[p], TRUE[p]]) for p in TRUE}
    out = mixture_log_likelihood(x, stacked["w"], stacked["mu"], stacked["sigma"])
    np.testing.assert_allclose(out, [ref, ref], rtol=1e-12)


def test_compare_estimates_without_posterior(x):
    em = gb.fit_em(x, 2, random_state=0)
    ds = compare_estimates(x, em=em)
    assert ds.sizes == {"method": 4, "component": 2}
    assert list(ds["method"].values) == list(METHODS)
    np.testing.assert_allclose(ds["mu"].sel({"method": "em"}), em.means)
    np.testing.assert_allclose(ds["w"].sel({"method": "em"}), em.weights)
    np.testing.assert_allclose(ds["sigma"].sel({"method": "em"}), em.sigmas)
    # scikit-learn from EM's start lands on EM's maximum; at its defaults it finds the same one here
    for m in ("sklearn", "sklearn_from_em"):
        np.testing.assert_allclose(ds["mu"].sel({"method": m}), em.means, rtol=1e-3)
    assert ds["log_likelihood"].sel({"method": "em"}) == pytest.approx(em.log_likelihood)
    assert (
        ds["log_likelihood"].sel({"method": "em"})
        >= ds["log_likelihood"].sel({"method": "sklearn"}) - 1e-6
    )
    assert np.isnan(ds["mu"].sel({"method": "posterior_mean"})).all()
    assert not ds["mu_in_hdi"].any()
    assert ds.attrs["has_posterior"] == 0
    df = ds.to_dataframe()
    assert len(df) == 8 and {"w", "mu", "sigma", "mu_in_hdi", "log_likelihood"} <= set(df)


def test_compare_estimates_flags_and_summaries(x):
    em = gb.fit_em(x, 2, random_state=0)
    center = {"w": em.weights, "mu": em.means, "sigma": em.sigmas}
    spread = {"w": 0.02, "mu": 0.1, "sigma": 0.05}
    tree = fake_posterior(center, spread)
    ds = compare_estimates(x, tree, em=em)
    post = tree["posterior"]
    np.testing.assert_allclose(
        ds["mu"].sel({"method": "posterior_mean"}), post["mu"].mean(("chain", "draw"))
    )
    np.testing.assert_allclose(ds["mu_sd"], post["mu"].std(("chain", "draw"), ddof=1))
    assert (ds["mu_hdi_lower"] < em.means).all() and (ds["mu_hdi_upper"] > em.means).all()
    assert ds["mu_in_hdi"].sel({"method": "em"}).all()
    assert ds["w_in_hdi"].sel({"method": "posterior_mean"}).all()
    # a posterior centred far from EM: every EM mean is flagged outside the HDI
    shifted = fake_posterior({**center, "mu": em.means + 5.0}, spread, seed=1)
    ds2 = compare_estimates(x, shifted, em=em)
    assert not ds2["mu_in_hdi"].sel({"method": "em"}).any()
    assert ds2["sigma_in_hdi"].sel({"method": "em"}).all()
    # log-likelihood at the posterior mean is the mixture's, and below EM's maximum
    ll = mixture_log_likelihood(
        x, *(ds2[p].sel({"method": "posterior_mean"}).values for p in ("w", "mu", "sigma"))
    )
    assert ds2["log_likelihood"].sel({"method": "posterior_mean"}) == pytest.approx(ll)
    assert ll < em.log_likelihood


def test_compare_estimates_refuses_mismatch(x):
    em = gb.fit_em(x, 2, random_state=0)
    tree = fake_posterior({p: np.tile(v[:1], 3) for p, v in TRUE.items()}, dict.fromkeys(TRUE, 0.1))
    with pytest.raises(ValueError, match="posterior has 3 components"):
        compare_estimates(x, tree, em=em)
    with pytest.raises(TypeError, match="n_components"):
        compare_estimates(x)
    with pytest.raises(ValueError, match="hdi_prob"):
        compare_estimates(x, em=em, hdi_prob=1.5)


def test_density_membership_and_chain_means(x):
    em = gb.fit_em(x, 2, random_state=0)
    center = {"w": em.weights, "mu": em.means, "sigma": em.sigmas}
    tree = fake_posterior(center, {"w": 0.02, "mu": 0.1, "sigma": 0.05}, y=x)
    est = compare_estimates(x, tree, em=em)
    curves = density_curves(x, est, tree)
    grid = curves["x"].values
    dx = grid[1] - grid[0]
    for m in METHODS:
        dens = curves["density"].sel({"method": m}).values
        assert np.sum(dens) * dx == pytest.approx(1.0, abs=0.01)  # a density integrates to 1
        np.testing.assert_allclose(
            curves["component_density"].sel({"method": m}).sum("component"), dens, rtol=1e-10
        )
    assert (curves["band_lower"] <= curves["density"].sel({"method": "posterior_mean"})).all()
    mem = membership_table(x, tree, em)
    np.testing.assert_allclose(mem["mean"].sum("component"), 1.0)
    assert ((0 <= mem["lower"]) & (mem["lower"] <= mem["upper"]) & (mem["upper"] <= 1)).all()
    np.testing.assert_allclose(mem["em"], em.responsibilities(x))
    cm = chain_means(tree)
    assert cm["mu"].dims == ("chain", "component")


def test_notebook_replay():
    x = gb.load_dataset("seed_notebook")
    out = notebook_replay(x)
    shift, scale = out["normalization"]
    assert shift == pytest.approx(x.sum()) and scale == pytest.approx(x.var())
    replay, sk_z, em, sk = out["rows"]
    assert replay["n_iter"] == 3 and not replay["converged"]
    assert np.diff(out["history"]).min() > 0  # EM never decreases the likelihood...
    assert replay["log_likelihood"] < em["log_likelihood"]  # ...but 3 iterations are not enough
    assert em["converged"]
    np.testing.assert_allclose(em["means"], sk["means"], rtol=1e-4)
    assert "must sum to 1" in out["m_step_message"]
    assert len(out["slips"]) == 5


@pytest.mark.slow
def test_compare_components_chooses_two(x):
    ds = compare_components(x, [1, 2], draws=200, tune=200, chains=2, random_state=1)
    assert list(ds["K"].values) == [1, 2]
    for name in ("em_bic", "sklearn_bic", "elpd_loo", "elpd_loo_se", "p_loo", "stacking_weight"):
        assert np.isfinite(ds[name]).all(), name
    assert ds.attrs["preferred_em_bic"] == 2
    assert ds.attrs["preferred_sklearn_bic"] == 2
    assert ds.attrs["preferred_elpd_loo"] == 2
    assert ds.attrs["criteria_agree"] == 1
    assert ds.attrs["agreement"].startswith("All criteria agree")
    assert ds["loo_rank"].sel(K=2) == 0
    assert ds["stacking_weight"].sum() == pytest.approx(1.0)
    counts = ds["pareto_k_good"] + ds["pareto_k_bad"] + ds["pareto_k_very_bad"]
    assert (counts == x.size).all()
    assert "lower is better" in ds.attrs["sign_convention"]
