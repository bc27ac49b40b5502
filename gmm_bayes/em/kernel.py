"""The fast in-memory EM pass: log-likelihood and sufficient statistics in one blocked sweep.

One pass over the data per EM iteration. The data are cut into blocks that stay in cache; each
block yields ``1 + 3K`` numbers (its log-likelihood, and per component the effective count
``n``, the shift ``a`` of the weighted mean from the current mean, and the weighted sum of
squares ``m2`` about that weighted mean). Blocks are merged pairwise with Chan et al.'s update,
so no variance is ever formed as a difference of large sums: data near 1e8 with spread 1 keep
their precision even without the driver's standardization. The same rows, one per chunk, are
what :mod:`gmm_bayes.em.dask_source` sends over the network.

Two backends compute the rows, with the same numbers to rounding:

- numba (:mod:`~gmm_bayes.em.kernel_numba`), from ``NUMBA_MIN_SIZE`` observations up: fused
  loops over each block, a vectorized polynomial ``exp``, blocks dealt to all cores;
- numpy, for small data (the first use of numba in a process costs the import of numba and the
  loading of its cached machine code, more than a whole fit of a few thousand points) and when
  numba is not installed.

Why numba, and the measurements behind these choices: ``bench/README.md``.
"""

import importlib
import threading
import time

import numpy as np

#: added to every effective count, as in scikit-learn: an empty component gives no 0/0
COUNT_EPS = 10 * np.finfo(np.float64).eps
#: below this many observations the numpy backend is used (no numba import for small data)
NUMBA_MIN_SIZE = 1 << 13
#: below this many observations one thread is faster than waking the others
PARALLEL_MIN_SIZE = 1 << 17
#: rows per block of the numpy backend
NUMPY_BLOCK = 1 << 14

# numba's fallback "workqueue" threading layer aborts on concurrent parallel calls: a second
# caller (another thread, or dask's threaded scheduler) takes the serial kernel instead.
_parallel_lock = threading.Lock()

__all__ = [
    "COUNT_EPS",
    "CompiledBackend",
    "NUMBA_MIN_SIZE",
    "NUMPY_BLOCK",
    "PARALLEL_MIN_SIZE",
    "em_pass",
    "em_rows",
    "finish",
    "hard_stats",
    "merge_rows",
]


def em_pass(z, weights, means, variances, *, parallel=True, backend=None):
    """One E-step and the sufficient statistics of the next M-step, in one pass.

    Parameters
    ----------
    z : ndarray, shape (N,)
    weights, means, variances : ndarray, shape (K,)
    parallel : bool
        Allow all of numba's threads (``numba.set_num_threads`` limits them) from
        ``PARALLEL_MIN_SIZE`` observations up, unless another thread is in a parallel pass;
        :class:`_Pace` then picks all threads or one, whichever has lately been faster.
    backend : {None, "numba", "numpy"}
        ``None`` picks numba from ``NUMBA_MIN_SIZE`` observations up, when it is installed.

    Returns
    -------
    log_likelihood : float
        NaN when the parameters are not a valid mixture (e.g. a zero variance).
    nk, new_means, new_variances : ndarray, shape (K,)
        Effective counts (plus ``COUNT_EPS``), weighted means and weighted biased variances.

    Examples
    --------
    >>> z = np.array([-1.0, 1.0, 9.0, 11.0])
    >>> ll, nk, means, variances = em_pass(z, np.full(2, 0.5), np.array([0.0, 10.0]), np.ones(2))
    >>> nk.round(6).tolist(), means.round(6).tolist(), variances.round(6).tolist()
    ([2.0, 2.0], [0.0, 10.0], [1.0, 1.0])
    """
    rows = em_rows(z, weights, means, variances, parallel=parallel, backend=backend)
    return finish(merge_rows(rows), means)


def em_rows(z, weights, means, variances, *, parallel=True, backend=None):
    """Per-block statistics, as :func:`merge_rows` takes them (arguments as :func:`em_pass`).

    Returns
    -------
    ndarray, shape (n_blocks, 1 + 3K)
        Per block: log-likelihood, counts ``n`` (K), shifts ``a`` (K) of the weighted means
        from ``means``, weighted sums of squares ``m2`` (K) about them. All NaN (one row) when
        the parameters are not a valid mixture.

    Examples
    --------
    >>> em_rows(np.array([-1.0, 1.0]), np.ones(1), np.zeros(1), np.ones(1)).round(6).tolist()
    [[-2.837877, 2.0, 0.0, 2.0]]
    """
    z = np.ascontiguousarray(z, dtype=np.float64)
    means = np.ascontiguousarray(means, dtype=np.float64)
    coefficients = _coefficients(weights, means, variances)
    if coefficients is None:
        return np.full((1, 1 + 3 * means.size), np.nan)
    compiled = _NUMBA.choose(z.size, backend)
    if compiled is None:
        return _numpy_rows(z, *coefficients, means)
    return _numba_rows(compiled, z, coefficients, means, parallel)


