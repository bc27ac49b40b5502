"""The multi-chain rank uniformity test of ArviZ's rank plot, for many parameters at once.

``arviz_plots.plot_rank`` highlights a parameter when ``arviz_stats``' multi-chain uniformity
test (Tesso & Vehtari 2026: each chain's rank ECDF at ``z_i = i / (n + 1)`` against its
hypergeometric null, mid-p values combined by the Cauchy rule over chains, then over the
points) rejects. arviz_stats evaluates scipy's hypergeometric pmf and cdf point by point,
about 0.1-0.3 s per parameter; here the null distribution, the same for every parameter of a
sample, is tabulated once from log-binomials, so a diagnosis pays milliseconds per parameter.
The p-values equal arviz_stats' to 1e-7 relative wherever they exceed 1e-6 (below, both are
far under any threshold and differ by how the hypergeometric tails round).
"""

import numpy as np
from scipy.special import gammaln

__all__ = ["MAX_TEST_DRAWS", "rank_uniformity_p_values"]

#: chains longer than this are tested on evenly thinned draws (the null table grows as the
#: square of the draws)
MAX_TEST_DRAWS = 2000
_ROWS_PER_BLOCK = 256


def rank_uniformity_p_values(fractional_ranks):
    """p-values of the multi-chain rank uniformity test, one per parameter.

    Parameters
    ----------
    fractional_ranks : ndarray, shape (P, C, n)
        Each parameter's ranks over all its draws divided by their number
        (``arviz_stats``' ``compute_ranks(..., relative=True)``), on chains x draws.

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
