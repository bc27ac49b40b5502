"""Figures of the sampler's behaviour: modes (w against mu), traces, rank plots (drawn as
ArviZ's), and ArviZ's energy, posterior predictive and LOO-PIT plots. Components are numbered
from 1 and coloured as in every other figure
(:func:`gmm_bayes.report.figures.component_color`); the ArviZ functions return an
``arviz_plots.PlotCollection``."""

import numpy as np

from gmm_bayes.conventions import PARAMS
from gmm_bayes.report.figures import axis_label, component_color

__all__ = [
    "numbered_from_one",
    "plot_energy",
    "plot_loo_pit",
    "plot_pair",
    "plot_ppc",
    "plot_rank",
    "plot_trace",
]

#: passed explicitly: a tree read back from NetCDF may carry ``sample_dims`` as a JSON string
SAMPLE_DIMS = ["chain", "draw"]
#: replicated data sets drawn in the posterior predictive check
PPC_SAMPLES = 40
#: draws per chain shown in a trace plot (every n-th when there are more)
TRACE_DRAWS = 250
#: points of [0, 1] a rank plot's ECDF differences are drawn at
RANK_POINTS = 201
#: line styles of chains 1-4 (then again) in trace plots
CHAIN_STYLES = ("-", "--", ":", "-.")


def plot_pair(ax, posterior, maxima=None, *, max_points=2000, seed=0):
    """Posterior draws of (mu_k, w_k), one colour per component; EM's maxima as black marks.

    Separate clouds of one colour are separate modes.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    posterior : xarray.Dataset
        The posterior group: ``w`` and ``mu`` on (chain, draw, component).
    maxima : xarray.Dataset, optional
        The tree's ``em`` group: ``maximum_mu`` and ``maximum_w`` (maximum, component).
    max_points : int
        Draws shown per component (a random subset when there are more).

    Returns
    -------
    list of matplotlib artists

    Examples
    --------
    >>> import matplotlib.pyplot as plt, numpy as np, xarray as xr
    >>> rng = np.random.default_rng(0)
    >>> post = xr.Dataset({p: (("chain", "draw", "component"), rng.random((2, 100, 2)))
    ...                    for p in ("w", "mu", "sigma")})
    >>> fig, ax = plt.subplots()
    >>> len(plot_pair(ax, post, max_points=50)), ax.get_xlabel()
    (2, 'mean mu')
    >>> plt.close(fig)
    """
    from matplotlib.lines import Line2D

    w = posterior["w"].stack(sample=SAMPLE_DIMS).transpose("component", "sample").values
    mu = posterior["mu"].stack(sample=SAMPLE_DIMS).transpose("component", "sample").values
    keep = np.random.default_rng(seed).permutation(w.shape[1])[:max_points]
    artists = [
        ax.scatter(
            mu[j, keep],
            w[j, keep],
            s=3,
            alpha=0.4,
            color=component_color(j),
            linewidths=0,
            label=f"component {j + 1}",
        )
        for j in range(w.shape[0])
    ]
    if maxima is not None and "maximum_mu" in maxima:
        artists.append(
            ax.scatter(
                maxima["maximum_mu"].values.ravel(),
                maxima["maximum_w"].values.ravel(),
                marker="x",
                s=40,
                color="black",
                label="EM maxima",
                zorder=3,
            )
        )
    ax.set_xlabel("mean mu")
    ax.set_ylabel("weight w")
    handles = [
        Line2D([], [], color=component_color(j), marker="o", ls="", label=f"component {j + 1}")
        for j in range(w.shape[0])
    ]
    if len(artists) > w.shape[0]:
        handles.append(Line2D([], [], color="black", marker="x", ls="", label="EM maxima"))
    ax.legend(
        handles=handles, fontsize="small", frameon=False, loc="upper left", bbox_to_anchor=(1, 1)
    )
    return artists


