"""The choice of K in one figure: elpd differences (ArviZ's compare plot), BIC and ICL of the
E and V models (mclust's BIC plot), and p(K | y) when the evidence was computed."""

import numpy as np

from gmm_bayes.report.figures import GREY

__all__ = ["plot_choice", "recommended_k"]

#: Okabe-Ito colours of the V (unequal variances) and E (equal variances) models
MODEL_COLORS = {"em": "#D55E00", "em_tied": "#009E73"}
#: the recommended K's band
HIGHLIGHT = "#F0E442"


def plot_choice(axes, comparison):
    """How many components: elpd differences, BIC/ICL of the E and V models, and p(K | y).

    Panel 1, as ``arviz_plots.plot_compare``: elpd_loo +- se (circles) and the difference to
    the best K +- the se of that difference (grey triangles); a K whose posterior failed its
    diagnostics is hollow grey, and its stacking weight is written beside it. Panel 2: BIC
    (solid) and ICL (dashed) of EM's V model (unequal variances, vermilion) and, when fitted,
    the E model (equal variances, green); collapsed fits are grey rings, not joined. Panel 3
    (when ``comparison`` has ``p_k``): p(K | y) with its Monte Carlo se.

    Parameters
    ----------
    axes : sequence of 2 or 3 matplotlib.axes.Axes
    comparison : xarray.Dataset
        From :func:`gmm_bayes.compare.compare_components`; ``em_tied_bic``, ``em_tied_icl``
        and ``em_tied_degenerate`` are drawn when present.

    Returns
    -------
    list of matplotlib artists

    Examples
    --------
    >>> import matplotlib.pyplot as plt, xarray as xr
    >>> columns = {"elpd_loo": [-250.0, -240.0], "elpd_loo_se": [9.0, 8.0],
    ...            "elpd_diff": [-10.0, 0.0], "elpd_diff_se": [4.0, 0.0], "loo_rank": [1, 0],
    ...            "stacking_weight": [0.1, 0.9], "trustworthy": [True, False],
    ...            "em_bic": [500.0, 480.0], "em_icl": [500.0, 490.0],
    ...            "em_degenerate": [False, False]}
    >>> comparison = xr.Dataset({name: ("K", v) for name, v in columns.items()},
    ...                         coords={"K": [1, 2]})
    >>> fig, axes = plt.subplots(1, 2)
    >>> _ = plot_choice(axes, comparison)
    >>> [line.get_label() for line in axes[1].get_lines()]
    ['BIC V (unequal variances)', 'ICL V (unequal variances)']
    >>> plt.close(fig)
    """
    ks = comparison["K"].values
    artists = _elpd_panel(axes[0], comparison, ks) + _bic_panel(axes[1], comparison, ks)
    if len(axes) > 2:
        artists += _evidence_panel(axes[2], comparison, ks)
    best = recommended_k(comparison)
    for ax in axes:
        ax.set_xticks(ks)
        ax.set_xlabel("K (components)")
        if best is not None:
            artists.append(ax.axvspan(best - 0.4, best + 0.4, color=HIGHLIGHT, alpha=0.3, lw=0))
    return artists


def recommended_k(comparison):
    """The K ``compare_components`` recommends, or None (no attribute, or -1: none).

    Examples
    --------
    >>> import xarray as xr
    >>> recommended_k(xr.Dataset(attrs={"recommended_k": 3})), recommended_k(xr.Dataset())
    (3, None)
    """
    k = int(comparison.attrs.get("recommended_k", -1))
    return k if k > 0 else None


def _elpd_panel(ax, comparison, ks):
    ok = comparison["trustworthy"].values.astype(bool)
    elpd, se = comparison["elpd_loo"].values, comparison["elpd_loo_se"].values
    best = elpd[int(np.argmin(comparison["loo_rank"].values))]
    diff, dse = best + comparison["elpd_diff"].values, comparison["elpd_diff_se"].values
    artists = [ax.axhline(best, color=GREY, ls="--", lw=0.8)]
    for mask, face, label in ((ok, "black", "elpd_loo ± se"), (~ok, "none", "failed diagnostics")):
        if mask.any():
            edge = "black" if face == "black" else GREY
            artists.append(
                ax.errorbar(
                    ks[mask],
                    elpd[mask],
                    se[mask],
                    fmt="o",
                    mfc=face,
                    mec=edge,
                    color=edge,
                    capsize=3,
                    label=label,
                )
            )
    artists.append(
        ax.errorbar(
            ks + 0.2,
            diff,
            dse,
            fmt="^",
            color=GREY,
            ms=5,
            capsize=2,
            label="difference to best ± its se",
        )
    )
    weights = comparison["stacking_weight"].values
    for k, y, weight, good in zip(ks, elpd + se, weights, ok, strict=True):
        artists.append(
            ax.annotate(
                f"{weight:.2f}",
                (k, y),
                xytext=(0, 3),
                ha="center",
                textcoords="offset points",
                fontsize="x-small",
                color="black" if good else GREY,
            )
        )
    ax.set_title("PSIS-LOO (higher is better; stacking weight above)", fontsize="medium")
    ax.set_ylabel("elpd_loo")
    ax.legend(fontsize="x-small", frameon=False, loc="lower right")
    return artists


def _bic_panel(ax, comparison, ks):
    artists = []
    models = [
        ("em", "V (unequal variances)", MODEL_COLORS["em"]),
        ("em_tied", "E (equal variances)", MODEL_COLORS["em_tied"]),
    ]
    for prefix, name, color in models:
        if f"{prefix}_bic" not in comparison:
            continue
        bad = comparison[f"{prefix}_degenerate"].values.astype(bool)
        for crit, style in (("bic", "-"), ("icl", "--")):
            values = np.where(bad, np.nan, comparison[f"{prefix}_{crit}"].values)
            artists.append(
                ax.plot(ks, values, style, marker="o", color=color, label=f"{crit.upper()} {name}")[
                    0
                ]
            )
        if bad.any():
            artists.append(
                ax.scatter(
                    ks[bad],
                    comparison[f"{prefix}_bic"].values[bad],
                    s=70,
                    facecolors="none",
                    edgecolors=GREY,
                    label="collapsed fit (not used)",
                )
            )
    ax.set_title("EM information criteria (lower is better)", fontsize="medium")
    ax.legend(fontsize="x-small", frameon=False)
    return artists


def _evidence_panel(ax, comparison, ks):
    ok = comparison["trustworthy"].values.astype(bool)
    colors = np.where(ok, "0.3", "0.8")
    artists = [
        ax.bar(
            ks, comparison["p_k"].values, yerr=comparison["p_k_se"].values, color=colors, capsize=3
        )
    ]
    ax.set_ylim(0, 1)
    ax.set_title("p(K | y) from the log evidence", fontsize="medium")
    return artists
