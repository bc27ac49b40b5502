"""The figures of a multivariate (d >= 2) report, each with its caption and alt text.

One figure for the choice of K (PSIS-LOO beside EM's BIC per covariance type), then for each
K: each component's ellipses over the data, the classification with its uncertainty (K > 1),
the posterior predictive check, and the sampler's diagnostics: rank plots (the univariate
report's, :func:`~gmm_bayes.report.figures_diagnostics.plot_rank`, one figure per column:
the weights, that column's means and sds) and, for NUTS, ArviZ's energy plot. With d > 2 the
ellipses and the classification come once per pair of columns (``_<i>_<j>`` in the file name,
columns numbered from 1).

No trace plot: with 2d + 1 parameters per component it is a wall of lines, and what it would
show (chains apart, components swapping) the rank plots show with a test beside each panel.
"""

from itertools import combinations

import numpy as np

from gmm_bayes.report.figure_set import Figure, save_png

__all__ = [
    "choice_caption_mv",
    "column_posterior",
    "component_fits",
    "rank_figure_mv",
    "write_figures_mv",
]


def write_figures_mv(figdir, x, analysis, columns):
    """Draw every figure into ``figdir`` (created if missing).

    Parameters
    ----------
    figdir : pathlib.Path
    x : ndarray, shape (N, d)
    analysis : gmm_bayes.report.pipeline_mv.MVAnalysis
    columns : sequence of str

    Returns
    -------
    list of gmm_bayes.report.figure_set.Figure
        The choice of K first (``k`` None), then each K's figures.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    figdir.mkdir(exist_ok=True)
    records = [_choice(figdir, analysis)]
    for k in analysis.trees:
        records += _fit_figures(figdir, x, analysis, k, columns)
        if "posterior_predictive" in analysis.trees[k].children:
            records.append(_ppc(figdir, analysis.trees[k], k, columns))
        records += _diagnostic_figures(figdir, analysis.trees[k], k, columns)
    return records


def _save(fig, figdir, name, caption, alt, k, section):
    save_png(fig, figdir / name)
    return Figure(f"{figdir.name}/{name}", caption, alt, k, section)


def _choice(figdir, analysis):
    import matplotlib.pyplot as plt

    from gmm_bayes.report.figures_mv import plot_choice_mv

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    plot_choice_mv(axes, analysis.comparison, analysis.bic_by_type())
    recommended = analysis.recommended
    return _save(
        fig,
        figdir,
        "k_comparison.png",
        choice_caption_mv(analysis.comparison),
        "Model comparison against the number of components K: PSIS-LOO elpd differences, and "
        "EM's BIC per covariance type"
        + (f"; recommended K = {recommended}" if recommended else "; no K recommended"),
        None,
        "choice",
    )


def choice_caption_mv(comparison):
    """The K-comparison figure's caption, saying only what
    :func:`~gmm_bayes.report.figures_mv.plot_choice_mv` draws.

    Examples
    --------
    >>> import xarray as xr
    >>> ds = xr.Dataset({"trustworthy": ("K", [True, False])}, coords={"K": [1, 2]},
    ...                 attrs={"recommended_k": 1})
    >>> caption = choice_caption_mv(ds)
    >>> "Hollow grey" in caption, caption.endswith("the recommended K = 1.")
    (True, True)
    """
    from gmm_bayes.report.figures_choice import recommended_k

    failed = not comparison["trustworthy"].values.all()
    text = (
        "Left: PSIS-LOO elpd of each K's posterior with its standard error (circles) and its "
        "difference to the best K with the standard error of that difference (grey "
        "triangles), as ArviZ's compare plot; the number above each K is its stacking weight "
        "(over the trustworthy posteriors only)."
        + (" Hollow grey circles: posteriors that failed their diagnostics." if failed else "")
        + " Right: EM's BIC per K and covariance type (lower is better), from the best BIC up "
        "to 10% above it or to the highest ringed point (the table below has every value); "
        "the ringed point at each K is the covariance type whose posterior was sampled."
    )
    k = recommended_k(comparison)
    return text + (f" Yellow band: the recommended K = {k}." if k else "")


def component_fits(analysis, k, x):
    """Means and covariances at K of the posterior mean, EM and scikit-learn (when it fitted),
    components in the model's order.

    Returns
    -------
    dict
        Method -> ``(means (K, d), covariances (K, d, d))``.
    """
    from gmm_bayes.report.pipeline_mv import by_first_axis, posterior_summary, sklearn_covariances

    covariance_type = analysis.sampled[k]
    _, mu, cov, _ = posterior_summary(analysis.trees[k])
    em = analysis.em[covariance_type, k]
    fits = {"posterior_mean": (mu, cov), "em": (em.means, em.covariances)}
    gm = analysis.sklearn[covariance_type, k]
    if gm is not None:
        order = by_first_axis(gm.means_, x)
        fits["sklearn"] = (gm.means_[order], sklearn_covariances(gm, x.shape[1])[order])
    return fits


def _fit_figures(figdir, x, analysis, k, columns):
    import matplotlib.pyplot as plt

    from gmm_bayes.report.figures_mv import plot_ellipses, plot_uncertainty

    tree = analysis.trees[k]
    covariance_type = analysis.sampled[k]
    fits = component_fits(analysis, k, x)
    post = tree["posterior"]
    draws = [post[n].stack(sample=("chain", "draw")).transpose("sample", ...).values
             for n in ("mu", "cov")]  # fmt: skip
    membership = tree["membership"]["mean"].values
    records = []
    for i, j in combinations(range(x.shape[1]), 2):
        pair = "" if x.shape[1] == 2 else f"_{i + 1}_{j + 1}"
        names = f"{columns[i]} and {columns[j]}"
        fig, ax = plt.subplots(figsize=(6, 5), layout="constrained")
        plot_ellipses(ax, x, fits, columns=columns, pair=(i, j), draws=draws)
        records.append(
            _save(
                fig,
                figdir,
                f"ellipses_K{k}{pair}.png",
                f"K = {k} ({covariance_type} covariances): each component's 95% ellipse (one "
                "colour per component) for the posterior mean (solid; its 50% ellipse thinner), "
                "EM (dashed)"
                + (" and scikit-learn (dotted)" if "sklearn" in fits else "")
                + "; faint: 95% ellipses of posterior draws. Grey points: the data.",
                f"Scatter of {names} with each component's ellipses, K = {k}",
                k,
                "fit",
            )
        )
        if k == 1:
            continue
        fig, ax = plt.subplots(figsize=(6, 5), layout="constrained")
        plot_uncertainty(ax, x, membership, columns=columns, pair=(i, j))
        records.append(
            _save(
                fig,
                figdir,
                f"uncertainty_K{k}{pair}.png",
                "Classification by the posterior mean membership probability; point size "
                "grows with the uncertainty 1 - max_k P(component k | row), as mclust's "
                "uncertainty plot.",
                f"Most probable component and its uncertainty for each row, {names}, K = {k}",
                k,
                "fit",
            )
        )
    return records


def _ppc(figdir, tree, k, columns):
    import matplotlib.pyplot as plt

    from gmm_bayes.report.ppc_mv import plot_ppc_mv, ppc_caption, ppc_numbers

    numbers = ppc_numbers(tree)
    panels = numbers.observed.shape[1] + len(numbers.pairs)
    ncols = min(panels, 3)
    nrows = int(np.ceil(panels / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.4 * ncols, 2.8 * nrows), layout="constrained", squeeze=False
    )
    plot_ppc_mv(axes.ravel(), numbers, columns=columns)
    return _save(
        fig,
        figdir,
        f"ppc_K{k}.png",
        ppc_caption(numbers, columns),
        f"Posterior predictive check of each column's distribution and of the columns' "
        f"correlation, K = {k}",
        k,
        "diagnostics",
    )


def column_posterior(tree, j):
    """The posterior of the weights and of column ``j``'s means and sds, on (chain, draw,
    component): the univariate tree the rank plot reads.

    Examples
    --------
    >>> import xarray as xr
    >>> dims = ("chain", "draw", "component", "dim")
    >>> cov = np.full((2, 5, 1, 2, 2), [[4.0, 1.0], [1.0, 9.0]])
    >>> post = xr.Dataset({"w": (dims[:3], np.ones((2, 5, 1))),
    ...                    "mu": (dims, np.zeros((2, 5, 1, 2))),
    ...                    "cov": ((*dims, "dim_bis"), cov)})
    >>> one = column_posterior(xr.DataTree.from_dict({"posterior": post}), 1)["posterior"]
    >>> sorted(one.data_vars), float(one["sigma"].max())
    (['mu', 'sigma', 'w'], 3.0)
    """
    import xarray as xr

    post = tree["posterior"].to_dataset()
    sd = np.sqrt(post["cov"].isel(dim=j, dim_bis=j, drop=True))
    column = xr.Dataset({"w": post["w"], "mu": post["mu"].isel(dim=j, drop=True), "sigma": sd})
    return xr.DataTree.from_dict({"posterior": column})


def rank_figure_mv(tree, j, column):
    """The univariate rank plot (:func:`~gmm_bayes.report.figures_diagnostics.plot_rank`) of
    the weights and of column ``j``'s means and sds, panels titled ``mean <column> [k]`` and
    ``sd <column> [k]`` (components from 1).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from gmm_bayes.report.figures_diagnostics import plot_rank

    fig = plot_rank(column_posterior(tree, j))
    for ax in fig.axes:
        parameter, index = ax.get_title().rstrip("]").split("[")
        label = {"mu": f"mean {column}", "sigma": f"sd {column}"}.get(parameter, parameter)
        ax.set_title(f"{label} [{index}]", fontsize="small")
    return fig


