"""Posterior sampling warm-started by EM: :func:`sample_posterior` and the tree it returns.

:func:`sample_posterior` fits EM (or takes a fit), checks that the PyMC model is EM's model
(:func:`gmm_bayes.check_model`), starts every chain at an EM local maximum
(:mod:`~gmm_bayes.bayes.maxima`), runs nutpie or PyMC (:mod:`~gmm_bayes.bayes.samplers`; nutpie's
compiled models are kept, :mod:`~gmm_bayes.bayes.model_cache`) and returns one
``xarray.DataTree`` holding everything a report needs: the per-observation groups
(:mod:`~gmm_bayes.bayes.pointwise`), :func:`membership` and :func:`diagnose`.
"""

import json
import numbers

import numpy as np
import xarray as xr

from gmm_bayes._validation import (
    as_data,
    as_int,
    as_n_components,
    as_probability,
    has_columns,
)
from gmm_bayes.bayes.component_membership import membership
from gmm_bayes.bayes.diagnostics import Status, diagnose
from gmm_bayes.bayes.maxima import chain_starts, distinct_maxima, maxima_dataset
from gmm_bayes.bayes.model import build_model, check_model, initial_point, model_data
from gmm_bayes.bayes.model_data import as_likelihood, choose_bin_width
from gmm_bayes.bayes.pointwise import log_likelihood_group, posterior_predictive_group
from gmm_bayes.bayes.priors import Priors
from gmm_bayes.bayes.samplers import SAMPLER_RUNS
from gmm_bayes.conventions import EM_RESTARTS, SAMPLERS
from gmm_bayes.em import EMResult, fit_em

# membership is imported for sample_posterior and stays importable from here
# (gmm_bayes._LAZY names this module for it)
__all__ = ["POINTWISE_MAX", "sample_posterior", "smc_fallback_reason"]

