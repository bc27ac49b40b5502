"""Insertion moves: where a K-th component would most raise the likelihood of a K-1 fit.

The greedy EM of Vlassis & Likas (2002) and Verbeek, Vlassis & Kröse (2003) grows a mixture
one component at a time: candidates for the new component are placed on the data, each is
fitted by a *partial* EM (the new component's weight, mean and variance move, the fitted
components stay), and the candidates that raise the log-likelihood most start full EM runs.

Here the candidates sit on windows of consecutive sorted observations, from a few points (a
narrow component on a tight group, which the starts of :mod:`~.starts` seldom produce) to a
third of the data (a broad component), so a K fit that is a K-1 fit plus any one component is
reached from the K-1 fit. All in standardized units, on at most ``SCORE_SAMPLE_SIZE``
observations.
"""

import numpy as np

from gmm_bayes import mixture
from gmm_bayes.em.result import collapsed_components

__all__ = [
    "ONE_VALUE_SHARE",
    "PARTIAL_ITER",
    "PER_WINDOW_SIZE",
    "SCORE_SAMPLE_SIZE",
    "WINDOW_SIZES",
    "insertion_starts",
]

#: window sizes: a count of observations (int), or a fraction of them (float)
WINDOW_SIZES = (3, 4, 6, 10, 16, 0.1, 0.2, 0.35, 0.6)
#: candidates kept per window size (by a first score on the window's own points)
PER_WINDOW_SIZE = 8
#: partial EM iterations fitting each candidate
PARTIAL_ITER = 10
#: candidates are scored on at most this many observations (a random sample beyond)
SCORE_SAMPLE_SIZE = 1000
#: a candidate with more of its weight than this on one repeated value would collapse onto it
ONE_VALUE_SHARE = 0.9


def insertion_starts(z, params, reg, rng, n_starts):
    """Starts for K components: the K-1 components of ``params`` plus the best new ones.

    Parameters
    ----------
    z : ndarray, shape (N,)
        Standardized observations.
    params : tuple of ndarray, shape (K - 1,)
        ``(weights, means, variances)`` of a K-1 fit.
    reg : float
        Added to each candidate's variance, as the M-step does.
    rng : numpy.random.Generator
        Draws the scoring sample when N > ``SCORE_SAMPLE_SIZE``.
    n_starts : int
        At most this many starts, from distinct candidates.

    Returns
    -------
    list of tuple of ndarray, shape (K,)
        ``(weights, means, variances)``, the candidate with the largest gain in log-likelihood
        first; candidates that would collapse (see :func:`~.result.collapsed_components`, and
        most of their weight on one repeated value) or copy a component of ``params`` (EM would
        stay at that saddle) are left out.

    Examples
    --------
    A K=1 fit of two groups: the best new component sits on the group it misses.

    >>> z = np.concatenate([np.linspace(-0.2, 0.2, 40), np.linspace(4.8, 5.2, 10)])
    >>> params = (np.ones(1), np.array([0.0]), np.array([0.01]))
    >>> w, mu, var = insertion_starts(z, params, 1e-6, np.random.default_rng(0), 1)[0]
    >>> w.round(2).tolist(), mu.round(2).tolist()
    ([0.8, 0.2], [0.0, 5.0])
    """
    zs = np.sort(z if z.size <= SCORE_SAMPLE_SIZE else rng.choice(z, SCORE_SAMPLE_SIZE, False))
    log_f = _log_density(zs, params)
    means, variances = _window_candidates(zs, log_f, reg)
    alpha, means, variances, gain, r = _partial_em(zs, log_f, means, variances, reg, len(params[0]))
    nk = r.sum(axis=1)
    ok = (
        np.isfinite(gain)
        & ~collapsed_components(alpha, variances, z.size, reg)
        & ~_on_one_value(zs, r, nk)
    )
    weights, old_means, old_variances = params
    existing = list(zip(old_means, old_variances, strict=True))
    chosen = []
    for i in np.argsort(-gain):
        others = existing + [(means[j], variances[j]) for j in chosen]
        if ok[i] and all(_differ(means[i], variances[i], m, v) for m, v in others):
            chosen.append(i)
        if len(chosen) == n_starts:
            break
    return [
        (
            np.append(weights * (1 - alpha[i]), alpha[i]),
            np.append(old_means, means[i]),
            np.append(old_variances, variances[i]),
        )
        for i in chosen
    ]


