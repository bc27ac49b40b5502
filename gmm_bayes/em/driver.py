"""The EM driver: validation, the search for the best maximum, the result and its warnings.

One driver serves every kind of data. It sees the data through a
:class:`~gmm_bayes.em.source.DataSource` (its size and one pass returning sufficient statistics)
and the M-step through a :class:`~gmm_bayes.em.steps.Step` (maximum likelihood, or the MAP step
of :class:`gmm_bayes.Priors`), always in the standardized units of
:mod:`gmm_bayes.em.standardize`, in the manner of scikit-learn's ``sklearn/mixture/_base.py``.

- :func:`fit_em`: an in-memory array (a dask array is handed to :mod:`~.dask_source`);
- :func:`fit_source`: a data source too large for memory, started from an in-memory sample.

The starts and restarts are :mod:`~.search`'s (greedy insertion and screened restarts), on at
most ``SEARCH_SAMPLE_SIZE`` observations; on more, the best maxima of the sample are then
polished on all the data.
"""

import functools
import os
import sys
import warnings
from dataclasses import dataclass

import numpy as np

from gmm_bayes._validation import (
    as_data,
    as_int,
    as_n_components,
    as_nonnegative_float,
    has_columns,
)
from gmm_bayes.em.interval import IntervalSource
from gmm_bayes.em.random_state import as_generator
from gmm_bayes.em.resolution import Resolution, as_resolution
from gmm_bayes.em.result import EMResult
from gmm_bayes.em.run import run_em
from gmm_bayes.em.search import distinct, find_maxima
from gmm_bayes.em.source import InMemorySource
from gmm_bayes.em.standardize import Standardizer, default_regularization
from gmm_bayes.em.starts import INITS, Start, initial_params
from gmm_bayes.em.steps import MaximumLikelihoodStep, Step, as_covariance_type
from gmm_bayes.exceptions import (
    ConvergenceWarning,
    DegenerateFitWarning,
    FitError,
    HeapingWarning,
)

__all__ = ["MAX_POLISHED", "SEARCH_SAMPLE_SIZE", "EMOptions", "fit_em", "fit_source"]

#: the search runs on at most this many observations (a random sample of larger data)
SEARCH_SAMPLE_SIZE = 1 << 11
#: sample maxima, best first, polished on all the data until one does not collapse
MAX_POLISHED = 3
#: the resolution of a fit with the density likelihood
DENSITY = Resolution(None)
#: warnings point at the first caller outside this package (gmm_bayes/em)
_EM_DIR = os.path.dirname(__file__)


@dataclass(frozen=True)
class EMOptions:
    """The options of :func:`fit_em`, validated (see there for their meaning).

    Attributes
    ----------
    n_components, n_init, max_iter : int
    init : str
    tol : float
    reg_covar : float or None
        In the data's squared units; None for the relative default.
    rng : numpy.random.Generator
    start : Start
        The explicit start, in the data's units.
    covariance_type : {"full", "tied", "diag", "spherical"}
        The canonical name (mclust's "V" / "E" mapped to "full" / "tied").

    Examples
    --------
    >>> options = EMOptions.validated(100, 3, init="quantile", random_state=0)
    >>> options.n_components, options.deterministic
    (3, True)
    """

    n_components: int
    n_init: int
    init: str
    tol: float
    max_iter: int
    reg_covar: float | None
    rng: np.random.Generator
    start: Start
    covariance_type: str = "full"

    @classmethod
    def validated(
        cls,
        n_obs,
        n_components,
        *,
        n_init=5,
        init="mixed",
        tol=1e-6,
        max_iter=1000,
        reg_covar=None,
        random_state=None,
        weights_init=None,
        means_init=None,
        variances_init=None,
        covariance_type="full",
    ):
        """Check every option of :func:`fit_em` for data of ``n_obs`` observations."""
        k = as_n_components(n_components, n_obs)
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {init!r}")
        return cls(
            n_components=k,
            n_init=as_int(n_init, "n_init", minimum=1),
            init=init,
            tol=as_nonnegative_float(tol, "tol"),
            max_iter=as_int(max_iter, "max_iter", minimum=0),
            reg_covar=None if reg_covar is None else as_nonnegative_float(reg_covar, "reg_covar"),
            rng=as_generator(random_state),
            start=Start.validated(k, weights_init, means_init, variances_init),
            covariance_type=as_covariance_type(covariance_type),
        )

    @property
    def deterministic(self):
        """One run only: the quantile start, or a complete explicit start."""
        return self.init == "quantile" or self.start.complete


