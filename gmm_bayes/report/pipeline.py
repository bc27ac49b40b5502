"""The report: fit, sample and compare every K, then write one directory atomically.

Layout of one report directory (:func:`write_report`)::

    index.html          the page (figures beside it in fig/)
    summary.md          the same numbers in Markdown
    estimates.csv       one row per (K, method, component)
    comparison.csv      one row per K
    posterior_K<k>.nc   the posterior DataTree of each K (NetCDF, reopen with xarray.open_datatree)
    fig/*.png

:func:`write_bundled` writes one such directory per bundled data set plus an ``index.html``
linking them. Every write follows :mod:`gmm_bayes.report.atomic`: the output directory is
checked (only a missing or empty one, or a previous report, is replaced:
:func:`gmm_bayes.report.files.report_refusal`) and locked before any work, and swapped in at the
end, so a failure, Ctrl-C or SIGTERM leaves the previous report byte-identical and no temporary
directory behind.

This module orchestrates: the fits and the sampling happen here (:func:`analyse`), the
statistics in :mod:`gmm_bayes.compare`, the pages in :mod:`gmm_bayes.report.pages`, the
figures in :mod:`gmm_bayes.report.figures`.
"""

import contextlib
import inspect
import logging
import shutil
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from gmm_bayes._validation import captured_warnings
from gmm_bayes.conventions import EM_RESTARTS
from gmm_bayes.report.atomic import (
    OutputError,
    atomic_directory,
    check_target,
    claimed,
    deferred_signals,
    make_temp_dir,
    remove_leftovers,
    swap_in,
)
from gmm_bayes.report.files import bundled_refusal, report_refusal, write_dataset, write_marker
from gmm_bayes.report.parallel import default_workers
from gmm_bayes.report.progress import as_progress
from gmm_bayes.report.provenance import ReportSettings, package_versions, source_meta, utc_now

__all__ = ["KResult", "analyse", "em_options", "point_fits", "write_bundled", "write_report"]


@dataclass(frozen=True)
class KResult:
    """Everything a report holds for one K.

    Attributes
    ----------
    k : int
    fits : dict of str to EMResult
        :func:`point_fits`: ``"em"``, ``"sklearn"``, ``"sklearn_from_em"`` (and ``"em_tied"``
        when EM offers the equal-variance model).
    tree : xarray.DataTree
        The posterior (:func:`gmm_bayes.sample_posterior`).
    diagnostics : gmm_bayes.bayes.Diagnostics
        The tree's ``diagnostics`` group.
    estimates, curves, membership, chain_means : xarray.Dataset
        From :mod:`gmm_bayes.compare`.
    seconds : float
        Wall time of this K's fits and sampling.
    warnings : list of str
        Warnings of the fits and the sampling worth showing on the page.
    modes : xarray.Dataset, optional
        :func:`gmm_bayes.posterior_modes` of the tree.
    evidence : gmm_bayes.bayes.Evidence, optional
        :func:`gmm_bayes.log_evidence` (``ReportSettings.evidence``).
    """

    k: int
    fits: dict
    tree: object
    diagnostics: object
    estimates: object
    curves: object
    membership: object
    chain_means: object
    seconds: float
    warnings: list
    modes: object = None
    evidence: object = None

    @property
    def em(self):
        """This package's EM fit."""
        return self.fits["em"]


def em_options(fit_em, build_model):
    """The report's EM options that both EM and the posterior's model accept:
    ``resolution="auto"``.

    :func:`gmm_bayes.sample_posterior` builds the model EM fitted (its resolution included) and
    checks it against EM (``check_model``), so the interval likelihood is used only when
    ``build_model`` takes the resolution too.

    Examples
    --------
    >>> em_options(lambda x, k, *, resolution=None: 0, lambda x, k, *, resolution=None: 0)
    {'resolution': 'auto'}
    >>> em_options(lambda x, k, *, resolution=None: 0, lambda x, k: 0)
    {}
    """
    both = (inspect.signature(f).parameters for f in (fit_em, build_model))
    return {"resolution": "auto"} if all("resolution" in p for p in both) else {}


