"""Model comparison across numbers of components K: PSIS-LOO, stacking, BIC, AIC and ICL.

:func:`compare_components` joins posteriors and fits made elsewhere (it never fits or samples).
Sign conventions: BIC = -2 log L + p log N, AIC = -2 log L + 2p (p = 3K - 1) and ICL = BIC + 2
times the classification entropy, **lower is better**; elpd_loo is a log score, **higher is
better**. The information criteria prefer a K among its healthy fits only: a collapsed
component (a spike on a few points) buys likelihood without describing the data.
"""

import warnings
from collections.abc import Mapping

import numpy as np
import xarray as xr

from gmm_bayes._validation import as_data, short_repr
from gmm_bayes.bayes import Diagnostics, Status, diagnose
from gmm_bayes.compare.model_probabilities import model_probability_columns
from gmm_bayes.compare.recommendation import recommend_k
from gmm_bayes.em.result import MIN_COMPONENT_COUNT

__all__ = ["CRITERIA", "SIGN_CONVENTION", "collapse_reason", "compare_components", "row_status"]

SIGN_CONVENTION = (
    "BIC = -2 log L + p log N, AIC = -2 log L + 2p (p = 3K - 1) and ICL = BIC - 2 sum z log z: "
    "lower is better. elpd_loo (PSIS-LOO expected log predictive density): higher is better."
)
#: the information criteria: column -> (label in the agreement sentence, fits it reads)
CRITERIA = {
    "em_bic": ("EM BIC", "em"),
    "em_aic": ("EM AIC", "em"),
    "em_icl": ("EM ICL", "em"),
    "sklearn_bic": ("scikit-learn BIC", "sklearn"),
    "map_bic": ("prior-regularized BIC", "map"),
}