def fit_em(
    x,
    n_components=2,
    *,
    n_init=5,
    init="mixed",
    tol=1e-6,
    max_iter=1000,
    reg_covar=None,
    random_state=None,
    weights_init=None,
    means_init=None,
    variances_init=None,
    priors=None,
    covariance_type="full",
    resolution=None,
    covariances_init=None,
):
    """Fit a Gaussian mixture by maximum likelihood (EM), or MAP with ``priors``.

    Parameters
    ----------
    x : array_like, shape (N,), (N, 1) or (N, d)
        Finite real observations (lists and integer arrays are fine). A ``dask.array.Array``
        is fitted chunk by chunk on dask's current scheduler (:mod:`gmm_bayes.em.dask_source`).
        d >= 2 columns: a multivariate mixture (:mod:`gmm_bayes.em.driver_mv`, the same search
        on (N, d) rows; ``resolution`` and ``variances_init`` are univariate only).
    n_components : int
        K, between 1 and N.
    n_init : int, default 5
        Runs to convergence at K, the best of ``2 * n_init`` screened restarts and of the
        insertion starts (:mod:`gmm_bayes.em.search`); more if none of them reaches the best
        fit with K-1 components. Deterministic starts (``init="quantile"`` or all three
        ``*_init`` given) run once, with no search.
    init : {"mixed", "kmeans++", "quantile", "random"}
        The screened restarts. "kmeans++": greedy k-means++ centres, each observation assigned
        to its nearest centre, one M-step. "random": K distinct observations as centres, then
        as for k-means++. "mixed" (default): both, alternately. "quantile": one run from K
        equal-count groups of the sorted data.
    tol : float, default 1e-6
        Convergence threshold on the change in *mean log-likelihood per observation* between
        successive iterations (scikit-learn's convention; unchanged by a change of units).
        EM converges linearly, so where the likelihood is flat the parameters can still be
        about ``sqrt(tol)`` (relative) from the maximum when the test is met: pass e.g.
        ``1e-13`` to compare parameters with another optimizer to 1e-6.
    max_iter : int, default 1000
        Maximum number of EM iterations (M-steps). ``0`` returns the starting values.
    reg_covar : float or None
        Added to every variance at each M-step, as in scikit-learn. ``None`` (default) uses
        ``1e-6 * s**2`` with ``s`` the robust scale of ``x`` (IQR / 1.349; the sd when more than
        half the values tie), so a change of units ``a * x + b`` changes the fit only by the
        same map; a number is used as is, in the data's squared units (scikit-learn's semantics).
    random_state : None, int in [0, 2**32 - 1] or numpy.random.Generator
        Seed of every random choice; the global NumPy RNG is never used.
    weights_init, means_init, variances_init : array_like, shape (K,), optional
        Explicit start (any subset; missing parts are estimated from the start ``init`` gives,
        or, when ``means_init`` is given, from assigning each observation to its nearest mean).
    priors : gmm_bayes.Priors, optional
        Maximize the log-posterior of :func:`gmm_bayes.build_model` with these priors instead
        of the likelihood (MAP-EM: the M-step adds the priors' terms). ``reg_covar`` then
        defaults to 0, since the prior on ``sigma`` already keeps variances away from 0, and
        ``tol`` applies to the log-posterior. d >= 2: ``gmm_bayes.bayes.MultivariatePriors()``,
        the priors of ``build_model_mv`` (:mod:`gmm_bayes.bayes.map_step_mv`).
    covariance_type : {"full", "tied", "diag", "spherical"}, default "full"
        scikit-learn's names. For d >= 2 the four structures of
        :mod:`gmm_bayes.em.covariance` (a matrix per component, one shared, diagonal, a
        multiple of the identity; mclust's VVV, EEE, VVI, VII accepted as aliases) with
        ``(K - 1) + K d`` plus ``K d (d + 1) / 2``, ``d (d + 1) / 2``, ``K d`` or ``K`` free
        parameters; the default ``reg_covar`` is then 1e-6 times the data's robust covariance
        projected on the structure (:func:`gmm_bayes.em.covariance.default_regularization`),
        so the fit of ``x A + b`` is the fit of ``x`` mapped, and a number is added to the
        diagonal (scikit-learn's semantics). For d = 1: "full": one variance per component
        (mclust's "V", accepted as an alias); "tied": one variance shared by all components
        (mclust's "E", accepted too), whose M-step pools the within-component variances,
        ``sum_k n_k var_k / N``, plus ``reg_covar``. For univariate data "diag" and
        "spherical" are the same model as "full" (accepted, and recorded under their own
        name). Free parameters (``EMResult.n_parameters``, used by BIC, AIC and ICL):
        ``3K - 1`` for one variance per component, ``2K`` tied (K - 1 weights, K means, 1
        variance).
    resolution : None, "auto" or float > 0
        The data were recorded at this resolution ``h`` (whole minutes: 1): each value ``x``
        stands for the interval ``[x - h/2, x + h/2]`` and the likelihood is the intervals'
        probability (:mod:`gmm_bayes.em.resolution`), bounded, so tied values cannot pull a
        component into a spike; EM for intervals is McLachlan & Jones's (1988)
        (:mod:`gmm_bayes.em.interval`). "auto" detects a recording grid (all values multiples
        of ``h``, ``h`` above 1/1000 of the robust scale) and uses it, or the density
        likelihood when there is none. ``log_likelihood`` is then a sum of log
        probabilities (unitless; not comparable with a density fit's). Heaps (values far more
        frequent than their grid neighbours) are recorded in ``heaps`` and warned about. Not
        available for dask arrays.
    covariances_init : array_like, optional
        d >= 2: the start's covariances, shaped per ``covariance_type`` as scikit-learn's
        ``precisions_init`` (but covariances): (K, d, d) full, (d, d) tied, (K, d) diag, (K,)
        spherical; with ``weights_init`` (K,) and ``means_init`` (K, d) one run from exactly
        that start.

    Returns
    -------
    EMResult
        Components sorted by mean, ascending (d >= 2: by their means' projection on the data's
        first principal axis, :func:`gmm_bayes.em.multivariate.order_components`).
        ``log_likelihood`` is at the returned parameters.
        The returned run is the best healthy one (no collapsed component), else the best one;
        ``local_maxima`` holds the distinct maxima the search ended in.

    Warns
    -----
    ConvergenceWarning
        The best run stopped at ``max_iter`` before meeting ``tol`` (``converged`` is False).
    HeapingWarning
        ``resolution`` is given and some values are heaps (``EMResult.heaps``).
    DegenerateFitWarning
        In every run, some component collapsed (effective count below 2, variance at most
        twice ``reg_covar``, or sd under 1/1000 of the widest; see
        :func:`~.result.collapsed_components`); the run with the fewest collapsed components
        (then the highest objective) is returned, ``collapsed`` marks the components.

    Raises
    ------
    FitError
        Every run's log-likelihood became non-finite (e.g. ``reg_covar=0`` and a component on a
        single repeated value).

    Examples
    --------
    >>> x = np.concatenate([np.linspace(0, 2, 50), np.linspace(10, 12, 50)])
    >>> fit = fit_em(x, 2, random_state=0)
    >>> fit.weights.round(3).tolist(), fit.means.round(3).tolist(), fit.converged
    ([0.5, 0.5], [1.0, 11.0], True)

    Two columns, one shared covariance (mclust's EEE):

    >>> xy = np.column_stack([x, np.sin(np.arange(100))])
    >>> fit = fit_em(xy, 2, covariance_type="tied", random_state=0)
    >>> fit.means[:, 0].round(3).tolist(), fit.covariances.shape, fit.n_parameters
    ([1.0, 11.0], (2, 2, 2), 8)
    """
    settings = dict(
        n_init=n_init,
        init=init,
        tol=tol,
        max_iter=max_iter,
        reg_covar=reg_covar,
        random_state=random_state,
        weights_init=weights_init,
        means_init=means_init,
        variances_init=variances_init,
        covariance_type=covariance_type,
    )
    if has_columns(x):
        return _fit_matrix(x, n_components, priors, resolution, settings, covariances_init)
    if covariances_init is not None:
        raise ValueError(
            "covariances_init is for data of d >= 2 columns; pass variances_init (K,) for "
            "univariate data"
        )
    if _is_dask_array(x):
        from gmm_bayes.em import dask_source  # imported here: dask only for a dask array

        if resolution is not None:
            raise ValueError(
                f"resolution={resolution!r} is not available for dask arrays yet; pass "
                "resolution=None, or a numpy array"
            )
        return dask_source.fit_dask_array(x, n_components, priors=priors, **settings)
    x = as_data(x)
    options = EMOptions.validated(x.size, n_components, **settings)
    found = as_resolution(resolution, x)
    std = Standardizer.of(x)
    reg = _regularization(options.reg_covar, priors, x, std)
    step = _step(priors, x, std, reg, options.n_components, options.covariance_type)
    z = std.to_z(x)
    start = options.start.to_z(std)
    source_of = _source_of(found, std)
    source = source_of(z)
    if options.deterministic:
        runs = _deterministic_run(source, z, start, options, step)
    elif z.size <= SEARCH_SAMPLE_SIZE:
        runs = find_maxima(z, start, options, step, source_of=source_of)
    else:
        sample = _search_sample(z, options.rng)
        runs = _polish(
            find_maxima(sample, start, options, step, source_of=source_of), source, options, step
        )
    _warn_heaps(found)
    return _result(runs, std, step, options.max_iter, source, found)


