""":func:`gmm_bayes.fit_em` for (N, d) data, d >= 2: validation, the search, the result.

:func:`gmm_bayes.fit_em` hands a 2-D array of two or more columns to :func:`fit_em_mv`. The
search is :mod:`~.search_mv`'s, on at most ``SEARCH_SAMPLE_SIZE`` rows (a random sample of
larger data, whose best ``MAX_POLISHED`` maxima are then run on all the rows); each run is
:func:`~.multivariate.run_em_mv`. Why a path apart from the univariate one: see
:mod:`~.search_mv`. With ``priors`` (``gmm_bayes.bayes.MultivariatePriors``) every run's
M-step is the priors' :class:`~.multivariate.MultivariateStep` (MAP-EM) and runs are ranked by
the log posterior.
"""

import os
import warnings

import numpy as np

from gmm_bayes._validation import as_int, as_n_components, as_nonnegative_float, as_weights
from gmm_bayes.em.covariance import (
    covariance_type_name,
    default_regularization,
    from_sklearn_shape,
    regularization_matrix,
)

# the univariate driver's search sample size and polished maxima: one setting for every d
from gmm_bayes.em.driver import MAX_POLISHED, SEARCH_SAMPLE_SIZE
from gmm_bayes.em.kernel_mv import log_prob_resp
from gmm_bayes.em.multivariate import MultivariateStep, as_matrix_data, principal_axis
from gmm_bayes.em.random_state import as_generator
from gmm_bayes.em.result import EMResult
from gmm_bayes.em.search_mv import (
    SearchSettings,
    distinct_mv,
    find_maxima_mv,
    labels_start,
    params_of,
    rank_runs,
    run_from,
    start_labels,
)
from gmm_bayes.em.starts import INITS
from gmm_bayes.exceptions import ConvergenceWarning, DegenerateFitWarning, FitError

__all__ = [
    "MAX_POLISHED",
    "SEARCH_SAMPLE_SIZE",
    "explicit_start",
    "fit_em_mv",
    "result_mv",
    "search_sample",
    "search_settings",
]

_EM_DIR = os.path.dirname(__file__)


def fit_em_mv(
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
    covariances_init=None,
    covariance_type="full",
    priors=None,
):
    """A Gaussian mixture of (N, d) data by maximum likelihood, or MAP with ``priors``:
    :func:`gmm_bayes.fit_em`'s d >= 2 path (see there for the other arguments).

    Parameters
    ----------
    priors : object with ``em_step_mv(x, reg, covariance_type)``, optional
        ``gmm_bayes.bayes.MultivariatePriors()``: maximize the log posterior of
        ``gmm_bayes.bayes.model_mv.build_model_mv`` (the step it returns, a
        :class:`~.multivariate.MultivariateStep`); ``reg_covar`` then defaults to 0 (the
        priors keep covariances positive definite) and ``tol`` applies to the log posterior.

    Returns
    -------
    EMResult
        ``means`` (K, d), ``covariances`` (K, d, d), ``variances`` their diagonals (K, d),
        ``reg_covar`` the (d, d) matrix added to every covariance; components ordered by their
        means' projection on the data's first principal axis
        (:func:`~.multivariate.order_components`). ``method`` "map-em" with ``priors``
        (``log_likelihood`` and ``history`` stay the log-likelihood's, as for d = 1; the
        search ranked the runs by the log posterior).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.vstack([rng.normal(size=(100, 2)), rng.normal(size=(100, 2)) + [8.0, 0.0]])
    >>> fit = fit_em_mv(x, 2, random_state=0)
    >>> fit.weights.round(2).tolist(), (fit.means.round(0) + 0.0).tolist(), fit.covariances.shape
    ([0.5, 0.5], [[0.0, 0.0], [8.0, 0.0]], (2, 2, 2))
    """
    x = as_matrix_data(x)
    n = x.shape[0]
    k, settings = search_settings(
        x,
        n,
        n_components,
        n_init=n_init,
        init=init,
        tol=tol,
        max_iter=max_iter,
        reg_covar=reg_covar,
        random_state=random_state,
        covariance_type=covariance_type,
        priors=priors,
    )
    start = explicit_start(x, k, settings, weights_init, means_init, covariances_init)
    complete = all(v is not None for v in (weights_init, means_init, covariances_init))
    if complete or init == "quantile":
        if start is None:
            start = labels_start(x, start_labels(x, k, "quantile", settings.rng), k, settings)
        runs = rank_runs([run_from(x, start, settings)], n, settings)
    elif n <= SEARCH_SAMPLE_SIZE:
        runs = find_maxima_mv(x, k, settings, start=start)
    else:
        sample = x[search_sample(n, settings.rng)]
        runs = _polish(x, find_maxima_mv(sample, k, settings, start=start), settings)
    return result_mv(runs, settings, n, principal_axis(x), x)


