"""Standard errors and intervals of EM estimates (gmm_bayes.em.standard_errors): the exact
information against finite differences and the closed form, bootstrap against information,
coverage by simulation, component matching, and bad input."""

import dataclasses
import functools
import subprocess
import sys
import warnings

import numpy as np
import pytest
from helpers import mixture_sample, reference_log_likelihood
from scipy.special import expit

import gmm_bayes as gb
from gmm_bayes.em import standard_errors as se_module
from gmm_bayes.em.result import EMResult
from gmm_bayes.em.standard_errors import (
    match_components,
    numerical_information,
    observed_information,
    standard_errors,
)
from gmm_bayes.exceptions import DegenerateFitWarning, FitError

PARAMS = ("w", "mu", "sigma")
#: a well-separated two-component truth for agreement and coverage
TRUTH = {"w": np.array([0.4, 0.6]), "mu": np.array([0.0, 6.0]), "sigma": np.array([1.0, 1.5])}


def truth_sample(seed, n=500):
    return mixture_sample(n, TRUTH["w"], TRUTH["mu"], TRUTH["sigma"], seed=seed)


@functools.cache
def fitted(seed=0, n=500):
    """A maximum-likelihood fit of ``truth_sample(seed, n)`` and the data (shared: both are
    left unchanged by the tests)."""
    x = truth_sample(seed, n)
    return gb.fit_em(x, 2, random_state=seed), x


def fitted_from_truth(seed):
    """EM started at the truth: the maximum a good search finds, without the search's cost (the
    simulations are about the intervals, not about finding the maximum)."""
    x = truth_sample(seed)
    start = {"weights_init": TRUTH["w"], "means_init": TRUTH["mu"]}
    return gb.fit_em(x, 2, **start, variances_init=TRUTH["sigma"] ** 2), x


def hand_made(x, weights, means, variances):
    """An EMResult at given parameters whose log-likelihood is that of ``x`` (passes the check)."""
    weights, means, variances = (np.asarray(a, dtype=float) for a in (weights, means, variances))
    log_likelihood = reference_log_likelihood(x, weights, means, np.sqrt(variances))
    return EMResult(
        weights=weights,
        means=means,
        variances=variances,
        log_likelihood=log_likelihood,
        n_iter=0,
        converged=True,
        history=np.array([log_likelihood]),
        n_obs=len(x),
        reg_covar=0.0,
        collapsed=np.zeros(weights.size, dtype=bool),
    )


# ---- the observed information ----------------------------------------------------------------


def central_difference_hessian(f, theta, steps):
    """Hessian of ``f`` by central differences, ``steps[i]`` along coordinate i."""
    p = theta.size
    hessian = np.empty((p, p))
    for i in range(p):
        for j in range(p):
            ei, ej = np.eye(p)[i] * steps[i], np.eye(p)[j] * steps[j]
            hessian[i, j] = (
                f(theta + ei + ej) - f(theta + ei - ej) - f(theta - ei + ej) + f(theta - ei - ej)
            ) / (4 * steps[i] * steps[j])
    return hessian


@pytest.mark.parametrize("k", [2, 3])
def test_information_is_minus_the_hessian_of_the_scipy_log_likelihood(k):
    x = mixture_sample(400, [0.3, 0.5, 0.2][:k], [-3.0, 1.0, 6.0][:k], [1.0, 0.7, 2.0][:k])
    fit = gb.fit_em(x, k, random_state=0)

    def log_likelihood(theta):  # theta = (log(w_j / w_K), mu, log sigma), as documented
        w = np.exp(np.append(theta[: k - 1], 0.0))
        return reference_log_likelihood(
            x, w / w.sum(), theta[k - 1 : 2 * k - 1], np.exp(theta[2 * k - 1 :])
        )

    theta = np.concatenate(
        [np.log(fit.weights[:-1] / fit.weights[-1]), fit.means, np.log(fit.sigmas)]
    )
    steps = 1e-4 * np.maximum(1.0, np.abs(theta))
    hessian = central_difference_hessian(log_likelihood, theta, steps)
    information = observed_information(fit, x)
    np.testing.assert_allclose(information, information.T, rtol=0, atol=1e-9)
    # central differences are accurate to ~ steps^2 * (fourth derivative): 1e-4 of the largest
    np.testing.assert_allclose(information, -hessian, rtol=0, atol=1e-4 * np.abs(hessian).max())


