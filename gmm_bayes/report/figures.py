"""Figures of the report. Each function draws numbers prepared elsewhere; none computes statistics.

Functions that draw on matplotlib axes take them and return the artists they made (pyhf
style). This module holds the style and the figures of the fit; the choice of K is drawn by
:mod:`gmm_bayes.report.figures_choice`, the sampler's diagnostics by
:mod:`gmm_bayes.report.figures_diagnostics`. Text that comes from
data (column names, units) goes through :func:`plain_text`, so ``$``, ``_`` and ``\\`` in a
column name are shown as typed instead of being parsed as mathtext.

One style everywhere, safe for colour-blind readers: methods by line style and an Okabe-Ito
colour (posterior solid black, EM dashed vermilion, scikit-learn dotted blue), components by
Paul Tol's "muted" colours, the same colour for component k in every figure. Components are
numbered from 1 on every label.
"""

import numpy as np

from gmm_bayes.conventions import PARAMS

__all__ = [
    "COMPONENT_COLORS",
    "GREY",
    "METHOD_STYLES",
    "axis_label",
    "component_color",
    "histogram_edges",
    "plain_text",
    "plot_classification",
    "plot_data_density",
    "plot_forest",
    "spike_label",
]

#: Paul Tol's "muted" scheme: distinct for colour-blind readers, one per component
COMPONENT_COLORS = (
    "#332288",
    "#88CCEE",
    "#117733",
    "#DDCC77",
    "#CC6677",
    "#AA4499",
    "#44AA99",
    "#999933",
    "#882255",
)
#: one style per method in every figure: (colour, line style, marker, legend name)
METHOD_STYLES = {
    "posterior_mean": ("#000000", "-", "D", "posterior"),
    "em": ("#D55E00", "--", "x", "gmm_bayes EM"),
    "sklearn": ("#0072B2", ":", "o", "scikit-learn (defaults)"),
}
#: failed or collapsed fits
GREY = "0.6"
#: legend of the ring around a point estimate outside the posterior HDI
OUTSIDE_HDI = "outside the posterior HDI"
#: how far above the data a density may reach before it is clipped and its height written
CLIP_FACTOR = 1.6
#: share of the density axes' height taken by the rug, below zero
RUG_HEIGHT = 0.06


def component_color(j):
    """The colour of component ``j`` (numbered from 0) in every figure.

    Examples
    --------
    >>> component_color(0), component_color(len(COMPONENT_COLORS))
    ('#332288', '#332288')
    """
    return COMPONENT_COLORS[j % len(COMPONENT_COLORS)]


def plain_text(text):
    """``text`` made safe for matplotlib: every ``$`` escaped, so mathtext is never triggered.

    Without a ``$`` pair matplotlib draws ``_`` and ``\\`` literally, so escaping ``$`` alone is
    enough for labels taken from data.

    Examples
    --------
    >>> print(plain_text("$x_1$"))
    \\$x_1\\$
    """
    return str(text).replace("$", r"\$")


def spike_label(method, height):
    """The text written beside a clipped density peak.

    Examples
    --------
    >>> spike_label("em", 1.7812)
    'gmm_bayes EM peak 1.78'
    """
    return f"{METHOD_STYLES[method][3]} peak {height:.3g}"


def axis_label(column, units):
    """The data axis' label: ``column [units]``, shown literally.

    Examples
    --------
    >>> print(axis_label("price $", "USD"), axis_label(None, "none"))
    price \\$ [USD] value
    """
    label = plain_text(column or "value")
    if units and units != "none":
        label += f" [{plain_text(units)}]"
    return label


