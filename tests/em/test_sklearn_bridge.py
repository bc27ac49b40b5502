"""scikit-learn's GaussianMixture as an EMResult (gmm_bayes.em.sklearn_bridge)."""

import numpy as np
import pytest
from helpers import mixture_sample

import gmm_bayes as gb


def three_groups(seed=0):
    return mixture_sample(600, [0.5, 1 / 3, 1 / 6], [-2.0, 3.0, 8.0], [1.0, 0.5, 2.0], seed=seed)


def test_fit_sklearn_returns_sorted_emresult():
    fit = gb.fit_sklearn(three_groups(), 3, random_state=0)
    assert fit.method == "sklearn"
    assert np.all(np.diff(fit.means) > 0)
    np.testing.assert_allclose(fit.logpdf(three_groups()).sum(), fit.log_likelihood, rtol=1e-12)
    assert fit.history[-1] == fit.log_likelihood
    [only] = fit.local_maxima
    np.testing.assert_array_equal(only.means, fit.means)


def test_starts_take_univariate_shapes():
    x = three_groups()
    w0, m0, v0 = [0.5, 0.3, 0.2], [-2.0, 3.0, 8.0], np.array([1.0, 0.25, 4.0])
    flat = gb.fit_sklearn(x, 3, weights_init=w0, means_init=m0, precisions_init=1 / v0)
    columns = gb.fit_sklearn(
        x, 3, weights_init=w0, means_init=np.array(m0)[:, None], precisions_init=(1 / v0)[:, None]
    )
    np.testing.assert_array_equal(flat.means, columns.means)


@pytest.mark.parametrize("name", ["diag", "spherical"])
def test_covariance_types_other_than_full_and_tied_are_refused(name):
    with pytest.raises(ValueError, match="fit_sklearn takes covariance_type 'full' or 'tied'"):
        gb.fit_sklearn(three_groups(), 2, covariance_type=name)


def test_tied_is_scikit_learns_tied_model_as_an_emresult():
    x = three_groups()
    fit = gb.fit_sklearn(x, 3, covariance_type="E", random_state=0)
    ours = gb.fit_em(
        x,
        3,
        covariance_type="tied",
        weights_init=fit.weights,
        means_init=fit.means,
        variances_init=fit.variances,
        reg_covar=fit.reg_covar,
        max_iter=0,
    )
    assert fit.covariance_type == "tied" and fit.n_parameters == 6
    assert np.ptp(fit.variances) == 0
    # the log-likelihood is scikit-learn's score at its parameters: ours there is the same
    assert fit.log_likelihood == pytest.approx(ours.log_likelihood, rel=1e-12)


def test_collapse_is_flagged_as_for_fit_em():
    fit = gb.fit_sklearn([1.0, 1.0, 1.0, 2.0, 2.0, 2.0], 2, random_state=0, reg_covar=1e-3)
    assert fit.collapsed.all()  # both components at the reg_covar floor
