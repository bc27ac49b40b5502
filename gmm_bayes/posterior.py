"""Posterior sampling warm-started by EM, per-observation membership, and honest diagnostics.

:func:`sample_posterior` fits EM (or takes a fit), checks that the PyMC model is EM's model
(:func:`gmm_bayes.check_model`), starts every chain at an EM local maximum and returns one
``xarray.DataTree`` holding everything a report needs. :func:`membership` and :func:`diagnose`
read such a tree (they are also stored in it, as groups ``membership`` and ``diagnostics``).
"""

import contextlib
import dataclasses
import json
import logging
import numbers
import warnings
from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy.special import logsumexp

from gmm_bayes._validation import as_data, as_int, as_n_components
from gmm_bayes.em import fit_em
from gmm_bayes.model import build_model, check_model, initial_point, to_value_space
from gmm_bayes.result import EMResult

__all__ = [
    "Diagnostics",
    "chain_starts",
    "diagnose",
    "distinct_maxima",
    "membership",
    "sample_posterior",
]

SAMPLERS = ("nutpie", "pymc")
#: thresholds of the verdict (Vehtari et al. 2021; Betancourt 2016)
RHAT_MAX = 1.01
ESS_PER_CHAIN_MIN = 100
BFMI_MIN = 0.3
#: EM local maxima whose log-likelihood is this far below the best are not used as starts
START_WINDOW = 10.0
#: local maxima closer than this (max abs difference of w, mu / sd, sigma / sd) are one mode
SAME_MODE_ATOL = 0.02
#: an EM local maximum nearest to at least this fraction of all draws counts as visited
VISIT_FRACTION = 0.02
#: restarts of the EM fit made when ``em`` is not given
EM_RESTARTS = 10
_PARAMS = ("w", "mu", "sigma")


# --------------------------------------------------------------------------------------------
# sampling
# --------------------------------------------------------------------------------------------


def sample_posterior(
    x,
    n_components=2,
    *,
    em=None,
    priors=None,
    draws=1000,
    tune=1000,
    chains=4,
    cores=None,
    random_seed=None,
    sampler="nutpie",
    target_accept=0.9,
    progressbar=False,
):
    """Sample the mixture's posterior, every chain starting at an EM estimate.

    Parameters
    ----------
    x : array_like, shape (N,) or (N, 1)
        The data, validated as by :func:`gmm_bayes.fit_em`.
    n_components : int
        K.
    em : EMResult, optional
        EM estimate for the same data and K. None: ``fit_em(x, K, n_init=10)`` seeded from
        ``random_seed``. Its ``local_maxima`` decide the chains' starts (:func:`chain_starts`).
    priors : gmm_bayes.Priors, optional
        Priors of :func:`gmm_bayes.build_model` (default ``Priors()``).
    draws, tune : int, default 1000
        Kept draws and tuning steps per chain.
    chains : int, default 4
    cores : int, optional
        Chains run in parallel (default: all, up to the number of CPUs).
    random_seed : None, int or numpy.random.SeedSequence
        Seeds EM, the sampler and the posterior predictive draws: the same seed gives the
        same tree.
    sampler : {"nutpie", "pymc"}
        nutpie's NUTS (default) or PyMC's own.
    target_accept : float, default 0.9
        NUTS step-size target.
    progressbar : bool, default False

    Returns
    -------
    xarray.DataTree
        Groups ``posterior`` (``w``, ``mu``, ``sigma`` on ``chain, draw, component``),
        ``sample_stats``, ``log_likelihood`` (``y`` on ``chain, draw, obs``),
        ``posterior_predictive``, ``observed_data``, ``em`` (the EM estimate on
        ``component``, the distinct local maxima on ``maximum, component`` and the maximum
        each chain started at, ``chain_start``), ``membership`` (:func:`membership`) and
        ``diagnostics`` (:func:`diagnose`; the verdict is its ``verdict`` attribute). Written
        with ``to_netcdf(..., engine="h5netcdf")`` it reads back identical.

    Raises
    ------
    ModelMismatchError
        The model's log-likelihood at EM's estimate is not EM's (:func:`gmm_bayes.check_model`).
    """
    x = as_data(x)
    k = as_n_components(n_components, x.size)
    opts = _sampling_options(draws, tune, chains, cores, sampler, target_accept)
    seeds = _seed_sequence(random_seed).spawn(3)
    if em is None:
        em = fit_em(x, k, n_init=EM_RESTARTS, random_state=np.random.default_rng(seeds[0]))
    _check_em(em, x, k)

    model = build_model(x, k, priors=priors)
    check_model(model, em)
    maxima = distinct_maxima(em)
    plan = chain_starts(maxima, opts["chains"])
    starts = [initial_point(model, maxima[i]) for i in range(max(plan) + 1)]
    run = _sample_nutpie if opts["sampler"] == "nutpie" else _sample_pymc
    tree = run(model, starts, plan, opts, _int_seed(seeds[1]), progressbar)

    import pymc as pm

    with _pymc_log_level(logging.INFO if progressbar else logging.WARNING):
        pm.compute_log_likelihood(tree, model=model, extend_inferencedata=True, progressbar=False)
        pm.sample_posterior_predictive(
            tree,
            model=model,
            extend_inferencedata=True,
            random_seed=_int_seed(seeds[2]),
            progressbar=progressbar,
        )
    tree["em"] = xr.DataTree(_em_dataset(em, maxima, plan))
    tree["membership"] = xr.DataTree(membership(tree))
    tree["diagnostics"] = xr.DataTree(diagnose(tree).to_dataset())
    tree.attrs.update(_root_attrs(k, opts, random_seed, priors))
    return _netcdf_ready(tree)