def test_information_away_from_a_maximum_is_still_minus_the_hessian():
    x = mixture_sample(300, [0.5, 0.5], [0.0, 4.0], [1.0, 1.0], seed=3)
    fit = hand_made(x, [0.3, 0.7], [0.5, 3.0], [2.0, 0.5])

    def log_likelihood(theta):
        return reference_log_likelihood(
            x, expit([theta[0], -theta[0]]), theta[1:3], np.exp(theta[3:])
        )

    theta = np.concatenate([[np.log(0.3 / 0.7)], [0.5, 3.0], 0.5 * np.log([2.0, 0.5])])
    hessian = central_difference_hessian(log_likelihood, theta, np.full(theta.size, 1e-4))
    np.testing.assert_allclose(
        observed_information(fit, x), -hessian, rtol=0, atol=1e-4 * np.abs(hessian).max()
    )


def test_information_summed_in_blocks_equals_one_block(monkeypatch):
    fit, x = fitted()
    whole = observed_information(fit, x)
    monkeypatch.setattr(se_module, "_BLOCK", 7)
    np.testing.assert_allclose(observed_information(fit, x), whole, rtol=1e-12)


def test_one_component_information_standard_errors_are_the_closed_form():
    x = np.random.default_rng(1).normal(3.0, 2.0, 800)
    fit = gb.fit_em(x, 1)
    sigma, n = fit.sigmas[0], x.size
    np.testing.assert_allclose(
        observed_information(fit, x), np.diag([n / sigma**2, 2 * n]), rtol=1e-5, atol=1e-6
    )
    se = standard_errors(fit, x, method="information")
    assert float(se["mu"][0]) == pytest.approx(sigma / np.sqrt(n), rel=1e-5)
    assert float(se["sigma"][0]) == pytest.approx(sigma / np.sqrt(2 * n), rel=1e-5)
    assert float(se["w"][0]) == 0.0
    assert float(se["w_lower"][0]) == float(se["w_upper"][0]) == 1.0
    z = 1.959963984540054  # scipy.stats.norm.ppf(0.975)
    assert float(se["mu_upper"][0] - se["mu_lower"][0]) == pytest.approx(
        2 * z * sigma / np.sqrt(n), rel=1e-5
    )
    # sigma's interval is built on the log scale: symmetric there, around log sigma
    log_bounds = np.log([float(se["sigma_lower"][0]), float(se["sigma_upper"][0])])
    np.testing.assert_allclose(log_bounds, np.log(sigma) + np.array([-z, z]) / np.sqrt(2 * n))


def test_weight_intervals_are_on_the_logit_scale():
    fit, x = fitted()
    se = standard_errors(fit, x, method="information", level=0.9)
    z = 1.6448536269514722  # scipy.stats.norm.ppf(0.95)
    w = fit.weights
    half = z * se["w"].values / (w * (1 - w))  # delta method to logit(w)
    logit = np.log(w / (1 - w))
    np.testing.assert_allclose(se["w_lower"], expit(logit - half), rtol=1e-12)
    np.testing.assert_allclose(se["w_upper"], expit(logit + half), rtol=1e-12)
    assert se["w"][0] == pytest.approx(float(se["w"][1]), rel=1e-9)  # w_2 = 1 - w_1


# ---- bootstrap against information, coverage -------------------------------------------------


