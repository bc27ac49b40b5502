"""EM on a dask array: data larger than memory, on the current dask scheduler.

:func:`gmm_bayes.fit_em` hands a ``dask.array.Array`` to :func:`fit_dask_array` here; this
module, and so dask, is imported only then. It adapts the array to the driver's protocols and
leaves the algorithm to :func:`gmm_bayes.em.driver.fit_source`:

1. One pass over the chunks checks that no value is masked (a masked dask array is refused
   as a masked numpy array is, unless nothing is masked) and every value is finite, finds the
   minimum and maximum, and draws a uniform sample of ``SAMPLE_SIZE`` observations (all of them
   when N is smaller).
2. The standardization ``z = (x - loc) / scale`` takes its median and IQR from the sample,
   and the range of all the data (:meth:`Standardizer.of`'s ``bounds``); the map is then fixed
   and applied exactly, chunk by chunk. Starts and restarts run in memory on the standardized
   sample; the best of them is polished on all the data.
3. Each EM iteration is one pass of :class:`StandardizedChunks` (a
   :class:`~gmm_bayes.em.source.DataSource`): every chunk sends back ``1 + 3K`` numbers (its
   log-likelihood and, per component, the effective count, the shift of the weighted mean and
   the weighted sum of squares about it), which are merged with Chan et al.'s update.

The scheduler is dask's current one: the threaded scheduler by default, a ``distributed``
cluster once a ``distributed.Client`` exists (or inside ``with client.as_current():``).
"""

import functools

import dask
import numpy as np

from gmm_bayes.em.driver import EMOptions, fit_source
from gmm_bayes.em.kernel import em_rows, finish, merge_rows
from gmm_bayes.em.source import DataSource
from gmm_bayes.em.standardize import Standardizer, default_regularization
from gmm_bayes.em.starts import START_POOL_SIZE
from gmm_bayes.em.steps import MaximumLikelihoodStep
from gmm_bayes.exceptions import DataError

__all__ = ["SAMPLE_SIZE", "StandardizedChunks", "fit_dask_array"]

#: observations drawn from the chunks for the standardization, the starts and the restarts
SAMPLE_SIZE = START_POOL_SIZE


def fit_dask_array(x, n_components=2, *, priors=None, **options):
    """:func:`gmm_bayes.fit_em` for a dask array (same options, same result type).

    Parameters
    ----------
    x : dask.array.Array, shape (N,) or (N, 1)
        Real numbers in chunks of known size.
    n_components : int
    priors : None
        MAP-EM is not available for dask arrays yet.
    **options
        The other keyword arguments of ``fit_em``. With all three of ``weights_init``,
        ``means_init`` and ``variances_init``: one run from exactly that start, the same
        iterates as in memory.

    Returns
    -------
    EMResult
        ``reg_covar=None`` takes the robust scale from the sample (N > ``SAMPLE_SIZE``), so the
        default regularization differs from the in-memory one by the sample's error in the IQR
        (a fraction of a percent, of a term of relative size 1e-6); pass ``reg_covar`` for the
        in-memory iterates to rounding.

    Examples
    --------
    >>> import dask.array as da
    >>> x = np.concatenate([np.linspace(0, 2, 500), np.linspace(10, 12, 500)])
    >>> fit = fit_dask_array(da.from_array(x, chunks=300), 2, random_state=0)
    >>> fit.n_obs, fit.means.round(3).tolist()
    (1000, [1.0, 11.0])
    """
    if priors is not None:
        raise NotImplementedError(
            "priors (MAP-EM) are not supported for dask arrays yet; fit a sample in memory "
            "(x[idx].compute()) or drop priors"
        )
    x = _as_chunked_data(x)
    options = EMOptions.validated(x.size, n_components, **options)
    low, high, sample = _scan(x, options.rng)
    std = Standardizer.of(sample, bounds=(low, high))
    if options.reg_covar is None:
        reg = default_regularization(x.size, low, high, std)
    else:
        reg = options.reg_covar / std.scale / std.scale  # no overflow of scale**2
    source = StandardizedChunks(x, std.loc, std.scale)
    step = MaximumLikelihoodStep(reg, options.covariance_type)
    return fit_source(source, std.to_z(sample), options, std, step)


