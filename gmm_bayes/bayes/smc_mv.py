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

from gmm_bayes.bayes.smc import pymc_smc_runs, smc_result

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
    t0 = time.perf_counter()
    with warnings.catch_warnings():  # the prior draws of the ordered means: a Python op
        warnings.filterwarnings(
            "ignore", message="Numba will use object mode", category=UserWarning
        )
        posterior, evidence, stages = pymc_smc_runs(model, opts, seed, progressbar)
    free = posterior[[rv.name for rv in model.free_RVs]]
    return smc_result(posterior, evidence, stages, free, "pymc", t0)
