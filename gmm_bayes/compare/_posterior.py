"""What the comparison reads from a posterior tree, and the univariate mixture numbers it needs.

Densities come from :mod:`gmm_bayes.mixture`; the functions here only translate the tables'
``(w, mu, sigma)`` parametrization into that layer's shapes.
"""

import numpy as np
import xarray as xr

from gmm_bayes._validation import as_data
from gmm_bayes.conventions import PARAMS
from gmm_bayes.mixture import log_density, log_joint, univariate

__all__ = [
    "flat_draws",
    "mean_draws",
    "mixture_log_likelihood",
    "posterior_group",
    "weighted_component_densities",
]


def posterior_group(tree):
    """The ``posterior`` group of a DataTree as a Dataset (a Dataset is returned unchanged)."""
    if isinstance(tree, xr.DataTree):
        return tree["posterior"].to_dataset()
    return tree


def flat_draws(post, name):
    """Draws of one parameter with chains and draws pooled, shape (chains * draws, K)."""
    values = post[name].transpose("chain", "draw", "component").values
    return values.reshape(-1, values.shape[-1])


def mean_draws(post):
    """Posterior mean of each of ``w``, ``mu``, ``sigma``: ``{name: ndarray (K,)}``."""
    return {p: flat_draws(post, p).mean(axis=0) for p in PARAMS}


def weighted_component_densities(grid, w, mu, sigma):
    """``w_k N(grid | mu_k, sigma_k)``.

    Parameters
    ----------
    grid : ndarray, shape (G,)
    w, mu, sigma : array_like, shape (..., K)

    Returns
    -------
    ndarray, shape (..., K, G)
    """
    g, means, covariances = univariate(grid, mu, np.square(sigma))
    return np.swapaxes(np.exp(log_joint(g, w, means, covariances)), -1, -2)


def mixture_log_likelihood(x, w, mu, sigma):
    """Total log-likelihood ``sum_n log sum_k w_k N(x_n | mu_k, sigma_k)``.

    Parameters
    ----------
    x : array_like, shape (N,)
    w, mu, sigma : array_like, shape (..., K)
        Leading dimensions (e.g. draws) broadcast.

    Returns
    -------
    float or ndarray, shape (...)

    Examples
    --------
    >>> round(mixture_log_likelihood([0.0], [0.5, 0.5], [0.0, 0.0], [1.0, 1.0]), 12)
    -0.918938533205
    """
    xs, means, covariances = univariate(as_data(x), mu, np.square(sigma))
    out = log_density(xs, w, means, covariances).sum(axis=-1)
    return float(out) if np.ndim(out) == 0 else out
