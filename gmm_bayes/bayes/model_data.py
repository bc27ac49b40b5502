"""What a model's likelihood runs over: the data, their distinct values, or bins (numpy only).

:class:`ModelData` summarizes the data for :func:`gmm_bayes.build_model`: the exact likelihood
over every observation, the exact likelihood over the distinct values weighted by their counts
(automatic when ties make that worthwhile), or, on request (``likelihood="binned"``), an
approximation on fine bins with a second-order correction. :func:`choose_bin_width` gives the
default bin width.
"""

import dataclasses
from dataclasses import dataclass

import numpy as np

from gmm_bayes._validation import as_positive_float
from gmm_bayes.em import EMResult

__all__ = [
    "BIN_FRACTION",
    "COMPRESS_FRACTION",
    "LIKELIHOODS",
    "ModelData",
    "as_likelihood",
    "choose_bin_width",
]

LIKELIHOODS = ("exact", "binned")
#: the exact likelihood runs over the distinct values (with counts) when there are at most this
#: fraction of N of them; a binned likelihood is used only when it has at most this many bins
COMPRESS_FRACTION = 0.8
#: default bin width (:func:`choose_bin_width`), as a fraction of EM's smallest sd
BIN_FRACTION = 0.1


@dataclass(frozen=True, eq=False)
class ModelData:
    """The points a model's likelihood is evaluated at, and the observations each stands for.

    Three forms, all with ``sum(counts) == n_obs``:

    - the data themselves (``likelihood="exact"``, not compressed; ``dim="obs"``);
    - the distinct values with their counts (``likelihood="exact"``, ``compressed``;
      ``dim="value"``): ``sum_n log p(x_n) = sum_j c_j log p(v_j)`` exactly, so the posterior
      is the same to floating-point error;
    - bins of width ``bin_width`` (``likelihood="binned"``; ``dim="bin"``): each non-empty bin
      holds its count ``c_j``, the mean ``v_j`` of its values and their sum of squared
      deviations ``s_j`` about it, and the likelihood is the second-order expansion
      ``sum_n log p(x_n) ~= sum_j c_j log p(v_j) + s_j / 2 (log p)''(v_j)`` (the first-order
      term vanishes about the mean). It is exact for one component (``log p`` is quadratic)
      and otherwise off by terms of order ``(bin_width / sigma)**4`` per observation.

    Attributes
    ----------
    values, counts : ndarray, shape (M,)
    sumsq : ndarray, shape (M,) or None
        Binned only.
    n_obs : int
        N.
    likelihood : {"exact", "binned"}
    compressed : bool
        Exact likelihood on the distinct values.
    bin_width : float or None
    dim : {"obs", "value", "bin"}
        Name of the model's dimension of ``y``.
    requested : str
        The likelihood asked for ("binned" falls back to exact when bins would not reduce the
        data: then ``likelihood`` is "exact" and ``requested`` "binned").
    resolution : float or None
        The recording resolution ``h``: each value stands for ``[v - h/2, v + h/2]`` and the
        likelihood is the intervals' probability (``likelihood`` "exact"; never binned).

    Examples
    --------
    >>> data = ModelData.from_data(np.array([1.0, 1.0, 2.0, 2.0, 2.0]))
    >>> data.compressed, data.dim, data.values.tolist(), data.counts.tolist()
    (True, 'value', [1.0, 2.0], [2.0, 3.0])
    """

    values: np.ndarray
    counts: np.ndarray
    sumsq: np.ndarray | None
    n_obs: int
    likelihood: str
    compressed: bool
    bin_width: float | None
    dim: str
    requested: str
    resolution: float | None = None

    @property
    def n_terms(self):
        """M, the number of points the likelihood is evaluated at."""
        return int(self.values.size)

    @classmethod
    def from_data(cls, x, *, likelihood="exact", compress="auto", bin_width=None, resolution=None):
        """Summarize validated data ``x`` for the likelihood.

        Parameters
        ----------
        x : ndarray, shape (N,)
        likelihood : {"exact", "binned"}
        compress : {"auto", True, False}
            Exact likelihood: "auto" runs it over the distinct values when there are at most
            ``COMPRESS_FRACTION * N`` of them; True always; False never.
        bin_width : float
            Needed for ``likelihood="binned"``. When the bins would not number at most
            ``COMPRESS_FRACTION * N``, the exact likelihood is used instead.
        resolution : float, optional
            The interval likelihood at this resolution (over the distinct values as
            ``compress`` says); refused with ``likelihood="binned"``.
        """
        likelihood = as_likelihood(likelihood)
        if compress not in ("auto", True, False):
            raise ValueError(f"compress must be 'auto', True or False, got {compress!r}")
        if resolution is not None:
            return cls._intervals(x, compress, likelihood, resolution)
        n = int(x.size)
        if likelihood == "binned":
            width = _as_bin_width(bin_width)
            binned = _bins(x, width)
            if binned is not None and binned[0].size <= COMPRESS_FRACTION * n:
                values, counts, sumsq = binned
                return cls(values, counts, sumsq, n, "binned", False, width, "bin", "binned")
        values, counts = np.unique(x, return_counts=True)
        if compress is True or (compress == "auto" and values.size <= COMPRESS_FRACTION * n):
            counts = counts.astype(np.float64)
            return cls(values, counts, None, n, "exact", True, None, "value", likelihood)
        return cls(x.copy(), np.ones(n), None, n, "exact", False, None, "obs", likelihood)

    @classmethod
    def _intervals(cls, x, compress, likelihood, resolution):
        if likelihood == "binned":
            raise ValueError(
                f"resolution={resolution!r} cannot be combined with likelihood='binned': the "
                "interval likelihood is exact and already runs over the distinct values of the "
                "grid; pass likelihood='exact'"
            )
        exact = cls.from_data(x, compress=compress)
        return dataclasses.replace(exact, resolution=as_positive_float(resolution, "resolution"))

    def table(self):
        """``(2, M)`` rows values and counts, or ``(3, M)`` with the sums of squares (binned)."""
        rows = [self.values, self.counts] + ([self.sumsq] if self.sumsq is not None else [])
        return np.ascontiguousarray(np.stack(rows), dtype=np.float64)

    def describe(self):
        """One sentence for a report: what the likelihood was evaluated on."""
        if self.resolution is not None:
            over = f"the {self.n_terms} distinct values" if self.compressed else "all values"
            return (
                f"Interval likelihood: each of the {self.n_obs} observations stands for the "
                f"interval of width {self.resolution:.6g} (the recording resolution) around it, "
                f"evaluated on {over} weighted by their counts."
            )
        if self.likelihood == "binned":
            return (
                f"Binned likelihood (approximate): the {self.n_obs} observations were grouped "
                f"into {self.n_terms} bins of width {self.bin_width:.6g}, each bin's "
                "log-likelihood expanded to second order about the mean of its values."
            )
        fallback = (
            " (binning was asked for but would not have reduced the data)"
            if self.requested == "binned"
            else ""
        )
        if self.compressed:
            return (
                f"Exact likelihood, evaluated on the {self.n_terms} distinct values of the "
                f"{self.n_obs} observations weighted by their counts{fallback}."
            )
        return f"Exact likelihood over all {self.n_obs} observations{fallback}."


