"""One recommended number of components K, the rule that chose it, and why.

Only a *trustworthy* K can be recommended: its posterior passed its diagnostics (OK or
CAUTION: converged, one posterior, summaries reportable) and its EM fit is healthy (no
collapsed component). Among those:

- with the evidence (``p_k``, :func:`gmm_bayes.log_evidence`): the K of highest p(K | y),
  :data:`RULE_EVIDENCE`. p(K | y) is Bayes' own answer to "how many components": it weighs
  the whole data against the prior on K, and penalizes extra components through the
  marginal likelihood rather than through an asymptotic formula (BIC) or a predictive score
  that keeps rewarding components that do not hurt prediction (LOO).
- without it: the smallest K whose elpd_loo is within 2 standard errors of the best
  trustworthy K's (the se of the pointwise difference), :data:`RULE_LOO`. LOO estimates
  predictive accuracy, which rarely drops when a needless component is added; within the
  noise of that estimate the simplest model is the one to report (the "one-standard-error"
  habit of cross-validation, with the 2 se the comparison already uses for "cannot tell").
- no trustworthy K: none is recommended (``recommended_k = -1``), :data:`RULE_NONE`.
"""

import numpy as np

__all__ = ["NO_K", "RULE_EVIDENCE", "RULE_LOO", "RULE_NONE", "recommend_k"]

RULE_EVIDENCE = "highest p(K | y)"
RULE_LOO = "smallest K within 2 se of the best elpd_loo"
RULE_NONE = "none"
#: ``recommended_k`` when no K is trustworthy
NO_K = -1
#: criterion attribute (``preferred_<name>``) -> its label in the reason
_LABELS = {
    "em_bic": "EM BIC",
    "em_aic": "EM AIC",
    "em_icl": "EM ICL",
    "sklearn_bic": "scikit-learn BIC",
    "map_bic": "prior-regularized BIC",
    "elpd_loo": "PSIS-LOO",
    "stacking_weight": "stacking",
    "p_k": "p(K | y)",
}


def recommend_k(ds, elpd_pointwise):
    """The recommended K of a comparison, its rule and the reason in one sentence.

    Parameters
    ----------
    ds : xarray.Dataset
        On dim ``K``, with ``trustworthy``, ``status``, ``em_degenerate``, ``elpd_loo``,
        optionally ``p_k`` and ``p_k_se``, and the ``preferred_<criterion>`` attributes
        (:func:`gmm_bayes.compare_components`' table).
    elpd_pointwise : mapping of int to ndarray, shape (N,)
        K -> the pointwise elpd_loo of each observation (for the se of a difference).

    Returns
    -------
    dict
        ``recommended_k`` (int; :data:`NO_K` when none), ``recommended_rule`` (one of
        :data:`RULE_EVIDENCE`, :data:`RULE_LOO`, :data:`RULE_NONE`) and
        ``recommended_reason`` (a sentence naming the runner-up and the criteria that prefer
        another K, and saying so when the recommended K is the largest compared).

    Examples
    --------
    >>> import xarray as xr
    >>> ds = xr.Dataset({"trustworthy": ("K", [True, True]), "status": ("K", ["OK", "OK"]),
    ...                  "em_degenerate": ("K", [False, False]),
    ...                  "elpd_loo": ("K", [-120.0, -100.0])}, coords={"K": [1, 2]})
    >>> ds.attrs.update(preferred_em_bic=2, preferred_elpd_loo=2)
    >>> rng = np.random.default_rng(0)
    >>> pointwise = {1: -1.2 + rng.normal(0, 0.1, 100), 2: np.full(100, -1.0)}
    >>> out = recommend_k(ds, pointwise)
    >>> out["recommended_k"], out["recommended_rule"]
    (2, 'smallest K within 2 se of the best elpd_loo')
    """
    ks = [int(k) for k in ds["K"].values]
    trusted = [k for k, ok in zip(ks, ds["trustworthy"].values, strict=True) if ok]
    if not trusted:
        return {
            "recommended_k": NO_K,
            "recommended_rule": RULE_NONE,
            "recommended_reason": _none_reason(ds, ks),
        }
    if "p_k" in ds:
        k, runner_up, why = _by_evidence(ds, trusted)
        rule = RULE_EVIDENCE
    else:
        k, runner_up, why = _by_loo(ds, trusted, elpd_pointwise)
        rule = RULE_LOO
    sentence = why + _runner_up(runner_up) + _disagreeing(ds, k) + _left_out(ds, ks, trusted)
    if k == max(ks) and len(ks) > 1:
        sentence += f"; K={k} is the largest K compared, so compare larger K too"
    return {"recommended_k": k, "recommended_rule": rule, "recommended_reason": sentence + "."}


