"""Tempered SMC of a multivariate mixture (d >= 2): ``sample_posterior(X, K, sampler="smc")``.

Each "chain" is an independent run of PyMC's ``pm.sample_smc`` (independent Metropolis-Hastings
moves, adaptive tempering) of ``draws`` particles on
:func:`~gmm_bayes.bayes.model_mv.build_model_mv`'s model, started from its prior. As for d = 1
(:mod:`~gmm_bayes.bayes.smc`), tempering carries the particles through every mode at once, so
the share of the particles in each mode estimates its posterior probability, and the runs'
agreement judges them (:func:`gmm_bayes.diagnose`). The package's own vectorized sampler
(:mod:`~gmm_bayes.bayes.tempered_smc`) has a univariate target only, hence PyMC's here.
"""

import time
import warnings

import numpy as np
import xarray as xr

__all__ = ["sample_smc_mv"]


def sample_smc_mv(model, starts, plan, opts, seed, progressbar):
    """Independent SMC runs, in the shape of :func:`gmm_bayes.bayes.smc.sample_smc`'s.

    Parameters
    ----------
    model : pymc.Model
        From :func:`~gmm_bayes.bayes.model_mv.build_model_mv`.
    starts, plan
        Unused (the NUTS runs' arguments: SMC starts from the prior).
    opts : dict
        ``draws`` (particles per run), ``chains`` (runs), ``cores`` (runs in parallel; None:
        one per run, up to the CPUs).
    seed : int
    progressbar : bool

    Returns
    -------
    (xarray.DataTree, dict)
        ``posterior`` (the model's free variables and deterministics, ``mu`` on ``chain, draw,
        component, dim`` and ``cov`` on ``chain, draw, component, dim, dim_bis``; chain = run)
        and ``sample_stats`` on ``chain``: ``log_marginal_likelihood`` (the run's log
        evidence), ``n_stages`` (tempering stages) and ``distinct_particles`` (fraction of the
        run's particles that are distinct); and ``{"sampling_seconds": ...,
        "smc_method": "pymc"}``.
    """
    import pymc as pm

    t0 = time.perf_counter()
    with warnings.catch_warnings():  # the prior draws of the ordered means: a Python op
        warnings.filterwarnings(
            "ignore", message="Numba will use object mode", category=UserWarning
        )
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
    n_runs = posterior.sizes["chain"]
    evidence = [run[-1] for run in _per_run(stats["log_marginal_likelihood"], n_runs)]
    stages = [run.size for run in _per_run(stats["beta"], n_runs)]
    free = posterior[[rv.name for rv in model.free_RVs]]
    sample_stats = xr.Dataset(
        {
            "log_marginal_likelihood": ("chain", np.array(evidence, dtype=np.float64)),
            "n_stages": ("chain", np.array(stages, dtype=np.int64)),
            "distinct_particles": ("chain", _distinct_fraction(free)),
        },
        coords={"chain": np.arange(n_runs)},
    )
    tree = xr.DataTree.from_dict({"posterior": posterior, "sample_stats": sample_stats})
    timing = {"sampling_seconds": round(time.perf_counter() - t0, 3), "smc_method": "pymc"}
    return tree, timing


def _per_run(stat, n_runs):
    """A stage-by-stage statistic of ``pm.sample_smc``, one float array per run.

    PyMC stores one sequence per run in an object array, of shape (runs,) when the runs took
    different numbers of stages and (runs, stages) otherwise; one run is a float array of
    shape (stages,).

    Parameters
    ----------
    stat : xarray.DataArray
    n_runs : int

    Returns
    -------
    list of ndarray, each of shape (stages of that run,)

    Examples
    --------
    >>> ragged = np.empty(2, dtype=object)
    >>> ragged[:] = [[0.5, 1.0], [0.2, 0.6, 1.0]]
    >>> [run.tolist() for run in _per_run(xr.DataArray(ragged), 2)]
    [[0.5, 1.0], [0.2, 0.6, 1.0]]
    """
    values = np.asarray(stat.values)
    if n_runs == 1:
        return [np.ravel(values).astype(np.float64)]
    return [np.ravel(np.asarray(run, dtype=np.float64)) for run in values]


def _distinct_fraction(posterior):
    """Fraction of each run's particles that are distinct (resampling duplicates them, the
    moves spread them again).

    Parameters
    ----------
    posterior : xarray.Dataset
        Variables on ``(chain, draw, ...)``.

    Returns
    -------
    ndarray, shape (chains,)

    Examples
    --------
    >>> post = xr.Dataset({"w": (("chain", "draw"), [[0.1, 0.1, 0.2, 0.3]])})
    >>> _distinct_fraction(post).tolist()
    [0.75]
    """
    particles = np.concatenate(
        [
            np.asarray(var.transpose("chain", "draw", ...).values).reshape(
                var.sizes["chain"], var.sizes["draw"], -1
            )
            for var in posterior.data_vars.values()
        ],
        axis=-1,
    )
    return np.array([np.unique(run, axis=0).shape[0] / run.shape[0] for run in particles])
