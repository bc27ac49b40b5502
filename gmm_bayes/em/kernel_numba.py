"""Compiled loops of the EM pass (numba). Imported by :mod:`gmm_bayes.em.kernel` on first use only.

Every loop here is written so that LLVM vectorizes it without ``fastmath``: no loop-carried
floating-point reduction (sums are pairwise, by halving a buffer in place), ``exp`` is an
inlined polynomial rather than a call into libm (which LLVM cannot vectorize), trip counts are
the compile-time constant ``BLOCK``, and ``error_model="numpy"`` drops the zero-division branch
that would keep ``1 / total`` scalar. The per-block results are therefore deterministic and
independent of the number of threads. What each of these choices bought: ``bench/README.md``.
"""

import numba as nb
import numpy as np
from numba.core import types
from numba.extending import intrinsic

__all__ = ["BLOCK", "em_blocks_parallel", "em_blocks_serial", "thread_count"]

_LOG2E = 1.4426950408889634
# Cody-Waite split of log(2): n * _LN2_HI is exact for |n| < 2**21
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
# exp(r) on |r| <= log(2)/2: Taylor to degree 13 (truncation < 1e-17, relative)
_C = [1.0]
for _k in range(1, 14):
    _C.append(_C[-1] / _k)
_C0, _C1, _C2, _C3, _C4, _C5, _C6, _C7, _C8, _C9, _C10, _C11, _C12, _C13 = _C
#: rows per block; a constant, so that every loop has a trip count known at compile time
BLOCK = 4096
#: below this, exp underflows to subnormals; we return 0 there (relative error <= 1e-307)
_EXP_MIN = -708.0
#: sum of logs of products of at most 2**_LOG_HALVINGS totals, each total in [1, K]
_LOG_HALVINGS = 4

_jit = nb.njit(cache=True, error_model="numpy")
_inline = nb.njit(cache=True, error_model="numpy", inline="always")


@intrinsic
def _fma(typingctx, a, b, c):
    """``a * b + c`` rounded once (IEEE fused multiply-add): one instruction, exact semantics.

    Not a ``fastmath`` contraction: the result is the same on every machine (one without FMA
    hardware computes it in software, slowly).
    """
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        return builder.fma(*args)

    return sig, codegen


@_inline
def _exp_nonpositive(t, bits):
    """``t <- exp(t)`` for ``t <= 0``, shape (BLOCK,); max relative error about one ulp."""
    for i in range(BLOCK):
        x = t[i]
        xc = max(x, _EXP_MIN)
        n = np.rint(xc * _LOG2E)
        r = (xc - n * _LN2_HI) - n * _LN2_LO
        p = _C13
        p = _fma(p, r, _C12)
        p = _fma(p, r, _C11)
        p = _fma(p, r, _C10)
        p = _fma(p, r, _C9)
        p = _fma(p, r, _C8)
        p = _fma(p, r, _C7)
        p = _fma(p, r, _C6)
        p = _fma(p, r, _C5)
        p = _fma(p, r, _C4)
        p = _fma(p, r, _C3)
        p = _fma(p, r, _C2)
        p = _fma(p, r, _C1)
        p = _fma(p, r, _C0)
        bits[i] = (np.int64(n) + 1023) << 52  # 2**n, as the bits of a float64
        t[i] = p if x >= _EXP_MIN else 0.0
    scale = bits.view(np.float64)
    for i in range(BLOCK):
        t[i] *= scale[i]


@_inline
def _pairwise_sum(t):
    """Pairwise sum of ``t``, shape (BLOCK,) (overwrites it): error O(log BLOCK) ulps."""
    m = BLOCK
    while m > 8:
        h = m // 2
        rest = m - h
        for i in range(h):
            t[i] += t[rest + i]
        m = rest
    s = 0.0
    for i in range(m):
        s += t[i]
    return s


@_inline
def _sum_log(t):
    """``sum(log(t))`` for ``t >= 1``, shape (BLOCK,) (overwrites it), one log per 16 values.

    Totals lie in [1, K], so a product of 16 of them cannot overflow for any K below 1e19.
    """
    m = BLOCK
    for _ in range(_LOG_HALVINGS):
        h = m // 2
        rest = m - h
        for i in range(h):
            t[i] *= t[rest + i]
        m = rest
    for i in range(m):
        t[i] = np.log(t[i])
    for i in range(m, BLOCK):
        t[i] = 0.0
    return _pairwise_sum(t)


