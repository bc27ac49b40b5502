"""EM on a dask array of (N, d) rows, d >= 2: the fused pass per chunk, merged here.

:func:`gmm_bayes.fit_em` hands a 2-D dask array of two or more columns to
:func:`fit_dask_matrix`; this module, and so dask, is imported only then. The algorithm is the
in-memory one (:func:`gmm_bayes.em.driver_mv.fit_em_mv`), with the same random draws:

1. One pass over the chunks refuses a non-finite value (naming its row), computes the data's
   covariance (for the components' order) and gathers the rows the search and the default
   regularization use: the ``SEARCH_SAMPLE_SIZE`` rows the in-memory fit would draw, and the
   ``ROBUST_POINTS`` evenly spaced rows of :func:`~.covariance.robust_covariance`.
2. The search runs in memory on that sample; its best maxima are run on all the rows, each
   iteration one pass of :class:`ChunkedRows`: every chunk sends back its ``1 + K + K d + K d
   d`` merged statistics (:func:`~.kernel_mv.em_rows_mv` and
   :func:`~.kernel_mv.merge_rows_mv`), merged again here. The answer is the in-memory one to
   rounding (the sums are only grouped differently).

Data of at most ``SEARCH_SAMPLE_SIZE`` rows are computed and fitted in memory. A partial
explicit start (some of the ``*_init``) takes its groups from the sample.
"""

import functools

import dask
import dask.array as da
import numpy as np

from gmm_bayes.em.covariance import ROBUST_POINTS
from gmm_bayes.em.driver_mv import (
    MAX_POLISHED,
    SEARCH_SAMPLE_SIZE,
    explicit_start,
    fit_em_mv,
    result_mv,
    search_sample,
    search_settings,
)
from gmm_bayes.em.kernel_mv import em_rows_mv, finish_mv, merge_rows_mv
from gmm_bayes.em.multivariate import iterate_mv, principal_axis_of
from gmm_bayes.em.search_mv import (
    distinct_mv,
    find_maxima_mv,
    labels_start,
    params_of,
    rank_runs,
    start_labels,
)
from gmm_bayes.exceptions import DataError, FitError

__all__ = ["ChunkedRows", "fit_dask_matrix"]


def fit_dask_matrix(
    x,
    n_components=2,
    *,
    n_init=5,
    init="mixed",
    tol=1e-6,
    max_iter=1000,
    reg_covar=None,
    random_state=None,
    covariance_type="full",
    weights_init=None,
    means_init=None,
    covariances_init=None,
):
    """:func:`gmm_bayes.fit_em` for a dask array of (N, d) rows (same options and result).

    Parameters
    ----------
    x : dask.array.Array, shape (N, d)
        Real numbers, chunks of known size (the columns are put in one chunk).
    n_components : int
    n_init, init, tol, max_iter, reg_covar, random_state, covariance_type
        As :func:`gmm_bayes.fit_em`.
    weights_init, means_init, covariances_init : array_like, optional
        As :func:`gmm_bayes.fit_em`; all three: one run from exactly that start on the chunks.

    Returns
    -------
    EMResult
        Its classification entropy (for ICL) is the sample's, times N / M.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.vstack([rng.normal(size=(1500, 2)), rng.normal(size=(1500, 2)) + [8.0, 0.0]])
    >>> fit = fit_dask_matrix(da.from_array(x, chunks=(1000, 2)), 2, random_state=0)
    >>> fit.n_obs, fit.weights.round(2).tolist()
    (3000, [0.5, 0.5])
    """
    x = _as_chunked_matrix(x)
    n, d = x.shape
    inits = (weights_init, means_init, covariances_init)
    options = dict(
        n_init=n_init,
        init=init,
        tol=tol,
        max_iter=max_iter,
        reg_covar=reg_covar,
        random_state=random_state,
        covariance_type=covariance_type,
    )
    if n <= SEARCH_SAMPLE_SIZE:
        return fit_em_mv(x.compute(), n_components, **_named(inits), **options)
    robust_rows = np.linspace(0, n - 1, min(n, ROBUST_POINTS)).astype(np.intp)
    checked, covariance, robust = dask.compute(
        _finite_rows(x), da.cov(x, rowvar=False), x[robust_rows]
    )
    _raise_on_non_finite(checked, x.chunks[0])
    k, settings = search_settings(robust, n, n_components, **options)
    sample = x[search_sample(n, settings.rng)].compute()
    source = ChunkedRows(x)
    start = explicit_start(sample, k, settings, *inits)
    if all(value is not None for value in inits) or init == "quantile":
        if start is None:
            start = labels_start(sample, start_labels(sample, k, "quantile", None), k, settings)
        candidates = [start]
    else:
        found = find_maxima_mv(sample, k, settings, start=start)
        candidates = [params_of(r.run) for r in distinct_mv(sample, found)[:MAX_POLISHED]]
    runs = []
    for params in candidates:
        ranked = rank_runs([_run_on_chunks(source, params, settings)], n, settings)
        runs = sorted(runs + ranked, key=lambda r: r.key)
        if runs and not runs[0].collapsed.any():
            break
    return result_mv(runs, settings, n, principal_axis_of(covariance), sample)


