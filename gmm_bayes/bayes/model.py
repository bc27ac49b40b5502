"""The PyMC marginalized mixture model, checked against EM and started from it.

:func:`build_model` writes the univariate Gaussian mixture with the discrete labels summed out
in the data's own units; :func:`check_model` proves that its likelihood is the one EM maximized;
:func:`initial_point` turns an EM estimate into a start for the sampler, and
:func:`to_value_space` maps such a point to the sampler's coordinates.

Every number that depends on the data (values, counts, the priors' anchors) is a ``pm.Data``
container, so one compiled model serves every data set with the same structure. What the
likelihood runs over (every observation, the distinct values with counts, or bins) is a
:class:`~gmm_bayes.bayes.model_data.ModelData`, read back with :func:`model_data`.
"""

import weakref

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from gmm_bayes._validation import as_data, as_n_components
from gmm_bayes.bayes.distributions import component_sigmas, observed_mixture, ordered_means
from gmm_bayes.bayes.interval_likelihood import observed_interval_mixture
from gmm_bayes.bayes.model_data import ModelData, as_likelihood, choose_bin_width
from gmm_bayes.bayes.priors import Priors
from gmm_bayes.em import MIN_INIT_WEIGHT, EMResult
from gmm_bayes.em.resolution import as_resolution
from gmm_bayes.em.steps import as_covariance_type
from gmm_bayes.exceptions import ModelMismatchError

__all__ = [
    "BINNED_CHECK_RTOL",
    "CHECK_RTOL",
    "ONE_OFF_MODE",
    "ORDER_SCALE",
    "SHARED_SIGMA",
    "build_model",
    "check_model",
    "initial_point",
    "model_data",
    "model_priors",
    "to_value_space",
]

#: width of the softplus bend of the ordered transform, as a fraction of the data's sd
ORDER_SCALE = 0.05
#: relative tolerance of :func:`check_model`
CHECK_RTOL = 1e-8
#: PyTensor mode of the log densities evaluated once or twice per model (the start's check,
#: check_model): the Python linker compiles nothing, where the default mode compiles each
#: function (0.3-0.8 s per model with warm caches, more on a machine whose caches are empty);
#: the values equal the compiled function's to 1e-15 relative (faithful, geyser, galaxy)
ONE_OFF_MODE = "FAST_COMPILE"
#: the free variable of the tied model's one standard deviation (``sigma`` is then its copy
#: per component, a deterministic)
SHARED_SIGMA = "sigma_shared"
#: relative tolerance of :func:`check_model` for a binned likelihood: it allows the binned
#: approximation's own error at EM's estimate (orders of magnitude smaller at the default bin
#: width, see ``bench/bench_posterior.py``); a mismatch of data or units is off by far more
BINNED_CHECK_RTOL = 1e-5

# model -> the ResolvedPriors it was built with (no attribute is set on the pm.Model itself)
_PRIORS = weakref.WeakKeyDictionary()
# model -> the ModelData its likelihood runs over
_DATA = weakref.WeakKeyDictionary()
# model -> its compiled log density (initial_point checks every start with it)
_LOGP = weakref.WeakKeyDictionary()
# model -> its compiled map from constrained values to the sampler's (to_value_space)
_FORWARD = weakref.WeakKeyDictionary()


