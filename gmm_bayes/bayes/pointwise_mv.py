"""Per-observation quantities of a multivariate posterior sample: log-likelihood, replicates,
membership.

The d >= 2 counterparts of :mod:`~gmm_bayes.bayes.pointwise` and
:mod:`~gmm_bayes.bayes.component_membership`: the posterior holds ``w`` (chain, draw,
component), ``mu`` (chain, draw, component, dim) and ``cov`` (chain, draw, component, dim,
dim_bis), and every draw is evaluated on the (N, d) data through :mod:`gmm_bayes.mixture`, in
blocks of draws.
"""

import numpy as np
import xarray as xr

from gmm_bayes._validation import as_probability
from gmm_bayes.bayes.pointwise import draws_of
from gmm_bayes.conventions import INTERVAL_PROB
from gmm_bayes.mixture import log_density, predictive_draws, responsibilities

__all__ = ["log_likelihood_group_mv", "membership_mv", "posterior_predictive_group_mv"]

#: numbers (draws x observations x components) per block of draws
_BLOCK_NUMBERS = 4_000_000


def _flat_draws(posterior):
    """``(w (S, K), mu (S, K, d), cov (S, K, d, d))`` over all S = chains x draws."""
    w, mu, cov = (draws_of(posterior, name) for name in ("w", "mu", "cov"))
    n_samples = w.shape[0] * w.shape[1]
    return (
        w.reshape(n_samples, -1),
        mu.reshape(n_samples, *mu.shape[2:]),
        cov.reshape(n_samples, *cov.shape[2:]),
    )


