"""What a multivariate (d >= 2) report's pages show, from its analysis: the answer (the
recommended K with its rule and reason, beside EM BIC's choice), a status row per K, what to
run for a K that failed, and one section per K.

Every badge and row is read from the typed comparison
(:func:`gmm_bayes.report.comparison_mv.compare_k_mv`); numbers are rounded to their
uncertainty (:func:`gmm_bayes.report.tables.rounded`); components are numbered from 1.
"""

import shlex
from itertools import combinations

import numpy as np

from gmm_bayes.bayes import Status
from gmm_bayes.report.sections import STATUS_CLASS
from gmm_bayes.report.tables import rounded

__all__ = ["index_row_mv", "page_context_mv"]

#: how each method's rows are named on the page
METHOD_NAMES = {
    "posterior_mean": "posterior mean (sd)",
    "em": "gmm_bayes EM",
    "sklearn": "scikit-learn (defaults)",
}


def page_context_mv(x, analysis, meta, settings, figs, estimates, grid):
    """Everything one multivariate report's pages show.

    Parameters
    ----------
    x : ndarray, shape (N, d)
    analysis : gmm_bayes.report.pipeline_mv.MVAnalysis
    meta : dict
        :func:`gmm_bayes.report.provenance.source_meta`, with ``columns`` (list of str).
    settings : ReportSettings
    figs : list of gmm_bayes.report.figure_set.Figure
    estimates, grid : list of dict
        ``estimates.csv``'s and ``comparison.csv``'s rows.

    Returns
    -------
    dict
        Besides ``meta``: ``answer`` (``k``, ``covariance_type``, ``rule``, ``reason``,
        ``css``, ``status``, ``sampler``; ``k`` None when no K can be recommended),
        ``bic_choice`` (EM BIC's ``(type, K)``), ``statuses`` (one row per K),
        ``next_steps``, ``sections`` (one per K), ``choice_figures``, ``grid``,
        ``preferences``, ``methods`` (the paragraph,
        :func:`~gmm_bayes.report.methods_mv.methods_paragraph_mv`) and ``references`` (the
        works it cites); and for the bundled index, ``best_k`` / ``best_type`` (EM BIC's
        choice), ``status`` / ``css`` of its posterior, ``ks`` (the K compared).
    """
    from gmm_bayes.report.methods_mv import cited_references, methods_paragraph_mv
    from gmm_bayes.report.pipeline_mv import mv_sampler
    from gmm_bayes.report.provenance import package_versions, utc_now

    columns = meta["columns"]
    cmp = analysis.comparison
    versions = package_versions()
    methods = methods_paragraph_mv(
        x,
        settings,
        sampled=analysis.sampled,
        sampler=mv_sampler(settings.sampler),
        versions=versions,
        columns=columns,
    )
    statuses = [_status_row(cmp, k, analysis.recommended) for k in analysis.sampled]
    bic_type, bic_k = analysis.bic_best
    at_bic = next(s for s in statuses if s["k"] == bic_k)
    return {
        **meta,
        "n": int(x.shape[0]),
        "d": int(x.shape[1]),
        "answer": _answer(cmp, statuses),
        "bic_choice": (bic_type, bic_k),
        "statuses": statuses,
        "next_steps": _next_steps(statuses, meta, settings),
        "sections": [_section(analysis, s, estimates, columns, figs) for s in statuses],
        "choice_figures": [f for f in figs if f.k is None],
        "grid": grid,
        "preferences": [
            ("EM BIC", f"{bic_k} ({bic_type})"),
            ("PSIS-LOO elpd", cmp.attrs["preferred_elpd_loo"]),
            ("stacking weight", cmp.attrs["preferred_stacking_weight"]),
        ],
        "best_k": bic_k,
        "best_type": bic_type,
        "status": at_bic["status"].value,
        "css": at_bic["css"],
        "ks": list(analysis.sampled),
        "types": list(dict.fromkeys(t for t, _ in analysis.em)),
        "settings": [s for s in settings.describe() if s[0] != "log evidence per K"],
        "seconds": {
            name: f"{analysis.seconds[name]:.1f}"
            for name in ("em", "sklearn", "posterior", "comparison")
        },
        "versions": versions,
        "methods": methods,
        "references": cited_references(methods),
        "written": utc_now(),
    }


def index_row_mv(ctx, description):
    """The bundled index's row of a multivariate report (the keys of
    :func:`gmm_bayes.report.pages.bundled_row`).

    Examples
    --------
    >>> ctx = {"name": "d", "n": 9, "ks": [1, 2], "answer": {"k": 2}, "elapsed": "1.0 s",
    ...        "preferences": [], "statuses": [{"k": 1, "css": "good", "status": Status.OK}]}
    >>> index_row_mv(ctx, "two columns")["statuses"]
    [(1, 'good', 'OK')]
    """
    return {
        "name": ctx["name"],
        "description": description,
        "n": ctx["n"],
        "ks": ", ".join(map(str, ctx["ks"])),
        "answer": ctx["answer"],
        "preferences": ctx["preferences"],
        "statuses": [(s["k"], s["css"], s["status"].value) for s in ctx["statuses"]],
        "elapsed": ctx["elapsed"],
    }