def build_model(
    x,
    n_components,
    *,
    priors=None,
    likelihood="exact",
    compress="auto",
    bin_width=None,
    covariance_type="full",
    resolution=None,
):
    """The univariate Gaussian mixture as a PyMC model, labels marginalized.

    Written in the data's own units::

        w       ~ Dirichlet(w_concentration)                  dims "component"
        mu      ~ Normal(L, mu_scale * S), ordered            dims "component"
        sigma   ~ InverseGamma on sigma**2 (default)          dims "component"
        y       ~ sum_k w_k Normal(mu_k, sigma_k), observed   dims "obs" (or "value", "bin")

    with ``L``, ``S`` the data's mean and standard deviation (see :class:`gmm_bayes.Priors`).

    Default priors (weakly informative, relative to the data so that a change of units
    ``a * x + b`` maps the posterior by the same map):

    - ``w ~ Dirichlet(1, ..., 1)``: uniform over the simplex.
    - ``mu_k ~ Normal(mean(x), 2 sd(x))``: covers the data's range with room to spare.
    - ``sigma_k**2 ~ InverseGamma(2, 0.1 sd(x)**2)``: conjugate (closed-form MAP-EM), mode of
      ``sigma`` at ``0.2 sd(x)``; its density vanishes faster than any power at 0, so no
      component collapses onto a single point or a run of tied values (the geyser durations
      hold 53 values of exactly 4.0) and no funnel opens at small ``sigma``.

    Their price: a component of fewer than about ten observations has its ``sigma`` pulled
    toward ``0.2 sd(x)`` (see :class:`gmm_bayes.Priors`; how they were chosen:
    ``bench/bench_posterior.py``).

    ``mu`` is ordered (labels cannot switch) by
    :class:`~gmm_bayes.bayes.transform.SoftplusOrdered`, which keeps each mean nearly its own
    sampler coordinate.

    The likelihood runs over :func:`model_data`'s points, each weighted by the observations it
    stands for (``y``'s log density is ``sum_j counts_j log p(values_j)``, plus the
    second-order term when binned; see :class:`~gmm_bayes.bayes.model_data.ModelData`). Tied
    data (whole minutes, rounded durations) are thereby sampled on their distinct values,
    exactly. The data, counts and
    every prior number derived from the data are ``pm.Data`` containers: models of the same K,
    prior family and likelihood have the same graph, and one compiled model serves them all
    (:func:`gmm_bayes.sample_posterior` keeps such compiled models).

    Parameters
    ----------
    x : array_like, shape (N,) or (N, 1)
        Finite observations, validated as by :func:`gmm_bayes.fit_em`.
    n_components : int
        K, between 1 and N.
    priors : gmm_bayes.Priors, optional
        Defaults to ``Priors()``. With a
        :class:`~gmm_bayes.bayes.sigma_priors.HierarchicalInverseGamma` sigma prior the model
        has a fourth free variable, ``beta``.
    likelihood : {"exact", "binned"}, default "exact"
        "binned": an approximation for large continuous data
        (:class:`~gmm_bayes.bayes.model_data.ModelData`).
    compress : {"auto", True, False}, default "auto"
        Exact likelihood over the distinct values with counts: "auto" when there are at most
        ``COMPRESS_FRACTION`` (0.8) N of them.
    bin_width : float, optional
        Binned likelihood: default
        :func:`~gmm_bayes.bayes.model_data.choose_bin_width` of ``fit_em(x, K, random_state=0)``.
    covariance_type : {"full", "tied", "diag", "spherical"}, default "full"
        As in :func:`gmm_bayes.fit_em` (mclust's "V" / "E" accepted). "tied": one standard
        deviation for all components, the free scalar ``sigma_shared`` under the sigma prior
        (one draw of it, not K); ``sigma`` stays a per-component variable (a deterministic,
        dims ``component``, every entry ``sigma_shared``) so every consumer of the posterior
        reads the same shapes for both models.
    resolution : None, "auto" or float > 0
        As in :func:`gmm_bayes.fit_em`: the likelihood of ``y`` is the probability of the
        interval ``[x - h/2, x + h/2]`` of each value
        (:mod:`~gmm_bayes.bayes.interval_likelihood`), over the distinct values with counts;
        "auto" detects the grid (:func:`gmm_bayes.em.resolution.detect_resolution`; none
        found: the density). Not with ``likelihood="binned"``.

    Returns
    -------
    pymc.Model
        Free variables ``w``, ``mu``, ``sigma`` (``sigma_shared`` when tied) (and ``beta``);
        observed ``y`` on dimension ``obs`` (0..N-1), or ``value`` (distinct values) when
        compressed, or ``bin`` when binned; coordinate ``component`` (0..K-1).

    Examples
    --------
    >>> import gmm_bayes as gb
    >>> model = build_model(gb.load_dataset("faithful"), 2)  # whole minutes: 51 distinct values
    >>> [rv.name for rv in model.free_RVs], model_data(model).n_terms
    (['w', 'mu', 'sigma'], 51)
    """
    x = as_data(x)
    k = as_n_components(n_components, x.size)
    tied = as_covariance_type(covariance_type) == "tied"
    width = as_resolution(resolution, x).width
    spec = _as_priors(priors).resolve(x, k)
    if as_likelihood(likelihood) == "binned" and bin_width is None and width is None:
        from gmm_bayes.em import fit_em

        bin_width = choose_bin_width(fit_em(x, k, random_state=0))
    data = ModelData.from_data(
        x, likelihood=likelihood, compress=compress, bin_width=bin_width, resolution=width
    )
    coords = {"component": np.arange(k), data.dim: np.arange(data.n_terms)}
    numbers, layout = _prior_constants(spec, ORDER_SCALE * _spread(x, spec), width)
    with pm.Model(coords=coords) as model:
        # Two containers only: nutpie's compile time grows with the number of containers.
        table = pm.Data("y_data", data.table())  # rows: values, counts (, sums of squares)
        constants = pm.Data("prior_constants", numbers)

        def pick(name):
            return constants[layout[name]]

        w = pm.Dirichlet("w", a=pick("w_concentration"), dims="component")
        mu = ordered_means(
            "mu", pick("mu_loc"), pick("mu_sd"), pick("order_scale"), k, dims="component"
        )
        if tied:
            shared = component_sigmas(SHARED_SIGMA, spec.sigma, pick, dims=None)
            sigma = pm.Deterministic("sigma", pt.ones(k) * shared, dims="component")
        else:
            sigma = component_sigmas("sigma", spec.sigma, pick, dims="component")
        if width is not None:
            observed_interval_mixture("y", w, mu, sigma, table, pick("resolution"), dims=data.dim)
        else:
            observed_mixture(
                "y", w, mu, sigma, table, binned=data.likelihood == "binned", dims=data.dim
            )
    _PRIORS[model] = spec
    _DATA[model] = data
    return model