def fit_source(source, sample, options, standardizer, step):
    """EM on a data source too large for memory, started from an in-memory sample of it.

    The search (:func:`gmm_bayes.em.search.find_maxima`) runs on ``sample`` (on at most
    ``SEARCH_SAMPLE_SIZE`` of its observations); its best maxima, healthy first, are then
    polished on all of ``source`` until one does not collapse (at most ``MAX_POLISHED`` of
    them). A deterministic start (quantile, or a complete explicit start) runs on ``source``
    directly.

    Parameters
    ----------
    source : DataSource
        All the data, standardized by ``standardizer``.
    sample : ndarray, shape (M,)
        Standardized observations drawn from the source (starts, search, quantiles, and the
        classification entropy of the result, scaled by ``N / M``).
    options : EMOptions
    standardizer : Standardizer
    step : Step
        Its ``reg`` is in standardized units; the result's ``method`` is "em" for a
        :class:`MaximumLikelihoodStep`, else "map-em".

    Returns
    -------
    EMResult
        As :func:`fit_em`, with the same warnings and errors.

    Examples
    --------
    >>> from gmm_bayes.em.source import InMemorySource
    >>> x = np.concatenate([np.linspace(0, 2, 500), np.linspace(10, 12, 500)])
    >>> std = Standardizer.of(x)
    >>> z = std.to_z(x)
    >>> options = EMOptions.validated(x.size, 2, random_state=0)
    >>> fit = fit_source(InMemorySource(z), z[::10], options, std, MaximumLikelihoodStep(1e-6))
    >>> fit.n_obs, fit.means.round(3).tolist()
    (1000, [1.0, 11.0])
    """
    start = options.start.to_z(standardizer)
    if options.deterministic:
        runs = _deterministic_run(source, sample, start, options, step)
    else:
        found = find_maxima(_search_sample(sample, options.rng), start, options, step)
        runs = _polish(found, source, options, step)
    return _result(runs, standardizer, step, options.max_iter, InMemorySource(sample))