def search_settings(
    rows, n_obs, n_components, *, covariance_type, reg_covar, priors=None, **options
):
    """``(K, SearchSettings)`` from :func:`gmm_bayes.fit_em`'s options, validated.

    Parameters
    ----------
    rows : ndarray, shape (M, d)
        The data (or the rows :func:`~.covariance.robust_covariance` would take of them), for
        the default regularization.
    n_obs : int
        N, the rows of the data.
    n_components : int
    covariance_type, reg_covar
        As :func:`gmm_bayes.fit_em`.
    priors : optional
        As :func:`fit_em_mv`: the settings' ``step``.
    **options
        ``n_init``, ``init``, ``tol``, ``max_iter``, ``random_state``.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(50, 2))
    >>> k, settings = search_settings(x, 50, 3, covariance_type="VVV", reg_covar=0.5, n_init=5,
    ...                               init="mixed", tol=1e-6, max_iter=100, random_state=0)
    >>> k, settings.covariance_type, settings.reg.tolist()
    (3, 'full', [[0.5, 0.0], [0.0, 0.5]])
    """
    k = as_n_components(n_components, n_obs)
    if options["init"] not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {options['init']!r}")
    covariance_type = covariance_type_name(covariance_type)
    d = rows.shape[1]
    if reg_covar is not None:
        reg = regularization_matrix(reg_covar, d, covariance_type)
    elif priors is not None:
        reg = np.zeros((d, d))  # the priors keep every covariance positive definite
    else:
        reg = default_regularization(rows, covariance_type)
    return k, SearchSettings(
        n_init=as_int(options["n_init"], "n_init", minimum=1),
        init=options["init"],
        tol=as_nonnegative_float(options["tol"], "tol"),
        max_iter=as_int(options["max_iter"], "max_iter", minimum=0),
        reg=reg,
        covariance_type=covariance_type,
        rng=as_generator(options["random_state"]),
        step=None if priors is None else _map_step(priors, rows, reg, covariance_type),
    )


def _map_step(priors, x, reg, covariance_type):
    """The priors' MAP step for (N, d) data, checked."""
    step = priors.em_step_mv(x, reg, covariance_type) if hasattr(priors, "em_step_mv") else None
    if not isinstance(step, MultivariateStep):
        raise TypeError(
            f"priors for data of d >= 2 columns must be gmm_bayes.bayes.MultivariatePriors() "
            f"(the priors of build_model_mv) or None, got {type(priors).__name__}; "
            "gmm_bayes.Priors is for univariate data"
        )
    return step


def search_sample(n, rng):
    """Indices (sorted) of the ``SEARCH_SAMPLE_SIZE`` rows the search runs on.

    Examples
    --------
    >>> search_sample(10**6, np.random.default_rng(0)).shape
    (2048,)
    """
    return np.sort(rng.choice(n, size=SEARCH_SAMPLE_SIZE, replace=False))


