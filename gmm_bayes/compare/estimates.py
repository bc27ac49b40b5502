"""EM, scikit-learn and the posterior of one K, side by side on one ``component`` coordinate.

:func:`compare_estimates` joins fits made elsewhere (it never fits or samples): each
``EMResult.to_dataset()`` becomes one entry of the ``method`` dimension (``xr.concat``), the
posterior mean another, beside the posterior sd and HDI.
"""

import warnings
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

__all__ = ["CONVERGENCE", "METHODS", "METHOD_LABELS", "compare_estimates"]

#: the point estimates a report compares, in its order (``posterior_mean`` is added by
#: :func:`compare_estimates` when it is given a posterior)
METHODS = ("em", "sklearn", "sklearn_from_em", "posterior_mean")
#: how each method is named in tables and legends
METHOD_LABELS = {
    "em": "gmm_bayes EM",
    "em_tied": "gmm_bayes EM, equal variances (E)",
    "sklearn": "scikit-learn (defaults)",
    "sklearn_from_em": "scikit-learn (from EM start)",
    "posterior_mean": "posterior mean",
}
_SUMMARIES = ("sd", "hdi_lower", "hdi_upper")
#: arviz_stats summary's convergence columns, per parameter and component
CONVERGENCE = ("r_hat", "ess_bulk", "ess_tail", "mcse_mean")
#: an EM standard-error Dataset's variables, per parameter (``fit.standard_errors``)
_SE_PARTS = {"se": "", "se_lower": "_lower", "se_upper": "_upper"}


def compare_estimates(x, fits, posterior=None, *, hdi_prob=INTERVAL_PROB, standard_errors=None):
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
    standard_errors : mapping of str to xarray.Dataset, optional
        Method name -> ``fit.standard_errors(x, ...)`` of that fit (variables ``w``, ``mu``,
        ``sigma`` and ``<p>_lower``, ``<p>_upper`` on ``component``).

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
        - ``<p>_r_hat``, ``<p>_ess_bulk``, ``<p>_ess_tail``, ``<p>_mcse_mean`` (component):
          arviz_stats' convergence summary of each parameter (NaN without a posterior);
        - ``<p>_se``, ``<p>_se_lower``, ``<p>_se_upper`` (method, component): standard error and
          confidence interval of a fit given in ``standard_errors`` (NaN elsewhere);
        - ``collapsed`` (method, component): the fit's collapsed components (False for the
          posterior mean);
        - ``log_likelihood`` (method): total log-likelihood at each point estimate (the
          posterior mean's with the likelihood of the fits that used a recording resolution:
          interval probabilities, as EM's; else densities);
        - ``converged`` (method): the fit met its tolerance; for the posterior mean, the
          sampler converged (``Diagnostics.converged`` of the tree's ``diagnostics`` group);
        - ``trustworthy`` (method): a fit converged without a collapsed component; the
          posterior's status is trustworthy (``Status.trustworthy``: OK or CAUTION).

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
        points.append(_posterior_point(x, post, _posterior_health(posterior), _resolution(fits)))
    ds = xr.concat(points, dim="method", join="exact").assign_coords(method=methods)
    ds = ds.assign(_posterior_summary(post, k, hdi_prob))
    ds = ds.assign(_convergence(post, k))
    ds = ds.assign(_standard_errors(standard_errors or {}, methods, k))
    for p in PARAMS:
        ds[f"{p}_in_hdi"] = (ds[p] >= ds[f"{p}_hdi_lower"]) & (ds[p] <= ds[f"{p}_hdi_upper"])
    order = [
        *PARAMS,
        *(f"{p}_{s}" for p in PARAMS for s in _SUMMARIES),
        *(f"{p}_{c}" for p in PARAMS for c in CONVERGENCE),
        *(f"{p}_{s}" for p in PARAMS for s in _SE_PARTS),
        *(f"{p}_in_hdi" for p in PARAMS),
        "collapsed",
        "log_likelihood",
        "converged",
        "trustworthy",
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
    converged = bool(ds.attrs["converged"])
    return ds[[*PARAMS, "collapsed"]].assign(
        log_likelihood=ds.attrs["log_likelihood"],
        converged=converged,
        trustworthy=converged and not bool(ds["collapsed"].any()),
    )


def _posterior_health(posterior):
    """``(converged, trustworthy)`` of a posterior tree, from its typed diagnostics.

    A tree with ``sample_stats`` but no ``diagnostics`` group is diagnosed here; draws without
    sampler statistics (a bare Dataset, simulated draws) cannot be judged and count as
    converged.
    """
    children = posterior.children if isinstance(posterior, xr.DataTree) else {}
    from gmm_bayes.bayes import Diagnostics, diagnose

    if "diagnostics" in children:
        diag = Diagnostics.from_dataset(posterior["diagnostics"].to_dataset())
    elif "sample_stats" in children:
        diag = diagnose(posterior)
    else:
        return True, True
    return bool(diag.converged), bool(diag.status.trustworthy)


def _resolution(fits):
    """The recording resolution the fits' likelihood used (None: densities)."""
    return next((f.resolution for f in fits.values() if getattr(f, "resolution", None)), None)


def _posterior_point(x, post, health, resolution):
    """The posterior mean of each parameter, the log-likelihood there (of the intervals at
    ``resolution``, as EM's, or of densities), and its health."""
    mean = mean_draws(post)
    k = mean["w"].size
    converged, trustworthy = health
    params = [mean[p] for p in PARAMS]
    if resolution:
        from gmm_bayes.em.resolution import interval_log_probability

        log_likelihood = float(interval_log_probability(x, resolution, *params).sum())
    else:
        log_likelihood = mixture_log_likelihood(x, *params)
    return xr.Dataset(
        {p: ("component", mean[p]) for p in PARAMS},
        coords={"component": np.arange(k)},
    ).assign(
        collapsed=("component", np.zeros(k, dtype=bool)),
        log_likelihood=log_likelihood,
        converged=converged,
        trustworthy=trustworthy,
    )


def _convergence(post, k):
    """``<p>_r_hat``, ``<p>_ess_bulk``, ``<p>_ess_tail``, ``<p>_mcse_mean`` on ``component``."""
    names = [f"{p}_{c}" for p in PARAMS for c in CONVERGENCE]
    if post is None or post.sizes["chain"] * post.sizes["draw"] < 4:
        return {name: ("component", np.full(k, np.nan)) for name in names}
    import arviz_stats as azs

    with warnings.catch_warnings():
        # r_hat of a constant (w when K = 1) is NaN, which is what the table shows
        warnings.simplefilter("ignore", RuntimeWarning)
        summary = azs.summary(post[list(PARAMS)], kind="diagnostics", fmt="xarray", round_to="none")
    return {
        f"{p}_{c}": ("component", summary[p].sel(summary=c).values)
        for p in PARAMS
        for c in CONVERGENCE
    }


def _standard_errors(standard_errors, methods, k):
    """``<p>_se``, ``<p>_se_lower``, ``<p>_se_upper`` on (method, component)."""
    unknown = set(standard_errors) - set(methods)
    if unknown:
        raise ValueError(
            f"standard_errors has methods {sorted(unknown)} that are not in fits "
            f"({methods}); pass the standard errors of fits you compare"
        )
    out = {}
    for p in PARAMS:
        for name, suffix in _SE_PARTS.items():
            values = np.full((len(methods), k), np.nan)
            for i, m in enumerate(methods):
                if m in standard_errors:
                    values[i] = standard_errors[m][f"{p}{suffix}"].values
            out[f"{p}_{name}"] = (("method", "component"), values)
    return out


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
