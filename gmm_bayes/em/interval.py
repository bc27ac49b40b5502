"""EM for data recorded at a resolution: the interval likelihood as a :class:`DataSource`.

Each distinct value ``v`` (with its count ``c``) stands for the interval ``[v - h/2, v + h/2]``
(:mod:`~gmm_bayes.em.resolution`). EM for such data (McLachlan & Jones 1988) takes, in the
E-step, each component's probability of each interval, and in the M-step the first and second
moments of each component truncated to each interval: with ``a = (v - h/2 - mu) / s``,
``b = (v + h/2 - mu) / s``, ``P = Phi(b) - Phi(a)`` and ``phi`` the standard normal density,

    E[X]   = mu + s (phi(a) - phi(b)) / P
    Var[X] = s**2 [1 + (a phi(a) - b phi(b)) / P - ((phi(a) - phi(b)) / P)**2]

The component's new mean is the responsibility-weighted mean of ``E[X]``, its new (biased)
variance the weighted mean of ``Var[X] + (E[X] - new mean)**2``: the sufficient statistics of
the :class:`~gmm_bayes.em.source.DataSource` protocol, so the driver, the search and the M-steps
(maximum likelihood or MAP, full or tied) are unchanged. The log-likelihood is the sum of the
intervals' log probabilities: a probability, so it does not change with the data's units.
"""

import numpy as np
from scipy.special import logsumexp

from gmm_bayes.em.kernel import COUNT_EPS
from gmm_bayes.em.resolution import log_normal_mass
from gmm_bayes.em.source import DataSource

__all__ = ["BLOCK", "IntervalSource"]

#: distinct values per block of the pass (B x K temporaries)
BLOCK = 1 << 14
_LOG_SQRT_2PI = 0.5 * float(np.log(2 * np.pi))


class IntervalSource(DataSource):
    """Observations recorded at resolution ``width``, as a :class:`DataSource`.

    Parameters
    ----------
    z : ndarray, shape (N,)
        Standardized observations (their distinct values and counts are kept).
    width : float
        The resolution in the units of ``z``.

    Attributes
    ----------
    values, counts : ndarray, shape (M,)
    density : bool
        False: the log-likelihood is a log probability (no change-of-units term).

    Examples
    --------
    One component, data {0, 0, 1} at resolution 1: the pass's log-likelihood is the sum of the
    intervals' log probabilities.

    >>> from scipy.stats import norm
    >>> source = IntervalSource(np.array([0.0, 0.0, 1.0]), 1.0)
    >>> ll, nk, means, variances = source.em_pass(np.ones(1), np.zeros(1), np.ones(1))
    >>> mass = lambda v: norm.cdf(v + 0.5) - norm.cdf(v - 0.5)
    >>> bool(np.isclose(ll, 2 * np.log(mass(0)) + np.log(mass(1)))), source.size
    (True, 3)
    """

    density = False

    def __init__(self, z, width):
        self.values, counts = np.unique(z, return_counts=True)
        self.counts = counts.astype(np.float64)
        self.width = float(width)
        self.size = int(np.asarray(z).size)

    def em_pass(self, weights, means, variances):
        sigmas = np.sqrt(np.asarray(variances, dtype=np.float64))
        if not _valid(weights, means, sigmas):
            nan = np.full(np.size(means), np.nan)
            return np.nan, nan, nan, nan
        k = np.size(means)
        log_likelihood, n, s1, s2 = 0.0, np.zeros(k), np.zeros(k), np.zeros(k)
        for start in range(0, self.values.size, BLOCK):
            block = slice(start, start + BLOCK)
            ll, rc, first, second = self._block(
                self.values[block], self.counts[block], weights, means, sigmas
            )
            log_likelihood += ll
            n += rc.sum(axis=0)
            s1 += np.einsum("mk,mk->k", rc, first)
            s2 += np.einsum("mk,mk->k", rc, second)
        nk = n + COUNT_EPS
        shift = s1 / nk
        new_variances = np.maximum(s2 / nk - shift**2, 0.0)
        return float(log_likelihood), nk, means + shift, new_variances

    def classification_entropy(self, weights, means, variances):
        """``-sum_n sum_k z_nk log z_nk``, ``z_nk`` the responsibilities of the intervals."""
        sigmas = np.sqrt(np.asarray(variances, dtype=np.float64))
        total = 0.0
        for start in range(0, self.values.size, BLOCK):
            block = slice(start, start + BLOCK)
            _, rc, _, _ = self._block(
                self.values[block], self.counts[block], weights, means, sigmas
            )
            r = rc / self.counts[block, None]
            total -= float(np.sum(rc * np.log(np.where(r > 0, r, 1.0))))
        return total

    def _block(self, values, counts, weights, means, sigmas):
        """Log-likelihood, count-weighted responsibilities (M, K), and each interval's first
        and second moments under each component about its mean (``E[X - mu]``,
        ``E[(X - mu)**2]``: no cancellation for data far from 0)."""
        half = self.width / 2
        a = (values[:, None] - half - means) / sigmas
        b = (values[:, None] + half - means) / sigmas
        log_mass = log_normal_mass(a, b)
        with np.errstate(divide="ignore"):
            log_joint = np.log(weights) + log_mass
        log_p = logsumexp(log_joint, axis=1)
        rc = np.exp(log_joint - log_p[:, None]) * counts[:, None]
        ra = np.exp(-0.5 * a * a - _LOG_SQRT_2PI - log_mass)  # phi(a) / P
        rb = np.exp(-0.5 * b * b - _LOG_SQRT_2PI - log_mass)
        first = sigmas * (ra - rb)
        second = np.maximum(sigmas**2 * (1 + a * ra - b * rb), 0.0)
        return float(np.dot(counts, log_p)), rc, first, second


def _valid(weights, means, sigmas):
    return bool(
        np.all(np.isfinite(means))
        and np.all(np.isfinite(sigmas))
        and np.all(sigmas > 0)
        and np.all(np.asarray(weights) >= 0)
        and np.any(np.asarray(weights) > 0)
    )