def compare_components(
    x, posteriors, *, em_fits, sklearn_fits, map_fits=None, evidences=None, k_prior=None
):
    """Model comparison across numbers of components K.

    Parameters
    ----------
    x : array_like, shape (N,)
        The data every posterior and fit is for.
    posteriors : mapping of int to xarray.DataTree
        K -> posterior from :func:`gmm_bayes.sample_posterior` (with its ``log_likelihood``
        group, for PSIS-LOO, and its ``diagnostics`` group; :func:`gmm_bayes.diagnose` is run
        on a tree without one). The K compared are its keys.
    em_fits : mapping of int to EMResult
        K -> this package's EM fit, for every K in ``posteriors``.
    sklearn_fits : mapping of int to EMResult
        K -> scikit-learn's fit (:func:`gmm_bayes.fit_sklearn`), for every K in ``posteriors``.
    map_fits : mapping of int to EMResult, optional
        K -> the MAP-EM fit ``fit_em(x, K, priors=gb.Priors())``, for every K in
        ``posteriors``: adds ``map_bic``, the prior-regularized BIC of Fraley & Raftery (2007),
        ``-2 log L + p log N`` at the posterior mode, where the priors keep components from
        collapsing onto a few points.
    evidences : mapping of int to Evidence, optional
        K -> :func:`gmm_bayes.log_evidence` for every K in ``posteriors``: adds
        ``log_evidence``, ``log_evidence_se``, ``log_bayes_factor`` (against the K of highest
        evidence), ``k_prior``, ``p_k`` (p(K | y) over the K compared) and ``p_k_se`` (its Monte
        Carlo error, delta method), and the preference ``preferred_p_k``.
    k_prior : mapping of int to float, optional
        Prior weights of the K compared (normalized over them); default uniform.

    Returns
    -------
    xarray.Dataset
        On dim ``K``: ``em_log_likelihood``, ``em_bic``, ``em_aic``, ``em_icl``,
        ``em_converged``, ``em_degenerate``, ``em_collapse`` (why the EM fit collapsed: which
        components, with too few observations, a variance at the floor or too narrow; "" when
        healthy), ``sklearn_bic``, ``sklearn_degenerate``, ``map_bic`` and ``map_degenerate``
        (with ``map_fits``), ``elpd_loo``, ``elpd_loo_se``, ``p_loo``,
        ``pareto_k_good`` / ``pareto_k_bad`` / ``pareto_k_very_bad`` (counts of observations
        with k <= the sample-size threshold, up to 1, above 1), ``pareto_k_max``,
        ``pareto_k_threshold``, ``divergences``, ``max_rhat``, ``min_ess_bulk``,
        ``min_ess_tail``, ``multimodal``, ``status`` (a :class:`gmm_bayes.bayes.Status` value:
        the posterior's, CAUTION when an OK posterior has Pareto k above the threshold),
        ``trustworthy`` (the posterior is OK or CAUTION and the EM fit healthy: the K that
        can be recommended), ``verdict`` (plain language, for people),
        ``loo_rank`` (0 is best), ``elpd_diff`` and ``elpd_diff_se`` (to the best K),
        ``stacking_weight`` (over the trustworthy K only: 0 for the others, unless none is
        trustworthy). Attributes ``preferred_<criterion>`` (the K each criterion prefers:
        ``em_bic``, ``em_aic``, ``em_icl``, ``sklearn_bic``, ``map_bic`` (with ``map_fits``),
        ``elpd_loo``, ``stacking_weight``), ``criteria_agree`` (1 or 0), ``agreement`` (a
        sentence saying which K each criterion prefers, which K are left out as collapsed, and
        how sure LOO is), ``loo_indistinguishable``, ``sign_convention``, ``n_obs``, and the
        recommendation (:func:`~gmm_bayes.compare.recommendation.recommend_k`):
        ``recommended_k`` (-1: none), ``recommended_rule`` (highest p(K | y) among
        trustworthy K with ``evidences``, else the smallest trustworthy K within 2 se of the
        best trustworthy elpd_loo) and ``recommended_reason`` (one sentence: the runner-up, the
        criteria that prefer another K, the K left out).

        BIC, AIC and ICL prefer the best K among those whose fit is healthy (no collapsed
        component); a K whose fit collapsed is never preferred, unless every K collapsed (then
        the sentence says so). The report (:mod:`gmm_bayes.report`) shows
        ``preferred_em_bic``, the maximum-likelihood BIC over healthy fits; it passes no
        ``map_fits``, so the prior-regularized BIC is not on its pages. It picks K by
        ``preferred_elpd_loo``.

    Examples
    --------
    >>> import gmm_bayes as gb
    >>> x = gb.load_dataset("galaxy")
    >>> em = {k: gb.fit_em(x, k) for k in (1, 2)}
    >>> sk = {k: gb.fit_sklearn(x, k) for k in (1, 2)}
    >>> trees = {k: gb.sample_posterior(x, k, em=em[k]) for k in (1, 2)}  # doctest: +SKIP
    >>> ds = compare_components(x, trees, em_fits=em, sklearn_fits=sk)  # doctest: +SKIP
    >>> ds.attrs["preferred_em_bic"]  # doctest: +SKIP
    2
    """
    import arviz_stats as azs

    x = as_data(x)
    posteriors = _by_k(posteriors, "posteriors")
    ks = sorted(posteriors)
    em_fits = _fits_for_each_k(em_fits, "em_fits", ks, x)
    sklearn_fits = _fits_for_each_k(sklearn_fits, "sklearn_fits", ks, x)
    if map_fits is not None:
        map_fits = _fits_for_each_k(map_fits, "map_fits", ks, x)
    rows, loos = {}, {}
    for k in ks:
        loo = _loo(posteriors[k], k)
        loos[f"K={k}"] = loo
        rows[k] = {
            **_fit_columns(em_fits[k], sklearn_fits[k], None if map_fits is None else map_fits[k]),
            **_loo_columns(loo),
            **_diagnostics_columns(_diagnostics(posteriors[k]), loo),
        }
        rows[k]["trustworthy"] = rows[k]["trustworthy"] and not rows[k]["em_degenerate"]
    if len(ks) > 1:
        cmp = azs.compare(loos, method="stacking", round_to="none")
        weights = _stacking_weights(loos, [k for k in ks if rows[k]["trustworthy"]], cmp)
        for k in ks:
            r = cmp.loc[f"K={k}"]
            rows[k].update(
                loo_rank=int(r["rank"]),
                elpd_diff=float(r["elpd_diff"]),
                elpd_diff_se=float(r["dse"]),
                stacking_weight=weights.get(f"K={k}", 0.0),
            )
    else:
        rows[ks[0]].update(loo_rank=0, elpd_diff=0.0, elpd_diff_se=0.0, stacking_weight=1.0)
    if evidences is not None:
        columns = model_probability_columns(evidences, ks, k_prior)
        for i, k in enumerate(ks):
            rows[k].update({name: float(values[i]) for name, values in columns.items()})

    names = list(rows[ks[0]])
    ds = xr.Dataset(
        {n: ("K", np.array([rows[k][n] for k in ks])) for n in names},
        coords={"K": np.array(ks)},
    )
    ds.attrs.update(_preferences(ds))
    pointwise = {k: np.asarray(loos[f"K={k}"].elpd_i).ravel() for k in ks}
    ds.attrs.update(recommend_k(ds, pointwise))
    ds.attrs["sign_convention"] = SIGN_CONVENTION
    ds.attrs["n_obs"] = int(x.size)
    return ds


