"""One data set's report directory: its files, written; and which directories a report may replace.

The files are listed in :mod:`gmm_bayes.report.pipeline`; the numbers come in already computed
(:func:`gmm_bayes.report.pipeline.analyse`). Every report directory, and the parent directory
of the bundled reports, holds a marker file (``MARKER``, with the package version) by which a
later run recognizes it as its own:

- a report replaces only a directory that is missing, empty, or a previous report holding
  nothing a report does not write (by its marker; or, for reports written before the marker
  existed, by ``index.html`` and ``summary.md``);
- the bundled reports' parent may hold ``README.md`` (kept), ``index.html`` (replaced when the
  directory carries the marker or holds a bundled report beside it), the bundled data sets'
  report directories (each replaced under the same rule as one report), and nothing else.
"""

import json
import os
import re
import stat

from gmm_bayes.report.notebook import notebook_replay, notebook_section
from gmm_bayes.report.pages import dataset_context, k_context, render
from gmm_bayes.report.provenance import package_versions, utc_now
from gmm_bayes.report.tables import comparison_rows, estimates_rows, write_csv

__all__ = [
    "MARKER",
    "bundled_refusal",
    "report_refusal",
    "write_dataset",
    "write_figures",
    "write_marker",
]

#: the file that marks a directory as written by gmm_bayes (JSON: writer, version, kind)
MARKER = ".gmm_bayes-report.json"
#: the files of one report directory, besides fig/*.png and the marker
_REPORT_FILES = re.compile(
    r"index\.html|summary\.md|estimates\.csv|comparison\.csv|posterior_K\d+\.nc"
)
#: the parent of the bundled reports: kept, or replaced under the rules above
_BUNDLED_FILES = ("README.md", "index.html")
#: what a run leaves beside its targets while it runs (gmm_bayes.report.atomic)
_RUN_FILES = re.compile(r"\..+\.(lock|tmp-\d+-.*|old-\d+-.*)|\.build-\d+-.*", re.DOTALL)
#: entries named in a refusal
_SHOWN = 5


def write_marker(directory, kind):
    """Mark ``directory`` as gmm_bayes output: ``kind`` is ``"report"`` or ``"bundled"``.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     write_marker(folder, "report")
    ...     print(report_refusal(folder))
    None
    """
    version = dict(package_versions())["gmm_bayes"]
    text = json.dumps({"written_by": "gmm_bayes", "version": version, "kind": kind})
    with open(os.path.join(directory, MARKER), "w", encoding="utf-8") as fh:
        fh.write(text + "\n")


def _marked(directory, kind):
    try:
        with open(os.path.join(directory, MARKER), encoding="utf-8") as fh:
            content = json.load(fh)
    except (OSError, ValueError):
        return False
    return (
        isinstance(content, dict)
        and content.get("written_by") == "gmm_bayes"
        and (content.get("kind") == kind)
    )


def report_refusal(directory):
    """Why a report may not replace ``directory`` (an existing directory), or None if it may.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     _ = open(os.path.join(folder, "thesis.tex"), "w").write("x")
    ...     print(report_refusal(folder).split(": ", 1)[1])
    it holds thesis.tex, which a report does not write, and would be deleted; choose a new or \
empty directory, or a previous report's
    """
    entries = _entries(directory)
    if isinstance(entries, str):
        return entries
    foreign = [found for name, mode in entries.items() for found in _foreign(directory, name, mode)]
    if foreign:
        return (
            f"{directory}: it holds {_names(foreign)}, which a report does not write, and would "
            "be deleted; choose a new or empty directory, or a previous report's"
        )
    legacy = {"index.html", "summary.md"} <= set(entries)
    if entries and not (_marked(directory, "report") or legacy):
        return (
            f"{directory}: it holds {_names(list(entries))} but no {MARKER}, so it is not a "
            "gmm_bayes report and would be deleted; choose a new or empty directory"
        )
    return None


