"""The EM driver (gmm_bayes.em.driver): convergence, agreement with scikit-learn, invariances,
restarts, warnings, hard data and bad input."""

import warnings

import numpy as np
import pytest
from helpers import exact_groups, mixture_sample, reference_log_likelihood
from hypothesis import given, settings
from hypothesis import strategies as st

import gmm_bayes as gb
from gmm_bayes.em import MaximumLikelihoodStep, Step
from gmm_bayes.em.starts import INITS
from gmm_bayes.exceptions import ConvergenceWarning, DataError, DegenerateFitWarning


def three_groups(seed=0):
    return mixture_sample(600, [0.5, 1 / 3, 1 / 6], [-2.0, 3.0, 8.0], [1.0, 0.5, 2.0], seed=seed)


# ---- convergence -----------------------------------------------------------------------------


def test_means_are_arrays_sorted_ascending():
    fit = gb.fit_em(three_groups(), 3, random_state=0)
    for name in ("weights", "means", "variances", "sigmas"):
        assert isinstance(getattr(fit, name), np.ndarray)
    assert np.all(np.diff(fit.means) > 0)


def test_iterates_until_convergence_not_a_fixed_count():
    x = gb.load_dataset("galaxy")
    fit = gb.fit_em(x, 4, random_state=0, tol=1e-10)
    assert fit.converged
    assert fit.n_iter > 3
    assert abs(fit.history[-1] - fit.history[-2]) / x.size < 1e-10
    assert fit.history.shape == (fit.n_iter + 1,)
    assert fit.history[-1] == pytest.approx(fit.log_likelihood, rel=1e-14)


def test_log_likelihood_is_the_scipy_one_at_the_returned_parameters():
    x = three_groups(3)
    fit = gb.fit_em(x, 3, random_state=0)
    expected = reference_log_likelihood(x, fit.weights, fit.means, fit.sigmas)
    assert fit.log_likelihood == pytest.approx(expected, rel=1e-12)


def test_max_iter_zero_returns_the_start():
    w0, m0, v0 = [0.25, 0.75], [10.0, 20.0], [4.0, 9.0]
    fit = gb.fit_em(
        gb.load_dataset("galaxy"), 2, max_iter=0, weights_init=w0, means_init=m0, variances_init=v0
    )
    np.testing.assert_allclose(fit.weights, w0)
    np.testing.assert_allclose(fit.means, m0)
    np.testing.assert_allclose(fit.variances, v0)
    assert fit.n_iter == 0 and not fit.converged


def test_non_convergence_warns_at_the_caller_and_is_recorded():
    with pytest.warns(ConvergenceWarning, match="max_iter=2") as caught:
        fit = gb.fit_em(gb.load_dataset("galaxy"), 4, max_iter=2, random_state=0)
    assert not fit.converged and fit.n_iter == 2
    assert caught[0].filename == __file__  # not a line inside gmm_bayes/em


# ---- agreement with scikit-learn -------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_agrees_with_sklearn_from_same_start(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 5))
    centres = np.sort(rng.uniform(-10, 10, k)) + 100.0
    x = np.concatenate([rng.normal(c, rng.uniform(0.5, 2), rng.integers(50, 200)) for c in centres])
    w0 = rng.dirichlet(np.full(k, 5.0))
    m0 = np.sort(rng.choice(x, k, replace=False))
    v0 = rng.uniform(1, 4, k)
    common = dict(tol=1e-14, max_iter=20000, reg_covar=1e-6)
    ours = gb.fit_em(x, k, weights_init=w0, means_init=m0, variances_init=v0, **common)
    theirs = gb.fit_sklearn(x, k, weights_init=w0, means_init=m0, precisions_init=1 / v0, **common)
    assert ours.converged and theirs.converged
    np.testing.assert_allclose(ours.weights, theirs.weights, atol=1e-6)
    np.testing.assert_allclose(ours.means, theirs.means, atol=1e-6)
    np.testing.assert_allclose(ours.variances, theirs.variances, atol=1e-6)
    assert ours.log_likelihood == pytest.approx(theirs.log_likelihood, rel=1e-9)


