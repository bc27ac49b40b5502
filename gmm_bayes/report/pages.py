"""The report's pages: one data set's ``index.html`` and ``summary.md``, and the bundled index.

Both pages of a data set render one context (:func:`dataset_context`) through jinja2 templates
(``templates/``): HTML with autoescaping, Markdown through the :func:`md_cell` and
:func:`md_code` filters, so text from data (file and column names) never becomes markup. Health
is read from typed fields (:class:`gmm_bayes.bayes.Status`); the verdict prose is only shown.
"""

import numpy as np

from gmm_bayes.bayes import Status
from gmm_bayes.compare import SIGN_CONVENTION

__all__ = [
    "STATUS_CLASS",
    "bundled_row",
    "dataset_context",
    "fmt",
    "k_context",
    "md_cell",
    "md_code",
    "render",
]

#: CSS class of each status's badge and box
STATUS_CLASS = {
    Status.OK: "good",
    Status.CAUTION: "warn",
    Status.NOT_CONVERGED: "bad",
    Status.MULTIMODAL: "bad",
    Status.FAILED: "bad",
}
_PARAM_LABELS = (("w", "w (weight)"), ("mu", "mu (mean)"), ("sigma", "sigma (sd)"))


def fmt(value, digits=4):
    """A number for a table: ``digits`` significant digits, ``—`` for NaN or None.

    Examples
    --------
    >>> fmt(3.14159), fmt(2.0, 2), fmt(float("nan")), fmt(True), fmt(np.int64(7))
    ('3.142', '2', '—', 'yes', '7')
    """
    if value is None:
        return "—"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return str(int(value))
    value = float(value)
    if not np.isfinite(value):
        return "—"
    return f"{value:.{digits}g}"


def md_cell(text):
    """Text safe in a Markdown table: no raw HTML (renderers pass it through), pipes, newlines.

    Only ``&`` and ``<`` can start markup, so ``>=`` stays readable in the plain file.

    Examples
    --------
    >>> md_cell("a|b <i>")
    'a\\\\|b &lt;i>'
    """
    text = str(text).replace("&", "&amp;").replace("<", "&lt;")
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def md_code(text):
    """Text as a Markdown code span (its content is shown literally, HTML included).

    Examples
    --------
    >>> md_code("<b>"), md_code("a`b")
    ('`<b>`', '`` a`b ``')
    """
    text = str(text).replace("\n", " ")
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def render(template, **context):
    """Render one of ``templates/`` (``dataset.html``, ``summary.md``, ``index.html``)."""
    return _environment().get_template(template).render(**context)


