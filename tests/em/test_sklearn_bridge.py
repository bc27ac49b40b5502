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


def test_covariance_type_is_fixed():
    with pytest.raises(TypeError, match="covariance_type is fixed to 'full'"):
        gb.fit_sklearn(three_groups(), 2, covariance_type="diag")


def test_collapse_is_flagged_as_for_fit_em():
    fit = gb.fit_sklearn([1.0, 1.0, 1.0, 2.0, 2.0, 2.0], 2, random_state=0, reg_covar=1e-3)
    assert fit.collapsed.all()  # both components at the reg_covar floor