def _fit_matrix(x, n_components, priors, resolution, settings, covariances_init):
    """fit_em on (N, d) data, d >= 2 (:mod:`~.driver_mv`; a dask array: :mod:`~.dask_matrix`)."""
    given = {"resolution": resolution}
    given["variances_init"] = settings.pop("variances_init")
    for name, value in given.items():
        if value is not None:
            raise ValueError(
                f"{name} is univariate only, got {name}={value!r} for data of shape "
                f"{np.shape(x)}; drop it (covariances_init replaces variances_init)"
            )
    if _is_dask_array(x):
        from gmm_bayes.em import dask_matrix  # imported here: dask only for a dask array

        if priors is not None:
            raise ValueError(
                "priors (MAP-EM) are not available for a dask array of d >= 2 columns yet; "
                "pass priors=None, or a numpy array"
            )

        return dask_matrix.fit_dask_matrix(
            x, n_components, covariances_init=covariances_init, **settings
        )
    from gmm_bayes.em.driver_mv import fit_em_mv

    return fit_em_mv(x, n_components, covariances_init=covariances_init, priors=priors, **settings)


def _is_dask_array(x):
    """True for a dask array; never imports dask (a dask array means dask is loaded)."""
    dask_array = sys.modules.get("dask.array")
    return dask_array is not None and isinstance(x, dask_array.Array)


