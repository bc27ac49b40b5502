"""Data recorded at a resolution: the recording grid, heaps, and the interval likelihood.

A value recorded at resolution ``h`` (whole minutes, seconds, 0.1 mm) stands for the interval
``[x - h/2, x + h/2]``, and its honest likelihood is that interval's probability::

    p(x) = sum_k w_k [Phi((x + h/2 - mu_k) / s_k) - Phi((x - h/2 - mu_k) / s_k)]

It is bounded by 1, so no component can win by shrinking onto tied values as it does under the
density likelihood (McLachlan & Jones 1988; R's mixR). :func:`interval_log_probability`
computes it in log space, stable in both tails (:func:`log_normal_mass`), compiled for
batches of mixtures (:mod:`gmm_bayes.em.interval_numba`: SMC particles, posterior draws).

:func:`detect_resolution` finds a grid and its heaps:

- **Grid.** Every value is an integer multiple of ``h`` up to ``GRID_RTOL`` h (rounding in the
  file: geyser durations are seconds written as minutes to 7 decimals). ``h`` is the smallest
  gap between distinct values, or that gap divided by 2..``MAX_GRID_DIVISOR`` (a grid on which
  no two neighbouring points were both observed). A grid counts only when
  ``h > spread / NEGLIGIBLE_RATIO`` (``spread``: the robust scale, IQR / 1.349): replacing
  an interval's probability by ``h`` times the density changes the log-likelihood of a value
  by about ``(h / sigma)**2 / 24`` for a component of sd ``sigma``; at ``h = spread / 1000``
  that is under 1e-5 per observation for any component wider than spread / 100, far below what
  any fit or criterion resolves. So galaxy's velocities (1 km/s, 3 decimals of 1000 km/s,
  spread 2.9) and the MASS copy (1 km/s of 2900) are continuous; Old Faithful's whole minutes
  (h = 1, spread 18) and the geyser durations' seconds (h = 1/60 min, spread 1.7) are not.
- **Heaps.** A grid value observed far more often than its grid neighbours (rounding to a
  preferred value, or a coded value: the geyser durations' 53 values of exactly 4.000, the
  night-time "long" eruptions). The count at each value is compared with the larger count of
  its two grid neighbours, ``c_n`` (at least 0.5): a heap has at least ``HEAP_MIN_COUNT``
  observations, at least ``HEAP_RATIO`` times ``c_n``, and a Poisson upper-tail probability
  below ``HEAP_P_VALUE`` / (number of distinct values) given ``c_n``. A smooth density's peak
  on a grid of step ``h`` exceeds its neighbours by a ratio below 2 while ``h`` is under
  1.4 sd of the component (1.58 at ``h = sd``): only a component narrower than that, whose
  values fall on two or three grid points, can look heaped. Without a grid, a value repeated
  ``HEAP_MIN_COUNT`` times or more is a heap (continuous data do not tie).
"""

from dataclasses import dataclass

import numpy as np
from scipy.special import log_ndtr, logsumexp

__all__ = [
    "GRID_RTOL",
    "HEAP_MIN_COUNT",
    "HEAP_P_VALUE",
    "HEAP_RATIO",
    "MAX_GRID_DIVISOR",
    "NEGLIGIBLE_RATIO",
    "NUMBA_MIN_WORK",
    "Resolution",
    "as_resolution",
    "detect_resolution",
    "find_heaps",
    "interval_log_probability",
    "log_normal_mass",
]

#: mixtures x values x components from which the compiled kernel computes the interval
#: log-probabilities (:mod:`gmm_bayes.em.interval_numba`); numpy below (no compilation)
NUMBA_MIN_WORK = 20_000
#: a value is on the grid when within this fraction of h of a multiple of h
GRID_RTOL = 1e-3
#: a grid finer than (robust scale) / this is negligible: the data are treated as continuous
NEGLIGIBLE_RATIO = 1000.0
#: h may be the smallest gap between distinct values divided by 1..this
MAX_GRID_DIVISOR = 6
#: a heap holds at least this many times the count of its busier grid neighbour
HEAP_RATIO = 2.0
#: a heap holds at least this many observations
HEAP_MIN_COUNT = 5
#: family-wise upper-tail probability of a heap's count under its neighbours' mean
HEAP_P_VALUE = 1e-3


