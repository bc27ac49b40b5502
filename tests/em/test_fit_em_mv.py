"""fit_em on (N, d) data, d >= 2: scikit-learn agreement, equivariance, the search, the result."""

import warnings

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.mixture import GaussianMixture
from test_multivariate import mixture_data, sklearn_fit, start_covariances

import gmm_bayes as gb
from gmm_bayes.data import load_dataset
from gmm_bayes.em.covariance import COVARIANCE_TYPES, from_sklearn_shape
from gmm_bayes.em.driver_mv import SEARCH_SAMPLE_SIZE
from gmm_bayes.em.multivariate import order_components
from gmm_bayes.exceptions import DataError, DegenerateFitWarning


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("d", [2, 3, 4, 5, 6])
def test_fit_em_agrees_with_sklearn_from_the_same_start(covariance_type, d):
    k = 3
    x, (weights, means) = mixture_data(10 * d + 1, 600, k, d)
    covariances = start_covariances(x, k, covariance_type)
    options = {"tol": 1e-10, "max_iter": 500, "reg_covar": 1e-6}
    fit = gb.fit_em(
        x,
        k,
        weights_init=weights,
        means_init=means,
        covariances_init=covariances,
        covariance_type=covariance_type,
        **options,
    )
    gm = sklearn_fit(x, weights, means, covariances, covariance_type, **options)
    assert fit.converged and gm.converged_ and fit.n_iter == gm.n_iter_
    order = order_components(x, gm.means_)
    np.testing.assert_allclose(fit.weights, gm.weights_[order], rtol=0, atol=1e-6)
    np.testing.assert_allclose(fit.means, gm.means_[order], rtol=0, atol=1e-6)
    sk_covariances = from_sklearn_shape(gm.covariances_, covariance_type, k, d)[order]
    np.testing.assert_allclose(fit.covariances, sk_covariances, rtol=0, atol=1e-6)
    assert fit.log_likelihood == pytest.approx(gm.score(x) * len(x), rel=1e-9)
    assert fit.n_parameters == gm._n_parameters()
    assert fit.bic() == pytest.approx(gm.bic(x), rel=1e-9)
    assert fit.aic() == pytest.approx(gm.aic(x), rel=1e-9)


@pytest.mark.parametrize(
    ("covariance_type", "a"),
    [
        ("full", [[2.0, 1.0, 0.0], [0.5, -3.0, 1.0], [0.0, 0.2, 40.0]]),
        ("tied", [[2.0, 1.0, 0.0], [0.5, -3.0, 1.0], [0.0, 0.2, 40.0]]),
        ("diag", [[0.0, -3.0, 0.0], [200.0, 0.0, 0.0], [0.0, 0.0, 0.01]]),  # scaled permutation
        ("spherical", [[0.0, -7.0, 0.0], [7.0, 0.0, 0.0], [0.0, 0.0, 7.0]]),  # 7 x a rotation
    ],
)
def test_fit_em_is_affine_equivariant(covariance_type, a):
    """The search and the default regularization follow x -> x A + b (for the maps the
    structure allows): the fit of the mapped data is the fit mapped, log L shifted by
    -N log |det A|."""
    a, b = np.array(a), np.array([100.0, -5.0, 3.0])
    x, _ = mixture_data(4, 400, 3, 3)
    options = {"covariance_type": covariance_type, "random_state": 7, "tol": 1e-10}
    fit = gb.fit_em(x, 3, **options)
    mapped = gb.fit_em(x @ a + b, 3, **options)
    order = order_components(x @ a + b, fit.means @ a + b)
    np.testing.assert_allclose(mapped.weights, fit.weights[order], atol=1e-6)
    np.testing.assert_allclose(
        mapped.means, (fit.means @ a + b)[order], atol=1e-5 * np.abs(a).max()
    )
    expected = np.einsum("ji,kjl,lm->kim", a, fit.covariances, a)[order]
    np.testing.assert_allclose(
        mapped.covariances, expected, rtol=1e-5, atol=1e-9 * np.abs(expected).max()
    )
    shift = len(x) * np.log(abs(np.linalg.det(a)))
    assert mapped.log_likelihood == pytest.approx(fit.log_likelihood - shift, rel=1e-9)


