"""The fast EM pass for (N, d) data: log-likelihood and sufficient statistics in one blocked sweep.

The multivariate counterpart of :mod:`gmm_bayes.em.kernel`. One pass over the data per EM
iteration, in blocks that stay in cache. Component densities come from the Cholesky factors of
the covariances: with ``S_k = L_k L_k^T`` and the upper-triangular ``U_k = L_k^{-T}``, the
Mahalanobis distance is ``|(x - m_k) U_k|^2`` and ``log det S_k = 2 sum log diag L_k``; no
covariance is ever inverted. Each block yields ``1 + K + K d + K d d`` numbers: its
log-likelihood and, per component, the effective count ``n``, the shift ``a`` (d,) of the
block's weighted mean from the current mean and the weighted scatter matrix ``m2`` (d, d)
about the block's weighted mean (computed in two passes within the block). Blocks are merged
pairwise with Chan et al.'s update, ``m2 = m2_1 + m2_2 + n_1 n_2 / (n_1 + n_2) delta delta^T``,
so no covariance is formed as a difference of large sums.

Backends, with the same numbers to rounding: numba (:mod:`~gmm_bayes.em.kernel_mv_numba`, from
``NUMBA_MIN_SIZE`` rows up, blocks dealt to all cores) and numpy (B x K x d temporaries per
block of B rows, never N x K x d).
"""

import threading
import time

import numpy as np

from gmm_bayes.em.kernel import COUNT_EPS, PARALLEL_MIN_SIZE, CompiledBackend, _Pace

#: rows per block of the numpy backend
NUMPY_BLOCK = 1 << 12

_NUMBA = CompiledBackend("gmm_bayes.em.kernel_mv_numba")
_parallel_lock = threading.Lock()  # a second concurrent caller takes the serial kernel
# all threads or one, whichever has lately been faster (busy cores make spin-waiting costly)
_pace = _Pace()

__all__ = [
    "NUMPY_BLOCK",
    "cholesky_factors",
    "em_pass_mv",
    "em_rows_mv",
    "finish_mv",
    "log_prob_resp",
    "merge_rows_mv",
]


def em_pass_mv(x, weights, means, covariances, *, parallel=True, backend=None):
    """One E-step and the sufficient statistics of the next M-step, in one pass over (N, d) data.

    Parameters
    ----------
    x : ndarray, shape (N, d)
    weights : ndarray, shape (K,)
    means : ndarray, shape (K, d)
    covariances : ndarray, shape (K, d, d)
        Symmetric positive definite (the canonical shape of :mod:`gmm_bayes.em.covariance`).
    parallel : bool
        Allow all of numba's threads from ``PARALLEL_MIN_SIZE`` rows up, unless another thread
        is in a parallel pass; all threads or one are then used, whichever has lately been
        faster per row (as the univariate pass does; the numbers are the same either way).
    backend : {None, "numba", "numpy"}
        ``None`` picks numba from ``NUMBA_MIN_SIZE`` rows up, when it is installed.

    Returns
    -------
    log_likelihood : float
        NaN when the parameters are not a valid mixture (e.g. a singular covariance).
    nk : ndarray, shape (K,)
        Effective counts plus ``COUNT_EPS`` (as scikit-learn).
    new_means : ndarray, shape (K, d)
        Weighted means ``sum_n r_nk x_n / nk``.
    scatter : ndarray, shape (K, d, d)
        ``sum_n r_nk (x_n - new_mean_k)(x_n - new_mean_k)^T``; the M-step of the covariances is
        :func:`gmm_bayes.em.covariance.covariances_from_scatter`.

    Examples
    --------
    >>> x = np.array([[-1.0, 0.0], [1.0, 0.0], [9.0, 10.0], [11.0, 10.0]])
    >>> means = np.array([[0.0, 0.0], [10.0, 10.0]])
    >>> ll, nk, m, scatter = em_pass_mv(x, np.full(2, 0.5), means, np.stack([np.eye(2)] * 2))
    >>> nk.round(6).tolist(), m.round(6).tolist(), scatter[0].round(6).tolist()
    ([2.0, 2.0], [[0.0, 0.0], [10.0, 10.0]], [[2.0, 0.0], [0.0, 0.0]])
    """
    means = np.asarray(means, dtype=np.float64)
    rows = em_rows_mv(x, weights, means, covariances, parallel=parallel, backend=backend)
    return finish_mv(merge_rows_mv(rows, *means.shape), means)


