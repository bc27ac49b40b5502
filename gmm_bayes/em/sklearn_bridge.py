"""scikit-learn's ``GaussianMixture`` on the same data, returned as an :class:`EMResult`.

Later layers (comparison tables, the report) then compare like with like: same sorting by mean,
same log-likelihood definition, same BIC convention.
"""

import numpy as np

from gmm_bayes._validation import as_data, as_n_components
from gmm_bayes.em.covariance import covariance_type_name, from_sklearn_shape
from gmm_bayes.em.multivariate import as_matrix_data, order_components
from gmm_bayes.em.random_state import as_seed
from gmm_bayes.em.result import EMResult, collapsed_components, collapsed_components_mv
from gmm_bayes.em.steps import as_covariance_type

__all__ = ["fit_sklearn"]


def fit_sklearn(x, n_components, *, covariance_type="full", **kwargs):
    """Fit ``sklearn.mixture.GaussianMixture`` and return its estimate as an EMResult.

    Parameters
    ----------
    x : array_like, shape (N,), (N, 1) or (N, d)
    n_components : int
    covariance_type : {"full", "tied"}, default "full"
        scikit-learn's; mclust's "V" / "E" accepted. ("diag" and "spherical" are "full" for
        univariate data: pass "full".) For d >= 2 columns any of the four structures (and
        mclust's VVV, EEE, VVI, VII); the result then has ``means`` (K, d) and
        ``covariances`` (K, d, d) in :func:`gmm_bayes.em.multivariate.order_components`
        order, as :func:`gmm_bayes.fit_em`'s.
    **kwargs
        Passed to ``GaussianMixture`` (e.g. ``tol``, ``reg_covar``, ``weights_init``,
        ``means_init`` (shape (K,) or (K, 1)), ``precisions_init`` (shape (K,) or (K, 1, 1);
        for "tied" one number, or shape (1, 1))).
        ``random_state`` is checked as by :func:`gmm_bayes.fit_em` (None, an int in
        ``[0, 2**32 - 1]`` or a ``numpy.random.Generator``, which gives scikit-learn one seed).

    Returns
    -------
    EMResult
        ``method="sklearn"``; components sorted by mean; ``log_likelihood`` is the total
        log-likelihood at the returned parameters (``score(x) * N``); ``history`` holds
        scikit-learn's per-iteration totals (``lower_bounds_ * N``, the log-likelihood at the
        parameters *before* each M-step) followed by the final value.

    Examples
    --------
    >>> x = np.concatenate([np.linspace(0, 2, 50), np.linspace(10, 12, 50)])
    >>> fit = fit_sklearn(x, 2, random_state=0)
    >>> fit.method, fit.weights.round(3).tolist(), fit.means.round(3).tolist()
    ('sklearn', [0.5, 0.5], [1.0, 11.0])
    """
    from sklearn.mixture import GaussianMixture  # imported here: keeps `import gmm_bayes` cheap

    if np.ndim(x) == 2 and np.shape(x)[1] >= 2:
        return _fit_sklearn_matrix(x, n_components, covariance_type, dict(kwargs))
    x = as_data(x)
    k = as_n_components(n_components, x.size)
    covariance_type = as_covariance_type(covariance_type)
    if covariance_type not in ("full", "tied"):
        raise ValueError(
            f"fit_sklearn takes covariance_type 'full' or 'tied'; {covariance_type!r} is the "
            "model 'full' is for univariate data: pass 'full'"
        )
    tied = covariance_type == "tied"
    kwargs = dict(kwargs)
    if "random_state" in kwargs:
        kwargs["random_state"] = _sklearn_seed(kwargs["random_state"])
    if kwargs.get("means_init") is not None:
        kwargs["means_init"] = np.asarray(kwargs["means_init"], dtype=float).reshape(k, 1)
    if kwargs.get("precisions_init") is not None:
        shape = (1, 1) if tied else (k, 1, 1)
        kwargs["precisions_init"] = np.asarray(kwargs["precisions_init"], dtype=float).reshape(
            shape
        )
    gm = GaussianMixture(n_components=k, covariance_type=covariance_type, **kwargs).fit(x[:, None])
    order = np.argsort(gm.means_[:, 0], kind="stable")
    if tied:
        variances = np.full(k, gm.covariances_[0, 0])
    else:
        variances = gm.covariances_[:, 0, 0][order]
    weights = gm.weights_[order]
    log_likelihood = float(gm.score(x[:, None]) * x.size)
    history = np.append(
        np.asarray(getattr(gm, "lower_bounds_", []), dtype=float) * x.size, log_likelihood
    )
    reg = float(gm.reg_covar)
    result = EMResult(
        weights=weights,
        means=gm.means_[:, 0][order],
        variances=variances,
        log_likelihood=log_likelihood,
        n_iter=int(gm.n_iter_),
        converged=bool(gm.converged_),
        history=history,
        n_obs=x.size,
        reg_covar=reg,
        collapsed=collapsed_components(weights, variances, x.size, reg),
        method="sklearn",
        covariance_type=covariance_type,
    )
    return result.with_local_maxima((result,))


def _fit_sklearn_matrix(x, n_components, covariance_type, kwargs):
    """fit_sklearn on (N, d) rows: components in :func:`~.multivariate.order_components`
    order, covariances (K, d, d), ``reg_covar`` as the (d, d) matrix added."""
    from sklearn.mixture import GaussianMixture

    x = as_matrix_data(x)
    n, d = x.shape
    k = as_n_components(n_components, n)
    covariance_type = covariance_type_name(covariance_type)
    if "random_state" in kwargs:
        kwargs["random_state"] = _sklearn_seed(kwargs["random_state"])
    gm = GaussianMixture(n_components=k, covariance_type=covariance_type, **kwargs).fit(x)
    order = order_components(x, gm.means_)
    covariances = from_sklearn_shape(gm.covariances_, covariance_type, k, d)[order]
    weights = gm.weights_[order]
    log_likelihood = float(gm.score(x) * n)
    reg = float(gm.reg_covar) * np.eye(d)
    result = EMResult(
        weights=weights,
        means=gm.means_[order],
        variances=np.diagonal(covariances, axis1=1, axis2=2).copy(),
        log_likelihood=log_likelihood,
        n_iter=int(gm.n_iter_),
        converged=bool(gm.converged_),
        history=np.append(np.asarray(getattr(gm, "lower_bounds_", [])) * n, log_likelihood),
        n_obs=n,
        reg_covar=reg,
        collapsed=collapsed_components_mv(weights, covariances, n, reg),
        method="sklearn",
        covariance_type=covariance_type,
        covariances=covariances,
    )
    return result.with_local_maxima((result,))


def _sklearn_seed(random_state):
    """``random_state`` validated, a Generator turned into one int seed scikit-learn accepts."""
    seed = as_seed(random_state)
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(np.iinfo(np.int32).max))
    return seed