def _diagnostic_figures(figdir, tree, k, columns):
    """Rank plots (one per column) and, for NUTS, the energy plot of K's posterior."""
    from gmm_bayes.bayes.status import RANK_P_MIN
    from gmm_bayes.report.figures_diagnostics import plot_energy

    smc = tree.attrs.get("sampler") == "smc"
    lines = "independent SMC run" if smc else "chain"
    weights = "the weights (the same in every column's figure), " if k > 1 else ""
    records = []
    for j, name in enumerate(columns):
        records.append(
            _save(
                rank_figure_mv(tree, j, name),
                figdir,
                f"rank_K{k}_{j + 1}.png",
                f"Rank plots of {weights}the means and the sds of {name} (one panel per "
                f"component, its colour), one line per {lines} (line style): the ECDF of its "
                "ranks among all draws minus the uniform CDF. p: the multi-chain rank "
                "uniformity test on chains thinned to their effective sample size, in red "
                f"below {RANK_P_MIN} (the diagnostics then report at least CAUTION).",
                f"Rank plots of the weights and of {name}'s means and sds per component, "
                f"one line per {lines}, K = {k}",
                k,
                "diagnostics",
            )
        )
    stats = tree.children.get("sample_stats")
    if not smc and stats is not None and "energy" in stats:
        pc = plot_energy(tree)
        records.append(
            _save(
                pc.get_viz("figure"),
                figdir,
                f"energy_K{k}.png",
                "Energy plot (ArviZ): right, the marginal energy distribution and the energy "
                "transition distribution of the NUTS draws; left, each chain's BFMI (dots) and "
                "the threshold 0.3 (dashed). A transition distribution much narrower than the "
                "marginal (BFMI < 0.3) means slow exploration.",
                f"Energy distributions of the sampler, K = {k}",
                k,
                "diagnostics",
            )
        )
    return records