def plot_data_density(ax, x, curves, *, column=None, units=None, methods=None):
    """Histogram and rug of the data with the fitted mixture densities, spikes clipped.

    Totals are thick (posterior solid, EM dashed, scikit-learn dotted); the posterior's and
    EM's weighted components are thin, in their component's colour. The y-axis ends at
    ``CLIP_FACTOR`` times the highest of the histogram and the posterior density: a curve above
    it is clipped and its peak height written beside it.

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
        Which methods to draw (default: posterior, EM, scikit-learn at its defaults).

    Returns
    -------
    list of matplotlib artists

    Examples
    --------
    >>> import gmm_bayes as gb, matplotlib.pyplot as plt
    >>> from gmm_bayes.compare import compare_estimates, density_curves
    >>> x = gb.load_dataset("faithful")
    >>> curves = density_curves(x, compare_estimates(x, {"em": gb.fit_em(x, 2, random_state=0)}))
    >>> fig, ax = plt.subplots()
    >>> _ = plot_data_density(ax, x, curves)
    >>> [line.get_linestyle() for line in ax.get_lines() if line.get_label() == "gmm_bayes EM"]
    ['--']
    >>> plt.close(fig)
    """
    from matplotlib.lines import Line2D

    methods = [m for m in (methods or METHOD_STYLES) if _finite(curves, m)]
    grid = curves["x"].values
    bins = histogram_edges(x)
    heights, _, bars = ax.hist(
        x, bins=bins, density=True, color="0.88", edgecolor="0.65", label=f"data (N={x.size})"
    )
    artists = [
        bars,
        # the rug sits in a strip below zero, inside the axes, clear of the tick labels
        ax.plot(
            x,
            np.full(x.size, RUG_HEIGHT / 2),
            "|",
            color="0.2",
            markersize=6,
            transform=ax.get_xaxis_transform(),
        ),
    ]
    if "posterior_mean" in methods and np.isfinite(curves["band_lower"].values).all():
        artists.append(
            ax.fill_between(
                grid,
                curves["band_lower"].values,
                curves["band_upper"].values,
                color="0.5",
                alpha=0.4,
                lw=0,
                label=f"posterior {curves.attrs['hdi_prob']:.0%} pointwise band",
            )
        )
    top = heights.max()
    if "posterior_mean" in methods:
        top = max(top, curves["density"].sel({"method": "posterior_mean"}).values.max())
    top *= CLIP_FACTOR
    for m in methods:
        color, style, _, name = METHOD_STYLES[m]
        dens = curves["density"].sel({"method": m}).values
        artists.append(ax.plot(grid, dens, style, color=color, lw=2, label=name)[0])
        if m != "sklearn" and curves.sizes["component"] > 1:
            for j, row in enumerate(curves["component_density"].sel({"method": m}).values):
                artists.append(ax.plot(grid, row, style, color=component_color(j), lw=1)[0])
        artists += _label_spikes(ax, grid, dens, top, m, len(ax.texts))
    ax.set_ylim(-top * RUG_HEIGHT / (1 - RUG_HEIGHT), top)
    ax.set_xlim(grid[0], grid[-1])
    ax.set_xlabel(axis_label(column, units))
    ax.set_ylabel("density")
    handles, labels = ax.get_legend_handles_labels()
    if curves.sizes["component"] > 1:
        handles.append(Line2D([], [], color="0.4", lw=1))
        labels.append("weighted components\n(thin; colour per component)")
    ax.legend(
        handles, labels, fontsize="small", frameon=False, loc="upper left", bbox_to_anchor=(1, 1)
    )
    return artists