def test_bootstrap_and_information_agree_on_a_well_separated_mixture():
    fit, x = fitted(seed=2)
    n_boot = 400
    boot = standard_errors(fit, x, n_boot=n_boot, random_state=0)
    info = standard_errors(fit, x, method="information")
    # the bootstrap sd of n_boot replicates has relative Monte Carlo sd ~ 1 / sqrt(2 (n_boot - 1))
    tolerance = 4 / np.sqrt(2 * (n_boot - 1))
    for name in PARAMS:
        ratio = boot[name].values / info[name].values
        assert np.all(np.abs(ratio - 1) < tolerance), (name, ratio)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_numerical_information_is_louis_exact_one(k):
    """The numerical Hessian (used for tied and interval fits) against the exact Louis
    information where both apply: a full-covariance density fit."""
    x = mixture_sample(400, [0.3, 0.3, 0.4], [-5.0, 0.0, 6.0], [1.0, 0.7, 1.5], seed=k)
    fit = gb.fit_em(x, k, random_state=0)
    exact = observed_information(fit, x)
    scale = np.abs(exact).max()
    np.testing.assert_allclose(numerical_information(fit, x), exact, rtol=1e-5, atol=1e-7 * scale)


def test_tied_information_at_one_component_is_the_full_one():
    """K = 1: the tied and full models are the same; so are their standard errors."""
    x = truth_sample(seed=3)
    full = standard_errors(gb.fit_em(x, 1), x, method="information")
    tied = standard_errors(gb.fit_em(x, 1, covariance_type="tied"), x, method="information")
    for name in PARAMS:
        np.testing.assert_allclose(tied[name].values, full[name].values, rtol=1e-6)


def test_interval_information_tends_to_the_density_one_as_the_resolution_shrinks():
    """At a resolution far below the spread, the interval likelihood is the density times h up
    to O(h^2): the same information at the same parameters (continuous data, so every value
    is its own interval)."""
    fit, x = fitted(seed=2)
    fine = dataclasses.replace(fit, resolution=1e-3)  # finer loses digits to cancellation
    exact = observed_information(fit, x)
    scale = np.abs(exact).max()
    np.testing.assert_allclose(numerical_information(fine, x), exact, rtol=1e-4, atol=1e-6 * scale)
    coarse = dataclasses.replace(fit, resolution=1.0)  # and a coarse grid changes it
    assert np.abs(numerical_information(coarse, x) - exact).max() > 1e-3 * scale


@pytest.mark.slow
def test_interval_information_agrees_with_the_bootstrap_on_rounded_data():
    """Rounded to 0.5 (a third of the smaller sd): the information of the interval likelihood
    and the bootstrap of interval fits agree as the density's do on continuous data."""
    x = np.round(truth_sample(seed=5) * 2) / 2
    fit = gb.fit_em(x, 2, resolution=0.5, random_state=0)
    n_boot = 400
    boot = standard_errors(fit, x, n_boot=n_boot, random_state=0)
    info = standard_errors(fit, x, method="information")
    tolerance = 4 / np.sqrt(2 * (n_boot - 1))
    for name in PARAMS:
        ratio = boot[name].values / info[name].values
        assert np.all(np.abs(ratio - 1) < tolerance), (name, ratio)


def coverage(method, n_sets, level, n_boot=200):
    """Fraction of ``n_sets`` simulated data sets whose intervals hold the truth, per parameter."""
    hits = {name: np.zeros(2) for name in PARAMS}
    for i in range(n_sets):
        fit, x = fitted_from_truth(seed=10_000 + i)
        se = standard_errors(fit, x, method=method, level=level, n_boot=n_boot, random_state=i)
        for name, truth in TRUTH.items():
            hits[name] += (se[f"{name}_lower"].values <= truth) & (
                truth <= se[f"{name}_upper"].values
            )
    return {name: count / n_sets for name, count in hits.items()}


def assert_covers(rates, level, n_sets):
    binomial_sd = np.sqrt(level * (1 - level) / n_sets)
    for name, rate in rates.items():
        assert np.all(np.abs(rate - level) <= 3 * binomial_sd), (name, rate, level)


