"""GaussianMixtureEM: scikit-learn's estimator checks, and scikit-learn's GaussianMixture from the
same start."""

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator
from test_multivariate import mixture_data, sklearn_fit, start_covariances

from gmm_bayes.em.covariance import COVARIANCE_TYPES
from gmm_bayes.em.estimator import GaussianMixtureEM
from gmm_bayes.em.multivariate import order_components


def test_passes_sklearn_estimator_checks():
    results = check_estimator(GaussianMixtureEM(), on_fail=None)
    failed = [r["check_name"] for r in results if r["status"] == "failed"]
    assert not failed
    assert sum(r["status"] == "passed" for r in results) > 30


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fitted_attributes_are_sklearns_from_the_same_start(covariance_type):
    k, d = 3, 3
    x, (weights, means) = mixture_data(8, 500, k, d)
    covariances = start_covariances(x, k, covariance_type)
    options = {"tol": 1e-10, "max_iter": 500, "reg_covar": 1e-6}
    ours = GaussianMixtureEM(
        k,
        covariance_type=covariance_type,
        weights_init=weights,
        means_init=means,
        covariances_init=covariances,
        **options,
    ).fit(x)
    gm = sklearn_fit(x, weights, means, covariances, covariance_type, **options)
    order = order_components(x, gm.means_)
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        expected = getattr(gm, name)
        shared = covariance_type == "tied" and name not in ("weights_", "means_")
        expected = expected if shared else expected[order]
        np.testing.assert_allclose(getattr(ours, name), expected, rtol=1e-5, err_msg=name)
    assert ours.converged_ and ours.n_iter_ == gm.n_iter_
    assert ours.lower_bound_ == pytest.approx(ours.score(x), rel=1e-12)
    assert ours.n_features_in_ == d and ours.result_.n_obs == len(x)
    assert ours.score(x) == pytest.approx(gm.score(x), rel=1e-9)
    assert ours.bic(x) == pytest.approx(gm.bic(x), rel=1e-9)
    assert ours.aic(x) == pytest.approx(gm.aic(x), rel=1e-9)
    np.testing.assert_allclose(ours.predict_proba(x), gm.predict_proba(x)[:, order], atol=1e-6)
    np.testing.assert_allclose(ours.score_samples(x), gm.score_samples(x), rtol=1e-9)


def test_sample_draws_from_the_fit():
    x, _ = mixture_data(9, 400, 2, 2)
    model = GaussianMixtureEM(2, random_state=0).fit(x)
    draws, labels = model.sample(20000)
    assert draws.shape == (20000, 2) and set(labels) == {0, 1}
    # the draws' component shares and means, to a few Monte Carlo standard errors
    np.testing.assert_allclose(np.bincount(labels) / 20000, model.weights_, atol=0.015)
    for j in range(2):
        np.testing.assert_allclose(draws[labels == j].mean(axis=0), model.means_[j], atol=0.1)


def test_one_column_in_a_pipeline_and_a_grid_search():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(0, 1, 200), rng.normal(8, 1, 200)])[:, None]
    search = GridSearchCV(
        make_pipeline(StandardScaler(), GaussianMixtureEM(random_state=0)),
        {"gaussianmixtureem__n_components": [1, 2, 3]},
        cv=3,
    ).fit(x)
    assert search.best_params_["gaussianmixtureem__n_components"] >= 2
    model = GaussianMixtureEM(2, random_state=0).fit(x)
    assert model.means_.shape == (2, 1) and model.covariances_.shape == (2, 1, 1)
    gm = GaussianMixture(2, random_state=0, tol=1e-10).fit(x)
    assert model.score(x) == pytest.approx(gm.score(x), rel=1e-6)
