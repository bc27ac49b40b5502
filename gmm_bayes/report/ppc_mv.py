"""The posterior predictive check of a multivariate (d >= 2) posterior: its numbers, its figure
and a caption that says what the figure draws.

Each column's marginal ECDF of replicated data sets against the data's (does the mixture
reproduce each column's shape?), and for each pair of columns the correlation in every
replicated data set against the data's (does it reproduce how the columns move together?),
with the posterior predictive p-value P(correlation of a replicate >= the data's) (Gelman,
Meng & Stern 1996). The replicates are the tree's ``posterior_predictive`` group (one data set
of N rows per draw, :func:`gmm_bayes.sample_posterior` with ``pointwise=True``).
"""

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from gmm_bayes.report.figures import plain_text

__all__ = [
    "PPC_SAMPLES",
    "REPLICATE_COLOR",
    "PPCNumbers",
    "plot_ppc_mv",
    "ppc_caption",
    "ppc_numbers",
]

#: replicated data sets whose ECDFs are drawn (every replicate enters the correlations)
PPC_SAMPLES = 40
#: the replicates' colour (the data are black)
REPLICATE_COLOR = "#88CCEE"


@dataclass(frozen=True)
class PPCNumbers:
    """What the check draws.

    Attributes
    ----------
    observed : ndarray, shape (N, d)
    replicates : ndarray, shape (S, N, d)
        The replicated data sets whose ECDFs are drawn (``S <= PPC_SAMPLES``, evenly spaced
        over the draws).
    pairs : list of (int, int)
        Every pair of columns.
    correlation_observed : ndarray, shape (P,)
        The data's correlation of each pair.
    correlation_replicated : ndarray, shape (R, P)
        Each pair's correlation in every replicated data set (R = chains x draws).
    p_values : ndarray, shape (P,)
        Share of replicates whose correlation is at least the data's.
    """

    observed: np.ndarray
    replicates: np.ndarray
    pairs: list
    correlation_observed: np.ndarray
    correlation_replicated: np.ndarray
    p_values: np.ndarray


def ppc_numbers(tree, num_samples=PPC_SAMPLES):
    """The check's numbers from a posterior tree with ``posterior_predictive`` and
    ``observed_data`` groups (``y`` on (chain, draw, obs, dim) and (obs, dim)).

    Examples
    --------
    >>> import xarray as xr
    >>> rng = np.random.default_rng(0)
    >>> y = rng.normal(size=(2, 5, 30, 2))
    >>> tree = xr.DataTree.from_dict({
    ...     "posterior_predictive": xr.Dataset({"y": (("chain", "draw", "obs", "dim"), y)}),
    ...     "observed_data": xr.Dataset({"y": (("obs", "dim"), y[0, 0])})})
    >>> numbers = ppc_numbers(tree, num_samples=4)
    >>> numbers.replicates.shape, numbers.correlation_replicated.shape, numbers.pairs
    ((4, 30, 2), (10, 1), [(0, 1)])
    """
    observed = tree["observed_data"]["y"].transpose("obs", "dim").values
    predicted = tree["posterior_predictive"]["y"].transpose("chain", "draw", "obs", "dim").values
    every = predicted.reshape(-1, *observed.shape)
    shown = np.linspace(0, len(every) - 1, min(num_samples, len(every))).round().astype(int)
    pairs = list(combinations(range(observed.shape[1]), 2))
    observed_corr = _correlations(observed[None], pairs)[0]
    replicated_corr = _correlations(every, pairs)
    return PPCNumbers(
        observed=observed,
        replicates=every[shown],
        pairs=pairs,
        correlation_observed=observed_corr,
        correlation_replicated=replicated_corr,
        p_values=(replicated_corr >= observed_corr).mean(axis=0),
    )


def _correlations(data, pairs):
    """Pearson correlation of each pair of columns in each data set: (R, N, d) -> (R, P)."""
    centred = data - data.mean(axis=1, keepdims=True)
    scale = np.sqrt((centred**2).mean(axis=1))  # (R, d)
    return np.stack(
        [(centred[..., i] * centred[..., j]).mean(axis=1) / (scale[:, i] * scale[:, j])
         for i, j in pairs],
        axis=-1,
    )  # fmt: skip


