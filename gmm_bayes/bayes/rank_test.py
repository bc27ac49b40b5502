"""The multi-chain rank uniformity test of ArviZ's rank plot, for many parameters at once.

``arviz_plots.plot_rank`` highlights a parameter when ``arviz_stats``' multi-chain uniformity
test (Tesso & Vehtari 2026: each chain's rank ECDF at ``z_i = i / (n + 1)`` against its
hypergeometric null, mid-p values combined by the Cauchy rule over chains, then over the
points) rejects. arviz_stats evaluates scipy's hypergeometric pmf and cdf point by point,
about 0.1-0.3 s per parameter; here the null distribution, the same for every parameter of a
sample, is tabulated once from log-binomials, so a diagnosis pays milliseconds per parameter.
The p-values equal arviz_stats' to 1e-7 relative wherever they exceed 1e-6 (below, both are
far under any threshold and differ by how the hypergeometric tails round), when the draws
within each chain are nearly independent.

The hypergeometric null holds for exchangeable draws. NUTS draws are autocorrelated, and then
identical chains fail the test far more often than its level: AR(1) chains with a within-chain
ESS of 0.37 per draw (faithful2d's K = 1 means) give p < 0.01 for 24% of parameters and
p < 1e-4 for 3.5% (400 simulated parameters, 4 x 1000 draws). So each chain is first thinned to
about its own effective sample size (:func:`thinning_steps`: the step is the draws per
within-chain bulk ESS, rounded; 1 for independent draws, which are tested as arviz_stats
tests them). The within-chain ESS leaves out the between-chain variance, the very disagreement
the test looks for, so thinning does not hide it.
"""

import numpy as np
from scipy.special import gammaln

__all__ = ["MAX_TEST_DRAWS", "rank_uniformity_p_values", "thinning_steps"]

#: chains longer than this are tested on evenly thinned draws (the null table grows as the
#: square of the draws)
MAX_TEST_DRAWS = 2000
_ROWS_PER_BLOCK = 256


def rank_uniformity_p_values(fractional_ranks, *, thin=True):
    """p-values of the multi-chain rank uniformity test, one per parameter.

    Parameters
    ----------
    fractional_ranks : ndarray, shape (P, C, n)
        Each parameter's ranks over all its draws divided by their number
        (``arviz_stats``' ``compute_ranks(..., relative=True)``), on chains x draws.
    thin : bool, default True
        Thin each parameter's chains by its :func:`thinning_steps` (re-ranked) first; False:
        test every draw as arviz_stats does (valid for independent draws only).

    Returns
    -------
    ndarray, shape (P,)
        Small values: the chains' rank distributions differ.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> draws = rng.normal(size=(2, 4, 500))
    >>> draws[1, 0] += 0.5                      # chain 0 of parameter 1 sits higher
    >>> ranks = draws.reshape(2, -1).argsort(axis=1).argsort(axis=1) + 1.0
    >>> p = rank_uniformity_p_values(ranks.reshape(2, 4, 500) / 2000)
    >>> bool(p[0] > 0.01), bool(p[1] < 1e-6)
    (True, True)
    """
    ranks = np.asarray(fractional_ranks, dtype=np.float64)
    steps = thinning_steps(ranks) if thin else np.ones(ranks.shape[0], dtype=np.int64)
    p_values = np.empty(ranks.shape[0])
    for step in np.unique(steps):
        rows = steps == step
        p_values[rows] = _p_values(ranks[rows] if step == 1 else _rerank(ranks[rows][..., ::step]))
    return p_values