def _prior_constants(spec, order_scale, resolution=None):
    """Every number of the priors (and the resolution, if any) in one vector, and where each
    sits in it.

    The layout depends only on K, the sigma prior's family and whether there is a resolution,
    so two data sets (different numbers, same layout) give the same graph.
    """
    prior = spec.sigma
    if prior.kind == "half-normal":
        sigma = {"sigma_scale": prior.scale}
    elif prior.kind == "lognormal":
        sigma = {"sigma_log_median": prior.log_median, "sigma_sd_log": prior.sd_log}
    elif prior.hierarchical:
        sigma = {"sigma_alpha": prior.alpha, "beta_g": prior.g, "beta_h": prior.h}
    else:
        sigma = {"sigma_alpha": prior.alpha, "sigma_beta": prior.beta}
    scalars = {"mu_loc": spec.mu_loc, "mu_sd": spec.mu_sd, "order_scale": order_scale, **sigma}
    if resolution is not None:
        scalars["resolution"] = resolution
    layout = {name: i for i, name in enumerate(scalars)}
    alpha = np.asarray(spec.alpha, dtype=np.float64)
    layout["w_concentration"] = slice(len(scalars), len(scalars) + alpha.size)
    return np.concatenate([np.array(list(scalars.values()), dtype=np.float64), alpha]), layout


