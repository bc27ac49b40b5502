"""EM on a dask array: data larger than memory, on the current dask scheduler.

:func:`gmm_bayes.fit_em` hands a ``dask.array.Array`` to :func:`fit_em` here; this module, and
so dask, is imported only then. The fit is the in-memory algorithm with the data kept in chunks:

1. One pass over the chunks checks that every value is finite, finds the minimum and maximum,
   and draws a uniform sample of ``SAMPLE_SIZE`` observations (all of them when N is smaller).
2. The standardization ``z = (x - loc) / scale`` takes its median and IQR from the sample;
   the map is then fixed and applied exactly, chunk by chunk. Starts and restarts run in memory
   on the standardized sample; the best of them is polished on all the data.
3. Each EM iteration is one pass: every chunk sends back ``1 + 3K`` numbers (its log-likelihood
   and, per component, the effective count, the shift of the weighted mean and the weighted sum
   of squares about it), which the caller merges with Chan et al.'s update.

The scheduler is dask's current one: the threaded scheduler by default, a ``distributed``
cluster once a ``distributed.Client`` exists (or inside ``with client.as_current():``).
"""

import functools

import dask
import numpy as np

from gmm_bayes._validation import as_int, as_n_components, as_nonnegative_float
from gmm_bayes.em import driver as _em
from gmm_bayes.em import kernel as _kernel
from gmm_bayes.em.steps import MaximumLikelihoodStep
from gmm_bayes.exceptions import DataError

__all__ = ["SAMPLE_SIZE", "fit_em"]

#: observations drawn from the chunks for the standardization, the starts and the restarts
SAMPLE_SIZE = _em.START_POOL_SIZE
#: sample runs, best first, polished on all the data until one does not collapse
MAX_POLISHED = 3


def fit_em(
    x,
    n_components=2,
    *,
    n_init=5,
    init="kmeans++",
    tol=1e-6,
    max_iter=1000,
    reg_covar=None,
    random_state=None,
    weights_init=None,
    means_init=None,
    variances_init=None,
    priors=None,
):
    """:func:`gmm_bayes.fit_em` for a dask array (same options, same result type).

    Parameters
    ----------
    x : dask.array.Array, shape (N,) or (N, 1)
        Real numbers in chunks of known size.
    n_components, n_init, init, tol, max_iter, reg_covar, random_state : see ``fit_em``
    weights_init, means_init, variances_init : array_like, shape (K,), optional
        With all three, one run from exactly that start: the same iterates as in memory.
    priors : None
        MAP-EM is not available for dask arrays yet.

    Returns
    -------
    EMResult
        ``reg_covar=None`` takes the robust scale from the sample (N > ``SAMPLE_SIZE``), so the
        default regularization differs from the in-memory one by the sample's error in the IQR
        (a fraction of a percent, of a term of relative size 1e-6); pass ``reg_covar`` for the
        in-memory iterates to rounding.
    """
    if priors is not None:
        raise NotImplementedError(
            "priors (MAP-EM) are not supported for dask arrays yet; fit a sample in memory "
            "(x[idx].compute()) or drop priors"
        )
    x = _as_chunked_data(x)
    k = as_n_components(n_components, x.size)
    n_init = as_int(n_init, "n_init", minimum=1)
    max_iter = as_int(max_iter, "max_iter", minimum=0)
    tol = as_nonnegative_float(tol, "tol")
    if init not in _em.INITS:
        raise ValueError(f"init must be one of {_em.INITS}, got {init!r}")
    start = _em._explicit_start(weights_init, means_init, variances_init, k)
    rng = np.random.default_rng(random_state)

    low, high, sample = _scan(x, rng)
    std = _em._Standardizer.of(sample)
    reg_z = _regularization(reg_covar, x.size, low, high, std)
    start_z = _em._start_to_z(start, std)
    step = MaximumLikelihoodStep(reg_z)
    sample_z = sample - std.loc
    sample_z /= std.scale
    data = StandardizedChunks(x, std.loc, std.scale)

    if init == "quantile" or all(v is not None for v in start_z.values()):
        params = _em._initial_params(sample_z, k, init, start_z, rng)
        runs = [r for r in [_em._run_em(data, *params, step, tol, max_iter)] if r is not None]
    else:
        candidates = []
        for _ in range(n_init):
            candidates.extend(
                _em._healthy_run(sample_z, k, init, start_z, step, tol, max_iter, rng, False)
            )
        runs = _polish(candidates, data, step, tol, max_iter)
    return _em._result(runs, x, std, reg_z, max_iter)