@dataclass(frozen=True)
class Resolution:
    """What :func:`detect_resolution` found.

    Attributes
    ----------
    width : float or None
        The recording resolution ``h`` (None: continuous data).
    heaps : tuple of float
        Values observed far more often than their grid neighbours, most frequent first.
    heap_counts : tuple of int
        Their counts.
    """

    width: float | None
    heaps: tuple = ()
    heap_counts: tuple = ()


def detect_resolution(x):
    """The recording grid of ``x`` and its heaps (see the module docstring for the rules).

    Parameters
    ----------
    x : ndarray, shape (N,)
        Finite values.

    Returns
    -------
    Resolution

    Examples
    --------
    >>> x = np.array([1.0, 2.0, 2.0, 3.0, 5.0, 5.0, 5.0, 6.0, 8.0])
    >>> detect_resolution(x).width
    1.0
    >>> detect_resolution(np.random.default_rng(0).normal(size=100)).width is None
    True
    """
    values, counts = np.unique(np.asarray(x, dtype=np.float64), return_counts=True)
    width = _grid_width(values, _robust_scale(x))
    return find_heaps(x, width)


def find_heaps(x, width):
    """The heaps of ``x`` on the grid of step ``width`` (None: no grid), as a
    :class:`Resolution` of that width.

    Examples
    --------
    >>> x = np.concatenate([np.arange(0.0, 30.0), np.full(20, 12.0)])
    >>> find_heaps(x, 1.0)
    Resolution(width=1.0, heaps=(12.0,), heap_counts=(21,))
    """
    values, counts = np.unique(np.asarray(x, dtype=np.float64), return_counts=True)
    heaps, heap_counts = _heaps(values, counts, width)
    return Resolution(width, heaps, heap_counts)


def as_resolution(resolution, x):
    """``resolution`` validated, as a :class:`Resolution` of ``x`` (its width None: the
    density likelihood).

    Parameters
    ----------
    resolution : None, "auto" or float > 0
        None: no resolution (no heaps looked for); "auto": :func:`detect_resolution`; a
        number: that width, with the heaps on its grid (:func:`find_heaps`).
    x : ndarray, shape (N,)

    Examples
    --------
    >>> as_resolution(0.5, np.zeros(3)).width, as_resolution(None, np.zeros(3)).width
    (0.5, None)
    """
    if resolution is None:
        return Resolution(None)
    if isinstance(resolution, str):
        if resolution != "auto":
            raise ValueError(
                f"resolution must be None, 'auto' or a positive number (the recording "
                f"resolution in the data's units), got {resolution!r}"
            )
        return detect_resolution(x)
    if isinstance(resolution, bool) or not np.isscalar(resolution):
        raise TypeError(f"resolution must be None, 'auto' or a positive number, got {resolution!r}")
    width = float(resolution)
    if not (np.isfinite(width) and width > 0):
        raise ValueError(
            f"resolution must be a finite number > 0 (e.g. 1 for whole minutes), got {width!r}"
        )
    return find_heaps(x, width)


def log_normal_mass(lower, upper):
    """``log(Phi(upper) - Phi(lower))`` for ``lower < upper``, stable in both tails.

    Both bounds in the upper tail are reflected to the lower one (``Phi(b) - Phi(a) =
    Phi(-a) - Phi(-b)``), where ``log_ndtr`` keeps its precision, and the difference is
    taken as ``log Phi(u) + log1mexp(log Phi(l) - log Phi(u))``.

    Examples
    --------
    >>> from scipy.stats import norm
    >>> round(float(log_normal_mass(-1.0, 1.0)), 12) == round(float(np.log(norm.cdf(1) -
    ...     norm.cdf(-1))), 12)
    True
    >>> float(log_normal_mass(40.0, 41.0)) < -800  # finite far in the tail
    True
    """
    lower, upper = np.broadcast_arrays(np.asarray(lower, float), np.asarray(upper, float))
    flip = lower > 0
    lo = np.where(flip, -upper, lower)
    hi = np.where(flip, -lower, upper)
    log_hi = log_ndtr(hi)
    with np.errstate(divide="ignore"):
        return log_hi + _log1mexp(log_ndtr(lo) - log_hi)