def model_priors(model):
    """The :class:`~gmm_bayes.bayes.priors.ResolvedPriors` (data units) a model was built with.

    Examples
    --------
    >>> model = build_model([1.0, 2.0, 3.0, 10.0], 2)
    >>> spec = model_priors(model)
    >>> spec.mu_loc, spec.sigma.kind
    (4.0, 'inverse-gamma')

    Raises
    ------
    ValueError
        ``model`` was not made by :func:`build_model`.
    """
    try:
        return _PRIORS[model]
    except (KeyError, TypeError):
        raise ValueError("model was not built by gmm_bayes.build_model") from None


def _as_priors(priors):
    if priors is None:
        return Priors()
    if not isinstance(priors, Priors):
        raise TypeError(f"priors must be a gmm_bayes.Priors or None, got {type(priors).__name__}")
    return priors


def _spread(x, spec):
    sd = float(np.std(x))
    return sd if sd > 0 else spec.mu_sd


def model_data(model):
    """What the likelihood of a model built by :func:`build_model` runs over.

    Returns
    -------
    ModelData
        See :class:`~gmm_bayes.bayes.model_data.ModelData`.

    Raises
    ------
    ValueError
        ``model`` was not made by :func:`build_model`.
    """
    try:
        return _DATA[model]
    except (KeyError, TypeError):
        raise ValueError("model was not built by gmm_bayes.build_model") from None


def initial_point(model, em, *, min_weight=MIN_INIT_WEIGHT):
    """EM's estimate as a start for the model's free variables (constrained values).

    Means sorted and strictly increasing, weights floored at ``min_weight`` and renormalized
    (``EMResult.to_initvals``); for the hierarchical prior, ``beta`` at its conditional maximum
    given EM's sigmas. The start is checked to have a finite log density.

    Parameters
    ----------
    model : pymc.Model
        From :func:`build_model`.
    em : EMResult
        Same number of components as the model.
    min_weight : float

    Returns
    -------
    dict
        ``{"w": (K,), "mu": (K,), "sigma": (K,)}`` (for a tied model ``"sigma_shared"``, a
        float, in place of ``"sigma"``) plus ``"beta"`` (float) when the model has it.

    Raises
    ------
    ModelMismatchError
        The start has a non-finite log density (e.g. a zero sigma).

    Examples
    --------
    >>> import gmm_bayes as gb
    >>> x = gb.load_dataset("faithful")
    >>> start = initial_point(build_model(x, 2), gb.fit_em(x, 2, random_state=0))
    >>> sorted(start), bool(np.all(np.diff(start["mu"]) > 0))
    (['mu', 'sigma', 'w'], True)
    """
    _check_pair(model, em)
    start = em.to_initvals(min_weight)
    # Equal weights (two equal clusters) put the simplex coordinate's gradient at exactly 0,
    # which nutpie rejects as a "bad initial gradient"; a 1e-6 relative tilt avoids it.
    tilted = start["w"] * (1 + 1e-6 * np.arange(1, start["w"].size + 1))
    start["w"] = tilted / tilted.sum()
    if SHARED_SIGMA in model.named_vars:
        start[SHARED_SIGMA] = float(start.pop("sigma")[0])
    if "beta" in model.named_vars:
        sigmas = np.atleast_1d(start.get(SHARED_SIGMA, start.get("sigma")))
        start["beta"] = model_priors(model).sigma.beta_hat(sigmas**2)
    logp = float(_compiled_logp(model)(to_value_space(model, start)))
    if not np.isfinite(logp):
        raise ModelMismatchError(
            f"EM's estimate is not a valid start: the model's log density there is {logp} "
            f"(w={start['w'].tolist()}, mu={start['mu'].tolist()}, "
            f"sigma={start['sigma'].tolist()})"
        )
    return start


def _compiled_logp(model):
    """The model's full log density (jacobian included), compiled once per model."""
    fn = _LOGP.get(model)
    if fn is None:
        fn = _LOGP[model] = model.compile_logp(mode=ONE_OFF_MODE)
    return fn