#: The best healthy scikit-learn log-likelihood on faithful2d (GaussianMixture, reg_covar=1e-6,
#: tol=1e-8, max_iter=1000), brute force over init_params "kmeans", "k-means++" and
#: "random_from_data" x random_state 0-9 x n_init=3 (90 runs per entry). K = 1: one Gaussian,
#: the same from every start. Full and diag K = 4: scikit-learn's best (-1052.34, -1051.59) has
#: a component collapsed onto tied waiting times (sd 0.001 = sqrt(reg_covar)); the value pinned
#: is the best of its fits with no collapsed component (collapsed_components_mv), over
#: random_state 0-29 x n_init=1 x the same three inits.
SKLEARN_BEST_FAITHFUL2D = {
    ("full", 1): -1289.796745,
    ("full", 2): -1130.263960,
    ("full", 3): -1114.439876,
    ("full", 4): -1106.030260,
    ("tied", 1): -1289.796745,
    ("tied", 2): -1140.186759,
    ("tied", 3): -1126.315935,
    ("tied", 4): -1120.828134,
    ("diag", 1): -1516.705827,
    ("diag", 2): -1147.806353,
    ("diag", 3): -1127.007523,
    ("diag", 4): -1112.880853,
    ("spherical", 1): -2003.952037,
    ("spherical", 2): -1709.529282,
    ("spherical", 3): -1637.434420,
    ("spherical", 4): -1569.409792,
}


@pytest.mark.slow
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_faithful2d_reaches_the_best_sklearn_maximum(covariance_type, k):
    x = np.asarray(load_dataset("faithful2d"))
    best = SKLEARN_BEST_FAITHFUL2D[covariance_type, k]
    for seed in range(3):
        fit = gb.fit_em(
            x, k, covariance_type=covariance_type, reg_covar=1e-6, tol=1e-10, random_state=seed
        )
        assert not fit.degenerate and fit.log_likelihood >= best - 1e-6 * abs(best), seed


def test_result_of_d_columns():
    x, _ = mixture_data(3, 300, 2, 3)
    fit = gb.fit_em(x, 2, random_state=0)
    assert (fit.n_dims, fit.means.shape, fit.covariances.shape, fit.variances.shape) == (
        3,
        (2, 3),
        (2, 3, 3),
        (2, 3),
    )
    expected = np.log(
        sum(
            w * multivariate_normal(m, c).pdf(x[:5])
            for w, m, c in zip(fit.weights, fit.means, fit.covariances, strict=True)
        )
    )
    np.testing.assert_allclose(fit.logpdf(x[:5]), expected, rtol=1e-12)
    np.testing.assert_allclose(fit.responsibilities(x).sum(axis=1), 1.0)
    assert fit.history[-1] == fit.log_likelihood and len(fit.history) == fit.n_iter + 1
    assert np.all(np.diff(fit.history) > -1e-9 * abs(fit.log_likelihood))  # EM never falls
    assert fit.log_likelihood == pytest.approx(fit.logpdf(x).sum(), rel=1e-12)
    projections = fit.means @ gb.em.multivariate.principal_axis(x)
    assert np.all(np.diff(projections) > 0)
    initvals = fit.to_initvals()
    assert sorted(initvals) == ["cov", "mu", "w"] and initvals["cov"].shape == (2, 3, 3)
    ds = fit.to_dataset()
    assert ds["cov"].dims == ("component", "dim", "dim_bis")
    assert ds["mu"].dims == ("component", "dim")
    assert ds.attrs["bic"] == pytest.approx(fit.bic())
    with pytest.raises(ValueError, match="columns"):
        fit.logpdf(x[:, :2])


