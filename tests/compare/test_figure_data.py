"""The numbers behind the figures: densities on a grid, membership, chain means."""

import numpy as np
import pytest
import xarray as xr
from compare.fakes import around, fake_posterior, two_groups
from helpers import reference_log_density, reference_responsibilities
from scipy import stats

import gmm_bayes as gb
from gmm_bayes.compare import chain_means, compare_estimates, density_curves, membership_table
from gmm_bayes.compare.figure_data import classification


@pytest.fixture(scope="module")
def x():
    return two_groups()


@pytest.fixture(scope="module")
def em(x):
    return gb.fit_em(x, 2, random_state=0)


def test_density_curves(x, em):
    tree = fake_posterior(*around(em), y=x)
    est = compare_estimates(x, {"em": em, "sklearn": gb.fit_sklearn(x, 2)}, tree)
    curves = density_curves(x, est, tree)
    grid = curves["x"].values
    # the mass of EM's mixture over the grid's range, from scipy's normal CDF
    inside = em.weights @ (
        stats.norm.cdf(grid[-1], em.means, em.sigmas) - stats.norm.cdf(grid[0], em.means, em.sigmas)
    )
    for m in ("em", "sklearn", "posterior_mean"):
        dens = curves["density"].sel({"method": m}).values
        assert np.trapezoid(dens, grid) == pytest.approx(inside, abs=0.01)
        np.testing.assert_allclose(
            curves["component_density"].sel({"method": m}).sum("component"), dens, rtol=1e-10
        )
    em_density = curves["density"].sel({"method": "em"}).values
    reference = np.exp(reference_log_density(grid, em.weights, em.means, em.sigmas))
    np.testing.assert_allclose(em_density, reference, rtol=1e-10)
    post = curves["density"].sel({"method": "posterior_mean"})
    assert (curves["band_lower"] <= post).all() and (post <= curves["band_upper"]).all()
    # without a posterior: no band
    assert np.isnan(density_curves(x, compare_estimates(x, {"em": em}))["band_lower"]).all()


def test_membership_table_and_chain_means(x, em):
    tree = fake_posterior(*around(em), y=x)
    mem = membership_table(x, tree, em)
    np.testing.assert_allclose(mem["mean"].sum("component"), 1.0)
    assert ((0 <= mem["lower"]) & (mem["lower"] <= mem["upper"]) & (mem["upper"] <= 1)).all()
    np.testing.assert_allclose(
        mem["em"], reference_responsibilities(x, em.weights, em.means, em.sigmas), atol=1e-12
    )
    with pytest.raises(ValueError, match="sampled for 120 observations but x has 60"):
        membership_table(x[:60], tree, em)
    cm = chain_means(tree)
    assert cm["mu"].dims == ("chain", "component")
    np.testing.assert_allclose(
        cm["mu"].sel(chain=1), tree["posterior"]["mu"].sel(chain=1).mean("draw")
    )


def test_grid_stays_in_the_support_and_resolves_spikes():
    # a narrow component (sd 1e-3) on 30 tied values among positive data: its peak,
    # w / (sigma sqrt(2 pi)), must be on the grid, and the grid must not run below 0
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.uniform(0.05, 1.0, 100), np.full(30, 0.5)])
    est = xr.Dataset(
        {
            "w": (("method", "component"), [[0.75, 0.25]]),
            "mu": (("method", "component"), [[0.5, 0.5]]),
            "sigma": (("method", "component"), [[0.3, 1e-3]]),
        },
        coords={"method": ["em"]},
        attrs={"hdi_prob": 0.94},
    )
    curves = density_curves(x, est, grid_size=100)
    grid = curves["x"].values
    assert grid[0] >= 0.0 and grid[-1] < 1.1 and np.all(np.diff(grid) > 0)
    spike = curves["component_density"].sel({"method": "em"}).isel(component=1).max()
    assert float(spike) == pytest.approx(0.25 / (1e-3 * np.sqrt(2 * np.pi)), rel=1e-6)


def test_classification_is_the_most_probable_component():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet([1.0, 1.0, 1.0], size=20)
    em = rng.dirichlet([1.0, 1.0, 1.0], size=20)
    ds = xr.Dataset({"mean": (("obs", "component"), probs), "em": (("obs", "component"), em)})
    out = classification(ds)
    for i in range(20):
        assert out["component"][i] == max(range(3), key=lambda k: probs[i, k])
        assert out["uncertainty"][i] == pytest.approx(1 - max(probs[i]))
        assert out["em_uncertainty"][i] == pytest.approx(1 - max(em[i]))
    assert (out["uncertainty"] <= 1 - 1 / 3).all()