def _blocks(n_samples, n_points, k):
    step = max(1, _BLOCK_NUMBERS // max(n_points * k, 1))
    return [slice(start, start + step) for start in range(0, n_samples, step)]


def _on_draws(posterior, values):
    coords = {
        "chain": posterior["chain"].values,
        "draw": posterior["draw"].values,
        "obs": np.arange(values.shape[2]),
    }
    dims = ("chain", "draw", "obs", "dim")[: values.ndim]
    if values.ndim == 4:
        coords["dim"] = np.arange(values.shape[3])
    return xr.Dataset({"y": (dims, values)}, coords=coords)


def log_likelihood_group_mv(posterior, x):
    """The ``log_likelihood`` group: each observation's log density, ``y`` on (chain, draw, obs).

    Parameters
    ----------
    posterior : xarray.Dataset or DataTree node
        ``w``, ``mu``, ``cov`` as in the module docstring.
    x : ndarray, shape (N, d)

    Returns
    -------
    xarray.Dataset

    Examples
    --------
    >>> post = xr.Dataset({"w": (("chain", "draw", "component"), np.ones((1, 1, 1))),
    ...     "mu": (("chain", "draw", "component", "dim"), np.zeros((1, 1, 1, 2))),
    ...     "cov": (("chain", "draw", "component", "dim", "dim_bis"), np.eye(2)[None, None, None])})
    >>> log_likelihood_group_mv(post, np.zeros((1, 2)))["y"].values.round(6).tolist()  # -log 2 pi
    [[[-1.837877]]]
    """
    w, mu, cov = _flat_draws(posterior)
    out = np.empty((w.shape[0], x.shape[0]))
    for part in _blocks(w.shape[0], x.shape[0], w.shape[1]):
        out[part] = log_density(x, w[part], mu[part], cov[part])
    shape = (posterior.sizes["chain"], posterior.sizes["draw"], x.shape[0])
    return _on_draws(posterior, out.reshape(shape))


def posterior_predictive_group_mv(posterior, n, rng):
    """The ``posterior_predictive`` group: one replicate of ``n`` rows per draw, ``y`` on
    (chain, draw, obs, dim).

    Parameters
    ----------
    posterior : xarray.Dataset or DataTree node
    n : int
    rng : numpy.random.Generator

    Returns
    -------
    xarray.Dataset

    Examples
    --------
    >>> post = xr.Dataset({"w": (("chain", "draw", "component"), np.ones((2, 3, 1))),
    ...     "mu": (("chain", "draw", "component", "dim"), np.full((2, 3, 1, 2), 100.0)),
    ...     "cov": (("chain", "draw", "component", "dim", "dim_bis"), np.eye(2)[None, None, None]
    ...             * np.ones((2, 3, 1, 1, 1)))})
    >>> y = posterior_predictive_group_mv(post, 5, np.random.default_rng(0))["y"]
    >>> y.shape, bool(np.all(np.abs(y - 100) < 10))
    ((2, 3, 5, 2), True)
    """
    w, mu, cov = _flat_draws(posterior)
    out = np.empty((w.shape[0], n, mu.shape[-1]))
    for part in _blocks(w.shape[0], n, w.shape[1]):
        out[part] = predictive_draws(rng, w[part], mu[part], cov[part], n)
    shape = (posterior.sizes["chain"], posterior.sizes["draw"], n, mu.shape[-1])
    return _on_draws(posterior, out.reshape(shape))


def membership_mv(idata, *, prob=INTERVAL_PROB, max_draws=1000):
    """Posterior probability that each row belongs to each component (d >= 2).

    As :func:`gmm_bayes.bayes.membership`: per draw ``r_nk`` (the means are ordered along the
    principal axis, so component k is the same in every draw), summarized by its mean and
    equal-tailed interval over at most ``max_draws`` evenly thinned draws.

    Parameters
    ----------
    idata : xarray.DataTree
        ``posterior`` (``w``, ``mu``, ``cov``) and ``observed_data`` (``y`` on obs, dim).
    prob : float, default 0.94
    max_draws : int, default 1000

    Returns
    -------
    xarray.Dataset
        ``mean``, ``lower``, ``upper`` on (obs, component); ``y`` on (obs, dim); attributes
        ``prob``, ``n_draws``, ``method`` ("all rows").

    Examples
    --------
    >>> post = xr.Dataset({"w": (("chain", "draw", "component"), [[[0.5, 0.5]]]),
    ...     "mu": (("chain", "draw", "component", "dim"), [[[[-5.0, 0.0], [5.0, 0.0]]]]),
    ...     "cov": (("chain", "draw", "component", "dim", "dim_bis"),
    ...             np.broadcast_to(np.eye(2), (1, 1, 2, 2, 2)))})
    >>> data = xr.Dataset({"y": (("obs", "dim"), [[-5.0, 0.0], [0.0, 1.0], [5.0, 0.0]])})
    >>> tree = xr.DataTree.from_dict({"posterior": post, "observed_data": data})
    >>> membership_mv(tree)["mean"].values.round(6).tolist()
    [[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]
    """
    prob = as_probability(prob, "prob")
    w, mu, cov = _flat_draws(idata["posterior"])
    pick = np.unique(np.linspace(0, w.shape[0] - 1, min(max_draws, w.shape[0])).round())
    pick = pick.astype(np.int64)
    y = np.asarray(idata["observed_data"]["y"].transpose("obs", "dim").values, dtype=np.float64)
    resp = np.concatenate(
        [
            responsibilities(y, w[pick][part], mu[pick][part], cov[pick][part])
            for part in _blocks(pick.size, y.shape[0], w.shape[1])
        ]
    )  # (S, N, K)
    tail = (1 - prob) / 2
    lower, upper = np.quantile(resp, [tail, 1 - tail], axis=0)
    dims = ("obs", "component")
    return xr.Dataset(
        {
            "mean": (dims, resp.mean(axis=0)),
            "lower": (dims, lower),
            "upper": (dims, upper),
            "y": (("obs", "dim"), y),
        },
        coords={
            "obs": np.arange(y.shape[0]),
            "component": idata["posterior"]["w"].coords["component"].values,
        },
        attrs={"prob": prob, "n_draws": int(pick.size), "method": "all rows"},
    )