def point_fits(x, k, seed):
    """The point estimates a report compares for one K.

    Parameters
    ----------
    x : ndarray, shape (N,)
    k : int
    seed : int
        Seed of every fit.

    Returns
    -------
    dict of str to EMResult
        ``"em"``: :func:`gmm_bayes.fit_em` with ``EM_RESTARTS`` restarts (their distinct
        local maxima spread the posterior's chains), on the data's recording grid when it has
        one (``resolution="auto"``); ``"em_tied"``: the same with one variance shared by all
        components (mclust's E model), when ``fit_em`` offers ``covariance_type``;
        ``"sklearn"``: scikit-learn at its defaults, as users run it (density likelihood);
        ``"sklearn_from_em"``: scikit-learn started from EM's estimate.

    Examples
    --------
    >>> import gmm_bayes as gb
    >>> fits = point_fits(gb.load_dataset("faithful"), 2, seed=0)
    >>> fits["em"].n_components, sorted(fits)[-2:]
    (2, ['sklearn', 'sklearn_from_em'])
    """
    from gmm_bayes.bayes import build_model
    from gmm_bayes.em import fit_em, fit_sklearn

    options = em_options(fit_em, build_model)
    em = fit_em(x, k, n_init=EM_RESTARTS, random_state=seed, **options)
    fits = {"em": em}
    if "covariance_type" in inspect.signature(fit_em).parameters and k > 1:
        fits["em_tied"] = fit_em(
            x, k, n_init=EM_RESTARTS, random_state=seed, covariance_type="tied", **options
        )
    fits["sklearn"] = fit_sklearn(x, k, random_state=seed)
    fits["sklearn_from_em"] = fit_sklearn(
        x,
        k,
        random_state=seed,
        weights_init=em.weights,
        means_init=em.means,
        precisions_init=1.0 / em.variances,
    )
    return fits


def analyse(x, settings, *, progress=None, quiet=False, label="", plan=True):
    """Fit EM and scikit-learn, sample each K once, and compare.

    Parameters
    ----------
    x : ndarray, shape (N,)
    settings : ReportSettings
    progress : Progress or callable, optional
        A :class:`~gmm_bayes.report.progress.Progress` (steps and phase times), or a callable
        given one line per step.
    quiet : bool
        Kept for callers; the sampler never draws its own progress bar.
    label : str
        Prefix of every progress line (e.g. ``"[galaxy] "``).
    plan : bool
        Add this analysis's steps to ``progress``'s total (False: the caller planned them).

    Returns
    -------
    (list of KResult, xarray.Dataset)
        Per-K results and :func:`gmm_bayes.compare.compare_components`'s table.
    """
    from gmm_bayes.compare import compare_components

    progress = as_progress(progress)
    if plan:
        progress.plan(_analysis_steps(settings))
    results = [_analyse_k(x, k, settings, progress, label) for k in settings.ks]
    progress.note(f"{label}comparing K (PSIS-LOO, stacking, BIC, AIC, ICL)")
    with progress.phase("comparison"):
        evidences = {r.k: r.evidence for r in results} if settings.evidence else None
        comparison = compare_components(
            x,
            {r.k: r.tree for r in results},
            em_fits={r.k: r.em for r in results},
            sklearn_fits={r.k: r.fits["sklearn"] for r in results},
            **({"evidences": evidences} if evidences else {}),
        )
    progress.step(f"{label}compared K (PSIS-LOO, stacking, BIC, AIC, ICL)")
    return results, comparison


#: how a progress line names each sampler setting
_SAMPLING_WORDS = {
    "auto": "nutpie sampling (tempered SMC if its chains do not mix)",
    "nutpie": "nutpie sampling",
    "pymc": "PyMC NUTS sampling",
    "smc": "tempered SMC",
}


def _analysis_steps(settings):
    """Progress steps of :func:`analyse`: one per K (two with the evidence), one comparing."""
    return len(settings.ks) * (1 + settings.evidence) + 1


