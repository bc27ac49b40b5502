"""The numbers behind the figures: densities on a grid, membership, chain means."""

import numpy as np
import pytest
from compare.fakes import around, fake_posterior, two_groups
from helpers import reference_log_density, reference_responsibilities

import gmm_bayes as gb
from gmm_bayes.compare import chain_means, compare_estimates, density_curves, membership_table


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
    dx = grid[1] - grid[0]
    for m in ("em", "sklearn", "posterior_mean"):
        dens = curves["density"].sel({"method": m}).values
        assert np.sum(dens) * dx == pytest.approx(1.0, abs=0.01)  # a density integrates to 1
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