class StandardizedChunks(DataSource):
    """``z = (x - loc) / scale`` of a dask array, as a :class:`~gmm_bayes.em.source.DataSource`.

    Each pass maps every chunk to its ``1 + 3K`` merged statistics on dask's current scheduler
    and merges those rows here (:func:`gmm_bayes.em.kernel.merge_rows`).

    Parameters
    ----------
    x : dask.array.Array, shape (N,)
    loc, scale : float

    Examples
    --------
    >>> import dask.array as da
    >>> source = StandardizedChunks(da.from_array(np.array([9.0, 11.0]), chunks=1), 10.0, 1.0)
    >>> ll, nk, means, variances = source.em_pass(np.ones(1), np.zeros(1), np.ones(1))
    >>> source.size, round(ll, 6), means.tolist(), variances.round(12).tolist()
    (2, -2.837877, [0.0], [1.0])
    """

    def __init__(self, x, loc, scale):
        self.x = x
        self.loc = float(loc)
        self.scale = float(scale)
        self.size = x.size

    def em_pass(self, weights, means, variances):
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
        return finish(merge_rows(rows), means)


def _chunk_rows(chunk, *, loc, scale, params):
    """The merged ``1 + 3K`` statistics of one chunk (standardized as in memory)."""
    z = np.asarray(chunk, dtype=np.float64) - loc
    z /= scale
    if z.size == 0:
        return np.zeros(1 + 3 * params[1].size)
    return merge_rows(em_rows(z, *params, parallel=False))


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
    """One pass: raise on a masked or non-finite value; return ``(min, max, sample)`` of the data.

    The sample holds ``SAMPLE_SIZE`` observations drawn uniformly without replacement, in data
    order, as float64 (all of ``x`` when it is smaller).
    """
    n = x.size
    if n <= SAMPLE_SIZE:
        take = np.arange(n)
    else:
        take = np.sort(rng.choice(n, size=SAMPLE_SIZE, replace=False))
    width = len(_SUMMARY)
    summary = x.map_blocks(_chunk_summary, chunks=((width,) * x.numblocks[0],), dtype=np.float64)
    summary, sample = dask.compute(summary, x[take])
    summary = summary.reshape(-1, width).T
    columns = dict(zip(_SUMMARY, summary, strict=True))
    offsets = np.concatenate([[0], np.cumsum(x.chunks[0])[:-1]])
    count, first = _first_bad(columns["masked"], columns["first_masked"], offsets)
    if count:
        raise DataError(
            f"x has {count} masked value{'s' if count > 1 else ''} (first at index {first}): "
            "masked values are not used; drop them first, e.g. "
            "x = x[~dask.array.ma.getmaskarray(x)].compute_chunk_sizes()"
        )
    count, first = _first_bad(columns["non_finite"], columns["first_non_finite"], offsets)
    if count:
        value = np.ma.getdata(x[first].compute())
        raise DataError(
            f"x must be finite, got {value} at index {first} "
            f"({count} non-finite values in all); drop or impute them first"
        )
    sample = np.asarray(np.ma.getdata(sample), dtype=np.float64)
    return columns["min"].min(), columns["max"].max(), sample


def _first_bad(counts, firsts, offsets):
    """``(total count, index in x of the first)`` from per-chunk counts and first indices."""
    bad = np.flatnonzero(counts)
    if not bad.size:
        return 0, None
    return int(counts.sum()), int(offsets[bad[0]] + firsts[bad[0]])


#: what each chunk reports in the scan, in this order
_SUMMARY = ("masked", "first_masked", "non_finite", "first_non_finite", "min", "max")


def _chunk_summary(chunk):
    """One chunk's ``_SUMMARY``: counts and first indices of masked and non-finite values."""
    mask = np.ma.getmask(chunk)
    if mask is not np.ma.nomask and mask.any():
        return np.array([np.sum(mask), np.argmax(mask), 0.0, 0.0, np.nan, np.nan])
    values = np.ma.getdata(chunk)
    finite = np.isfinite(values)
    if not finite.all():
        return np.array([0.0, 0.0, np.sum(~finite), np.argmin(finite), np.nan, np.nan])
    if values.size == 0:
        return np.array([0.0, 0.0, 0.0, 0.0, np.inf, -np.inf])
    return np.array([0.0, 0.0, 0.0, 0.0, np.min(values), np.max(values)], dtype=np.float64)