def _log1mexp(a):
    """``log(1 - exp(a))`` for ``a <= 0`` (Mächler 2012)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a > -np.log(2.0), np.log(-np.expm1(a)), np.log1p(-np.exp(a)))


def interval_log_probability(x, width, weights, means, sigmas):
    """Log probability of each interval ``[x - width/2, x + width/2]`` under the mixture.

    Parameters
    ----------
    x : array_like, shape (N,)
    width : float
        The resolution ``h``.
    weights, means, sigmas : array_like, shape (..., K)
        One mixture, or a batch of them (e.g. posterior draws or SMC particles).

    Returns
    -------
    ndarray, shape (..., N)

    Examples
    --------
    >>> from scipy.stats import norm
    >>> lp = interval_log_probability([0.0], 1.0, [1.0], [0.0], [1.0])
    >>> bool(np.isclose(lp[0], np.log(norm.cdf(0.5) - norm.cdf(-0.5))))
    True
    """
    x = np.asarray(x, dtype=np.float64)
    weights, means, sigmas = np.broadcast_arrays(
        *(np.asarray(a, float) for a in (weights, means, sigmas))
    )
    if weights.size * x.size >= NUMBA_MIN_WORK:
        from gmm_bayes.em.interval_numba import interval_log_probability_rows

        batch, k = weights.shape[:-1], weights.shape[-1]
        rows = interval_log_probability_rows(
            x, width, *(a.reshape(-1, k) for a in (weights, means, sigmas))
        )
        return rows.reshape(*batch, x.size)
    x = x[:, None]  # (N, 1)
    means, sigmas = means[..., None, :], sigmas[..., None, :]  # (..., 1, K)
    log_mass = log_normal_mass((x - width / 2 - means) / sigmas, (x + width / 2 - means) / sigmas)
    with np.errstate(divide="ignore"):
        log_w = np.log(weights)[..., None, :]
        return logsumexp(log_w + log_mass, axis=-1)


def _robust_scale(x):
    """IQR / 1.349, or the sd when over half the values tie."""
    q1, q3 = np.percentile(x, [25, 75])
    scale = (q3 - q1) / 1.349
    return float(scale) if scale > 0 else float(np.std(x))


def _grid_width(values, spread):
    """The grid step of the distinct ``values`` (sorted), or None."""
    if values.size < 2 or not spread > 0:
        return None
    smallest_gap = float(np.min(np.diff(values)))
    for divisor in range(1, MAX_GRID_DIVISOR + 1):
        width = smallest_gap / divisor
        if width <= spread / NEGLIGIBLE_RATIO:
            return None
        steps = np.round(values / width)
        refined = float(np.dot(steps, values) / np.dot(steps, steps))  # least squares step
        if np.all(np.abs(values - steps * refined) <= GRID_RTOL * refined):
            return _tidy(refined)
    return None


def _tidy(width):
    """``width`` as the nearest short decimal or unit fraction (1/60 for seconds) when within
    rounding, so that 0.99999 prints as 1."""
    for candidate in (*(1 / d for d in (3, 6, 12, 24, 60, 3600)), round(width, 10)):
        if abs(candidate - width) <= 1e-6 * width:
            return float(candidate)
    digits = max(0, 6 - int(np.floor(np.log10(width))))
    rounded = round(width, digits)
    return float(rounded) if abs(rounded - width) <= 1e-6 * width else width


def _heaps(values, counts, width):
    """Heaped values and their counts, most frequent first."""
    from scipy.stats import poisson  # imported here: keeps `import gmm_bayes` cheap

    if width is None:
        heaped = counts >= HEAP_MIN_COUNT
    else:
        steps = np.round(values / width).astype(np.int64)
        neighbour = np.full(values.size, 0.5)
        for sign in (-1, 1):
            at = np.minimum(np.searchsorted(steps, steps + sign), steps.size - 1)
            neighbour = np.maximum(neighbour, np.where(steps[at] == steps + sign, counts[at], 0))
        tail = poisson.sf(counts - 1, neighbour)
        heaped = (
            (counts >= HEAP_MIN_COUNT)
            & (counts >= HEAP_RATIO * neighbour)
            & (tail < HEAP_P_VALUE / values.size)
        )
    order = np.argsort(-counts[heaped], kind="stable")
    return tuple(values[heaped][order].tolist()), tuple(counts[heaped][order].tolist())