def _by_evidence(ds, trusted):
    p = {k: float(ds["p_k"].sel(K=k)) for k in trusted}
    se = {k: float(ds["p_k_se"].sel(K=k)) if "p_k_se" in ds else 0.0 for k in trusted}
    ranked = sorted(trusted, key=lambda k: -p[k])
    best = ranked[0]
    why = f"K={best} has the highest p(K | y) among the trustworthy K ({_p(p[best], se[best])})"
    runner_up = None
    if len(ranked) > 1:
        second = ranked[1]
        close = abs(p[best] - p[second]) <= 2 * np.hypot(se[best], se[second])
        runner_up = (
            second,
            f"p(K | y) {_p(p[second], se[second])}"
            + (", within Monte Carlo error of it" if close else ""),
        )
    return best, runner_up, why


def _p(value, se):
    return f"{value:.2f} +- {se:.2f}" if se > 0 else f"{value:.2f}"


def _by_loo(ds, trusted, elpd_pointwise):
    elpd = {k: float(ds["elpd_loo"].sel(K=k)) for k in trusted}
    best = max(trusted, key=lambda k: elpd[k])
    diff = {k: (elpd[k] - elpd[best], _diff_se(elpd_pointwise, k, best)) for k in trusted}
    within = [k for k in trusted if abs(diff[k][0]) <= 2 * diff[k][1] or k == best]
    chosen = min(within)
    if chosen == best:
        why = f"K={best} has the best elpd_loo among the trustworthy K"
        smaller = [k for k in trusted if k < best]
        others = sorted((k for k in trusted if k != best), key=lambda k: -elpd[k])
        runner_up = (others[0], _diff(*diff[others[0]])) if others else None
        if smaller:
            near = max(smaller)
            why += " and no smaller K comes within 2 se of it"
            if near != others[0]:  # the runner-up's difference is said once, after this
                why += f" (K={near}: {_diff(*diff[near])})"
    else:
        why = (
            f"K={chosen} is the smallest trustworthy K whose elpd_loo is within 2 se of the "
            f"best, K={best} ({_diff(*diff[chosen])})"
        )
        runner_up = (best, "the best elpd_loo")
    return chosen, runner_up, why


def _diff_se(elpd_pointwise, a, b):
    """se of the elpd difference between K=a and K=b: sqrt(N) times the sd of the pointwise
    differences (Vehtari, Gelman & Gabry 2017, eq. 24; ``arviz_stats.compare``'s ``dse``)."""
    if a == b:
        return 0.0
    d = np.asarray(elpd_pointwise[a], dtype=float) - np.asarray(elpd_pointwise[b], dtype=float)
    return float(np.sqrt(d.size * np.var(d)))


def _diff(value, se):
    return f"difference {value:.1f} +- {se:.1f}"


def _runner_up(runner_up):
    if runner_up is None:
        return "; no other K is trustworthy"
    k, what = runner_up
    return f"; runner-up K={k} ({what})"


def _disagreeing(ds, k):
    other = {
        label: int(ds.attrs[f"preferred_{name}"])
        for name, label in _LABELS.items()
        if f"preferred_{name}" in ds.attrs and int(ds.attrs[f"preferred_{name}"]) != k
    }
    if not other:
        return "; every other criterion agrees"
    return "; " + ", ".join(f"{label} prefers K={j}" for label, j in other.items())


def _left_out(ds, ks, trusted):
    out = [f"K={k} ({_why_untrusted(ds, k)})" for k in ks if k not in trusted]
    return f"; left out: {', '.join(out)}" if out else ""


def _why_untrusted(ds, k):
    reasons = []
    status = str(ds["status"].sel(K=k).values)
    if status not in ("OK", "CAUTION"):
        reasons.append(f"posterior {status}")
    if bool(ds["em_degenerate"].sel(K=k)):
        reasons.append("EM fit collapsed")
    return " and ".join(reasons)


def _none_reason(ds, ks):
    listed = "; ".join(f"K={k}: {_why_untrusted(ds, k)}" for k in ks)
    return (
        "No K can be recommended: every posterior failed its diagnostics or its EM fit "
        f'collapsed ({listed}); sample the failed K again (more draws, sampler="smc") or '
        "compare other K."
    )
