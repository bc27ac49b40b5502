"""EM iterations on (N, d) data against scikit-learn's GaussianMixture from the same start."""

import warnings

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture

from gmm_bayes.em.covariance import COVARIANCE_TYPES, from_sklearn_shape, to_sklearn_shape
from gmm_bayes.em.multivariate import as_matrix_data, order_components, run_em_mv
from gmm_bayes.exceptions import DataError, FitError


def mixture_data(seed, n, k, d):
    """Rows from a random K-component mixture with correlated components, and a start."""
    rng = np.random.default_rng(seed)
    centres = 4 * rng.normal(size=(k, d))
    mix = rng.normal(size=(k, d, d)) * 0.6 + np.eye(d)
    labels = rng.integers(k, size=n)
    x = centres[labels] + np.einsum("nd,nde->ne", rng.normal(size=(n, d)), mix[labels])
    start = (np.full(k, 1 / k), x[rng.choice(n, k, replace=False)])
    return x, start


def start_covariances(x, k, covariance_type):
    """The data's covariance for every component, in scikit-learn's shape for the structure."""
    c = np.cov(x, rowvar=False)
    return {
        "full": np.stack([c] * k),
        "tied": c,
        "diag": np.tile(np.diag(c), (k, 1)),
        "spherical": np.full(k, np.diag(c).mean()),
    }[covariance_type]


