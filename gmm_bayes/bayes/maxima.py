"""EM's local maxima as landmarks of the posterior: where chains start, which maximum each draw
is nearest to.

:func:`distinct_maxima` merges EM restarts that ended at the same mode; :func:`chain_starts`
shares the chains among the best of them; :func:`maxima_dataset` stores both in a posterior
tree's ``em`` group, which :func:`tree_maxima` reads back; :func:`nearest_maximum_fractions`
says how each chain's draws split between the maxima (the multimodality analysis of
:func:`gmm_bayes.diagnose`).
"""

import numpy as np

from gmm_bayes.conventions import PARAMS

__all__ = [
    "SAME_MODE_ATOL",
    "START_WINDOW",
    "chain_starts",
    "distinct_maxima",
    "maxima_dataset",
    "mixture_sd",
    "nearest_maximum_fractions",
    "scaled_parameters",
    "tree_maxima",
]

#: EM local maxima whose log-likelihood is this far below the best are not used as starts
START_WINDOW = 10.0
#: local maxima closer than this (max abs difference of w, mu / sd, sigma / sd) are one mode
SAME_MODE_ATOL = 0.02


def mixture_sd(weights, means, sigmas):
    """Standard deviation of the mixture ``sum_k w_k N(mu_k, sigma_k**2)`` (1.0 if it is 0).

    Parameters
    ----------
    weights : array_like, shape (K,)
    means, sigmas : array_like, shape (K,) or (K, d)
        Means and per-column sds.

    Returns
    -------
    float or ndarray, shape (d,)
        A float for (K,) means; each column's sd for (K, d).

    Examples
    --------
    >>> mixture_sd([0.5, 0.5], [-1.0, 1.0], [0.0, 0.0])
    1.0
    >>> mixture_sd([0.5, 0.5], [[-1.0, 0.0], [1.0, 0.0]], [[0.0, 2.0], [0.0, 2.0]]).tolist()
    [1.0, 2.0]
    """
    w, mu, sigma = (np.asarray(a, dtype=np.float64) for a in (weights, means, sigmas))
    if mu.ndim == 2:
        mean = w @ mu
        var = w @ (sigma**2 + (mu - mean) ** 2)
        return np.where(var > 0, np.sqrt(np.maximum(var, 0.0)), 1.0)
    mean = float(np.sum(w * mu))
    var = float(np.sum(w * (sigma**2 + (mu - mean) ** 2)))
    return float(np.sqrt(var)) if var > 0 else 1.0


def scaled_parameters(w, mu, sigma, scale):
    """``(w, mu / scale, sigma / scale)`` flattened over components (and columns) and joined.

    Parameters
    ----------
    w : ndarray, shape (..., K)
    mu, sigma : ndarray, shape (..., K) or (..., K, d)
    scale : float or ndarray, shape (d,)
        :func:`mixture_sd`.

    Returns
    -------
    ndarray, shape (..., K + 2 K d)

    Examples
    --------
    >>> scaled_parameters(np.ones((3, 1)), np.zeros((3, 1, 2)), np.ones((3, 1, 2)), 2.0).shape
    (3, 5)
    """
    lead = np.shape(w)[:-1]
    parts = (w, np.asarray(mu) / scale, np.asarray(sigma) / scale)
    return np.concatenate([np.reshape(p, (*lead, -1)) for p in parts], axis=-1)


def distinct_maxima(em, *, atol=SAME_MODE_ATOL):
    """EM's local maxima with near-duplicates merged, best first.

    EM restarts that stop a hair apart (tolerance ``tol``) are the same mode; two maxima are
    merged when no weight, mean / sd or sigma / sd differs by more than ``atol`` (sd: that of
    ``em``'s mixture).

    Parameters
    ----------
    em : EMResult
    atol : float

    Returns
    -------
    list of EMResult
        ``em`` itself first.

    Examples
    --------
    >>> import gmm_bayes as gb
    >>> x = gb.load_dataset("galaxy")
    >>> em = gb.fit_em(x, 3, n_init=10, random_state=0)
    >>> maxima = distinct_maxima(em)
    >>> maxima[0] is em, len(maxima) <= len(em.local_maxima)
    (True, True)
    """
    scale = mixture_sd(em.weights, em.means, em.sigmas)
    kept = []
    for candidate in (em, *em.local_maxima[1:]):
        vec = _param_vector(candidate, scale)
        if all(np.max(np.abs(vec - _param_vector(other, scale))) > atol for other in kept):
            kept.append(candidate)
    return kept


def _param_vector(fit, scale):
    return scaled_parameters(fit.weights, fit.means, fit.sigmas, scale)


