"""The modes of a posterior sample: which draws belong together, and the table of modes.

Every draw is a point ``(w, mu / S, sigma / S)`` (``S``: the sd of the best EM maximum's
mixture, per column for (N, d) data, where ``mu`` and ``sigma`` are (K, d); the means are
ordered, along the data's first principal axis for d >= 2, so there is no label switching).
EM's local maxima are the landmarks: maxima within ``SAME_LOGLIK`` (0.01) in log-likelihood and
``MERGE_ATOL`` in every scaled parameter are one mode (EM restarts that stopped a hair apart). A
draw within ``MODE_RADIUS`` of a landmark (largest scaled-parameter difference) belongs to the
nearest one.
The remaining draws seed a Gaussian-kernel mean shift over *all* draws: a seed in the tail of a
known mode climbs back to it, a seed in a region EM never reached converges to a mode of its
own (``em_maximum = -1``) when it holds at least ``VISIT_FRACTION`` of the draws.

:func:`assign_modes` is the analysis :func:`gmm_bayes.diagnose` reads; :func:`posterior_modes`
is the table for people and reports.
"""

from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy.special import logsumexp

from gmm_bayes.bayes.maxima import mixture_sd, scaled_parameters, tree_maxima
from gmm_bayes.conventions import INTERVAL_PROB, PARAMS
from gmm_bayes.mixture import log_density, univariate

#: the parameters a mode's table summarizes: those of ``PARAMS`` and, for d >= 2, ``cov``
_SUMMARIZED = (*PARAMS, "cov")

__all__ = [
    "MERGE_ATOL",
    "MODE_RADIUS",
    "SAME_LOGLIK",
    "VISIT_FRACTION",
    "ModeAssignment",
    "assign_modes",
    "posterior_modes",
]

#: EM maxima this close in log-likelihood ...
SAME_LOGLIK = 0.01
#: ... and in every scaled parameter (w, mu / S, sigma / S) are one mode
MERGE_ATOL = 0.1
#: a draw this close to a mode's centre (largest scaled-parameter difference) belongs to it
MODE_RADIUS = 0.5
#: a mode holds at least this fraction of all draws (smaller clusters join the nearest mode)
VISIT_FRACTION = 0.02
#: a peak joins a mode when the draws' density along the segment to the mode's centre never
#: falls below this fraction of the peak's: no valley, one basin
VALLEY_RATIO = 0.5
_SEGMENT_POINTS = 11
_MEAN_SHIFT_STEPS = 100
_MAX_SEEDS = 20


@dataclass(frozen=True)
class ModeAssignment:
    """Draws grouped into modes, heaviest mode first.

    Attributes
    ----------
    label : ndarray of int, shape (chains, draws)
        Mode of each draw.
    em_maximum : ndarray of int, shape (modes,)
        EM local maximum (index into the tree's ``em`` maxima) each mode contains; -1: a mode
        EM did not find.
    fraction : ndarray, shape (chains, modes)
        Fraction of each chain's draws in each mode (rows sum to 1).
    """

    label: np.ndarray
    em_maximum: np.ndarray
    fraction: np.ndarray

    @property
    def weight(self):
        """Fraction of all draws in each mode, shape (modes,)."""
        return self.fraction.mean(axis=0)


def assign_modes(idata):
    """Group the posterior draws into modes (module docstring: how).

    Parameters
    ----------
    idata : xarray.DataTree
        With ``posterior`` (``w``, ``mu``, ``sigma`` on ``chain, draw, component``) and,
        for landmarks, the ``em`` group of :func:`gmm_bayes.sample_posterior`.

    Returns
    -------
    ModeAssignment

    Examples
    --------
    >>> dims = ("chain", "draw", "component")
    >>> post = xr.Dataset({n: (dims, np.full((2, 3, 1), v)) for n, v in
    ...                    [("w", 1.0), ("mu", 0.1), ("sigma", 1.0)]})
    >>> modes = assign_modes(xr.DataTree.from_dict({"posterior": post}))
    >>> modes.weight.tolist(), modes.em_maximum.tolist()
    ([1.0], [-1])
    """
    maxima = tree_maxima(idata)
    points, scale = _scaled_draws(idata["posterior"], maxima)
    n_chains, n_draws, _ = points.shape
    flat = points.reshape(n_chains * n_draws, -1)
    centres, em_index = _landmarks(maxima, scale)
    centres, owner, em_index = _add_unfound_modes(flat, centres, em_index)
    label = owner[_nearest(flat, centres)]
    counts = np.bincount(label, minlength=em_index.size)
    keep = (counts >= VISIT_FRACTION * flat.shape[0]) | ((em_index >= 0) & (counts > 0))
    keep[np.argmax(counts)] = True
    kept_centres = np.isin(owner, np.flatnonzero(keep))
    mode_id = np.cumsum(keep) - 1
    owner = mode_id[owner[kept_centres]]
    em_index = em_index[keep]
    label = owner[_nearest(flat, centres[kept_centres])].reshape(n_chains, n_draws)
    fraction = np.stack([(label == m).mean(axis=1) for m in range(em_index.size)], axis=1)
    order = np.lexsort((em_index < 0, -fraction.mean(axis=0)))
    relabel = np.empty_like(order)
    relabel[order] = np.arange(order.size)
    return ModeAssignment(
        label=relabel[label], em_maximum=em_index[order], fraction=fraction[:, order]
    )


