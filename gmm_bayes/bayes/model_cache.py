"""Compiled nutpie models kept across :func:`gmm_bayes.sample_posterior` calls.

Every data-dependent number of a model from :func:`gmm_bayes.build_model` is a data container,
so two models with the same K, prior family and likelihood have the same log-density graph: a
later call swaps its data into the compiled model instead of compiling again.

Two ways to hand nutpie the log density (:func:`nutpie_mode`), with the same draws for a seed:

- ``"compiled"`` (default): ``nutpie.compile_pymc_model``'s C callback. Its chains run in
  parallel, but building it costs 3-6 s per model on every run (numba links and optimizes
  PyTensor's log-density function into the callback again; PyTensor's own function comes
  from its on-disk cache).
- ``"callback"``: PyTensor's compiled (and disk-cached) function called from Python for each
  gradient, about 0.7 s to build; the chains take turns (the function holds the GIL), so
  sampling uses one core. A report's worker processes (:mod:`gmm_bayes.report.parallel`)
  already have about one core each, and most of the bundled models sample in a second or two,
  so there it saves most of the compilation (``bench/bench_report.py``).

The callback mode uses two of nutpie's internal helpers (``_make_functions``,
``_prepare_dims_and_coords``): nutpie is pinned to 0.16.x in ``pyproject.toml``.
"""

import collections
import contextlib
import dataclasses
import hashlib

import numpy as np

__all__ = [
    "MODEL_CACHE_SIZE",
    "NUTPIE_MODES",
    "clear_model_cache",
    "compiled_nutpie",
    "graph_key",
    "model_cache_info",
    "nutpie_mode",
    "set_nutpie_mode",
    "with_start",
]

#: compiled nutpie models kept (least recently used dropped)
MODEL_CACHE_SIZE = 32
#: how the log density reaches nutpie (see the module's docstring)
NUTPIE_MODES = ("compiled", "callback")

# graph key and mode -> compiled nutpie model, least recently used first
_COMPILED = collections.OrderedDict()
# the mode of this process (nutpie_mode)
_MODE = ["compiled"]


def set_nutpie_mode(mode):
    """Hand nutpie the log density of every model built from now on as ``mode`` says; returns
    the previous mode.

    Parameters
    ----------
    mode : {"compiled", "callback"}

    Examples
    --------
    >>> set_nutpie_mode(set_nutpie_mode("callback"))
    'callback'
    """
    if mode not in NUTPIE_MODES:
        raise ValueError(f"mode must be one of {NUTPIE_MODES}, got {mode!r}")
    before, _MODE[0] = _MODE[0], mode
    return before


@contextlib.contextmanager
def nutpie_mode(mode):
    """Models built inside the block hand nutpie their log density as ``mode`` says.

    Parameters
    ----------
    mode : {"compiled", "callback"}

    Examples
    --------
    >>> with nutpie_mode("callback"):
    ...     _MODE[0]
    'callback'
    >>> _MODE[0]
    'compiled'
    """
    before = set_nutpie_mode(mode)
    try:
        yield
    finally:
        set_nutpie_mode(before)


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
    """nutpie's model for ``model`` in this process's mode (:func:`nutpie_mode`): from the cache
    with this model's data swapped in, or built (and cached).

    Parameters
    ----------
    model : pymc.Model
    start : dict
        Initial point handed to nutpie when building.

    Returns
    -------
    (nutpie model, bool)
        The bool says whether it came from the cache.
    """
    import pytensor

    mode = _MODE[0]
    key = (graph_key(model), mode)
    values = {var.name: var.get_value() for var in model.data_vars}
    cached = _COMPILED.get(key)
    if cached is not None:
        names = _data_names(cached)
        if names <= set(values):  # every container of the compiled model gets new values
            _COMPILED.move_to_end(key)
            return cached.with_data(**{name: values[name] for name in names}), True
    # Without fastmath the draws depend on the seed only: with it, a log density compiled in
    # this process and one loaded from PyTensor's on-disk numba cache round differently (the
    # cached function runs its own inlined copies of the helper kernels), so the first run on
    # a machine and later runs diverged. Costs 5-12% per gradient evaluation (bench).
    with pytensor.config.change_flags(numba__fastmath=False):
        compiled = _callback_model(model, start) if mode == "callback" else _c_model(model, start)
    _COMPILED[key] = compiled
    while len(_COMPILED) > MODEL_CACHE_SIZE:
        _COMPILED.popitem(last=False)
    return compiled, False


def with_start(compiled, point):
    """``compiled`` (from :func:`compiled_nutpie`) with every chain starting at ``point``.

    Parameters
    ----------
    compiled : nutpie model
    point : ndarray, shape (n_dim,)
        A point of the model's unconstrained (value) space, flattened in nutpie's order.
    """

    point = np.array(point, dtype=np.float64)

    def start(_seed=None):
        return point.copy()

    if dataclasses.is_dataclass(compiled) and hasattr(compiled, "_make_initial_points"):
        return dataclasses.replace(compiled, _make_initial_points=start)
    return dataclasses.replace(compiled, initial_point_func=start)


def _data_names(compiled):
    if hasattr(compiled, "shared_var_keys"):
        return {var.name for var in compiled.shared_var_keys}
    return set(compiled._shared_data)


def _c_model(model, start):
    import nutpie

    return nutpie.compile_pymc_model(model, backend="numba", initial_points=start, jitter_rvs=set())


def _callback_model(model, start):
    """nutpie's Python-function model over PyTensor's numba-compiled log density and gradient
    (what nutpie's JAX backend does, with PyTensor's numba mode instead of JAX)."""
    from nutpie import compile_pymc
    from nutpie.compiled_pyfunc import from_pyfunc

    n_dim, _, logp_pt, expand_pt, initial_point_fn, shape_info, renamed = (
        compile_pymc._make_functions(
            model,
            mode="NUMBA",
            compute_grad=True,
            join_expanded=False,
            pymc_initial_point_fn=lambda _seed: start,
            var_names=None,
        )
    )
    logp_fn, expand_fn = logp_pt.vm.jit_fn, expand_pt.vm.jit_fn
    logp_names = [var.name for var in logp_pt.get_shared()]
    expand_names = [var.name for var in expand_pt.get_shared()]
    shared = {
        var.name: np.asarray(var.get_value())
        for var in [*logp_pt.get_shared(), *expand_pt.get_shared()]
    }
    names, _, shapes = shape_info

    def make_logp_fn():
        def logp(x, **data):
            value, grad = logp_fn(x, *[data[name] for name in logp_names])
            return float(value), np.asarray(grad, dtype=np.float64, order="C")

        return logp

    def make_expand_fn(_seed1, _seed2, _chain):
        def expand(x, **data):
            values = expand_fn(x, *[data[name] for name in expand_names])
            return {
                name: np.asarray(value, dtype=np.float64, order="C").reshape(shape)
                for name, value, shape in zip(names, values, shapes, strict=True)
            }

        return expand

    dims, coords = compile_pymc._prepare_dims_and_coords(model, shape_info, renamed)
    return from_pyfunc(
        ndim=n_dim,
        make_logp_fn=make_logp_fn,
        make_expand_fn=make_expand_fn,
        make_initial_point_fn=initial_point_fn,
        expanded_dtypes=[np.dtype(np.float64)] * len(names),
        expanded_shapes=shapes,
        expanded_names=names,
        shared_data=shared,
        dims=dims,
        coords=coords,
        reparameterized_names=renamed,
    )