@contextlib.contextmanager
def _pymc_log_level(level):
    """PyMC logs "Sampling: [y]" and the like at INFO; keep it quiet unless asked."""
    logger = logging.getLogger("pymc")
    previous = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(previous)


def _sampling_options(draws, tune, chains, cores, sampler, target_accept):
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    if isinstance(target_accept, bool) or not isinstance(target_accept, numbers.Real):
        raise TypeError(f"target_accept must be a number in (0, 1), got {target_accept!r}")
    if not 0 < target_accept < 1:
        raise ValueError(f"target_accept must be in (0, 1), got {target_accept}")
    return {
        "draws": as_int(draws, "draws", minimum=1),
        "tune": as_int(tune, "tune", minimum=0),
        "chains": as_int(chains, "chains", minimum=1),
        "cores": None if cores is None else as_int(cores, "cores", minimum=1),
        "sampler": sampler,
        "target_accept": float(target_accept),
    }


def _seed_sequence(random_seed):
    if random_seed is None:
        return np.random.SeedSequence()
    if isinstance(random_seed, np.random.SeedSequence):
        return random_seed
    if isinstance(random_seed, bool) or not isinstance(random_seed, numbers.Integral):
        raise TypeError(
            f"random_seed must be None, a non-negative int or a numpy SeedSequence, got "
            f"{random_seed!r}"
        )
    if random_seed < 0:
        raise ValueError(f"random_seed must be >= 0, got {random_seed}")
    return np.random.SeedSequence(int(random_seed))


def _int_seed(seed_sequence):
    return int(seed_sequence.generate_state(1, dtype=np.uint32)[0])


def _check_em(em, x, k):
    if not isinstance(em, EMResult):
        raise TypeError(f"em must be a gmm_bayes.EMResult or None, got {type(em).__name__}")
    if em.n_components != k:
        raise ValueError(
            f"em has {em.n_components} components but n_components={k}; fit EM with the same K"
        )
    if em.n_obs != x.size:
        raise ValueError(f"em was fitted to {em.n_obs} observations but x has {x.size}")


def distinct_maxima(em, *, atol=SAME_MODE_ATOL):
    """EM's local maxima with near-duplicates merged, best first.

    EM restarts that stop a hair apart (tolerance ``tol``) are the same mode; two maxima are
    merged when no weight, mean / sd(x) or sigma / sd(x) differs by more than ``atol``.

    Parameters
    ----------
    em : EMResult

    Returns
    -------
    list of EMResult
        ``em`` itself first.
    """
    candidates = [em, *[m for m in em.local_maxima[1:]]]
    scale = _em_scale(em)
    kept = []
    for cand in candidates:
        vec = _param_vector(cand, scale)
        if all(np.max(np.abs(vec - _param_vector(other, scale))) > atol for other in kept):
            kept.append(cand)
    return kept


def _em_scale(em):
    """A spread of the data from EM's estimate (the mixture's sd)."""
    mean = float(np.sum(em.weights * em.means))
    var = float(np.sum(em.weights * (em.variances + (em.means - mean) ** 2)))
    return np.sqrt(var) if var > 0 else 1.0


