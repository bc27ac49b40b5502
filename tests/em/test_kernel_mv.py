"""The fused multivariate EM pass against scikit-learn's E-step and M-step statistics."""

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture
from sklearn.mixture._gaussian_mixture import _estimate_gaussian_parameters

from gmm_bayes.em import kernel_mv
from gmm_bayes.em.kernel_mv import (
    cholesky_factors,
    em_pass_mv,
    em_rows_mv,
    log_prob_resp,
    merge_rows_mv,
)

BACKENDS = ["numpy", "numba"]


def random_mixture(rng, k, d, offset=0.0):
    """Weights (K,), means (K, d) and SPD covariances (K, d, d) of a random mixture."""
    a = rng.normal(size=(k, d, d))
    covariances = a @ a.transpose(0, 2, 1) + 0.5 * np.eye(d)
    return rng.dirichlet(np.ones(k)), offset + 3 * rng.normal(size=(k, d)), covariances


def sklearn_reference(x, weights, means, covariances):
    """scikit-learn's E-step (total log-likelihood, responsibilities) and M-step statistics."""
    gm = GaussianMixture(len(weights), covariance_type="full")
    gm.weights_, gm.means_, gm.covariances_ = weights, means, covariances
    chol = np.linalg.cholesky(covariances)
    gm.precisions_cholesky_ = np.linalg.inv(chol).transpose(0, 2, 1)
    log_prob_norm, log_resp = gm._estimate_log_prob_resp(x)
    nk, new_means, covs = _estimate_gaussian_parameters(x, np.exp(log_resp), 0.0, "full")
    return log_prob_norm, log_resp, nk, new_means, covs


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("seed", "n", "k", "d"), [(0, 5000, 3, 2), (1, 9001, 2, 5), (2, 3, 4, 6)])
def test_pass_equals_sklearn(backend, seed, n, k, d):
    # n = 9001 is two numba blocks of 4096 and a partial one; n = 3 < K rows, most empty
    rng = np.random.default_rng(seed)
    weights, means, covariances = random_mixture(rng, k, d, offset=50.0)
    x = means[rng.integers(k, size=n)] + rng.normal(size=(n, d)) * 2
    log_prob_norm, _, nk, new_means, covs = sklearn_reference(x, weights, means, covariances)
    ll, our_nk, our_means, scatter = em_pass_mv(x, weights, means, covariances, backend=backend)
    assert ll == pytest.approx(log_prob_norm.sum(), rel=1e-9)
    np.testing.assert_allclose(our_nk, nk, rtol=1e-9, atol=1e-9)
    heavy = nk > 1e-3  # an empty component's mean and covariance are 0/eps in both
    np.testing.assert_allclose(our_means[heavy], new_means[heavy], rtol=1e-9)
    ours = scatter / our_nk[:, None, None]
    np.testing.assert_allclose(ours[heavy], covs[heavy], rtol=1e-9, atol=1e-9 * np.abs(covs).max())


def test_backends_agree_and_blocks_merge_like_one():
    rng = np.random.default_rng(3)
    weights, means, covariances = random_mixture(rng, 3, 3)
    x = rng.normal(size=(3 * 4096 + 11, 3)) * 3
    numba_rows = em_rows_mv(x, weights, means, covariances, backend="numba")
    numpy_rows = em_rows_mv(x, weights, means, covariances, backend="numpy")
    assert numba_rows.shape[0] == numpy_rows.shape[0] == 4
    np.testing.assert_allclose(numba_rows, numpy_rows, rtol=1e-11, atol=1e-9)
    factors = cholesky_factors(weights, means, covariances)
    one_block = kernel_mv._numpy_rows(x, *factors, means, block=x.shape[0])
    merged = merge_rows_mv(numpy_rows, 3, 3)
    np.testing.assert_allclose(merged, one_block[0], rtol=1e-11, atol=1e-8)


def test_far_data_keep_their_digits():
    """Data near 1e8 with spread 1: the scatter is exact to ~1e-7 relative, not lost."""
    rng = np.random.default_rng(4)
    x = 1e8 + rng.normal(size=(20000, 2))
    means = np.full((1, 2), 1e8)
    _, nk, m, scatter = em_pass_mv(x, np.ones(1), means, np.eye(2)[None], backend="numba")
    exact = np.cov(x - 1e8, rowvar=False, bias=True)  # centred first: no cancellation
    np.testing.assert_allclose(scatter[0] / nk[0], exact, rtol=1e-7, atol=1e-7)


def test_parallel_equals_serial():
    """Blocks dealt to two threads give the serial kernel's numbers, bit for bit."""
    from gmm_bayes.em import kernel_mv_numba

    rng = np.random.default_rng(5)
    weights, means, covariances = random_mixture(rng, 3, 2)
    x = rng.normal(size=(9 * kernel_mv_numba.BLOCK + 7, 2)) * 3
    factors = cholesky_factors(weights, means, covariances)
    parallel = kernel_mv_numba.em_blocks_mv_parallel(x, *factors, means, 2)
    serial = kernel_mv_numba.em_blocks_mv_serial(x, *factors, means)
    np.testing.assert_array_equal(parallel, serial)
    passes = [em_rows_mv(x, weights, means, covariances, backend="numba") for _ in range(3)]
    np.testing.assert_array_equal(passes[0], serial)  # whichever way the pace chose
    np.testing.assert_array_equal(passes[2], serial)


@pytest.mark.parametrize("backend", BACKENDS)
def test_invalid_parameters_give_nan(backend):
    singular = np.zeros((1, 2, 2))
    rows = em_rows_mv(np.ones((10, 2)), np.ones(1), np.zeros((1, 2)), singular, backend=backend)
    assert rows.shape == (1, 1 + 1 + 2 + 4) and np.isnan(rows).all()


def test_log_prob_resp_equals_sklearn():
    rng = np.random.default_rng(6)
    weights, means, covariances = random_mixture(rng, 4, 3)
    x = rng.normal(size=(700, 3)) * 4
    log_prob_norm, log_resp, *_ = sklearn_reference(x, weights, means, covariances)
    density, resp = log_prob_resp(x, weights, means, covariances, block=256)
    np.testing.assert_allclose(density, log_prob_norm, rtol=1e-12)
    np.testing.assert_allclose(resp, log_resp, rtol=1e-9, atol=1e-9)


def test_without_numba_the_numpy_backend_does_the_work(monkeypatch):
    monkeypatch.setattr(kernel_mv._NUMBA, "module", False)  # as when `import numba` failed
    rng = np.random.default_rng(4)
    weights, means, covariances = random_mixture(rng, 2, 2)
    x = rng.normal(size=(20_000, 2))
    rows = em_rows_mv(x, weights, means, covariances)  # large enough for numba by default
    expected = em_rows_mv(x, weights, means, covariances, backend="numpy")
    np.testing.assert_array_equal(rows, expected)
    with pytest.raises(ImportError, match="needs numba"):
        em_rows_mv(x, weights, means, covariances, backend="numba")
