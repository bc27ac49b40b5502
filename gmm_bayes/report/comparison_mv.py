"""The choice of K for multivariate (d >= 2) data: one posterior per K, compared by PSIS-LOO.

For each K the model sampled is the covariance type of lowest EM BIC at that K
(:func:`lowest_bic`); :func:`compare_k_mv` compares those posteriors as the univariate report
does (:func:`gmm_bayes.compare.compare_components`, which reads one column): elpd_loo with the
se of each K's difference to the best (``arviz_stats.compare``), stacking weights over the
trustworthy posteriors only, and the recommended K of
:func:`gmm_bayes.compare.recommendation.recommend_k`. No log evidence is computed for d >= 2,
so the recommendation follows its LOO rule: the smallest trustworthy K within 2 se of the best
elpd_loo.
"""

import warnings

import numpy as np
import xarray as xr

from gmm_bayes.compare.components import row_status
from gmm_bayes.compare.recommendation import recommend_k

__all__ = ["compare_k_mv", "lowest_bic"]


def lowest_bic(fits):
    """The key of the fit of lowest BIC among the healthy ones (among all when none is).

    Parameters
    ----------
    fits : mapping
        Any key (e.g. a covariance type, or ``(type, K)``) -> EMResult.

    Returns
    -------
    key
        The first of equal BICs in ``fits``' order (at K = 1 "full" and "tied" are one model).

    Examples
    --------
    >>> import gmm_bayes as gb
    >>> x = gb.load_dataset("faithful2d")
    >>> lowest_bic({t: gb.fit_em(x, 2, covariance_type=t, random_state=0)
    ...             for t in ("full", "spherical")})
    'full'
    """
    healthy = {key: fit for key, fit in fits.items() if not fit.degenerate} or dict(fits)
    return min(healthy, key=lambda key: healthy[key].bic())


def compare_k_mv(posteriors, em_fits):
    """Compare one posterior per K by PSIS-LOO and recommend a K.

    Parameters
    ----------
    posteriors : mapping of int to xarray.DataTree
        K -> :func:`gmm_bayes.sample_posterior` of (N, d) data, with its ``log_likelihood``
        (``pointwise=True``) and ``diagnostics`` groups.
    em_fits : mapping of int to EMResult
        K -> the EM fit the posterior was started from (its covariance type is the model's).

    Returns
    -------
    xarray.Dataset
        On dim ``K``: ``covariance_type``, ``em_log_likelihood``, ``n_parameters``,
        ``em_bic``, ``em_icl``, ``em_degenerate``; ``elpd_loo``, ``elpd_loo_se``, ``p_loo``,
        ``pareto_k_bad`` (observations with k above the sample-size threshold),
        ``pareto_k_max``; ``sampler``, ``divergences``, ``max_rhat``, ``min_ess_bulk``,
        ``min_ess_tail``, ``status`` (the posterior's, CAUTION when an OK one has high Pareto
        k), ``trustworthy`` (OK or CAUTION and a healthy EM fit); ``loo_rank`` (0 is best),
        ``elpd_diff`` and ``elpd_diff_se`` (to the best K, with the se of the difference),
        ``stacking_weight`` (over the trustworthy K only). Attributes ``preferred_em_bic``,
        ``preferred_elpd_loo``, ``preferred_stacking_weight`` and ``recommend_k``'s
        ``recommended_k`` (-1: none), ``recommended_rule``, ``recommended_reason``.
    """
    ks = sorted(int(k) for k in posteriors)
    rows, loos = {}, {}
    for k in ks:
        loos[k] = _loo(posteriors[k], k)
        rows[k] = {
            **_fit_columns(em_fits[k]),
            **_loo_columns(loos[k]),
            **_posterior_columns(posteriors[k], loos[k]),
        }
        rows[k]["trustworthy"] &= not rows[k]["em_degenerate"]
    rows = _with_differences(rows, loos)
    ds = xr.Dataset(
        {name: ("K", np.array([rows[k][name] for k in ks])) for name in rows[ks[0]]},
        coords={"K": np.array(ks)},
    )
    ds.attrs.update(_preferences(ds))
    ds.attrs.update(recommend_k(ds, {k: np.asarray(loos[k].elpd_i).ravel() for k in ks}))
    return ds