#: the ``log_likelihood`` and ``posterior_predictive`` groups (chains x draws x N numbers each)
#: are left out above this many numbers unless ``pointwise=True`` (4e7: 1e4 observations with
#: 4 x 1000 draws, 320 MB per group)
POINTWISE_MAX = 4e7


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
    likelihood="exact",
    compress="auto",
    bin_width=None,
    pointwise=None,
):
    """Sample the mixture's posterior, every chain starting at an EM estimate.

    Parameters
    ----------
    x : array_like, shape (N,), (N, 1) or (N, d)
        The data, validated as by :func:`gmm_bayes.fit_em`. With d >= 2 columns the
        multivariate model is sampled (:func:`~gmm_bayes.bayes.sampling_mv.sample_posterior_mv`:
        its priors are fixed, ``likelihood``, ``compress``, ``bin_width`` and ``priors`` stay at
        their defaults, ``em``'s ``covariance_type`` is the model's).
    n_components : int
        K.
    em : EMResult, optional
        EM estimate for the same data and K. None: ``fit_em(x, K, n_init=EM_RESTARTS)`` (10,
        :mod:`gmm_bayes.conventions`) seeded from ``random_seed``. Its ``local_maxima`` decide
        the chains' starts (:func:`~gmm_bayes.bayes.maxima.chain_starts`).
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
    sampler : {"nutpie", "pymc", "smc", "auto"}
        nutpie's NUTS (default) or PyMC's own, started at EM maxima; "smc": tempered SMC
        from the prior, ``chains`` independent runs of ``draws`` particles, which weighs the
        modes (:mod:`~gmm_bayes.bayes.smc`: the package's vectorized sampler where its
        likelihood is the model's, else PyMC's ``pm.sample_smc``; ``tune`` and
        ``target_accept`` unused; root attribute ``smc_method``); "auto": nutpie first,
        then SMC when :func:`diagnose` says MULTIMODAL or NOT CONVERGED (root attribute
        ``sampler_note`` and the verdict say why).
    target_accept : float, default 0.9
        NUTS step-size target.
    progressbar : bool, default False
    likelihood : {"exact", "binned"}, default "exact"
        "binned" (for large continuous data; approximate): the likelihood runs over bins of
        width ``bin_width`` with a second-order correction
        (:class:`~gmm_bayes.bayes.model_data.ModelData`; its accuracy:
        :func:`~gmm_bayes.bayes.model_data.choose_bin_width`). Falls back to the exact
        likelihood when bins would not reduce the data.
    compress : {"auto", True, False}, default "auto"
        Exact likelihood over the distinct values weighted by their counts (the same
        posterior): "auto" when there are at most 0.8 N distinct values.
    bin_width : float, optional
        Binned: default :func:`~gmm_bayes.bayes.model_data.choose_bin_width` of ``em`` (a
        tenth of its smallest sd).
    pointwise : bool, optional
        Whether to store the per-observation groups ``log_likelihood`` and
        ``posterior_predictive``. None: when they hold at most ``POINTWISE_MAX`` (4e7)
        numbers each (chains x draws x N).

    Returns
    -------
    xarray.DataTree
        Groups ``posterior`` (``w``, ``mu``, ``sigma`` on ``chain, draw, component``),
        ``sample_stats``, ``log_likelihood`` (``y`` on ``chain, draw, obs``: the exact log
        density of every original observation, whatever the likelihood was sampled on),
        ``posterior_predictive`` (``y`` on ``chain, draw, obs``), ``observed_data`` (the
        data, ``y`` on ``obs``), ``em`` (the EM estimate on ``component``, the distinct local
        maxima on ``maximum, component`` and the maximum each chain started at,
        ``chain_start``), ``membership`` (:func:`membership`) and ``diagnostics``
        (:meth:`Diagnostics.to_dataset <gmm_bayes.bayes.diagnostics.Diagnostics.to_dataset>`
        of :func:`diagnose`: ``status`` and ``verdict`` attributes). Root attributes say how
        the likelihood was evaluated (``likelihood``, ``compressed``, ``n_likelihood_terms``,
        ``bin_width`` when binned, and ``likelihood_note``, a sentence for a report), whether
        the pointwise groups were stored (``pointwise``) and the time spent compiling and
        sampling (``compile_seconds``, ``compile_cache_hit``, ``sampling_seconds``; nutpie
        only; with ``sampler="auto"`` falling back to SMC, ``nuts_compile_seconds``,
        ``nuts_compile_cache_hit`` and ``nuts_sampling_seconds`` of the NUTS attempt).
        Written with ``to_netcdf(..., engine="h5netcdf")`` it reads back identical.

    Raises
    ------
    ModelMismatchError
        The model's log-likelihood at EM's estimate is not EM's (:func:`gmm_bayes.check_model`).

    Examples
    --------
    >>> import gmm_bayes as gb
    >>> tree = gb.sample_posterior(gb.load_dataset("faithful"), 2, random_seed=0)  # doctest: +SKIP
    >>> tree["diagnostics"].attrs["status"]  # doctest: +SKIP
    'OK'
    """
    if has_columns(x):  # (N, d) data: the multivariate model
        from gmm_bayes.bayes.sampling_mv import sample_posterior_mv

        univariate_only = {"priors": priors, "likelihood": likelihood, "compress": compress}
        return sample_posterior_mv(
            x,
            n_components,
            em=em,
            draws=draws,
            tune=tune,
            chains=chains,
            cores=cores,
            random_seed=random_seed,
            sampler=sampler,
            target_accept=target_accept,
            progressbar=progressbar,
            pointwise=pointwise,
            options={**univariate_only, "bin_width": bin_width},
        )
    x = as_data(x)
    k = as_n_components(n_components, x.size)
    opts = _sampling_options(draws, tune, chains, cores, sampler, target_accept)
    as_likelihood(likelihood)
    if pointwise not in (None, True, False):
        raise TypeError(f"pointwise must be None, True or False, got {pointwise!r}")
    seeds = _seed_sequence(random_seed).spawn(3)
    if em is None:
        em = fit_em(x, k, n_init=EM_RESTARTS, random_state=np.random.default_rng(seeds[0]))
    _check_em(em, x, k)
    if likelihood == "binned" and bin_width is None:
        bin_width = choose_bin_width(em)

    model = build_model(
        x,
        k,
        priors=priors,
        likelihood=likelihood,
        compress=compress,
        bin_width=bin_width,
        covariance_type=em.covariance_type,  # the model EM fitted: tied or not,
        resolution=em.resolution,  # and at its recording resolution
    )
    check_model(model, em)
    maxima = distinct_maxima(em)
    plan = chain_starts(maxima, opts["chains"])
    starts = [initial_point(model, maxima[i]) for i in range(max(plan) + 1)]
    n_numbers = opts["chains"] * opts["draws"] * x.size
    keep_pointwise = n_numbers <= POINTWISE_MAX if pointwise is None else pointwise
    em_group = _em_group(em, maxima, plan, priors, x, k)

    def draw(name, note=""):
        run = SAMPLER_RUNS[name]
        tree, timing = run(model, starts, plan, opts, _int_seed(seeds[1]), progressbar)
        tree.attrs.update(_root_attrs(k, opts, random_seed, priors), sampler=name)
        tree.attrs["sampler_note"] = note
        tree.attrs.update(
            _likelihood_attrs(model_data(model), keep_pointwise, n_numbers, pointwise)
        )
        tree.attrs.update(timing)
        return _assemble(tree, x, em_group, keep_pointwise, seeds[2], em.resolution)

    if opts["sampler"] != "auto":
        return draw(opts["sampler"])
    tree = draw("nutpie", "Draws from NUTS (nutpie), started at EM's maxima.")
    why = smc_fallback_reason(tree["diagnostics"])
    if why is None:
        return tree
    smc = draw("smc", f"{why}; draws from SMC.")
    smc.attrs["nuts_compile_seconds"] = tree.attrs["compile_seconds"]
    smc.attrs["nuts_sampling_seconds"] = tree.attrs["sampling_seconds"]
    smc.attrs["nuts_compile_cache_hit"] = tree.attrs["compile_cache_hit"]
    return smc


