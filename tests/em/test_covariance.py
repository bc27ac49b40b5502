"""Covariance structures: M-steps and parameter counts against scikit-learn, regularization."""

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture
from sklearn.mixture._gaussian_mixture import _estimate_gaussian_parameters

from gmm_bayes.em.covariance import (
    COVARIANCE_TYPES,
    MCLUST_ALIASES,
    covariance_type_name,
    covariances_from_scatter,
    default_regularization,
    from_sklearn_shape,
    n_parameters,
    regularization_matrix,
    robust_covariance,
    to_sklearn_shape,
)
from gmm_bayes.em.kernel import COUNT_EPS
from gmm_bayes.exceptions import DataError


def random_problem(seed, n, k, d):
    """Data (N, d) and random responsibilities (N, K), rows summing to 1."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + rng.normal(size=d)
    resp = rng.dirichlet(np.full(k, 0.7), size=n)
    return x, resp


def scatter_statistics(x, resp):
    """nk (K,), weighted means (K, d), scatter about them (K, d, d), from the definition."""
    nk = resp.sum(axis=0) + COUNT_EPS
    means = resp.T @ x / nk[:, None]
    diff = x[None, :, :] - means[:, None, :]
    scatter = np.einsum("nk,kni,knj->kij", resp, diff, diff)
    return nk, means, scatter


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize(("seed", "d"), [(0, 1), (1, 2), (2, 3), (3, 6)])
def test_m_step_equals_sklearn(covariance_type, seed, d):
    x, resp = random_problem(seed, 200, 3, d)
    nk, means, scatter = scatter_statistics(x, resp)
    sk_nk, sk_means, sk_cov = _estimate_gaussian_parameters(x, resp, 1e-3, covariance_type)
    ours = covariances_from_scatter(nk, scatter, covariance_type, 1e-3)
    assert ours.shape == (3, d, d)
    np.testing.assert_allclose(nk, sk_nk, rtol=1e-12)
    np.testing.assert_allclose(means, sk_means, rtol=1e-12, atol=1e-12)
    expected = from_sklearn_shape(sk_cov, covariance_type, 3, d)
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max())
    np.testing.assert_allclose(to_sklearn_shape(ours, covariance_type), sk_cov, rtol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize(("k", "d"), [(1, 1), (3, 2), (4, 5), (2, 6)])
def test_n_parameters_equals_sklearn(covariance_type, k, d):
    x = np.random.default_rng(k + d).normal(size=(50, d))
    gm = GaussianMixture(k, covariance_type=covariance_type, max_iter=1, random_state=0)
    with pytest.warns(Warning):  # one iteration does not converge
        gm.fit(x)
    assert n_parameters(k, d, covariance_type) == gm._n_parameters()


def test_mclust_aliases_name_the_same_structures():
    # mclust's model names (Scrucca et al. 2016, Table 1): VVV ellipsoidal varying, EEE
    # ellipsoidal equal, VVI diagonal varying, VII spherical varying
    assert {a: covariance_type_name(a) for a in MCLUST_ALIASES} == {
        "VVV": "full",
        "EEE": "tied",
        "VVI": "diag",
        "VII": "spherical",
    }
    assert n_parameters(3, 2, "VVV") == n_parameters(3, 2, "full")


@pytest.mark.parametrize("bad", ["Full", "VEV", None, 3])
def test_unknown_covariance_type_lists_the_names(bad):
    with pytest.raises(
        ValueError, match=r"covariance_type must be one of full, tied.*VVV \(full\)"
    ):
        covariance_type_name(bad)


def test_matrix_regularization_is_added_whole():
    x, resp = random_problem(4, 100, 2, 2)
    nk, _, scatter = scatter_statistics(x, resp)
    reg = np.array([[2.0, 0.5], [0.5, 1.0]])
    without = covariances_from_scatter(nk, scatter, "full", 0.0)
    np.testing.assert_allclose(covariances_from_scatter(nk, scatter, "full", reg), without + reg)


@pytest.mark.parametrize(
    ("reg", "covariance_type", "message"),
    [
        (-1.0, "full", "finite number >= 0"),
        (np.eye(3), "full", r"finite \(2, 2\) matrix"),
        (np.array([[1.0, 2.0], [2.0, 1.0]]), "full", "not symmetric positive semi-definite"),
        (np.array([[1.0, 0.1], [0.1, 1.0]]), "diag", "not diagonal"),
        (np.diag([1.0, 2.0]), "spherical", "not a multiple of the identity"),
    ],
)
def test_bad_regularization_refused(reg, covariance_type, message):
    with pytest.raises(ValueError, match=message):
        regularization_matrix(reg, 2, covariance_type)


def test_robust_covariance_ignores_outliers():
    rng = np.random.default_rng(5)
    clean = rng.multivariate_normal([0, 0], [[1.0, 0.6], [0.6, 2.0]], size=1000)
    dirty = np.vstack([clean, np.full((50, 2), 1e6)])  # 5% gross outliers
    np.testing.assert_allclose(robust_covariance(dirty), [[1.0, 0.6], [0.6, 2.0]], atol=0.25)
    assert np.cov(dirty, rowvar=False).max() > 1e9  # the sample covariance is ruined


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_default_regularization_is_equivariant(covariance_type):
    """reg(x A + b) = A^T reg(x) A for every map the structure allows."""
    rng = np.random.default_rng(6)
    x = rng.normal(size=(3000, 3)) @ rng.normal(size=(3, 3))
    maps = {
        "full": rng.normal(size=(3, 3)),
        "tied": rng.normal(size=(3, 3)),
        "diag": np.diag([1e-4, 3.0, -2e5])[[2, 0, 1]],  # scaling and a permutation
        "spherical": 7.5 * np.linalg.qr(rng.normal(size=(3, 3)))[0],
    }
    a = maps[covariance_type]
    before = default_regularization(x, covariance_type)
    after = default_regularization(x @ a + [1e3, -5.0, 2.0], covariance_type)
    expected = a.T @ before @ a
    np.testing.assert_allclose(after, expected, rtol=1e-9, atol=1e-12 * np.abs(expected).max())


def test_default_regularization_is_one_millionth_of_the_covariance():
    # standard normal data: the MCD estimate (reweighted, consistency-corrected) is close to I
    x = np.random.default_rng(7).normal(size=(20000, 2))
    np.testing.assert_allclose(default_regularization(x, "full") / 1e-6, np.eye(2), atol=0.1)


def test_data_on_a_line_is_refused():
    t = np.arange(10.0)
    with pytest.raises(DataError, match=r"x \(10 rows, 2 columns\) lies on a hyperplane"):
        robust_covariance(np.column_stack([t, 2 * t + 1]))


def test_sklearn_shapes_round_trip():
    k, d = 3, 2
    for covariance_type, shape in [("full", (k, d, d)), ("tied", (d, d)), ("diag", (k, d))]:
        values = np.abs(np.random.default_rng(8).normal(size=shape))
        if covariance_type != "diag":
            values = values @ np.swapaxes(values, -1, -2)
        canonical = from_sklearn_shape(values, covariance_type, k, d)
        np.testing.assert_array_equal(to_sklearn_shape(canonical, covariance_type), values)
    with pytest.raises(ValueError, match=r"must have shape \(3,\), got \(2,\)"):
        from_sklearn_shape(np.ones(2), "spherical", k, d)