def _regularization(reg_covar, priors, x, std):
    """``reg_covar`` in standardized units; by default relative, or 0 under priors."""
    if reg_covar is not None:
        return reg_covar / std.scale / std.scale  # scale**2 overflows above 1.3e154
    if priors is not None:
        return 0.0  # the prior on sigma keeps variances away from 0
    return default_regularization(x.size, np.min(x), np.max(x), std)


def _step(priors, x, std, reg, k, covariance_type):
    """The M-step: maximum likelihood, or the MAP step of ``priors`` (a :class:`Step`)."""
    if priors is None:
        return MaximumLikelihoodStep(reg, covariance_type)
    if not hasattr(priors, "em_step"):
        step = None
    else:
        # asked only for the tied model, so an em_step written before covariance types works
        tied = {"covariance_type": "tied"} if covariance_type == "tied" else {}
        step = priors.em_step(x, std.loc, std.scale, reg, n_components=k, **tied)
    if not isinstance(step, Step):
        raise TypeError(f"priors must be a gmm_bayes.Priors or None, got {type(priors).__name__}")
    return step


def _source_of(found, std):
    """``z -> DataSource``: the density likelihood, or the interval likelihood at the
    resolution ``found.width`` (in standardized units)."""
    if found.width is None:
        return InMemorySource
    return functools.partial(IntervalSource, width=found.width / std.scale)


def _warn_heaps(found):
    if found.heaps:
        listed = ", ".join(
            f"{value:g} ({count} times)"
            for value, count in zip(found.heaps, found.heap_counts, strict=True)
        )
        where = (
            f"their neighbours on the grid of resolution {found.width:g}"
            if found.width is not None
            else "any other value of these otherwise continuous data"
        )
        warnings.warn(
            f"x has heaps, values far more frequent than {where}: {listed}; a component may "
            "fit a heap alone (the result lists them in `heaps`)",
            HeapingWarning,
            skip_file_prefixes=(_EM_DIR,),
        )