def row_status(status, n_high_pareto_k):
    """The status of one K's row: the posterior's, CAUTION when an OK one has high Pareto k.

    Parameters
    ----------
    status : Status
        The posterior's diagnostics status.
    n_high_pareto_k : int
        Observations whose Pareto k is above the threshold (their LOO terms are unreliable).

    Returns
    -------
    Status

    Examples
    --------
    >>> from gmm_bayes.bayes import Status
    >>> row_status(Status.OK, 3).value, row_status(Status.MULTIMODAL, 3).value
    ('CAUTION', 'MULTIMODAL')
    """
    if status is Status.OK and n_high_pareto_k > 0:
        return Status.CAUTION
    return status


def _by_k(mapping, name):
    if not isinstance(mapping, Mapping) or not mapping:
        raise TypeError(
            f"{name} must be a non-empty mapping of K to a posterior, e.g. "
            f"{{2: sample_posterior(x, 2)}}, got {short_repr(mapping)}"
        )
    bad = [
        k for k in mapping if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1
    ]
    if bad:
        raise ValueError(f"{name} keys must be numbers of components K >= 1, got {bad[0]!r}")
    return {int(k): v for k, v in mapping.items()}


def _fits_for_each_k(fits, name, ks, x):
    if not isinstance(fits, Mapping):
        raise TypeError(
            f"{name} must be a mapping of K to EMResult, got {type(fits).__name__}; pass a fit "
            "for every K in posteriors"
        )
    missing = [k for k in ks if k not in fits]
    if missing:
        raise ValueError(
            f"{name} has no fit for K={', '.join(map(str, missing))} (posteriors has K="
            f"{', '.join(map(str, ks))}); pass a fit for every K compared"
        )
    for k in ks:
        fit = fits[k]
        if fit.n_components != k or fit.n_obs != x.size:
            raise ValueError(
                f"{name}[{k}] has {fit.n_components} components fitted to {fit.n_obs} "
                f"observations, expected K={k} on the {x.size} observations of x"
            )
    return {k: fits[k] for k in ks}


def _loo(tree, k):
    import arviz_stats as azs

    if not isinstance(tree, xr.DataTree) or "log_likelihood" not in tree.children:
        raise ValueError(
            f"posteriors[{k}] has no log_likelihood group, which PSIS-LOO needs; sample it with "
            "gmm_bayes.sample_posterior(..., pointwise=True)"
        )
    with warnings.catch_warnings(action="ignore"):  # high Pareto k is reported as data
        return azs.loo(tree, pointwise=True)


