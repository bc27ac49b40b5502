"""The log_likelihood and posterior_predictive groups, computed from hand-built draws."""

import numpy as np
import pytest
from helpers import reference_log_density

xr = pytest.importorskip("xarray")

from gmm_bayes.bayes import pointwise  # noqa: E402
from gmm_bayes.bayes.pointwise import (  # noqa: E402
    log_likelihood_group,
    posterior_predictive_group,
)

DIMS = ("chain", "draw", "component")


def random_posterior(chains, draws, k, seed=0):
    rng = np.random.default_rng(seed)
    shape = (chains, draws, k)
    return xr.Dataset(
        {
            "w": (DIMS, rng.dirichlet(np.ones(k), size=shape[:2])),
            "mu": (DIMS, np.sort(rng.normal(0, 5, shape), axis=-1)),
            "sigma": (DIMS, rng.uniform(0.3, 3.0, shape)),
        },
        coords={"chain": np.arange(chains), "draw": np.arange(draws), "component": np.arange(k)},
    )


def test_log_likelihood_is_scipys_mixture_density_for_every_draw(monkeypatch):
    """Against scipy, with blocks small enough that draws span several of them."""
    monkeypatch.setattr(pointwise, "BLOCK_NUMBERS", 500)
    post = random_posterior(3, 40, 3)
    x = np.random.default_rng(1).normal(0, 6, 57)
    got = log_likelihood_group(post, x)["y"]
    assert got.dims == ("chain", "draw", "obs") and got.shape == (3, 40, 57)
    for chain in range(3):
        for draw in range(40):
            w, mu, sigma = (post[n].values[chain, draw] for n in ("w", "mu", "sigma"))
            expected = reference_log_density(x, w, mu, sigma)
            np.testing.assert_allclose(got.values[chain, draw], expected, rtol=1e-12)


def test_with_a_resolution_each_value_gets_its_interval_probability(monkeypatch):
    """Against scipy's normal CDF: w_k [Phi((x + h/2 - mu_k) / s_k) - Phi((x - h/2 - mu_k) / s_k)]
    summed over k, the likelihood build_model(..., resolution=h) is written with."""
    from scipy.stats import norm

    monkeypatch.setattr(pointwise, "BLOCK_NUMBERS", 300)
    post = random_posterior(2, 30, 3, seed=4)
    x = np.round(np.random.default_rng(2).normal(0, 6, 41))
    got = log_likelihood_group(post, x, resolution=1.0)["y"].values
    for chain in range(2):
        for draw in range(30):
            w, mu, sigma = (post[n].values[chain, draw] for n in ("w", "mu", "sigma"))
            lo, hi = (x[:, None] - 0.5 - mu) / sigma, (x[:, None] + 0.5 - mu) / sigma
            # the upper tail by survival functions: cdf(hi) - cdf(lo) cancels there
            mass = np.where(lo > 0, norm.sf(lo) - norm.sf(hi), norm.cdf(hi) - norm.cdf(lo))
            expected = np.log((w * mass).sum(axis=1))
            np.testing.assert_allclose(got[chain, draw], expected, rtol=1e-10)


def test_tied_observations_get_their_own_entries_in_order():
    post = random_posterior(2, 5, 2)
    x = np.array([3.0, -1.0, 3.0, 0.5, -1.0])
    got = log_likelihood_group(post, x)["y"].values
    np.testing.assert_array_equal(got[..., 0], got[..., 2])
    w, mu, sigma = (post[n].values[1, 4] for n in ("w", "mu", "sigma"))
    np.testing.assert_allclose(got[1, 4], reference_log_density(x, w, mu, sigma), rtol=1e-12)


def test_a_zero_weight_component_is_ignored_not_nan():
    post = random_posterior(1, 2, 2)
    post["w"][...] = [1.0, 0.0]
    got = log_likelihood_group(post, np.array([0.0, 100.0]))["y"].values
    mu, sigma = post["mu"].values[0, :, 0], post["sigma"].values[0, :, 0]
    expected = -0.5 * ((np.array([0.0, 100.0])[None] - mu[:, None]) / sigma[:, None]) ** 2
    expected -= np.log(sigma[:, None] * np.sqrt(2 * np.pi))
    np.testing.assert_allclose(got[0], expected, rtol=1e-12)


def test_posterior_predictive_draws_follow_each_draws_mixture():
    """Label frequencies match w, and values match mu and sigma."""
    post = xr.Dataset(
        {
            "w": (DIMS, np.array([[[0.2, 0.8]], [[0.6, 0.4]]])),
            "mu": (DIMS, np.array([[[-50.0, 50.0]], [[0.0, 100.0]]])),
            "sigma": (DIMS, np.array([[[1.0, 2.0]], [[0.5, 3.0]]])),
        },
        coords={"chain": [0, 1], "draw": [0], "component": [0, 1]},
    )
    out = posterior_predictive_group(post, 40_000, np.random.default_rng(0))["y"].values
    assert out.shape == (2, 1, 40_000)
    low = out[0, 0] < 0
    assert low.mean() == pytest.approx(0.2, abs=0.01)
    assert out[0, 0][low].std() == pytest.approx(1.0, rel=0.05)
    assert out[0, 0][~low].std() == pytest.approx(2.0, rel=0.05)
    assert out[1, 0][out[1, 0] > 50].mean() == pytest.approx(100.0, abs=0.1)
    assert (out[1, 0] < 50).mean() == pytest.approx(0.6, abs=0.01)


def test_posterior_predictive_is_reproducible_and_blocked(monkeypatch):
    monkeypatch.setattr(pointwise, "BLOCK_NUMBERS", 64)
    post = random_posterior(2, 30, 3)
    a = posterior_predictive_group(post, 10, np.random.default_rng(5))["y"].values
    b = posterior_predictive_group(post, 10, np.random.default_rng(5))["y"].values
    np.testing.assert_array_equal(a, b)
    assert a.shape == (2, 30, 10) and np.all(np.isfinite(a))
    # every draw's replicate comes from its own mixture: all within 8 sd of one of its means
    mu, sigma = post["mu"].values[..., None, :], post["sigma"].values[..., None, :]
    assert np.all(np.min(np.abs(a[..., None] - mu) / sigma, axis=-1) < 8)
