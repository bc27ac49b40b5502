"""Figures of a multivariate (d >= 2) report: each component's ellipses over the data, the
classification with its uncertainty, BIC per K and covariance type (mclust's BIC plot), and the
choice of K (PSIS-LOO beside that BIC plot).

Every function draws one pair of columns ``(i, j)`` on a given matplotlib axes; the colours are
the components' of :func:`~gmm_bayes.report.figures.component_color` and the line styles the
methods' of :data:`~gmm_bayes.report.figures.METHOD_STYLES` (posterior solid, EM dashed,
scikit-learn dotted).
"""

import warnings

import numpy as np
from scipy.stats import chi2

from gmm_bayes.report.figures import GREY, METHOD_STYLES, component_color

__all__ = [
    "ELLIPSE_PROBS",
    "ellipse_points",
    "plot_bic_types",
    "plot_choice_mv",
    "plot_ellipses",
    "plot_uncertainty",
]

#: the probability contents drawn: 95% for every method, 50% also for the posterior mean
ELLIPSE_PROBS = (0.5, 0.95)
#: posterior draws whose 95% ellipses make the band
BAND_DRAWS = 30
#: the BIC plot shows BIC from the best up to the best + this fraction of its magnitude
TOP_FRACTION = 0.1
#: one marker per covariance type in the BIC plot
_TYPE_MARKERS = {"full": "o", "tied": "s", "diag": "^", "spherical": "v"}


def ellipse_points(mean, cov, prob, n=120):
    """The ellipse holding ``prob`` of a bivariate normal: ``{x : (x - m)' S^-1 (x - m) = q}``
    with ``q`` the chi-square(2) quantile.

    Parameters
    ----------
    mean : array_like, shape (2,)
    cov : array_like, shape (2, 2)
    prob : float
    n : int
        Points on the closed curve.

    Returns
    -------
    ndarray, shape (n, 2)

    Examples
    --------
    >>> pts = ellipse_points([0.0, 0.0], np.diag([4.0, 1.0]), 0.95)
    >>> radius = np.sqrt(chi2.ppf(0.95, 2))
    >>> bool(np.allclose(pts[:, 0] ** 2 / 4 + pts[:, 1] ** 2, radius**2))
    True
    """
    angle = np.linspace(0.0, 2 * np.pi, n)
    circle = np.stack([np.cos(angle), np.sin(angle)], axis=1) * np.sqrt(chi2.ppf(prob, 2))
    return np.asarray(mean, dtype=np.float64) + circle @ np.linalg.cholesky(cov).T


def _pair(mu, cov, pair):
    i, j = pair
    return np.asarray(mu)[..., [i, j]], np.asarray(cov)[..., [i, j], :][..., [i, j]]


def plot_ellipses(ax, x, fits, *, columns, pair=(0, 1), draws=None):
    """The data and each component's 95% ellipse per method (50% too for the posterior mean).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    x : ndarray, shape (N, d)
    fits : dict
        Method (a key of ``METHOD_STYLES``) -> ``(means (K, d), covariances (K, d, d))``.
    columns : sequence of str
        The columns' names (axis labels).
    pair : (int, int)
        The columns drawn.
    draws : (ndarray (S, K, d), ndarray (S, K, d, d)), optional
        Posterior draws: the 95% ellipses of ``BAND_DRAWS`` of them, faint, show the spread.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> x = np.random.default_rng(0).normal(size=(50, 2))
    >>> plot_ellipses(ax, x, {"em": (np.zeros((1, 2)), np.eye(2)[None])}, columns=["a", "b"])
    >>> len(ax.lines), ax.get_xlabel()  # the ellipse, and the method's legend entry
    (2, 'a')
    >>> plt.close(fig)
    """
    i, j = pair
    ax.scatter(x[:, i], x[:, j], s=6, color=GREY, alpha=0.6, linewidths=0)
    if draws is not None:
        mus, covs = _pair(*draws, pair)
        for s in np.linspace(0, len(mus) - 1, min(BAND_DRAWS, len(mus))).round().astype(int):
            for k in range(mus.shape[1]):
                pts = ellipse_points(mus[s, k], covs[s, k], ELLIPSE_PROBS[1])
                ax.plot(*pts.T, color=component_color(k), alpha=0.12, linewidth=0.6)
    for method, (mu, cov) in fits.items():
        colour, style, _, label = METHOD_STYLES[method]
        mus, covs = _pair(mu, cov, pair)
        probs = ELLIPSE_PROBS if method == "posterior_mean" else ELLIPSE_PROBS[1:]
        for k in range(len(mus)):
            for prob in probs:
                pts = ellipse_points(mus[k], covs[k], prob)
                width = 1.6 if prob == ELLIPSE_PROBS[1] else 0.8
                ax.plot(*pts.T, color=component_color(k), linestyle=style, linewidth=width)
        ax.plot([], [], color="black", linestyle=style, label=label)
    ax.set_xlabel(columns[i])
    ax.set_ylabel(columns[j])
    if len(fits) > 1:
        ax.legend(loc="best", fontsize="small", frameon=False)


