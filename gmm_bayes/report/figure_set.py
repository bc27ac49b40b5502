"""Which figures a report holds, drawn into one folder, each with its caption and alt text.

:func:`write_figures` draws them (with :mod:`gmm_bayes.report.figures`) and returns one
:class:`Figure` record per file; the pages render those records as they come, so a caption
is written here, next to the code that decides what is drawn.
"""

from dataclasses import dataclass

__all__ = ["DPI", "Figure", "write_figures"]

#: resolution of every PNG
DPI = 150
SECTIONS = ("choice", "fit", "diagnostics")


@dataclass(frozen=True)
class Figure:
    """One figure file of a report.

    Attributes
    ----------
    file : str
        Path relative to the page, e.g. ``"fig/density_K3.png"``.
    caption : str
        Plain text: what is drawn and how to read it.
    alt : str
        Plain text for screen readers: what the figure shows.
    k : int or None
        The number of components, or None for a figure of the whole data set.
    section : str
        ``"choice"`` (how many components), ``"fit"`` or ``"diagnostics"``.
    """

    file: str
    caption: str
    alt: str
    k: int | None
    section: str

    def __post_init__(self):
        if self.section not in SECTIONS:
            raise ValueError(f"section={self.section!r}; use one of {SECTIONS}")


def write_figures(figdir, x, results, comparison, *, column=None, units=None):
    """Draw every figure of a report into ``figdir`` (created if missing).

    Parameters
    ----------
    figdir : pathlib.Path
        The figures' folder, beside the page (its name prefixes :attr:`Figure.file`).
    x : ndarray, shape (N,)
        The data.
    results : list of gmm_bayes.report.pipeline.KResult
    comparison : xarray.Dataset
        From :func:`gmm_bayes.compare.compare_components`.
    column, units : str, optional
        The data's axis label.

    Returns
    -------
    list of Figure
        Data-set figures first, then each K's in the order of ``results``.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from gmm_bayes.report import figures as plots

    figdir.mkdir(exist_ok=True)
    records = []

    def save(fig, name, caption, alt, k, section):
        fig.savefig(figdir / name, dpi=DPI)
        plt.close(fig)
        records.append(Figure(f"{figdir.name}/{name}", caption, alt, k, section))

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), layout="constrained")
    plots.plot_k_comparison(axes, comparison)
    save(
        fig,
        "k_comparison.png",
        "Left: PSIS-LOO elpd with ±1 standard error (higher is better; circled points failed "
        "their diagnostics). Right: BIC of this package's EM and of scikit-learn, and EM's AIC "
        "(lower is better). Dotted lines mark LOO's and BIC's choices.",
        "elpd_loo and information criteria against the number of components K",
        None,
        "choice",
    )
    for r in results:
        k = r.k
        fig, ax = plt.subplots(figsize=(9, 4), layout="constrained")
        plots.plot_data_density(ax, x, r.curves, column=column, units=units)
        ax.set_title(f"K = {k}: data and fitted densities", fontsize="medium")
        save(
            fig,
            f"density_K{k}.png",
            "Histogram and rug of the data; EM, scikit-learn (defaults) and the posterior "
            "predictive density (mean of the mixture density over draws) with its pointwise "
            "band; thin lines are the weighted components.",
            f"Histogram of the data with the fitted mixture densities for K = {k}",
            k,
            "fit",
        )
        fig, axes = plt.subplots(
            1, 3, figsize=(12, 1.2 + 0.55 * k), sharey=True, layout="constrained"
        )
        plots.plot_forest(axes, r.estimates)
        save(
            fig,
            f"forest_K{k}.png",
            "Posterior mean and HDI of each parameter, with EM's and scikit-learn's estimates "
            "on the same axes.",
            f"Forest plot of weights, means and sds of the {k} components",
            k,
            "fit",
        )
        if k > 1:
            fig, ax = plt.subplots(figsize=(11, 3.6), layout="constrained")
            plots.plot_membership(ax, r.membership, column=column, units=units)
            save(
                fig,
                f"membership_K{k}.png",
                "Probability that each observation belongs to each component: posterior mean "
                "with its interval (points and vertical segments), EM's responsibilities "
                "(horizontal dashes).",
                f"Membership probability of each observation in each of {k} components",
                k,
                "fit",
            )
        for draw, name, caption, alt in (
            (
                plots.plot_ppc,
                "ppc",
                "Posterior predictive check: replicated data sets against the data.",
                "Posterior predictive check",
            ),
            (
                plots.plot_loo_pit,
                "loo_pit",
                "LOO-PIT: the ECDF difference of the leave-one-out probability integral "
                "transforms; a calibrated model stays near 0.",
                "LOO-PIT calibration check",
            ),
            (
                plots.plot_rank,
                "rank",
                "Rank plots: one line per chain; lines far from 0 mean the chains explored "
                "different regions.",
                "Rank plots of each parameter per chain",
            ),
            (
                plots.plot_trace,
                "trace",
                "Marginal posteriors and traces per chain.",
                "Marginal posterior densities and traces of each chain",
            ),
        ):
            figure = draw(r.tree).get_viz("figure")
            save(figure, f"{name}_K{k}.png", caption, f"{alt}, K = {k}", k, "diagnostics")
    return records