def _diagnostics(tree):
    if "diagnostics" in tree.children:
        return Diagnostics.from_dataset(tree["diagnostics"].to_dataset())
    return diagnose(tree)


def _fit_columns(em, sk, map_fit):
    columns = {
        "em_log_likelihood": em.log_likelihood,
        "em_bic": em.bic(),
        "em_aic": em.aic(),
        "em_icl": em.icl(),
        "em_converged": bool(em.converged),
        "em_degenerate": bool(em.degenerate),
        "em_collapse": collapse_reason(em),
        "sklearn_bic": sk.bic(),
        "sklearn_degenerate": bool(sk.degenerate),
    }
    if map_fit is not None:
        columns.update(map_bic=map_fit.bic(), map_degenerate=bool(map_fit.degenerate))
    return columns


def collapse_reason(fit):
    """Why ``fit`` collapsed, in words ("" for a healthy fit).

    Parameters
    ----------
    fit : EMResult

    Returns
    -------
    str
        One clause per collapsed component (numbered from 0, by mean): too few effective
        observations, a variance at the ``reg_covar`` floor, or too narrow beside the widest
        component (:func:`gmm_bayes.em.result.collapsed_components`).

    Examples
    --------
    >>> import gmm_bayes as gb
    >>> fit = gb.fit_em([-1.1, -1.0, -0.9, 4.9, 5.0, 5.1], 2, init="quantile")
    >>> collapse_reason(fit)
    ''
    """
    reasons = []
    counts = fit.weights * fit.n_obs
    for k in np.flatnonzero(fit.collapsed):
        if counts[k] < MIN_COMPONENT_COUNT:
            why = f"{counts[k]:.2g} effective observations"
        elif fit.variances[k] <= 2 * fit.reg_covar:
            why = f"variance {fit.variances[k]:.2g} at the reg_covar floor"
        else:
            why = f"sd {fit.sigmas[k]:.2g}, under 1/1000 of the widest component's"
        reasons.append(f"component {k} (mean {fit.means[k]:.4g}): {why}")
    return "; ".join(reasons)


def _loo_columns(loo):
    k = np.asarray(loo.pareto_k).ravel()
    good = float(loo.good_k)
    return {
        "elpd_loo": float(loo.elpd),
        "elpd_loo_se": float(loo.se),
        "p_loo": float(loo.p),
        "pareto_k_good": int((k <= good).sum()),
        "pareto_k_bad": int(((k > good) & (k <= 1)).sum()),
        "pareto_k_very_bad": int((k > 1).sum()),
        "pareto_k_max": float(np.max(k)),
        "pareto_k_threshold": good,
    }


def _diagnostics_columns(diag, loo):
    n_high = int((np.asarray(loo.pareto_k) > float(loo.good_k)).sum())
    status = row_status(diag.status, n_high)
    return {
        "divergences": int(diag.n_divergent),
        "max_rhat": float(diag.max_rhat),
        "min_ess_bulk": float(diag.min_ess_bulk),
        "min_ess_tail": float(diag.min_ess_tail),
        "multimodal": bool(diag.multimodal),
        "status": status.value,
        "trustworthy": status.trustworthy,
        "verdict": diag.verdict,
    }


def _stacking_weights(loos, trusted, cmp):
    """Stacking weights (Yao et al. 2018) over the trustworthy K only: a failed posterior or a
    degenerate EM fit gets none (0). With fewer than two trustworthy K, the one gets weight 1;
    with none, the weights of all K (``cmp``'s) are kept, there being nothing better to stack."""
    import arviz_stats as azs

    if len(trusted) >= 2:
        table = azs.compare(
            {f"K={k}": loos[f"K={k}"] for k in trusted}, method="stacking", round_to="none"
        )
        return {name: float(w) for name, w in table["weight"].items()}
    if len(trusted) == 1:
        return {f"K={trusted[0]}": 1.0}
    return {name: float(w) for name, w in cmp["weight"].items()}


