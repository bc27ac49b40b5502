"""Hand-built posterior trees shaped like ``sample_posterior``'s (no sampling), for the tests of
diagnostics, maxima, membership and the pointwise groups."""

import numpy as np
import xarray as xr

DIMS = ("chain", "draw", "component")
#: two EM local maxima of galaxy, K=4 (rounded from fit_em restarts)
GALAXY_MAXIMA = [
    {"w": [0.08, 0.39, 0.36, 0.17], "mu": [9.7, 19.8, 22.9, 24.4], "sigma": [0.4, 0.7, 1.1, 5.8]},
    {"w": [0.08, 0.47, 0.41, 0.04], "mu": [9.7, 19.9, 23.1, 33.0], "sigma": [0.4, 1.4, 1.7, 0.9]},
]


def posterior_tree(
    draws, *, maxima=None, chain_start=None, stats=None, y=None, seed=0, log_likelihood=None
):
    """A tree with ``posterior``, ``sample_stats`` and optionally ``em`` and ``observed_data``.

    Parameters
    ----------
    draws : dict of str to ndarray, shape (chains, draws, K)
        ``w``, ``mu``, ``sigma`` (and more).
    maxima : list of dict, optional
        EM local maxima (``w``, ``mu``, ``sigma``), stored as ``sample_posterior`` does, with
        log-likelihoods ``log_likelihood`` (default -199.29, -202.52, ...)
    chain_start : sequence of int, optional
    stats : dict of str to ndarray, shape (chains, draws), optional
        Extra sample stats; ``energy`` defaults to iid normal (BFMI near 2) and ``diverging``
        to all False.
    y : ndarray, shape (N,), optional
        Observed data.
    """
    rng = np.random.default_rng(seed)
    n_chains, n_draws, k = next(iter(draws.values())).shape
    coords = {"chain": np.arange(n_chains), "draw": np.arange(n_draws), "component": np.arange(k)}
    sample_stats = {
        "diverging": np.zeros((n_chains, n_draws), bool),
        "energy": rng.normal(size=(n_chains, n_draws)),
        **(stats or {}),
    }
    groups = {
        "posterior": xr.Dataset({n: (DIMS, v) for n, v in draws.items()}, coords=coords),
        "sample_stats": xr.Dataset(
            {n: (("chain", "draw"), v) for n, v in sample_stats.items()},
            coords={"chain": coords["chain"], "draw": coords["draw"]},
        ),
    }
    if maxima is not None:
        groups["em"] = _em_group(maxima, chain_start, log_likelihood)
    if y is not None:
        groups["observed_data"] = xr.Dataset({"y": ("obs", np.asarray(y, float))})
    return xr.DataTree.from_dict(groups)


def _em_group(maxima, chain_start, log_likelihood=None):
    maximum = ("maximum", "component")
    data = {
        f"maximum_{name}": (maximum, np.array([m[name] for m in maxima], float))
        for name in ("w", "mu", "sigma")
    }
    if log_likelihood is None:
        log_likelihood = [-199.29 - 3.23 * i for i in range(len(maxima))]
    data["maximum_log_likelihood"] = ("maximum", np.asarray(log_likelihood, float))
    if chain_start is not None:
        data["chain_start"] = ("chain", np.asarray(chain_start, dtype=np.int64))
    return xr.Dataset(data)


def around_maxima(centres, chain_mode, *, draws=500, jitter=0.02, seed=0, **kwargs):
    """Chain c draws iid around EM local maximum ``chain_mode[c]`` (relative ``jitter``)."""
    rng = np.random.default_rng(seed)
    k = len(centres[0]["w"])
    post = {}
    for name in ("w", "mu", "sigma"):
        base = np.array([centres[m][name] for m in chain_mode])[:, None, :]
        post[name] = base * (1 + jitter * rng.normal(size=(len(chain_mode), draws, k)))
    kwargs.setdefault("chain_start", np.array([0, 0, 1, 1])[: len(chain_mode)])
    return posterior_tree(post, maxima=centres, seed=seed, **kwargs)


def one_component(mu, *, seed=0, **kwargs):
    """K=1 draws: ``w = 1``, the given ``mu`` (chains, draws), iid ``sigma`` near 1."""
    rng = np.random.default_rng(seed)
    mu = np.asarray(mu, float)[..., None]
    post = {"w": np.ones_like(mu), "mu": mu, "sigma": np.exp(0.1 * rng.normal(size=mu.shape))}
    return posterior_tree(post, seed=seed, **kwargs)


def cyclic_ar1(phi, *, chains=4, draws=1000, seed=2):
    """``(chains, draws)`` autocorrelated draws whose half-chains are cyclic shifts of one AR(1)
    path: every half-chain holds the same values, so split R-hat is 1 whatever ``phi``, while
    the ESS falls as ``phi`` grows."""
    rng = np.random.default_rng(seed)
    half = draws // 2
    noise = rng.normal(size=half + 1000)
    path = np.empty_like(noise)
    path[0] = noise[0]
    for t in range(1, noise.size):
        path[t] = phi * path[t - 1] + np.sqrt(1 - phi**2) * noise[t]
    path = path[1000:]  # burn-in: stationary N(0, 1)
    halves = [np.roll(path, j * half // (2 * chains)) for j in range(2 * chains)]
    return np.stack([np.concatenate(halves[2 * c : 2 * c + 2]) for c in range(chains)])