def posterior_modes(idata, *, prob=INTERVAL_PROB):
    """The posterior's modes, heaviest first: weight, its Monte Carlo error, parameters.

    Parameters
    ----------
    idata : xarray.DataTree
        From :func:`gmm_bayes.sample_posterior` (NUTS chains or SMC runs), for (N,) or (N, d)
        data.
    prob : float, default 0.94
        Mass of the central intervals.

    Returns
    -------
    xarray.Dataset
        On ``mode`` (and the parameters' own dims: ``component``, and ``dim``, ``dim_bis``
        for d >= 2): ``weight`` (posterior probability of the mode: the fraction of draws in
        it), ``weight_mcse`` (its Monte Carlo error: sd of the per-chain fractions /
        sqrt(chains); chains or SMC runs are independent), ``chain_weight`` (``chain,
        mode``), ``w``, ``mu``, ``sigma`` (and ``cov`` for d >= 2: means of the mode's draws)
        with ``w_low``/``w_high`` etc. (central ``prob`` intervals, elementwise),
        ``log_likelihood`` (of the data at the mode's mean parameters, with the mean ``cov``
        for d >= 2; nan without ``observed_data``) and ``em_maximum`` (the EM local maximum
        the mode contains, -1: not found by EM). A unimodal posterior has one mode of weight 1.

    Examples
    --------
    >>> dims = ("chain", "draw", "component")
    >>> rng = np.random.default_rng(0)
    >>> post = xr.Dataset({"w": (dims, np.ones((2, 50, 1))),
    ...                    "mu": (dims, 0.1 * rng.normal(size=(2, 50, 1))),
    ...                    "sigma": (dims, np.exp(0.1 * rng.normal(size=(2, 50, 1))))})
    >>> table = posterior_modes(xr.DataTree.from_dict({"posterior": post}))
    >>> table.sizes["mode"], float(table["weight"][0])
    (1, 1.0)
    """
    modes = assign_modes(idata)
    posterior = idata["posterior"].to_dataset()
    names = [name for name in _SUMMARIZED if name in posterior]
    post = posterior[names].transpose("chain", "draw", "component", ...)
    y = _observed(idata)
    tails = [(1 - prob) / 2, (1 + prob) / 2]
    summaries = [_mode_summary(post, modes.label == m, tails) for m in range(modes.em_maximum.size)]
    variables = {
        name: (("mode", *post[key].dims[2:]), np.array([s[name] for s in summaries]))
        for key in names
        for name in (key, f"{key}_low", f"{key}_high")
    }
    n_chains = modes.fraction.shape[0]
    spread = (
        modes.fraction.std(axis=0, ddof=1) if n_chains > 1 else np.full(modes.weight.shape, np.nan)
    )
    variables.update(
        weight=("mode", modes.weight),
        weight_mcse=("mode", spread / np.sqrt(n_chains)),
        chain_weight=(("chain", "mode"), modes.fraction),
        log_likelihood=("mode", np.array([_log_likelihood(y, s) for s in summaries])),
        em_maximum=("mode", modes.em_maximum),
    )
    coords = {name: post[name].values for name in post.dims if name != "draw"}
    coords["mode"] = np.arange(modes.em_maximum.size)
    return xr.Dataset(variables, coords=coords, attrs={"interval_prob": prob})


def _mode_summary(post, chosen, tails):
    """Mean and ``tails`` quantiles of each variable over the draws ``chosen`` (chains,
    draws): ``{name: mean, name_low: ..., name_high: ...}``, each of the variable's shape
    without chain and draw."""
    summary = {}
    for name, var in post.data_vars.items():
        values = np.asarray(var.values)[chosen]  # (n_m, K, ...)
        summary[name] = values.mean(axis=0)
        summary[f"{name}_low"], summary[f"{name}_high"] = np.quantile(values, tails, axis=0)
    return summary


def _scaled_draws(posterior, maxima):
    """Draws as ``(chains, draws, P)`` scaled points (P = K + 2Kd, d = 1 for (N,) data), and
    the scale ``S`` (a float, or (d,))."""
    post = {n: np.asarray(posterior[n].transpose("chain", "draw", ...).values) for n in PARAMS}
    if maxima is not None:
        scale = mixture_sd(maxima["w"][0], maxima["mu"][0], maxima["sigma"][0])
    else:
        flat = {n: v.reshape(-1, *v.shape[2:]).mean(axis=0) for n, v in post.items()}
        scale = mixture_sd(flat["w"], flat["mu"], flat["sigma"])
    return scaled_parameters(post["w"], post["mu"], post["sigma"], scale), scale


