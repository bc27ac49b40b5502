"""EM, scikit-learn and the posterior of one K, side by side on one ``component`` coordinate.

:func:`compare_estimates` joins fits made elsewhere (it never fits or samples): each
``EMResult.to_dataset()`` becomes one entry of the ``method`` dimension (``xr.concat``), the
posterior mean another, beside the posterior sd and HDI.
"""

from collections.abc import Mapping

import numpy as np
import xarray as xr

from gmm_bayes._validation import as_data, as_probability
from gmm_bayes.compare._posterior import (
    flat_draws,
    mean_draws,
    mixture_log_likelihood,
    posterior_group,
)
from gmm_bayes.conventions import INTERVAL_PROB, PARAMS

__all__ = ["METHODS", "METHOD_LABELS", "compare_estimates"]

#: the point estimates a report compares, in its order (``posterior_mean`` is added by
#: :func:`compare_estimates` when it is given a posterior)
METHODS = ("em", "sklearn", "sklearn_from_em", "posterior_mean")
#: how each method is named in tables and legends
METHOD_LABELS = {
    "em": "gmm_bayes EM",
    "sklearn": "scikit-learn (defaults)",
    "sklearn_from_em": "scikit-learn (from EM start)",
    "posterior_mean": "posterior mean",
}
_SUMMARIES = ("sd", "hdi_lower", "hdi_upper")


def compare_estimates(x, fits, posterior=None, *, hdi_prob=INTERVAL_PROB):
    """Point estimates of one mixture by several methods, on dims (method, component).

    Parameters
    ----------
    x : array_like, shape (N,)
        The data every fit and the posterior are for.
    fits : mapping of str to EMResult
        Method name -> fit, in table order; the report passes ``"em"`` (:func:`gmm_bayes.fit_em`),
        ``"sklearn"`` (:func:`gmm_bayes.fit_sklearn` at scikit-learn's defaults) and
        ``"sklearn_from_em"`` (scikit-learn started from EM's estimate). May be empty when a
        posterior is given.
    posterior : xarray.DataTree, optional
        From :func:`gmm_bayes.sample_posterior` (a ``posterior`` group with ``w``, ``mu``,
        ``sigma`` on ``(chain, draw, component)``); adds the method ``"posterior_mean"`` and
        the posterior sd and HDI.
    hdi_prob : float
        Mass of the highest-density intervals (default 0.94).

    Returns
    -------
    xarray.Dataset
        Dims ``method`` (the keys of ``fits``, then ``"posterior_mean"``) and ``component``
        (sorted by mean). Variables:

        - ``w``, ``mu``, ``sigma`` (method, component): point estimates;
        - ``<p>_sd``, ``<p>_hdi_lower``, ``<p>_hdi_upper`` (component): posterior sd and HDI
          (NaN without a posterior);
        - ``<p>_in_hdi`` (method, component): the point estimate lies inside the HDI
          (False without a posterior);
        - ``log_likelihood`` (method): total log-likelihood at each point estimate;
        - ``converged`` (method): the fit met its tolerance (True for the posterior mean).

        Coordinate ``method_label`` names each method for tables. Attributes
        ``n_components``, ``n_obs``, ``hdi_prob``, ``has_posterior``.
        ``ds.to_dataframe()`` gives one row per (method, component).

    Examples
    --------
    >>> import gmm_bayes as gb
    >>> x = gb.load_dataset("faithful")
    >>> fits = {"em": gb.fit_em(x, 2, random_state=0), "sklearn": gb.fit_sklearn(x, 2)}
    >>> ds = compare_estimates(x, fits)
    >>> dict(ds.sizes), [str(m) for m in ds["method"].values]
    ({'method': 2, 'component': 2}, ['em', 'sklearn'])
    """
    x = as_data(x)
    hdi_prob = as_probability(hdi_prob, "hdi_prob")
    fits = _checked_fits(fits, x)
    post = None if posterior is None else posterior_group(posterior)
    k = _common_k(fits, post)
    methods = list(fits)
    points = [_fit_point(fit) for fit in fits.values()]
    if post is not None:
        methods.append("posterior_mean")
        points.append(_posterior_point(x, post))
    ds = xr.concat(points, dim="method", join="exact").assign_coords(method=methods)
    ds = ds.assign(_posterior_summary(post, k, hdi_prob))
    for p in PARAMS:
        ds[f"{p}_in_hdi"] = (ds[p] >= ds[f"{p}_hdi_lower"]) & (ds[p] <= ds[f"{p}_hdi_upper"])
    order = [
        *PARAMS,
        *(f"{p}_{s}" for p in PARAMS for s in _SUMMARIES),
        *(f"{p}_in_hdi" for p in PARAMS),
        "log_likelihood",
        "converged",
    ]
    ds = ds[order].assign_coords(
        method_label=("method", [METHOD_LABELS.get(m, m) for m in methods])
    )
    ds.attrs = {
        "n_components": k,
        "n_obs": int(x.size),
        "hdi_prob": hdi_prob,
        "has_posterior": int(post is not None),
    }
    return ds