def _param_vector(fit, scale):
    return np.concatenate([fit.weights, np.asarray(fit.means) / scale, fit.sigmas / scale])


def chain_starts(maxima, chains, *, window=START_WINDOW):
    """Which EM local maximum each chain starts at.

    The best maxima (log-likelihood within ``window`` of the best, at most one per chain) share
    the chains in contiguous blocks, the best taking any remainder: with two maxima and four
    chains, ``[0, 0, 1, 1]``; with three, ``[0, 0, 1, 2]``.

    Parameters
    ----------
    maxima : sequence of EMResult
        Distinct local maxima, best first (:func:`distinct_maxima`).
    chains : int

    Returns
    -------
    list of int, length ``chains``
        Index into ``maxima`` per chain.
    """
    best = maxima[0].log_likelihood
    usable = [i for i, m in enumerate(maxima) if m.log_likelihood >= best - window]
    n = min(len(usable), chains)
    return [usable[c * n // chains] for c in range(chains)]


def _flat_value_point(model, start):
    values = to_value_space(model, start)
    return np.concatenate([values[model.rvs_to_values[rv].name].ravel() for rv in model.free_RVs])


def _sample_nutpie(model, starts, plan, opts, seed, progressbar):
    """nutpie, compiled once; one ``nutpie.sample`` call per starting point."""
    import nutpie

    compiled = nutpie.compile_pymc_model(
        model, backend="numba", initial_points=starts[0], jitter_rvs=set()
    )
    group_seeds = np.random.SeedSequence(seed).spawn(len(starts))
    parts = []
    for index, start in enumerate(starts):
        n = plan.count(index)
        if n == 0:
            continue
        flat = _flat_value_point(model, start)
        fixed = dataclasses.replace(
            compiled, initial_point_func=lambda _seed=None, p=flat: p.copy()
        )
        parts.append(
            nutpie.sample(
                fixed,
                draws=opts["draws"],
                tune=max(opts["tune"], 1),  # nuts-rs needs at least one tuning step
                chains=n,
                cores=n if opts["cores"] is None else min(n, opts["cores"]),
                seed=_int_seed(group_seeds[index]),
                save_warmup=False,
                progress_bar=progressbar,
                target_accept=opts["target_accept"],
            )
        )
    return xr.DataTree.from_dict(
        {
            "posterior": _concat_chains([p.posterior.to_dataset() for p in parts]),
            "sample_stats": _concat_chains([p.sample_stats.to_dataset() for p in parts]),
        }
    )


def _concat_chains(datasets):
    out = xr.concat(datasets, dim="chain", combine_attrs="override")
    return out.assign_coords(chain=np.arange(out.sizes["chain"]))


def _sample_pymc(model, starts, plan, opts, seed, progressbar):
    """PyMC's NUTS, every chain from its own start (no jitter)."""
    import pymc as pm

    return pm.sample(
        draws=opts["draws"],
        tune=opts["tune"],
        chains=opts["chains"],
        cores=opts["cores"],  # None: PyMC's default, min(4, CPUs) processes
        random_seed=seed,
        initvals=[starts[i] for i in plan],
        init="adapt_diag",
        nuts_sampler="pymc",
        target_accept=opts["target_accept"],
        progressbar=progressbar,
        quiet=not progressbar,
        compute_convergence_checks=False,
        model=model,
    )


def _em_dataset(em, maxima, plan):
    ds = em.to_dataset()
    ds = ds.assign(
        maximum_w=(("maximum", "component"), np.array([m.weights for m in maxima])),
        maximum_mu=(("maximum", "component"), np.array([m.means for m in maxima])),
        maximum_sigma=(("maximum", "component"), np.array([m.sigmas for m in maxima])),
        maximum_log_likelihood=("maximum", np.array([m.log_likelihood for m in maxima])),
        chain_start=("chain", np.array(plan, dtype=np.int64)),
    )
    return ds.assign_coords(maximum=np.arange(len(maxima)), chain=np.arange(len(plan)))


def _root_attrs(k, opts, random_seed, priors):
    return {
        "n_components": int(k),
        "sampler": opts["sampler"],
        "target_accept": opts["target_accept"],
        "random_seed": -1 if not isinstance(random_seed, numbers.Integral) else int(random_seed),
        "priors": repr(priors) if priors is not None else "Priors()",
    }


def _netcdf_ready(tree):
    """Drop what NetCDF cannot hold (object arrays) and make attributes plain scalars/strings."""
    for node in tree.subtree:
        ds = node.to_dataset()
        drop = [name for name, var in ds.data_vars.items() if var.dtype == object]
        ds = ds.drop_vars(drop)
        ds.attrs = {key: _plain_attr(value) for key, value in ds.attrs.items()}
        node.dataset = ds
    return tree


def _plain_attr(value):
    """NetCDF attributes: numbers, strings and lists of them (ArviZ reads ``sample_dims`` as a
    list); booleans become ints and anything else JSON text."""
    if isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, str | int | float | np.integer | np.floating):
        return value
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    return json.dumps(value, default=str)


# --------------------------------------------------------------------------------------------
# membership
# --------------------------------------------------------------------------------------------


def membership(idata, *, prob=0.94, block_size=None):
    """Posterior probability that each observation belongs to each component.

    For every draw, ``r_nk = w_k N(y_n | mu_k, sigma_k) / sum_j w_j N(y_n | mu_j, sigma_j)``;
    the ordered means keep component ``k`` the same component in every draw, so the draws can
    be summarized per ``(n, k)``.

    Parameters
    ----------
    idata : xarray.DataTree
        With ``posterior`` (``w``, ``mu``, ``sigma``) and ``observed_data`` (``y``).
    prob : float, default 0.94
        Mass of the equal-tailed interval.
    block_size : int, optional
        Observations per block (memory is ``block_size * K * draws``); default keeps a block
        near 8 million numbers.

    Returns
    -------
    xarray.Dataset
        ``mean``, ``lower``, ``upper`` on ``(obs, component)``; ``y`` on ``obs``; attribute
        ``prob``.
    """
    if not 0 < prob < 1:
        raise ValueError(f"prob must be in (0, 1), got {prob}")
    post = idata["posterior"]
    w, mu, sigma = (_draws(post[name]) for name in _PARAMS)  # (S, K) each
    y = np.asarray(idata["observed_data"]["y"].values, dtype=np.float64)
    obs = idata["observed_data"]["y"].coords.get("obs", np.arange(y.size))
    n_draws, k = w.shape
    block = block_size or max(1, int(8e6 // (n_draws * k)))
    tail = (1 - prob) / 2
    mean = np.empty((y.size, k))
    lower = np.empty((y.size, k))
    upper = np.empty((y.size, k))
    with np.errstate(divide="ignore"):
        log_w = np.log(w)
    for start in range(0, y.size, block):
        part = slice(start, start + block)
        diff = (y[part, None, None] - mu[None]) / sigma[None]  # (B, S, K)
        log_joint = log_w[None] - np.log(sigma)[None] - 0.5 * diff * diff
        resp = np.exp(log_joint - logsumexp(log_joint, axis=2, keepdims=True))
        mean[part] = resp.mean(axis=1)
        lower[part], upper[part] = np.quantile(resp, [tail, 1 - tail], axis=1)
    dims = ("obs", "component")
    coords = {"obs": np.asarray(obs), "component": post["w"].coords["component"].values}
    return xr.Dataset(
        {
            "mean": (dims, mean),
            "lower": (dims, lower),
            "upper": (dims, upper),
            "y": ("obs", y),
        },
        coords=coords,
        attrs={"prob": float(prob)},
    )


def _draws(da):
    """``(chain * draw, ...)`` values of a posterior variable."""
    values = np.asarray(da.transpose("chain", "draw", ...).values, dtype=np.float64)
    return values.reshape(-1, *values.shape[2:])


# --------------------------------------------------------------------------------------------
# diagnostics
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Diagnostics:
    """Convergence summary of a posterior sample, with a plain-language verdict.

    Attributes
    ----------
    n_divergent : int
        Divergent transitions after tuning, all chains.
    max_rhat : float
        Largest rank-normalized split R-hat over the posterior's variables (``w``, ``mu``,
        ``sigma``, and ``beta`` for the hierarchical prior); constant ones (``w`` when K=1)
        are skipped.
    min_ess_bulk, min_ess_tail : float
        Smallest bulk and tail effective sample sizes.
    bfmi : ndarray, shape (chains,)
        Energy Bayesian fraction of missing information per chain.
    chain_start : ndarray of int, shape (chains,)
        EM local maximum each chain started at (-1 when unknown).
    chain_mode : ndarray of int, shape (chains,)
        EM local maximum nearest to most of each chain's draws.
    mode_fraction : ndarray, shape (chains, maxima)
        Fraction of each chain's draws nearest to each EM local maximum.
    converged : bool
        No divergences, R-hat <= 1.01, ESS >= 100 per chain, BFMI >= 0.3.
    multimodal : bool
        Draws cluster around more than one EM local maximum and the chains did not mix
        between them (chains disagree, or R-hat / ESS fail).
    verdict : str
        The summary in words.
    """

    n_divergent: int
    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    bfmi: np.ndarray
    chain_start: np.ndarray
    chain_mode: np.ndarray
    mode_fraction: np.ndarray
    converged: bool
    multimodal: bool
    verdict: str

    def to_dataset(self):
        """The summary as an ``xarray.Dataset`` (verdict and flags in its attributes)."""
        chains = np.arange(self.bfmi.size)
        return xr.Dataset(
            {
                "n_divergent": ((), self.n_divergent),
                "max_rhat": ((), self.max_rhat),
                "min_ess_bulk": ((), self.min_ess_bulk),
                "min_ess_tail": ((), self.min_ess_tail),
                "bfmi": ("chain", self.bfmi),
                "chain_start": ("chain", self.chain_start),
                "chain_mode": ("chain", self.chain_mode),
                "mode_fraction": (("chain", "maximum"), self.mode_fraction),
            },
            coords={"chain": chains, "maximum": np.arange(self.mode_fraction.shape[1])},
            attrs={
                "verdict": self.verdict,
                "converged": int(self.converged),
                "multimodal": int(self.multimodal),
            },
        )


def diagnose(idata):
    """Divergences, R-hat, ESS, BFMI and which EM local maximum each chain stayed near.

    Parameters
    ----------
    idata : xarray.DataTree
        From :func:`sample_posterior` (needs ``posterior``, ``sample_stats`` and, to name
        modes, the ``em`` group).

    Returns
    -------
    Diagnostics
    """
    import arviz_stats as azs

    everything = idata["posterior"].to_dataset()  # w, mu, sigma (and beta)
    post = everything[list(_PARAMS)]
    n_chains = post.sizes["chain"]
    stats = idata["sample_stats"].to_dataset()
    n_div = int(stats["diverging"].sum()) if "diverging" in stats else 0
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # constant draws (w with K=1) give nan
        rhat = _extreme(azs.rhat(everything), max)
        ess_bulk = _extreme(azs.ess(everything, method="bulk"), min)
        ess_tail = _extreme(azs.ess(everything, method="tail"), min)
        bfmi = np.atleast_1d(np.asarray(azs.bfmi(idata)["energy"].values, dtype=np.float64))
    maxima = _maxima(idata)
    fraction = _mode_fractions(post, maxima)
    start = (
        np.asarray(idata["em"]["chain_start"].values, dtype=np.int64)
        if "em" in idata.children and "chain_start" in idata["em"]
        else np.full(n_chains, -1)
    )
    converged = (
        n_div == 0
        and rhat <= RHAT_MAX
        and ess_bulk >= ESS_PER_CHAIN_MIN * n_chains
        and ess_tail >= ESS_PER_CHAIN_MIN * n_chains
        and bool(np.all(bfmi >= BFMI_MIN))
    )
    modes = np.argmax(fraction, axis=1)
    visited = np.flatnonzero(fraction.mean(axis=0) >= VISIT_FRACTION)
    disagree = np.unique(modes).size > 1
    multimodal = bool(visited.size > 1 and (disagree or not converged))
    summary = dict(n_div=n_div, rhat=rhat, ess_bulk=ess_bulk, ess_tail=ess_tail, bfmi=bfmi)
    verdict = _verdict(summary, n_chains, converged, multimodal, disagree, fraction, maxima)
    return Diagnostics(
        n_divergent=n_div,
        max_rhat=rhat,
        min_ess_bulk=ess_bulk,
        min_ess_tail=ess_tail,
        bfmi=bfmi,
        chain_start=start,
        chain_mode=modes.astype(np.int64),
        mode_fraction=fraction,
        converged=bool(converged),
        multimodal=multimodal,
        verdict=verdict,
    )


def _extreme(ds, pick):
    values = [float(pick(np.asarray(var.values).ravel())) for var in ds.data_vars.values()]
    values = [v for v in values if np.isfinite(v)]
    return pick(values) if values else float("nan")


def _maxima(idata):
    """``(M, 3K)`` parameter vectors of EM's local maxima, and their descriptions."""
    if "em" not in idata.children or "maximum_mu" not in idata["em"]:
        return None
    em = idata["em"]
    return {
        "w": np.asarray(em["maximum_w"].values),
        "mu": np.asarray(em["maximum_mu"].values),
        "sigma": np.asarray(em["maximum_sigma"].values),
        "log_likelihood": np.asarray(em["maximum_log_likelihood"].values),
    }


def _mode_fractions(post, maxima):
    """Fraction of each chain's draws nearest (scaled Euclidean) to each EM local maximum."""
    n_chains = post.sizes["chain"]
    if maxima is None:
        return np.ones((n_chains, 1))
    values = {
        name: np.asarray(post[name].transpose("chain", "draw", ...).values) for name in _PARAMS
    }
    scale = _mixture_sd(maxima["w"][0], maxima["mu"][0], maxima["sigma"][0])
    draws = np.concatenate(
        [values["w"], values["mu"] / scale, values["sigma"] / scale], axis=-1
    )  # (C, D, 3K)
    centres = np.concatenate(
        [maxima["w"], maxima["mu"] / scale, maxima["sigma"] / scale], axis=-1
    )  # (M, 3K)
    dist = np.linalg.norm(draws[:, :, None, :] - centres[None, None], axis=-1)  # (C, D, M)
    nearest = np.argmin(dist, axis=-1)
    m = centres.shape[0]
    return np.stack([(nearest == j).mean(axis=1) for j in range(m)], axis=1)


def _mixture_sd(w, mu, sigma):
    mean = float(np.sum(w * mu))
    var = float(np.sum(w * (sigma**2 + (mu - mean) ** 2)))
    return np.sqrt(var) if var > 0 else 1.0


def _verdict(s, n_chains, converged, multimodal, disagree, fraction, maxima):
    ess_min = ESS_PER_CHAIN_MIN * n_chains
    facts = (
        f"{s['n_div']} divergent transitions, max R-hat {s['rhat']:.3f} (want <= {RHAT_MAX}), "
        f"min bulk ESS {s['ess_bulk']:.0f} and tail ESS {s['ess_tail']:.0f} (want >= "
        f"{ess_min}), min BFMI {np.min(s['bfmi']):.2f} (want >= {BFMI_MIN})."
    )
    visited = np.flatnonzero(fraction.mean(axis=0) >= VISIT_FRACTION)
    if multimodal:
        head = (
            "MULTIMODAL: the draws gather around several EM local maxima and the chains "
            + ("disagree" if disagree else "have not mixed well between them")
            + "; do not report posterior means or intervals as if the sample were one mode."
        )
    elif converged:
        head = "OK: no sampling problems detected."
    else:
        head = "NOT CONVERGED: do not trust these draws yet."
    parts = [head, facts]
    if visited.size > 1 or multimodal:
        parts.append(_mode_story(fraction, maxima, visited))
        if converged and not multimodal:
            parts.append("The chains agree on how the draws split between these modes.")
    elif maxima is not None and fraction.shape[1] > 1:
        parts.append(f"All chains stayed near EM local maximum {int(visited[0])}.")
    if s["n_div"] > 0:
        parts.append(
            "Divergences mean NUTS could not follow the posterior somewhere (results may be "
            "biased): try target_accept=0.95, or stronger priors on sigma."
        )
    if multimodal:
        parts.append(
            "Compare the modes (or reconsider K); longer chains estimate their weights better."
        )
    elif not converged:
        parts.append("Run longer (more tune and draws) or check the model (K too large?).")
    return " ".join(parts)


def _mode_story(fraction, maxima, visited):
    modes = np.argmax(fraction, axis=1)
    chains = "; ".join(
        f"chain {c}: "
        + ", ".join(
            f"{fraction[c, j]:.0%} near EM local maximum {j}"
            for j in np.argsort(-fraction[c])
            if fraction[c, j] >= 0.005
        )
        for c in range(fraction.shape[0])
    )
    if maxima is None:
        return chains + "."
    described = []
    for j in sorted(set(modes.tolist()) | {int(v) for v in visited}):
        mu = ", ".join(f"{v:.4g}" for v in maxima["mu"][j])
        w = ", ".join(f"{v:.3f}" for v in maxima["w"][j])
        ll = maxima["log_likelihood"][j]
        described.append(f"maximum {j}: log-likelihood {ll:.2f}, mu = ({mu}), w = ({w})")
    return f"{chains}. EM {'; '.join(described)}."
