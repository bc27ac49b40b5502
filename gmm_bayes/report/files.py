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

from gmm_bayes.report.figure_set import write_figures
from gmm_bayes.report.methods import methods_paragraph
from gmm_bayes.report.notebook import notebook_replay, notebook_section
from gmm_bayes.report.pages import dataset_context, k_context, render
from gmm_bayes.report.progress import as_progress
from gmm_bayes.report.provenance import package_versions, utc_now
from gmm_bayes.report.tables import ESTIMATE_COLUMNS, comparison_rows, estimates_rows, write_csv

__all__ = [
    "MARKER",
    "bundled_refusal",
    "data_notes",
    "data_resolution",
    "netcdf_tree",
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


def write_dataset(directory, *, x, results, comparison, settings, meta, elapsed, progress=None):
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
        ``full_netcdf`` decides what the NetCDF files keep (:func:`netcdf_tree`).
    meta : dict
        :func:`gmm_bayes.report.provenance.source_meta`.
    elapsed : callable
        Seconds since the report started (stated on the page).
    progress : gmm_bayes.report.progress.Progress, optional
        Times the phases (NetCDF, figures, pages).

    Returns
    -------
    dict
        The pages' context (:func:`gmm_bayes.report.pages.dataset_context`).
    """
    progress = as_progress(progress)
    with progress.phase("NetCDF"):
        for r in results:
            tree, encoding = netcdf_tree(r.tree, full=settings.full_netcdf)
            tree.to_netcdf(directory / f"posterior_K{r.k}.nc", engine="h5netcdf", encoding=encoding)
    with progress.phase("figures"):
        figs = write_figures(
            directory / "fig", x, results, comparison, column=meta["column"], units=meta["units"]
        )
    with progress.phase("pages"):
        write_csv(
            directory / "estimates.csv", estimates_rows(results, comparison), ESTIMATE_COLUMNS
        )
        write_csv(directory / "comparison.csv", comparison_rows(comparison))
        ctx = _pages_context(directory, x, results, comparison, settings, meta, elapsed, figs)
        for page in ("index.html", "summary.md"):
            template = "dataset.html" if page == "index.html" else page
            (directory / page).write_text(render(template, **ctx), encoding="utf-8")
    write_marker(directory, "report")
    return ctx


def _pages_context(directory, x, results, comparison, settings, meta, elapsed, figs):
    from gmm_bayes.bayes import Priors

    recommended = int(comparison.attrs["recommended_k"])
    ks = [k_context(r, comparison, units=meta["units"], recommended=recommended) for r in results]
    notebook = None
    if meta["notebook"]:
        replay = notebook_replay(x, random_state=settings.seed)
        notebook = notebook_section(replay, next((kc for kc in ks if kc["k"] == 2), None))
    files = [p.name for p in directory.iterdir() if p.is_file() and not p.name.startswith(".")]
    files += ["index.html", "summary.md"]
    versions = package_versions()
    resolution = data_resolution(results)
    methods = methods_paragraph(
        x,
        settings,
        versions=versions,
        priors=Priors().resolve(x, max(settings.ks)),
        resolution=resolution,
        units=meta["units"],
    )
    return dataset_context(
        meta={**meta, "notebook": notebook},
        n=int(x.size),
        ks=ks,
        comparison=comparison,
        settings=settings,
        versions=versions,
        written=utc_now(),
        elapsed=f"{elapsed():.1f} s",
        figs=figs,
        files=sorted(files),
        methods=methods,
        data_notes=data_notes(x, results, meta["units"]),
    )


def data_resolution(results):
    """The recording resolution EM's interval likelihood used (None: the density)."""
    return getattr(results[0].em, "resolution", None) if results else None


def data_notes(x, results, units=None):
    """What the data's recording means for the fits, for the top of the page.

    Parameters
    ----------
    x : ndarray, shape (N,)
    results : list of KResult
    units : str, optional

    Returns
    -------
    list of str
        A sentence when the values lie on a recording grid (saying whether EM and the
        posterior used the interval likelihood), and one naming the heaps.

    Examples
    --------
    >>> import numpy as np
    >>> data_notes(np.array([1.0, 2.0, 2.0, 3.0, 5.0, 5.0, 5.0, 6.0, 8.0]), [], "min")[0][:44]
    'These values are recorded on a grid of 1 min'
    """
    from gmm_bayes.em.resolution import detect_resolution

    found = detect_resolution(x)
    used = data_resolution(results)
    unit = f" {units}" if units and units != "none" else ""
    notes = []
    if used:
        notes.append(
            f"These values are recorded on a grid of {used:.4g}{unit}: EM, its BIC and the "
            "posterior use the probability of each value's rounding interval (a bounded "
            "likelihood); scikit-learn's columns use the density likelihood, which ties can "
            "make unbounded."
        )
    elif found.width:
        notes.append(
            f"These values are recorded on a grid of {found.width:.4g}{unit}; this report's "
            "likelihoods (EM, the posterior and scikit-learn) are densities, which tied values "
            "can make unbounded: a component narrower than the grid describes ties, not a "
            "cluster."
        )
    if found.heaps:
        heaps = ", ".join(
            f"{value:g}{unit} ({count} times)"
            for value, count in zip(found.heaps, found.heap_counts, strict=True)
        )
        notes.append(
            f"Heaps: {heaps}, recorded far more often than their grid neighbours; a narrow "
            "component there describes the heap, not a cluster."
        )
    return notes


def netcdf_tree(tree, *, full=False):
    """The posterior tree as a report stores it, with its NetCDF encoding.

    Parameters
    ----------
    tree : xarray.DataTree
        From :func:`gmm_bayes.sample_posterior`.
    full : bool
        Keep every group at full precision (still compressed).

    Returns
    -------
    (xarray.DataTree, dict)
        By default the pointwise log-likelihood and the posterior predictive draws (N numbers
        per draw, recomputable from the draws and the data:
        ``gmm_bayes.bayes.pointwise.log_likelihood_group``) are left out, and sampler
        statistics and membership probabilities are stored as float32; the draws, EM and the
        diagnostics keep float64. The root attribute ``stored`` says which. Every variable is
        zlib-compressed.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> post = xr.Dataset({"mu": (("chain", "draw"), np.zeros((2, 3)))})
    >>> tree = xr.DataTree.from_dict({"posterior": post, "log_likelihood": post})
    >>> small, encoding = netcdf_tree(tree)
    >>> sorted(small.children), encoding["/posterior"]["mu"]["zlib"]
    (['posterior'], True)
    """
    import xarray as xr

    groups = {}
    for node in tree.subtree:
        name = node.path
        if not full and name.strip("/") in _RECOMPUTABLE:
            continue
        ds = node.to_dataset(inherit=False)
        if not full and name.strip("/") in _SINGLE_PRECISION:
            ds = ds.map(_as_float32, keep_attrs=True)
        groups[name] = ds
    small = xr.DataTree.from_dict(groups)
    small.attrs = {
        **tree.attrs,
        "stored": "every group" if full else f"all but {', '.join(_RECOMPUTABLE)} (recomputable)",
    }
    encoding = {
        node.path: {
            v: {"zlib": True, "complevel": 4} for v in node.to_dataset(inherit=False).data_vars
        }
        for node in small.subtree
    }
    return small, encoding


#: groups a compact NetCDF leaves out: recomputable from the draws and the data
_RECOMPUTABLE = ("log_likelihood", "posterior_predictive")
#: groups a compact NetCDF stores in float32 (sampler statistics, membership probabilities)
_SINGLE_PRECISION = ("sample_stats", "membership")


def _as_float32(da):
    return da.astype("float32") if da.dtype == "float64" else da