def test_classification_entropy_of_d_columns():
    x, _ = mixture_data(5, 200, 2, 2)
    fit = gb.fit_em(x, 2, random_state=0)
    resp = fit.responsibilities(x)
    entropy = -np.sum(resp * np.log(np.where(resp > 0, resp, 1.0)))
    assert fit.icl() == pytest.approx(fit.bic() + 2 * entropy, rel=1e-9)


def test_large_data_search_on_a_sample_then_polished():
    rng = np.random.default_rng(2)
    n = 3 * SEARCH_SAMPLE_SIZE
    x = np.vstack([rng.normal(size=(n // 2, 2)), rng.normal(size=(n // 2, 2)) * 0.5 + 5.0])
    fit = gb.fit_em(x, 2, random_state=0, tol=1e-10)
    gm = GaussianMixture(2, tol=1e-10, max_iter=1000, random_state=0, reg_covar=0).fit(x)
    assert fit.n_obs == n and fit.converged
    assert fit.log_likelihood == pytest.approx(gm.score(x) * n, rel=1e-6)


def test_collapsed_runs_lose_to_healthy_ones():
    """Six copies of one row tempt a component into a spike; a healthy maximum is returned."""
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(size=(150, 2)), rng.normal(size=(150, 2)) + 6, [[3.0, -4.0]] * 6])
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateFitWarning)
        fit = gb.fit_em(x, 3, random_state=0)
    assert not fit.degenerate
    with pytest.warns(DegenerateFitWarning, match="collapsed in every run"):
        spike = gb.fit_em(
            x,
            3,
            weights_init=[0.49, 0.49, 0.02],
            means_init=[[0.0, 0.0], [6.0, 6.0], [3.0, -4.0]],
            covariances_init=[np.eye(2), np.eye(2), 1e-3 * np.eye(2)],
        )
    assert spike.collapsed.sum() == 1
    np.testing.assert_allclose(spike.means[spike.collapsed], [[3.0, -4.0]], atol=1e-6)


def test_explicit_means_start_the_only_run_with_quantile():
    x, (weights, means) = mixture_data(6, 300, 3, 2)
    fit = gb.fit_em(x, 3, means_init=means, init="quantile", tol=1e-10)
    assert len(fit.local_maxima) == 1 and fit.converged


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"resolution": 1.0}, "resolution is univariate only"),
        ({"variances_init": [1.0, 1.0]}, "variances_init is univariate only"),
        ({"means_init": [[0.0, 0.0, 0.0]] * 2}, r"means_init must be a finite \(2, 2\)"),
        ({"covariances_init": np.ones(2), "covariance_type": "tied"}, r"shape \(2, 2\)"),
        ({"covariance_type": "VVX"}, "mclust alias"),
    ],
)
def test_bad_arguments_of_d_columns(kwargs, match):
    x, _ = mixture_data(0, 50, 2, 2)
    with pytest.raises(ValueError, match=match):
        gb.fit_em(x, 2, **kwargs)


def test_data_on_a_line_refused():
    x = np.ones((10, 2)) * np.arange(10.0)[:, None]
    with pytest.raises(DataError, match="hyperplane"):
        gb.fit_em(x, 2)


def test_covariances_init_refused_for_one_column():
    with pytest.raises(ValueError, match="variances_init"):
        gb.fit_em(np.arange(10.0), 2, covariances_init=np.ones(2))


def test_one_column_is_the_univariate_fit():
    x = np.concatenate([np.linspace(0, 2, 50), np.linspace(10, 12, 50)])
    column = gb.fit_em(x[:, None], 2, random_state=0)
    assert column.means.shape == (2,) and column.covariances.shape == (2, 1, 1)
    np.testing.assert_array_equal(column.means, gb.fit_em(x, 2, random_state=0).means)


