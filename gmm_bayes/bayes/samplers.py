"""The runs behind :func:`gmm_bayes.sample_posterior`: nutpie's and PyMC's NUTS, PyMC's SMC.

Both take the same arguments and return the same thing: a tree with ``posterior`` and
``sample_stats`` (chains numbered 0..C-1 in start order) and a dict of timing attributes.
Every chain starts exactly at its EM start (no jitter).
"""

import time

import numpy as np
import xarray as xr

from gmm_bayes.bayes.model import to_value_space
from gmm_bayes.bayes.model_cache import compiled_nutpie, with_start
from gmm_bayes.bayes.smc import sample_smc

__all__ = ["SAMPLER_RUNS", "require_every_draw", "sample_nutpie", "sample_pymc"]


def require_every_draw(tree, chains, draws):
    """Raise ``KeyboardInterrupt`` unless ``tree`` holds every chain and draw asked for.

    nutpie and PyMC catch Ctrl-C themselves and return the draws made so far; a partial sample
    is an interruption, never a result.

    Parameters
    ----------
    tree : xarray.DataTree
        With a ``posterior`` group on ``(chain, draw, ...)``.
    chains, draws : int
        What was asked for.

    Examples
    --------
    >>> post = xr.Dataset({"mu": (("chain", "draw"), np.zeros((2, 3)))})
    >>> require_every_draw(xr.DataTree.from_dict({"posterior": post}), 2, 3)
    >>> try:
    ...     require_every_draw(xr.DataTree.from_dict({"posterior": post}), 2, 10)
    ... except KeyboardInterrupt as stop:
    ...     print(stop)
    sampling was interrupted: 2 chains x 3 draws of the 2 x 10 asked for
    """
    sizes = tree["posterior"].sizes
    got = (int(sizes.get("chain", 0)), int(sizes.get("draw", 0)))
    if got != (chains, draws):
        raise KeyboardInterrupt(
            f"sampling was interrupted: {got[0]} chains x {got[1]} draws of the "
            f"{chains} x {draws} asked for"
        )


def sample_nutpie(model, starts, plan, opts, seed, progressbar):
    """nutpie, compiled once (or taken from the cache); one ``nutpie.sample`` call per start.

    Parameters
    ----------
    model : pymc.Model
        From :func:`gmm_bayes.build_model`.
    starts : list of dict
        Constrained starting points (:func:`gmm_bayes.initial_point`).
    plan : list of int
        The start of each chain, an index into ``starts``.
    opts : dict
        ``draws``, ``tune``, ``cores`` (None: one per chain) and ``target_accept``.
    seed : int
    progressbar : bool

    Returns
    -------
    (xarray.DataTree, dict)
        The tree, and ``compile_seconds``, ``compile_cache_hit``, ``sampling_seconds``.
    """
    import nutpie

    t0 = time.perf_counter()
    compiled, hit = compiled_nutpie(model, starts[0])
    t1 = time.perf_counter()
    group_seeds = np.random.SeedSequence(seed).spawn(len(starts))
    parts = []
    for index, start in enumerate(starts):
        n = plan.count(index)
        if n == 0:
            continue
        fixed = with_start(compiled, _flat_value_point(model, start))
        parts.append(
            nutpie.sample(
                fixed,
                draws=opts["draws"],
                tune=max(opts["tune"], 1),  # nuts-rs needs at least one tuning step
                chains=n,
                cores=n if opts["cores"] is None else min(n, opts["cores"]),
                seed=int(group_seeds[index].generate_state(1, dtype=np.uint32)[0]),
                save_warmup=False,
                progress_bar=progressbar,
                target_accept=opts["target_accept"],
            )
        )
    timing = {
        "compile_seconds": round(t1 - t0, 3),
        "compile_cache_hit": int(hit),
        "sampling_seconds": round(time.perf_counter() - t1, 3),
    }
    tree = xr.DataTree.from_dict(
        {
            "posterior": _concat_chains([p.posterior.to_dataset() for p in parts]),
            "sample_stats": _concat_chains([p.sample_stats.to_dataset() for p in parts]),
        }
    )
    require_every_draw(tree, len(plan), opts["draws"])
    return tree, timing


def sample_pymc(model, starts, plan, opts, seed, progressbar):
    """PyMC's NUTS, every chain from its own start; compiled inside ``pm.sample`` (not cached).

    Same arguments as :func:`sample_nutpie` (``opts`` also needs ``chains``; ``cores`` None is
    PyMC's default). Returns the tree and ``{"sampling_seconds": ...}``.
    """
    import pymc as pm

    t0 = time.perf_counter()
    out = pm.sample(
        draws=opts["draws"],
        tune=opts["tune"],
        chains=opts["chains"],
        cores=opts["cores"],
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
    tree = xr.DataTree.from_dict(
        {
            "posterior": out["posterior"].to_dataset(),
            "sample_stats": out["sample_stats"].to_dataset(),
        }
    )
    require_every_draw(tree, opts["chains"], opts["draws"])
    return tree, {"sampling_seconds": round(time.perf_counter() - t0, 3)}


#: sampler name (``gmm_bayes.conventions.SAMPLERS`` but "auto") -> its run
SAMPLER_RUNS = {"nutpie": sample_nutpie, "pymc": sample_pymc, "smc": sample_smc}


def _flat_value_point(model, start):
    values = to_value_space(model, start)
    return np.concatenate([values[model.rvs_to_values[rv].name].ravel() for rv in model.free_RVs])


def _concat_chains(datasets):
    out = xr.concat(datasets, dim="chain", combine_attrs="override")
    return out.assign_coords(chain=np.arange(out.sizes["chain"]))
