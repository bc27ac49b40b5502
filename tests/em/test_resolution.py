"""Data recorded at a resolution (gmm_bayes.em.resolution, gmm_bayes.em.interval): the grid and
heap detection, the interval likelihood against quadrature, and EM for intervals against direct
numerical maximization."""

import warnings

import numpy as np
import pytest
from helpers import mixture_sample
from scipy import integrate, optimize, stats

import gmm_bayes as gb
from gmm_bayes.em.interval import IntervalSource
from gmm_bayes.em.resolution import (
    detect_resolution,
    find_heaps,
    interval_log_probability,
    log_normal_mass,
)
from gmm_bayes.exceptions import HeapingWarning

# ---- the interval likelihood -------------------------------------------------------------


def test_interval_probability_is_the_integral_of_the_density():
    w, mu, sd = np.array([0.3, 0.7]), np.array([-1.0, 2.5]), np.array([0.4, 1.5])
    x, h = np.array([-6.0, -1.0, -0.8, 0.5, 2.0, 9.0, 14.0]), 0.5

    def density(t):
        return float(np.sum(w * stats.norm.pdf(t, mu, sd)))

    expected = [
        np.log(integrate.quad(density, v - h / 2, v + h / 2, epsabs=0, epsrel=1e-13)[0]) for v in x
    ]
    np.testing.assert_allclose(interval_log_probability(x, h, w, mu, sd), expected, rtol=1e-10)


@pytest.mark.parametrize("lower", [-40.0, -8.0, -0.3, 0.0, 5.0, 38.0])
def test_log_mass_is_stable_in_both_tails(lower):
    # reference: log of the integral of the log-density shifted by its value at the nearer end,
    # so quad works on numbers near 1 even 40 sd out
    upper = lower + 0.25
    near = lower if lower > 0 else upper
    ratio = integrate.quad(
        lambda t: np.exp(stats.norm.logpdf(t) - stats.norm.logpdf(near)),
        lower,
        upper,
        epsabs=0,
        epsrel=1e-13,
    )[0]
    assert float(log_normal_mass(lower, upper)) == pytest.approx(
        np.log(ratio) + stats.norm.logpdf(near), rel=1e-10
    )


def test_pass_log_likelihood_is_the_interval_one_and_counts_ties():
    z = np.array([0.0, 0.0, 0.5, 1.0, 1.0, 1.0, 3.0])
    w, mu, var = np.array([0.4, 0.6]), np.array([0.0, 1.5]), np.array([0.3, 1.2])
    ll, nk, _, _ = IntervalSource(z, 0.5).em_pass(w, mu, var)
    assert ll == pytest.approx(interval_log_probability(z, 0.5, w, mu, np.sqrt(var)).sum(), 1e-13)
    assert nk.sum() == pytest.approx(z.size)


# ---- EM for intervals --------------------------------------------------------------------


def coarse_sample():
    x = mixture_sample(150, [0.4, 0.6], [0.0, 4.0], [1.0, 1.5], seed=3)
    return np.round(x)  # recorded in whole units: h = 1, about a sd


def test_em_increases_the_interval_likelihood_at_every_step():
    x = coarse_sample()
    fit = gb.fit_em(x, 2, resolution=1.0, init="quantile", reg_covar=0.0, tol=1e-12)
    assert fit.converged and fit.resolution == 1.0
    assert np.all(np.diff(fit.history) >= -1e-10 * np.abs(fit.history[1:]))
    assert fit.log_likelihood == pytest.approx(
        interval_log_probability(x, 1.0, fit.weights, fit.means, fit.sigmas).sum(), rel=1e-12
    )


def test_em_reaches_the_maximum_a_direct_optimizer_finds():
    x = coarse_sample()
    values, counts = np.unique(x, return_counts=True)

    def negative(theta):  # logit weight, means, log sds
        w = 1 / (1 + np.exp(-theta[0]))
        lp = interval_log_probability(values, 1.0, [w, 1 - w], theta[1:3], np.exp(theta[3:]))
        return -np.dot(counts, lp)

    em = gb.fit_em(x, 2, resolution=1.0, reg_covar=0.0, tol=1e-14, random_state=0)
    start = [0.0, 0.5, 3.5, 0.0, 0.0]
    best = optimize.minimize(
        negative,
        start,
        method="Nelder-Mead",
        options=dict(xatol=1e-10, fatol=1e-12, maxiter=20000, maxfev=20000),
    )
    w = 1 / (1 + np.exp(-best.x[0]))
    assert em.log_likelihood == pytest.approx(-best.fun, abs=1e-7)
    np.testing.assert_allclose(em.weights, [w, 1 - w], atol=1e-4)
    np.testing.assert_allclose(em.means, best.x[1:3], atol=1e-4)
    np.testing.assert_allclose(em.sigmas, np.exp(best.x[3:]), atol=1e-4)
    # rounding to about a sd matters: the density fit of the same values is elsewhere
    density = gb.fit_em(x, 2, reg_covar=0.0, tol=1e-14, random_state=0)
    assert np.max(np.abs(density.sigmas - em.sigmas)) > 0.02


def test_interval_fit_maps_with_the_units_and_keeps_its_log_likelihood():
    x = coarse_sample()
    fit = gb.fit_em(x, 2, resolution=1.0, random_state=0)
    scaled = gb.fit_em(60 * x + 7, 2, resolution=60.0, random_state=0)
    np.testing.assert_allclose(scaled.means, 60 * fit.means + 7, rtol=1e-6)
    np.testing.assert_allclose(scaled.sigmas, 60 * fit.sigmas, rtol=1e-6)
    assert scaled.log_likelihood == pytest.approx(fit.log_likelihood, rel=1e-9)  # a probability


