"""Standard errors and confidence intervals of a maximum-likelihood mixture estimate.

Two methods, as statisticians know them from mclust's ``MclustBootstrap`` and mixtools'
``boot.se``:

- "bootstrap": nonparametric resampling of the data; every replicate is refitted by EM from the
  original estimate (same ``reg_covar``) and its components are matched to the original ones by
  :func:`match_components`; standard error = sd of the replicates, percentile intervals.
- "information": the exact observed information (Louis 1982) in unconstrained coordinates
  (log-ratio weights, means, log sigmas, :func:`observed_information`), carried back to
  ``w``, ``mu``, ``sigma`` by the delta method; Wald intervals. For a tied fit (one log sigma)
  or one with a recording resolution (the interval likelihood), the information is the
  numerical Hessian of that log-likelihood (``scipy.differentiate.hessian``) in the same
  coordinates.
"""

import os
import warnings

import numpy as np
from scipy import linalg
from scipy.differentiate import hessian
from scipy.optimize import linear_sum_assignment
from scipy.special import logsumexp
from scipy.stats import norm

from gmm_bayes import mixture
from gmm_bayes._validation import as_data, as_int, as_probability, short_repr
from gmm_bayes.em.driver import fit_em
from gmm_bayes.em.random_state import as_generator
from gmm_bayes.em.resolution import interval_log_probability
from gmm_bayes.em.result import EMResult
from gmm_bayes.exceptions import (
    ConvergenceWarning,
    DegenerateFitWarning,
    FitError,
    HeapingWarning,
)

__all__ = [
    "METHODS",
    "match_components",
    "numerical_information",
    "observed_information",
    "standard_errors",
]

#: the ``method`` argument of :func:`standard_errors`
METHODS = ("bootstrap", "information")

#: replicate fits stop on this change in mean log-likelihood: with fit_em's default 1e-6 a
#: slowly converging replicate can stop a sizeable fraction of a standard error short of its
#: maximum, which would inflate the bootstrap spread
_REPLICATE_TOL = 1e-10
_REPLICATE_MAX_ITER = 10_000
#: warnings point at the first caller outside this package (gmm_bayes/em)
_EM_DIR = os.path.dirname(__file__)
#: observations per block of the information sum (bounds memory at N x K x (3K - 1) floats)
_BLOCK = 65_536

_WALD = (
    "Wald intervals from the observed information: mu +- z se; sigma on the log scale and w on "
    "the logit scale, mapped back"
)
_PERCENTILE = "percentile intervals of the bootstrap replicates"