class StandardizedChunks:
    """``z = (x - loc) / scale`` of a dask array, as :func:`gmm_bayes.em._run_em` takes it.

    Parameters
    ----------
    x : dask.array.Array, shape (N,)
    loc, scale : float
    """

    def __init__(self, x, loc, scale):
        self.x = x
        self.loc = float(loc)
        self.scale = float(scale)
        self.size = x.size

    def em_pass(self, weights, means, variances):
        """One EM pass over the chunks; see :func:`gmm_bayes.em.kernel.em_pass`."""
        width = 1 + 3 * means.size
        chunk_rows = functools.partial(
            _chunk_rows,
            loc=self.loc,
            scale=self.scale,
            params=(np.array(weights), np.array(means), np.array(variances)),
        )
        rows = self.x.map_blocks(
            chunk_rows, chunks=((width,) * self.x.numblocks[0],), dtype=np.float64
        )
        rows = rows.compute().reshape(-1, width)
        return _kernel.finish(_kernel.merge_rows(rows), means)


def _chunk_rows(chunk, *, loc, scale, params):
    """The merged ``1 + 3K`` statistics of one chunk (standardized as in memory)."""
    z = np.asarray(chunk, dtype=np.float64) - loc
    z /= scale
    if z.size == 0:
        return np.zeros(1 + 3 * params[1].size)
    return _kernel.merge_rows(_kernel.em_rows(z, *params, parallel=False))


def _as_chunked_data(x, name="x"):
    """Check a dask array as :func:`gmm_bayes._validation.as_data` checks an array (lazily)."""
    kind = x.dtype.kind
    if kind == "b":
        raise TypeError(f"{name} must be numbers, got booleans")
    if kind == "c":
        raise TypeError(f"{name} must be real, got complex dtype {x.dtype}")
    if kind not in "iuf":
        raise TypeError(f"{name} must contain numbers, got dtype {x.dtype}")
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 1:
        raise ValueError(
            f"{name} must be one-dimensional (N,) or a single column (N, 1), got shape {x.shape}"
        )
    if any(np.isnan(size) for size in x.chunks[0]):
        raise ValueError(
            f"{name} has chunks of unknown size; call {name}.compute_chunk_sizes() first"
        )
    if x.size == 0:
        raise DataError(f"{name} is empty: at least one observation is needed")
    return x


def _scan(x, rng):
    """One pass: raise on a non-finite value; return ``(min, max, sample)`` of the data.

    The sample holds ``SAMPLE_SIZE`` observations drawn uniformly without replacement, in data
    order, as float64 (all of ``x`` when it is smaller).
    """
    n = x.size
    if n <= SAMPLE_SIZE:
        take = np.arange(n)
    else:
        take = np.sort(rng.choice(n, size=SAMPLE_SIZE, replace=False))
    summary = x.map_blocks(_chunk_summary, chunks=((4,) * x.numblocks[0],), dtype=np.float64)
    summary, sample = dask.compute(summary, x[take])
    summary = summary.reshape(-1, 4)
    bad = np.flatnonzero(summary[:, 0])
    if bad.size:
        first = bad[0]
        index = int(np.sum(x.chunks[0][:first]) + summary[first, 1])
        value = x[index].compute()
        raise DataError(
            f"x must be finite, got {value} at index {index} "
            f"({int(summary[:, 0].sum())} non-finite values in all); drop or impute them first"
        )
    return summary[:, 2].min(), summary[:, 3].max(), np.asarray(sample, dtype=np.float64)


def _chunk_summary(chunk):
    """``[number of non-finite values, index of the first, min, max]`` of one chunk."""
    finite = np.isfinite(chunk)
    if not finite.all():
        return np.array([np.sum(~finite), np.argmin(finite), np.nan, np.nan])
    if chunk.size == 0:
        return np.array([0.0, 0.0, np.inf, -np.inf])
    return np.array([0.0, 0.0, np.min(chunk), np.max(chunk)], dtype=np.float64)


def _regularization(reg_covar, n, low, high, std):
    """As :func:`gmm_bayes.em._regularization`, from the data's minimum and maximum."""
    if reg_covar is None and low == high:
        raise DataError(
            f"all {n} values of x equal {float(low)!r}: a Gaussian mixture has no scale to "
            "fit; pass reg_covar > 0 (in squared units of x) to fit components of that variance"
        )
    return _em._regularization(reg_covar, np.array([low, high]), std)


def _polish(candidates, data, step, tol, max_iter):
    """EM on all the data from the best sample runs (healthy first) until one stays healthy."""
    candidates = sorted(candidates, key=lambda r: (bool(r.collapsed.any()), -r.objective))
    finished = []
    for candidate in candidates[:MAX_POLISHED]:
        params = (candidate.weights, candidate.means, candidate.variances)
        run = _em._run_em(data, *params, step, tol, max_iter)
        if run is None:
            continue
        if not run.collapsed.any():
            return [run]
        finished.append(run)
    return finished
