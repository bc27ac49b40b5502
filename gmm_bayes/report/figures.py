"""Figures of the report. Each function draws numbers prepared elsewhere; none computes statistics.

Functions that draw on one set of axes take ``ax`` and return the artists they made (pyhf
style); the ArviZ diagnostics return an ``arviz_plots.PlotCollection`` (``.savefig(path)``).
Text that comes from data (column names, units) goes through :func:`plain_text`, so ``$``,
``_`` and ``\\`` in a column name are shown as typed instead of being parsed as mathtext.
"""

import numpy as np

from gmm_bayes.conventions import PARAMS

__all__ = [
    "plain_text",
    "plot_data_density",
    "plot_forest",
    "plot_k_comparison",
    "plot_loo_pit",
    "plot_membership",
    "plot_ppc",
    "plot_rank",
    "plot_trace",
]

#: one colour per method, the same in every figure
COLORS = {
    "em": "#d62728",
    "sklearn": "#1f77b4",
    "sklearn_from_em": "#17becf",
    "posterior_mean": "#2ca02c",
}
MARKERS = {"em": "x", "sklearn": "o", "sklearn_from_em": "+", "posterior_mean": "D"}
#: passed explicitly: a tree read back from NetCDF may carry ``sample_dims`` as a JSON string
SAMPLE_DIMS = ["chain", "draw"]
LINESTYLES = {"em": "-", "sklearn": "--", "sklearn_from_em": ":", "posterior_mean": "-"}


def plain_text(text):
    """``text`` made safe for matplotlib: every ``$`` escaped, so mathtext is never triggered.

    Without a ``$`` pair matplotlib draws ``_`` and ``\\`` literally, so escaping ``$`` alone is
    enough for labels taken from data.
    """
    return str(text).replace("$", r"\$")


def _axis_label(column, units):
    label = plain_text(column or "value")
    if units and units != "none":
        label += f" [{plain_text(units)}]"
    return label


def plot_data_density(ax, x, curves, *, column=None, units=None, methods=None):
    """Histogram and rug of the data with the fitted mixture densities.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    x : ndarray, shape (N,)
        The data.
    curves : xarray.Dataset
        From :func:`gmm_bayes.compare.density_curves`.
    column, units : str, optional
        Axis label (shown literally).
    methods : sequence of str, optional
        Which methods to draw (default: EM, scikit-learn at its defaults, posterior).

    Returns
    -------
    list of matplotlib artists
    """
    methods = methods or ("em", "sklearn", "posterior_mean")
    artists = []
    n = x.size
    bins = int(np.clip(np.ceil(1.5 * np.sqrt(n)), 8, 60))
    artists.append(
        ax.hist(x, bins=bins, density=True, color="0.85", edgecolor="0.6", label=f"data (N={n})")[2]
    )
    rug_y = np.full(n, -0.02)
    artists.append(
        ax.plot(
            x,
            rug_y,
            "|",
            color="0.2",
            markersize=8,
            transform=ax.get_xaxis_transform(),
            clip_on=False,
        )[0]
    )
    grid = curves["x"].values
    if "posterior_mean" in methods and np.isfinite(curves["band_lower"].values).all():
        artists.append(
            ax.fill_between(
                grid,
                curves["band_lower"].values,
                curves["band_upper"].values,
                color=COLORS["posterior_mean"],
                alpha=0.2,
                lw=0,
                label=f"posterior {curves.attrs['hdi_prob']:.0%} pointwise band",
            )
        )
    for m in methods:
        dens = curves["density"].sel({"method": m}).values
        if not np.isfinite(dens).all():
            continue
        label = str(curves["method_label"].sel({"method": m}).values)
        if m == "posterior_mean":
            label = "posterior predictive density"
        artists.append(ax.plot(grid, dens, LINESTYLES[m], color=COLORS[m], lw=2, label=label)[0])
        comp = curves["component_density"].sel({"method": m}).values
        for j, row in enumerate(comp):
            artists.append(
                ax.plot(
                    grid,
                    row,
                    LINESTYLES[m],
                    color=COLORS[m],
                    lw=0.8,
                    alpha=0.7,
                    label="components (thin lines)" if (m == methods[0] and j == 0) else None,
                )[0]
            )
    ax.set_xlabel(_axis_label(column, units))
    ax.set_ylabel("density")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize="small", frameon=False)
    return artists


