"""The report: EM, scikit-learn and the posterior side by side, and the choice of K.

Layout of one report directory (:func:`write_report`)::

    index.html          the page (figures beside it in fig/)
    summary.md          the same numbers in Markdown
    estimates.csv       one row per (K, method, component)
    comparison.csv      one row per K
    posterior_K<k>.nc   the posterior DataTree of each K (NetCDF, reopen with xarray.open_datatree)
    fig/*.png

:func:`write_bundled` writes one such directory per bundled data set plus an ``index.html``
linking them. Every write is atomic: everything is built in a temporary directory beside the
target and swapped in at the end; a failure or Ctrl-C leaves the previous report byte-identical
and removes the temporary directory.

Statistics come from :mod:`gmm_bayes.compare` and :mod:`gmm_bayes.bayes`; this module only
orchestrates, draws (through :mod:`gmm_bayes.report.figures`) and writes. All text from data
(file and column names, values) is escaped by the jinja2 templates (autoescaping on).
"""

import contextlib
import csv
import datetime as _dt
import hashlib
import inspect
import os
import platform
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

__all__ = ["ReportSettings", "atomic_directory", "write_bundled", "write_report"]

#: packages whose versions every page states
VERSIONED = (
    "gmm_bayes",
    "numpy",
    "scipy",
    "scikit-learn",
    "pymc",
    "pytensor",
    "nutpie",
    "arviz",
    "arviz-base",
    "arviz-stats",
    "arviz-plots",
    "xarray",
    "matplotlib",
    "jinja2",
    "h5netcdf",
)


#: EM restarts of a report (their distinct local maxima spread the posterior's chains)
EM_RESTARTS = 10


@dataclass(frozen=True)
class ReportSettings:
    """What a report samples and how.

    Attributes
    ----------
    ks : tuple of int
        Numbers of components compared (each sampled once).
    draws, tune, chains : int
        Posterior draws kept per chain, tuning steps per chain, chains.
    seed : int
        Seed of EM, scikit-learn and the sampler (the whole report is reproducible from it).
    sampler : str
        ``"nutpie"`` or ``"pymc"``.
    hdi_prob : float
        Mass of every interval reported (0.94).
    """

    ks: tuple = (1, 2, 3, 4)
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    seed: int = 0
    sampler: str = "nutpie"
    hdi_prob: float = 0.94

    def describe(self):
        """The settings as (name, value) pairs for the page."""
        return [
            ("K compared", ", ".join(map(str, self.ks))),
            ("sampler", self.sampler),
            ("chains", str(self.chains)),
            ("tuning steps per chain", str(self.tune)),
            ("draws kept per chain", str(self.draws)),
            (
                "why this run length",
                f"{self.chains} x {self.draws} = {self.chains * self.draws} draws: the "
                "verdict asks for bulk and tail ESS >= 100 per chain and r_hat <= 1.01; a "
                "well-mixing posterior reaches that with room to spare, and more draws do not "
                "rescue a multimodal one. Compiling each K's model costs more than sampling it.",
            ),
            ("interval mass (HDI)", f"{self.hdi_prob:.0%}"),
            ("random seed", str(self.seed)),
            (
                "EM",
                f"gmm_bayes fit_em: k-means++ starts, n_init={EM_RESTARTS}, tol=1e-6 per "
                "observation, reg_covar = 1e-6 x robust variance; every chain starts at an EM "
                "local maximum",
            ),
            (
                "scikit-learn",
                "GaussianMixture at its defaults (k-means init, n_init=1, tol=1e-3, absolute "
                "reg_covar=1e-6), and again started from EM's estimate",
            ),
        ]