def plot_trace(axes, posterior, *, max_draws=TRACE_DRAWS):
    """Traces of every chain, one row per parameter, one colour per component.

    Parameters
    ----------
    axes : sequence of matplotlib.axes.Axes
        One per parameter drawn (w, mu, sigma; w left out when K = 1).
    posterior : xarray.Dataset
        The posterior group.
    max_draws : int
        Draws shown per chain: every n-th draw when there are more (a trace's drift and jumps
        survive the thinning; the file shrinks tenfold).

    Returns
    -------
    list of matplotlib artists

    Examples
    --------
    >>> import matplotlib.pyplot as plt, numpy as np, xarray as xr
    >>> rng = np.random.default_rng(0)
    >>> post = xr.Dataset({p: (("chain", "draw", "component"), rng.random((2, 100, 2)))
    ...                    for p in ("w", "mu", "sigma")})
    >>> fig, axes = plt.subplots(3, 1)
    >>> len(plot_trace(axes, post, max_draws=50)), axes[-1].get_xlabel()
    (12, 'draw (one draw in 2; line style: chain)')
    >>> plt.close(fig)
    """
    artists = []
    step = -(-posterior.sizes["draw"] // max_draws)
    for ax, p in zip(axes, _free(posterior, PARAMS), strict=True):
        values = posterior[p].transpose("chain", "draw", "component").values[:, ::step]
        draws = np.arange(0, posterior.sizes["draw"], step)
        for c, chain in enumerate(values):
            for j, trace in enumerate(chain.T):
                artists += ax.plot(
                    draws, trace, color=component_color(j), lw=0.6, ls=CHAIN_STYLES[c % 4]
                )
        ax.set_ylabel(p)
    shown = "every draw" if step == 1 else f"one draw in {step}"
    axes[-1].set_xlabel(f"draw ({shown}; line style: chain)")
    return artists


def _figure_kwargs(width, height):
    return {"figure_kwargs": {"figsize": (width, height), "layout": "constrained"}}


def _free(posterior, var_names):
    """``var_names`` without ``w`` when K = 1 (the weight is then the constant 1)."""
    k = posterior.sizes["component"]
    return [v for v in var_names if not (k == 1 and v == "w")]


def numbered_from_one(tree):
    """A tree holding only the posterior, its components numbered 1..K (for labels).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> post = xr.Dataset({"mu": (("chain", "draw", "component"), np.zeros((2, 3, 2)))})
    >>> tree = xr.DataTree.from_dict({"posterior": post})
    >>> numbered_from_one(tree)["posterior"]["component"].values.tolist()
    [1, 2]
    """
    import xarray as xr

    post = tree["posterior"].to_dataset()
    return xr.DataTree.from_dict(
        {"posterior": post.assign_coords(component=post["component"].values + 1)}
    )


def plot_rank(tree, *, n_points=RANK_POINTS):
    """Rank plots: each chain's ECDF of fractional ranks minus the uniform CDF, a panel per
    parameter and component (a row per parameter), with the multi-chain uniformity test's p.

    The drawing of ``arviz_plots.plot_rank`` (method "mtc_c") without its per-point Shapley
    highlighting: the p-value is that of
    :func:`~gmm_bayes.bayes.rank_test.rank_uniformity_p_values`, the test the diagnostics
    count (written in red below ``RANK_P_MIN``). Line style: chain, as in the trace plot;
    colour: component.

    Parameters
    ----------
    tree : xarray.DataTree
        With a ``posterior`` group: ``w``, ``mu``, ``sigma`` on (chain, draw, component).
    n_points : int
        Points of [0, 1] each ECDF difference is evaluated at.

    Returns
    -------
    matplotlib.figure.Figure
        Titles read ``w[1]``, ``mu[2]``: parameter and component (from 1).

    Examples
    --------
    >>> import matplotlib.pyplot as plt, numpy as np, xarray as xr
    >>> rng = np.random.default_rng(0)
    >>> post = xr.Dataset({p: (("chain", "draw", "component"), rng.random((2, 50, 2)))
    ...                    for p in ("w", "mu", "sigma")})
    >>> fig = plot_rank(xr.DataTree.from_dict({"posterior": post}))
    >>> sorted(ax.get_title() for ax in fig.axes)[:3]
    ['mu[1]', 'mu[2]', 'sigma[1]']
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    from gmm_bayes.bayes.status import RANK_P_MIN

    post = tree["posterior"].to_dataset()
    k, n_draws = post.sizes["component"], post.sizes["draw"]
    names = _free(post, PARAMS)
    cols = len(names) if k == 1 else k
    rows = -(-len(names) * k // cols)
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(2.2 * cols + 0.5, 1.9 * rows),
        sharex=True,
        sharey=True,
        squeeze=False,
        layout="constrained",
    )
    ranks = _fractional_ranks(post, names)  # (parameters, chains, draws)
    p_values = _rank_p_values(ranks)
    z = np.linspace(0, 1, n_points)
    ecdf = (np.sort(ranks, axis=-1)[..., None, :] <= z[:, None]).mean(axis=-1) - z
    # as arviz_plots: the Dvoretzky-Kiefer-Wolfowitz bound at the test's level, padded
    limit = max(1.3 * np.sqrt(np.log(2 / RANK_P_MIN) / (2 * n_draws)), np.abs(ecdf).max())
    for i, (ax, (name, j)) in enumerate(zip(axes.flat, _panels(names, k), strict=False)):
        for c, line in enumerate(ecdf[i]):
            ax.plot(z, line, color=component_color(j), lw=0.8, ls=CHAIN_STYLES[c % 4])
        ax.axhline(0, color="0.6", lw=0.5)
        ax.set_title(f"{name}[{j + 1}]")
        p = p_values[i]
        ax.text(0.02, 0.9, "constant" if np.isnan(p) else f"p = {p:.2f}",
                transform=ax.transAxes, fontsize="small", va="top",
                color="tab:red" if p < RANK_P_MIN else "black")  # fmt: skip
        ax.set_yticks([])
    axes[0, 0].set_ylim(-limit, limit)
    for ax in axes.flat[len(names) * k :]:
        ax.remove()
    for ax in axes[-1]:
        ax.set_xlabel("fractional rank")
    return fig


def _panels(names, k):
    return [(name, j) for name in names for j in range(k)]


def _fractional_ranks(post, names):
    """``(parameters, chains, draws)`` ranks of each parameter's draws among all its draws,
    divided by their number (the diagnostics' ``compute_ranks(..., relative=True)``)."""
    from scipy.stats import rankdata

    columns = [
        post[name].transpose("chain", "draw", "component").values[..., j]
        for name, j in _panels(names, post.sizes["component"])
    ]
    values = np.stack(columns)
    flat = values.reshape(values.shape[0], -1)
    return (rankdata(flat, axis=-1) / flat.shape[-1]).reshape(values.shape)


def _rank_p_values(ranks):
    """The rank test's p-value per parameter; nan for a constant one (not tested)."""
    from gmm_bayes.bayes.rank_test import rank_uniformity_p_values

    tested = np.ptp(ranks.reshape(ranks.shape[0], -1), axis=-1) > 0
    p = np.full(ranks.shape[0], np.nan)
    if ranks.shape[1] > 1 and tested.any():
        p[tested] = rank_uniformity_p_values(ranks[tested])
    return p


def plot_ppc(tree, *, num_samples=PPC_SAMPLES, column=None, units=None):
    """Posterior predictive check (ArviZ): kernel density estimates of ``num_samples``
    replicated data sets against the data's, the x-axis labelled with the data's column."""
    import arviz_plots as azp

    pc = azp.plot_ppc_dist(
        tree,
        num_samples=num_samples,
        kind="kde",
        sample_dims=SAMPLE_DIMS,
        backend="matplotlib",
        **_figure_kwargs(6, 3),
    )
    for ax in pc.get_viz("figure").axes:
        ax.set_title("")
        ax.set_xlabel(axis_label(column, units))
    return pc


def plot_loo_pit(tree):
    """LOO-PIT (ArviZ): ECDF difference of the LOO-PIT values, its uniformity test's p-value
    (``pot_c``), and the observations that drive a deviation marked; no envelope."""
    import arviz_plots as azp

    return azp.plot_loo_pit(tree, backend="matplotlib", **_figure_kwargs(6, 3))


def plot_energy(tree):
    """Energy plot (ArviZ): marginal energy and energy transition distributions, with BFMI."""
    import arviz_plots as azp

    return azp.plot_energy(tree, backend="matplotlib", **_figure_kwargs(6, 3))