def _loo(tree, k):
    import arviz_stats as azs

    if "log_likelihood" not in tree.children:
        raise ValueError(
            f"posteriors[{k}] has no log_likelihood group, which PSIS-LOO needs; sample it with "
            "gmm_bayes.sample_posterior(..., pointwise=True)"
        )
    with warnings.catch_warnings(action="ignore"):  # high Pareto k is reported as data
        return azs.loo(tree, pointwise=True)


def _fit_columns(em):
    return {
        "covariance_type": em.covariance_type,
        "em_log_likelihood": float(em.log_likelihood),
        "n_parameters": int(em.n_parameters),
        "em_bic": float(em.bic()),
        "em_icl": float(em.icl()),
        "em_degenerate": bool(em.degenerate),
    }


def _loo_columns(loo):
    pareto_k = np.asarray(loo.pareto_k).ravel()
    return {
        "elpd_loo": float(loo.elpd),
        "elpd_loo_se": float(loo.se),
        "p_loo": float(loo.p),
        "pareto_k_bad": int((pareto_k > float(loo.good_k)).sum()),
        "pareto_k_max": float(pareto_k.max()),
    }


def _posterior_columns(tree, loo):
    from gmm_bayes.bayes import Diagnostics

    diag = Diagnostics.from_dataset(tree["diagnostics"].to_dataset())
    n_high = int((np.asarray(loo.pareto_k) > float(loo.good_k)).sum())
    status = row_status(diag.status, n_high)
    return {
        "sampler": str(tree.attrs.get("sampler", diag.sampler)),
        "divergences": int(diag.n_divergent),
        "max_rhat": float(diag.max_rhat),
        "min_ess_bulk": float(diag.min_ess_bulk),
        "min_ess_tail": float(diag.min_ess_tail),
        "status": status.value,
        "trustworthy": bool(status.trustworthy),
    }


def _with_differences(rows, loos):
    """Each K's rank, elpd difference to the best K with its se, and stacking weight (Yao et
    al. 2018) over the trustworthy K: a failed posterior or collapsed EM fit gets 0 (unless no K
    is trustworthy)."""
    import arviz_stats as azs

    ks = list(rows)
    if len(ks) == 1:
        rows[ks[0]].update(loo_rank=0, elpd_diff=0.0, elpd_diff_se=0.0, stacking_weight=1.0)
        return rows
    table = azs.compare({f"K={k}": loos[k] for k in ks}, method="stacking", round_to="none")
    trusted = [k for k in ks if rows[k]["trustworthy"]]
    if len(trusted) >= 2:
        stacked = azs.compare(
            {f"K={k}": loos[k] for k in trusted}, method="stacking", round_to="none"
        )
        weights = {name: float(w) for name, w in stacked["weight"].items()}
    elif trusted:
        weights = {f"K={trusted[0]}": 1.0}
    else:  # nothing trustworthy to stack: the weights of all K, as the univariate comparison
        weights = {name: float(w) for name, w in table["weight"].items()}
    for k in ks:
        at = table.loc[f"K={k}"]
        rows[k].update(
            loo_rank=int(at["rank"]),
            elpd_diff=float(at["elpd_diff"]),
            elpd_diff_se=float(at["dse"]),
            stacking_weight=weights.get(f"K={k}", 0.0),
        )
    return rows


def _preferences(ds):
    """The K each criterion prefers: EM BIC over the healthy fits, elpd_loo, stacking."""
    ks = ds["K"].values
    bic = np.where(ds["em_degenerate"].values, np.inf, ds["em_bic"].values)
    if not np.isfinite(bic).any():
        bic = ds["em_bic"].values
    return {
        "preferred_em_bic": int(ks[np.argmin(bic)]),
        "preferred_elpd_loo": int(ks[np.argmax(ds["elpd_loo"].values)]),
        "preferred_stacking_weight": int(ks[np.argmax(ds["stacking_weight"].values)]),
    }
