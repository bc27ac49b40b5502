"""Tempered SMC behind ``sample_posterior(..., sampler="smc")``.

Each "chain" is an independent SMC run of ``draws`` particles started from the model's prior.
Tempering moves the particles from the prior to the posterior through every mode at once, so
the share of the particles in each mode estimates its posterior probability, which NUTS
started at EM maxima cannot do. :func:`gmm_bayes.diagnose` judges the runs by their agreement
(:mod:`~gmm_bayes.bayes.diagnostics`).

The runs are the package's own vectorized sampler (:func:`~gmm_bayes.bayes.tempered_smc.temper`
on :class:`~gmm_bayes.bayes.evidence_target.MixtureTarget`, the evidence's), whenever its
likelihood is the model's: :func:`smc_target` checks it at the first start. Other models (a
binned likelihood, or any model whose log-likelihood differs) run PyMC's ``pm.sample_smc``.
Why not PyMC's everywhere: on galaxy K=4 (4 runs x 1000 particles, one process) PyMC's runs
gave the heaviest mode 0.89 with one seed and 0.53 with another, where the own runs agree
within 0.04 (``bench/bench_posterior.py --only smc``), at 8 CPU seconds against PyMC's 11.
"""

import time

import numpy as np
import xarray as xr

from gmm_bayes.bayes.evidence_target import MixtureTarget
from gmm_bayes.bayes.model import ONE_OFF_MODE, model_data, model_priors, to_value_space
from gmm_bayes.bayes.tempered_smc import temper

__all__ = [
    "SMC_ESS_FRACTION",
    "SMC_MOVES",
    "pymc_smc_runs",
    "sample_smc",
    "smc_result",
    "smc_target",
]

#: random-walk Metropolis steps per particle after each resampling
SMC_MOVES = 60
#: effective sample size each tempering step keeps, as a fraction of the particles
SMC_ESS_FRACTION = 0.5
#: the own sampler's log-likelihood must match the model's at the start to this (relative)
_MATCH_RTOL = 1e-8


def sample_smc(model, starts, plan, opts, seed, progressbar):
    """Independent SMC runs, in the shape of the NUTS runs of :mod:`~gmm_bayes.bayes.samplers`.

    Parameters
    ----------
    model : pymc.Model
        From :func:`gmm_bayes.build_model`.
    starts : list of dict
        Constrained EM starts; only the first is read, to check the likelihood (SMC starts
        from the prior).
    plan
        Unused (the NUTS runs' argument).
    opts : dict
        ``draws`` (particles per run), ``chains`` (runs), ``cores`` (PyMC's SMC only: None is
        one per run, up to the CPUs).
    seed : int
    progressbar : bool
        PyMC's SMC only.

    Returns
    -------
    (xarray.DataTree, dict)
        ``posterior`` (the model's free variables on ``chain, draw, ...``; chain = run) and
        ``sample_stats`` on ``chain``: ``log_marginal_likelihood`` (the run's log evidence),
        ``n_stages`` (tempering stages) and ``distinct_particles`` (fraction of the particles
        that are distinct); and ``{"sampling_seconds": ..., "smc_method": ...}``.
    """
    t0 = time.perf_counter()
    target = smc_target(model, starts[0])
    if target is None:
        posterior, evidence, stages = pymc_smc_runs(model, opts, seed, progressbar)
        posterior = posterior[[rv.name for rv in model.free_RVs]]
        method = "pymc"
    else:
        posterior, evidence, stages = _own_runs(model, target, opts, seed)
        method = "gmm_bayes"
    return smc_result(posterior, evidence, stages, posterior, method, t0)


def smc_result(posterior, evidence, stages, free, method, start):
    """The tree and timing :func:`sample_smc` (and ``smc_mv``) return for finished runs.

    Parameters
    ----------
    posterior : xarray.Dataset
        Draws on ``(chain, draw, ...)``, one chain per run.
    evidence, stages : sequence, length runs
        Each run's log evidence and tempering stages.
    free : xarray.Dataset
        The model's free variables (whose distinct particles are counted).
    method : str
        ``"pymc"`` or ``"gmm_bayes"``.
    start : float
        ``time.perf_counter()`` when the runs began.

    Returns
    -------
    (xarray.DataTree, dict)
        As :func:`sample_smc`.
    """
    sample_stats = xr.Dataset(
        {
            "log_marginal_likelihood": ("chain", np.array(evidence, dtype=np.float64)),
            "n_stages": ("chain", np.array(stages, dtype=np.int64)),
            "distinct_particles": ("chain", _distinct_fraction(free)),
        },
        coords={"chain": np.arange(posterior.sizes["chain"])},
    )
    tree = xr.DataTree.from_dict({"posterior": posterior, "sample_stats": sample_stats})
    timing = {"sampling_seconds": round(time.perf_counter() - start, 3), "smc_method": method}
    return tree, timing


