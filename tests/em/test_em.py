"""The EM engine: building blocks, agreement with scikit-learn, invariances, hard data."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

import gmm_bayes as gb
from gmm_bayes.em.driver import _Standardizer
from gmm_bayes.exceptions import ConvergenceWarning, DataError, DegenerateFitWarning


def three_groups(seed=0, n=(300, 200, 100)):
    rng = np.random.default_rng(seed)
    return np.concatenate(
        [rng.normal(-2, 1, n[0]), rng.normal(3, 0.5, n[1]), rng.normal(8, 2, n[2])]
    )


# ---- the seed notebook's printed test vectors ------------------------------------------------


@pytest.fixture
def notebook_problem():
    rng = np.random.default_rng(seed=2021615)
    y = rng.random((5, 1))
    mean = rng.random((2,))
    var = rng.random((2,))
    return y, mean, var


def test_component_densities_match_seed_notebook(notebook_problem):
    y, mean, var = notebook_problem
    expected = [
        [1.46978860e-03, 1.36275234e-01],
        [3.03120323e-02, 3.16065430e-01],
        [1.64289752e00, 9.10495873e-01],
        [2.86051255e-01, 5.83903610e-01],
        [1.60890121e00, 9.07479696e-01],
    ]
    np.testing.assert_allclose(np.exp(gb.em.component_logpdf(y, mean, var)), expected, rtol=1e-8)


def test_responsibilities_match_seed_notebook(notebook_problem):
    y, mean, var = notebook_problem
    expected = [
        [0.01067036, 0.98932964],
        [0.08751156, 0.91248844],
        [0.64341731, 0.35658269],
        [0.3288116, 0.6711884],
        [0.63937109, 0.36062891],
    ]
    resp = gb.em.responsibilities(y, [0.5, 0.5], mean, var)
    np.testing.assert_allclose(resp, expected, atol=5e-9)


def test_component_logpdf_equals_scipy():
    rng = np.random.default_rng(3)
    x, mu, var = rng.normal(size=50), rng.normal(size=4), rng.uniform(0.1, 3, 4)
    expected = norm.logpdf(x[:, None], mu, np.sqrt(var))
    np.testing.assert_allclose(gb.em.component_logpdf(x, mu, var), expected, rtol=1e-12)


def test_responsibilities_do_not_underflow_far_from_all_components():
    resp = gb.em.responsibilities([1e4, -1e4], [0.5, 0.5], [0.0, 1.0], [1.0, 1.0])
    assert np.isfinite(resp).all()
    np.testing.assert_allclose(resp, [[0, 1], [1, 0]], atol=1e-12)


# ---- the seed notebook's slips, fixed --------------------------------------------------------


@pytest.mark.parametrize("k", [1, 3, 5])
def test_initial_weights_have_one_entry_per_component(k):
    fit = gb.fit_em(three_groups(), k, max_iter=0, random_state=0)
    assert fit.weights.shape == (k,)
    assert fit.weights.sum() == pytest.approx(1.0)
    assert fit.n_iter == 0


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


def test_standardization_is_by_location_and_scale_not_sum_and_variance():
    x = gb.load_dataset("seed_notebook")
    std = _Standardizer.of(x)
    z = (x - std.loc) / std.scale
    assert np.median(z) == pytest.approx(0.0, abs=1e-12)
    q25, q75 = np.percentile(z, [25, 75])
    assert q75 - q25 == pytest.approx(1.3489795, rel=1e-6)
    assert std.loc != pytest.approx(x.sum())


def test_m_step_refuses_densities():
    rng = np.random.default_rng(0)
    y, mean, var = rng.random(5), rng.random(2), rng.random(2)
    densities = np.exp(gb.em.component_logpdf(y, mean, var))
    with pytest.raises(ValueError, match="resp rows must sum to 1, row 0 sums to"):
        gb.em.m_step(y, densities)


def test_m_step_is_weighted_maximum_likelihood():
    rng = np.random.default_rng(1)
    x = rng.normal(size=40)
    resp = rng.dirichlet([1, 1, 1], size=40)
    weights, means, variances = gb.em.m_step(x, resp)
    for k in range(3):
        r = resp[:, k]
        assert weights[k] == pytest.approx(r.mean())
        assert means[k] == pytest.approx(np.average(x, weights=r))
        assert variances[k] == pytest.approx(np.average((x - means[k]) ** 2, weights=r))


# ---- agreement with scikit-learn ----------------------------------------------------------


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


def test_fit_sklearn_returns_sorted_emresult():
    fit = gb.fit_sklearn(three_groups(), 3, random_state=0)
    assert fit.method == "sklearn"
    assert np.all(np.diff(fit.means) > 0)
    np.testing.assert_allclose(fit.logpdf(three_groups()).sum(), fit.log_likelihood, rtol=1e-12)


# ---- properties of the fit -----------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    k=st.integers(1, 4),
    n=st.integers(20, 200),
)
def test_log_likelihood_never_decreases_without_regularization(seed, k, n):
    x = np.random.default_rng(seed).standard_t(df=3, size=n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = gb.fit_em(x, k, reg_covar=0.0, max_iter=200, n_init=1, random_state=seed)
        except gb.FitError:  # a component on a single point: the likelihood is unbounded
            return
    assert np.all(np.diff(fit.history) >= -1e-9 * np.abs(fit.history[1:]))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(1, 4))
def test_responsibility_rows_sum_to_one(seed, k):
    x = np.random.default_rng(seed).normal(size=50) * 10.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = gb.fit_em(x, k, random_state=seed)
    resp = fit.responsibilities(np.linspace(-1e3, 1e3, 101))
    # exp(a - logsumexp) is exact to eps * |a|; |a| reaches ~1e4 at x = 1e3
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=1e-10)
    assert np.isfinite(fit.logpdf(np.linspace(-1e3, 1e3, 101))).all()


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
@pytest.mark.parametrize("init", ["kmeans++", "quantile", "random"])
def test_change_of_units_maps_the_fit(a, init):
    x, b = gb.load_dataset("galaxy"), 12.345 * a  # b in the new units, so a*x+b keeps x's digits
    ref = gb.fit_em(x, 3, init=init, random_state=4)
    fit = gb.fit_em(a * x + b, 3, init=init, random_state=4)
    order = np.argsort(a * ref.means)
    np.testing.assert_allclose(fit.weights, ref.weights[order], rtol=1e-6)
    np.testing.assert_allclose(fit.means, a * ref.means[order] + b, rtol=1e-9, atol=abs(a) * 1e-7)
    np.testing.assert_allclose(fit.sigmas, abs(a) * ref.sigmas[order], rtol=1e-6)
    assert fit.log_likelihood == pytest.approx(ref.log_likelihood - x.size * np.log(abs(a)), 1e-9)
    assert fit.n_iter == ref.n_iter


def test_absolute_reg_covar_is_not_unit_free():
    """A number passed as reg_covar keeps scikit-learn's absolute meaning."""
    x = gb.load_dataset("galaxy") / 1000.0  # 1e6 km/s: variances ~1e-5
    with pytest.warns(DegenerateFitWarning):  # every variance is at the floor: flagged
        fit = gb.fit_em(x, 3, reg_covar=1e-3, init="quantile")
    assert np.all(fit.variances >= 1e-3) and fit.collapsed.all()
    assert fit.reg_covar == 1e-3


