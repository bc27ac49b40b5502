"""The compiled interval log-probabilities against scipy's log_ndtr formula and quadrature."""

import numpy as np
import pytest
from scipy import integrate, special, stats

from gmm_bayes.em import interval_numba, resolution
from gmm_bayes.em.interval_numba import interval_log_probability_rows, log_ndtr


@pytest.mark.parametrize("z", [-80.0, -38.5, -20.0001, -19.9999, -7.0, -1.0, 0.0, 1e-3, 5.0, 40.0])
def test_log_ndtr_matches_scipy_across_its_cases(z):
    # scipy.special.log_ndtr: an independent implementation (Cephes' ndtr and its own series)
    expected = special.log_ndtr(z)
    assert log_ndtr(z) == pytest.approx(expected, rel=1e-14, abs=1e-300)


def _numpy_rows(values, width, w, mu, sd):
    """The log-space numpy formula of em.resolution (scipy's log_ndtr), row by row."""
    x = values[:, None]
    log_mass = resolution.log_normal_mass(
        (x - width / 2 - mu[:, None, :]) / sd[:, None, :],
        (x + width / 2 - mu[:, None, :]) / sd[:, None, :],
    )
    with np.errstate(divide="ignore"):
        return special.logsumexp(np.log(w)[:, None, :] + log_mass, axis=-1)


def _random_mixtures(rng, n, k, centre, spread, sd_median):
    w = rng.dirichlet(np.ones(k), n)
    mu = rng.normal(centre, spread, (n, k))
    sd = np.exp(rng.normal(np.log(sd_median), 2.0, (n, k)))  # from far narrower than h to wide
    return w, mu, sd


def test_rows_equal_the_log_space_formula_in_the_centre_and_both_tails():
    rng = np.random.default_rng(3)
    values = np.round(rng.normal(50.0, 10.0, 60))  # recorded to whole units, h = 1
    w, mu, sd = _random_mixtures(rng, 400, 3, 50.0, 200.0, 5.0)
    got = interval_log_probability_rows(values, 1.0, w, mu, sd)
    expected = _numpy_rows(values, 1.0, w, mu, sd)
    # bins whose mixture mass underflows (log below -645) take the log-space fallback
    assert np.isfinite(expected).all() and (expected < -1000).mean() > 0.05
    np.testing.assert_allclose(got, expected, rtol=1e-11, atol=1e-12)


def test_rows_equal_quadrature_of_the_mixture_density():
    values = np.array([-3.0, 0.0, 0.5, 2.0])
    w, mu, sd = np.array([[0.3, 0.7]]), np.array([[-1.0, 1.5]]), np.array([[0.4, 2.0]])
    got = interval_log_probability_rows(values, 0.5, w, mu, sd)[0]

    def density(t):
        return float(np.sum(w[0] * stats.norm.pdf(t, mu[0], sd[0])))

    expected = [np.log(integrate.quad(density, v - 0.25, v + 0.25, epsabs=0)[0]) for v in values]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_threads_give_the_same_rows_as_one(monkeypatch):
    rng = np.random.default_rng(5)
    values = np.arange(40.0)
    w, mu, sd = _random_mixtures(rng, 301, 4, 20.0, 10.0, 3.0)
    one = interval_log_probability_rows(values, 1.0, w, mu, sd)
    monkeypatch.setattr(interval_numba, "PARALLEL_MIN_WORK", 1)
    monkeypatch.setattr(interval_numba.os, "cpu_count", lambda: 3)
    np.testing.assert_array_equal(interval_log_probability_rows(values, 1.0, w, mu, sd), one)


def test_interval_log_probability_takes_the_compiled_rows_for_batches(monkeypatch):
    rng = np.random.default_rng(7)
    values = np.arange(30.0)
    w, mu, sd = _random_mixtures(rng, 24, 3, 15.0, 8.0, 3.0)
    batch = [a.reshape(2, 12, 3) for a in (w, mu, sd)]
    monkeypatch.setattr(resolution, "NUMBA_MIN_WORK", 10**12)
    small = resolution.interval_log_probability(values, 1.0, *batch)
    monkeypatch.setattr(resolution, "NUMBA_MIN_WORK", 1)
    compiled = resolution.interval_log_probability(values, 1.0, *batch)
    assert compiled.shape == small.shape == (2, 12, 30)
    np.testing.assert_allclose(compiled, small, rtol=1e-12)


def test_a_zero_weight_component_and_underflowing_bins_stay_finite_or_minus_inf():
    values = np.array([0.0, 1e4])
    w, mu, sd = np.array([[1.0, 0.0]]), np.array([[0.0, 1e4]]), np.array([[1.0, 1.0]])
    got = interval_log_probability_rows(values, 1.0, w, mu, sd)[0]
    assert got[0] == pytest.approx(np.log(stats.norm.cdf(0.5) - stats.norm.cdf(-0.5)), rel=1e-14)
    # 1e4 sd from the only weighted component: log Phi's asymptotic series, about -5e7
    assert got[1] == pytest.approx(_numpy_rows(values, 1.0, w, mu, sd)[0, 1], rel=1e-12)
