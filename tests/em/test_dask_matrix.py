"""fit_em on a dask array of (N, d) rows: the in-memory fit, chunk by chunk."""

import dask.array as da
import numpy as np
import pytest
from test_multivariate import mixture_data

import gmm_bayes as gb
from gmm_bayes.em.dask_matrix import ChunkedRows
from gmm_bayes.em.driver_mv import SEARCH_SAMPLE_SIZE
from gmm_bayes.em.kernel_mv import em_pass_mv
from gmm_bayes.exceptions import DataError


def test_chunked_pass_equals_the_in_memory_pass():
    x, (weights, means) = mixture_data(1, 5000, 3, 4)
    covariances = np.stack([np.cov(x, rowvar=False)] * 3)
    chunked = ChunkedRows(da.from_array(x, chunks=(700, 4)))(weights, means, covariances)
    in_memory = em_pass_mv(x, weights, means, covariances)
    assert chunked[0] == pytest.approx(in_memory[0], rel=1e-13)
    for ours, theirs in zip(chunked[1:], in_memory[1:], strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_dask_fit_is_the_in_memory_fit(covariance_type):
    """Larger than the search sample: same sample, same search, the polish on the chunks."""
    x, _ = mixture_data(2, 2 * SEARCH_SAMPLE_SIZE + 100, 3, 3)
    options = {"covariance_type": covariance_type, "random_state": 3, "tol": 1e-8}
    in_memory = gb.fit_em(x, 3, **options)
    chunked = gb.fit_em(da.from_array(x, chunks=(1000, 1)), 3, **options)
    assert chunked.n_obs == len(x) and chunked.n_iter == in_memory.n_iter
    assert chunked.log_likelihood == pytest.approx(in_memory.log_likelihood, rel=1e-12)
    np.testing.assert_allclose(chunked.means, in_memory.means, rtol=1e-10)
    np.testing.assert_allclose(chunked.covariances, in_memory.covariances, rtol=1e-10)
    np.testing.assert_allclose(chunked.reg_covar, in_memory.reg_covar, rtol=1e-12)


def test_explicit_start_runs_once_on_the_chunks():
    x, (weights, means) = mixture_data(3, 3000, 2, 2)
    covariances = np.stack([np.eye(2)] * 2)
    options = {"weights_init": weights, "means_init": means, "covariances_init": covariances}
    chunked = gb.fit_em(da.from_array(x, chunks=(800, 2)), 2, **options)
    in_memory = gb.fit_em(x, 2, **options)
    assert chunked.log_likelihood == pytest.approx(in_memory.log_likelihood, rel=1e-12)
    assert len(chunked.local_maxima) == 1


def test_non_finite_row_named():
    x, _ = mixture_data(4, 3000, 2, 2)
    x[2500, 1] = np.nan
    with pytest.raises(DataError, match="row 2500"):
        gb.fit_em(da.from_array(x, chunks=(700, 2)), 2)
