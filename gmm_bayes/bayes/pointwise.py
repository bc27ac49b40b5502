"""Per-observation groups of a posterior tree, computed from the draws by :mod:`gmm_bayes.mixture`.

:func:`log_likelihood_group` (the log density of every observation under every draw, for LOO,
whatever binning the likelihood was sampled with; or, for data recorded at a resolution, the
log probability of each value's interval, the likelihood the model was written with) and
:func:`posterior_predictive_group` (one replicate data set per draw). Both work in blocks of
draws, so their temporaries stay near :data:`BLOCK_NUMBERS` numbers per component at any size.
"""

import numpy as np
import xarray as xr

from gmm_bayes.conventions import PARAMS
from gmm_bayes.em.resolution import interval_log_probability
from gmm_bayes.mixture import log_density, predictive_draws, univariate

__all__ = [
    "BLOCK_NUMBERS",
    "draws_of",
    "log_likelihood_group",
    "posterior_predictive_group",
]

#: numbers (draws x points) per block of the log density and of the predictive draws
BLOCK_NUMBERS = 65_536


def draws_of(posterior, name):
    """``(chain, draw, ...)`` float64 values of a posterior variable."""
    return np.asarray(posterior[name].transpose("chain", "draw", ...).values, dtype=np.float64)


def _draw_blocks(n_draws, n_points):
    """Slices of draws holding about :data:`BLOCK_NUMBERS` numbers each."""
    step = max(1, BLOCK_NUMBERS // max(n_points, 1))
    return [slice(start, start + step) for start in range(0, n_draws, step)]


def _group(posterior, y):
    coords = {
        "chain": posterior["chain"].values,
        "draw": posterior["draw"].values,
        "obs": np.arange(y.shape[-1]),
    }
    return xr.Dataset({"y": (("chain", "draw", "obs"), y)}, coords=coords)


def log_likelihood_group(posterior, x, resolution=None):
    """The ``log_likelihood`` group: ``y`` on ``(chain, draw, obs)``.

    The mixture log density (or, with a ``resolution`` h, the log probability of
    ``[x - h/2, x + h/2]``: a bounded likelihood, so LOO cannot prefer a spike on tied values)
    is evaluated once per distinct value of ``x`` and expanded to every observation (ties
    share it).

    Parameters
    ----------
    posterior : xarray.Dataset or DataTree node
        ``w``, ``mu``, ``sigma`` on ``(chain, draw, component)``.
    x : ndarray, shape (N,)
    resolution : float or None
        The recording resolution the model's likelihood used (``build_model(...,
        resolution=)``); None for the density.

    Returns
    -------
    xarray.Dataset

    Examples
    --------
    >>> dims = ("chain", "draw", "component")
    >>> post = xr.Dataset({n: (dims, np.full((1, 1, 1), v)) for n, v in
    ...                    [("w", 1.0), ("mu", 0.0), ("sigma", 1.0)]})
    >>> log_likelihood_group(post, np.array([0.0]))["y"].values.round(6).tolist()  # log N(0|0,1)
    [[[-0.918939]]]
    """
    values, inverse = np.unique(x, return_inverse=True)
    w, mu, sigma = (draws_of(posterior, name) for name in PARAMS)
    n_chains, n_draws, k = w.shape
    w, mu, sigma = (a.reshape(n_chains * n_draws, k) for a in (w, mu, sigma))
    density = np.empty((n_chains * n_draws, values.size))
    for part in _draw_blocks(n_chains * n_draws, values.size):
        if resolution is None:
            x_, means, covariances = univariate(values, mu[part], sigma[part] ** 2)
            density[part] = log_density(x_, w[part], means, covariances)
        else:
            density[part] = interval_log_probability(
                values, resolution, w[part], mu[part], sigma[part]
            )
    return _group(posterior, density[:, inverse].reshape(n_chains, n_draws, x.size))


def posterior_predictive_group(posterior, n, rng):
    """The ``posterior_predictive`` group: one replicate data set of ``n`` values per draw.

    Parameters
    ----------
    posterior : xarray.Dataset or DataTree node
        ``w``, ``mu``, ``sigma`` on ``(chain, draw, component)``.
    n : int
        Values per replicate (the number of observations).
    rng : numpy.random.Generator

    Returns
    -------
    xarray.Dataset
        ``y`` on ``(chain, draw, obs)``, drawn by :func:`gmm_bayes.mixture.predictive_draws`.

    Examples
    --------
    >>> dims = ("chain", "draw", "component")
    >>> post = xr.Dataset({n: (dims, np.full((2, 3, 1), v)) for n, v in
    ...                    [("w", 1.0), ("mu", 100.0), ("sigma", 1.0)]})
    >>> y = posterior_predictive_group(post, 5, np.random.default_rng(0))["y"]
    >>> y.shape, bool(np.all(np.abs(y - 100) < 10))
    ((2, 3, 5), True)
    """
    w, mu, sigma = (draws_of(posterior, name) for name in PARAMS)
    n_chains, n_draws, k = w.shape
    _, means, covariances = univariate(None, mu.reshape(-1, k), sigma.reshape(-1, k) ** 2)
    w = w.reshape(-1, k)
    out = np.empty((n_chains * n_draws, n))
    for part in _draw_blocks(n_chains * n_draws, n):
        out[part] = predictive_draws(rng, w[part], means[part], covariances[part], n)[..., 0]
    return _group(posterior, out.reshape(n_chains, n_draws, n))