def smc_target(model, start):
    """The package's numpy target for ``model``, or None when its likelihood is not the
    model's (compared at ``start``, a constrained point of the model's free variables).

    Examples
    --------
    >>> import gmm_bayes as gb
    >>> from gmm_bayes.bayes.model import initial_point
    >>> x = gb.load_dataset("faithful")
    >>> model = gb.build_model(x, 2)
    >>> start = initial_point(model, gb.fit_em(x, 2, random_state=0))
    >>> smc_target(model, start).n_dims
    5
    """
    data = model_data(model)
    names = sorted(rv.name for rv in model.free_RVs)
    k = int(np.size(start["mu"]))
    if data.likelihood != "exact" or names not in (
        ["mu", "sigma", "w"],
        ["beta", "mu", "sigma", "w"],
    ):
        return None
    if np.size(start["sigma"]) != k:
        return None
    target = MixtureTarget(data.values, data.counts, model_priors(model), k, data.resolution)
    theta = target.pack(start["w"], start["mu"], start["sigma"], start.get("beta"))
    logp_fn = model.compile_logp(vars=[model["y"]], jacobian=False, mode=ONE_OFF_MODE)
    with np.errstate(divide="ignore"):
        expected = float(logp_fn(to_value_space(model, start)))
    got = float(target.log_likelihood(theta)[0])
    return target if np.isclose(got, expected, rtol=_MATCH_RTOL, atol=0.0) else None


def _own_runs(model, target, opts, seed):
    streams = np.random.default_rng(seed).spawn(opts["chains"])
    runs = [
        temper(target, rng, opts["draws"], n_moves=SMC_MOVES, ess_fraction=SMC_ESS_FRACTION)
        for rng in streams
    ]
    w, mu, sigma, beta = target.unpack(np.concatenate([run.theta for run in runs]))
    shape = (len(runs), opts["draws"])
    dims = ("chain", "draw", "component")
    coords = {
        "chain": np.arange(shape[0]),
        "draw": np.arange(shape[1]),
        "component": np.arange(target.n_components),
    }
    variables = {
        "w": (dims, w.reshape(*shape, -1)),
        "mu": (dims, mu.reshape(*shape, -1)),
        "sigma": (dims, sigma.reshape(*shape, -1)),
    }
    if beta is not None:
        variables["beta"] = (("chain", "draw"), beta.reshape(shape))
    posterior = xr.Dataset(variables, coords=coords)
    names = [rv.name for rv in model.free_RVs]
    return posterior[names], [run.log_z for run in runs], [run.n_stages for run in runs]


def pymc_smc_runs(model, opts, seed, progressbar):
    """PyMC's ``pm.sample_smc``: ``opts["chains"]`` runs of ``opts["draws"]`` particles.

    Returns
    -------
    (xarray.Dataset, list of float, list of int)
        The posterior (every variable PyMC stores, on ``chain, draw, ...``), each run's log
        evidence and its number of tempering stages.
    """
    import pymc as pm

    out = pm.sample_smc(
        draws=opts["draws"],
        chains=opts["chains"],
        cores=opts["cores"],
        random_seed=seed,
        model=model,
        progressbar=progressbar,
        compute_convergence_checks=False,
    )
    posterior = out["posterior"].to_dataset()
    stats = out["sample_stats"].to_dataset()
    evidence = [_last(v) for v in _per_run(stats["log_marginal_likelihood"])]
    stages = [len(np.ravel(v)) for v in _per_run(stats["beta"])]
    return posterior, evidence, stages


def _per_run(stat):
    """One stage-by-stage sequence per run: PyMC stores a list per chain in an object array
    of shape (chains,) (or a float array of shape (chains, stages))."""
    values = stat.values
    return list(values) if values.dtype == object else list(np.atleast_2d(values))


def _last(values):
    return float(np.ravel(np.asarray(values, dtype=np.float64))[-1])


def _distinct_fraction(posterior):
    """Fraction of each run's particles that are distinct (resampling duplicates, mutation
    moves them apart), shape (chains,)."""
    stacked = np.concatenate(
        [
            np.asarray(var.transpose("chain", "draw", ...).values).reshape(
                var.sizes["chain"], var.sizes["draw"], -1
            )
            for var in posterior.data_vars.values()
        ],
        axis=-1,
    )
    return np.array([np.unique(run, axis=0).shape[0] / run.shape[0] for run in stacked])