@dataclass
class _KResult:
    k: int
    em: object
    tree: object
    estimates: object
    curves: object
    membership: object
    chain_means: object
    diagnostics: dict
    seconds: float
    warnings: list = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# atomic output
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def atomic_directory(out):
    """Yield a fresh temporary directory that replaces ``out`` when the block succeeds.

    The temporary directory is created beside ``out`` (same file system, so the swap is two
    renames). If the block raises (``KeyboardInterrupt`` included) the temporary directory is
    removed and ``out`` is left exactly as it was.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = _mkdtemp(out.parent, f".{out.name}.tmp-")
    try:
        yield tmp
        _swap_in({out: tmp})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _mkdtemp(parent, prefix):
    """A temporary directory with the permissions of an ordinary ``mkdir`` (umask applied)."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)
    return tmp


def _swap_in(pairs):
    """Replace each ``target`` by ``new`` (``{target: new}``); roll back if a rename fails."""
    done = []  # (target, old or None)
    trash = []
    try:
        for target, new in pairs.items():
            old = None
            if target.exists() or target.is_symlink():
                old = target.with_name(f".{target.name}.old-{os.getpid()}-{time.monotonic_ns()}")
                target.rename(old)
            done.append((target, old))
            new.rename(target)
            if old is not None:
                trash.append(old)
    except BaseException:
        for target, old in reversed(done):
            if old is not None and old.exists():
                if target.exists():
                    _remove(target)
                old.rename(target)
        raise
    for old in trash:
        _remove(old)


def _remove(path):
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------


def sha256(path):
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package_versions():
    """``[(name, version)]`` of Python and the packages a report depends on."""
    out = [("python", platform.python_version())]
    for name in VERSIONED:
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            out.append((name, "not installed"))
    return out


def fmt(value, digits=4):
    """A number for a table: ``digits`` significant digits, ``—`` for NaN."""
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


def _quiet_progress(_):
    pass


def _sample_kwargs(settings, quiet):
    """Keyword arguments for sample_posterior, limited to those it accepts."""
    from gmm_bayes.bayes import sample_posterior

    wanted = {
        "draws": settings.draws,
        "tune": settings.tune,
        "chains": settings.chains,
        "random_seed": settings.seed,
        "sampler": settings.sampler,
    }
    params = inspect.signature(sample_posterior).parameters
    for name in ("progressbar", "progress_bar", "progress"):
        if name in params:
            wanted[name] = not quiet
            break
    if "hdi_prob" in params:
        wanted["hdi_prob"] = settings.hdi_prob
    return wanted


# --------------------------------------------------------------------------------------------
# the analysis (library calls only)
# --------------------------------------------------------------------------------------------


