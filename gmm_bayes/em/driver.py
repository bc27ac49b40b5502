"""Expectation-maximization for univariate Gaussian mixtures, in log space.

The public building blocks are :func:`component_logpdf` (densities), :func:`responsibilities`
(E-step) and :func:`m_step`; :func:`fit_em` drives them with restarts, a convergence test and
regularization, in the manner of scikit-learn's ``sklearn/mixture/_base.py``.

Internally the data are standardized, ``z = (x - loc) / scale`` with the median and a robust
scale (interquartile range / 1.349), and every result is mapped back. EM commutes with that
affine map exactly (the regularization default is relative to the squared robust scale and
``tol`` is per observation), so standardizing only buys numerical range: data near 1e8 with
spread 1, or one outlier 1e12 away, fit as well as data near 0.
"""

import sys
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from gmm_bayes._validation import (
    as_component_vector,
    as_data,
    as_int,
    as_n_components,
    as_nonnegative_float,
    as_variances,
    as_weights,
)
from gmm_bayes.em import kernel as _kernel
from gmm_bayes.em.result import EMResult
from gmm_bayes.em.steps import MaximumLikelihoodStep, Step
from gmm_bayes.exceptions import ConvergenceWarning, DataError, DegenerateFitWarning, FitError

__all__ = ["component_logpdf", "fit_em", "m_step", "responsibilities", "INITS"]

INITS = ("kmeans++", "quantile", "random")

#: default ``reg_covar`` as a fraction of the data's variance (scikit-learn's 1e-6, made relative)
RELATIVE_REG_COVAR = 1e-6
#: a component with fewer effective observations than this is "collapsed"
MIN_COMPONENT_COUNT = 2.0
#: fresh starts tried for one restart slot whose run collapsed or failed (mixtools does 20)
MAX_FRESH_STARTS = 10
#: variances must stay representable in float64 once mapped back to the data's units
_SCALE_RANGE = (1e-150, 1e150)
_EPS = 10 * np.finfo(np.float64).eps
_IQR_PER_SD = 1.3489795003921634  # interquartile range of the standard normal


# --------------------------------------------------------------------------------------------
# building blocks
# --------------------------------------------------------------------------------------------


def component_logpdf(x, means, variances):
    """Log density of every observation under every component.

    Parameters
    ----------
    x : array_like, shape (N,) or (N, 1)
    means : array_like, shape (K,)
    variances : array_like, shape (K,)
        Strictly positive.

    Returns
    -------
    ndarray, shape (N, K)
        ``log N(x_n | mu_k, var_k)``.
    """
    x = as_data(x)
    means = as_component_vector(means, "means", np.size(means))
    variances = as_variances(variances, means.size, name="variances")
    return _component_logpdf(x, means, variances)


def _component_logpdf(x, means, variances):
    diff = x[:, None] - means
    return -0.5 * (np.log(2 * np.pi * variances) + diff * diff / variances)


def responsibilities(x, weights, means, variances):
    """E-step: posterior probability of each component for each observation.

    Parameters
    ----------
    x : array_like, shape (N,) or (N, 1)
    weights : array_like, shape (K,)
        Non-negative, summing to 1.
    means, variances : array_like, shape (K,)

    Returns
    -------
    ndarray, shape (N, K)
        Rows sum to 1; computed with ``logsumexp`` so no row underflows to 0/0.
    """
    means = as_component_vector(means, "means", np.size(means))
    weights = as_weights(weights, means.size, name="weights")
    log_resp, _ = _e_step(
        as_data(x), weights, means, as_variances(variances, means.size, "variances")
    )
    return np.exp(log_resp)


def _e_step(x, weights, means, variances):
    """Return ``(log_resp (N, K), log-likelihood per observation (N,))``."""
    with np.errstate(divide="ignore"):
        log_joint = np.log(weights) + _component_logpdf(x, means, variances)
    log_norm = logsumexp(log_joint, axis=1)
    return log_joint - log_norm[:, None], log_norm


