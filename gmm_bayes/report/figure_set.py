"""Which figures a report holds, drawn into one folder, each with its caption and alt text.

:func:`write_figures` draws them (with :mod:`gmm_bayes.report.figures`) and returns one
:class:`Figure` record per file; the pages render those records as they come, so a caption
is written here, next to the code that decides what is drawn.
"""

from dataclasses import dataclass

import numpy as np

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
        The choice of K first, then each K's figures in the order of ``results``.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)

    figdir.mkdir(exist_ok=True)
    records = [_choice(figdir, with_tied_criteria(comparison, results))]
    for r in results:
        records += _fit_figures(figdir, x, r, column, units)
        records += _diagnostic_figures(figdir, r, column, units)
    return records


def _save(fig, figdir, name, caption, alt, k, section):
    save_png(fig, figdir / name)
    return Figure(f"{figdir.name}/{name}", caption, alt, k, section)


def save_png(fig, path):
    """Write ``fig`` as a ``DPI`` PNG of at most 256 colours (a quarter of the bytes of a
    true-colour one, the same to the eye for line art), and close it.

    Quantizing costs about 20 ms a figure; PIL's ``optimize`` (zlib at its slowest) would
    cost 200 ms more for 7% fewer bytes, so it is not used.

    Examples
    --------
    >>> import pathlib, tempfile, matplotlib.pyplot as plt
    >>> from PIL import Image
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     save_png(plt.figure(figsize=(4, 2)), pathlib.Path(folder) / "f.png")
    ...     with Image.open(pathlib.Path(folder) / "f.png") as image:
    ...         print(image.size, image.mode)
    (600, 300) P
    """
    import matplotlib.pyplot as plt
    from PIL import Image

    fig.set_dpi(DPI)
    fig.canvas.draw()
    image = Image.fromarray(np.asarray(fig.canvas.buffer_rgba())).convert("RGB")
    image.quantize(256, method=Image.Quantize.FASTOCTREE).save(path, dpi=(DPI, DPI))
    plt.close(fig)


def with_tied_criteria(comparison, results):
    """``comparison`` with the E model's ``em_tied_bic``, ``em_tied_icl`` and
    ``em_tied_degenerate`` per K, read from each result's ``"em_tied"`` fit (at K = 1 the E and
    V models are one model: its ``"em"`` fit), when every K has one and ``comparison`` has none.

    Parameters
    ----------
    comparison : xarray.Dataset
        From :func:`gmm_bayes.compare.compare_components`.
    results : list of gmm_bayes.report.pipeline.KResult

    Returns
    -------
    xarray.Dataset
    """
    fits = {r.k: r.fits.get("em_tied", r.fits["em"] if r.k == 1 else None) for r in results}
    ks = [int(k) for k in comparison["K"].values]
    if "em_tied_bic" in comparison or any(fits.get(k) is None for k in ks) or ks == [1]:
        return comparison
    return comparison.assign(
        em_tied_bic=("K", [fits[k].bic() for k in ks]),
        em_tied_icl=("K", [fits[k].icl() for k in ks]),
        em_tied_degenerate=("K", [bool(fits[k].degenerate) for k in ks]),
    )


def _choice(figdir, comparison):
    import matplotlib.pyplot as plt

    from gmm_bayes.report import figures_choice

    evidence = "p_k" in comparison
    fig, axes = plt.subplots(
        1, 3 if evidence else 2, figsize=(14 if evidence else 10, 3.6), layout="constrained"
    )
    figures_choice.plot_choice(axes, comparison)
    return _save(
        fig,
        figdir,
        "k_comparison.png",
        choice_caption(comparison),
        "Model comparison against the number of components K: elpd differences, BIC and ICL"
        + (", and p(K | y)" if evidence else "")
        + (
            f"; recommended K = {figures_choice.recommended_k(comparison)}"
            if figures_choice.recommended_k(comparison)
            else ""
        ),
        None,
        "choice",
    )