def histogram_edges(x):
    """About ``1.5 sqrt(N)`` bins (8 to 60); for data on a recording grid (all values multiples
    of the smallest gap), edges halfway between grid values and a whole number of grid steps per
    bin, so that no bin holds one grid value more than its neighbour (the comb a default
    histogram draws on whole minutes).

    Examples
    --------
    >>> histogram_edges(np.array([1.0, 2.0, 2.0, 3.0, 7.0]))[:3].tolist()
    [0.5, 1.5, 2.5]
    """
    bins = int(np.clip(np.ceil(1.5 * np.sqrt(x.size)), 8, 60))
    values = np.unique(x)
    if values.size < 2:
        return bins
    step = np.diff(values).min()
    steps = (values - values[0]) / step
    if not np.allclose(steps, np.round(steps), atol=1e-6):
        return bins
    n_values = int(np.round(steps[-1])) + 1
    per_bin = max(1, round(n_values / bins))
    n_bins = -(-n_values // per_bin)
    return values[0] - step / 2 + per_bin * step * np.arange(n_bins + 1)


def _finite(curves, method):
    return (
        method in curves["method"].values
        and np.isfinite(curves["density"].sel({"method": method})).all()
    )


def _label_spikes(ax, grid, dens, top, method, written):
    """Mark each run of ``dens`` above ``top`` at its peak and write its height below the top.

    ``written`` counts the labels already on ``ax``, so that labels stack instead of overlapping.
    """
    color = METHOD_STYLES[method][0]
    above = np.flatnonzero(dens > top)
    runs = np.split(above, np.flatnonzero(np.diff(above) > 1) + 1) if above.size else []
    texts = []
    for run in runs:
        peak = run[np.argmax(dens[run])]
        ax.plot(grid[peak], top, "^", color=color, ms=6, clip_on=False, zorder=4)
        texts.append(
            ax.annotate(
                spike_label(method, dens[peak]),
                (grid[peak], top),
                xytext=(5, -11 * (1 + written + len(texts))),
                textcoords="offset points",
                fontsize="x-small",
                color=color,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1},
            )
        )
    return texts


def plot_forest(axes, estimates):
    """Posterior mean and HDI of w, mu, sigma per component, with EM and scikit-learn marked.

    A point estimate outside the posterior HDI is ringed in black; a collapsed component's
    estimate is drawn in grey.

    Parameters
    ----------
    axes : sequence of three matplotlib.axes.Axes
        One per parameter (w, mu, sigma): each has its own scale.
    estimates : xarray.Dataset
        From :func:`gmm_bayes.compare.compare_estimates`.

    Returns
    -------
    list of matplotlib artists

    Examples
    --------
    >>> import gmm_bayes as gb, matplotlib.pyplot as plt
    >>> from gmm_bayes.compare import compare_estimates
    >>> x = gb.load_dataset("faithful")
    >>> est = compare_estimates(x, {"em": gb.fit_em(x, 2, random_state=0)})
    >>> fig, axes = plt.subplots(1, 3)
    >>> _ = plot_forest(axes, est)
    >>> [label.get_text() for label in axes[0].get_yticklabels()]
    ['component 1', 'component 2']
    >>> plt.close(fig)
    """
    artists = []
    k = estimates.sizes["component"]
    rows = np.arange(k)[::-1].astype(float)
    offsets = {"posterior_mean": 0.0, "em": 0.22, "sklearn": -0.22}
    methods = [m for m in offsets if m in estimates["method"]]
    has_hdi = np.isfinite(estimates["w_hdi_lower"].values).all()
    for ax, p, title in zip(axes, PARAMS, ("weight w", "mean mu", "sd sigma"), strict=True):
        if has_hdi:
            for j, y in enumerate(rows):
                artists.append(
                    ax.hlines(
                        y,
                        estimates[f"{p}_hdi_lower"][j],
                        estimates[f"{p}_hdi_upper"][j],
                        color=component_color(j),
                        lw=4,
                        alpha=0.6,
                    )
                )
        for m in methods:
            vals = estimates[p].sel({"method": m}).values
            if not np.isfinite(vals).all():
                continue
            color, _, marker, name = METHOD_STYLES[m]
            colors = np.where(_collapsed(estimates, m), GREY, color)
            style = {"facecolors": "none", "edgecolors": colors} if marker == "o" else {"c": colors}
            artists.append(
                ax.scatter(
                    vals,
                    rows + offsets[m],
                    marker=marker,
                    s=40,
                    linewidths=1.5,
                    zorder=3,
                    label=name,
                    **style,
                )
            )
            outside = ~estimates[f"{p}_in_hdi"].sel({"method": m}).values.astype(bool)
            if m != "posterior_mean" and has_hdi and outside.any():
                artists.append(
                    ax.scatter(
                        vals[outside],
                        (rows + offsets[m])[outside],
                        marker="o",
                        s=150,
                        facecolors="none",
                        edgecolors="black",
                        linewidths=0.8,
                        zorder=2,
                        label=OUTSIDE_HDI,
                    )
                )
        ax.set_yticks(rows, [f"component {j + 1}" for j in range(k)])
        for j, tick in enumerate(ax.get_yticklabels()):
            tick.set_color(component_color(j))
        ax.set_title(title, fontsize="medium")
        ax.set_ylim(-0.6, k - 0.4)
        ax.grid(axis="x", alpha=0.3)
    labels = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            labels.setdefault(label, handle)
    if has_hdi:
        labels[f"posterior {estimates.attrs['hdi_prob']:.0%} HDI"] = _hdi_handle()
    if (ring := labels.pop(OUTSIDE_HDI, None)) is not None:
        labels[OUTSIDE_HDI] = ring
    axes[0].figure.legend(
        labels.values(),
        labels.keys(),
        loc="outside lower center",
        ncol=len(labels),
        fontsize="small",
        frameon=False,
    )
    return artists