def test_information_intervals_cover_the_truth_at_their_level():
    # 2000 data sets gave coverage 0.946 .. 0.955 for every parameter (measured for this test)
    assert_covers(coverage("information", 200, 0.95), 0.95, 200)


@pytest.mark.slow
def test_bootstrap_intervals_cover_the_truth_at_their_level():
    # measured for this test: 500 other data sets gave 0.916 .. 0.94, a little under 0.95 as
    # expected, since quantiles of 200 replicates alone cover 0.941 of a normal (20000 trials)
    assert_covers(coverage("bootstrap", 200, 0.95), 0.95, 200)


# ---- matching bootstrap components -----------------------------------------------------------


def test_components_are_matched_by_the_observations_they_claim():
    x = np.linspace(-8, 8, 401)
    narrow_first = hand_made(x, [0.5, 0.5], [-0.05, 0.05], [0.25, 9.0])
    wide_first = hand_made(x, [0.5, 0.5], [-0.02, 0.03], [9.6, 0.27])  # means crossed
    matched = match_components(narrow_first.responsibilities(x), wide_first.responsibilities(x))
    assert matched.tolist() == [1, 0]
    permuted = match_components(narrow_first.responsibilities(x), narrow_first.responsibilities(x))
    assert permuted.tolist() == [0, 1]


def test_bootstrap_follows_components_whose_means_cross():
    # a narrow and a wide component centred together: sorted by mean, replicates would swap them
    # half the time and the sd of "sigma_0" would be about (3 - 0.5) / 2 instead of ~0.03
    x = mixture_sample(1000, [0.5, 0.5], [0.0, 0.0], [0.5, 3.0], seed=4)
    fit = gb.fit_em(x, 2, random_state=0)
    boot = standard_errors(fit, x, n_boot=100, random_state=0)
    info = standard_errors(fit, x, method="information")
    ratio = boot["sigma"].values / info["sigma"].values
    assert np.all((ratio > 0.6) & (ratio < 1.6)), ratio
    assert np.all(boot["sigma_lower"] < fit.sigmas) and np.all(fit.sigmas < boot["sigma_upper"])


# ---- the Dataset -----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["bootstrap", "information"])
def test_dataset_holds_standard_errors_and_intervals_around_the_estimate(method):
    fit, x = fitted()
    se = standard_errors(fit, x, method=method, n_boot=50, random_state=0, level=0.8)
    assert set(se.data_vars) == {
        f"{name}{suffix}" for name in PARAMS for suffix in ("", "_lower", "_upper")
    }
    assert se["component"].values.tolist() == [0, 1]
    assert all(se[name].dims == ("component",) for name in se.data_vars)
    assert se.attrs["method"] == method and se.attrs["level"] == 0.8
    assert se.attrs["n_obs"] == x.size and se.attrs["intervals"]
    estimate = {"w": fit.weights, "mu": fit.means, "sigma": fit.sigmas}
    for name in PARAMS:
        assert np.all(se[name] > 0)
        assert np.all(se[f"{name}_lower"] < estimate[name])
        assert np.all(estimate[name] < se[f"{name}_upper"])
    assert np.all(se["w_lower"] > 0) and np.all(se["w_upper"] < 1) and np.all(se["sigma_lower"] > 0)


def test_bootstrap_attributes_count_the_replicates():
    fit, x = fitted()
    se = standard_errors(fit, x, n_boot=30, random_state=0)
    assert se.attrs["n_boot"] == 30
    assert se.attrs["n_failed"] == se.attrs["n_collapsed"] == se.attrs["n_not_converged"] == 0
    assert "percentile" in se.attrs["intervals"]


