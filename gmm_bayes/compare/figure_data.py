"""The numbers behind the report's figures, so that the figures compute no statistics.

Mixture densities on a grid (:func:`density_curves`), membership probabilities beside EM's
responsibilities (:func:`membership_table`), each observation's most probable component and its
uncertainty (:func:`classification`) and the posterior mean of each chain (:func:`chain_means`).
"""

import numpy as np
import xarray as xr

from gmm_bayes._validation import as_data
from gmm_bayes.compare._posterior import flat_draws, posterior_group, weighted_component_densities
from gmm_bayes.compare.estimates import METHOD_LABELS
from gmm_bayes.conventions import INTERVAL_PROB, PARAMS
from gmm_bayes.mixture import responsibilities, univariate

__all__ = ["chain_means", "classification", "density_curves", "membership_table"]


def density_curves(x, estimates, posterior=None, *, grid_size=400, max_draws=400, seed=0):
    """Mixture densities on a grid for the data figure.

    Parameters
    ----------
    x : array_like, shape (N,)
    estimates : xarray.Dataset
        From :func:`gmm_bayes.compare.compare_estimates`.
    posterior : xarray.DataTree, optional
        For the posterior predictive density and its band (``estimates`` must then have the
        method ``posterior_mean``).
    grid_size : int
    max_draws : int
        Posterior draws used for the band (a random subset when there are more).
    seed : int
        Seed of that subset.

    Returns
    -------
    xarray.Dataset
        On dim ``grid`` (coordinate ``x``: the data's range padded by 5%, never below 0 for
        data that are all >= 0, with extra points around each narrow component so that its
        peak is on the grid): ``density`` (method, grid) at each point estimate,
        and for ``posterior_mean`` the posterior mean of the density (the posterior predictive
        density, not the density at the mean parameters); ``component_density`` (method,
        component, grid), each weighted by its w; ``band_lower`` / ``band_upper`` (grid):
        pointwise equal-tailed interval of the density over draws, with mass
        ``estimates.hdi_prob`` (NaN without a posterior).

    Examples
    --------
    >>> import gmm_bayes as gb
    >>> from gmm_bayes.compare import compare_estimates
    >>> x = gb.load_dataset("faithful")
    >>> est = compare_estimates(x, {"em": gb.fit_em(x, 2, random_state=0)})
    >>> curves = density_curves(x, est, grid_size=50)
    >>> curves["component_density"].shape[:2], curves.sizes["grid"] >= 50
    ((1, 2), True)
    """
    x = as_data(x)
    grid = _grid(x, estimates, grid_size)
    methods = [str(m) for m in estimates["method"].values]
    k = estimates.sizes["component"]
    comp = np.full((len(methods), k, grid.size), np.nan)
    for i, m in enumerate(methods):
        row = [estimates[p].sel({"method": m}).values for p in PARAMS]
        if np.isfinite(np.concatenate(row)).all():
            comp[i] = weighted_component_densities(grid, *row)
    dens = comp.sum(axis=1)
    band = np.full((2, grid.size), np.nan)
    if posterior is not None:
        per_draw = weighted_component_densities(grid, *_some_draws(posterior, max_draws, seed))
        i = methods.index("posterior_mean")
        comp[i] = per_draw.mean(axis=0)  # the components of the posterior mean density
        totals = per_draw.sum(axis=-2)  # (draws, grid)
        dens[i] = totals.mean(axis=0)
        tail = (1 - float(estimates.attrs["hdi_prob"])) / 2
        band = np.quantile(totals, [tail, 1 - tail], axis=0)
    return xr.Dataset(
        {
            "density": (("method", "grid"), dens),
            "component_density": (("method", "component", "grid"), comp),
            "band_lower": ("grid", band[0]),
            "band_upper": ("grid", band[1]),
        },
        coords={
            "method": methods,
            "component": np.arange(k),
            "x": ("grid", grid),
            "method_label": ("method", [METHOD_LABELS.get(m, m) for m in methods]),
        },
        attrs={"hdi_prob": float(estimates.attrs["hdi_prob"])},
    )


def _grid(x, estimates, size):
    """The data's range padded by 5% (never below 0 for data that are all >= 0), plus points
    around every narrow component, so that a spike is drawn at its true height.

    Returns
    -------
    ndarray, shape (M,), sorted, M >= ``size``
    """
    lo, hi = float(x.min()), float(x.max())
    pad = max(0.05 * (hi - lo), 1e-9 * max(abs(lo), 1.0))
    start = max(lo - pad, 0.0) if lo >= 0 else lo - pad
    grid = np.linspace(start, hi + pad, size)
    step = grid[1] - grid[0]
    mu, sigma = estimates["mu"].values.ravel(), estimates["sigma"].values.ravel()
    narrow = np.isfinite(mu) & np.isfinite(sigma) & (sigma < 4 * step)
    around = mu[narrow, None] + sigma[narrow, None] * np.linspace(-4, 4, 33)
    around = around[(around >= grid[0]) & (around <= grid[-1])]
    return np.unique(np.concatenate([grid, around]))


