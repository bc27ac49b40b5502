"""The figures of a multivariate (d >= 2) report, each with its caption and alt text.

One figure for the choice of K (PSIS-LOO beside EM's BIC per covariance type), then for each
K: each component's ellipses over the data, the classification with its uncertainty (K > 1)
and the posterior predictive check. With d > 2 the ellipses and the classification come once
per pair of columns (``_<i>_<j>`` in the file name, columns numbered from 1).
"""

from itertools import combinations

import numpy as np

from gmm_bayes.report.figure_set import Figure, save_png

__all__ = ["choice_caption_mv", "component_fits", "write_figures_mv"]


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