@_inline
def _block(z, lo, const, half_precision, means, out, b, buf, zb, top, tot, bits, work):
    """Statistics of ``z[lo:lo + BLOCK]`` into row ``b`` of ``out`` (see :func:`em_blocks`).

    Every loop runs over exactly ``BLOCK`` rows (a compile-time constant, which LLVM turns into
    simpler and faster vector code); a last, shorter block is padded with its first value and
    the padding is given zero responsibility and zero log-likelihood.
    """
    k = means.size
    m = min(BLOCK, z.size - lo)
    for i in range(m):
        zb[i] = z[lo + i]
    for i in range(m, BLOCK):
        zb[i] = zb[0]
    for i in range(BLOCK):
        top[i] = -np.inf
        tot[i] = 0.0
    for j in range(k):
        mu, c, h = means[j], const[j], half_precision[j]
        for i in range(BLOCK):
            d = zb[i] - mu
            v = c - d * d * h
            buf[j, i] = v
            top[i] = max(top[i], v)
    for j in range(k):
        row = buf[j]
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
    for j in range(k):
        mu, row = means[j], buf[j]
        for i in range(BLOCK):
            row[i] *= tot[i]  # responsibilities
            work[i] = row[i]
        count = _pairwise_sum(work)
        for i in range(BLOCK):
            work[i] = row[i] * (zb[i] - mu)
        shift = _pairwise_sum(work) / count if count > 0 else 0.0
        for i in range(BLOCK):
            d = (zb[i] - mu) - shift
            work[i] = row[i] * d * d
        out[b, 1 + j] = count
        out[b, 1 + k + j] = shift
        out[b, 1 + 2 * k + j] = _pairwise_sum(work)


@_jit
def _blocks_range(z, const, half_precision, means, out, first, stride):
    """Blocks ``first, first + stride, ...`` with one set of scratch buffers."""
    buf = np.empty((means.size, BLOCK))
    zb, top, tot, work = np.empty(BLOCK), np.empty(BLOCK), np.empty(BLOCK), np.empty(BLOCK)
    bits = np.empty(BLOCK, dtype=np.int64)
    for b in range(first, out.shape[0], stride):
        _block(z, b * BLOCK, const, half_precision, means, out, b, buf, zb, top, tot, bits, work)


@_jit
def em_blocks_serial(z, const, half_precision, means):
    """Per-block log-likelihood and statistics, on the calling thread.

    Parameters
    ----------
    z : ndarray, shape (N,)
    const : ndarray, shape (K,)
        ``log w_k - log(2 pi var_k) / 2``.
    half_precision : ndarray, shape (K,)
        ``1 / (2 var_k)``.
    means : ndarray, shape (K,)

    Returns
    -------
    ndarray, shape (ceil(N / BLOCK), 1 + 3K)
        Per block: log-likelihood, then per component the effective count ``n``, the shift
        ``a`` of its weighted mean from ``means`` and its weighted sum of squares ``m2`` about
        ``means + a``.

    Examples
    --------
    >>> const = np.array([-0.5 * np.log(2 * np.pi)])  # one component, N(0, 1)
    >>> rows = em_blocks_serial(np.array([-1.0, 1.0]), const, np.array([0.5]), np.zeros(1))
    >>> rows.round(6).tolist()
    [[-2.837877, 2.0, 0.0, 2.0]]
    """
    out = np.empty(((z.size + BLOCK - 1) // BLOCK, 1 + 3 * means.size))
    _blocks_range(z, const, half_precision, means, out, 0, 1)
    return out


@nb.njit(cache=True, error_model="numpy", parallel=True)
def em_blocks_parallel(z, const, half_precision, means, n_threads):
    """As :func:`em_blocks_serial`, blocks dealt round-robin to ``n_threads`` threads.

    The same numbers whatever ``n_threads``: each block is computed alone.

    Examples
    --------
    >>> z = np.linspace(-3.0, 3.0, 3 * BLOCK + 5)
    >>> args = (z, np.full(2, -1.0), np.full(2, 0.5), np.array([-1.0, 1.0]))
    >>> bool(np.array_equal(em_blocks_parallel(*args, 2), em_blocks_serial(*args)))
    True
    """
    out = np.empty(((z.size + BLOCK - 1) // BLOCK, 1 + 3 * means.size))
    for t in nb.prange(n_threads):
        _blocks_range(z, const, half_precision, means, out, t, n_threads)
    return out


def thread_count():
    """Threads numba's parallel kernel may use (``numba.set_num_threads`` limits them).

    Examples
    --------
    >>> thread_count() >= 1
    True
    """
    return nb.get_num_threads()