def to_value_space(model, point):
    """Map constrained values ``{rv name: value}`` to the model's value variables.

    Uses each free variable's transform (``model.rvs_to_transforms``, ``transform.forward``),
    so the result is what the sampler sees: e.g. ``{"w_simplex__": ..., "mu_softordered__":
    ..., "sigma_log__": ...}``.

    Examples
    --------
    >>> model = build_model([1.0, 2.0, 3.0, 10.0], 2)
    >>> point = {"w": np.array([0.5, 0.5]), "mu": np.array([2.0, 10.0]), "sigma": np.ones(2)}
    >>> values = to_value_space(model, point)
    >>> sorted(values), values["sigma_log__"].tolist()
    (['mu_softordered__', 'sigma_log__', 'w_simplex__'], [0.0, 0.0])
    """
    names, fn = _forward_fn(model)
    values = fn(*(np.asarray(point[rv.name], dtype=np.float64) for rv in model.free_RVs))
    return {
        name: np.asarray(value, dtype=np.float64) for name, value in zip(names, values, strict=True)
    }


def _forward_fn(model):
    """``(value names, f)``: ``f(*constrained values of model.free_RVs)`` -> value-space values,
    compiled once per model (the transforms' data containers are read at each call)."""
    cached = _FORWARD.get(model)
    if cached is None:
        import pytensor

        inputs, outputs = [], []
        for rv in model.free_RVs:
            value = rv.type()
            transform = model.rvs_to_transforms.get(rv)
            inputs.append(value)
            outputs.append(
                value if transform is None else transform.forward(value, *rv.owner.inputs)
            )
        names = [model.rvs_to_values[rv].name for rv in model.free_RVs]
        fn = pytensor.function(inputs, outputs, on_unused_input="ignore", mode="FAST_COMPILE")
        cached = _FORWARD[model] = (names, fn)
    return cached


def check_model(model, em, *, rtol=None):
    """Check that the model's likelihood at EM's estimate is EM's own log-likelihood.

    Evaluates ``model.compile_logp(vars=[model["y"]], jacobian=False)`` at EM's weights, means
    and sigmas (mapped into the value space by each variable's transform) and compares it with
    ``em.log_likelihood``. This catches a model written in other units, on other data, with
    variances where standard deviations belong, or any other likelihood that is not EM's.

    Parameters
    ----------
    model : pymc.Model
        With free variables ``w``, ``mu``, ``sigma`` and observed ``y``, or a multivariate
        model of :func:`~gmm_bayes.bayes.model_mv.build_model_mv` (checked by
        :func:`~gmm_bayes.bayes.model_mv.check_model_mv`).
    em : EMResult
        An estimate for the same data (``fit_em``, ``fit_sklearn`` or MAP-EM).
    rtol : float, optional
        Relative tolerance: ``CHECK_RTOL`` (1e-8) for an exact likelihood (compressed or
        not: the counts-weighted sum over distinct values is the same sum), and
        ``BINNED_CHECK_RTOL`` (1e-5) for a binned one, whose approximation error this allows.

    Returns
    -------
    float
        The model's log-likelihood at EM's estimate.

    Raises
    ------
    ModelMismatchError
        The two log-likelihoods differ by more than ``rtol`` (the message gives both), or the
        model lacks ``w``, ``mu``, ``sigma`` or ``y``, or its number of components or
        observations differs from EM's.

    Examples
    --------
    >>> import gmm_bayes as gb
    >>> x = gb.load_dataset("faithful")
    >>> em = gb.fit_em(x, 2, random_state=0)
    >>> bool(np.isclose(check_model(build_model(x, 2), em), em.log_likelihood, rtol=1e-8))
    True
    >>> check_model(build_model(x * 60, 2), em)  # seconds, not minutes  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    gmm_bayes.exceptions.ModelMismatchError: the model's log-likelihood at EM's estimate is ...
    """
    if "cov" in model.named_vars:  # build_model_mv's multivariate mixture
        from gmm_bayes.bayes.model_mv import check_model_mv

        return check_model_mv(
            model, em.weights, em.means, em.covariances, em.log_likelihood, rtol=rtol or CHECK_RTOL
        )
    _check_pair(model, em)
    _check_structure(model, em)
    point = {"w": np.array(em.weights), "mu": np.array(em.means), "sigma": np.array(em.sigmas)}
    if SHARED_SIGMA in model.named_vars:
        point[SHARED_SIGMA] = np.array(em.sigmas[0])
    initial = model.initial_point()
    for rv in model.free_RVs:  # other free variables (e.g. beta) do not enter y's density
        if rv.name not in point:
            value_name = model.rvs_to_values[rv].name
            transform = model.rvs_to_transforms.get(rv)
            raw = initial[value_name]
            point[rv.name] = (
                raw if transform is None else transform.backward(pt.as_tensor_variable(raw)).eval()
            )
    with np.errstate(divide="ignore"):
        logp_fn = model.compile_logp(vars=[model["y"]], jacobian=False, mode=ONE_OFF_MODE)
        model_ll = float(logp_fn(to_value_space(model, point)))
    em_ll = float(em.log_likelihood)
    binned = model in _DATA and _DATA[model].likelihood == "binned"
    if rtol is None:
        rtol = BINNED_CHECK_RTOL if binned else CHECK_RTOL
    if not np.isclose(model_ll, em_ll, rtol=rtol, atol=0.0):
        rel = abs(model_ll - em_ll) / max(abs(em_ll), np.finfo(float).tiny)
        raise ModelMismatchError(
            f"the model's log-likelihood at EM's estimate is {model_ll!r} but EM's is {em_ll!r} "
            f"(relative difference {rel:.3g} > rtol={rtol:g}): the model is not the mixture EM "
            "fitted (other data, units, or likelihood)"
            + (
                "; with a binned likelihood, bins too coarse for the narrowest component also "
                "cause this (use a smaller bin_width)"
                if binned
                else ""
            )
        )
    return model_ll


