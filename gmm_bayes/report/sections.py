"""One K's section of the pages: its status, estimates table, mode table and chain means.

Every badge, row and marker is read from typed fields: the comparison's ``status`` and
``trustworthy`` of the K, the :class:`gmm_bayes.bayes.Diagnostics` of its posterior, and the
columns of :func:`gmm_bayes.compare.compare_estimates` (``converged``, ``collapsed``, the
standard errors and the per-parameter convergence summary). Numbers are rounded to their
uncertainty (:func:`gmm_bayes.report.tables.rounded`); components are numbered from 1.
"""

import numpy as np

from gmm_bayes.bayes import Status
from gmm_bayes.bayes.diagnostics import RHAT_MAX, SMC_DISTINCT_MIN, SMC_WEIGHT_TOL
from gmm_bayes.conventions import PARAMS
from gmm_bayes.report.tables import decimals_for, fmt, rounded

__all__ = ["STATUS_CLASS", "k_context", "parameter_label"]

#: CSS class of each status's badge and box
STATUS_CLASS = {
    Status.OK: "good",
    Status.CAUTION: "warn",
    Status.NOT_CONVERGED: "bad",
    Status.MULTIMODAL: "bad",
    Status.FAILED: "bad",
}
_NAMES = {"w": "weight", "mu": "mean", "sigma": "sd"}
#: fits in estimates.csv but not in the pages' table: scikit-learn from EM's start lands on
#: EM's maximum (the CSV shows how closely)
_CSV_ONLY = ("sklearn_from_em",)
#: fits of another model than the posterior's (one shared variance): no HDI comparison
_OTHER_MODEL = ("em_tied",)
#: what each sampler is called on the page
SAMPLER_NAMES = {"nuts": "NUTS", "smc": "tempered SMC"}


def parameter_label(p, units=None):
    """A parameter's name with its units, for a table's header cell.

    Examples
    --------
    >>> parameter_label("w", "km/s"), parameter_label("mu", "km/s"), parameter_label("sigma")
    ('w (weight)', 'mu (mean, km/s)', 'sigma (sd)')
    """
    shown = units if units and units != "none" and p != "w" else None
    return f"{p} ({_NAMES[p]}{', ' + shown if shown else ''})"


def k_context(result, comparison, *, units=None, recommended=None):
    """One K's section of the pages.

    Parameters
    ----------
    result : gmm_bayes.report.pipeline.KResult
    comparison : xarray.Dataset
        From :func:`gmm_bayes.compare.compare_components`: its ``status`` of this K decides the
        badge (the posterior's, CAUTION for high Pareto k) and ``trustworthy`` whether the
        posterior columns may be read.
    units : str, optional
        The data's units, for the headers.
    recommended : int, optional
        The recommended K.

    Returns
    -------
    dict
        ``k``, ``status`` and ``css``, ``trustworthy``, ``recommended``, ``diag``, ``sampler``
        (the sampler of the draws kept) and ``sampler_note``, ``verdict``/``verdict_head``
        (prose, shown only), ``row`` (this K's comparison columns), ``methods``, ``table``,
        ``loglik``, ``converged``, ``trusted`` (per method), ``modes`` (the mode table when
        the posterior has several modes), ``chains`` (each chain's means, when the posterior
        cannot be read and has one mode), ``posterior_means``, ``warnings``, ``seconds``,
        ``em_degenerate``, ``collapse``.
    """
    row = {name: comparison[name].sel(K=result.k).item() for name in comparison.data_vars}
    status = Status(row["status"])
    diag = result.diagnostics
    est = result.estimates
    trusted = bool(row["trustworthy"])
    fits = [str(m) for m in est["method"].values if m not in ("posterior_mean", *_CSV_ONLY)]
    shown = [*fits, "posterior_mean"] if "posterior_mean" in est["method"].values else fits
    modes = _modes(result.modes, units) if _several_modes(result.modes) else None
    return {
        "k": result.k,
        "status": status,
        "css": STATUS_CLASS[status],
        "trustworthy": trusted,
        "recommended": result.k == recommended,
        "verdict": diag.verdict,
        "verdict_head": diag.headline,
        "why": _why(status, diag, row) or diag.headline,
        "diag": diag,
        "sampler": SAMPLER_NAMES.get(diag.sampler, diag.sampler),
        "sampler_note": diag.sampler_note,
        "row": row,
        "methods": [str(est["method_label"].sel({"method": m}).item()) for m in fits],
        "table": _estimates_table(est, fits, set(diag.sigma_outside_prior), units),
        "loglik": [f"{est['log_likelihood'].sel({'method': m}).item():.2f}" for m in shown],
        "converged": [_yes(est["converged"].sel({"method": m}).item()) for m in shown],
        "trusted": [_yes(est["trustworthy"].sel({"method": m}).item()) for m in shown],
        "modes": modes,
        "chains": None if trusted or modes else _chains(result),
        "posterior_means": _posterior_means(est),
        "warnings": result.warnings,
        "seconds": f"{result.seconds:.1f}",
        "em_degenerate": bool(result.em.degenerate),
        "collapse": row["em_collapse"],
    }


