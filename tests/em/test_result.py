"""What every fit returns (gmm_bayes.em.result.EMResult): densities, criteria, hand-offs."""

import warnings

import numpy as np
import pytest
from helpers import mixture_sample, reference_log_density, reference_responsibilities
from hypothesis import given, settings
from hypothesis import strategies as st

import gmm_bayes as gb
from gmm_bayes.em.result import MIN_SD_RATIO, EMResult, collapsed_components
from gmm_bayes.exceptions import DegenerateFitWarning


def three_groups(seed=0):
    return mixture_sample(600, [0.5, 1 / 3, 1 / 6], [-2.0, 3.0, 8.0], [1.0, 0.5, 2.0], seed=seed)


def result(weights, means, variances, n_obs=100):
    k = len(weights)
    return EMResult(
        weights=np.asarray(weights, dtype=float),
        means=np.asarray(means, dtype=float),
        variances=np.asarray(variances, dtype=float),
        log_likelihood=0.0,
        n_iter=0,
        converged=True,
        history=np.zeros(1),
        n_obs=n_obs,
        reg_covar=0.0,
        collapsed=np.zeros(k, dtype=bool),
    )


# ---- densities against scipy -----------------------------------------------------------------


def test_logpdf_and_responsibilities_equal_scipy():
    rng = np.random.default_rng(0)
    w, mu, var = rng.dirichlet(np.ones(4)), np.sort(rng.normal(0, 3, 4)), rng.uniform(0.1, 3, 4)
    fit = result(w, mu, var)
    x = np.linspace(-40, 40, 201)
    np.testing.assert_allclose(fit.logpdf(x), reference_log_density(x, w, mu, np.sqrt(var)), 1e-12)
    np.testing.assert_allclose(
        fit.responsibilities(x),
        reference_responsibilities(x, w, mu, np.sqrt(var)),
        rtol=1e-10,
        atol=1e-300,
    )


def test_logpdf_of_a_fit_sums_to_its_log_likelihood():
    x = three_groups()
    fit = gb.fit_em(x, 3, random_state=0)
    assert fit.logpdf(x).sum() == pytest.approx(fit.log_likelihood, rel=1e-12)
    assert fit.logpdf(x[:, None]).shape == (x.size,)  # a single column is accepted


def test_densities_far_from_every_component_stay_finite():
    fit = result([0.5, 0.5], [-1.0, 1.0], [1.0, 1.0])
    resp = fit.responsibilities([-1e4, 1e4])
    np.testing.assert_allclose(resp, [[1, 0], [0, 1]], atol=1e-300)
    np.testing.assert_allclose(
        fit.logpdf([1e4]), reference_log_density([1e4], [0.5] * 2, [-1, 1], 1)
    )


def test_a_zero_weight_component_gets_no_responsibility():
    fit = result([0.0, 1.0], [0.0, 5.0], [1.0, 1.0])
    np.testing.assert_array_equal(fit.responsibilities([0.0, 5.0])[:, 0], 0.0)


@settings(max_examples=20, deadline=None, derandomize=True)
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


def test_densities_validate_x():
    with pytest.raises(ValueError, match="x must be finite"):
        result([1.0], [0.0], [1.0]).logpdf([np.nan])


# ---- criteria and flags ----------------------------------------------------------------------


def test_bic_and_aic_lower_is_better_convention():
    fit = gb.fit_em(three_groups(), 3, random_state=0)
    p, n = 8, 600
    assert fit.bic() == pytest.approx(-2 * fit.log_likelihood + p * np.log(n))
    assert fit.aic() == pytest.approx(-2 * fit.log_likelihood + 2 * p)
    assert fit.bic() < gb.fit_em(three_groups(), 1).bic()


def test_collapsed_components_are_few_points_or_variance_at_the_floor():
    weights, variances = np.array([0.5, 0.49, 0.01]), np.array([1.0, 2e-3, 1.0])
    assert collapsed_components(weights, variances, 100, 1e-3).tolist() == [False, True, True]
    assert collapsed_components(weights, variances, 300, 1e-4).tolist() == [False] * 3


def test_a_component_a_thousand_times_narrower_than_the_widest_collapsed():
    """Hathaway's bound: sd below MIN_SD_RATIO (1e-3) times the largest sd, whatever the
    regularization (here 0, as under priors)."""
    weights = np.array([0.5, 0.3, 0.2])
    variances = np.array([1e6, 1.0 - 1e-9, 1.0 + 1e-9])  # sds 1000, just under and over 1
    assert collapsed_components(weights, variances, 100, 0.0).tolist() == [False, True, False]
    assert MIN_SD_RATIO == 1e-3


def test_a_near_spike_on_a_few_close_observations_is_healthy():
    """galaxy K=4's best maximum: 5 observations with sd 0.02 inside a component of sd 2.3 is
    a genuine (bounded) maximum, not a collapse."""
    weights = np.array([7.0, 5.1, 66.9, 3.0]) / 82
    sds = np.array([0.42, 0.0203, 2.26, 0.92])
    assert not collapsed_components(weights, sds**2, 82, 1e-6 * 2.6**2).any()


def test_arrays_are_read_only():
    fit = result([1.0], [0.0], [1.0])
    with pytest.raises(ValueError, match="read-only"):
        fit.means[0] = 1.0


# ---- hand-offs -------------------------------------------------------------------------------


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
    np.testing.assert_allclose(ds["sigma"].values, fit.sigmas)
    assert ds.attrs["log_likelihood"] == fit.log_likelihood
    assert ds.attrs["bic"] == fit.bic() and ds.attrs["method"] == "em"


def test_local_maxima_start_with_the_result():
    fit = gb.fit_em(gb.load_dataset("galaxy"), 4, n_init=10, init="random", random_state=0)
    first = fit.local_maxima[0]
    np.testing.assert_array_equal(first.means, fit.means)
    assert first.log_likelihood == fit.log_likelihood