def test_bootstrap_percentile_intervals_and_sd_of_the_replicates(monkeypatch):
    fit, x = fitted()
    captured = {}
    replicates = se_module._replicates

    def keep(*args):
        captured["replicates"], counts = replicates(*args)
        return captured["replicates"], counts

    monkeypatch.setattr(se_module, "_replicates", keep)
    se = standard_errors(fit, x, n_boot=40, random_state=0, level=0.9)
    draws = captured["replicates"]  # (n_boot, 3, K): w, mu, sigma
    for i, name in enumerate(PARAMS):
        np.testing.assert_allclose(se[name], draws[:, i].std(axis=0, ddof=1), rtol=1e-12)
        np.testing.assert_allclose(se[f"{name}_lower"], np.quantile(draws[:, i], 0.05, axis=0))
        np.testing.assert_allclose(se[f"{name}_upper"], np.quantile(draws[:, i], 0.95, axis=0))


def test_bootstrap_is_reproducible_from_random_state():
    fit, x = fitted()
    first = standard_errors(fit, x, n_boot=20, random_state=7)
    again = standard_errors(fit, x, n_boot=20, random_state=np.random.default_rng(7))
    other = standard_errors(fit, x, n_boot=20, random_state=8)
    assert first.identical(again)
    assert not first.identical(other)


def test_sklearn_fits_are_accepted():
    x = truth_sample(0)
    fit = gb.fit_sklearn(x, 2, random_state=0)
    info = standard_errors(fit, x, method="information")
    boot = standard_errors(fit, x, n_boot=20, random_state=0)
    assert np.all(info["mu"] > 0) and np.all(boot["mu"] > 0)


def test_importing_the_module_does_not_import_xarray():
    code = (
        "import sys, gmm_bayes.em.standard_errors; "
        "print(','.join(m for m in ('xarray', 'pymc', 'arviz') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# ---- collapsed fits, failed replicates -------------------------------------------------------


def collapsed_fit():
    """A fit whose second component holds a single outlier (collapsed)."""
    x = np.append(np.random.default_rng(0).normal(0, 1, 200), 100.0)
    with pytest.warns(DegenerateFitWarning):
        fit = gb.fit_em(x, 2, random_state=0)
    assert fit.collapsed.tolist() == [False, True]
    return fit, x


def test_information_refuses_a_collapsed_fit():
    fit, x = collapsed_fit()
    with pytest.raises(ValueError, match=r"collapsed component\(s\) \[1\].*singular.*bootstrap"):
        standard_errors(fit, x, method="information")


def test_bootstrap_of_a_collapsed_fit_works_and_counts_the_collapsed_replicates():
    fit, x = collapsed_fit()
    with pytest.warns(DegenerateFitWarning, match="20 collapsed") as record:
        se = standard_errors(fit, x, n_boot=20, random_state=0)
    assert record[0].filename == __file__  # the warning points at the caller
    assert se.attrs["n_collapsed"] == 20 and se.attrs["n_failed"] == 0
    assert np.isfinite(se["mu"]).all()


def test_information_refuses_a_point_that_is_not_a_maximum():
    x = np.random.default_rng(2).normal(0.0, 1.0, 100)
    fit = hand_made(x, [1.0], [5.0], [1.0])  # the mean 5 sd away from the data
    with pytest.raises(ValueError, match="not positive definite.*smallest eigenvalue"):
        standard_errors(fit, x, method="information")


def failing_every(n, monkeypatch):
    """Make every ``n``-th replicate fit raise FitError."""
    calls = []
    fit_em = se_module.fit_em

    def flaky(*args, **kwargs):
        calls.append(None)
        if len(calls) % n == 0:
            raise FitError("every EM run ended with a non-finite log-likelihood")
        return fit_em(*args, **kwargs)

    monkeypatch.setattr(se_module, "fit_em", flaky)


def test_failed_replicates_are_left_out_and_counted(monkeypatch):
    fit, x = fitted()
    failing_every(3, monkeypatch)
    with pytest.warns(DegenerateFitWarning, match="0 collapsed .* and 10 failed"):
        se = standard_errors(fit, x, n_boot=30, random_state=0)
    assert se.attrs["n_failed"] == 10
    assert np.isfinite(se["mu"]).all() and np.isfinite(se["mu_lower"]).all()


def test_bootstrap_with_fewer_than_two_fitted_replicates_raises(monkeypatch):
    fit, x = fitted()
    failing_every(1, monkeypatch)
    with pytest.raises(FitError, match=r"only 0 of n_boot=5 .*\(5 failed\)"):
        standard_errors(fit, x, n_boot=5, random_state=0)


def test_replicates_stopped_at_max_iter_are_counted(monkeypatch):
    fit, x = fitted()
    monkeypatch.setattr(se_module, "_REPLICATE_MAX_ITER", 1)
    se = standard_errors(fit, x, n_boot=10, random_state=0)
    assert se.attrs["n_not_converged"] == 10


def test_replicates_start_from_the_fit_with_its_reg_covar(monkeypatch):
    fit, x = fitted()
    seen = []
    fit_em = se_module.fit_em

    def spy(*args, **kwargs):
        seen.append(kwargs)
        return fit_em(*args, **kwargs)

    monkeypatch.setattr(se_module, "fit_em", spy)
    standard_errors(fit, x, n_boot=3, random_state=0)
    assert len(seen) == 3
    for kwargs in seen:
        assert kwargs["reg_covar"] == fit.reg_covar and kwargs["n_init"] == 1
        np.testing.assert_array_equal(kwargs["weights_init"], fit.weights)
        np.testing.assert_array_equal(kwargs["means_init"], fit.means)
        np.testing.assert_array_equal(kwargs["variances_init"], fit.variances)


# ---- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"method": "jackknife"}, ValueError, r"method must be one of .*'jackknife'"),
        ({"method": None}, ValueError, r"method must be one of .*None"),
        ({"n_boot": 1}, ValueError, "n_boot must be >= 2, got 1"),
        ({"n_boot": 10.0}, TypeError, "n_boot must be an integer, got 10.0"),
        ({"n_boot": True}, TypeError, "n_boot must be an integer, got True"),
        ({"level": 1.0}, ValueError, r"level must be in \(0, 1\), got 1.0"),
        ({"level": 95}, ValueError, r"level must be in \(0, 1\), got 95"),
        ({"level": "0.95"}, TypeError, "level must be a number"),
        ({"random_state": -1}, ValueError, "random_state must be .* got -1"),
    ],
)
def test_bad_options_name_the_argument_and_value(kwargs, error, message):
    fit, x = fitted()
    with pytest.raises(error, match=message):
        standard_errors(fit, x, **kwargs)