def chain_starts(maxima, chains, *, window=START_WINDOW):
    """Which EM local maximum each chain starts at.

    The best maxima (log-likelihood within ``window`` of the best, at most one per chain) share
    the chains in contiguous blocks, the best taking any remainder: with two maxima and four
    chains, ``[0, 0, 1, 1]``; with three, ``[0, 0, 1, 2]``.

    Parameters
    ----------
    maxima : sequence of EMResult
        Distinct local maxima, best first (:func:`distinct_maxima`).
    chains : int
    window : float

    Returns
    -------
    list of int, length ``chains``
        Index into ``maxima`` per chain.

    Examples
    --------
    >>> import gmm_bayes as gb
    >>> em = gb.fit_em(gb.load_dataset("galaxy"), 3, random_state=0)
    >>> chain_starts([em], 4)
    [0, 0, 0, 0]
    """
    best = maxima[0].log_likelihood
    usable = [i for i, m in enumerate(maxima) if m.log_likelihood >= best - window]
    n = min(len(usable), chains)
    return [usable[c * n // chains] for c in range(chains)]


def maxima_dataset(em, maxima, plan):
    """The ``em`` group of a posterior tree: EM's estimate, its distinct maxima, the chains' starts.

    Parameters
    ----------
    em : EMResult
    maxima : list of EMResult
        :func:`distinct_maxima` of ``em``.
    plan : list of int
        :func:`chain_starts`.

    Returns
    -------
    xarray.Dataset
        ``em.to_dataset()`` plus ``maximum_w``, ``maximum_mu``, ``maximum_sigma`` on
        ``(maximum, component)`` (``mu`` and ``sigma`` on ``(maximum, component, dim)`` for
        d >= 2), ``maximum_log_likelihood`` on ``maximum`` and
        ``chain_start`` on ``chain``.
    """
    ds = em.to_dataset()
    per_component = ("maximum", *ds["mu"].dims)  # (component) or (component, dim)
    ds = ds.assign(
        maximum_w=(("maximum", "component"), np.array([m.weights for m in maxima])),
        maximum_mu=(per_component, np.array([m.means for m in maxima])),
        maximum_sigma=(per_component, np.array([m.sigmas for m in maxima])),
        maximum_log_likelihood=("maximum", np.array([m.log_likelihood for m in maxima])),
        chain_start=("chain", np.array(plan, dtype=np.int64)),
    )
    return ds.assign_coords(maximum=np.arange(len(maxima)), chain=np.arange(len(plan)))


def tree_maxima(tree):
    """EM's distinct maxima stored in a posterior tree (:func:`maxima_dataset`), or None.

    Returns
    -------
    dict or None
        ``w``, ``mu``, ``sigma`` of shape (M, K) and ``log_likelihood`` of shape (M,); None
        when the tree has no ``em`` group with maxima.
    """
    if "em" not in tree.children or "maximum_mu" not in tree["em"]:
        return None
    em = tree["em"]
    return {
        "w": np.asarray(em["maximum_w"].values),
        "mu": np.asarray(em["maximum_mu"].values),
        "sigma": np.asarray(em["maximum_sigma"].values),
        "log_likelihood": np.asarray(em["maximum_log_likelihood"].values),
    }


def nearest_maximum_fractions(posterior, maxima):
    """Fraction of each chain's draws nearest to each EM local maximum.

    Distance: Euclidean over ``(w, mu / sd, sigma / sd)``, with sd that of the best maximum's
    mixture.

    Parameters
    ----------
    posterior : xarray.Dataset or DataTree node
        ``w``, ``mu``, ``sigma`` on ``(chain, draw, component)``.
    maxima : dict or None
        :func:`tree_maxima`; None: one maximum, every draw nearest to it.

    Returns
    -------
    ndarray, shape (chains, maxima)
        Rows sum to 1.

    Examples
    --------
    >>> import xarray as xr
    >>> dims = ("chain", "draw", "component")
    >>> post = xr.Dataset({n: (dims, np.full((2, 3, 1), v)) for n, v in
    ...                    [("w", 1.0), ("mu", 0.1), ("sigma", 1.0)]})
    >>> maxima = {"w": [[1.0], [1.0]], "mu": [[0.0], [5.0]], "sigma": [[1.0], [1.0]]}
    >>> nearest_maximum_fractions(post, maxima).tolist()
    [[1.0, 0.0], [1.0, 0.0]]
    """
    n_chains = posterior.sizes["chain"]
    if maxima is None:
        return np.ones((n_chains, 1))
    w, mu, sigma = (np.asarray(maxima[name], dtype=np.float64) for name in PARAMS)
    scale = mixture_sd(w[0], mu[0], sigma[0])
    draws = scaled_parameters(
        *(np.asarray(posterior[name].transpose("chain", "draw", ...).values) for name in PARAMS),
        scale,
    )  # (C, D, P)
    centres = scaled_parameters(w, mu, sigma, scale)  # (M, P)
    dist = np.linalg.norm(draws[:, :, None, :] - centres[None, None], axis=-1)  # (C, D, M)
    nearest = np.argmin(dist, axis=-1)
    return np.stack([(nearest == j).mean(axis=1) for j in range(centres.shape[0])], axis=1)
