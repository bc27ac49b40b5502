"""The numpy mixture array layer against scipy (independent implementation)."""

import warnings

import numpy as np
import pytest
from helpers import reference_log_density, reference_responsibilities
from scipy import stats

from gmm_bayes import mixture


def random_mixture(rng, k, d):
    w = rng.dirichlet(np.ones(k))
    mu = rng.normal(0, 3, (k, d))
    a = rng.normal(size=(k, d, d))
    cov = a @ np.swapaxes(a, -1, -2) + 0.5 * np.eye(d)
    return w, mu, cov


@pytest.mark.parametrize("d", [1, 2, 4])
def test_log_density_equals_scipy_multivariate_normal(d):
    rng = np.random.default_rng(d)
    w, mu, cov = random_mixture(rng, 3, d)
    x = rng.normal(0, 4, (50, d))
    expected = np.log(sum(w[k] * stats.multivariate_normal(mu[k], cov[k]).pdf(x) for k in range(3)))
    np.testing.assert_allclose(mixture.log_density(x, w, mu, cov), expected, rtol=1e-12)


def test_univariate_matches_scipy_norm_and_broadcasts_over_draws():
    rng = np.random.default_rng(0)
    x = rng.normal(size=40)
    w = rng.dirichlet(np.ones(3), size=5)  # 5 "draws"
    mu = np.sort(rng.normal(size=(5, 3)), axis=1)
    var = rng.uniform(0.2, 2, (5, 3))
    xs, mus, covs = mixture.univariate(x, mu, var)
    got = mixture.log_density(xs, w, mus, covs)
    assert got.shape == (5, 40)
    for s in range(5):
        ref = reference_log_density(x, w[s], mu[s], np.sqrt(var[s]))
        np.testing.assert_allclose(got[s], ref, rtol=1e-12)
        np.testing.assert_allclose(
            mixture.responsibilities(xs, w[s], mus[s], covs[s]),
            reference_responsibilities(x, w[s], mu[s], np.sqrt(var[s])),
            rtol=1e-10,
            atol=1e-300,
        )


def test_responsibilities_do_not_underflow_far_from_every_component():
    xs, mus, covs = mixture.univariate([-1e4, 0.0, 1e4], [-1.0, 1.0], [1.0, 1.0])
    r = mixture.responsibilities(xs, [0.5, 0.5], mus, covs)
    assert np.isfinite(r).all()
    np.testing.assert_allclose(r.sum(axis=1), 1.0)
    assert r[0, 0] == 1.0 and r[2, 1] == 1.0


@pytest.mark.parametrize("d", [1, 3])
def test_predictive_draws_have_the_mixture_moments(d):
    rng = np.random.default_rng(1)
    w, mu, cov = random_mixture(rng, 2, d)
    y = mixture.predictive_draws(np.random.default_rng(2), w, mu, cov, 200_000)
    assert y.shape == (200_000, d)
    mean = w @ mu
    second = sum(w[k] * (cov[k] + np.outer(mu[k], mu[k])) for k in range(2))
    np.testing.assert_allclose(y.mean(axis=0), mean, atol=0.05 * np.sqrt(np.trace(second)))
    np.testing.assert_allclose(np.cov(y.T).reshape(d, d), second - np.outer(mean, mean), rtol=0.05)


def test_log_joint_is_log_weight_plus_scipy_log_density_and_zero_weight_is_silent():
    rng = np.random.default_rng(3)
    x, mu, var = rng.normal(size=30), rng.normal(size=3), rng.uniform(0.2, 2, 3)
    w = np.array([0.0, 0.4, 0.6])
    xs, mus, covs = mixture.univariate(x, mu, var)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # log(0) must not warn
        got = mixture.log_joint(xs, w, mus, covs)
    assert np.all(got[:, 0] == -np.inf)
    expected = np.log(w[1:]) + stats.norm.logpdf(x[:, None], mu[1:], np.sqrt(var[1:]))
    np.testing.assert_allclose(got[:, 1:], expected, rtol=1e-12)


def test_log_density_is_minus_infinity_where_every_weight_is_zero_there():
    """All terms -inf (zero weights) give -inf, not NaN; one finite term gives its value."""
    xs, mus, covs = mixture.univariate([0.0], [[0.0, 1.0], [0.0, 1.0]], [[1.0, 1.0], [1.0, 1.0]])
    out = mixture.log_density(xs, np.array([[0.0, 0.0], [1.0, 0.0]]), mus, covs)
    assert out[0, 0] == -np.inf
    assert out[1, 0] == pytest.approx(stats.norm.logpdf(0.0))