def _environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("gmm_bayes.report", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(fmt=fmt, md_cell=md_cell, md_code=md_code)
    return env


def k_context(result, comparison):
    """One K's section of the pages.

    Parameters
    ----------
    result : gmm_bayes.report.pipeline.KResult
        Its fits, posterior, estimates, chain means, diagnostics, time and warnings.
    comparison : xarray.Dataset
        From :func:`gmm_bayes.compare.compare_components`; its ``status`` of this K decides
        the badge (the posterior's status, CAUTION for high Pareto k).

    Returns
    -------
    dict
        ``status`` (:class:`Status`) and ``css`` (its badge class), ``diag`` (the
        :class:`gmm_bayes.bayes.Diagnostics`), ``verdict`` and ``verdict_head`` (prose, shown
        only), ``row`` (this K's comparison columns), the estimates ``table`` with ``methods``,
        ``loglik`` and ``converged`` as text, ``chains`` (each chain's means, when the chains
        disagree or did not mix), ``warnings``, ``seconds``, ``em_degenerate``.
    """
    row = {name: comparison[name].sel(K=result.k).item() for name in comparison.data_vars}
    status = Status(row["status"])
    diag = result.diagnostics
    est = result.estimates
    return {
        "k": result.k,
        "status": status,
        "css": STATUS_CLASS[status],
        "verdict": diag.verdict,
        "verdict_head": diag.headline,
        "diag": diag,
        "row": row,
        "methods": [str(v) for v in est["method_label"].values],
        "table": _estimates_table(est),
        "loglik": [fmt(v, 7) for v in est["log_likelihood"].values],
        "converged": ["yes" if v else "NO" for v in est["converged"].values],
        "warnings": result.warnings,
        "chains": None if status.trustworthy and not diag.multimodal else _chains(result),
        "seconds": f"{result.seconds:.1f}",
        "em_degenerate": bool(result.em.degenerate),
    }


def _estimates_table(est):
    """Rows of one K's estimates table: each method's value, marked when outside the HDI."""
    table = []
    for p, label in _PARAM_LABELS:
        for j in est["component"].values:
            cells = []
            for m in est["method"].values:
                at = {"method": m, "component": j}
                inside = bool(est[f"{p}_in_hdi"].sel(at).item())
                outside = m != "posterior_mean" and est.attrs["has_posterior"] and not inside
                cells.append({"text": fmt(est[p].sel(at).item()), "outside": outside})
            lower = est[f"{p}_hdi_lower"].sel(component=j).item()
            upper = est[f"{p}_hdi_upper"].sel(component=j).item()
            table.append(
                {
                    "param": label if j == 0 else "",
                    "component": int(j),
                    "cells": cells,
                    "sd": fmt(est[f"{p}_sd"].sel(component=j).item(), 3),
                    "hdi": f"[{fmt(lower)}, {fmt(upper)}]",
                }
            )
    return table


def _chains(result):
    """Where each chain stayed: its mean of mu and w."""
    cm = result.chain_means
    return [
        {
            "chain": int(c),
            "mu": ", ".join(fmt(v) for v in cm["mu"].sel(chain=c).values),
            "w": ", ".join(fmt(v, 3) for v in cm["w"].sel(chain=c).values),
        }
        for c in cm["chain"].values
    ]


def dataset_context(*, meta, n, ks, comparison, settings, versions, written, elapsed, figs, files):
    """Everything one data set's pages show.

    Parameters
    ----------
    meta : dict
        :func:`gmm_bayes.report.provenance.source_meta` (with ``notebook`` replaced by
        :func:`gmm_bayes.report.notebook.notebook_section` or None).
    n : int
        Number of observations.
    ks : list of dict
        :func:`k_context` of each K.
    comparison : xarray.Dataset
        From :func:`gmm_bayes.compare.compare_components`.
    settings : ReportSettings
    versions : list of (str, str)
    written, elapsed : str
    figs : dict of str to str
        Figure file name -> path relative to the page.
    files : list of str
        The report's files, for the page's list.

    Returns
    -------
    dict
    """
    attrs = comparison.attrs
    return {
        **meta,
        "n": n,
        "settings": settings.describe(),
        "interval": f"{settings.hdi_prob:.0%}",
        "versions": versions,
        "written": written,
        "elapsed": elapsed,
        "agreement": attrs["agreement"],
        "criteria_agree": bool(attrs["criteria_agree"]),
        "glance": (
            "good"
            if attrs["criteria_agree"] and all(kc["status"] is Status.OK for kc in ks)
            else "warn"
        ),
        "preferences": [
            ("gmm_bayes EM, BIC", attrs["preferred_em_bic"]),
            ("gmm_bayes EM, AIC", attrs["preferred_em_aic"]),
            ("scikit-learn, BIC", attrs["preferred_sklearn_bic"]),
            ("PSIS-LOO elpd", attrs["preferred_elpd_loo"]),
            ("stacking weight", attrs["preferred_stacking_weight"]),
        ],
        "sign_convention": SIGN_CONVENTION,
        "preferred": attrs["preferred_elpd_loo"],
        "ks": ks,
        "figs": figs,
        "files": files,
    }


def bundled_row(ctx, description):
    """One data set's row of the bundled index, from its page context."""
    return {
        "name": ctx["name"],
        "description": description,
        "n": ctx["n"],
        "ks": ", ".join(str(kc["k"]) for kc in ctx["ks"]),
        "preferences": ctx["preferences"],
        "agree": ctx["criteria_agree"],
        "caveats": _caveats(ctx),
        "statuses": [(kc["k"], kc["css"], kc["status"].value) for kc in ctx["ks"]],
        "elapsed": ctx["elapsed"],
    }


def _caveats(ctx):
    """Why the preferred K should not be taken at face value, as short phrases."""
    chosen = next(kc for kc in ctx["ks"] if kc["k"] == ctx["preferred"])
    out = []
    if chosen["status"] is not Status.OK:
        out.append(f"posterior for K={chosen['k']}: {chosen['status'].value}")
    if chosen["em_degenerate"]:
        out.append(f"EM for K={chosen['k']}: a component collapsed")
    return out