def m_step(x, resp):
    """M-step: weighted maximum-likelihood weights, means and variances.

    Parameters
    ----------
    x : array_like, shape (N,) or (N, 1)
    resp : array_like, shape (N, K)
        Responsibilities: non-negative, each row summing to 1 (densities are refused).

    Returns
    -------
    weights, means, variances : ndarray, shape (K,)
        Variances are the weighted biased (divide by the effective count) estimates, without
        regularization. As in scikit-learn, ``10 * eps`` is added to each effective count so an
        empty component gives finite numbers rather than 0/0.
    """
    x = as_data(x)
    resp = np.asarray(resp, dtype=np.float64)
    if resp.ndim != 2 or resp.shape[0] != x.size:
        raise ValueError(f"resp must have shape (N, K) = ({x.size}, K), got shape {resp.shape}")
    if not np.isfinite(resp).all() or (resp < 0).any():
        raise ValueError("resp must be finite and non-negative")
    row_sums = resp.sum(axis=1)
    bad = np.flatnonzero(np.abs(row_sums - 1) > 1e-6)
    if bad.size:
        raise ValueError(
            f"resp rows must sum to 1, row {bad[0]} sums to {row_sums[bad[0]]:.6g}; "
            "pass responsibilities (e.g. from gmm_bayes.em.responsibilities), not densities"
        )
    return _m_step(x, resp)


def _m_step(x, resp):
    nk, means, variances = _weighted_stats(x, resp)
    return nk / x.size, means, variances


def _weighted_stats(x, resp):
    """Effective counts, weighted means and weighted (biased) variances, each shape (K,)."""
    nk = resp.sum(axis=0) + _EPS
    means = resp.T @ x / nk
    diff = x[:, None] - means
    variances = np.einsum("nk,nk->k", resp, diff * diff) / nk
    return nk, means, variances


# --------------------------------------------------------------------------------------------
# the driver
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Standardizer:
    """The affine map ``z = (x - loc) / scale`` and its inverse on parameters."""

    loc: float
    scale: float

    @classmethod
    def of(cls, x):
        """Median and robust scale of ``x`` (IQR / 1.349, else the sd when over half tie).

        Robust statistics keep one huge outlier from squeezing the bulk of the data into a few
        ulps of ``z``, and from inflating the relative ``reg_covar`` default.
        """
        loc = float(np.median(x))
        q25, q75 = np.percentile(x, [25, 75])
        scale = float(q75 - q25) / _IQR_PER_SD
        if scale == 0.0:
            spread = float(np.max(np.abs(x - loc)))
            if spread == 0.0:
                return cls(loc, 1.0)
            # divide before squaring so data near 1e200 do not overflow
            scale = spread * float(np.sqrt(np.mean(((x - loc) / spread) ** 2)))
        if not _SCALE_RANGE[0] <= scale <= _SCALE_RANGE[1] or not np.isfinite(scale):
            raise DataError(
                f"x has a spread of {scale:.3g}: variances of that order are not representable "
                f"in float64; rescale x (e.g. x / {scale:.0e}) and map the estimates back"
            )
        return cls(loc, scale)

    def params_to_z(self, means, variances):
        return (means - self.loc) / self.scale, variances / self.scale**2

    def params_to_x(self, means, variances):
        return means * self.scale + self.loc, variances * self.scale**2


@dataclass
class _Run:
    """One EM run in standardized units."""

    weights: np.ndarray
    means: np.ndarray
    variances: np.ndarray
    history: list
    n_iter: int
    converged: bool
    collapsed: np.ndarray
    objective: float  # log-likelihood, plus the log prior density for MAP-EM

    @property
    def log_likelihood(self):
        return self.history[-1]


