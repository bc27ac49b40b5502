"""Compiled loops of the multivariate EM pass (numba); imported by :mod:`~gmm_bayes.em.kernel_mv`.

The same rules as :mod:`gmm_bayes.em.kernel_numba`, whose vectorized ``exp`` and sums of logs
this module reuses: every loop runs over the compile-time constant ``BLOCK`` rows, no ``fastmath``
(each block's numbers are deterministic and independent of the thread count). A block of rows
is first transposed to (d, BLOCK), so every inner loop runs over contiguous rows. Sums over a
block use eight independent accumulators (:func:`_lane_dot`), which LLVM keeps in vector
registers without reordering any addition.
"""

import numba as nb
import numpy as np

from gmm_bayes.em.kernel_numba import BLOCK, _exp_nonpositive, _pairwise_sum, _sum_log

__all__ = ["BLOCK", "em_blocks_mv_parallel", "em_blocks_mv_serial", "thread_count"]

_jit = nb.njit(cache=True, error_model="numpy")
_inline = nb.njit(cache=True, error_model="numpy", inline="always")
_LANES = 8


@_inline
def _lane_dot(a, b):
    """``sum(a * b)`` over (BLOCK,) rows, in eight interleaved partial sums."""
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
    for i in range(0, BLOCK, _LANES):
        s0 += a[i] * b[i]
        s1 += a[i + 1] * b[i + 1]
        s2 += a[i + 2] * b[i + 2]
        s3 += a[i + 3] * b[i + 3]
        s4 += a[i + 4] * b[i + 4]
        s5 += a[i + 5] * b[i + 5]
        s6 += a[i + 6] * b[i + 6]
        s7 += a[i + 7] * b[i + 7]
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))


@_inline
def _deviations(xb, means, j, diff):
    """``diff[c, i] = xb[c, i] - means[j, c]``."""
    for c in range(xb.shape[0]):
        mu = means[j, c]
        for i in range(BLOCK):
            diff[c, i] = xb[c, i] - mu


@_inline
def _log_joint(xb, const, upper, means, logp, top, diff, acc, maha):
    """``logp[j] = const_j - |(x - m_j) U_j|^2 / 2`` and ``top`` its maximum over j."""
    k, d = means.shape
    for i in range(BLOCK):
        top[i] = -np.inf
    for j in range(k):
        _deviations(xb, means, j, diff)
        for i in range(BLOCK):
            maha[i] = 0.0
        for e in range(d):
            for i in range(BLOCK):
                acc[i] = 0.0
            for c in range(e + 1):
                u = upper[j, c, e]
                for i in range(BLOCK):
                    acc[i] += diff[c, i] * u
            for i in range(BLOCK):
                maha[i] += acc[i] * acc[i]
        cj = const[j]
        for i in range(BLOCK):
            v = cj - 0.5 * maha[i]
            logp[j, i] = v
            top[i] = max(top[i], v)


@_inline
def _block_mv(x, lo, const, upper, means, out, b, s):
    """Statistics of rows ``x[lo:lo + BLOCK]`` into row ``b`` of ``out``.

    ``s`` holds the scratch buffers; a last, shorter block is padded with its first row, which
    gets zero responsibility and zero log-likelihood.
    """
    logp, xb, diff, rd, top, tot, work, acc, bits = s
    k, d = means.shape
    m = min(BLOCK, x.shape[0] - lo)
    for c in range(d):
        for i in range(m):
            xb[c, i] = x[lo + i, c]
        for i in range(m, BLOCK):
            xb[c, i] = xb[c, 0]
    _log_joint(xb, const, upper, means, logp, top, diff, acc, work)
    for i in range(BLOCK):
        tot[i] = 0.0
    for j in range(k):
        row = logp[j]
        for i in range(BLOCK):
            row[i] -= top[i]
        _exp_nonpositive(row, bits)
        for i in range(BLOCK):
            tot[i] += row[i]
    for i in range(m, BLOCK):
        top[i] = 0.0
        tot[i] = 1.0
    for i in range(BLOCK):
        work[i] = top[i]
    log_likelihood = _pairwise_sum(work)
    for i in range(BLOCK):
        work[i] = tot[i]
    out[b, 0] = log_likelihood + _sum_log(work)
    for i in range(BLOCK):
        tot[i] = 1.0 / tot[i]
    for i in range(m, BLOCK):
        tot[i] = 0.0
    for i in range(BLOCK):
        work[i] = 1.0
    for j in range(k):
        _component_stats(xb, means, j, logp[j], tot, diff, rd, work, out, b)