def analyse(x, settings, *, progress=_quiet_progress, quiet=False, label=""):
    """Fit EM and scikit-learn, sample each K once, and compare.

    Returns
    -------
    (list of _KResult, xarray.Dataset)
        Per-K results and :func:`gmm_bayes.compare.compare_components`'s table.
    """
    from gmm_bayes import compare
    from gmm_bayes.bayes import sample_posterior
    from gmm_bayes.em import fit_em

    kwargs = _sample_kwargs(settings, quiet)
    results = []
    for k in settings.ks:
        start = time.perf_counter()
        progress(
            f"{label}K={k}: EM, then {settings.sampler} sampling ({settings.chains} chains x "
            f"{settings.draws} draws after {settings.tune} tuning steps)"
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            em = fit_em(x, k, n_init=EM_RESTARTS, random_state=settings.seed)
            # the page's PSIS-LOO, LOO-PIT and predictive checks need the pointwise groups,
            # which sample_posterior leaves out by default for large N x draws
            tree = sample_posterior(x, k, em=em, pointwise=True, **kwargs)
        messages = _unique(f"{w.category.__name__}: {w.message}" for w in caught if _shown(w))
        est = compare.compare_estimates(
            x, tree, em=em, hdi_prob=settings.hdi_prob, random_state=settings.seed
        )
        messages += [m for m in est.attrs["warnings"].splitlines() if m not in messages]
        diag = compare.diagnostics(tree)
        results.append(
            _KResult(
                k=k,
                em=em,
                tree=tree,
                estimates=est,
                curves=compare.density_curves(x, est, tree, seed=settings.seed),
                membership=compare.membership_table(x, tree, em, prob=settings.hdi_prob),
                chain_means=compare.chain_means(tree),
                diagnostics=diag,
                seconds=time.perf_counter() - start,
                warnings=messages,
            )
        )
        head = diag["verdict"].split(":")[0] if ":" in diag["verdict"][:40] else "see report"
        progress(
            f"{label}K={k}: done in {results[-1].seconds:.1f} s; diagnostics {head}, "
            f"{diag['divergences']} divergences, max r_hat {diag['max_rhat']:.3f}, "
            f"min ESS {diag['min_ess_bulk']:.0f}"
        )
    progress(f"{label}comparing K (PSIS-LOO, stacking, BIC, AIC)")
    comparison = compare.compare_components(
        x,
        settings.ks,
        posteriors={r.k: r.tree for r in results},
        em_fits={r.k: r.em for r in results},
        random_state=settings.seed,
    )
    return results, comparison


def _shown(caught):
    """Whether a warning caught while fitting belongs on the page.

    Deprecation notices of dependencies, and ArviZ's NaN r_hat of a constant (the weight when
    K = 1), say nothing about this data.
    """
    if issubclass(caught.category, DeprecationWarning | PendingDeprecationWarning | FutureWarning):
        return False
    return not (issubclass(caught.category, RuntimeWarning) and "arviz" in caught.filename)


def _unique(items):
    out = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


# --------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------


def _figures(directory, x, results, comparison, *, column, units):
    """Draw every figure into ``directory/fig``; return {key: relative path}."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from gmm_bayes.report import figures as plots

    figdir = directory / "fig"
    figdir.mkdir()
    paths = {}

    def save_fig(fig, name):
        fig.savefig(figdir / name, dpi=90)
        plt.close(fig)
        paths[name] = f"fig/{name}"

    def save_pc(pc, name):
        pc.savefig(figdir / name, dpi=80)
        plt.close("all")
        paths[name] = f"fig/{name}"

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), layout="constrained")
    plots.plot_k_comparison(axes, comparison)
    save_fig(fig, "k_comparison.png")
    for r in results:
        k = r.k
        fig, ax = plt.subplots(figsize=(9, 4), layout="constrained")
        plots.plot_data_density(ax, x, r.curves, column=column, units=units)
        ax.set_title(f"K = {k}: data and fitted densities", fontsize="medium")
        save_fig(fig, f"density_K{k}.png")
        fig, axes = plt.subplots(
            1, 3, figsize=(12, 1.2 + 0.55 * k), sharey=True, layout="constrained"
        )
        plots.plot_forest(axes, r.estimates)
        save_fig(fig, f"forest_K{k}.png")
        if k > 1:
            fig, ax = plt.subplots(figsize=(11, 3.6), layout="constrained")
            plots.plot_membership(ax, r.membership, column=column, units=units)
            save_fig(fig, f"membership_K{k}.png")
        save_pc(plots.plot_ppc(r.tree), f"ppc_K{k}.png")
        save_pc(plots.plot_loo_pit(r.tree), f"loo_pit_K{k}.png")
        save_pc(plots.plot_rank(r.tree), f"rank_K{k}.png")
        save_pc(plots.plot_trace(r.tree), f"trace_K{k}.png")
    return paths


def _estimates_rows(results):
    """Rows of estimates.csv: one per (K, method, component)."""
    rows = []
    for r in results:
        df = r.estimates.to_dataframe().reset_index()
        for rec in df.to_dict("records"):
            rows.append({"K": r.k, **rec})
    return rows


def _write_csv(path, rows):
    if not rows:
        path.write_text("", encoding="utf-8")
        return
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_value(v) for k, v in row.items()})


def _csv_value(v):
    if isinstance(v, float | np.floating):
        return repr(float(v))
    if isinstance(v, bool | np.bool_):
        return str(bool(v))
    return v


def _comparison_rows(comparison):
    df = comparison.to_dataframe().reset_index()
    return df.to_dict("records")


def _status(diag, comparison_row):
    """``(css class, word)`` of one K's health."""
    if not diag["ok"]:
        return "bad", "FAILED"
    if comparison_row["pareto_k_bad"] + comparison_row["pareto_k_very_bad"] > 0:
        return "warn", "CAUTION"
    return "good", "OK"


def _k_context(r, comparison, settings):
    row = {name: comparison[name].sel(K=r.k).item() for name in comparison.data_vars}
    status, word = _status(r.diagnostics, row)
    est = r.estimates
    table = []
    for p, pname in (("w", "w (weight)"), ("mu", "mu (mean)"), ("sigma", "sigma (sd)")):
        for j in est["component"].values:
            cells = []
            for m in est["method"].values:
                v = est[p].sel({"method": m, "component": j}).item()
                inside = bool(est[f"{p}_in_hdi"].sel({"method": m, "component": j}).item())
                outside = m != "posterior_mean" and est.attrs["has_posterior"] and not inside
                cells.append({"text": fmt(v), "outside": outside})
            table.append(
                {
                    "param": pname if j == 0 else "",
                    "component": int(j),
                    "cells": cells,
                    "sd": fmt(est[f"{p}_sd"].sel(component=j).item(), 3),
                    "hdi": f"[{fmt(est[f'{p}_hdi_lower'].sel(component=j).item())}, "
                    f"{fmt(est[f'{p}_hdi_upper'].sel(component=j).item())}]",
                }
            )
    loglik = [fmt(v, 7) for v in est["log_likelihood"].values]
    converged = ["yes" if v else "NO" for v in est["converged"].values]
    chains = None
    if not r.diagnostics["ok"] or r.diagnostics.get("multimodal"):
        cm = r.chain_means
        chains = [
            {
                "chain": int(c),
                "mu": ", ".join(fmt(v) for v in cm["mu"].sel(chain=c).values),
                "w": ", ".join(fmt(v, 3) for v in cm["w"].sel(chain=c).values),
            }
            for c in cm["chain"].values
        ]
    return {
        "k": r.k,
        "status": status,
        "status_word": word,
        "verdict": r.diagnostics["verdict"],
        "verdict_head": _first_sentence(r.diagnostics["verdict"]),
        "diag": r.diagnostics,
        "row": row,
        "methods": [str(v) for v in est["method_label"].values],
        "table": table,
        "loglik": loglik,
        "converged": converged,
        "warnings": r.warnings,
        "chains": chains,
        "seconds": f"{r.seconds:.1f}",
        "em_degenerate": bool(r.em.degenerate),
    }


def _first_sentence(text):
    """The verdict's headline: up to the first full stop followed by a space."""
    head, sep, _ = str(text).partition(". ")
    return head + "." if sep else str(text)


def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("gmm_bayes.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _md_cell(text):
    """Text safe in Markdown: no raw HTML (renderers pass it through), pipes and newlines too.

    Only ``&`` and ``<`` can start markup, so ``>=`` stays readable in the plain file.
    """
    text = str(text).replace("&", "&amp;").replace("<", "&lt;")
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _md_code(text):
    text = str(text).replace("\n", " ")
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


def _markdown(ctx):
    """summary.md: the page's numbers without figures."""
    lines = [
        f"# {_md_cell(ctx['title'])}",
        "",
        f"- data: {_md_code(ctx['source'])} (sha256 `{ctx['sha256']}`), "
        f"column {_md_code(ctx['column'])}, N = {ctx['n']}",
    ]
    lines += [f"- {name}: {_md_cell(value)}" for name, value in ctx["settings"]]
    lines += [
        "- versions: " + ", ".join(f"{n} {v}" for n, v in ctx["versions"]),
        f"- written {ctx['written']} in {ctx['elapsed']}",
        "",
        "## How many components",
        "",
        _md_cell(ctx["agreement"]),
        "",
        f"_{ctx['sign_convention']}_",
        "",
        "| K | status | EM log L | EM BIC | EM AIC | sklearn BIC | elpd_loo (se) | p_loo "
        "| Pareto k > thr | stacking weight | divergences | max r_hat | min ESS bulk/tail |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for kc in ctx["ks"]:
        row = kc["row"]
        lines.append(
            f"| {kc['k']} | {kc['status_word']} | {fmt(row['em_log_likelihood'], 7)} "
            f"| {fmt(row['em_bic'], 6)} | {fmt(row['em_aic'], 6)} | {fmt(row['sklearn_bic'], 6)} "
            f"| {fmt(row['elpd_loo'], 6)} ({fmt(row['elpd_loo_se'], 3)}) | {fmt(row['p_loo'], 3)} "
            f"| {row['pareto_k_bad'] + row['pareto_k_very_bad']} "
            f"| {row['stacking_weight']:.2f} | {row['divergences']} "
            f"| {row['max_rhat']:.3f} | {row['min_ess_bulk']:.0f} / {row['min_ess_tail']:.0f} |"
        )
    if ctx.get("notebook"):
        nb = ctx["notebook"]
        lines += [
            "",
            "## The seed notebook, replayed",
            "",
            "| fit | weights | means | sigmas | log L (raw data) | iterations | converged |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in nb["rows"]:
            lines.append(
                f"| {_md_cell(row['label'])} | {row['weights']} | {row['means']} "
                f"| {row['sigmas']} | {row['log_likelihood']} | {row['n_iter']} "
                f"| {row['converged']} |"
            )
        lines += ["", "The notebook's slips, and what the package does instead:", ""]
        lines += [f"- **It {_md_cell(s)}.** {_md_cell(fix)}" for s, fix in nb["slips"]]
        lines += ["", f"`m_step` given densities says: {_md_code(nb['m_step_message'])}"]
    for kc in ctx["ks"]:
        lines += [
            "",
            f"## K = {kc['k']}: {kc['status_word']}",
            "",
            f"Diagnostics: {_md_cell(kc['verdict'])}",
            "",
        ]
        if kc["status"] == "bad":
            lines += [
                "**Do not read the posterior columns as answers:** the chains disagree or did "
                "not mix, so the posterior mean, sd and HDI average over different solutions.",
                "",
            ]
        if kc["chains"]:
            lines += ["| chain | mean of mu per component | mean of w per component |"]
            lines += ["|---|---|---|"]
            lines += [f"| {c['chain']} | {c['mu']} | {c['w']} |" for c in kc["chains"]]
            lines += [""]
        lines += [
            "| parameter | component | "
            + " | ".join(map(_md_cell, kc["methods"]))
            + " | posterior sd | HDI |",
            "|---|---|" + "---|" * (len(kc["methods"]) + 2),
        ]
        for t in kc["table"]:
            cells = " | ".join(
                c["text"] + (" (outside HDI)" if c["outside"] else "") for c in t["cells"]
            )
            lines.append(f"| {t['param']} | {t['component']} | {cells} | {t['sd']} | {t['hdi']} |")
        lines.append("| log L | | " + " | ".join(kc["loglik"]) + " | | |")
        if kc["warnings"]:
            lines += ["", "Warnings:", ""] + [f"- {_md_cell(w)}" for w in kc["warnings"]]
    lines.append("")
    return "\n".join(lines)


def _render_dataset(directory, *, x, results, comparison, settings, meta, elapsed):
    """Write every file of one data set's report into ``directory`` (which exists)."""
    from gmm_bayes.compare import SIGN_CONVENTION, notebook_replay

    for r in results:
        r.tree.to_netcdf(directory / f"posterior_K{r.k}.nc", engine="h5netcdf")
    _write_csv(directory / "estimates.csv", _estimates_rows(results))
    _write_csv(directory / "comparison.csv", _comparison_rows(comparison))
    figs = _figures(directory, x, results, comparison, column=meta["column"], units=meta["units"])
    ks = [_k_context(r, comparison, settings) for r in results]
    notebook = None
    if meta.get("notebook"):
        nb = notebook_replay(x, random_state=settings.seed)
        notebook = {
            **nb,
            "rows": [
                {
                    **row,
                    "weights": ", ".join(fmt(v, 3) for v in row["weights"]),
                    "means": ", ".join(fmt(v, 5) for v in row["means"]),
                    "sigmas": ", ".join(fmt(v, 4) for v in row["sigmas"]),
                    "log_likelihood": fmt(row["log_likelihood"], 7),
                    "converged": "yes" if row["converged"] else "NO",
                }
                for row in nb["rows"]
            ],
            "history": ", ".join(fmt(v, 7) for v in nb["history"]),
            "shift": fmt(nb["normalization"][0], 6),
            "scale": fmt(nb["normalization"][1], 6),
            "posterior": next((kc for kc in ks if kc["k"] == 2), None),
        }
    preferred = comparison.attrs["preferred_elpd_loo"]
    ctx = {
        **meta,
        "n": int(x.size),
        "settings": settings.describe(),
        "versions": package_versions(),
        "written": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "elapsed": f"{elapsed():.1f} s",
        "agreement": comparison.attrs["agreement"],
        "criteria_agree": bool(comparison.attrs["criteria_agree"]),
        "glance": (
            "good"
            if comparison.attrs["criteria_agree"] and all(kc["status"] == "good" for kc in ks)
            else "warn"
        ),
        "preferences": [
            ("gmm_bayes EM, BIC", comparison.attrs["preferred_em_bic"]),
            ("gmm_bayes EM, AIC", comparison.attrs["preferred_em_aic"]),
            ("scikit-learn, BIC", comparison.attrs["preferred_sklearn_bic"]),
            ("PSIS-LOO elpd", comparison.attrs["preferred_elpd_loo"]),
            ("stacking weight", comparison.attrs["preferred_stacking_weight"]),
        ],
        "sign_convention": SIGN_CONVENTION,
        "preferred": preferred,
        "ks": ks,
        "figs": figs,
        "notebook": notebook,
        "files": sorted(
            [p.name for p in directory.iterdir() if p.is_file()] + ["index.html", "summary.md"]
        ),
    }
    env = _environment()
    (directory / "index.html").write_text(
        env.get_template("dataset.html").render(**ctx), encoding="utf-8"
    )
    (directory / "summary.md").write_text(_markdown(ctx), encoding="utf-8")
    return ctx


def _meta(
    source,
    column,
    *,
    name=None,
    title=None,
    units=None,
    description=None,
    notebook=False,
    bundled=False,
):
    source = Path(source)
    return {
        "name": name or source.stem,
        "title": title or f"{name or source.stem}: {column or 'value'}",
        "source": str(source),
        "sha256": sha256(source),
        "column": column or "(the only column)",
        "units": units,
        "description": description,
        "notebook": notebook,
        "bundled": bundled,
    }


def write_report(
    x,
    out,
    *,
    source,
    column=None,
    settings=None,
    name=None,
    title=None,
    units=None,
    description=None,
    progress=print,
    quiet=False,
):
    """Write one data set's report into ``out``, replacing it atomically.

    Parameters
    ----------
    x : ndarray, shape (N,)
        The data (read from ``source``).
    out : path
        The report directory (created or replaced).
    source : path
        The data file (its path and sha256 are stated on the page).
    column : str, optional
        Column name (shown escaped).
    settings : ReportSettings, optional
    name, title, units, description : str, optional
        Shown on the page; ``name == "seed_notebook"`` adds the seed notebook's replay.
    progress : callable
        Called with one line per step (``print`` by default).
    quiet : bool
        No progress lines and no sampler progress bar.

    Returns
    -------
    pathlib.Path
        ``out``.
    """
    settings = settings or ReportSettings()
    progress = _quiet_progress if quiet else progress
    meta = _meta(
        source,
        column,
        name=name,
        title=title,
        units=units,
        description=description,
        notebook=(name == "seed_notebook"),
    )
    start = time.perf_counter()
    with atomic_directory(out) as tmp:
        _build_one(tmp, x, meta, settings, progress, quiet, start)
    return Path(out)


def _build_one(directory, x, meta, settings, progress, quiet, start=None):
    start = time.perf_counter() if start is None else start
    label = f"[{meta['name']}] "
    progress(f"{label}{x.size} observations from {meta['source']}")
    results, comparison = analyse(x, settings, progress=progress, quiet=quiet, label=label)
    progress(f"{label}writing figures, tables, NetCDF")
    ctx = _render_dataset(
        directory,
        x=x,
        results=results,
        comparison=comparison,
        settings=settings,
        meta=meta,
        elapsed=lambda: time.perf_counter() - start,
    )
    progress(f"{label}done in {time.perf_counter() - start:.1f} s")
    return ctx


def _caveats(ctx):
    """Why the preferred K should not be taken at face value, as short phrases."""
    chosen = next(kc for kc in ctx["ks"] if kc["k"] == ctx["preferred"])
    out = []
    if chosen["status"] != "good":
        out.append(f"posterior for K={chosen['k']}: {chosen['status_word']}")
    if chosen["em_degenerate"]:
        out.append(f"EM for K={chosen['k']}: a component collapsed")
    return out


def write_bundled(out, datasets, settings, *, progress=print, quiet=False):
    """Reports for several bundled data sets, and ``out/index.html`` linking them.

    Parameters
    ----------
    out : path
        Parent directory (e.g. ``reports``); other files in it (``README.md``) are kept.
    datasets : mapping of str to tuple of int
        Bundled data set name -> K values.
    settings : ReportSettings
        Everything but ``ks``.

    Every data set is built in one temporary directory inside ``out``, and all are swapped in
    together at the end: a failure or Ctrl-C leaves every previous report as it was.
    """
    from dataclasses import replace

    from gmm_bayes.data import DATASETS, dataset_column, dataset_path, read_data

    progress = _quiet_progress if quiet else progress
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    stage = _mkdtemp(out, ".build-")
    try:
        rows = []
        for name, ks in datasets.items():
            path, column = dataset_path(name), dataset_column(name)
            x = read_data(path, column=column)
            info = DATASETS[name]
            meta = _meta(
                path,
                column,
                name=name,
                title=f"{name} ({column}, {info.units})",
                units=info.units,
                description=info.description,
                notebook=(name == "seed_notebook"),
                bundled=True,
            )
            (stage / name).mkdir()
            ctx = _build_one(
                stage / name, x, meta, replace(settings, ks=tuple(ks)), progress, quiet
            )
            rows.append(
                {
                    "name": name,
                    "description": info.description,
                    "n": ctx["n"],
                    "ks": ", ".join(map(str, ks)),
                    "preferences": ctx["preferences"],
                    "agree": ctx["criteria_agree"],
                    "caveats": _caveats(ctx),
                    "statuses": [(kc["k"], kc["status"], kc["status_word"]) for kc in ctx["ks"]],
                    "elapsed": ctx["elapsed"],
                }
            )
        html = (
            _environment()
            .get_template("index.html")
            .render(
                rows=rows,
                settings=[s for s in settings.describe() if s[0] != "K compared"],
                versions=package_versions(),
                written=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
                elapsed=f"{time.perf_counter() - start:.1f} s",
            )
        )
        (stage / "index.html").write_text(html, encoding="utf-8")
        _swap_in({out / name: stage / name for name in [*datasets, "index.html"]})
        progress(f"wrote {out}/index.html in {time.perf_counter() - start:.1f} s")
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return out
