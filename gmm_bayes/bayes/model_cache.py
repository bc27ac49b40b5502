"""Compiled nutpie models kept across :func:`gmm_bayes.sample_posterior` calls.

Every data-dependent number of a model from :func:`gmm_bayes.build_model` is a data container,
so two models with the same K, prior family and likelihood have the same log-density graph: a
later call swaps its data into the compiled model instead of compiling again.
"""

import collections
import hashlib

__all__ = [
    "MODEL_CACHE_SIZE",
    "clear_model_cache",
    "compiled_nutpie",
    "graph_key",
    "model_cache_info",
]

#: compiled nutpie models kept (least recently used dropped)
MODEL_CACHE_SIZE = 32

# graph key -> compiled nutpie model, least recently used first
_COMPILED = collections.OrderedDict()


def clear_model_cache():
    """Forget the compiled nutpie models :func:`gmm_bayes.sample_posterior` keeps for reuse.

    Examples
    --------
    >>> clear_model_cache()
    >>> model_cache_info()["size"]
    0
    """
    _COMPILED.clear()


def model_cache_info():
    """``{"size": entries, "max_size": MODEL_CACHE_SIZE}`` of the compiled-model cache.

    Examples
    --------
    >>> model_cache_info()["max_size"]
    32
    """
    return {"size": len(_COMPILED), "max_size": MODEL_CACHE_SIZE}


def graph_key(model):
    """A key equal for two models exactly when their log-density graphs are the same.

    The text of the model's log density (jacobians included) names every operation, constant
    and data container; data containers print by name, not value, so two data sets give the
    same key and share a compiled model, while any other difference (K, the prior family, the
    likelihood, a prior constant) gives another key.

    Parameters
    ----------
    model : pymc.Model

    Returns
    -------
    str
        A SHA-256 hex digest.
    """
    import pytensor

    text = pytensor.printing.debugprint(model.logp(), file="str", print_type=True)
    names = ",".join(f"{rv.name}:{model.rvs_to_values[rv].name}" for rv in model.free_RVs)
    return hashlib.sha256(f"{names}\n{text}".encode()).hexdigest()


def compiled_nutpie(model, start):
    """nutpie's compiled model for ``model``: from the cache with this model's data swapped in,
    or compiled (and cached).

    Parameters
    ----------
    model : pymc.Model
    start : dict
        Initial point handed to ``nutpie.compile_pymc_model`` when compiling.

    Returns
    -------
    (compiled model, bool)
        The bool says whether it came from the cache.
    """
    import nutpie
    import pytensor

    key = graph_key(model)
    values = {var.name: var.get_value() for var in model.data_vars}
    cached = _COMPILED.get(key)
    if cached is not None:
        names = {var.name for var in cached.shared_var_keys}
        if names <= set(values):  # every container of the compiled model gets new values
            _COMPILED.move_to_end(key)
            return cached.with_data(**{name: values[name] for name in names}), True
    # Without fastmath the draws depend on the seed only: with it, a log density compiled in
    # this process and one loaded from PyTensor's on-disk numba cache round differently (the
    # cached function runs its own inlined copies of the helper kernels), so the first run on
    # a machine and later runs diverged. Costs 5-12% per gradient evaluation (bench).
    with pytensor.config.change_flags(numba__fastmath=False):
        compiled = nutpie.compile_pymc_model(
            model, backend="numba", initial_points=start, jitter_rvs=set()
        )
    _COMPILED[key] = compiled
    while len(_COMPILED) > MODEL_CACHE_SIZE:
        _COMPILED.popitem(last=False)
    return compiled, False