def plot_uncertainty(ax, x, membership, *, columns, pair=(0, 1)):
    """mclust's classification/uncertainty plot: each point coloured by its most probable
    component, larger the less sure the assignment (``1 - max_k r_nk``).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    x : ndarray, shape (N, d)
    membership : ndarray, shape (N, K)
        Membership probabilities (e.g. the posterior mean of each ``r_nk``).
    columns : sequence of str
    pair : (int, int)

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> plot_uncertainty(ax, np.zeros((2, 2)), np.array([[0.9, 0.1], [0.5, 0.5]]),
    ...                  columns=["a", "b"])
    >>> ax.collections[0].get_sizes().round(1).tolist()
    [39.2, 164.0]
    >>> plt.close(fig)
    """
    i, j = pair
    membership = np.asarray(membership, dtype=np.float64)
    label = np.argmax(membership, axis=1)
    uncertainty = 1.0 - membership.max(axis=1)
    sizes = 8.0 + 312.0 * uncertainty  # 8 (certain) to 164 (K = 2) or 242 (K = 4)
    colours = [component_color(k) for k in label]
    ax.scatter(x[:, i], x[:, j], s=sizes, c=colours, alpha=0.7, linewidths=0)
    for k in range(membership.shape[1]):
        ax.scatter([], [], s=20, color=component_color(k), label=f"component {k + 1}")
    ax.set_xlabel(columns[i])
    ax.set_ylabel(columns[j])
    ax.legend(loc="best", fontsize="small", frameon=False, title="larger: less certain")


def plot_bic_types(ax, bic, *, within=()):
    """BIC against K, one line per covariance type (lower is better; mclust plots
    ``-BIC``, higher better, with the same ranking). The y-axis runs from the best BIC up to
    ``TOP_FRACTION`` (10%) of its magnitude above it, where the competing models are; a type
    entirely above says so in the legend.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    bic : dict
        Covariance type -> ``{K: BIC}`` (a missing or nan K is a failed fit, left out).
    within : sequence of float
        BIC values the range must show too (the models sampled).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> plot_bic_types(ax, {"full": {1: 100.0, 2: 99.0}, "tied": {1: 300.0, 2: 200.0}})
    >>> [line.get_label() for line in ax.lines]
    ['full', 'tied (above the range shown)']
    >>> plt.close(fig)
    """
    finite = [v for by_k in bic.values() for v in by_k.values() if np.isfinite(v)]
    best = min(finite)
    # the competitive models are a few units apart, the worst thousands: show the best 10%
    top = max([min(max(finite), best + TOP_FRACTION * abs(best)), *within])
    for covariance_type, by_k in bic.items():
        ks = sorted(k for k, value in by_k.items() if np.isfinite(value))
        above = all(by_k[k] > top for k in ks)
        ax.plot(
            ks,
            [by_k[k] for k in ks],
            marker=_TYPE_MARKERS.get(covariance_type, "o"),
            label=covariance_type + (" (above the range shown)" if above else ""),
        )
    span = top - best
    ax.set_ylim(best - 0.05 * span if span else best - 1, top + 0.05 * span if span else best + 1)
    ax.set_xlabel("K (components)")
    ax.set_ylabel("EM BIC (lower is better)")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="best", fontsize="small", frameon=False, title="covariance")


def plot_choice_mv(axes, comparison, bic):
    """How many components for d >= 2: PSIS-LOO per K (left) and EM's BIC per K and covariance
    type (right), the model sampled at each K ringed (and within the range shown).

    The left panel is the univariate report's (:func:`gmm_bayes.report.figures_choice.
    plot_choice`: elpd_loo +- se, the difference to the best K +- its se, stacking weights,
    failed posteriors hollow grey, the recommended K's band); the right one is
    :func:`plot_bic_types` with a ring on the covariance type sampled at each K.

    Parameters
    ----------
    axes : sequence of 2 matplotlib.axes.Axes
    comparison : xarray.Dataset
        :func:`gmm_bayes.report.comparison_mv.compare_k_mv`'s table.
    bic : dict
        Covariance type -> ``{K: BIC}``, as :func:`plot_bic_types`.

    Returns
    -------
    list of matplotlib artists
        ``plot_choice``'s, then the rings (one collection).

    Examples
    --------
    >>> import matplotlib.pyplot as plt, xarray as xr
    >>> columns = {"elpd_loo": [-250.0, -240.0], "elpd_loo_se": [9.0, 8.0],
    ...            "elpd_diff": [-10.0, 0.0], "elpd_diff_se": [4.0, 0.0], "loo_rank": [1, 0],
    ...            "stacking_weight": [0.0, 1.0], "trustworthy": [True, True],
    ...            "covariance_type": ["full", "tied"], "em_bic": [500.0, 480.0],
    ...            "em_icl": [500.0, 490.0], "em_degenerate": [False, False]}
    >>> comparison = xr.Dataset({name: ("K", v) for name, v in columns.items()},
    ...                         coords={"K": [1, 2]})
    >>> fig, axes = plt.subplots(1, 2)
    >>> artists = plot_choice_mv(axes, comparison, {"full": {1: 500.0, 2: 490.0},
    ...                                             "tied": {1: 500.0, 2: 480.0}})
    >>> artists[-1].get_offsets().tolist()
    [[1.0, 500.0], [2.0, 480.0]]
    >>> plt.close(fig)
    """
    from gmm_bayes.report.figures_choice import plot_choice

    ks = comparison["K"].values
    sampled = [bic[t][k] for t, k in zip(comparison["covariance_type"].values, ks, strict=True)]
    plot_bic_types(axes[1], bic, within=sampled)
    criteria = [v for v in ("em_bic", "em_icl", "em_tied_bic", "em_tied_icl") if v in comparison]
    with warnings.catch_warnings():
        # the right panel's curves are plot_bic_types' (per covariance type), not plot_choice's
        warnings.filterwarnings("ignore", message="No artists with labels found")
        artists = plot_choice(axes, comparison.drop_vars(criteria))
    rings = axes[1].scatter(
        ks, sampled, s=140, facecolors="none", edgecolors="black", zorder=3, label="sampled"
    )
    axes[1].set_title("EM BIC per covariance type (lower is better)", fontsize="medium")
    axes[1].set_ylabel("EM BIC")
    axes[1].legend(loc="best", fontsize="x-small", frameon=False, title="covariance")
    return [*artists, rings]