def choice_caption(comparison):
    """The caption of the K-comparison figure, saying only what :func:`plot_choice` draws."""
    from gmm_bayes.report.figures_choice import recommended_k

    failed = not comparison["trustworthy"].values.all()
    parts = [
        "Left: PSIS-LOO elpd of each K with its standard error (circles) and its difference "
        "to the best K with the standard error of that difference (grey triangles), as "
        "ArviZ's compare plot; the number above each K is its stacking weight."
        + (" Hollow grey circles: posteriors that failed their diagnostics." if failed else ""),
        "Middle: BIC (solid) and ICL (dashed) of EM's V model (one variance per component)"
        + (
            " and E model (one shared variance)"
            if "em_tied_bic" in comparison
            else "; the E model (one shared variance) was not fitted in this report"
        )
        + "; lower is better."
        + (
            " Grey rings: collapsed fits, left out of the curves."
            if _any_degenerate(comparison)
            else ""
        ),
    ]
    if "p_k" in comparison:
        parts.append("Right: p(K | y) from each K's log evidence, with its Monte Carlo se.")
    if recommended_k(comparison):
        parts.append(f"Yellow band: the recommended K = {recommended_k(comparison)}.")
    return " ".join(parts)


def _any_degenerate(comparison):
    return any(
        comparison[v].values.any()
        for v in ("em_degenerate", "em_tied_degenerate")
        if v in comparison
    )


def _fit_figures(figdir, x, r, column, units):
    import matplotlib.pyplot as plt

    from gmm_bayes.compare.figure_data import classification
    from gmm_bayes.report import figures as plots
    from gmm_bayes.report import figures_diagnostics as diagnostics

    k = r.k
    fig, ax = plt.subplots(figsize=(9, 3.8), layout="constrained")
    artists = plots.plot_data_density(ax, x, r.curves, column=column, units=units)
    spikes = [a.get_text() for a in artists if hasattr(a, "get_text")]
    records = [
        _save(
            fig,
            figdir,
            f"density_K{k}.png",
            density_caption(spikes),
            f"Histogram of the data with the fitted mixture densities for K = {k}"
            + "".join(f"; clipped {spike}" for spike in spikes),
            k,
            "fit",
        )
    ]
    fig, axes = plt.subplots(1, 3, figsize=(11, 1.3 + 0.5 * k), sharey=True, layout="constrained")
    plots.plot_forest(axes, r.estimates)
    records.append(
        _save(
            fig,
            figdir,
            f"forest_K{k}.png",
            "Each component's posterior HDI (coloured bar) and mean (black diamond), with EM's "
            "(vermilion x) and scikit-learn's (blue circle) estimates; a black ring marks an "
            "estimate outside the HDI, grey marks a collapsed component.",
            f"Forest plot of the weights, means and sds of each component, K = {k}",
            k,
            "fit",
        )
    )
    if k == 1:
        return records
    fig, ax = plt.subplots(figsize=(9, 3.2), layout="constrained")
    classes = classification(r.membership).assign_attrs(n_components=k)
    plots.plot_classification(ax, classes, column=column, units=units)
    records.append(
        _save(
            fig,
            figdir,
            f"classification_K{k}.png",
            "Classification and uncertainty (as mclust's): each observation at its value, "
            "coloured by its most probable component under the posterior mean membership, at "
            "height 1 - that probability (dots); EM's responsibilities the same way (dashes).",
            f"Most probable component and classification uncertainty of each observation, K = {k}",
            k,
            "fit",
        )
    )
    fig, ax = plt.subplots(figsize=(6.5, 3.6), layout="constrained")
    em = r.tree["em"].to_dataset() if "em" in r.tree.children else None
    diagnostics.plot_pair(ax, r.tree["posterior"].to_dataset(), em)
    records.append(
        _save(
            fig,
            figdir,
            f"pair_K{k}.png",
            "Posterior draws of each component's mean (x) and weight (y), one colour per "
            "component; separate clouds of one colour are separate modes. Black crosses: the EM "
            "maxima the chains started from.",
            f"Scatter of posterior weight against mean per component, K = {k}",
            k,
            "diagnostics",
        )
    )
    return records