def fit_em(
    x,
    n_components=2,
    *,
    n_init=5,
    init="kmeans++",
    tol=1e-6,
    max_iter=1000,
    reg_covar=None,
    random_state=None,
    weights_init=None,
    means_init=None,
    variances_init=None,
    priors=None,
):
    """Fit a univariate Gaussian mixture by maximum likelihood (EM), or MAP with ``priors``.

    Parameters
    ----------
    x : array_like, shape (N,) or (N, 1)
        Finite real observations (lists and integer arrays are fine). A ``dask.array.Array``
        is fitted chunk by chunk on dask's current scheduler (:mod:`gmm_bayes.em.dask_source`).
    n_components : int
        K, between 1 and N.
    n_init : int, default 5
        Restarts from different starting points; the run with the highest final log-likelihood
        wins. Deterministic starts (``init="quantile"`` or all three ``*_init`` given) run once.
    init : {"kmeans++", "quantile", "random"}
        How to start when no explicit start is given. "kmeans++": scikit-learn's
        ``kmeans_plusplus`` centres, each observation assigned to its nearest centre, one M-step.
        "quantile": K equal-count groups of the sorted data. "random": K distinct observations as
        centres, then as for k-means++.
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
    random_state : None, int or numpy.random.Generator
        Seed of every random choice; the global NumPy RNG is never used.
    weights_init, means_init, variances_init : array_like, shape (K,), optional
        Explicit start (any subset; missing parts are estimated from the start ``init`` gives,
        or, when ``means_init`` is given, from assigning each observation to its nearest mean).
    priors : gmm_bayes.Priors, optional
        Maximize the log-posterior of :func:`gmm_bayes.build_model` with these priors instead
        of the likelihood (MAP-EM: the M-step adds the priors' terms). ``reg_covar`` then
        defaults to 0, since the prior on ``sigma`` already keeps variances away from 0, and
        ``tol`` applies to the log-posterior.

    Returns
    -------
    EMResult
        Components sorted by mean, ascending. ``log_likelihood`` is at the returned parameters.

    Warns
    -----
    ConvergenceWarning
        The best run stopped at ``max_iter`` before meeting ``tol`` (``converged`` is False).
    DegenerateFitWarning
        In every run and its fresh starts, some component collapsed (effective count below 2 or
        variance at most twice ``reg_covar``); the best such run is returned, ``collapsed``
        marks the components.

    Raises
    ------
    FitError
        Every run's log-likelihood became non-finite (e.g. ``reg_covar=0`` and a component on a
        single repeated value).
    """
    if _is_dask_array(x):
        from gmm_bayes.em import (
            dask_source as dask_em,
        )  # dask is imported only when a dask array arrives

        return dask_em.fit_em(
            x,
            n_components,
            n_init=n_init,
            init=init,
            tol=tol,
            max_iter=max_iter,
            reg_covar=reg_covar,
            random_state=random_state,
            weights_init=weights_init,
            means_init=means_init,
            variances_init=variances_init,
            priors=priors,
        )
    x = as_data(x)
    k = as_n_components(n_components, x.size)
    n_init = as_int(n_init, "n_init", minimum=1)
    max_iter = as_int(max_iter, "max_iter", minimum=0)
    tol = as_nonnegative_float(tol, "tol")
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    start = _explicit_start(weights_init, means_init, variances_init, k)
    rng = np.random.default_rng(random_state)

    std = _Standardizer.of(x)
    z = x - std.loc
    z /= std.scale  # in place: one copy of the data, not two
    reg_z = 0.0 if priors is not None and reg_covar is None else _regularization(reg_covar, x, std)
    start_z = _start_to_z(start, std)
    step = _step(priors, x, std, reg_z)

    deterministic = init == "quantile" or all(v is not None for v in start_z.values())
    runs = []
    for _ in range(1 if deterministic else n_init):
        runs.extend(_healthy_run(z, k, init, start_z, step, tol, max_iter, rng, deterministic))
    return _result(runs, x, std, reg_z, max_iter, method="em" if priors is None else "map-em")


def _step(priors, x, std, reg_z):
    """The M-step: maximum likelihood, or the MAP step of ``priors`` (a :class:`Step`)."""
    if priors is None:
        return MaximumLikelihoodStep(reg_z)
    step = priors.em_step(x, std.loc, std.scale, reg_z) if hasattr(priors, "em_step") else None
    if not isinstance(step, Step):
        raise TypeError(f"priors must be a gmm_bayes.Priors or None, got {type(priors).__name__}")
    return step


def _is_dask_array(x):
    """True for a dask array; never imports dask (a dask array means dask is loaded)."""
    dask_array = sys.modules.get("dask.array")
    return dask_array is not None and isinstance(x, dask_array.Array)