def as_likelihood(likelihood):
    """Return ``likelihood`` if it is one of :data:`LIKELIHOODS`, else raise ``ValueError``."""
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
    return likelihood


def _as_bin_width(bin_width):
    if bin_width is None:
        raise ValueError("likelihood='binned' needs a bin_width (see choose_bin_width)")
    return as_positive_float(bin_width, "bin_width")


def _bins(x, width):
    """``(means, counts, sums of squares)`` of the non-empty bins ``[x0 + j w, x0 + (j+1) w)``,
    or None when there would be more bins than values.

    Deviations are taken from each bin's centre (|d| <= w / 2) before they are summed, so data
    far from zero lose no precision.
    """
    lo, hi = float(x.min()), float(x.max())
    span = (hi - lo) / width
    if not np.isfinite(span) or span > 2**52:
        return None
    index = np.floor((x - lo) / width).astype(np.int64)
    if span <= 8 * x.size:  # few enough possible bins: count them directly
        counts = np.bincount(index).astype(np.float64)
        occupied = np.flatnonzero(counts)
        inverse = None
    else:
        occupied, inverse = np.unique(index, return_inverse=True)
    if occupied.size > COMPRESS_FRACTION * x.size:
        return None
    centre = lo + (occupied + 0.5) * width
    if inverse is None:
        slot = np.zeros(index.max() + 1, dtype=np.int64)
        slot[occupied] = np.arange(occupied.size)
        inverse = slot[index]
    d = x - centre[inverse]
    counts = np.bincount(inverse, minlength=occupied.size).astype(np.float64)
    sum_d = np.bincount(inverse, weights=d, minlength=occupied.size)
    sum_dd = np.bincount(inverse, weights=d * d, minlength=occupied.size)
    shift = sum_d / counts
    return centre + shift, counts, np.maximum(sum_dd - sum_d * shift, 0.0)


def choose_bin_width(em):
    """Default bin width for ``likelihood="binned"``: a tenth of EM's smallest sd.

    With the second-order correction of :class:`ModelData`, the error of the binned log
    density is of order ``N (width / sigma)**4``: at a tenth of the smallest sd it shifts no
    posterior mean by more than 0.05 posterior sd up to about 1e8 observations (measurements:
    ``bench/bench_posterior.py``, README "Posteriors on large data").

    Parameters
    ----------
    em : EMResult
        An EM fit to the data.

    Returns
    -------
    float

    Examples
    --------
    >>> from gmm_bayes.em import fit_em
    >>> fit = fit_em(np.random.default_rng(0).normal([0.0, 10.0], [1.0, 2.0], (100, 2)).ravel(), 2)
    >>> bool(choose_bin_width(fit) == 0.1 * fit.sigmas.min())
    True
    """
    if not isinstance(em, EMResult):
        raise TypeError(f"em must be a gmm_bayes.EMResult, got {type(em).__name__}")
    return BIN_FRACTION * float(np.min(em.sigmas))