def _landmarks(maxima, scale):
    """EM maxima merged into modes: ``(centres (M, P), EM index of each (M,))``."""
    if maxima is None:
        return np.empty((0, 0)), np.empty(0, dtype=np.int64)
    w, mu, sigma = (np.asarray(maxima[n], dtype=np.float64) for n in PARAMS)
    points = scaled_parameters(w, mu, sigma, scale)
    loglik = np.asarray(maxima["log_likelihood"], dtype=np.float64)
    kept = []
    for j in np.argsort(-loglik, kind="stable"):
        same = [
            i
            for i in kept
            if abs(loglik[i] - loglik[j]) <= SAME_LOGLIK
            and np.max(np.abs(points[i] - points[j])) <= MERGE_ATOL
        ]
        if not same:
            kept.append(int(j))
    kept.sort()
    return points[kept], np.array(kept, dtype=np.int64)


def _add_unfound_modes(flat, centres, em_index):
    """Mean-shift the draws far from every centre until few are left.

    Returns ``(centres (C, P), owner (C,): the mode of each centre, em_index (modes,))``: a
    peak within ``MODE_RADIUS`` of a centre joins that centre's mode (it widens the mode to a
    tail the first centre did not reach: the seed becomes one of its centres), a peak farther
    from all is a new mode.
    """
    owner = np.arange(em_index.size)
    if centres.size == 0:
        centres = _mean_shift(flat, flat.mean(axis=0))[None, :]
        owner, em_index = np.array([0]), np.array([-1], dtype=np.int64)
    for _ in range(_MAX_SEEDS):
        far = np.flatnonzero(_distance(flat, centres).min(axis=1) > MODE_RADIUS)
        if far.size < VISIT_FRACTION * flat.shape[0]:
            break
        seed = flat[far[0]]
        peak = _mean_shift(flat, seed)
        distance = _distance(peak[None, :], centres)[0]
        joined = _joined_centre(flat, peak, centres, distance)
        if joined is not None:  # the seed's region drains into a known mode
            owner = np.append(owner, owner[joined])
            centres = np.vstack([centres, seed])
        else:
            owner = np.append(owner, em_index.size)
            em_index = np.append(em_index, -1)
            centres = np.vstack([centres, peak])
    return centres, owner, em_index


def _joined_centre(flat, peak, centres, distance):
    """The centre whose mode ``peak`` belongs to (None: a new mode): the nearest one within
    ``MODE_RADIUS``, else the nearest one with no density valley between them."""
    if distance.min() <= MODE_RADIUS:
        return int(np.argmin(distance))
    for c in np.argsort(distance, kind="stable"):
        if _no_valley(flat, peak, centres[c]):
            return int(c)
    return None


def _no_valley(flat, peak, centre):
    """Whether the draws' kernel density on the segment from ``peak`` to ``centre`` stays at
    least ``VALLEY_RATIO`` times its value at the peak (log densities, bandwidth of
    :func:`_mean_shift`).

    The peak's own density is the reference, not the lower end's: a centre the draws do not
    visit (an EM maximum far from every draw) has a density near 0 and would otherwise absorb
    any peak (PyMC's SMC runs at d = 5 that all ended in a one-component solution were read
    as EM's two-component mode)."""
    t = np.linspace(0.0, 1.0, _SEGMENT_POINTS)[:, None]
    points = peak[None, :] + t * (centre - peak)[None, :]
    z = (flat[None, :, :] - points[:, None, :]) / (0.5 * MODE_RADIUS)
    log_density = logsumexp(-0.5 * np.sum(z * z, axis=-1), axis=1)
    return bool(log_density.min() >= np.log(VALLEY_RATIO) + log_density[0])


def _mean_shift(flat, start):
    """Gaussian-kernel mean shift (bandwidth ``MODE_RADIUS / 2`` per coordinate) to a peak of
    the draws' density."""
    centre = start
    for _ in range(_MEAN_SHIFT_STEPS):
        log_kernel = -0.5 * np.sum(((flat - centre) / (0.5 * MODE_RADIUS)) ** 2, axis=1)
        kernel = np.exp(log_kernel - log_kernel.max())
        moved = kernel @ flat / kernel.sum()
        if np.max(np.abs(moved - centre)) < 1e-3 * MODE_RADIUS:
            return moved
        centre = moved
    return centre


def _distance(points, centres):
    """Largest scaled-parameter difference, shape (points, centres)."""
    return np.max(np.abs(points[:, None, :] - centres[None, :, :]), axis=-1)


def _nearest(flat, centres):
    return np.argmin(_distance(flat, centres), axis=1)


def _observed(idata):
    """The data, shape (N,) or (N, d); None without ``observed_data``."""
    if "observed_data" not in idata.children:
        return None
    return np.asarray(idata["observed_data"]["y"].values, dtype=np.float64)


def _log_likelihood(y, params):
    """The data's mixture log-likelihood at a mode's mean parameters."""
    if y is None:
        return float("nan")
    if "cov" in params:
        return float(np.sum(log_density(y, params["w"], params["mu"], params["cov"])))
    x, means, covariances = univariate(y.ravel(), params["mu"], params["sigma"] ** 2)
    return float(np.sum(log_density(x, params["w"], means, covariances)))
