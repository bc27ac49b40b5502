"""PyMC's tempered SMC behind ``sample_posterior(..., sampler="smc")``.

Each "chain" is an independent SMC run of ``draws`` particles started from the model's prior
(``pm.sample_smc``; runs in ``cores`` processes, or one after another). Tempering moves the
particles from the prior to the posterior through every mode at once, so the share of the
particles in each mode estimates its posterior probability, which NUTS started at EM maxima
cannot do. :func:`gmm_bayes.diagnose` judges the runs by their agreement
(:mod:`~gmm_bayes.bayes.diagnostics`).
"""

import time

import numpy as np
import xarray as xr

__all__ = ["sample_smc"]


def sample_smc(model, starts, plan, opts, seed, progressbar):
    """Independent SMC runs, in the shape of the NUTS runs of :mod:`~gmm_bayes.bayes.samplers`.

    Parameters
    ----------
    model : pymc.Model
        From :func:`gmm_bayes.build_model`.
    starts, plan
        Unused (SMC starts from the prior); the NUTS runs' arguments.
    opts : dict
        ``draws`` (particles per run), ``chains`` (runs), ``cores`` (None: one per run, up to
        the CPUs).
    seed : int
    progressbar : bool

    Returns
    -------
    (xarray.DataTree, dict)
        ``posterior`` (the model's free variables on ``chain, draw, ...``; chain = run) and
        ``sample_stats`` on ``chain``: ``log_marginal_likelihood`` (the run's log evidence),
        ``n_stages`` (tempering stages) and ``distinct_particles`` (fraction of the particles
        that are distinct); and ``{"sampling_seconds": ...}``.
    """
    import pymc as pm

    t0 = time.perf_counter()
    out = pm.sample_smc(
        draws=opts["draws"],
        chains=opts["chains"],
        cores=opts["cores"],
        random_seed=seed,
        model=model,
        progressbar=progressbar,
        compute_convergence_checks=False,
    )
    names = [rv.name for rv in model.free_RVs]
    posterior = out["posterior"].to_dataset()[names]
    stats = out["sample_stats"].to_dataset()
    evidence = [_last(v) for v in _per_run(stats["log_marginal_likelihood"])]
    stages = [len(np.ravel(v)) for v in _per_run(stats["beta"])]
    chains = np.arange(posterior.sizes["chain"])
    sample_stats = xr.Dataset(
        {
            "log_marginal_likelihood": ("chain", np.array(evidence, dtype=np.float64)),
            "n_stages": ("chain", np.array(stages, dtype=np.int64)),
            "distinct_particles": ("chain", _distinct_fraction(posterior)),
        },
        coords={"chain": chains},
    )
    tree = xr.DataTree.from_dict({"posterior": posterior, "sample_stats": sample_stats})
    return tree, {"sampling_seconds": round(time.perf_counter() - t0, 3)}


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