def _preferences(ds):
    """Which K each criterion prefers, and the agreement sentence (dataset attributes)."""
    ks = ds["K"].values
    pref = {
        name: _healthy_minimum(ds, name, kind) for name, (_, kind) in CRITERIA.items() if name in ds
    }
    pref["elpd_loo"] = int(ks[np.argmax(ds["elpd_loo"].values)])
    pref["stacking_weight"] = int(ks[np.argmax(ds["stacking_weight"].values)])
    if "p_k" in ds:
        pref["p_k"] = int(ks[np.argmax(ds["p_k"].values)])
    agree = len(set(pref.values())) == 1
    best = pref["elpd_loo"]
    close = [
        int(k)
        for k, d, se in zip(ks, ds["elpd_diff"].values, ds["elpd_diff_se"].values, strict=True)
        if k != best and abs(d) <= 2 * se
    ]
    return {
        **{f"preferred_{name}": k for name, k in pref.items()},
        "criteria_agree": int(agree),
        "agreement": _agreement(ds, pref, agree, best, close),
        "loo_indistinguishable": ",".join(map(str, close)),
    }


def _healthy_minimum(ds, name, kind):
    """The K of the lowest ``name`` among the K whose ``kind`` fit is healthy (among all K when
    none is); NaN values (a fit without classification entropy) never win."""
    values = ds[name].values.astype(float)
    values = np.where(np.isfinite(values), values, np.inf)
    healthy = ~ds[f"{kind}_degenerate"].values.astype(bool)
    if healthy.any():
        values = np.where(healthy, values, np.inf)
    return int(ds["K"].values[np.argmin(values)])


def _agreement(ds, pref, agree, best, close):
    ks = ds["K"].values
    parts = [
        f"{label} prefers K={pref[name]}" for name, (label, _) in CRITERIA.items() if name in pref
    ]
    parts += [
        f"PSIS-LOO K={pref['elpd_loo']}",
        f"stacking puts most weight on K={pref['stacking_weight']}",
    ]
    if "p_k" in pref:
        p_best = float(ds["p_k"].sel(K=pref["p_k"]))
        parts.append(f"the evidence gives K={pref['p_k']} the highest p(K | y) ({p_best:.2f})")
    sentence = ("All criteria agree: " if agree else "The criteria disagree: ") + "; ".join(parts)
    sentence += "."
    if close:
        sentence += (
            f" LOO cannot tell K={best} from K={', '.join(map(str, close))} "
            "(elpd difference within 2 standard errors)."
        )
    untrusted = [
        int(k) for k, s in zip(ks, ds["status"].values, strict=True) if not Status(s).trustworthy
    ]
    if untrusted:
        sentence += (
            f" The posterior for K={', '.join(map(str, untrusted))} failed its diagnostics, so "
            "its LOO value is not reliable."
        )
    high_k = [
        int(k) for k, n in zip(ks, ds["pareto_k_bad"] + ds["pareto_k_very_bad"], strict=True) if n
    ]
    if high_k:
        sentence += (
            f" Some Pareto k values are high for K={', '.join(map(str, high_k))}: PSIS-LOO is "
            "unreliable there."
        )
    degenerate = [int(k) for k, d in zip(ks, ds["em_degenerate"].values, strict=True) if d]
    if len(degenerate) == len(ks):
        sentence += (
            " EM's fit collapsed for every K (a component on a few points, see em_collapse): "
            "BIC, AIC and ICL reward the spikes, not the data's shape."
        )
    elif degenerate:
        sentence += (
            f" EM's fit for K={', '.join(map(str, degenerate))} collapsed (a component on a few "
            "points, see em_collapse): BIC, AIC and ICL leave it out."
        )
    return sentence