def test_recovers_known_parameters():
    rng = np.random.default_rng(11)
    n = 20000
    w, mu, sd = np.array([0.5, 0.3, 0.2]), np.array([-5.0, 0.0, 6.0]), np.array([1.0, 0.5, 2.0])
    labels = rng.choice(3, size=n, p=w)
    x = rng.normal(mu[labels], sd[labels])
    fit = gb.fit_em(x, 3, random_state=0)
    np.testing.assert_allclose(fit.weights, w, atol=0.02)
    np.testing.assert_allclose(fit.means, mu, atol=0.05)
    np.testing.assert_allclose(fit.sigmas, sd, atol=0.05)


def test_same_random_state_same_result_and_global_rng_untouched():
    x = gb.load_dataset("galaxy")
    legacy = np.random  # the global RNG that must stay untouched
    legacy.seed(123)  # noqa: NPY002
    before = legacy.get_state()[1].copy()  # noqa: NPY002
    a = gb.fit_em(x, 4, init="random", random_state=5)
    b = gb.fit_em(x, 4, init="random", random_state=5)
    assert np.array_equal(legacy.get_state()[1], before)  # noqa: NPY002
    assert np.array_equal(a.means, b.means) and a.log_likelihood == b.log_likelihood


def test_restarts_keep_the_best_and_record_local_maxima():
    x = gb.load_dataset("galaxy")
    single = [gb.fit_em(x, 4, n_init=1, init="random", random_state=s) for s in range(10)]
    best = gb.fit_em(x, 4, n_init=10, init="random", random_state=0)
    assert best.log_likelihood >= max(f.log_likelihood for f in single) - 1e-6
    lls = [m.log_likelihood for m in best.local_maxima]
    assert lls == sorted(lls, reverse=True) and lls[0] == best.log_likelihood
    assert len(best.local_maxima) >= 2  # galaxy with K=4 has competing maxima


def test_max_iter_zero_returns_the_start():
    w0, m0, v0 = [0.25, 0.75], [10.0, 20.0], [4.0, 9.0]
    fit = gb.fit_em(
        gb.load_dataset("galaxy"), 2, max_iter=0, weights_init=w0, means_init=m0, variances_init=v0
    )
    np.testing.assert_allclose(fit.weights, w0)
    np.testing.assert_allclose(fit.means, m0)
    np.testing.assert_allclose(fit.variances, v0)
    assert fit.n_iter == 0 and not fit.converged