def _analyse_k(x, k, settings, progress, label):
    from gmm_bayes import compare
    from gmm_bayes.bayes import Diagnostics, posterior_modes, sample_posterior

    start = time.perf_counter()
    progress.note(
        f"{label}K={k}: EM, then {_SAMPLING_WORDS[settings.sampler]} ({settings.chains} chains "
        f"x {settings.draws} draws after {settings.tune} tuning steps)"
    )
    with _page_warnings() as messages:
        with progress.phase("EM"):
            fits = point_fits(x, k, settings.seed)
            se = _standard_errors(fits["em"], x)
        with progress.phase("sampling"):
            # the page's PSIS-LOO, LOO-PIT and predictive checks need the pointwise groups,
            # which sample_posterior leaves out by default for large N x draws
            tree = sample_posterior(
                x,
                k,
                em=fits["em"],
                pointwise=True,
                draws=settings.draws,
                tune=settings.tune,
                chains=settings.chains,
                random_seed=settings.seed,
                sampler=settings.sampler,
                progressbar=False,
            )
        _split_sampling_time(tree.attrs, progress)
    with progress.phase("summaries"):
        diag = Diagnostics.from_dataset(tree["diagnostics"].to_dataset())
        est = compare.compare_estimates(
            x, fits, tree, hdi_prob=settings.hdi_prob, standard_errors=se
        )
        curves = compare.density_curves(x, est, tree, seed=settings.seed)
        member = compare.membership_table(x, tree, fits["em"], prob=settings.hdi_prob)
        modes = posterior_modes(tree, prob=settings.hdi_prob)
    seconds = time.perf_counter() - start
    progress.step(
        f"{label}K={k}: {diag.status.value} ({diag.sampler}) in {seconds:.1f} s; "
        f"{diag.n_divergent} divergences, max r_hat {diag.max_rhat:.3f}, "
        f"min ESS {diag.min_ess_bulk:.0f}"
    )
    evidence = (
        _evidence(x, k, settings, tree, fits["em"], progress, label) if settings.evidence else None
    )
    return KResult(
        k=k,
        fits=fits,
        tree=tree,
        diagnostics=diag,
        estimates=est,
        curves=curves,
        membership=member,
        chain_means=compare.chain_means(tree),
        seconds=seconds,
        warnings=messages,
        modes=modes,
        evidence=evidence,
    )


def _split_sampling_time(attrs, progress):
    """Move nutpie's compilation (``compile``) and SMC (``SMC``) out of the ``sampling`` phase,
    from the times :func:`gmm_bayes.sample_posterior` records; count compiled models."""
    compiled = attrs.get("compile_seconds", 0.0) + attrs.get("nuts_compile_seconds", 0.0)
    moved = {"compile": compiled}
    if attrs.get("sampler") == "smc":
        moved["SMC"] = attrs.get("sampling_seconds", 0.0)
    for phase, seconds in moved.items():
        progress.phases[phase] = progress.phases.get(phase, 0.0) + seconds
        progress.phases["sampling"] = progress.phases.get("sampling", 0.0) - seconds
    for hit in (attrs.get("compile_cache_hit"), attrs.get("nuts_compile_cache_hit")):
        if hit is not None:
            progress.count("models reused" if hit else "models compiled")


def _standard_errors(em, x):
    """EM's standard errors from the observed information, or None when they cannot be had
    (a collapsed component makes the information singular)."""
    try:
        return {"em": em.standard_errors(x, method="information")}
    except (ValueError, ArithmeticError, np.linalg.LinAlgError):
        return None


def _evidence(x, k, settings, tree, em, progress, label):
    """K's log evidence: the one an own-SMC posterior already holds, else ``preset="fast"``
    SMC runs on the likelihood the posterior used (the EM fit's resolution)."""
    from gmm_bayes.bayes import log_evidence
    from gmm_bayes.bayes.evidence import smc_evidence

    with progress.phase("evidence"):
        evidence = smc_evidence(tree) or log_evidence(
            x, k, resolution=em.resolution, random_seed=settings.seed, preset="fast"
        )
    progress.step(f"{label}K={k}: log evidence {evidence.log_ml:.2f} +- {evidence.se:.2f}")
    return evidence