def _numba_rows(compiled, z, coefficients, means, parallel):
    """The numba backend, on all threads or on one (as :class:`_Pace` finds faster)."""
    threads = min(compiled.thread_count(), -(-z.size // compiled.BLOCK))
    wanted = parallel and threads > 1 and z.size >= PARALLEL_MIN_SIZE
    if not (wanted and _parallel_lock.acquire(blocking=False)):
        return compiled.em_blocks_serial(z, *coefficients, means)
    try:
        use_threads = _pace.choose()
        start = time.perf_counter()
        if use_threads:
            rows = compiled.em_blocks_parallel(z, *coefficients, means, threads)
        else:
            rows = compiled.em_blocks_serial(z, *coefficients, means)
        _pace.record(use_threads, (time.perf_counter() - start) / z.size)
        return rows
    finally:
        _parallel_lock.release()


class _Pace:
    """Run a large pass on all threads or on one, whichever has lately been faster per value.

    Both give the same numbers (the blocks do not depend on the threads), so this is only about
    speed: where other processes keep the cores busy, the spin-waiting threads of the parallel
    kernel can make all threads slower than one. Every ``PROBE``-th pass runs the other way, so
    a change of load is noticed.
    """

    PROBE = 32

    def __init__(self):
        self.seconds = {True: 0.0, False: 0.0}  # per value, the latest pass; 0 = not measured
        self.passes = 0

    def choose(self):
        """True for all threads."""
        self.passes += 1
        for way in (True, False):
            if self.seconds[way] == 0.0:
                return way
        faster = self.seconds[True] <= self.seconds[False]
        return (not faster) if self.passes % self.PROBE == 0 else faster

    def record(self, way, seconds):
        self.seconds[way] = seconds  # the latest: a first pass that compiled is soon forgotten


_pace = _Pace()


def _coefficients(weights, means, variances):
    """``(const, half_precision)`` of the Gaussian log densities, or None if invalid."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        const = np.log(weights) - 0.5 * np.log(2 * np.pi * np.asarray(variances))
        half_precision = 0.5 / np.asarray(variances, dtype=np.float64)
    valid = (
        np.isfinite(means).all()
        and np.isfinite(half_precision).all()
        and (half_precision >= 0).all()
        and not np.isnan(const).any()
        and (const < np.inf).all()
        and (const > -np.inf).any()
    )
    return (np.ascontiguousarray(const), half_precision) if valid else None


class CompiledBackend:
    """The numba module of a fused pass, imported on first use, or None for numpy.

    One per kernel (:mod:`kernel_numba`, :mod:`kernel_mv_numba`); ``module`` is None until the
    first import is tried, then the module, or False when numba is not installed.

    Parameters
    ----------
    name : str
        The numba module's import name.
    """

    def __init__(self, name):
        self.name = name
        self.module = None

    def choose(self, n, backend):
        """The numba module for ``n`` observations under ``backend`` (None, "numba" or
        "numpy"), or None for the numpy backend (also when numba is not installed)."""
        if backend not in (None, "numba", "numpy"):
            raise ValueError(f"backend must be None, 'numba' or 'numpy', got {backend!r}")
        if backend == "numpy" or (backend is None and n < NUMBA_MIN_SIZE):
            return None
        if self.module is None:
            try:
                self.module = importlib.import_module(self.name)
            except ImportError:
                self.module = False
        if backend == "numba" and not self.module:
            raise ImportError("backend='numba' needs numba: pip install numba")
        return self.module or None


_NUMBA = CompiledBackend("gmm_bayes.em.kernel_numba")


def _numpy_rows(z, const, half_precision, means, block=NUMPY_BLOCK):
    """The numpy backend of :func:`em_rows`: B x K temporaries per block."""
    k = means.size
    rows = np.empty((-(-z.size // block), 1 + 3 * k))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for b, start in enumerate(range(0, z.size, block)):
            d = z[start : start + block, None] - means
            log_joint = const - d * d * half_precision
            top = log_joint.max(axis=1, keepdims=True)
            p = np.exp(log_joint - top)
            total = p.sum(axis=1, keepdims=True)
            r = p / total
            count = r.sum(axis=0)
            shift = np.divide(np.einsum("nk,nk->k", r, d), count, where=count > 0, out=np.zeros(k))
            d -= shift
            rows[b, 0] = np.sum(top) + np.sum(np.log(total))
            rows[b, 1:] = np.concatenate([count, shift, np.einsum("nk,nk->k", r, d * d)])
    return rows


def merge_rows(rows):
    """Merge per-block (or per-chunk) statistics pairwise, with Chan et al.'s update.

    Parameters
    ----------
    rows : ndarray, shape (B, 1 + 3K)
        Per block: log-likelihood, counts ``n`` (K), shifts ``a`` (K) of the weighted means
        from a reference point common to all rows, sums of squares ``m2`` (K) about them.

    Returns
    -------
    ndarray, shape (1 + 3K,)
        The same quantities for the union of the blocks.

    Examples
    --------
    >>> rows = np.array([[-1.0, 2.0, -1.0, 0.0], [-2.0, 2.0, 1.0, 0.0]])  # {-1, -1}, {1, 1}
    >>> merge_rows(rows).tolist()  # {-1, -1, 1, 1}: mean 0, sum of squares 4
    [-3.0, 4.0, 0.0, 4.0]
    """
    rows = np.asarray(rows, dtype=np.float64)
    k = (rows.shape[1] - 1) // 3
    log_likelihood = float(np.sum(rows[:, 0]))  # numpy sums pairwise
    n, a, m2 = rows[:, 1 : 1 + k], rows[:, 1 + k : 1 + 2 * k], rows[:, 1 + 2 * k :]
    while n.shape[0] > 1:
        half = n.shape[0] // 2
        rest = n.shape[0] - half
        n1, n2 = n[:half], n[rest:]
        total = n1 + n2
        frac = np.divide(n2, total, where=total > 0, out=np.zeros_like(total))
        delta = a[rest:] - a[:half]
        merged_m2 = m2[:half] + m2[rest:] + delta * delta * n1 * frac
        n = np.concatenate([total, n[half:rest]])
        a = np.concatenate([a[:half] + delta * frac, a[half:rest]])
        m2 = np.concatenate([merged_m2, m2[half:rest]])
    return np.concatenate([[log_likelihood], n[0], a[0], m2[0]])


def finish(total, reference):
    """Turn merged statistics into ``(log_likelihood, nk, means, variances)``.

    Parameters
    ----------
    total : ndarray, shape (1 + 3K,)
        From :func:`merge_rows`.
    reference : ndarray, shape (K,)
        The point the shifts ``a`` are measured from (the current means).

    Returns
    -------
    log_likelihood : float
    nk, means, variances : ndarray, shape (K,)
        As in :func:`gmm_bayes.em.m_step`: ``nk = n + COUNT_EPS``, means and biased variances
        divided by ``nk``.

    Examples
    --------
    >>> ll, nk, means, variances = finish(np.array([-3.0, 4.0, 0.5, 4.0]), np.array([10.0]))
    >>> ll, nk.round(6).tolist(), means.round(6).tolist(), variances.round(6).tolist()
    (-3.0, [4.0], [10.5], [1.0])
    """
    k = (total.size - 1) // 3
    n, a, m2 = total[1 : 1 + k], total[1 + k : 1 + 2 * k], total[1 + 2 * k :]
    nk = n + COUNT_EPS
    shift = a * (n / nk)
    variances = (m2 + n * (a - shift) ** 2) / nk
    return float(total[0]), nk, reference + shift, variances


def hard_stats(z, k, *, centres=None, labels=None, block=1 << 16):
    """M-step from hard assignments, blocked: no (N, K) array.

    Parameters
    ----------
    z : ndarray, shape (N,)
    k : int
    centres : ndarray, shape (K,), optional
        Assign each observation to the nearest centre (ties to the lower index).
    labels : ndarray of int, shape (N,), optional
        Or give the assignments.

    Returns
    -------
    weights, means, variances : ndarray, shape (K,)
        As ``gmm_bayes.em.m_step(z, one_hot(labels))``: an empty group has mean 0 and
        variance 0.

    Examples
    --------
    >>> z = np.array([-1.0, -3.0, 1.0, 3.0])
    >>> w, mu, var = hard_stats(z, 3, centres=np.array([-2.0, 2.0, 50.0]))
    >>> w.round(6).tolist(), mu.round(6).tolist(), var.round(6).tolist()
    ([0.5, 0.5, 0.0], [-2.0, 2.0, 0.0], [1.0, 1.0, 0.0])
    """
    rows = []
    for start in range(0, z.size, block):
        zb = z[start : start + block]
        if labels is None:
            lab = np.argmin(np.abs(zb[:, None] - centres), axis=1)
        else:
            lab = labels[start : start + block]
        count = np.bincount(lab, minlength=k).astype(np.float64)
        sums = np.bincount(lab, weights=zb, minlength=k)
        mean = np.divide(sums, count, where=count > 0, out=np.zeros(k))
        dev = zb - mean[lab]
        rows.append(np.concatenate([[0.0], count, mean, np.bincount(lab, dev * dev, k)]))
    _, nk, means, variances = finish(merge_rows(np.array(rows)), np.zeros(k))
    return nk / z.size, means, variances