def _collapsed(estimates, method):
    if "collapsed" not in estimates:
        return np.zeros(estimates.sizes["component"], dtype=bool)
    return estimates["collapsed"].sel({"method": method}).values.astype(bool)


def _hdi_handle():
    from matplotlib.lines import Line2D

    return Line2D([], [], color=GREY, lw=4, alpha=0.6)


def plot_classification(ax, classes, *, column=None, units=None):
    """mclust's classification and uncertainty plot: each observation at its value, coloured
    by its most probable component, at the height of its uncertainty.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    classes : xarray.Dataset
        From :func:`gmm_bayes.compare.figure_data.classification` (coordinate ``x``).

    Returns
    -------
    list of matplotlib artists

    Examples
    --------
    >>> import matplotlib.pyplot as plt, xarray as xr
    >>> classes = xr.Dataset({"component": ("obs", [0, 1]), "uncertainty": ("obs", [0.1, 0.3])},
    ...                      coords={"x": ("obs", [1.0, 2.0])})
    >>> fig, ax = plt.subplots()
    >>> _ = plot_classification(ax, classes)
    >>> ax.collections[0].get_offsets().tolist()
    [[1.0, 0.1], [2.0, 0.3]]
    >>> plt.close(fig)
    """
    from matplotlib.lines import Line2D

    xs = classes["x"].values
    comp = classes["component"].values
    k = int(classes.attrs.get("n_components", comp.max() + 1))
    artists = [
        ax.scatter(xs, classes["uncertainty"], c=[component_color(j) for j in comp], s=18, zorder=3)
    ]
    handles = [
        Line2D([], [], color=component_color(j), marker="o", ls="", label=f"component {j + 1}")
        for j in range(k)
    ]
    if "em_uncertainty" in classes:
        artists.append(
            ax.scatter(
                xs,
                classes["em_uncertainty"],
                marker="_",
                s=60,
                linewidths=1.2,
                c=[component_color(j) for j in classes["em_component"].values],
                zorder=2,
            )
        )
        handles.append(Line2D([], [], color="0.3", marker="_", ls="", ms=9, label="EM"))
    ax.set_ylim(-0.02, 1.05 * (1 - 1 / k))  # the uncertainty is at most 1 - 1/K
    ax.set_xlabel(axis_label(column, units))
    ax.set_ylabel("uncertainty 1 - max p(component)")
    ax.legend(
        handles=handles,
        fontsize="small",
        frameon=False,
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
    )
    return artists