def _log_density(zs, params):
    """Log density of the K-1 fit at ``zs``, shape (M,)."""
    weights, means, variances = params
    xs, mus, covs = mixture.univariate(zs, means, variances)
    return mixture.log_density(xs, weights, mus, covs)


def _window_candidates(zs, log_f, reg):
    """Means and variances of the best ``PER_WINDOW_SIZE`` windows of each size.

    A window's first score is the gain on its own points of adding a component with its mean,
    variance and share of the data; windows of one repeated value are left out.
    """
    m = zs.size
    means, variances = [], []
    for size in WINDOW_SIZES:
        size = round(size * m) if isinstance(size, float) else size
        if not 2 <= size < m:  # a window of all the data copies a one-component fit
            continue
        offsets = np.arange(0, m - size + 1, max(1, size // 3))
        first = np.union1d(offsets, m - size - offsets)  # the same windows for -z
        window = zs[first[:, None] + np.arange(size)]
        mu, var = window.mean(axis=1), np.maximum(window.var(axis=1), reg)
        share = size / m
        log_phi = _log_normal(window, mu, var)
        lf = log_f[first[:, None] + np.arange(size)]
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):  # far outliers
            mixed = np.logaddexp(np.log1p(-share) + lf, np.log(share) + log_phi)
            gain = (mixed - lf).sum(axis=1)
        gain[window[:, -1] == window[:, 0]] = -np.inf
        best = np.argsort(-gain)[:PER_WINDOW_SIZE]
        best = best[np.isfinite(gain[best])]
        means.append(mu[best])
        variances.append(var[best])
    return np.concatenate(means), np.concatenate(variances)


def _log_normal(x, mu, var):
    """``log N(x | mu, var)`` for rows of candidates: x (C, M) or (M,), mu and var (C,)."""
    with np.errstate(divide="ignore", invalid="ignore"):  # a window of ties with reg_covar=0
        return -0.5 * np.log(2 * np.pi * var)[:, None] - 0.5 * (x - mu[:, None]) ** 2 / var[:, None]


def _partial_em(zs, log_f, means, variances, reg, k_old):
    """Partial EM of every candidate against the fixed K-1 fit (log density ``log_f``).

    Returns the candidates' weights, means, variances, log-likelihood gains and
    responsibilities (C, M).
    """
    alpha = np.full(means.size, 1.0 / (2 * (k_old + 1)))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        for iteration in range(PARTIAL_ITER + 1):
            log_new = np.log(alpha)[:, None] + _log_normal(zs, means, variances)
            log_mixed = np.logaddexp(np.log1p(-alpha)[:, None] + log_f, log_new)
            r = np.exp(log_new - log_mixed)
            if iteration == PARTIAL_ITER:
                break
            nk = r.sum(axis=1)
            alpha = np.clip(nk / zs.size, 1e-12, 1 - 1e-12)
            means = (r @ zs) / nk
            variances = (r * (zs - means[:, None]) ** 2).sum(axis=1) / nk + reg
        gain = (log_mixed - log_f).sum(axis=1)
    return alpha, means, variances, gain, r


def _on_one_value(zs, r, nk):
    """Candidates with over ``ONE_VALUE_SHARE`` of their weight on one repeated value."""
    starts = np.concatenate([[0], np.flatnonzero(np.diff(zs)) + 1])
    return np.add.reduceat(r, starts, axis=1).max(axis=1) > ONE_VALUE_SHARE * nk


def _differ(mean_a, variance_a, mean_b, variance_b):
    """Two components are not the same (means or widths apart): a copy of a component would
    start EM at a saddle, where it stays."""
    wide = np.sqrt(max(variance_a, variance_b))
    return abs(mean_a - mean_b) > 0.5 * wide or abs(np.log(variance_a / variance_b)) > 1