def plot_ppc_mv(axes, numbers, *, columns):
    """Each column's ECDFs (replicates light blue, data black), then each pair's correlation
    in the replicates (histogram) and in the data (black line).

    Parameters
    ----------
    axes : sequence of matplotlib.axes.Axes
        ``d + P`` of them (extra axes are hidden).
    numbers : PPCNumbers
    columns : sequence of str

    Returns
    -------
    dict
        ``"replicates"`` and ``"data"``: the ECDF lines per column (list of lists);
        ``"histograms"`` (the bars' containers) and ``"observed"`` (the vertical lines) per
        pair.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> rng = np.random.default_rng(0)
    >>> obs, reps = rng.normal(size=(20, 2)), rng.normal(size=(3, 20, 2))
    >>> numbers = PPCNumbers(obs, reps, [(0, 1)], np.array([0.1]), np.array([[0.0], [0.2]]),
    ...                      np.array([0.5]))
    >>> fig, axes = plt.subplots(1, 3)
    >>> drawn = plot_ppc_mv(axes, numbers, columns=["a", "b"])
    >>> [len(lines) for lines in drawn["replicates"]], axes[2].get_title()
    ([3, 3], 'corr(a, b): p = 0.50')
    >>> plt.close(fig)
    """
    d = numbers.observed.shape[1]
    drawn = {"replicates": [], "data": [], "histograms": [], "observed": []}
    for j in range(d):
        ax = axes[j]
        drawn["replicates"].append(
            [ax.ecdf(rep[:, j], color=REPLICATE_COLOR, lw=0.7) for rep in numbers.replicates]
        )
        drawn["data"].append([ax.ecdf(numbers.observed[:, j], color="black", lw=1.6)])
        ax.set_xlabel(plain_text(columns[j]))
        ax.set_ylabel("ECDF")
    for p, (i, j) in enumerate(numbers.pairs):
        ax = axes[d + p]
        drawn["histograms"].append(
            ax.hist(numbers.correlation_replicated[:, p], bins=30, color=REPLICATE_COLOR)[2]
        )
        drawn["observed"].append(ax.axvline(numbers.correlation_observed[p], color="black"))
        names = plain_text(f"{columns[i]}, {columns[j]}")
        ax.set_title(f"corr({names}): p = {numbers.p_values[p]:.2f}", fontsize="medium")
        ax.set_xlabel("correlation")
        ax.set_yticks([])
    for ax in axes[d + len(numbers.pairs) :]:
        ax.set_visible(False)
    return drawn


def ppc_caption(numbers, columns):
    """The check's caption, stating the numbers :func:`plot_ppc_mv` draws.

    Examples
    --------
    >>> numbers = PPCNumbers(np.zeros((5, 2)), np.zeros((3, 5, 2)), [(0, 1)], np.array([0.9]),
    ...                      np.zeros((8, 1)), np.array([0.0]))
    >>> ppc_caption(numbers, ["a", "b"]).split(": ")[2].split(";")[0]
    'a and b 0.900 (p = 0.00)'
    """
    n_shown, n_all = len(numbers.replicates), len(numbers.correlation_replicated)
    stats = "; ".join(
        f"{columns[i]} and {columns[j]} {numbers.correlation_observed[p]:.3f} "
        f"(p = {numbers.p_values[p]:.2f})"
        for p, (i, j) in enumerate(numbers.pairs)
    )
    return (
        f"Posterior predictive check: the ECDF of each column ({', '.join(columns)}) in "
        f"{n_shown} replicated data sets (light blue) and in the data (black). Then the "
        f"correlation of each pair of columns in all {n_all} replicated data sets (histogram) "
        f"and in the data (black line): {stats}; p is the share of replicates whose "
        "correlation is at least the data's (near 0 or 1: the model misses it)."
    )