def sklearn_fit(x, weights, means, covariances, covariance_type, **options):
    """scikit-learn from the same start; its precisions_init are our covariances inverted."""
    precisions = (
        np.linalg.inv(covariances) if covariance_type in ("full", "tied") else 1 / covariances
    )
    gm = GaussianMixture(
        len(weights),
        covariance_type=covariance_type,
        weights_init=weights,
        means_init=means,
        precisions_init=precisions,
        **options,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of short runs
        gm.fit(x)
    return gm


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("d", [2, 3, 4, 5, 6])
def test_agrees_with_sklearn_from_the_same_start(covariance_type, d):
    k = 3
    x, (weights, means) = mixture_data(10 * d, 600, k, d)
    covariances = start_covariances(x, k, covariance_type)
    options = {"tol": 1e-10, "max_iter": 500, "reg_covar": 1e-6}
    run = run_em_mv(x, weights, means, covariances, covariance_type=covariance_type, **options)
    gm = sklearn_fit(x, weights, means, covariances, covariance_type, **options)
    assert run.converged and gm.converged_
    assert run.n_iter == gm.n_iter_
    order = order_components(x, gm.means_)
    sk_covariances = from_sklearn_shape(gm.covariances_, covariance_type, k, d)[order]
    np.testing.assert_allclose(run.weights, gm.weights_[order], rtol=0, atol=1e-6)
    np.testing.assert_allclose(run.means, gm.means_[order], rtol=0, atol=1e-6)
    np.testing.assert_allclose(run.covariances, sk_covariances, rtol=0, atol=1e-6)
    assert run.log_likelihood == pytest.approx(gm.score(x) * len(x), rel=1e-9)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_iterates_equal_sklearn_to_rounding(covariance_type):
    """A fixed number of iterations (tol = 0): the same parameters to ~1e-12."""
    k, d = 4, 3
    x, (weights, means) = mixture_data(1, 2000, k, d)
    covariances = start_covariances(x, k, covariance_type)
    options = {"tol": 0.0, "max_iter": 7, "reg_covar": 1e-3}
    run = run_em_mv(x, weights, means, covariances, covariance_type=covariance_type, **options)
    gm = sklearn_fit(x, weights, means, covariances, covariance_type, **options)
    assert run.n_iter == gm.n_iter_ == 7 and not run.converged
    order = order_components(x, gm.means_)
    np.testing.assert_allclose(run.means, gm.means_[order], rtol=1e-12, atol=1e-12)
    sk_covariances = from_sklearn_shape(gm.covariances_, covariance_type, k, d)[order]
    np.testing.assert_allclose(run.covariances, sk_covariances, rtol=1e-11, atol=1e-13)


def test_components_ordered_along_the_first_principal_axis():
    rng = np.random.default_rng(2)
    # three clusters along the direction (1, 1), the data's first principal axis
    centres = np.array([[5.0, 5.0], [-5.0, -5.0], [0.0, 0.0]])
    x = np.vstack([c + rng.normal(size=(200, 2)) for c in centres])
    run = run_em_mv(x, np.full(3, 1 / 3), centres + 0.5, np.stack([np.eye(2)] * 3))
    np.testing.assert_allclose(run.means, centres[[1, 2, 0]], atol=0.3)


def test_one_column_is_univariate_em():
    """d = 1: the same iterates as scikit-learn's univariate fit (spherical = full)."""
    x, (weights, means) = mixture_data(3, 500, 2, 1)
    full = run_em_mv(x, weights, means, np.ones((2, 1, 1)), tol=1e-8, reg_covar=1e-6)
    spherical = run_em_mv(
        x, weights, means, np.ones(2), covariance_type="VII", tol=1e-8, reg_covar=1e-6
    )
    np.testing.assert_allclose(full.covariances, spherical.covariances, rtol=1e-12)
    assert np.all(np.diff(full.means[:, 0]) > 0)  # sorted by mean


def structure_preserving_map(covariance_type, rng, d):
    """An invertible A the structure allows, with columns of very different scales."""
    if covariance_type in ("full", "tied"):
        return rng.normal(size=(d, d)) * [1e-3, 1.0, 1e4]
    if covariance_type == "diag":
        return np.diag([1e-3, -3.0, 2e4])[[2, 0, 1]]  # scalings and a permutation
    return 1e-3 * np.linalg.qr(rng.normal(size=(d, d)))[0]  # a multiple of a rotation


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_default_regularization_keeps_the_fit_equivariant(covariance_type):
    """Default reg_covar: fit(x A + b) = fit(x) mapped, for every A the structure allows.

    An absolute reg_covar (scikit-learn's) fails this: 1e-6 is the size of the variances of the
    column scaled by 1e-3.
    """
    k, d = 3, 3
    x, (weights, means) = mixture_data(4, 800, k, d)
    rng = np.random.default_rng(5)
    a, b = structure_preserving_map(covariance_type, rng, d), rng.normal(size=d) * 100
    start = from_sklearn_shape(start_covariances(x, k, covariance_type), covariance_type, k, d)
    mapped_start = to_sklearn_shape(a.T @ start @ a, covariance_type)
    options = {"covariance_type": covariance_type, "tol": 1e-10, "max_iter": 1000}
    before = run_em_mv(x, weights, means, to_sklearn_shape(start, covariance_type), **options)
    after = run_em_mv(x @ a + b, weights, means @ a + b, mapped_start, **options)
    assert before.converged and after.converged
    mapped_means = before.means @ a + b
    # the principal axis is not affine-equivariant: match components by their mapped means
    order = [int(np.argmin(np.abs(after.means - m).sum(axis=1))) for m in mapped_means]
    np.testing.assert_allclose(after.weights[order], before.weights, atol=1e-8)
    scale = np.abs(mapped_means).max()
    np.testing.assert_allclose(after.means[order], mapped_means, rtol=1e-7, atol=1e-9 * scale)
    mapped = a.T @ before.covariances @ a
    np.testing.assert_allclose(
        after.covariances[order], mapped, rtol=1e-6, atol=1e-8 * np.abs(mapped).max()
    )
    shift = len(x) * np.log(abs(np.linalg.det(a)))  # the density's Jacobian
    assert after.log_likelihood == pytest.approx(before.log_likelihood - shift, rel=1e-9)


def test_bad_input_is_named():
    x = (
        np.ones((5, 2)) * np.arange(5)[:, None]
        + np.array([[0.0, 1.0]]) * np.arange(5)[:, None] ** 2
    )
    with pytest.raises(ValueError, match=r"means_init must be a finite \(K, 2\) array"):
        run_em_mv(x, [1.0], [[0.0, 0.0, 0.0]], np.eye(2)[None])
    with pytest.raises(ValueError, match="covariances_init must be finite and positive definite"):
        run_em_mv(x, [1.0], [[0.0, 0.0]], np.zeros((1, 2, 2)))
    with pytest.raises(ValueError, match=r"must have shape \(1,\), got \(1, 2, 2\)"):
        run_em_mv(x, [1.0], [[0.0, 0.0]], np.eye(2)[None], covariance_type="spherical")
    with pytest.raises(ValueError, match="weights_init must sum to 1"):
        run_em_mv(x, [0.3], [[0.0, 0.0]], np.eye(2)[None])
    with pytest.raises(DataError, match=r"non-finite value nan at row 1, column 0"):
        as_matrix_data([[1.0, 2.0], [np.nan, 3.0]])
    with pytest.raises(DataError, match=r"shape \(N, d\)"):
        as_matrix_data(np.ones((2, 2, 2)))


def test_singular_covariance_without_regularization_is_a_fit_error():
    x = np.vstack([np.zeros((5, 2)), np.ones((5, 2)) + np.arange(5)[:, None] * [1.0, 0.5]])
    with pytest.raises(FitError, match="became singular; pass reg_covar > 0"):
        run_em_mv(x, [0.5, 0.5], [[0.0, 0.0], [3.0, 2.0]], np.stack([np.eye(2)] * 2), reg_covar=0)