def bundled_refusal(directory, names):
    """Why the bundled reports ``names`` may not be written into ``directory``, or None.

    Parameters
    ----------
    directory : path
        The parent of the bundled reports (an existing directory).
    names : list of str
        The data sets whose report directories are replaced.
    """
    from gmm_bayes.data import DATASETS

    entries = _entries(directory)
    if isinstance(entries, str):
        return entries
    foreign = [
        name
        for name, mode in entries.items()
        if not (
            (name in _BUNDLED_FILES and stat.S_ISREG(mode))
            or (name in DATASETS and stat.S_ISDIR(mode))
            or (name == MARKER and stat.S_ISREG(mode))
            or _RUN_FILES.fullmatch(name)
        )
    ]
    if foreign:
        return (
            f"{directory}: it holds {_names(foreign)}, which the bundled reports' directory "
            "does not (only README.md, index.html and one directory per bundled data set); "
            "choose a new or empty directory, or a previous one of bundled reports"
        )
    for name in names:
        if name in entries and (reason := report_refusal(os.path.join(directory, name))):
            return reason
    reports = [
        n for n in DATASETS if n in entries and not report_refusal(os.path.join(directory, n))
    ]
    if "index.html" in entries and not (_marked(directory, "bundled") or reports):
        return (
            f"{directory}: its index.html was not written by gmm_bayes (no {MARKER} and no "
            "bundled report beside it) and would be replaced; choose a new or empty directory"
        )
    return None


def _entries(directory):
    """``{name: lstat mode}`` of a directory's entries, or the reason it cannot be read."""
    try:
        return {e.name: e.stat(follow_symlinks=False).st_mode for e in os.scandir(directory)}
    except OSError as err:
        return f"{directory}: cannot be read ({err.strerror}); choose another output directory"


def _foreign(directory, name, mode):
    """The entry ``name`` (or, in ``fig/``, its entries) unless a report writes it."""
    if name == MARKER or _REPORT_FILES.fullmatch(name):
        return [] if stat.S_ISREG(mode) else [name]
    if name != "fig" or not stat.S_ISDIR(mode):
        return [name]
    figures = _entries(os.path.join(directory, name))
    if isinstance(figures, str):
        return [name]
    return [f"fig/{n}" for n, m in figures.items() if not (n.endswith(".png") and stat.S_ISREG(m))]


def _names(names):
    shown = ", ".join(sorted(names)[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def write_dataset(directory, *, x, results, comparison, settings, meta, elapsed):
    """Write every file of one data set's report into ``directory`` (which exists).

    The marker (``MARKER``) comes last, once the pages are written.

    Parameters
    ----------
    directory : pathlib.Path
    x : ndarray, shape (N,)
    results : list of KResult
    comparison : xarray.Dataset
        From :func:`gmm_bayes.compare.compare_components`.
    settings : ReportSettings
    meta : dict
        :func:`gmm_bayes.report.provenance.source_meta`.
    elapsed : callable
        Seconds since the report started (stated on the page).

    Returns
    -------
    dict
        The pages' context (:func:`gmm_bayes.report.pages.dataset_context`).
    """
    for r in results:
        r.tree.to_netcdf(directory / f"posterior_K{r.k}.nc", engine="h5netcdf")
    write_csv(directory / "estimates.csv", estimates_rows({r.k: r.estimates for r in results}))
    write_csv(directory / "comparison.csv", comparison_rows(comparison))
    figs = write_figures(directory, x, results, comparison, meta["column"], meta["units"])
    ks = [k_context(r, comparison) for r in results]
    notebook = None
    if meta["notebook"]:
        replay = notebook_replay(x, random_state=settings.seed)
        notebook = notebook_section(replay, next((kc for kc in ks if kc["k"] == 2), None))
    files = [p.name for p in directory.iterdir() if p.is_file() and not p.name.startswith(".")]
    files += ["index.html", "summary.md"]
    ctx = dataset_context(
        meta={**meta, "notebook": notebook},
        n=int(x.size),
        ks=ks,
        comparison=comparison,
        settings=settings,
        versions=package_versions(),
        written=utc_now(),
        elapsed=f"{elapsed():.1f} s",
        figs=figs,
        files=sorted(files),
    )
    for page in ("index.html", "summary.md"):
        template = "dataset.html" if page == "index.html" else page
        (directory / page).write_text(render(template, **ctx), encoding="utf-8")
    write_marker(directory, "report")
    return ctx


def write_figures(directory, x, results, comparison, column, units):
    """Draw every figure of a report into ``directory/fig``.

    Returns
    -------
    dict of str to str
        File name -> path relative to the page.
    """
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