def _check_structure(model, em):
    """The model and the estimate have the same covariance type and resolution."""
    model_tied = SHARED_SIGMA in model.named_vars
    if model_tied != (em.covariance_type == "tied"):
        raise ModelMismatchError(
            f"the model has {'one shared sigma' if model_tied else 'one sigma per component'} "
            f"but the EM estimate has covariance_type={em.covariance_type!r}; build the model "
            f"with covariance_type={em.covariance_type!r}"
        )
    width = _DATA[model].resolution if model in _DATA else None
    em_width = em.resolution
    same = (width is None and em_width is None) or (
        width is not None and em_width is not None and np.isclose(width, em_width, rtol=1e-12)
    )
    if not same:
        raise ModelMismatchError(
            f"the model's likelihood is at resolution {width} but the EM estimate's at "
            f"{em_width} (None: the density); build the model with resolution={em_width!r}"
        )


def _check_pair(model, em):
    if not isinstance(em, EMResult):
        raise TypeError(f"em must be a gmm_bayes.EMResult, got {type(em).__name__}")
    if not isinstance(model, pm.Model):
        raise TypeError(f"model must be a pymc.Model, got {type(model).__name__}")
    missing = [name for name in ("w", "mu", "sigma", "y") if name not in model.named_vars]
    if missing:
        raise ModelMismatchError(
            f"model has no variable(s) {missing}; build it with gmm_bayes.build_model"
        )
    k = len(model.coords.get("component", ())) or int(model["mu"].type.shape[-1] or 0)
    if k != em.n_components:
        raise ModelMismatchError(
            f"model has {k} components but the EM estimate has {em.n_components}"
        )
    n = _n_obs(model)
    if n != em.n_obs:
        raise ModelMismatchError(
            f"model observes {n} values but the EM estimate was fitted to {em.n_obs}"
        )


def _n_obs(model):
    if model in _DATA:
        return _DATA[model].n_obs
    data = model.rvs_to_values[model["y"]]
    value = getattr(data, "data", None)
    if value is None:
        value = data.eval()
    return int(np.size(value))