def _some_draws(posterior, max_draws, seed):
    """``[w, mu, sigma]`` draws, each (S, K); a random ``max_draws`` of them when there are more."""
    post = posterior_group(posterior)
    draws = [flat_draws(post, p) for p in PARAMS]
    n = draws[0].shape[0]
    if n > max_draws:
        idx = np.random.default_rng(seed).choice(n, max_draws, replace=False)
        draws = [d[idx] for d in draws]
    return draws


def membership_table(x, posterior, em=None, *, prob=INTERVAL_PROB):
    """Posterior membership probabilities of each observation, beside EM's responsibilities.

    Parameters
    ----------
    x : array_like, shape (N,)
        The data (the posterior's observed values).
    posterior : xarray.DataTree
        From :func:`gmm_bayes.sample_posterior`; its ``membership`` group is used when its
        interval mass is ``prob``, else :func:`gmm_bayes.bayes.membership` recomputes it.
    em : EMResult, optional
        Adds EM's responsibilities as ``em``.
    prob : float
        Mass of the equal-tailed interval.

    Returns
    -------
    xarray.Dataset
        Dims (obs, component), coordinate ``x`` (the data) on ``obs``: ``mean``, ``lower``,
        ``upper`` (posterior mean and interval of each responsibility) and ``em``.
    """
    x = as_data(x)
    stored = None
    if isinstance(posterior, xr.DataTree) and "membership" in posterior.children:
        stored = posterior["membership"].to_dataset()
        if not np.isclose(stored.attrs.get("prob", np.nan), prob):
            stored = None
    if stored is None:
        from gmm_bayes.bayes import membership

        stored = membership(posterior, prob=prob)
    ds = stored[["mean", "lower", "upper"]]
    if ds.sizes["obs"] != x.size:
        raise ValueError(
            f"the posterior was sampled for {ds.sizes['obs']} observations but x has {x.size}; "
            "pass the data it was sampled on"
        )
    ds = ds.assign_coords(x=("obs", x))
    if em is not None:
        xs, means, variances = univariate(x, em.means, em.variances)
        ds["em"] = (("obs", "component"), responsibilities(xs, em.weights, means, variances))
    ds.attrs = {"prob": float(prob)}
    return ds


def classification(membership):
    """Each observation's most probable component and the uncertainty of that choice.

    The uncertainty is ``1 - max_k p(component k | x)`` (mclust's ``uncertainty``): 0 when one
    component holds the observation surely, at most ``1 - 1/K``.

    Parameters
    ----------
    membership : xarray.Dataset
        From :func:`membership_table`: ``mean`` (posterior) and, optionally, ``em``, both on
        dims (obs, component).

    Returns
    -------
    xarray.Dataset
        On dim ``obs`` (coordinate ``x`` kept): ``component`` and ``uncertainty`` from the
        posterior mean membership; ``em_component`` and ``em_uncertainty`` from EM's
        responsibilities when ``membership`` has them.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> mean = xr.DataArray([[0.9, 0.1], [0.4, 0.6]], dims=("obs", "component"))
    >>> out = classification(xr.Dataset({"mean": mean}))
    >>> out["component"].values.tolist(), out["uncertainty"].values.round(2).tolist()
    ([0, 1], [0.1, 0.4])
    """
    out = xr.Dataset(coords={k: v for k, v in membership.coords.items() if "obs" in v.dims})
    for source, prefix in (("mean", ""), ("em", "em_")):
        if source in membership:
            probs = membership[source].transpose("obs", "component").values
            out[f"{prefix}component"] = ("obs", probs.argmax(axis=1))
            out[f"{prefix}uncertainty"] = ("obs", 1.0 - probs.max(axis=1))
    return out


def chain_means(posterior):
    """Posterior mean of ``w``, ``mu`` and ``sigma`` per chain, dims (chain, component).

    When chains disagree (a multimodal posterior) these show where each chain stayed, which the
    pooled mean hides.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> mu = xr.DataArray(np.array([[[0.0], [2.0]], [[10.0], [12.0]]]),
    ...                   dims=("chain", "draw", "component"))
    >>> post = xr.Dataset({"w": mu * 0 + 1, "mu": mu, "sigma": mu * 0 + 1})
    >>> chain_means(post)["mu"].values.ravel().tolist()
    [1.0, 11.0]
    """
    return posterior_group(posterior)[list(PARAMS)].mean("draw")