def _estimates_table(est, fits, outside_prior, units):
    """One row per (parameter, component): each fit, then the posterior's summary."""
    table = []
    post = "posterior_mean" in est["method"].values
    for p in PARAMS:
        for j in est["component"].values:
            at = est.sel(component=j)
            sd = at[f"{p}_sd"].item() if post else np.nan
            se = at[f"{p}_se"].sel({"method": "em"}).item() if "em" in fits else np.nan
            scale = sd if np.isfinite(sd) and sd > 0 else se
            cells = [
                _fit_cell(
                    at.sel({"method": m}),
                    p,
                    scale,
                    post and m not in _OTHER_MODEL,
                    p == "sigma" and m == "em" and int(j) in outside_prior,
                )
                for m in fits
            ]
            table.append(
                {
                    "param": parameter_label(p, units) if j == 0 else "",
                    "component": int(j) + 1,
                    "cells": cells,
                    "posterior": _posterior_cells(at, p, scale) if post else None,
                }
            )
    return table


def _fit_cell(at, p, scale, post, outside_prior):
    se = at[f"{p}_se"].item()
    text = rounded(at[p].item(), scale)
    if np.isfinite(se):
        text += f" ± {fmt(se, 2)}"
    marks = []
    if bool(at["collapsed"].item()):
        marks.append("collapsed")
    if post and not bool(at[f"{p}_in_hdi"].item()):
        marks.append("outside HDI")
    if outside_prior:
        marks.append("outside prior 95%")
    return {"text": text, "marks": marks}


def _posterior_cells(at, p, scale):
    post = at.sel({"method": "posterior_mean"})
    low, high = (rounded(post[f"{p}_hdi_{s}"].item(), scale) for s in ("lower", "upper"))
    mcse = post[f"{p}_mcse_mean"].item()
    return {
        "mean": rounded(post[p].item(), scale),
        "sd": fmt(post[f"{p}_sd"].item(), 2),
        "hdi": f"[{low}, {high}]",
        "r_hat": _two_decimals(post[f"{p}_r_hat"].item()),
        "ess": _ess(post[f"{p}_ess_bulk"].item(), post[f"{p}_ess_tail"].item()),
        "mcse": fmt(mcse, 1) if decimals_for(mcse) is not None else "—",
    }