def test_tied_and_interval_together():
    fit = gb.fit_em(coarse_sample(), 2, resolution="auto", covariance_type="tied", random_state=0)
    assert fit.resolution == 1.0 and np.ptp(fit.sigmas) == 0 and fit.n_parameters == 4


# ---- detection ---------------------------------------------------------------------------


def test_auto_finds_whole_minutes_in_old_faithful():
    fit = gb.fit_em(gb.load_dataset("faithful"), 2, resolution="auto", random_state=0)
    assert fit.resolution == 1.0 and fit.heaps == ()
    assert fit.to_dataset().attrs["resolution"] == 1.0


@pytest.mark.parametrize("name", ["galaxy", "galaxy_mass"])
def test_velocities_to_one_km_per_s_are_continuous(name):
    # 1 km/s is under 1/1000 of the robust scale (2.9 and 2900 in the data's units)
    assert detect_resolution(gb.load_dataset(name)).width is None


def test_continuous_data_have_no_grid():
    x = np.random.default_rng(0).normal(size=5000)
    assert detect_resolution(x).width is None
    fit = gb.fit_em(x[:300], 2, resolution="auto", random_state=0)
    assert fit.resolution is None
    assert fit.log_likelihood == pytest.approx(gb.fit_em(x[:300], 2, random_state=0).log_likelihood)


@pytest.mark.parametrize("h", [0.1, 0.25, 5.0, 1 / 60])
def test_a_rounding_grid_is_found(h):
    x = np.round(np.random.default_rng(1).normal(50, 10, 400) / h) * h
    x = np.round(x, 7)  # as written in a file
    assert detect_resolution(x).width == pytest.approx(h, rel=1e-9)


def test_geyser_durations_are_seconds_with_two_heaps():
    found = detect_resolution(gb.load_dataset("geyser_duration"))
    assert found.width == pytest.approx(1 / 60, rel=1e-12)
    assert found.heaps == (4.0, 2.0) and found.heap_counts == (53, 23)


def test_a_heap_is_found_warned_and_recorded():
    rng = np.random.default_rng(2)
    x = np.concatenate([np.round(rng.normal(20, 8, 300)), np.full(30, 18.0)])
    assert find_heaps(x, 1.0).heaps == (18.0,)
    with pytest.warns(HeapingWarning, match="18 ") as caught:
        fit = gb.fit_em(x, 2, resolution="auto", random_state=0)
    assert caught[0].filename == __file__
    assert fit.heaps == (18.0,) and fit.to_dataset().attrs["heaps"] == "18.0"


def test_a_popular_value_among_busy_neighbours_is_no_heap():
    x = gb.load_dataset("faithful")  # 78 minutes: 15 times, its neighbours 12 to 14
    assert find_heaps(x, 1.0).heaps == ()


def test_geyser_k4_does_not_pick_a_spike():
    x = gb.load_dataset("geyser_duration")
    with pytest.warns(HeapingWarning):
        fit = gb.fit_em(x, 4, resolution="auto", random_state=0)
    h = fit.resolution
    # under the density likelihood the best K=4 fit put sigma 0.0018 on the 53 values of 4.000;
    # under the interval likelihood a heap component remains (the heap is real), but it covers
    # its recording interval: sigma about h / 4, not far below h
    assert not fit.degenerate
    assert fit.sigmas.min() > h / 10
    heap = np.argmin(fit.sigmas)
    assert fit.means[heap] == pytest.approx(4.0, abs=h / 10)
    assert fit.weights[heap] == pytest.approx(53 / 299, abs=0.01)


@pytest.mark.parametrize(
    "resolution, error, match",
    [
        ("exact", ValueError, "resolution must be None, 'auto' or a positive number"),
        (0.0, ValueError, "resolution must be a finite number > 0"),
        (-1.0, ValueError, "resolution must be a finite number > 0"),
        (np.inf, ValueError, "resolution must be a finite number > 0"),
        (True, TypeError, "resolution must be None, 'auto' or a positive number"),
        ([1.0], TypeError, "resolution must be None, 'auto' or a positive number"),
    ],
)
def test_bad_resolution_is_refused(resolution, error, match):
    with pytest.raises(error, match=match):
        gb.fit_em([0.0, 1.0, 2.0, 5.0], 2, resolution=resolution)


def test_explicit_resolution_on_continuous_data_is_still_the_interval_likelihood():
    x = mixture_sample(100, [0.5, 0.5], [0.0, 5.0], [1.0, 1.0], seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = gb.fit_em(x, 2, resolution=1e-4, random_state=0)
    density = gb.fit_em(x, 2, random_state=0)
    # tiny intervals: log P = log(h f) + O(h^2): the density fit shifted by N log h
    assert fit.log_likelihood == pytest.approx(
        density.log_likelihood + x.size * np.log(1e-4), rel=1e-7
    )


def test_a_heap_in_continuous_data_is_warned_about():
    x = np.concatenate([np.random.default_rng(3).normal(size=200), np.full(6, 0.25)])
    with pytest.warns(HeapingWarning, match="otherwise continuous data: 0.25 \\(6 times\\)"):
        fit = gb.fit_em(x, 2, resolution="auto", random_state=0)
    assert fit.resolution is None and fit.heaps == (0.25,)