def standard_errors(fit, x, *, method="bootstrap", n_boot=200, level=0.95, random_state=None):
    """Standard errors and confidence intervals of the weights, means and sigmas of ``fit``.

    Parameters
    ----------
    fit : EMResult
        A maximum-likelihood fit of ``x`` (``method`` "em" or "sklearn"; not a MAP-EM fit,
        whose uncertainty is the posterior's).
    x : array_like, shape (N,) or (N, 1)
        The data ``fit`` was fitted on (its size and log-likelihood are checked).
    method : {"bootstrap", "information"}
        "bootstrap": ``n_boot`` nonparametric resamples of ``x``, each refitted by EM from
        ``fit`` with ``fit.reg_covar`` and its components matched to ``fit``'s by
        :func:`match_components`; se = sd of the replicates, percentile intervals. Replicates
        whose fit fails are left out; collapsed ones are kept (they are part of the estimator's
        spread) and counted. "information": the observed information of ``x`` at ``fit``
        (:func:`observed_information`), inverted and carried to ``w``, ``mu``, ``sigma`` by the
        delta method; Wald intervals built on the logit scale for ``w``, the log scale for
        ``sigma`` and the natural scale for ``mu``. Refused for a collapsed fit.
    n_boot : int, default 200
        Bootstrap replicates (at least 2); unused by "information".
    level : float, default 0.95
        Probability mass of the intervals, in (0, 1).
    random_state : None, int in [0, 2**32 - 1] or numpy.random.Generator
        Seed of the resampling; unused by "information".

    Returns
    -------
    xarray.Dataset
        On dim ``component`` (K, in ``fit``'s order): standard errors ``w``, ``mu``, ``sigma``
        and interval bounds ``w_lower``, ``w_upper``, ``mu_lower``, ``mu_upper``,
        ``sigma_lower``, ``sigma_upper``. Attributes: ``method``, ``level``, ``intervals`` (how
        they were made), ``n_obs``; for the bootstrap also ``n_boot``, ``n_failed`` (left out),
        ``n_collapsed`` and ``n_not_converged`` replicates.

    Raises
    ------
    TypeError
        ``fit`` is not an EMResult, or an option has the wrong type.
    ValueError
        A bad ``method``, ``n_boot`` or ``level``; ``x`` is not the data of ``fit``; a MAP-EM
        fit; "information" for a collapsed fit or one whose information is not positive
        definite (not at a strict maximum).
    FitError
        Fewer than 2 bootstrap replicates could be fitted.

    Warns
    -----
    DegenerateFitWarning
        Some bootstrap replicates collapsed or failed (the counts are in the attributes too).

    Examples
    --------
    >>> import gmm_bayes as gb
    >>> x = np.random.default_rng(0).normal(10.0, 2.0, 400)
    >>> fit = gb.fit_em(x, 1)
    >>> se = standard_errors(fit, x, method="information")
    >>> bool(np.isclose(se["mu"][0], fit.sigmas[0] / np.sqrt(400)))  # sigma / sqrt(N)
    True
    >>> bool(se["mu_lower"][0] < fit.means[0] < se["mu_upper"][0]), se.attrs["level"]
    (True, 0.95)
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {short_repr(method)}")
    n_boot = as_int(n_boot, "n_boot", minimum=2)
    level = as_probability(level, "level")
    rng = as_generator(random_state)
    x = _checked_data(fit, x)
    if method == "information":
        return _information_intervals(fit, x, level)
    return _bootstrap_intervals(fit, x, n_boot, level, rng)


def _checked_data(fit, x):
    """``x`` as float64 after checking that ``fit`` is a maximum-likelihood fit of it."""
    if not isinstance(fit, EMResult):
        raise TypeError(
            f"fit must be an EMResult (from gmm_bayes.fit_em or fit_sklearn), got "
            f"{type(fit).__name__}"
        )
    if fit.method == "map-em":
        raise ValueError(
            "fit is a MAP-EM fit (fit_em(..., priors=...)): these standard errors are of the "
            "maximum-likelihood estimate; refit without priors, or use the posterior of "
            "gmm_bayes.sample_posterior for the uncertainty under the priors"
        )
    x = as_data(x)
    if x.size != fit.n_obs:
        raise ValueError(
            f"x has {x.size} observations but fit was fitted on n_obs={fit.n_obs}; pass the "
            "data the fit was made on"
        )
    log_likelihood = float(np.sum(_log_likelihood_terms(fit, x)))
    if abs(log_likelihood - fit.log_likelihood) > 1e-6 * x.size:
        raise ValueError(
            f"x is not the data fit was fitted on: its log-likelihood at fit is "
            f"{log_likelihood:.6g}, fit.log_likelihood is {fit.log_likelihood:.6g}; pass the "
            "data the fit was made on"
        )
    return x


# --------------------------------------------------------------------------------------------
# the observed information
# --------------------------------------------------------------------------------------------


def observed_information(fit, x):
    """Observed information of ``x`` at ``fit``, exactly (Louis 1982), in unconstrained
    coordinates.

    The coordinates are ``theta = (log(w_1 / w_K), ..., log(w_{K-1} / w_K), mu_1, ..., mu_K,
    log sigma_1, ..., log sigma_K)``. Per observation, the Hessian of the log mixture density is
    the responsibility-weighted mean of the complete-data Hessians plus the
    responsibility-weighted covariance of the complete-data gradients (Louis' identity), so
    the matrix is the exact negative Hessian of the log-likelihood, with no numerical
    differentiation.

    Parameters
    ----------
    fit : EMResult
        Weights, means and variances of K components (any point, not only a maximum).
    x : array_like, shape (N,) or (N, 1)

    Returns
    -------
    ndarray, shape (3K - 1, 3K - 1)
        ``-d^2 log L / d theta^2``; positive definite at a strict local maximum.

    Examples
    --------
    >>> import gmm_bayes as gb
    >>> x = np.array([-1.0, 0.0, 1.0, 2.0])
    >>> fit = gb.fit_em(x, 1)  # mu = 0.5, sigma^2 = 1.25 (+ reg_covar)
    >>> info = observed_information(fit, x)  # diag(N / sigma^2, 2N) at the maximum
    >>> info.round(4).tolist()
    [[3.2, 0.0], [0.0, 8.0]]
    """
    x = as_data(x)
    weights, means, sigmas = fit.weights, fit.means, fit.sigmas
    k = weights.size
    information = np.zeros((3 * k - 1, 3 * k - 1))
    for start in range(0, x.size, _BLOCK):
        information -= _hessian(x[start : start + _BLOCK], weights, means, sigmas)
    return information


def _hessian(x, weights, means, sigmas):
    """Hessian of the log-likelihood of the observations ``x`` (n,) in the coordinates theta."""
    k = weights.size
    xs, mus, covs = mixture.univariate(x, means, sigmas**2)
    resp = mixture.responsibilities(xs, weights, mus, covs)  # (n, K)
    u = (x[:, None] - means) / sigmas  # (n, K)
    grads = _complete_gradients(u, weights, sigmas)  # (n, K, P)
    mean_grad = np.einsum("nk,nkp->np", resp, grads)
    gradient_spread = np.einsum("nk,nkp,nkq->pq", resp, grads, grads) - mean_grad.T @ mean_grad
    complete = np.zeros_like(gradient_spread)
    w_head = weights[:-1]
    complete[: k - 1, : k - 1] = -x.size * (np.diag(w_head) - np.outer(w_head, w_head))
    mu, log_sigma = np.arange(k - 1, 2 * k - 1), np.arange(2 * k - 1, 3 * k - 1)
    complete[mu, mu] = -resp.sum(axis=0) / sigmas**2
    complete[mu, log_sigma] = complete[log_sigma, mu] = -2 * (resp * u).sum(axis=0) / sigmas
    complete[log_sigma, log_sigma] = -2 * (resp * u**2).sum(axis=0)
    return complete + gradient_spread


def _complete_gradients(u, weights, sigmas):
    """Gradient of ``log w_k + log N(x_n | mu_k, sigma_k)`` in theta, shape (n, K, 3K - 1).

    ``u`` is ``(x_n - mu_k) / sigma_k``, shape (n, K).
    """
    n, k = u.shape
    grads = np.zeros((n, k, 3 * k - 1))
    grads[:, :, : k - 1] = np.eye(k)[:, : k - 1] - weights[:-1]  # d log w_k / d log(w_j / w_K)
    components = np.arange(k)
    grads[:, components, k - 1 + components] = u / sigmas
    grads[:, components, 2 * k - 1 + components] = u**2 - 1
    return grads


def _information_intervals(fit, x, level):
    """Delta-method standard errors and Wald intervals from the observed information."""
    if fit.degenerate:
        raise ValueError(
            f"fit has collapsed component(s) {np.flatnonzero(fit.collapsed).tolist()}: the "
            "information matrix is singular there; use method='bootstrap', or refit with fewer "
            "components"
        )
    k, tied = fit.n_components, fit.covariance_type == "tied"
    if tied or fit.resolution is not None:
        information = numerical_information(fit, x)
    else:
        information = observed_information(fit, x)
    covariance = _inverse(information)
    jacobian = _natural_jacobian(fit.weights, fit.sigmas, tied=tied)
    se = np.sqrt(np.diag(jacobian @ covariance @ jacobian.T)).reshape(3, k)
    z = norm.ppf(0.5 + level / 2)
    se_log_sigma = np.sqrt(np.diag(covariance)[2 * k - 1 :]) * np.ones(k)
    bounds = {
        "w": _logit_wald(fit.weights, se[0], z),
        "mu": (fit.means - z * se[1], fit.means + z * se[1]),
        "sigma": tuple(fit.sigmas * np.exp(sign * z * se_log_sigma) for sign in (-1, 1)),
    }
    attrs = {"method": "information", "level": level, "intervals": _WALD, "n_obs": x.size}
    return _dataset(dict(zip(("w", "mu", "sigma"), se, strict=True)), bounds, attrs)


def _inverse(information):
    """Inverse of a positive definite information matrix, or a ValueError saying why not."""
    try:
        factor = linalg.cho_factor(information)
    except linalg.LinAlgError:
        smallest = float(np.linalg.eigvalsh(information)[0])
        raise ValueError(
            f"the observed information at fit is not positive definite (smallest eigenvalue "
            f"{smallest:.3g}): fit is not at a strict maximum of the likelihood of x (e.g. "
            "two components coincide); use method='bootstrap', or refit with fewer components"
        ) from None
    return linalg.cho_solve(factor, np.eye(information.shape[0]))


def _natural_jacobian(weights, sigmas, *, tied=False):
    """d(w, mu, sigma) / d theta, shape (3K, 3K - 1), or (3K, 2K) when ``tied`` (theta's
    last coordinate the one log sigma)."""
    k = weights.size
    jacobian = np.zeros((3 * k, 2 * k if tied else 3 * k - 1))
    jacobian[:k, : k - 1] = weights[:, None] * (np.eye(k)[:, : k - 1] - weights[:-1])
    jacobian[k : 2 * k, k - 1 : 2 * k - 1] = np.eye(k)
    jacobian[2 * k :, 2 * k - 1 :] = sigmas[:, None] if tied else np.diag(sigmas)
    return jacobian


def numerical_information(fit, x):
    """Observed information of ``x`` at ``fit`` by numerical differentiation, for the models
    :func:`observed_information` does not cover: tied (one sigma) and interval likelihoods.

    The negative Hessian of the fit's own log-likelihood (the density's, or with
    ``fit.resolution`` the probability of each value's interval) in the coordinates
    ``theta = (log(w_k / w_K) for k < K, mu_1..mu_K, log sigma_1..log sigma_K)``, with a single
    ``log sigma`` when tied; by ``scipy.differentiate.hessian`` (adaptive finite differences
    with error control).

    Parameters
    ----------
    fit : EMResult
    x : array_like, shape (N,) or (N, 1)

    Returns
    -------
    ndarray, shape (3K - 1, 3K - 1), or (2K, 2K) when tied

    Examples
    --------
    >>> import gmm_bayes as gb
    >>> x = np.random.default_rng(0).normal(0.0, 1.0, 200)
    >>> fit = gb.fit_em(x, 1)
    >>> bool(np.allclose(numerical_information(fit, x), observed_information(fit, x)))
    True
    """
    x = as_data(x)
    values, counts = np.unique(x, return_counts=True)
    k, tied = fit.n_components, fit.covariance_type == "tied"
    theta = np.concatenate(
        [
            np.log(fit.weights[:-1] / fit.weights[-1]),
            fit.means,
            np.log(fit.sigmas[:1] if tied else fit.sigmas),
        ]
    )

    def log_likelihood(points):  # points (D, ...) as scipy.differentiate passes them
        flat = points.reshape(points.shape[0], -1).T  # (P, D)
        return (_theta_log_terms(fit, values, flat, k) @ counts).reshape(points.shape[1:])

    result = hessian(log_likelihood, theta)
    information = -0.5 * (result.ddf + result.ddf.T)
    return information


def _theta_log_terms(fit, values, theta, k):
    """Log-likelihood of each value (M,) at each of P points ``theta`` (P, D): shape (P, M)."""
    logits = np.concatenate([theta[:, : k - 1], np.zeros((theta.shape[0], 1))], axis=1)
    weights = np.exp(logits - logsumexp(logits, axis=1, keepdims=True))
    means = theta[:, k - 1 : 2 * k - 1]
    sigmas = np.exp(theta[:, 2 * k - 1 :]) * np.ones(k)
    return _mixture_log_terms(fit, values, weights, means, sigmas)


def _mixture_log_terms(fit, values, weights, means, sigmas):
    """Per-value log-likelihood under the fit's likelihood (interval or density), shape
    (P, M), for parameters of shape (P, K) and values (M,)."""
    if fit.resolution is None:
        xs, mus, covs = mixture.univariate(values, means, sigmas**2)
        return mixture.log_density(xs, weights, mus, covs)
    return interval_log_probability(values, fit.resolution, weights, means, sigmas)


def _log_likelihood_terms(fit, x):
    """Per-observation log-likelihood of ``x`` under ``fit``'s own likelihood, shape (N,)."""
    params = (fit.weights[None], fit.means[None], fit.sigmas[None])
    return _mixture_log_terms(fit, x, *params)[0]


def _logit_wald(weights, se, z):
    """Wald interval of each weight on the logit scale, mapped back; [1, 1] for K = 1."""
    if weights.size == 1:
        return weights.copy(), weights.copy()
    logit = np.log(weights) - np.log1p(-weights)
    se_logit = se / (weights * (1 - weights))
    return tuple(1 / (1 + np.exp(-(logit + sign * z * se_logit))) for sign in (-1, 1))


# --------------------------------------------------------------------------------------------
# the bootstrap
# --------------------------------------------------------------------------------------------


def match_components(reference, replicate):
    """The replicate component matched to each reference component.

    Components are matched so that they claim the same observations: the assignment
    (``scipy.optimize.linear_sum_assignment``) maximizing ``sum_n r_nk s_n,match(k)`` between
    the two responsibility matrices. Unlike sorting by mean, this follows components whose
    means cross (e.g. a narrow and a wide component centred together).

    Parameters
    ----------
    reference, replicate : ndarray, shape (N, K)
        Responsibilities of the same observations under the two fits.

    Returns
    -------
    ndarray of int, shape (K,)
        Index into the replicate's components, one per reference component.

    Examples
    --------
    >>> reference = np.array([[0.9, 0.1], [0.2, 0.8], [0.0, 1.0]])
    >>> match_components(reference, reference[:, ::-1]).tolist()
    [1, 0]
    """
    _, matched = linear_sum_assignment(reference.T @ replicate, maximize=True)
    return matched


def _bootstrap_intervals(fit, x, n_boot, level, rng):
    """Bootstrap standard errors and percentile intervals (see :func:`standard_errors`)."""
    replicates, counts = _replicates(fit, x, n_boot, rng)
    fitted = replicates[~np.isnan(replicates).any(axis=(1, 2))]  # (B', 3, K)
    if len(fitted) < 2:
        raise FitError(
            f"only {len(fitted)} of n_boot={n_boot} bootstrap replicates could be fitted "
            f"({counts['n_failed']} failed); the fit is too fragile for a bootstrap: refit "
            "with fewer components"
        )
    if counts["n_failed"] or counts["n_collapsed"]:
        warnings.warn(
            f"of n_boot={n_boot} bootstrap replicates, {counts['n_collapsed']} collapsed (kept) "
            f"and {counts['n_failed']} failed (left out)",
            DegenerateFitWarning,
            skip_file_prefixes=(_EM_DIR,),
        )
    se = fitted.std(axis=0, ddof=1)
    lower, upper = np.quantile(fitted, [0.5 - level / 2, 0.5 + level / 2], axis=0)
    names = ("w", "mu", "sigma")
    bounds = {name: (lower[i], upper[i]) for i, name in enumerate(names)}
    attrs = {
        "method": "bootstrap",
        "level": level,
        "intervals": _PERCENTILE,
        "n_obs": x.size,
        "n_boot": n_boot,
        **counts,
    }
    return _dataset(dict(zip(names, se, strict=True)), bounds, attrs)


def _replicates(fit, x, n_boot, rng):
    """Matched replicate estimates, shape (n_boot, 3, K) (w, mu, sigma; nan where the fit
    failed), and the counts of failed, collapsed and non-converged replicates."""
    reference = fit.responsibilities(x)
    replicates = np.full((n_boot, 3, fit.n_components), np.nan)
    counts = dict.fromkeys(("n_failed", "n_collapsed", "n_not_converged"), 0)
    for b in range(n_boot):
        try:
            replicate = _refit(fit, x[rng.integers(0, x.size, x.size)])
        except FitError:
            counts["n_failed"] += 1
            continue
        counts["n_collapsed"] += replicate.degenerate
        counts["n_not_converged"] += not replicate.converged
        order = match_components(reference, replicate.responsibilities(x))
        replicates[b] = replicate.weights[order], replicate.means[order], replicate.sigmas[order]
    return replicates, counts


def _refit(fit, resample):
    """EM on ``resample`` from ``fit``'s estimate, with its ``reg_covar``, warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", DegenerateFitWarning)
        warnings.simplefilter("ignore", HeapingWarning)
        return fit_em(
            resample,
            fit.n_components,
            n_init=1,
            tol=_REPLICATE_TOL,
            max_iter=_REPLICATE_MAX_ITER,
            reg_covar=fit.reg_covar,
            weights_init=fit.weights,
            means_init=fit.means,
            variances_init=fit.variances,
            covariance_type=fit.covariance_type,
            resolution=fit.resolution,
        )


def _dataset(se, bounds, attrs):
    """The Dataset of :func:`standard_errors` from ``{name: se}`` and ``{name: (lower, upper)}``."""
    import xarray as xr  # imported here: `import gmm_bayes` must not import xarray

    data = {}
    for name, value in se.items():
        lower, upper = bounds[name]
        data[name] = ("component", np.asarray(value, dtype=np.float64))
        data[f"{name}_lower"] = ("component", np.asarray(lower, dtype=np.float64))
        data[f"{name}_upper"] = ("component", np.asarray(upper, dtype=np.float64))
    k = len(next(iter(se.values())))
    return xr.Dataset(data, coords={"component": np.arange(k)}, attrs=attrs)