@pytest.mark.parametrize("kind", ["kmeans++", "random"])
def test_starts_follow_an_affine_map(kind):
    """Starts are drawn in whitened coordinates: the same groups for x and x A + b."""
    from gmm_bayes.em.search_mv import start_labels

    x, _ = mixture_data(7, 300, 3, 3)
    a = np.array([[1.0, 5.0, 0.0], [0.0, 0.1, 0.0], [3.0, 0.0, 20.0]])
    labels = start_labels(x, 4, kind, np.random.default_rng(1))
    mapped = start_labels(x @ a + 7.0, 4, kind, np.random.default_rng(1))
    np.testing.assert_array_equal(labels, mapped)


def test_collapse_verdict_follows_an_affine_map():
    """Generalized eigenvalues: the same components collapse after x -> x A + b."""
    from gmm_bayes.em.result import collapsed_components_mv

    rng = np.random.default_rng(3)
    roots = rng.normal(size=(4, 3, 3))
    covariances = roots @ roots.transpose(0, 2, 1) + 0.1 * np.eye(3)
    covariances[1] = 1e-9 * covariances[1] + 1e-12 * np.eye(3)  # narrow: sd ratio
    covariances[2] = covariances[0] + 1e-7 * np.eye(3)
    reg = 2e-7 * np.eye(3)
    covariances[3] = reg * 1.5  # at the floor
    weights = np.array([0.4, 0.3, 0.299, 0.001])  # the last: under 2 rows of 1000
    verdict = collapsed_components_mv(weights, covariances, 1000, reg)
    assert verdict.tolist() == [False, True, False, True]
    a = np.array([[3.0, 1.0, 0.0], [0.0, 0.01, 2.0], [1.0, 0.0, 50.0]])
    mapped = np.einsum("ji,kjl,lm->kim", a, covariances, a)
    assert collapsed_components_mv(weights, mapped, 1000, a.T @ reg @ a).tolist() == (
        verdict.tolist()
    )
    weights[3] = 0.2
    assert collapsed_components_mv(weights, covariances, 1000, reg)[3]  # the floor alone


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fit_sklearn_of_d_columns_is_gaussian_mixtures_fit(covariance_type):
    x = np.asarray(load_dataset("faithful2d"))
    fit = gb.fit_sklearn(x, 3, covariance_type=covariance_type, random_state=0)
    gm = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(x)
    order = order_components(x, gm.means_)
    np.testing.assert_array_equal(fit.means, gm.means_[order])
    expected = from_sklearn_shape(gm.covariances_, covariance_type, 3, 2)[order]
    np.testing.assert_array_equal(fit.covariances, expected)
    assert fit.method == "sklearn" and fit.covariance_type == covariance_type
    assert fit.log_likelihood == pytest.approx(gm.score(x) * len(x), rel=1e-12)
    assert fit.bic() == pytest.approx(gm.bic(x), rel=1e-12)


def test_a_fit_below_the_k_minus_1_fit_means_more_restarts(monkeypatch):
    """First restarts at K = 3 all start at EM's symmetric fixed point (three copies of the
    one-component fit), which ends below the best K = 2 fit: the search must go on."""
    from gmm_bayes.em import search_mv

    x, _ = mixture_data(11, 300, 3, 2)
    restarts, calls = search_mv._restarts, []

    def stuck_first(rows, k, settings, n_starts):
        calls.append(k)
        if k == 3 and calls.count(3) == 1:
            one = (np.full(3, 1 / 3), np.tile(rows.mean(axis=0), (3, 1)))
            return [(*one, np.stack([np.cov(rows, rowvar=False, bias=True)] * 3))] * n_starts
        return restarts(rows, k, settings, n_starts)

    monkeypatch.setattr(search_mv, "_restarts", stuck_first)
    monkeypatch.setattr(search_mv, "_insertion_starts", lambda *args: [])
    two = gb.fit_em(x, 2, random_state=0)
    three = gb.fit_em(x, 3, random_state=0)
    assert calls.count(3) >= 2
    assert three.log_likelihood >= two.log_likelihood