def test_data_of_another_size_is_refused():
    fit, x = fitted()
    with pytest.raises(ValueError, match="x has 499 observations .* n_obs=500"):
        standard_errors(fit, x[:-1], method="information")


def test_other_data_of_the_same_size_is_refused():
    fit, x = fitted()
    with pytest.raises(ValueError, match="x is not the data fit was fitted on"):
        standard_errors(fit, truth_sample(seed=99), method="information")


def test_a_non_result_fit_is_refused():
    x = truth_sample(0)
    with pytest.raises(TypeError, match="fit must be an EMResult .* got dict"):
        standard_errors({"weights": [0.5, 0.5]}, x)


def test_a_map_em_fit_is_refused():
    x = truth_sample(0)
    fit = gb.fit_em(x, 2, priors=gb.Priors(), random_state=0)
    with pytest.raises(ValueError, match="MAP-EM fit .* refit without priors"):
        standard_errors(fit, x, method="information")


def test_no_warning_for_a_healthy_bootstrap():
    fit, x = fitted()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        standard_errors(fit, x, n_boot=10, random_state=0)


def test_the_result_method_gives_the_same_dataset():
    fit, x = fitted()
    assert fit.standard_errors(x, method="information").identical(
        standard_errors(fit, x, method="information")
    )
    assert fit.standard_errors(x, n_boot=10, level=0.9, random_state=3).identical(
        standard_errors(fit, x, n_boot=10, level=0.9, random_state=3)
    )