def test_same_iterates_as_sklearn_for_a_fixed_number_of_steps():
    x = three_groups(7)
    w0, m0, v0 = np.array([0.2, 0.5, 0.3]), np.array([-1.0, 2.0, 6.0]), np.ones(3)
    common = dict(tol=0.0, max_iter=7, reg_covar=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = gb.fit_em(x, 3, weights_init=w0, means_init=m0, variances_init=v0, **common)
        theirs = gb.fit_sklearn(
            x, 3, weights_init=w0, means_init=m0, precisions_init=1 / v0, **common
        )
    assert ours.n_iter == theirs.n_iter == 7
    np.testing.assert_allclose(ours.means, theirs.means, rtol=1e-12)
    np.testing.assert_allclose(ours.variances, theirs.variances, rtol=1e-12)
    # scikit-learn's lower bounds are the log-likelihood before each M-step: our history[:-1]
    np.testing.assert_allclose(ours.history[:-1], theirs.history[:-1], rtol=1e-12)


# ---- properties of the fit -------------------------------------------------------------------


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**32 - 1),
    k=st.integers(1, 4),
    n=st.integers(20, 100),
    init=st.sampled_from(INITS),
)
def test_log_likelihood_never_decreases_without_regularization(seed, k, n, init):
    # k groups of n points, 6 sd apart: no EM path from any start puts a component on a single
    # point (where reg_covar=0 makes the likelihood unbounded), so a FitError here is a bug
    rng = np.random.default_rng(seed)
    sds = rng.uniform(0.5, 2.0, k)
    centres = np.cumsum(np.full(k, 6 * sds.max()))
    x = np.concatenate([rng.normal(c, s, n) for c, s in zip(centres, sds, strict=True)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = gb.fit_em(x, k, reg_covar=0.0, max_iter=200, n_init=1, init=init, random_state=seed)
    assert np.all(np.diff(fit.history) >= -1e-9 * np.abs(fit.history[1:]))


def test_one_component_is_sample_mean_and_biased_variance():
    x = three_groups()
    fit = gb.fit_em(x, 1, reg_covar=0.0)
    assert fit.weights == pytest.approx([1.0])
    assert fit.means[0] == pytest.approx(x.mean(), rel=1e-12)
    assert fit.variances[0] == pytest.approx(x.var(ddof=0), rel=1e-12)


def test_permuting_or_duplicating_data_leaves_fit_unchanged():
    x = three_groups(2)
    ref = gb.fit_em(x, 3, init="quantile")
    perm = gb.fit_em(np.random.default_rng(0).permutation(x), 3, init="quantile")
    dup = gb.fit_em(np.concatenate([x, x]), 3, init="quantile")
    for other in (perm, dup):
        np.testing.assert_allclose(other.weights, ref.weights, rtol=1e-8)
        np.testing.assert_allclose(other.means, ref.means, rtol=1e-8)
        np.testing.assert_allclose(other.variances, ref.variances, rtol=1e-8)
    assert dup.log_likelihood == pytest.approx(2 * ref.log_likelihood, rel=1e-10)


@pytest.mark.parametrize("a", [1e-8, 1e-3, -1.0, 7.0, 1e4, 1e8])
@pytest.mark.parametrize("init", INITS)
def test_change_of_units_maps_the_fit(a, init):
    x, b = gb.load_dataset("galaxy"), 12.345 * a  # b in the new units, so a*x+b keeps x's digits
    ref = gb.fit_em(x, 3, init=init, random_state=4)
    fit = gb.fit_em(a * x + b, 3, init=init, random_state=4)
    order = np.argsort(a * ref.means)
    np.testing.assert_allclose(fit.weights, ref.weights[order], rtol=1e-6)
    np.testing.assert_allclose(fit.means, a * ref.means[order] + b, rtol=1e-9, atol=abs(a) * 1e-7)
    np.testing.assert_allclose(fit.sigmas, abs(a) * ref.sigmas[order], rtol=1e-6)
    assert fit.log_likelihood == pytest.approx(ref.log_likelihood - x.size * np.log(abs(a)), 1e-9)
    if init == "quantile":  # one run: the same iterates; a search may pick another run, by a
        assert fit.n_iter == ref.n_iter  # rounding error, that ends at the same maximum


def test_absolute_reg_covar_is_not_unit_free():
    """A number passed as reg_covar keeps scikit-learn's absolute meaning."""
    x = gb.load_dataset("galaxy") / 1000.0  # 1e6 km/s: variances ~1e-5
    with pytest.warns(DegenerateFitWarning):  # every variance is at the floor: flagged
        fit = gb.fit_em(x, 3, reg_covar=1e-3, init="quantile")
    assert np.all(fit.variances >= 1e-3) and fit.collapsed.all()
    assert fit.reg_covar == 1e-3


def test_recovers_known_parameters():
    w, mu, sd = np.array([0.5, 0.3, 0.2]), np.array([-5.0, 0.0, 6.0]), np.array([1.0, 0.5, 2.0])
    x = mixture_sample(20000, w, mu, sd, seed=11)
    fit = gb.fit_em(x, 3, random_state=0)
    np.testing.assert_allclose(fit.weights, w, atol=0.02)
    np.testing.assert_allclose(fit.means, mu, atol=0.05)
    np.testing.assert_allclose(fit.sigmas, sd, atol=0.05)


def test_restarts_keep_the_best_and_record_local_maxima():
    x = gb.load_dataset("galaxy")
    single = [gb.fit_em(x, 4, n_init=1, init="random", random_state=s) for s in range(10)]
    best = gb.fit_em(x, 4, n_init=10, init="random", random_state=0)
    assert best.log_likelihood >= max(f.log_likelihood for f in single) - 1e-6
    lls = [m.log_likelihood for m in best.local_maxima]
    assert lls == sorted(lls, reverse=True) and lls[0] == best.log_likelihood
    assert len(best.local_maxima) >= 2  # galaxy with K=4 has competing maxima


# ---- the M-step hook -------------------------------------------------------------------------


class _HalfVarianceStep(Step):
    """A Step that is not maximum likelihood, so its use shows in the result."""

    reg = 0.0

    def m_step(self, nk, means, variances):
        return nk / nk.sum(), means, variances / 2

    def log_prior(self, weights, means, variances):
        return 0.0


class _PriorsLike:
    def __init__(self, step):
        self.step = step
        self.calls = []

    def em_step(self, x, loc, scale, reg, n_components=None):
        self.calls.append((x.size, loc, scale, reg, n_components))
        return self.step


def test_priors_plug_in_their_step():
    x = np.concatenate([np.linspace(0, 2, 40), np.linspace(10, 12, 40)])
    priors = _PriorsLike(_HalfVarianceStep())
    start = dict(weights_init=[0.5, 0.5], means_init=[1.0, 11.0], variances_init=[1.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # one iteration of each
        fit = gb.fit_em(x, 2, priors=priors, max_iter=1, **start)
        ml = gb.fit_em(x, 2, max_iter=1, reg_covar=0.0, **start)
    [(n, loc, scale, reg, k)] = priors.calls
    assert (n, loc, reg, k) == (80, 6.0, 0.0, 2)  # median of x; reg_covar 0 under priors
    np.testing.assert_allclose(fit.variances, ml.variances / 2, rtol=1e-12)
    assert fit.method == "map-em"


@pytest.mark.parametrize("priors", [{"mu_scale": 1.0}, _PriorsLike(object())])
def test_priors_without_a_step_are_refused(priors):
    with pytest.raises(TypeError, match="priors must be a gmm_bayes.Priors or None"):
        gb.fit_em([1.0, 2.0, 3.0, 10.0], 2, priors=priors)


def test_maximum_likelihood_step_is_the_default_with_the_regularization():
    step = MaximumLikelihoodStep(0.5)
    w, mu, var = step.m_step(np.array([3.0, 1.0]), np.array([0.0, 2.0]), np.array([1.0, 2.0]))
    np.testing.assert_allclose([*w, *mu, *var], [0.75, 0.25, 0.0, 2.0, 1.5, 2.5])
    assert step.log_prior(w, mu, var) == 0.0


# ---- hard but legal data ---------------------------------------------------------------------


def test_identical_values_need_explicit_regularization():
    with pytest.raises(DataError, match="all 10 values of x equal 3.0.*reg_covar"):
        gb.fit_em([3.0] * 10, 1)
    with pytest.warns(DegenerateFitWarning):  # a spike of the requested width, flagged
        fit = gb.fit_em([3.0] * 10, 1, reg_covar=0.01)
    assert fit.means[0] == 3.0 and fit.variances[0] == pytest.approx(0.01)


def test_fewer_distinct_values_than_components_is_flagged_not_nan():
    x = [1.0, 1.0, 1.0, 2.0, 2.0, 2.0]
    with pytest.warns(DegenerateFitWarning, match="collapsed"):
        fit = gb.fit_em(x, 3, random_state=0)
    assert fit.degenerate and fit.collapsed.any()
    assert np.isfinite([*fit.weights, *fit.means, *fit.variances, fit.log_likelihood]).all()


def spike_in_a_continuum():
    """100 copies of 0.5 inside 10 draws of N(0, 10**2)."""
    return np.concatenate([np.random.default_rng(0).normal(0, 10, 10), np.full(100, 0.5)])


@pytest.mark.parametrize("random_state", [0, 1, 2])
def test_spike_solution_is_never_silent(random_state):
    """A repeated value inside a continuum pulls a component onto it in every run and every
    fresh start here (checked for these seeds): the fit must say so and mark that component."""
    x = spike_in_a_continuum()
    with pytest.warns(DegenerateFitWarning, match=r"collapsed in every run"):
        fit = gb.fit_em(x, 3, random_state=random_state)
    spike = np.flatnonzero(fit.collapsed)
    assert spike.size == 1
    assert fit.means[spike[0]] == pytest.approx(0.5, abs=1e-9)
    assert fit.variances[spike[0]] <= 2 * fit.reg_covar


def test_spike_from_an_explicit_start_is_flagged():
    x = spike_in_a_continuum()
    start = dict(weights_init=[0.5, 0.5], means_init=[0.5, 0.0], variances_init=[1e-4, 100.0])
    with pytest.warns(DegenerateFitWarning, match=r"collapsed in every run"):
        fit = gb.fit_em(x, 2, **start)
    [spike] = np.flatnonzero(fit.collapsed)
    assert fit.means[spike] == pytest.approx(0.5, abs=1e-9)
    assert fit.variances[spike] <= 2 * fit.reg_covar


def test_one_huge_outlier_does_not_swallow_the_bulk():
    x = np.append(np.random.default_rng(1).normal(0, 1, 200), 1e12)
    with pytest.warns(DegenerateFitWarning):
        fit = gb.fit_em(x, 2, random_state=0)
    assert fit.sigmas[0] == pytest.approx(np.std(x[:-1]), rel=1e-6)
    assert fit.means[1] == pytest.approx(1e12, rel=1e-14)
    assert fit.collapsed.tolist() == [False, True]


def test_far_from_zero_small_spread():
    x = 1e8 + three_groups()
    fit = gb.fit_em(x, 3, random_state=0)
    ref = gb.fit_em(three_groups(), 3, random_state=0)
    np.testing.assert_allclose(fit.means - 1e8, ref.means, atol=1e-6)
    np.testing.assert_allclose(fit.sigmas, ref.sigmas, rtol=1e-6)


def test_clusters_60_sd_apart_fit_from_a_start_far_from_one_of_them():
    # 1000 points at 60 sd are 50 sd from every start mean: their densities underflow to 0
    # unless the E-step subtracts the largest log term first (N < 8192: the numpy backend)
    x = exact_groups(2000, [0.5, 0.5], [0.0, 60.0], [1.0, 1.0])
    start = dict(weights_init=[0.5, 0.5], means_init=[0.0, 10.0], variances_init=[1.0, 1.0])
    fit = gb.fit_em(x, 2, **start)
    np.testing.assert_allclose(fit.weights, [0.5, 0.5], atol=1e-12)
    np.testing.assert_allclose(fit.means, [0.0, 60.0], atol=1e-9)
    np.testing.assert_allclose(fit.variances, 1.0 + fit.reg_covar, rtol=1e-9)
    expected = reference_log_likelihood(x, fit.weights, fit.means, fit.sigmas)
    assert fit.log_likelihood == pytest.approx(expected, rel=1e-12)


def test_integers_lists_and_single_columns_are_accepted():
    ints = [1, 2, 2, 3, 10, 11, 11, 12]
    a = gb.fit_em(ints, 2, init="quantile")
    b = gb.fit_em(np.array(ints, dtype=float)[:, None], 2, init="quantile")
    np.testing.assert_allclose(a.means, b.means)


def test_all_runs_failing_raises_fit_error():
    with pytest.raises(gb.FitError, match="non-finite"):
        gb.fit_em([0.0, 0.0, 0.0, 1.0], 2, reg_covar=0.0, init="quantile")


# ---- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "error", "match"),
    [
        ([1.0, np.nan, 2.0], ValueError, r"x must be finite, got nan at index 1"),
        ([1.0, np.inf], ValueError, r"x must be finite, got inf at index 1"),
        ([], ValueError, "x is empty"),
        (["a", "b"], TypeError, "x must contain numbers, got dtype <U1"),
        ("123", TypeError, "x must be an array of numbers, got a string '123'"),
        ([1 + 2j, 3j], TypeError, "x must be real, got complex"),
        (np.ones((4, 2, 2)), ValueError, r"one-dimensional .* got shape \(4, 2, 2\)"),
        ([1.0, "x", 2.0], TypeError, "x must contain"),
    ],
)
def test_bad_data(x, error, match):
    with pytest.raises(error, match=match):
        gb.fit_em(x, 1)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_components": 0}, ValueError, "n_components must be >= 1, got 0"),
        ({"n_components": 2.5}, TypeError, "n_components must be an integer, got 2.5"),
        ({"n_components": "3"}, TypeError, "n_components must be an integer, got '3'"),
        ({"n_components": 7}, ValueError, r"n_components=7 is larger than the number of obs"),
        ({"n_init": 0}, ValueError, "n_init must be >= 1, got 0"),
        ({"tol": -1e-3}, ValueError, "tol must be a finite number >= 0, got -0.001"),
        ({"max_iter": -1}, ValueError, "max_iter must be >= 0, got -1"),
        ({"reg_covar": -1.0}, ValueError, "reg_covar must be a finite number >= 0, got -1.0"),
        ({"init": "kmeans"}, ValueError, r"init must be one of .* got 'kmeans'"),
        ({"weights_init": [0.5, 0.6]}, ValueError, r"weights_init must sum to 1, got \[0.5, 0.6\]"),
        ({"weights_init": [1.5, -0.5]}, ValueError, "weights_init must be non-negative"),
        ({"weights_init": [1.0]}, ValueError, r"weights_init must have one entry per component"),
        ({"means_init": [1, 2, 3]}, ValueError, r"means_init .* shape \(2,\), got shape \(3,\)"),
        ({"variances_init": [1.0, 0.0]}, ValueError, r"variances_init must be > 0, got \[1.0, 0"),
        ({"variances_init": [1.0, -2.0]}, ValueError, "variances_init must be > 0"),
    ],
)
def test_bad_options(kwargs, error, match):
    kwargs = {"n_components": 2, **kwargs}
    with pytest.raises(error, match=match):
        gb.fit_em([1.0, 2.0, 3.0, 10.0, 11.0, 12.0], **kwargs)
