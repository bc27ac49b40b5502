"""Where EM starts: k-means++, quantile or random starts, or an explicit (partial) start.

Every start is a full set of ``(weights, means, variances)`` in standardized units, built from
hard assignments (each observation to its nearest centre, or to its rank group) and one M-step
(:func:`gmm_bayes.em.kernel.hard_stats`), so no (N, K) array is formed. Random choices come only
from the ``rng`` passed in.
"""

from dataclasses import dataclass

import numpy as np

from gmm_bayes._validation import as_component_vector, as_variances, as_weights
from gmm_bayes.em.kernel import hard_stats
from gmm_bayes.em.standardize import RELATIVE_REG_COVAR

__all__ = [
    "INITS",
    "START_POOL_SIZE",
    "Start",
    "initial_params",
    "kmeans_plusplus",
    "start_pool",
]

INITS = ("mixed", "kmeans++", "quantile", "random")
#: k-means++ and random starts pick centres among at most this many observations
START_POOL_SIZE = 1 << 17


@dataclass(frozen=True)
class Start:
    """An explicit start; any part may be None (then estimated as :func:`initial_params` says).

    Attributes
    ----------
    weights, means, variances : ndarray, shape (K,), or None

    Examples
    --------
    >>> start = Start.validated(2, means=[0.0, 10.0])
    >>> start.complete, start.means.tolist()
    (False, [0.0, 10.0])
    """

    weights: np.ndarray | None = None
    means: np.ndarray | None = None
    variances: np.ndarray | None = None

    @classmethod
    def validated(cls, n_components, weights=None, means=None, variances=None):
        """Check ``fit_em``'s ``weights_init``, ``means_init``, ``variances_init`` (shape (K,))."""
        return cls(
            None if weights is None else as_weights(weights, n_components),
            None if means is None else as_component_vector(means, "means_init", n_components),
            None if variances is None else as_variances(variances, n_components),
        )

    @property
    def empty(self):
        """True when nothing is given: the starts are the search's own."""
        return all(v is None for v in (self.weights, self.means, self.variances))

    @property
    def complete(self):
        """True when weights, means and variances are all given: one deterministic run."""
        return all(v is not None for v in (self.weights, self.means, self.variances))

    def to_z(self, standardizer):
        """The same start in the standardized units of ``standardizer``."""
        scale = standardizer.scale
        return Start(
            self.weights,
            None if self.means is None else (self.means - standardizer.loc) / scale,
            None if self.variances is None else self.variances / scale / scale,
        )


def start_pool(z, rng):
    """``z``, or ``START_POOL_SIZE`` of its observations at random positions, in data order.

    Centres from a random subset are as good a start, and k-means++ on all of a large ``z``
    would need several copies of it in memory.

    Parameters
    ----------
    z : ndarray, shape (N,)
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape (min(N, START_POOL_SIZE),)

    Examples
    --------
    >>> start_pool(np.arange(4.0), np.random.default_rng(0)).tolist()
    [0.0, 1.0, 2.0, 3.0]
    """
    if z.size <= START_POOL_SIZE:
        return z
    return z[np.sort(rng.choice(z.size, size=START_POOL_SIZE, replace=False))]


def initial_params(z, k, init, start, rng):
    """Starting ``(weights, means, variances)`` in standardized units.

    Parameters
    ----------
    z : ndarray, shape (N,)
        Standardized observations (all of them, or an in-memory sample).
    k : int
    init : {"kmeans++", "quantile", "random"}
        "kmeans++": scikit-learn's ``kmeans_plusplus`` centres; "random": K distinct
        observations as centres; each observation then goes to its nearest centre and one
        M-step gives the start. "quantile": K equal-count groups of the sorted data.
    start : Start
        Explicit parts (standardized units) override the estimated ones; given means are also
        the centres. A complete start is returned as is, without a pass over ``z``.
    rng : numpy.random.Generator

    Returns
    -------
    weights, means, variances : ndarray, shape (K,)
        Variances floored at ``RELATIVE_REG_COVAR``.

    Examples
    --------
    >>> z = np.array([-2.1, -2.0, -1.9, 1.9, 2.0, 2.1])
    >>> w, mu, var = initial_params(z, 2, "quantile", Start(), np.random.default_rng(0))
    >>> w.tolist(), mu.round(6).tolist()
    ([0.5, 0.5], [-2.0, 2.0])
    """
    if start.complete:  # no pass over z
        return start.weights / start.weights.sum(), start.means, start.variances
    centres = start.means if start.means is not None else _centres(z, k, init, rng)
    if centres is None:
        weights, means, variances = hard_stats(z, k, labels=_rank_groups(z, k))
    else:
        weights, means, variances = hard_stats(z, k, centres=centres)
    variances = np.maximum(variances, RELATIVE_REG_COVAR)
    if start.means is not None:
        means = start.means
    if start.weights is not None:
        weights = start.weights
    if start.variances is not None:
        variances = start.variances
    return weights / weights.sum(), means, variances


def _centres(z, k, init, rng):
    """K centres for ``init``, or None for the quantile start (which needs none)."""
    if init == "quantile":
        return None
    if init == "kmeans++":
        return kmeans_plusplus(start_pool(z, rng), k, rng)
    # distinct values in data order (not sorted order), so that x -> -x picks the same points
    pool = start_pool(z, rng)
    firsts = np.sort(np.unique(pool, return_index=True)[1])
    return pool[rng.choice(firsts, size=k, replace=firsts.size < k)]


def kmeans_plusplus(z, k, rng):
    """K centres by greedy k-means++ (scikit-learn's ``kmeans_plusplus`` for one dimension).

    The first centre is an observation drawn uniformly; each next one is the best (lowest
    total squared distance to the nearest centre) of ``2 + log(K)`` observations drawn with
    probability proportional to their squared distance to the nearest centre so far.

    Parameters
    ----------
    z : ndarray, shape (N,)
    k : int
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape (K,)

    Examples
    --------
    >>> z = np.array([-10.0, -9.9, 0.0, 0.1, 10.0, 10.1])
    >>> np.sort(kmeans_plusplus(z, 3, np.random.default_rng(0))).round(0).tolist()
    [-10.0, 0.0, 10.0]
    """
    trials = 2 + int(np.log(k))
    centres = [z[rng.integers(z.size)]]
    nearest = (z - centres[0]) ** 2
    for _ in range(1, k):
        total = nearest.sum()
        if total == 0.0:  # fewer distinct values than centres: repeat one
            centres.append(centres[-1])
            continue
        picks = np.searchsorted(np.cumsum(nearest), rng.random(trials) * total)
        candidates = z[np.minimum(picks, z.size - 1)]
        potentials = np.minimum(nearest, (z - candidates[:, None]) ** 2)
        best = np.argmin(potentials.sum(axis=1))
        centres.append(candidates[best])
        nearest = potentials[best]
    return np.array(centres)


def _rank_groups(z, k):
    """Equal-count groups by rank, shape (N,): symmetric under reversing the order."""
    ranks = np.argsort(np.argsort(z, kind="stable"), kind="stable")
    return np.minimum(np.floor(k * (ranks + 0.5) / z.size).astype(int), k - 1)
