"""One data set's report directory, written: NetCDF posteriors, CSV tables, figures, pages.

The files are listed in :mod:`gmm_bayes.report.pipeline`; the numbers come in already computed
(:func:`gmm_bayes.report.pipeline.analyse`).
"""

from gmm_bayes.report.notebook import notebook_replay, notebook_section
from gmm_bayes.report.pages import dataset_context, k_context, render
from gmm_bayes.report.provenance import package_versions, utc_now
from gmm_bayes.report.tables import comparison_rows, estimates_rows, write_csv

__all__ = ["write_dataset", "write_figures"]


def write_dataset(directory, *, x, results, comparison, settings, meta, elapsed):
    """Write every file of one data set's report into ``directory`` (which exists).

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
    files = [p.name for p in directory.iterdir() if p.is_file()] + ["index.html", "summary.md"]
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