@contextlib.contextmanager
def _page_warnings():
    """:func:`captured_warnings`, without the warnings that say nothing about this data.

    Deprecation notices of dependencies, and ArviZ's NaN r_hat of a constant (the weight when
    K = 1), are left out; PyMC's info lines ("Initializing SMC sampler...") are not printed
    between the report's progress lines.
    """
    pymc_log = logging.getLogger("pymc")
    level = pymc_log.level
    pymc_log.setLevel(max(level, logging.WARNING))
    try:
        with captured_warnings() as lines:
            for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
                warnings.filterwarnings("ignore", category=category)
            warnings.filterwarnings("ignore", category=RuntimeWarning, module="arviz")
            yield lines
    finally:
        pymc_log.setLevel(level)


# --------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------


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
    x : ndarray, shape (N,) or (N, d)
        The data (read from ``source``); with d >= 2 columns the multivariate report
        (:mod:`gmm_bayes.report.pipeline_mv`).
    out : path
        The report directory: created, or replaced when it is empty or a previous report.
    source : path
        The data file (its path and sha256 are stated on the page).
    column : str, optional
        Column name (shown escaped); the names joined by commas for several columns.
    settings : ReportSettings, optional
    name, title, units, description : str, optional
        Shown on the page; ``name == "seed_notebook"`` adds the seed notebook's replay.
    progress : Progress or callable
        A :class:`~gmm_bayes.report.progress.Progress`, or a callable given one line per step
        (``print`` by default).
    quiet : bool
        No progress lines.
    workers : int, optional
        Data sets built side by side, each in its own process
        (:mod:`~gmm_bayes.report.parallel`); default one per CPU, at most one per data set;
        1 builds them in this process. The files do not depend on it.

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    gmm_bayes.report.atomic.OutputError
        Before any work: ``out`` cannot be written, holds something other than a previous
        report, or another run is writing it.
    """
    settings = settings or ReportSettings()
    progress = as_progress(None if quiet else progress)
    meta = source_meta(
        source,
        column,
        name=name,
        title=title,
        units=units,
        description=description,
        notebook=(name == "seed_notebook"),
    )
    start = time.perf_counter()
    with atomic_directory(out, refusal=report_refusal) as tmp:
        if np.ndim(x) == 2:  # several columns: the multivariate report
            from gmm_bayes.report.pipeline_mv import build_mv

            build_mv(tmp, x, meta, settings, progress, start)
        else:
            _build_one(tmp, x, meta, settings, progress, start)
    return Path(out)


def write_bundled(out, datasets, settings, *, progress=print, quiet=False, workers=None):
    """Reports for several bundled data sets, and ``out/index.html`` linking them.

    Parameters
    ----------
    out : path
        Parent directory (e.g. ``reports``): missing, empty, or holding only ``README.md``
        (kept), ``index.html`` and the bundled data sets' report directories
        (:func:`gmm_bayes.report.files.bundled_refusal`).
    datasets : mapping of str to tuple of int
        Bundled data set name -> K values.
    settings : ReportSettings
        Everything but ``ks``.
    progress : Progress or callable
        As :func:`write_report`.
    quiet : bool
        No progress lines.
    workers : int, optional
        Data sets built side by side, each in its own process
        (:mod:`~gmm_bayes.report.parallel`); default one per CPU, at most one per data set;
        1 builds them in this process. The files do not depend on it.

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    gmm_bayes.report.atomic.OutputError
        Before any work, as :func:`write_report`.

    Every data set is built in one temporary directory inside ``out``, and all are swapped in
    together at the end: a failure or Ctrl-C leaves every previous report as it was.
    """
    progress = as_progress(None if quiet else progress)
    out = check_target(out)
    workers = default_workers(len(datasets)) if workers is None else workers
    with claimed([out / name for name in [*datasets, "index.html"]]) as interrupted:
        remove_leftovers(out, ".build-")
        reason = bundled_refusal(out, list(datasets)) if out.exists() else None
        if reason:
            raise OutputError(reason)
        start = time.perf_counter()
        stage = make_temp_dir(out, ".build-")
        try:
            _build_bundled(stage, datasets, settings, progress, start, workers)
            write_marker(out, "bundled")
            swap_in({out / name: stage / name for name in [*datasets, "index.html"]}, interrupted)
        finally:
            with deferred_signals():
                shutil.rmtree(stage, ignore_errors=True)
    progress.note(f"wrote {out}/index.html in {time.perf_counter() - start:.1f} s")
    return out


def _build_bundled(stage, datasets, settings, progress, start, workers):
    """Every data set's report (side by side in ``workers`` processes) and the index linking
    them, into ``stage``."""
    from gmm_bayes.data import MULTIVARIATE_DATASETS
    from gmm_bayes.report.pages import render
    from gmm_bayes.report.parallel import run_jobs

    progress.plan(
        sum(
            1 if name in MULTIVARIATE_DATASETS else _analysis_steps(replace(settings, ks=ks)) + 1
            for name, ks in datasets.items()
        )
        + 1
    )
    jobs = {name: (stage, name, tuple(ks), settings) for name, ks in datasets.items()}
    rows = run_jobs(_build_bundled_dataset, jobs, progress, workers=workers, setup=_worker_setup)
    rows = list(rows.values())
    with progress.phase("pages"):
        html = render(
            "index.html",
            rows=rows,
            settings=[s for s in settings.describe() if s[0] != "K compared"],
            versions=package_versions(),
            written=utc_now(),
            elapsed=f"{time.perf_counter() - start:.1f} s",
        )
        (stage / "index.html").write_text(html, encoding="utf-8")
    progress.step("wrote the index of the reports")


def _worker_setup():
    """A report worker process has about one core: nutpie gets PyTensor's cached log density
    through a Python callback instead of compiling a C callback per model
    (:mod:`gmm_bayes.bayes.model_cache`; same draws)."""
    from gmm_bayes.bayes.model_cache import set_nutpie_mode

    set_nutpie_mode("callback")


def _build_bundled_dataset(stage, name, ks, settings, *, progress):
    """One bundled data set's report, into ``stage / name``; its row of the index."""
    from gmm_bayes.data import (
        DATASETS,
        MULTIVARIATE_DATASETS,
        dataset_column,
        dataset_path,
        read_data,
    )
    from gmm_bayes.report.pages import bundled_row

    settings = replace(settings, ks=ks)
    if name in MULTIVARIATE_DATASETS:
        return _build_bundled_mv(stage, name, settings, progress)
    path, column = dataset_path(name), dataset_column(name)
    info = DATASETS[name]
    meta = source_meta(
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
    x = read_data(path, column=column)
    ctx = _build_one(stage / name, x, meta, settings, progress, planned=True)
    return bundled_row(ctx, info.description)


def _build_bundled_mv(stage, name, settings, progress):
    """A bundled multivariate data set's report; its row of the index."""
    from gmm_bayes.data import MULTIVARIATE_DATASETS, dataset_columns, dataset_path, read_data
    from gmm_bayes.report.pages_mv import index_row_mv
    from gmm_bayes.report.pipeline_mv import build_mv

    info, columns = MULTIVARIATE_DATASETS[name], list(dataset_columns(name))
    path = dataset_path(name)
    meta = source_meta(
        path,
        ",".join(columns),
        name=name,
        title=f"{name} ({', '.join(columns)}; {info.units})",
        units=info.units,
        description=info.description,
        bundled=True,
    )
    (stage / name).mkdir()
    ctx = build_mv(stage / name, read_data(path, columns=columns), meta, settings, progress,
                   time.perf_counter())  # fmt: skip
    progress.step(f"[{name}] wrote the multivariate report")
    return index_row_mv(ctx, info.description)


def _build_one(directory, x, meta, settings, progress, start=None, *, planned=False):
    start = time.perf_counter() if start is None else start
    label = f"[{meta['name']}] "
    if not planned:
        progress.plan(_analysis_steps(settings) + 1)
    progress.note(f"{label}{x.size} observations from {meta['source']}")
    results, comparison = analyse(x, settings, progress=progress, label=label, plan=False)
    progress.note(f"{label}writing figures, tables, NetCDF")
    ctx = write_dataset(
        directory,
        x=x,
        results=results,
        comparison=comparison,
        settings=settings,
        meta=meta,
        elapsed=lambda: time.perf_counter() - start,
        progress=progress,
    )
    progress.step(
        f"{label}figures, tables, NetCDF written; done in {time.perf_counter() - start:.1f} s"
    )
    return ctx
