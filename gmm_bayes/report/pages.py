"""The report's pages: one data set's ``index.html`` and ``summary.md``, and the bundled index.

Both pages of a data set render one context (:func:`dataset_context`) through jinja2 templates
(``templates/``): HTML with autoescaping, Markdown through the :func:`md_cell` and
:func:`md_code` filters, so text from data (file and column names) never becomes markup. Health
is read from typed fields (:class:`gmm_bayes.bayes.Status`); the verdict prose is only shown.
"""

import re
import shlex

from gmm_bayes.compare import SIGN_CONVENTION
from gmm_bayes.report.sections import STATUS_CLASS, k_context
from gmm_bayes.report.tables import fmt

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

#: the page's words for the sampler settings
_NEXT_SAMPLER = "smc"


def md_cell(text):
    """Text safe in a Markdown table: no raw HTML (renderers pass it through), pipes, newlines.

    Only ``<`` before a letter, ``/``, ``!`` or ``?`` (a tag) and ``&`` before a letter or
    ``#`` (an entity) can start markup; those are backslash-escaped (CommonMark), so the plain
    file holds no HTML entities and ``>=``, ``<=`` or ``R & D`` stay as they are.

    Examples
    --------
    >>> print(md_cell("a|b <i> &amp; <= c & d"))
    a\\|b \\<i> \\&amp; <= c & d
    """
    text = str(text).replace("\\", "\\\\")
    text = _TAG_START.sub(r"\\\g<0>", text)
    return text.replace("|", "\\|").replace("\n", " ")


#: what starts raw HTML in CommonMark: a tag or an entity
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])|&(?=[A-Za-z#])")


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


def dataset_context(
    *,
    meta,
    n,
    ks,
    comparison,
    settings,
    versions,
    written,
    elapsed,
    figs,
    files,
    methods="",
    data_notes=(),
):
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
    figs : list of gmm_bayes.report.figure_set.Figure
        The figures, rendered in their sections in this order.
    files : list of str
        The report's files, for the page's list.
    methods : str
        :func:`gmm_bayes.report.methods.methods_paragraph`.
    data_notes : sequence of str
        What the data's recording means for the fits (a grid, heaps), said at the top.

    Returns
    -------
    dict
        Besides the inputs: ``answer`` (the recommended K, its rule and reason, or why there
        is none), ``next_steps`` (what to run for each K that failed), ``preferences``,
        ``figures`` (by section and K).
    """
    attrs = comparison.attrs
    recommended = _recommended(comparison)
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
        "answer": _answer(recommended, ks, attrs),
        "next_steps": _next_steps(ks, meta, settings),
        "data_notes": list(data_notes),
        "methods": methods,
        "preferences": _preferences(attrs),
        "sign_convention": SIGN_CONVENTION,
        "preferred": recommended,
        "has_evidence": "p_k" in comparison,
        "ks": ks,
        "figures": _by_section(figs),
        "files": files,
    }


def _recommended(comparison):
    """The recommended K of :func:`gmm_bayes.compare.compare_components`, or None."""
    k = int(comparison.attrs["recommended_k"])
    return k if k > 0 else None


def _answer(recommended, ks, attrs):
    """The first screen's answer: the recommended K, its rule, its reason and its posterior."""
    chosen = next((kc for kc in ks if kc["k"] == recommended), None)
    for kc in ks:
        kc["recommended"] = kc["k"] == recommended
    answer = {
        "k": recommended,
        "rule": attrs["recommended_rule"],
        "reason": attrs["recommended_reason"],
        "css": "bad",
    }
    if chosen is not None:
        answer.update(css=chosen["css"], status=chosen["status"], sampler=chosen["sampler"])
    return answer


def _next_steps(ks, meta, settings):
    """For each K that cannot be read: why, and the command that may repair it."""
    steps = []
    for kc in ks:
        if kc["trustworthy"]:
            continue
        if kc["em_degenerate"] and kc["status"].trustworthy:
            steps.append(
                {
                    "k": kc["k"],
                    "why": f"EM collapsed ({kc['collapse'] or 'a component on a few points'}): "
                    "these data do not support this many components.",
                    "command": None,
                }
            )
            continue
        smc = kc["diag"].sampler == "smc"
        draws = max(4 * settings.draws, 2000) if smc else max(settings.draws, 1000)
        steps.append(
            {
                "k": kc["k"],
                "why": f"{kc['status'].value} with {kc['sampler']}"
                + (
                    "; more SMC particles and runs may settle it."
                    if smc
                    else "; tempered SMC can visit every mode."
                ),
                "command": _command(meta, kc["k"], draws, settings),
            }
        )
    return steps


def _command(meta, k, draws, settings):
    data = meta["name"] if meta.get("bundled") else meta["source"]
    words = ["gmm-bayes", "report", data]
    if not meta.get("bundled") and meta["column"] != "(the only column)":
        words += ["--column", meta["column"]]
    words += ["--components", str(k), "--sampler", _NEXT_SAMPLER, "--draws", str(draws)]
    words += ["--chains", str(settings.chains), "--seed", str(settings.seed)]
    words += ["--out", f"{meta['name']}_K{k}_smc"]
    return shlex.join(words)


def _preferences(attrs):
    names = [
        ("gmm_bayes EM, BIC", "preferred_em_bic"),
        ("gmm_bayes EM, ICL", "preferred_em_icl"),
        ("gmm_bayes EM, AIC", "preferred_em_aic"),
        ("scikit-learn, BIC (density likelihood)", "preferred_sklearn_bic"),
        ("PSIS-LOO elpd", "preferred_elpd_loo"),
        ("stacking weight", "preferred_stacking_weight"),
        ("p(K | y)", "preferred_p_k"),
    ]
    return [(label, attrs[key]) for label, key in names if key in attrs]


def _by_section(figs):
    """``{section: {k or None: [Figure]}}``, each list in the order given."""
    out = {}
    for f in figs:
        out.setdefault(f.section, {}).setdefault(f.k, []).append(f)
    return out


def bundled_row(ctx, description):
    """One data set's row of the bundled index, from its page context."""
    return {
        "name": ctx["name"],
        "description": description,
        "n": ctx["n"],
        "ks": ", ".join(str(kc["k"]) for kc in ctx["ks"]),
        "answer": ctx["answer"],
        "preferences": ctx["preferences"],
        "statuses": [(kc["k"], kc["css"], kc["status"].value) for kc in ctx["ks"]],
        "elapsed": ctx["elapsed"],
    }