def em_rows_mv(x, weights, means, covariances, *, parallel=True, backend=None):
    """Per-block statistics, as :func:`merge_rows_mv` takes them (arguments as :func:`em_pass_mv`).

    Returns
    -------
    ndarray, shape (n_blocks, 1 + K + K d + K d d)
        Per block: log-likelihood, counts ``n`` (K), shifts ``a`` (K, d) of the weighted means
        from ``means``, scatter ``m2`` (K, d, d) about them, each flattened in C order. All NaN
        (one row) when the parameters are not a valid mixture.

    Examples
    --------
    >>> x = np.array([[-1.0], [1.0]])
    >>> em_rows_mv(x, np.ones(1), np.zeros((1, 1)), np.ones((1, 1, 1))).round(6).tolist()
    [[-2.837877, 2.0, 0.0, 2.0]]
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    means = np.ascontiguousarray(means, dtype=np.float64)
    k, d = means.shape
    factors = cholesky_factors(weights, means, covariances)
    if factors is None:
        return np.full((1, 1 + k + k * d + k * d * d), np.nan)
    compiled = _NUMBA.choose(x.shape[0], backend)
    if compiled is None:
        return _numpy_rows(x, *factors, means)
    threads = min(compiled.thread_count(), -(-x.shape[0] // compiled.BLOCK))
    wanted = parallel and threads > 1 and x.shape[0] >= PARALLEL_MIN_SIZE
    if not (wanted and _parallel_lock.acquire(blocking=False)):
        return compiled.em_blocks_mv_serial(x, *factors, means)
    try:
        use_threads = _pace.choose()
        start = time.perf_counter()
        if use_threads:
            rows = compiled.em_blocks_mv_parallel(x, *factors, means, threads)
        else:
            rows = compiled.em_blocks_mv_serial(x, *factors, means)
        _pace.record(use_threads, (time.perf_counter() - start) / x.shape[0])
        return rows
    finally:
        _parallel_lock.release()


def cholesky_factors(weights, means, covariances):
    """``(const, precision_cholesky)`` of the component log densities, or None if invalid.

    Parameters
    ----------
    weights : ndarray, shape (K,)
    means : ndarray, shape (K, d)
    covariances : ndarray, shape (K, d, d)

    Returns
    -------
    const : ndarray, shape (K,)
        ``log w_k - d log(2 pi) / 2 - sum log diag L_k``.
    precision_cholesky : ndarray, shape (K, d, d)
        Upper triangular ``U_k = L_k^{-T}``, so that
        ``log w_k + log N(x | m_k, S_k) = const_k - |(x - m_k) U_k|^2 / 2``.

    Examples
    --------
    >>> const, u = cholesky_factors(np.ones(1), np.zeros((1, 1)), np.full((1, 1, 1), 4.0))
    >>> const.round(6).tolist(), u.tolist()
    ([-1.612086], [[[0.5]]])
    """
    weights = np.asarray(weights, dtype=np.float64)
    covariances = np.asarray(covariances, dtype=np.float64)
    d = covariances.shape[-1]
    if not (np.isfinite(means).all() and np.isfinite(covariances).all()):
        return None
    try:
        chol = np.linalg.cholesky(covariances)
    except np.linalg.LinAlgError:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        log_diag = np.log(np.diagonal(chol, axis1=1, axis2=2))
        const = np.log(weights) - 0.5 * d * np.log(2 * np.pi) - log_diag.sum(axis=1)
    eye = np.broadcast_to(np.eye(d), covariances.shape)
    with np.errstate(all="ignore"):
        upper = np.swapaxes(np.linalg.solve(chol, eye), 1, 2)
    valid = (
        np.isfinite(upper).all()
        and not np.isnan(const).any()
        and (const < np.inf).all()
        and (const > -np.inf).any()
    )
    return (np.ascontiguousarray(const), np.ascontiguousarray(upper)) if valid else None


def _block_log_joint(xb, const, upper, means):
    """``log w_k + log N(x_n | m_k, S_k)``, shape (B, K), and the deviations (B, K, d)."""
    diff = xb[:, None, :] - means
    y = np.einsum("bkc,kce->bke", diff, upper)
    return const - 0.5 * np.einsum("bke,bke->bk", y, y), diff


def _numpy_rows(x, const, upper, means, block=NUMPY_BLOCK):
    """The numpy backend of :func:`em_rows_mv`: B x K x d temporaries per block."""
    k, d = means.shape
    rows = np.empty((-(-x.shape[0] // block), 1 + k + k * d + k * d * d))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for b, start in enumerate(range(0, x.shape[0], block)):
            log_joint, diff = _block_log_joint(x[start : start + block], const, upper, means)
            top = log_joint.max(axis=1, keepdims=True)
            p = np.exp(log_joint - top)
            total = p.sum(axis=1, keepdims=True)
            r = p / total
            count = r.sum(axis=0)
            weighted = np.einsum("bk,bkc->kc", r, diff)
            shift = np.divide(weighted, count[:, None], where=count[:, None] > 0, out=weighted)
            diff -= shift
            scatter = np.einsum("bk,bki,bkj->kij", r, diff, diff)
            rows[b, 0] = np.sum(top) + np.sum(np.log(total))
            rows[b, 1:] = np.concatenate([count, shift.ravel(), scatter.ravel()])
    return rows


def merge_rows_mv(rows, k, d):
    """Merge per-block statistics pairwise, with Chan et al.'s update.

    Parameters
    ----------
    rows : ndarray, shape (B, 1 + K + K d + K d d)
        As :func:`em_rows_mv` returns; the shifts are from one reference common to all rows.
    k, d : int

    Returns
    -------
    ndarray, shape (1 + K + K d + K d d,)
        The same quantities for the union of the blocks.

    Examples
    --------
    >>> rows = np.array([[-1.0, 2.0, -1.0, 0.0], [-2.0, 2.0, 1.0, 0.0]])  # {-1, -1}, {1, 1}
    >>> merge_rows_mv(rows, 1, 1).tolist()  # {-1, -1, 1, 1}: mean 0, sum of squares 4
    [-3.0, 4.0, 0.0, 4.0]
    """
    rows = np.asarray(rows, dtype=np.float64)
    log_likelihood = float(np.sum(rows[:, 0]))
    n = rows[:, 1 : 1 + k]
    a = rows[:, 1 + k : 1 + k + k * d].reshape(-1, k, d)
    m2 = rows[:, 1 + k + k * d :].reshape(-1, k, d, d)
    while n.shape[0] > 1:
        half = n.shape[0] // 2
        rest = n.shape[0] - half
        n1, n2 = n[:half], n[rest:]
        total = n1 + n2
        frac = np.divide(n2, total, where=total > 0, out=np.zeros_like(total))
        delta = a[rest:] - a[:half]
        outer = delta[..., :, None] * delta[..., None, :]
        merged_m2 = m2[:half] + m2[rest:] + outer * (n1 * frac)[..., None, None]
        n = np.concatenate([total, n[half:rest]])
        a = np.concatenate([a[:half] + delta * frac[..., None], a[half:rest]])
        m2 = np.concatenate([merged_m2, m2[half:rest]])
    return np.concatenate([[log_likelihood], n[0], a[0].ravel(), m2[0].ravel()])


def finish_mv(total, reference):
    """Turn merged statistics into ``(log_likelihood, nk, means, scatter)``.

    Parameters
    ----------
    total : ndarray, shape (1 + K + K d + K d d,)
        From :func:`merge_rows_mv`.
    reference : ndarray, shape (K, d)
        The point the shifts are measured from (the current means).

    Returns
    -------
    log_likelihood : float
    nk : ndarray, shape (K,)
        ``n + COUNT_EPS``.
    means : ndarray, shape (K, d)
        Weighted sums divided by ``nk`` (as scikit-learn).
    scatter : ndarray, shape (K, d, d)
        About those means.

    Examples
    --------
    >>> ll, nk, means, scatter = finish_mv(np.array([-3.0, 4.0, 0.5, 4.0]), np.array([[10.0]]))
    >>> ll, nk.round(6).tolist(), means.round(6).tolist(), scatter.round(6).tolist()
    (-3.0, [4.0], [[10.5]], [[[4.0]]])
    """
    k, d = reference.shape
    n = total[1 : 1 + k]
    a = total[1 + k : 1 + k + k * d].reshape(k, d)
    m2 = total[1 + k + k * d :].reshape(k, d, d)
    nk = n + COUNT_EPS
    shift = a * (n / nk)[:, None]
    off = a - shift
    scatter = m2 + n[:, None, None] * off[:, :, None] * off[:, None, :]
    return float(total[0]), nk, reference + shift, scatter


def log_prob_resp(x, weights, means, covariances, block=NUMPY_BLOCK):
    """Per-row log density and log responsibilities (scikit-learn's ``_estimate_log_prob_resp``).

    For ``predict``, ``predict_proba`` and ``score_samples``; EM itself never forms them.

    Parameters
    ----------
    x : ndarray, shape (N, d)
    weights, means, covariances : ndarray, shapes (K,), (K, d), (K, d, d)
    block : int
        Rows per block: temporaries are (block, K, d).

    Returns
    -------
    log_density : ndarray, shape (N,)
    log_resp : ndarray, shape (N, K)

    Examples
    --------
    >>> x = np.zeros((1, 2))
    >>> dens, resp = log_prob_resp(x, np.ones(1), np.zeros((1, 2)), np.eye(2)[None])
    >>> round(float(dens[0]), 6), resp.tolist()
    (-1.837877, [[0.0]])
    """
    x = np.asarray(x, dtype=np.float64)
    factors = cholesky_factors(weights, means, covariances)
    if factors is None:
        raise ValueError("the parameters are not a valid mixture (a covariance is singular)")
    k = np.shape(weights)[0]
    log_density, log_resp = np.empty(x.shape[0]), np.empty((x.shape[0], k))
    for start in range(0, x.shape[0], block):
        log_joint, _ = _block_log_joint(x[start : start + block], *factors, means)
        top = log_joint.max(axis=1, keepdims=True)
        total = top + np.log(np.exp(log_joint - top).sum(axis=1, keepdims=True))
        log_density[start : start + block] = total[:, 0]
        log_resp[start : start + block] = log_joint - total
    return log_density, log_resp