def _search_sample(z, rng):
    """``z``, or ``SEARCH_SAMPLE_SIZE`` of its observations drawn at random."""
    if z.size <= SEARCH_SAMPLE_SIZE:
        return z
    return z[rng.choice(z.size, size=SEARCH_SAMPLE_SIZE, replace=False)]


def _deterministic_run(source, sample, start, options, step):
    """The one run of a deterministic start (taken from ``sample``) on ``source``, as a list."""
    params = initial_params(sample, options.n_components, options.init, start, options.rng)
    run = _to_convergence(source, params, step, options)
    return [] if run is None else [run]


def _polish(candidates, source, options, step):
    """EM on all of ``source`` from the best sample maxima (healthy first) until one does not
    collapse: ``[that run]``, or every finished (collapsed) run when none stayed healthy."""
    finished = []
    for candidate in distinct(candidates)[:MAX_POLISHED]:
        run = _to_convergence(source, candidate.params, step, options)
        if run is None:
            continue
        if run.healthy:
            return [run]
        finished.append(run)
    return finished


def _to_convergence(source, params, step, options):
    return run_em(source, params, step, tol=options.tol, max_iter=options.max_iter)


# --------------------------------------------------------------------------------------------
# the result
# --------------------------------------------------------------------------------------------


def _result(runs, std, step, max_iter, source, found=DENSITY):
    """The best run as an :class:`EMResult` in the data's units, with its warnings.

    Healthy runs beat collapsed ones; among them the highest objective wins. The distinct
    solutions become ``local_maxima``. ``source`` (the standardized data, or a sample of them)
    gives each one's classification entropy, scaled to the size of the data; ``found`` the
    resolution and heaps recorded.
    """
    if not runs:
        raise FitError(
            "every EM run ended with a non-finite log-likelihood; increase reg_covar or "
            "reduce n_components"
        )
    ranked = distinct(sorted(runs, key=lambda run: run.rank))
    method = "em" if isinstance(step, MaximumLikelihoodStep) else "map-em"
    results = [_to_result(run, std, step, method, source, found) for run in ranked]
    result = results[0].with_local_maxima(results)
    best = ranked[0]
    if not best.healthy:
        warnings.warn(
            f"component(s) {np.flatnonzero(result.collapsed).tolist()} collapsed in every run "
            "(fewer than 2 effective observations, variance at the reg_covar floor, or sd under "
            "1/1000 of the widest component's); the result marks them in `collapsed`. Reduce "
            "n_components or increase reg_covar.",
            DegenerateFitWarning,
            skip_file_prefixes=(_EM_DIR,),
        )
    if not best.converged and max_iter > 0:
        warnings.warn(
            f"EM did not converge in max_iter={max_iter} iterations (last change in mean "
            f"log-likelihood {abs(best.history[-1] - best.history[-2]) / best.n_obs:.3g}); "
            "increase max_iter or tol",
            ConvergenceWarning,
            skip_file_prefixes=(_EM_DIR,),
        )
    return result


def _to_result(run, std, step, method, source, found):
    """``run`` mapped back to the data's units, components sorted by mean."""
    means, variances = std.params_to_x(run.means, run.variances)
    order = np.argsort(means, kind="stable")
    # a density's log-likelihood of x is that of z - N log(scale); a probability's is the same
    shift = run.n_obs * np.log(std.scale) if source.density else 0.0
    entropy = source.classification_entropy(run.weights, run.means, run.variances)
    reg = step.reg
    return EMResult(
        weights=run.weights[order],
        means=means[order],
        variances=variances[order],
        log_likelihood=run.history[-1] - shift,
        n_iter=run.n_iter,
        converged=run.converged,
        history=np.asarray(run.history) - shift,
        n_obs=run.n_obs,
        reg_covar=reg * std.scale * std.scale,
        collapsed=run.collapsed[order],
        method=method,
        classification_entropy=entropy * run.n_obs / source.size,
        covariance_type=step.covariance_type,
        resolution=found.width,
        heaps=found.heaps,
    )