def test_non_convergence_warns_and_is_recorded():
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        fit = gb.fit_em(gb.load_dataset("galaxy"), 4, max_iter=2, random_state=0)
    assert not fit.converged and fit.n_iter == 2


def test_bic_and_aic_lower_is_better_convention():
    fit = gb.fit_em(three_groups(), 3, random_state=0)
    p, n = 8, 600
    assert fit.bic() == pytest.approx(-2 * fit.log_likelihood + p * np.log(n))
    assert fit.aic() == pytest.approx(-2 * fit.log_likelihood + 2 * p)
    assert fit.bic() < gb.fit_em(three_groups(), 1).bic()


def test_to_initvals_are_ready_for_ordered_means():
    with pytest.warns(DegenerateFitWarning):
        fit = gb.fit_em([0, 0, 0, 0, 5, 5, 5.0, 5, 5.1], 3, random_state=0, reg_covar=1e-4)
    init = fit.to_initvals()
    assert set(init) == {"w", "mu", "sigma"}
    assert np.all(np.diff(init["mu"]) > 0)
    assert init["w"].min() >= 1e-3 * 0.99 and init["w"].sum() == pytest.approx(1.0)
    np.testing.assert_allclose(init["sigma"], fit.sigmas)


def test_to_dataset_on_component_dim():
    fit = gb.fit_em(three_groups(), 3, random_state=0)
    ds = fit.to_dataset()
    assert ds.sizes["component"] == 3
    np.testing.assert_allclose(ds["mu"].values, fit.means)
    assert ds.attrs["log_likelihood"] == fit.log_likelihood


# ---- hard but legal data ------------------------------------------------------------------


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


def test_spike_solution_is_never_silent():
    """One repeated value inside a continuum tempts EM into a spike; it must be flagged."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(size=30), [0.5, 0.5, 0.5]])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = gb.fit_em(x, 5, n_init=3, random_state=1)
    if fit.degenerate:
        assert any(issubclass(w.category, DegenerateFitWarning) for w in caught)
    assert np.isfinite(fit.log_likelihood)


def test_one_huge_outlier_does_not_swallow_the_bulk():
    rng = np.random.default_rng(1)
    x = np.append(rng.normal(0, 1, 200), 1e12)
    with pytest.warns(DegenerateFitWarning):
        fit = gb.fit_em(x, 2, random_state=0)
    assert fit.sigmas[0] == pytest.approx(np.std(x[:-1]), rel=1e-6)
    assert fit.means[1] == pytest.approx(1e12, rel=1e-14) and fit.collapsed.tolist() == [
        False,
        True,
    ]


@pytest.mark.parametrize("centre", [1e200, 1e-200])
def test_unrepresentable_variances_give_a_clear_error(centre):
    x = centre * (1 + 0.01 * np.random.default_rng(0).normal(size=50))
    with pytest.raises(DataError, match="not representable in float64; rescale x"):
        gb.fit_em(x, 2)


def test_far_from_zero_small_spread():
    x = 1e8 + three_groups()
    fit = gb.fit_em(x, 3, random_state=0)
    ref = gb.fit_em(three_groups(), 3, random_state=0)
    np.testing.assert_allclose(fit.means - 1e8, ref.means, atol=1e-6)
    np.testing.assert_allclose(fit.sigmas, ref.sigmas, rtol=1e-6)


def test_integers_lists_and_single_columns_are_accepted():
    ints = [1, 2, 2, 3, 10, 11, 11, 12]
    a = gb.fit_em(ints, 2, init="quantile")
    b = gb.fit_em(np.array(ints, dtype=float)[:, None], 2, init="quantile")
    np.testing.assert_allclose(a.means, b.means)


def test_all_runs_failing_raises_fit_error():
    with pytest.raises(gb.FitError, match="non-finite"):
        gb.fit_em([0.0, 0.0, 0.0, 1.0], 2, reg_covar=0.0, init="quantile")


# ---- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "error", "match"),
    [
        ([1.0, np.nan, 2.0], ValueError, r"x must be finite, got nan at index 1"),
        ([1.0, np.inf], ValueError, r"x must be finite, got inf at index 1"),
        ([], ValueError, "x is empty"),
        (["a", "b"], TypeError, "x must contain numbers, got dtype <U1"),
        ("123", TypeError, "x must be an array of numbers, got a string '123'"),
        ([1 + 2j, 3j], TypeError, "x must be real, got complex"),
        (np.ones((4, 2)), ValueError, r"one-dimensional .* got shape \(4, 2\)"),
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


def test_public_building_blocks_validate():
    with pytest.raises(ValueError, match=r"variances must be > 0"):
        gb.em.component_logpdf([1.0], [0.0], [0.0])
    with pytest.raises(ValueError, match="weights must sum to 1"):
        gb.em.responsibilities([1.0], [0.3, 0.3], [0.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match=r"resp must have shape \(N, K\) = \(2, K\)"):
        gb.em.m_step([1.0, 2.0], np.ones((3, 1)))