def _status_row(cmp, k, recommended):
    at = {name: cmp[name].sel(K=k).item() for name in cmp.data_vars}
    status = Status(at["status"])
    return {
        "k": k,
        "covariance_type": at["covariance_type"],
        "status": status,
        "css": STATUS_CLASS[status],
        "trustworthy": bool(at["trustworthy"]),
        "recommended": k == recommended,
        "em_degenerate": bool(at["em_degenerate"]),
        "sampler": at["sampler"],
        "divergences": at["divergences"],
        "max_rhat": f"{at['max_rhat']:.3f}",
        "ess": f"{at['min_ess_bulk']:.0f} / {at['min_ess_tail']:.0f}",
        "elpd": f"{at['elpd_loo']:.1f} ± {at['elpd_loo_se']:.1f}",
        "diff": f"{at['elpd_diff']:.1f} ± {at['elpd_diff_se']:.1f}",
        "stacking": f"{at['stacking_weight']:.2f}",
        "pareto_k_bad": at["pareto_k_bad"],
        "em_bic": f"{at['em_bic']:.1f}",
    }


def _answer(cmp, statuses):
    k = int(cmp.attrs["recommended_k"])
    answer = {
        "k": k if k > 0 else None,
        "rule": cmp.attrs["recommended_rule"],
        "reason": cmp.attrs["recommended_reason"],
        "css": "bad",
    }
    chosen = next((s for s in statuses if s["k"] == k), None)
    if chosen is not None:
        answer.update(
            covariance_type=chosen["covariance_type"],
            css=chosen["css"],
            status=chosen["status"],
            sampler=chosen["sampler"],
        )
    return answer


def _next_steps(statuses, meta, settings):
    """For each K that cannot be recommended: why, and the command that may repair it."""
    from gmm_bayes.report.pipeline_mv import mv_samplers

    steps = []
    for s in statuses:
        if s["trustworthy"]:
            continue
        if s["em_degenerate"] and s["status"].trustworthy:
            why = "EM collapsed (a component on a few points): the data do not support this K."
            steps.append({"k": s["k"], "why": why, "command": None})
            continue
        # chains in different modes need a sampler that weighs modes; a short run, more draws
        smc = s["status"] is Status.MULTIMODAL and "smc" in mv_samplers()
        why = f"{s['status'].value} with {s['sampler']}; " + (
            "tempered SMC can weigh the modes." if smc else "longer chains may settle it."
        )
        steps.append({"k": s["k"], "why": why, "command": _command(meta, s["k"], settings, smc)})
    return steps


def _command(meta, k, settings, smc):
    data = meta["name"] if meta.get("bundled") else meta["source"]
    words = ["gmm-bayes", "report", data]
    if not meta.get("bundled"):
        words += ["--columns", meta["column"]]
    words += ["--components", str(k)]
    words += ["--sampler", "smc"] if smc else ["--tune", str(max(2 * settings.tune, 2000))]
    words += ["--draws", str(max(2 * settings.draws, 2000)), "--chains", str(settings.chains)]
    words += ["--seed", str(settings.seed), "--out", f"{meta['name']}_K{k}"]
    return shlex.join(words)


def _section(analysis, status, estimates, columns, figs):
    k = status["k"]
    diag = analysis.trees[k]["diagnostics"].attrs
    rows = [r for r in estimates if r["K"] == k]
    names, headers = _estimate_columns(columns)
    return {
        **status,
        "verdict": diag["verdict"],
        "headers": headers,
        "estimates": _table_cells(rows, names),
        "seconds": f"{analysis.seconds[k]:.1f}",
        "figures": [f for f in figs if f.k == k],
    }


def _estimate_columns(columns):
    """The estimate table's quantities and their headers."""
    d = len(columns)
    pairs = list(combinations(range(d), 2))
    names = ["w", *(f"mean_{j}" for j in range(d)), *(f"sd_{j}" for j in range(d))]
    names += [f"corr_{i}{j}" for i, j in pairs]
    headers = ["weight", *(f"mean {c}" for c in columns), *(f"sd {c}" for c in columns)]
    headers += [f"corr({columns[i]}, {columns[j]})" for i, j in pairs]
    return names, headers


def _table_cells(rows, names):
    """Each number rounded to two significant digits of the posterior sd of the same quantity
    (the posterior's sds shown beside its means; none for a constant, e.g. K = 1's weight)."""
    posterior = {row["component"]: row for row in rows if row["method"] == "posterior_mean"}
    cells = []
    for row in rows:
        sds = posterior.get(row["component"], {})
        cells.append(
            {
                "method": METHOD_NAMES[row["method"]],
                "component": row["component"],
                "values": [rounded(row[c], sds.get(f"{c}_sd")) for c in names],
                "sds": [_sd_text(row[f"{c}_sd"]) for c in names],
            }
        )
    return cells


def _sd_text(sd):
    return rounded(sd, sd) if np.isfinite(sd) and sd > 0 else ""