def plot_forest(axes, estimates):
    """Posterior mean and HDI of w, mu, sigma per component, with EM and scikit-learn marked.

    Parameters
    ----------
    axes : sequence of three matplotlib.axes.Axes
        One per parameter (w, mu, sigma): each has its own scale.
    estimates : xarray.Dataset
        From :func:`gmm_bayes.compare.compare_estimates`.

    Returns
    -------
    list of matplotlib artists
    """
    artists = []
    k = estimates.sizes["component"]
    ypos = np.arange(k)[::-1].astype(float)
    offsets = {"em": 0.18, "sklearn": -0.18, "sklearn_from_em": -0.3, "posterior_mean": 0.0}
    prob = estimates.attrs["hdi_prob"]
    for ax, p, title in zip(axes, PARAMS, ("weight w", "mean mu", "sd sigma"), strict=True):
        lo = estimates[f"{p}_hdi_lower"].values
        hi = estimates[f"{p}_hdi_upper"].values
        if np.isfinite(lo).all():
            artists.append(
                ax.hlines(
                    ypos,
                    lo,
                    hi,
                    color=COLORS["posterior_mean"],
                    lw=3,
                    alpha=0.6,
                    label=f"posterior {prob:.0%} HDI",
                )
            )
        for m in estimates["method"].values:
            vals = estimates[p].sel({"method": m}).values
            if not np.isfinite(vals).all():
                continue
            inside = estimates[f"{p}_in_hdi"].sel({"method": m}).values
            marker = MARKERS[m]
            style = (
                {"facecolors": "none", "edgecolors": COLORS[m]}
                if marker == "o"
                else {"color": COLORS[m]}
            )
            artists.append(
                ax.scatter(
                    vals,
                    ypos + offsets[m],
                    marker=marker,
                    s=45,
                    linewidths=1.5,
                    zorder=3,
                    label=str(estimates["method_label"].sel({"method": m}).values),
                    **style,
                )
            )
            for y, v, ok in zip(ypos + offsets[m], vals, inside, strict=True):
                if m != "posterior_mean" and np.isfinite(lo).all() and not ok:
                    ax.annotate(
                        "outside HDI",
                        (v, y),
                        fontsize=7,
                        color=COLORS[m],
                        xytext=(4, 3),
                        textcoords="offset points",
                    )
        ax.set_yticks(ypos, [f"component {j}" for j in range(k)])
        ax.set_title(title, fontsize="medium")
        ax.set_ylim(-0.6, k - 0.4)
        ax.grid(axis="x", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    axes[0].figure.legend(
        handles,
        labels,
        loc="outside lower center",
        ncol=len(labels),
        fontsize="small",
        frameon=False,
    )
    return artists


def plot_membership(ax, membership, *, column=None, units=None):
    """Posterior membership probability of each observation, with EM's responsibilities.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    membership : xarray.Dataset
        On dims (obs, component), coordinate ``x`` on ``obs``: ``mean``, ``lower``, ``upper``
        (posterior mean and interval of each observation's responsibility) and ``em``
        (EM's responsibilities).

    Returns
    -------
    list of matplotlib artists
    """
    import matplotlib as mpl
    from matplotlib.lines import Line2D

    artists = []
    order = np.argsort(membership["x"].values, kind="stable")
    xs = membership["x"].values[order]
    k = membership.sizes["component"]
    cmap = mpl.colormaps["tab10"]
    handles = []
    for j in range(k):
        color = cmap(j % 10)
        mean = membership["mean"].isel(component=j).values[order]
        lo = membership["lower"].isel(component=j).values[order]
        hi = membership["upper"].isel(component=j).values[order]
        # the mean of a skewed probability can lie outside its equal-tailed interval: draw the
        # interval as a segment and the mean as a point rather than as asymmetric error bars
        artists.append(ax.vlines(xs, lo, hi, color=color, lw=0.8, alpha=0.5))
        artists.append(ax.plot(xs, mean, "o", ms=3, color=color)[0])
        if "em" in membership:
            em = membership["em"].isel(component=j).values[order]
            artists.append(ax.plot(xs, em, "_", ms=10, mew=1.5, color=color)[0])
        handles.append(Line2D([], [], color=color, lw=6, label=f"component {j}"))
    handles.append(
        Line2D([], [], color="0.3", marker="o", ms=4, lw=0.8, label="posterior mean, interval")
    )
    if "em" in membership:
        handles.append(
            Line2D(
                [], [], color="0.3", marker="_", ms=10, mew=1.5, ls="", label="EM responsibility"
            )
        )
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel(_axis_label(column, units))
    ax.set_ylabel("P(belongs to component)")
    ax.legend(
        handles=handles,
        fontsize="x-small",
        frameon=False,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
    )
    return artists


def plot_k_comparison(axes, comparison):
    """elpd_loo with its standard error, and BIC/AIC, against K.

    Parameters
    ----------
    axes : sequence of two matplotlib.axes.Axes
    comparison : xarray.Dataset
        From :func:`gmm_bayes.compare.compare_components`.

    Returns
    -------
    list of matplotlib artists
    """
    ks = comparison["K"].values
    ax0, ax1 = axes
    artists = [
        ax0.errorbar(
            ks,
            comparison["elpd_loo"].values,
            yerr=comparison["elpd_loo_se"].values,
            fmt="o-",
            color=COLORS["posterior_mean"],
            capsize=4,
            label="elpd_loo ± 1 se",
        )
    ]
    bad = ~comparison["trustworthy"].values
    if bad.any():
        artists.append(
            ax0.scatter(
                ks[bad],
                comparison["elpd_loo"].values[bad],
                s=160,
                facecolors="none",
                edgecolors="#ff7f0e",
                linewidths=2,
                zorder=3,
                label="posterior failed diagnostics",
            )
        )
    best = comparison.attrs["preferred_elpd_loo"]
    ax0.axvline(best, color="0.6", ls=":", lw=1)
    ax0.set_title("PSIS-LOO (higher is better)", fontsize="medium")
    ax0.set_xlabel("K (components)")
    ax0.set_ylabel("elpd_loo")
    ax0.legend(fontsize="small", frameon=False)
    for name, label, m in (
        ("em_bic", "BIC (gmm_bayes EM)", "em"),
        ("sklearn_bic", "BIC (scikit-learn)", "sklearn"),
        ("em_aic", "AIC (gmm_bayes EM)", None),
    ):
        color = COLORS[m] if m else "0.4"
        style = "--" if name == "sklearn_bic" else "-"
        artists.append(
            ax1.plot(ks, comparison[name].values, style, marker="o", color=color, label=label)[0]
        )
    ax1.axvline(comparison.attrs["preferred_em_bic"], color="0.6", ls=":", lw=1)
    ax1.set_title("information criteria (lower is better)", fontsize="medium")
    ax1.set_xlabel("K (components)")
    ax1.legend(fontsize="small", frameon=False)
    for ax in axes:
        ax.set_xticks(ks)
    return artists


# -- ArviZ diagnostics: each returns an arviz_plots.PlotCollection ------------------------------


def _figure_kwargs(width, height):
    return {"figure_kwargs": {"figsize": (width, height), "layout": "constrained"}}


def _free(tree, var_names):
    """``var_names`` without ``w`` when K = 1 (the weight is then the constant 1)."""
    k = tree["posterior"].sizes["component"]
    return [v for v in var_names if not (k == 1 and v == "w")]


def plot_rank(tree, *, var_names=PARAMS):
    """Rank plots (ECDF difference per chain): one row per parameter, one column per component."""
    import arviz_plots as azp

    k = tree["posterior"].sizes["component"]
    var_names = _free(tree, var_names)
    cols = len(var_names) if k == 1 else k
    rows = -(-len(var_names) * k // cols)
    return azp.plot_rank(
        tree,
        var_names=list(var_names),
        sample_dims=SAMPLE_DIMS,
        backend="matplotlib",
        col_wrap=cols,
        **_figure_kwargs(2.8 * cols + 0.5, 2.3 * rows),
    )


def plot_trace(tree, *, var_names=PARAMS):
    """Marginal densities and traces of each chain."""
    import arviz_plots as azp

    var_names = _free(tree, var_names)
    return azp.plot_trace_dist(
        tree,
        var_names=list(var_names),
        sample_dims=SAMPLE_DIMS,
        backend="matplotlib",
        **_figure_kwargs(11, 2.4 * len(var_names)),
    )


def plot_ppc(tree, *, num_samples=50):
    """Posterior predictive check: densities of replicated data sets against the data."""
    import arviz_plots as azp

    return azp.plot_ppc_dist(
        tree,
        num_samples=num_samples,
        sample_dims=SAMPLE_DIMS,
        backend="matplotlib",
        **_figure_kwargs(7, 3.2),
    )


def plot_loo_pit(tree):
    """LOO-PIT ECDF difference with its simultaneous envelope (calibration check)."""
    import arviz_plots as azp

    return azp.plot_loo_pit(tree, backend="matplotlib", **_figure_kwargs(7, 3.2))