class ChunkedRows:
    """The fused EM pass over a dask array's row chunks, as :func:`~.kernel_mv.em_pass_mv`.

    Parameters
    ----------
    x : dask.array.Array, shape (N, d)
        One chunk across the columns.

    Examples
    --------
    >>> rows = ChunkedRows(da.from_array(np.array([[-1.0, 0.0], [1.0, 0.0]]), chunks=(1, 2)))
    >>> ll, nk, means, scatter = rows(np.ones(1), np.zeros((1, 2)), np.eye(2)[None])
    >>> round(ll, 6), means.tolist(), scatter[0].tolist()
    (-4.675754, [[0.0, 0.0]], [[2.0, 0.0], [0.0, 0.0]])
    """

    def __init__(self, x):
        self.x = x

    def __call__(self, weights, means, covariances):
        k, d = np.shape(means)
        width = 1 + k + k * d + k * d * d
        chunk_rows = functools.partial(
            _chunk_statistics,
            params=(np.array(weights), np.array(means), np.array(covariances)),
        )
        rows = self.x.map_blocks(
            chunk_rows,
            drop_axis=1,
            chunks=((width,) * self.x.numblocks[0],),
            dtype=np.float64,
        )
        total = merge_rows_mv(rows.compute().reshape(-1, width), k, d)
        return finish_mv(total, np.asarray(means, dtype=np.float64))


def _chunk_statistics(chunk, *, params):
    """One chunk's merged statistics (all NaN for an invalid mixture)."""
    weights, means, covariances = params
    k, d = means.shape
    if chunk.shape[0] == 0:
        return np.zeros(1 + k + k * d + k * d * d)
    rows = em_rows_mv(
        np.asarray(chunk, dtype=np.float64), weights, means, covariances, parallel=False
    )
    return merge_rows_mv(rows, k, d)


def _run_on_chunks(source, params, settings):
    """One run to convergence on the chunks from ``params``, or None if it failed."""
    try:
        return iterate_mv(
            source,
            source.x.shape[0],
            params,
            settings.covariance_type,
            settings.tol,
            settings.max_iter,
            settings.reg,
        )
    except FitError:
        return None


def _as_chunked_matrix(x, name="x"):
    """Check a dask array of (N, d) rows as the in-memory path checks an array (lazily)."""
    kind = x.dtype.kind
    if kind not in "iuf":
        raise TypeError(f"{name} must contain real numbers, got dtype {x.dtype}")
    if any(np.isnan(size) for size in x.chunks[0]):
        raise ValueError(
            f"{name} has chunks of unknown size; call {name}.compute_chunk_sizes() first"
        )
    if x.shape[0] == 0:
        raise DataError(f"{name} is empty: at least one row is needed")
    return x.astype(np.float64).rechunk({1: -1})


def _finite_rows(x):
    """Per chunk: ``(count of rows with a non-finite value, first such row in the chunk)``."""
    return x.map_blocks(
        _chunk_non_finite, drop_axis=1, chunks=((2,) * x.numblocks[0],), dtype=np.float64
    )


def _chunk_non_finite(chunk):
    bad = ~np.isfinite(chunk).all(axis=1)
    return np.array([bad.sum(), np.argmax(bad) if bad.any() else 0.0])


def _raise_on_non_finite(checked, chunk_sizes):
    """DataError naming the first row with a non-finite value, if any."""
    counts, firsts = checked.reshape(-1, 2).T
    bad = np.flatnonzero(counts)
    if not bad.size:
        return
    row = int(np.sum(chunk_sizes[: bad[0]]) + firsts[bad[0]])
    raise DataError(
        f"x has a non-finite value in row {row} ({int(counts.sum())} such rows in all); drop "
        "or impute them first"
    )


def _named(inits):
    return dict(zip(("weights_init", "means_init", "covariances_init"), inits, strict=True))
