"""Posterior membership probabilities: how surely each observation belongs to each component.

:func:`membership` summarizes, per observation and component, the responsibilities of every
posterior draw (their mean and an equal-tailed interval). The module is not called
``membership`` so that ``gmm_bayes.bayes.membership`` stays the function.
"""

import numpy as np
import xarray as xr

from gmm_bayes._validation import as_positive_float, as_probability
from gmm_bayes.bayes.pointwise import draws_of
from gmm_bayes.bayes.pointwise_mv import membership_mv
from gmm_bayes.conventions import INTERVAL_PROB, PARAMS
from gmm_bayes.mixture import responsibilities, univariate

__all__ = ["MEMBERSHIP_MIN_DRAWS", "MEMBERSHIP_WORK", "membership"]

#: at most this many responsibilities (draws x points x K) are computed; beyond, draws are
#: thinned (to no fewer than MEMBERSHIP_MIN_DRAWS) and then a grid is interpolated
MEMBERSHIP_WORK = 3e7
MEMBERSHIP_MIN_DRAWS = 1000
#: responsibilities (points x K x draws) per block
_BLOCK_NUMBERS = 8e6
#: observations at which a grid interpolation is checked against the direct computation
_GRID_CHECKS = 1000


def membership(idata, *, prob=INTERVAL_PROB, block_size=None, max_work=MEMBERSHIP_WORK):
    """Posterior probability that each observation belongs to each component.

    For every draw, ``r_nk = w_k N(y_n | mu_k, sigma_k) / sum_j w_j N(y_n | mu_j, sigma_j)``;
    the ordered means keep component ``k`` the same component in every draw, so the draws can
    be summarized per ``(n, k)``.

    ``r`` is computed once per distinct value (tied observations share it). When that would
    exceed ``max_work`` responsibilities (draws x distinct values x K), the draws are thinned
    evenly (to no fewer than ``MEMBERSHIP_MIN_DRAWS``), and if that is not enough, ``r`` is
    computed on a grid of values (half at evenly spaced ranks of the distinct values, half
    evenly spaced over their range) and linearly interpolated; the largest difference from the
    direct computation at 1000 observations is stored as ``max_interpolation_error``.

    Parameters
    ----------
    idata : xarray.DataTree
        With ``posterior`` (``w``, ``mu``, ``sigma``) and ``observed_data`` (``y``); a
        multivariate tree (``y`` on obs, dim) is summarized by
        :func:`~gmm_bayes.bayes.pointwise_mv.membership_mv` (all rows, ``block_size`` and
        ``max_work`` unused).
    prob : float, default ``INTERVAL_PROB`` (0.94)
        Mass of the equal-tailed interval.
    block_size : int, optional
        Points per block (memory is ``block_size * K * draws``); default keeps a block near 8
        million numbers.
    max_work : float, default ``MEMBERSHIP_WORK`` (3e7)

    Returns
    -------
    xarray.Dataset
        ``mean``, ``lower``, ``upper`` on ``(obs, component)``; ``y`` on ``obs``; attributes
        ``prob``, ``n_draws`` (draws used), ``method`` ("distinct values" or "grid") and, for
        the grid, ``grid_points`` and ``max_interpolation_error``.

    Examples
    --------
    >>> dims = ("chain", "draw", "component")
    >>> post = xr.Dataset({"w": (dims, [[[0.5, 0.5]]]), "mu": (dims, [[[-5.0, 5.0]]]),
    ...                    "sigma": (dims, [[[1.0, 1.0]]])})
    >>> tree = xr.DataTree.from_dict(
    ...     {"posterior": post, "observed_data": xr.Dataset({"y": ("obs", [-5.0, 0.0, 5.0])})})
    >>> membership(tree)["mean"].values.round(6).tolist()
    [[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]
    """
    if idata["observed_data"]["y"].ndim == 2:  # (obs, dim): a multivariate posterior
        return membership_mv(idata, prob=prob)
    prob = as_probability(prob, "prob")
    max_work = as_positive_float(max_work, "max_work")
    post = idata["posterior"]
    w, mu, sigma = (draws_of(post, name).reshape(-1, post.sizes["component"]) for name in PARAMS)
    y = np.asarray(idata["observed_data"]["y"].values, dtype=np.float64)
    obs = idata["observed_data"]["y"].coords.get("obs", np.arange(y.size))
    values, inverse = np.unique(y, return_inverse=True)
    n_draws, k = w.shape
    if n_draws * values.size * k > max_work:  # thin the draws evenly
        keep = min(n_draws, max(MEMBERSHIP_MIN_DRAWS, int(max_work // (values.size * k))))
        pick = np.linspace(0, n_draws - 1, keep).round().astype(np.int64)
        w, mu, sigma = w[pick], mu[pick], sigma[pick]
        n_draws = keep
    attrs = {"prob": prob, "n_draws": int(n_draws)}
    rule = {"prob": prob, "block_size": block_size}
    if n_draws * values.size * k <= max_work:
        mean, lower, upper = _summary(values, w, mu, sigma, **rule)
        attrs["method"] = "distinct values"
    else:
        grid = _grid(values, max(int(max_work // (n_draws * k)), 64))
        on_grid = _summary(grid, w, mu, sigma, **rule)
        mean, lower, upper = (_interpolate(values, grid, part) for part in on_grid)
        check = np.random.default_rng(0).choice(
            values.size, min(values.size, _GRID_CHECKS), replace=False
        )
        direct = _summary(values[check], w, mu, sigma, **rule)[0]
        attrs.update(
            method="grid",
            grid_points=int(grid.size),
            max_interpolation_error=float(np.max(np.abs(direct - mean[check]))),
        )
    dims = ("obs", "component")
    coords = {"obs": np.asarray(obs), "component": post["w"].coords["component"].values}
    return xr.Dataset(
        {
            "mean": (dims, mean[inverse]),
            "lower": (dims, lower[inverse]),
            "upper": (dims, upper[inverse]),
            "y": ("obs", y),
        },
        coords=coords,
        attrs=attrs,
    )


def _summary(values, w, mu, sigma, *, prob, block_size):
    """``(mean, lower, upper)``, each ``(M, K)``, of the responsibilities at ``values``."""
    n_draws, k = w.shape
    block = block_size or max(1, int(_BLOCK_NUMBERS // (n_draws * k)))
    tail = (1 - prob) / 2
    mean, lower, upper = (np.empty((values.size, k)) for _ in range(3))
    for start in range(0, values.size, block):
        part = slice(start, start + block)
        x, means, covariances = univariate(values[part], mu, sigma**2)
        resp = responsibilities(x, w, means, covariances).transpose(1, 2, 0)  # (B, K, S)
        mean[part] = resp.mean(axis=2)
        lower[part], upper[part] = np.quantile(resp, [tail, 1 - tail], axis=2)
    return mean, lower, upper


def _grid(values, size):
    """Sorted grid over ``values``' range: half at evenly spaced ranks, half evenly spaced."""
    ranks = values[np.linspace(0, values.size - 1, size // 2).round().astype(np.int64)]
    even = np.linspace(values[0], values[-1], size - size // 2)
    return np.unique(np.concatenate([ranks, even]))


def _interpolate(values, grid, table):
    """Linear interpolation of each column of ``table`` (on ``grid``) at ``values``."""
    return np.stack([np.interp(values, grid, table[:, j]) for j in range(table.shape[1])], axis=1)