def density_caption(spikes):
    """The density figure's caption; ``spikes`` are the written peak heights, if any.

    Examples
    --------
    >>> density_caption(["gmm_bayes EM peak 70.7"]).split(". ")[-1]
    'Curves above the y-axis are clipped and their peak heights written: gmm_bayes EM peak 70.7.'
    """
    text = (
        "Histogram and rug of the data; the posterior predictive density (solid black: mean "
        "of the mixture density over draws) with its pointwise band (grey), EM (dashed) and "
        "scikit-learn at its defaults (dotted); thin lines in each component's colour are the "
        "posterior's (solid) and EM's (dashed) weighted components."
    )
    if spikes:
        text += (
            " Curves above the y-axis are clipped and their peak heights written: "
            + "; ".join(spikes)
            + "."
        )
    return text


def _diagnostic_figures(figdir, r, column, units):
    """PPC and LOO-PIT (when the tree holds the pointwise groups), rank plots, and the energy
    and trace plots of a sampler with trajectories (NUTS; SMC particles have no order)."""
    from functools import partial

    from gmm_bayes.bayes.status import RANK_P_MIN
    from gmm_bayes.report import figures_diagnostics as diagnostics

    smc = r.tree.attrs.get("sampler") == "smc"
    lines = "independent SMC run" if smc else "chain"
    draws = []
    if {"posterior_predictive", "log_likelihood"} <= set(r.tree.children):
        draws += [
            (
                partial(diagnostics.plot_ppc, column=column, units=units),
                "ppc",
                "Posterior predictive check (ArviZ): kernel density estimates of "
                f"{diagnostics.PPC_SAMPLES} replicated data sets (blue) and of the data (black).",
                "Posterior predictive density check",
            ),
            (
                diagnostics.plot_loo_pit,
                "loo_pit",
                "LOO-PIT (ArviZ): difference between the ECDF of the leave-one-out PIT values "
                "and the uniform CDF; p is the uniformity test's p-value (pot_c); highlighted "
                "points are the observations driving a deviation. No envelope is drawn.",
                "LOO-PIT calibration check",
            ),
        ]
    draws.append(
        (
            diagnostics.plot_rank,
            "rank",
            f"Rank plots (as ArviZ's): for each parameter and component, one line per {lines} "
            f"({'line style' if smc else 'line style, as in the trace plot'}): the ECDF of its "
            "ranks among all draws minus the uniform CDF; p is the multi-chain uniformity "
            "test's p-value (each chain thinned to its effective sample size first), in red "
            f"below {RANK_P_MIN} (the diagnostics then report at least "
            "CAUTION).",
            f"Rank plots of each parameter and component, one line per {lines}",
        )
    )
    stats = r.tree.children.get("sample_stats")
    if not smc and stats is not None and "energy" in stats:
        draws.append(
            (
                diagnostics.plot_energy,
                "energy",
                "Energy plot (ArviZ): marginal energy and energy transition distributions with "
                "each chain's BFMI; a transition distribution much narrower than the marginal "
                "(BFMI < 0.3) means slow exploration.",
                "Energy distributions of the sampler",
            )
        )
    records = [
        _save(
            _as_figure(draw(r.tree)),
            figdir,
            f"{name}_K{r.k}.png",
            caption,
            f"{alt}, K = {r.k}",
            r.k,
            "diagnostics",
        )
        for draw, name, caption, alt in draws
    ]
    return records if smc else [*records, _trace(figdir, r)]


def _as_figure(drawn):
    """The matplotlib figure of an ``arviz_plots.PlotCollection`` or of a figure itself."""
    from matplotlib.figure import Figure

    return drawn if isinstance(drawn, Figure) else drawn.get_viz("figure")


def _trace(figdir, r):
    import matplotlib.pyplot as plt

    from gmm_bayes.report import figures_diagnostics as diagnostics

    post = r.tree["posterior"].to_dataset()
    rows = 3 if r.k > 1 else 2
    fig, axes = plt.subplots(
        rows, 1, figsize=(9, 1.3 * rows + 0.6), sharex=True, layout="constrained"
    )
    diagnostics.plot_trace(axes, post)
    return _save(
        fig,
        figdir,
        f"trace_K{r.k}.png",
        "Traces of every chain (line style) for each component (colour), thinned to at most "
        f"{diagnostics.TRACE_DRAWS} draws per chain: chains that stay apart, or components "
        "that swap, show as separated or crossing bands.",
        f"Trace plots of the parameters, K = {r.k}",
        r.k,
        "diagnostics",
    )