def _explicit_start(weights_init, means_init, variances_init, k):
    return {
        "weights": None if weights_init is None else as_weights(weights_init, k),
        "means": None if means_init is None else as_component_vector(means_init, "means_init", k),
        "variances": None if variances_init is None else as_variances(variances_init, k),
    }


def _start_to_z(start, std):
    out = dict(start)
    if start["means"] is not None:
        out["means"] = (start["means"] - std.loc) / std.scale
    if start["variances"] is not None:
        out["variances"] = start["variances"] / std.scale**2
    return out


def _regularization(reg_covar, x, std):
    """``reg_covar`` in standardized units (the relative default is 1e-6 there)."""
    if reg_covar is None:
        if np.ptp(x) == 0:
            raise DataError(
                f"all {x.size} values of x equal {float(x[0])!r}: a Gaussian mixture has no "
                "scale to fit; pass reg_covar > 0 (in squared units of x) to fit components "
                "of that variance"
            )
        return RELATIVE_REG_COVAR
    return as_nonnegative_float(reg_covar, "reg_covar") / std.scale**2


def _healthy_run(z, k, init, start, step, tol, max_iter, rng, deterministic):
    """Run EM from one start; on collapse or failure, retry from fresh starts (mixtools' way).

    Returns the list of finished runs with a finite log-likelihood: the first healthy one, or
    every collapsed one when no healthy run was found within ``MAX_FRESH_STARTS``.
    """
    finished = []
    for _ in range(1 if deterministic else 1 + MAX_FRESH_STARTS):
        run = _run_em(z, *_initial_params(z, k, init, start, rng), step, tol, max_iter)
        if run is None:
            continue
        if not run.collapsed.any():
            return [run]
        finished.append(run)
    return finished


#: k-means++ and random starts pick centres among at most this many observations
START_POOL_SIZE = 1 << 17


def _start_pool(z, rng):
    """``z``, or ``START_POOL_SIZE`` of its observations at random positions, in data order.

    Centres from a random subset are as good a start, and k-means++ on all of N = 1e7 points
    would need about ten times the data's memory.
    """
    if z.size <= START_POOL_SIZE:
        return z
    return z[np.sort(rng.choice(z.size, size=START_POOL_SIZE, replace=False))]


def _initial_params(z, k, init, start, rng):
    """Starting ``(weights, means, variances)`` in standardized units."""
    if all(v is not None for v in start.values()):  # a full explicit start: no pass over z
        return start["weights"] / start["weights"].sum(), start["means"], start["variances"]
    if start["means"] is not None:
        centres = start["means"]
    elif init == "quantile":
        centres = None
    elif init == "kmeans++":
        from sklearn.cluster import kmeans_plusplus  # imported here: keeps `import gmm_bayes` cheap

        seed = int(rng.integers(np.iinfo(np.int32).max))
        centres = kmeans_plusplus(_start_pool(z, rng)[:, None], k, random_state=seed)[0][:, 0]
    else:
        # distinct values in data order (not sorted order), so that x -> -x picks the same points
        pool = _start_pool(z, rng)
        firsts = np.sort(np.unique(pool, return_index=True)[1])
        centres = pool[rng.choice(firsts, size=k, replace=firsts.size < k)]
    if centres is None:
        # equal-count groups by rank, symmetric under reversing the order
        ranks = np.argsort(np.argsort(z, kind="stable"), kind="stable")
        labels = np.minimum(np.floor(k * (ranks + 0.5) / z.size).astype(int), k - 1)
        weights, means, variances = _kernel.hard_stats(z, k, labels=labels)
    else:  # each observation to its nearest centre
        weights, means, variances = _kernel.hard_stats(z, k, centres=centres)
    variances = np.maximum(variances, RELATIVE_REG_COVAR)
    if start["means"] is not None:
        means = start["means"]
    if start["weights"] is not None:
        weights = start["weights"]
    if start["variances"] is not None:
        variances = start["variances"]
    return weights / weights.sum(), means, variances


