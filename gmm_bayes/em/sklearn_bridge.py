"""scikit-learn's ``GaussianMixture`` on the same data, returned as an :class:`EMResult`.

Later layers (comparison tables, the report) then compare like with like: same sorting by mean,
same log-likelihood definition, same BIC convention.
"""

import numpy as np

from gmm_bayes._validation import as_data, as_n_components
from gmm_bayes.em.random_state import as_seed
from gmm_bayes.em.result import EMResult, collapsed_components
from gmm_bayes.em.steps import as_covariance_type

__all__ = ["fit_sklearn"]


def fit_sklearn(x, n_components, *, covariance_type="full", **kwargs):
    """Fit ``sklearn.mixture.GaussianMixture`` and return its estimate as an EMResult.

    Parameters
    ----------
    x : array_like, shape (N,) or (N, 1)
    n_components : int
    covariance_type : {"full", "tied"}, default "full"
        scikit-learn's; mclust's "V" / "E" accepted. ("diag" and "spherical" are "full" for
        univariate data: pass "full".)
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


def _sklearn_seed(random_state):
    """``random_state`` validated, a Generator turned into one int seed scikit-learn accepts."""
    seed = as_seed(random_state)
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(np.iinfo(np.int32).max))
    return seed