def explicit_start(x, k, settings, weights_init, means_init, covariances_init):
    """The start from the ``*_init`` given (missing parts from groups of the rows), or None.

    Returns
    -------
    tuple of ndarray or None
        ``(weights (K,), means (K, d), covariances (K, d, d))``.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(50, 2))
    >>> _, settings = search_settings(x, 50, 2, covariance_type="full", reg_covar=None,
    ...                               n_init=1, init="mixed", tol=0.0, max_iter=1,
    ...                               random_state=0)
    >>> explicit_start(x, 2, settings, [0.3, 0.7], None, None)[0].tolist()
    [0.3, 0.7]
    """
    if weights_init is None and means_init is None and covariances_init is None:
        return None
    d = x.shape[1]
    if means_init is not None:
        means = np.asarray(means_init, dtype=np.float64)
        if means.shape != (k, d) or not np.isfinite(means).all():
            raise ValueError(
                f"means_init must be a finite ({k}, {d}) array, got shape {means.shape}"
            )
        labels = start_labels(x, k, "", settings.rng, means=means)
    else:
        kind = "quantile" if settings.init == "quantile" else "kmeans++"
        labels = start_labels(x, k, kind, settings.rng)
    weights, means_found, covariances = labels_start(x, labels, k, settings)
    if means_init is not None:
        means_found = means
    if weights_init is not None:
        weights = as_weights(weights_init, k)
    if covariances_init is not None:
        covariances = from_sklearn_shape(covariances_init, settings.covariance_type, k, d)
    return weights, means_found, covariances


def _polish(x, candidates, settings):
    """Runs on all of ``x`` from the best sample maxima until one does not collapse."""
    finished = []
    for candidate in distinct_mv(x, candidates)[:MAX_POLISHED]:
        ranked = rank_runs([run_from(x, params_of(candidate.run), settings)], len(x), settings)
        if ranked and not ranked[0].collapsed.any():
            return ranked
        finished += ranked
    return sorted(finished, key=lambda r: r.key)


def result_mv(runs, settings, n_obs, axis, rows):
    """The best run as an :class:`EMResult` (the distinct others in ``local_maxima``), warned.

    Parameters
    ----------
    runs : list of Ranked
        Best first.
    settings : SearchSettings
    n_obs : int
    axis : ndarray, shape (d,)
        The data's principal axis (:func:`~.multivariate.principal_axis`): the components'
        order.
    rows : ndarray, shape (M, d)
        The data, or a sample of them: the classification entropy is theirs times N / M.

    Returns
    -------
    EMResult
    """
    if not runs:
        raise FitError(
            "every EM run ended with a singular covariance; pass reg_covar > 0 (or None for "
            "the default) or reduce n_components"
        )
    results = [
        _to_result(ranked, settings, n_obs, axis, rows) for ranked in distinct_mv(rows, runs)
    ]
    result = results[0].with_local_maxima(results)
    if result.degenerate:
        warnings.warn(
            f"component(s) {np.flatnonzero(result.collapsed).tolist()} collapsed in every run "
            "(fewer than 2 effective observations, a covariance at the reg_covar floor in some "
            "direction, or an sd under 1/1000 of the widest component's); the result marks "
            "them in `collapsed`. Reduce n_components or increase reg_covar.",
            DegenerateFitWarning,
            skip_file_prefixes=(_EM_DIR,),
        )
    if not result.converged and settings.max_iter > 0:
        change = abs(result.history[-1] - result.history[-2]) / result.n_obs
        warnings.warn(
            f"EM did not converge in max_iter={settings.max_iter} iterations (last change in "
            f"mean log-likelihood {change:.3g}); increase max_iter or tol",
            ConvergenceWarning,
            skip_file_prefixes=(_EM_DIR,),
        )
    return result


def _to_result(ranked, settings, n_obs, axis, rows):
    """One run as an :class:`EMResult`, components in principal-axis order."""
    run = ranked.run
    order = np.argsort(run.means @ axis, kind="stable")
    covariances = run.covariances[order]
    log_resp = log_prob_resp(rows, run.weights, run.means, run.covariances)[1]
    return EMResult(
        weights=run.weights[order],
        means=run.means[order],
        variances=np.diagonal(covariances, axis1=1, axis2=2).copy(),
        log_likelihood=run.log_likelihood,
        n_iter=run.n_iter,
        converged=run.converged,
        history=np.asarray(run.history),
        n_obs=n_obs,
        reg_covar=settings.reg,
        collapsed=ranked.collapsed[order],
        method="em" if settings.step is None else "map-em",
        classification_entropy=_entropy(log_resp) * n_obs / len(rows),
        covariance_type=settings.covariance_type,
        covariances=covariances,
    )


def _entropy(log_resp):
    """``-sum_n sum_k r_nk log r_nk`` (0 log 0 = 0)."""
    resp = np.exp(log_resp)
    return float(-np.sum(resp * np.where(resp > 0, log_resp, 0.0)))