def _em_pass(z, weights, means, variances):
    """One pass over the data: log-likelihood and the next M-step's sufficient statistics.

    ``z`` is an in-memory array (:func:`gmm_bayes.em.kernel.em_pass`: blocked, fused, on all
    cores) or chunked data with an ``em_pass`` method (:mod:`gmm_bayes.em.dask_source`).

    Returns
    -------
    log_likelihood : float
    nk, new_means, new_variances : ndarray, shape (K,)
        Effective counts, weighted means and weighted biased variances.
    """
    if isinstance(z, np.ndarray):
        return _kernel.em_pass(z, weights, means, variances)
    return z.em_pass(weights, means, variances)


def _run_em(z, weights, means, variances, step, tol, max_iter):
    """EM iterations from one start; ``None`` when the log-likelihood became non-finite."""
    n = z.size
    with np.errstate(invalid="ignore", over="ignore"):
        log_likelihood, *stats = _em_pass(z, weights, means, variances)
    history = [log_likelihood]
    objective = history[-1] + step.log_prior(weights, means, variances)
    converged = False
    n_iter = 0
    while n_iter < max_iter and not converged:
        n_iter += 1
        weights, means, variances = step.m_step(*stats)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_likelihood, *stats = _em_pass(z, weights, means, variances)
        history.append(log_likelihood)
        previous, objective = objective, history[-1] + step.log_prior(weights, means, variances)
        if not np.isfinite(objective):
            return None
        converged = abs(objective - previous) / n < tol
    if not np.isfinite(objective):
        return None
    nk = weights * n
    collapsed = (nk < MIN_COMPONENT_COUNT) | (variances <= 2 * step.reg)
    return _Run(weights, means, variances, history, n_iter, converged, collapsed, objective)


def _result(runs, x, std, reg_z, max_iter, method="em"):
    if not runs:
        raise FitError(
            "every EM run ended with a non-finite log-likelihood; increase reg_covar or "
            "reduce n_components"
        )
    healthy = [r for r in runs if not r.collapsed.any()]
    pool = healthy or runs
    order = sorted(range(len(pool)), key=lambda i: -pool[i].objective)
    best = pool[order[0]]
    optima = _distinct([pool[i] for i in order])
    results = [_to_result(r, x, std, reg_z, method) for r in optima]
    result = results[0].with_local_maxima(tuple(results))
    if not healthy:
        warnings.warn(
            f"component(s) {np.flatnonzero(result.collapsed).tolist()} collapsed in every run "
            "(fewer than 2 effective observations or variance at the reg_covar floor); the "
            "result marks them in `collapsed`. Reduce n_components or increase reg_covar.",
            DegenerateFitWarning,
            stacklevel=3,
        )
    if not best.converged and max_iter > 0:
        warnings.warn(
            f"EM did not converge in max_iter={max_iter} iterations (last change in mean "
            f"log-likelihood {abs(best.history[-1] - best.history[-2]) / x.size:.3g}); "
            "increase max_iter or tol",
            ConvergenceWarning,
            stacklevel=3,
        )
    return result


def _distinct(runs, atol=1e-4):
    """Runs whose (standardized) parameters differ from every better run: the local maxima."""
    kept = []
    for run in runs:
        params = _sorted_params(run)
        if all(np.max(np.abs(params - _sorted_params(other))) > atol for other in kept):
            kept.append(run)
    return kept


def _sorted_params(run):
    order = np.argsort(run.means, kind="stable")
    return np.concatenate([run.weights[order], run.means[order], np.sqrt(run.variances[order])])


def _to_result(run, x, std, reg_z, method="em"):
    means, variances = std.params_to_x(run.means, run.variances)
    order = np.argsort(means, kind="stable")
    shift = x.size * np.log(std.scale)  # log-likelihood of x = that of z - N log(scale)
    return EMResult(
        weights=run.weights[order],
        means=means[order],
        variances=variances[order],
        log_likelihood=run.log_likelihood - shift,
        n_iter=run.n_iter,
        converged=run.converged,
        history=np.asarray(run.history) - shift,
        n_obs=x.size,
        reg_covar=reg_z * std.scale**2,
        collapsed=run.collapsed[order],
        method=method,
    )