def _why(status, diag, row):
    """The reasons behind a CAUTION or a failure, as one short phrase from the typed fields."""
    reasons = []
    if diag.sigma_outside_prior:
        comps = ", ".join(str(j + 1) for j in diag.sigma_outside_prior)
        noun = "components" if len(diag.sigma_outside_prior) > 1 else "component"
        reasons.append(f"EM sigma of {noun} {comps} outside the prior's 95%")
    high_k = int(row["pareto_k_bad"]) + int(row["pareto_k_very_bad"])
    if high_k:
        reasons.append(f"Pareto k high for {high_k} observation{'s' * (high_k > 1)}")
    if diag.n_max_treedepth:
        reasons.append(f"{diag.n_max_treedepth} transitions at the maximum tree depth")
    if diag.mode_fraction.ndim == 2 and diag.mode_fraction.shape[1] > 1:
        reasons.append(f"draws in {diag.mode_fraction.shape[1]} modes")
    if status.trustworthy:
        return "; ".join(reasons)
    if diag.sampler == "smc":
        return "; ".join([*_smc_failures(diag), *reasons])
    if diag.n_divergent:
        reasons.insert(0, f"{diag.n_divergent} divergences")
    if diag.max_rhat > RHAT_MAX:
        reasons.insert(0, f"r_hat {diag.max_rhat:.2f}")
    if diag.multimodal:
        reasons.insert(0, "chains in different modes")
    return "; ".join(reasons)


def _smc_failures(diag):
    """What the SMC rule failed on: the runs' mode weights, their distinct particles."""
    out = []
    fraction = np.asarray(diag.mode_fraction)
    if fraction.ndim == 2 and fraction.shape[0] > 1:
        spread = float((fraction.max(axis=0) - fraction.min(axis=0)).max())
        if spread > SMC_WEIGHT_TOL:
            out.append(f"SMC runs disagree on mode weights by up to {spread:.2f}")
    distinct = np.asarray(diag.distinct_particles, dtype=float)
    if np.nanmin(distinct, initial=np.inf) < SMC_DISTINCT_MIN:
        out.append(f"an SMC run keeps only {np.nanmin(distinct):.0%} distinct particles")
    return out


def _yes(value):
    return "yes" if value else "NO"


def _ess(bulk, tail):
    return f"{bulk:.0f} / {tail:.0f}" if np.isfinite(bulk) and np.isfinite(tail) else "—"


def _two_decimals(value):
    return f"{value:.2f}" if np.isfinite(value) else "—"


def _several_modes(modes):
    return modes is not None and modes.sizes.get("mode", 0) > 1


def _modes(modes, units):
    """The mode table: weight with its Monte Carlo error, each mode's means, EM's maximum."""
    rows = []
    for m in modes["mode"].values:
        at = modes.sel(mode=m)
        found = int(at["em_maximum"].item())
        rows.append(
            {
                "mode": int(m) + 1,
                "weight": rounded(at["weight"].item(), at["weight_mcse"].item(), digits=2),
                "weight_mcse": fmt(at["weight_mcse"].item(), 2),
                "params": {
                    p: ", ".join(fmt(v, 3 if p == "w" else 4) for v in at[p].values) for p in PARAMS
                },
                "log_likelihood": fmt(at["log_likelihood"].item(), 6),
                "em_maximum": f"EM maximum {found + 1}" if found >= 0 else "not found by EM",
            }
        )
    return {"rows": rows, "labels": {p: parameter_label(p, units) for p in PARAMS}}


def _chains(result):
    """Where each chain stayed: its mean of mu and w."""
    cm = result.chain_means
    return [
        {
            "chain": int(c) + 1,
            "mu": ", ".join(fmt(v) for v in cm["mu"].sel(chain=c).values),
            "w": ", ".join(fmt(v, 3) for v in cm["w"].sel(chain=c).values),
        }
        for c in cm["chain"].values
    ]


def _posterior_means(est):
    """Each parameter's posterior means as one text (the seed notebook's table), or None."""
    if "posterior_mean" not in est["method"].values:
        return None
    at = est.sel({"method": "posterior_mean"})
    return {p: ", ".join(fmt(v, 4) for v in at[p].values) for p in PARAMS}