def thinning_steps(fractional_ranks):
    """Each parameter's thinning step: its draws per chain over its within-chain bulk ESS
    (``arviz_stats``' ``ess(method="bulk")`` of each chain alone, averaged over chains),
    rounded, at least 1.

    Parameters
    ----------
    fractional_ranks : ndarray, shape (P, C, n)

    Returns
    -------
    ndarray of int, shape (P,)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> independent = rng.normal(size=(4, 1000))
    >>> repeated = np.repeat(rng.normal(size=(4, 250)), 4, axis=1)  # each draw 4 times
    >>> thinning_steps(np.stack([independent, repeated])).tolist()
    [1, 4]
    """
    from arviz_stats.base import array_stats

    ranks = np.asarray(fractional_ranks, dtype=np.float64)
    n_params, n_chains, n_draws = ranks.shape
    per_chain = ranks.reshape(n_params * n_chains, 1, n_draws)
    with np.errstate(divide="ignore", invalid="ignore"):
        ess = array_stats.ess(per_chain, chain_axis=-2, draw_axis=-1, method="bulk")
    ess = np.nanmean(np.asarray(ess, dtype=np.float64).reshape(n_params, n_chains), axis=1)
    steps = np.rint(n_draws / np.where(ess > 0, ess, n_draws))
    return np.clip(np.nan_to_num(steps, nan=1.0), 1, max(n_draws // 2, 1)).astype(np.int64)


def _p_values(ranks):
    """The test on every draw of ``ranks`` (P, C, n) (evenly thinned above ``MAX_TEST_DRAWS``)."""
    n_params, n_chains, n_draws = ranks.shape
    if n_draws > MAX_TEST_DRAWS:
        keep = np.linspace(0, n_draws - 1, MAX_TEST_DRAWS).round().astype(int)
        ranks = _rerank(ranks[:, :, keep])
        n_draws = MAX_TEST_DRAWS
    z = np.arange(1, n_draws + 1) / (n_draws + 1)
    total = n_chains * n_draws
    taken = np.floor(z * total).astype(np.int64)  # draws below z_i, all chains
    ordered = np.sort(ranks, axis=-1)
    counts = np.stack(
        [
            np.stack([np.searchsorted(ordered[p, c], z, side="right") for c in range(n_chains)])
            for p in range(n_params)
        ]
    )  # (P, C, n): each chain's ECDF count at z_i
    gamma = np.empty(counts.shape)
    for start in range(0, n_draws, _ROWS_PER_BLOCK):
        rows = slice(start, start + _ROWS_PER_BLOCK)
        pmf, cdf = _hypergeometric_table(total, n_draws, taken[rows])
        i = np.arange(pmf.shape[0])[None, None, :]
        x = counts[:, :, rows]
        lower = cdf[i, x] - 0.5 * pmf[i, x]
        gamma[:, :, rows] = 2 * np.minimum(lower, 1.0 - lower)
    per_point = 0.5 - np.arctan(np.tan((0.5 - gamma) * np.pi).mean(axis=1)) / np.pi
    return 0.5 - np.arctan(np.tan((0.5 - per_point) * np.pi).mean(axis=-1)) / np.pi


def _hypergeometric_table(total, successes, taken):
    """pmf and cdf of the hypergeometric law (``total`` items, ``successes`` of them marked,
    ``taken[i]`` drawn) at 0..successes, shape (len(taken), successes + 1)."""
    x = np.arange(successes + 1)[None, :]
    k = taken[:, None]
    inside = (x <= k) & (k - x <= total - successes)
    with np.errstate(invalid="ignore"):
        log_pmf = (
            _log_choose(successes, x)
            + _log_choose(total - successes, np.where(inside, k - x, 0))
            - _log_choose(total, k)
        )
    pmf = np.exp(np.where(inside, log_pmf, -np.inf))
    return pmf, np.minimum(np.cumsum(pmf, axis=1), 1.0)


def _log_choose(n, k):
    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)


def _rerank(draws):
    """Fractional ranks over each parameter's chains and draws (ties averaged)."""
    from scipy.stats import rankdata

    flat = draws.reshape(draws.shape[0], -1)
    return (rankdata(flat, axis=1) / flat.shape[1]).reshape(draws.shape)