def _checked_fits(fits, x):
    if not isinstance(fits, Mapping):
        raise TypeError(
            "fits must be a mapping of method name to EMResult, e.g. {'em': fit_em(x, K)}, "
            f"got {type(fits).__name__}"
        )
    if "posterior_mean" in fits:
        raise ValueError(
            "fits has a key 'posterior_mean', the name of the posterior's row; pass the "
            "posterior as `posterior` or rename that fit"
        )
    for method, fit in fits.items():
        if fit.n_obs != x.size:
            raise ValueError(
                f"fits[{method!r}] was fitted to {fit.n_obs} observations but x has {x.size}; "
                "pass the data the fits were made on"
            )
    return dict(fits)


def _common_k(fits, post):
    sizes = {f"fits[{m!r}]": fit.n_components for m, fit in fits.items()}
    if post is not None:
        sizes["the posterior"] = post.sizes["component"]
    if not sizes:
        raise TypeError("compare_estimates needs at least one fit in `fits` or a `posterior`")
    (first, k), *others = sizes.items()
    for name, size in others:
        if size != k:
            raise ValueError(
                f"{name} has {size} components but {first} has {k}; compare estimates of one K"
            )
    return k


def _fit_point(fit):
    """One fit's ``w``, ``mu``, ``sigma`` (component), ``log_likelihood`` and ``converged``."""
    ds = fit.to_dataset()
    return ds[list(PARAMS)].assign(
        log_likelihood=ds.attrs["log_likelihood"], converged=bool(ds.attrs["converged"])
    )


def _posterior_point(x, post):
    """The posterior mean of each parameter, and the log-likelihood there."""
    mean = mean_draws(post)
    k = mean["w"].size
    return xr.Dataset(
        {p: ("component", mean[p]) for p in PARAMS},
        coords={"component": np.arange(k)},
    ).assign(log_likelihood=mixture_log_likelihood(x, *(mean[p] for p in PARAMS)), converged=True)


def _posterior_summary(post, k, hdi_prob):
    """``<p>_sd``, ``<p>_hdi_lower``, ``<p>_hdi_upper`` on ``component`` (NaN without draws)."""
    if post is None:
        return {f"{p}_{s}": ("component", np.full(k, np.nan)) for p in PARAMS for s in _SUMMARIES}
    import arviz_stats as azs

    hdi = azs.hdi(post[list(PARAMS)], prob=hdi_prob)
    out = {}
    for p in PARAMS:
        draws = flat_draws(post, p)
        sd = draws.std(axis=0, ddof=1) if draws.shape[0] > 1 else np.zeros(k)
        out[f"{p}_sd"] = ("component", sd)
        out[f"{p}_hdi_lower"] = ("component", hdi[p].sel(ci_bound="lower").values)
        out[f"{p}_hdi_upper"] = ("component", hdi[p].sel(ci_bound="upper").values)
    return out