def smc_fallback_reason(diagnostics):
    """Why ``sampler="auto"`` goes on to SMC after NUTS, or None when it does not: NUTS's
    chains MULTIMODAL or NOT CONVERGED (d = 1 and d >= 2 alike).

    Parameters
    ----------
    diagnostics : xarray.DataTree or Dataset
        The NUTS tree's ``diagnostics`` group.

    Examples
    --------
    >>> ds = xr.Dataset({"max_rhat": 1.52}, attrs={"status": Status.MULTIMODAL.value})
    >>> smc_fallback_reason(ds)
    'NUTS chains sat in different modes (R-hat 1.52)'
    >>> smc_fallback_reason(ds.assign_attrs(status=Status.OK.value)) is None
    True
    """
    status = diagnostics.attrs["status"]
    rhat = float(diagnostics["max_rhat"])
    if status == Status.MULTIMODAL.value:
        return f"NUTS chains sat in different modes (R-hat {rhat:.2f})"
    if status == Status.NOT_CONVERGED.value:
        return f"NUTS did not converge (R-hat {rhat:.2f})"
    return None


def _em_group(em, maxima, plan, priors, x, k):
    """:func:`maxima_dataset` plus the central 95% of the sigma prior (``sigma_prior_low``,
    ``sigma_prior_high``; absent for the hierarchical prior), for :func:`diagnose`'s flag."""
    ds = maxima_dataset(em, maxima, plan)
    interval = (priors or Priors()).resolve(x, k).sigma.interval(0.95)
    if interval is None:
        return ds
    return ds.assign(sigma_prior_low=interval[0], sigma_prior_high=interval[1])


def _assemble(tree, x, em_group, keep_pointwise, seed, resolution):
    post = tree["posterior"].to_dataset()
    obs = np.arange(x.size)
    tree["observed_data"] = xr.DataTree(xr.Dataset({"y": ("obs", x)}, coords={"obs": obs}))
    if keep_pointwise:
        tree["log_likelihood"] = xr.DataTree(log_likelihood_group(post, x, resolution))
        rng = np.random.default_rng(seed)
        replicates = posterior_predictive_group(post, x.size, rng)
        if resolution is not None:  # replicates recorded as the data were: on the grid
            replicates["y"] = np.round(replicates["y"] / resolution) * resolution
        tree["posterior_predictive"] = xr.DataTree(replicates)
    group = em_group
    if tree.attrs["sampler"] == "smc":  # SMC runs start from the prior, not from EM maxima
        group = group.drop_vars(["chain_start", "chain"])
    tree["em"] = xr.DataTree(group)
    tree["membership"] = xr.DataTree(membership(tree))
    tree["diagnostics"] = xr.DataTree(diagnose(tree).to_dataset())
    return _netcdf_ready(tree)


def _likelihood_attrs(data, keep_pointwise, n_numbers, pointwise):
    attrs = {
        "likelihood": data.likelihood,
        "likelihood_requested": data.requested,
        "compressed": int(data.compressed),
        "n_obs": int(data.n_obs),
        "n_likelihood_terms": data.n_terms,
        "likelihood_note": data.describe(),
    }
    if data.likelihood == "binned":
        attrs["bin_width"] = float(data.bin_width)
    if keep_pointwise:
        attrs["pointwise"] = "log_likelihood and posterior_predictive stored"
    elif pointwise is False:
        attrs["pointwise"] = "log_likelihood and posterior_predictive not stored (pointwise=False)"
    else:
        attrs["pointwise"] = (
            f"log_likelihood and posterior_predictive not stored: they would hold {n_numbers:.3g} "
            f"numbers each (limit {POINTWISE_MAX:.3g}); pass pointwise=True to store them"
        )
    return attrs


def _sampling_options(draws, tune, chains, cores, sampler, target_accept):
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    return {
        "draws": as_int(draws, "draws", minimum=1),
        "tune": as_int(tune, "tune", minimum=0),
        "chains": as_int(chains, "chains", minimum=1),
        "cores": None if cores is None else as_int(cores, "cores", minimum=1),
        "sampler": sampler,
        "target_accept": as_probability(target_accept, "target_accept"),
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