@_inline
def _component_stats(xb, means, j, r, inv_total, diff, rd, ones, out, b):
    """Count, shift of the weighted mean from ``means[j]`` and scatter about it, into ``out``."""
    k, d = means.shape
    for i in range(BLOCK):
        r[i] *= inv_total[i]  # responsibilities
    count = _lane_dot(r, ones)
    _deviations(xb, means, j, diff)
    shift_at = 1 + k + j * d
    for c in range(d):
        shift = _lane_dot(r, diff[c]) / count if count > 0 else 0.0
        out[b, shift_at + c] = shift
        for i in range(BLOCK):
            diff[c, i] -= shift
            rd[c, i] = r[i] * diff[c, i]
    out[b, 1 + j] = count
    scatter_at = 1 + k + k * d + j * d * d
    for p in range(d):
        for q in range(p, d):
            value = _lane_dot(rd[p], diff[q])
            out[b, scatter_at + p * d + q] = value
            out[b, scatter_at + q * d + p] = value


@_jit
def _blocks_range(x, const, upper, means, out, first, stride):
    """Blocks ``first, first + stride, ...`` with one set of scratch buffers."""
    k, d = means.shape
    scratch = (
        np.empty((k, BLOCK)),
        np.empty((d, BLOCK)),
        np.empty((d, BLOCK)),
        np.empty((d, BLOCK)),
        np.empty(BLOCK),
        np.empty(BLOCK),
        np.empty(BLOCK),
        np.empty(BLOCK),
        np.empty(BLOCK, dtype=np.int64),
    )
    for b in range(first, out.shape[0], stride):
        _block_mv(x, b * BLOCK, const, upper, means, out, b, scratch)


@_jit
def em_blocks_mv_serial(x, const, upper, means):
    """Per-block log-likelihood and statistics, on the calling thread.

    Parameters
    ----------
    x : ndarray, shape (N, d), C-contiguous
    const : ndarray, shape (K,)
        ``log w_k - d log(2 pi) / 2 - log det(S_k) / 2``.
    upper : ndarray, shape (K, d, d)
        ``U_k = L_k^{-T}``, upper triangular (only its upper triangle is read).
    means : ndarray, shape (K, d)

    Returns
    -------
    ndarray, shape (ceil(N / BLOCK), 1 + K + K d + K d d)
        As :func:`gmm_bayes.em.kernel_mv.em_rows_mv`.

    Examples
    --------
    >>> const = np.array([-0.5 * np.log(2 * np.pi)])  # one component, N(0, 1)
    >>> x, eye = np.array([[-1.0], [1.0]]), np.ones((1, 1, 1))
    >>> em_blocks_mv_serial(x, const, eye, np.zeros((1, 1))).round(6).tolist()
    [[-2.837877, 2.0, 0.0, 2.0]]
    """
    k, d = means.shape
    out = np.empty(((x.shape[0] + BLOCK - 1) // BLOCK, 1 + k + k * d + k * d * d))
    _blocks_range(x, const, upper, means, out, 0, 1)
    return out


@nb.njit(cache=True, error_model="numpy", parallel=True)
def em_blocks_mv_parallel(x, const, upper, means, n_threads):
    """As :func:`em_blocks_mv_serial`, blocks dealt round-robin to ``n_threads`` threads.

    Examples
    --------
    >>> x = np.linspace(-3.0, 3.0, 2 * (3 * BLOCK + 5)).reshape(-1, 2)
    >>> upper = np.stack([np.eye(2)] * 2)
    >>> args = (x, np.full(2, -2.0), upper, np.array([[-1.0, 0.0], [1.0, 0.0]]))
    >>> bool(np.array_equal(em_blocks_mv_parallel(*args, 2), em_blocks_mv_serial(*args)))
    True
    """
    k, d = means.shape
    out = np.empty(((x.shape[0] + BLOCK - 1) // BLOCK, 1 + k + k * d + k * d * d))
    for t in nb.prange(n_threads):
        _blocks_range(x, const, upper, means, out, t, n_threads)
    return out


def thread_count():
    """Threads numba's parallel kernel may use (``numba.set_num_threads`` limits them).

    Examples
    --------
    >>> thread_count() >= 1
    True
    """
    return nb.get_num_threads()
