"""scikit-learn's ``GaussianMixture`` on the same data, returned as an :class:`EMResult`.

Later layers (comparison tables, the report) then compare like with like: same sorting by mean,
same log-likelihood definition, same BIC convention.
"""

import numpy as np

from gmm_bayes._validation import as_data, as_n_components
from gmm_bayes.em.result import EMResult


def fit_sklearn(x, n_components, **kwargs):
    """Fit ``sklearn.mixture.GaussianMixture`` and return its estimate as an EMResult.

    Parameters
    ----------
    x : array_like, shape (N,) or (N, 1)
    n_components : int
    **kwargs
        Passed to ``GaussianMixture`` (e.g. ``random_state``, ``tol``, ``reg_covar``,
        ``weights_init``, ``means_init`` (shape (K,) or (K, 1)), ``precisions_init`` (shape (K,)
        or (K, 1, 1)). ``covariance_type`` is fixed to "full", the univariate case of all four.

    Returns
    -------
    EMResult
        ``method="sklearn"``; components sorted by mean; ``log_likelihood`` is the total
        log-likelihood at the returned parameters (``score(x) * N``); ``history`` holds
        scikit-learn's per-iteration totals (``lower_bounds_ * N``, the log-likelihood at the
        parameters *before* each M-step) followed by the final value.
    """
    from sklearn.mixture import GaussianMixture  # imported here: keeps `import gmm_bayes` cheap

    x = as_data(x)
    k = as_n_components(n_components, x.size)
    if "covariance_type" in kwargs:
        raise TypeError("covariance_type is fixed to 'full' for univariate data")
    kwargs = dict(kwargs)
    if kwargs.get("means_init") is not None:
        kwargs["means_init"] = np.asarray(kwargs["means_init"], dtype=float).reshape(k, 1)
    if kwargs.get("precisions_init") is not None:
        kwargs["precisions_init"] = np.asarray(kwargs["precisions_init"], dtype=float).reshape(
            k, 1, 1
        )
    gm = GaussianMixture(n_components=k, covariance_type="full", **kwargs).fit(x[:, None])
    order = np.argsort(gm.means_[:, 0], kind="stable")
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
        collapsed=(weights * x.size < 2.0) | (variances <= 2 * reg),
        method="sklearn",
    )
    return result.with_local_maxima((result,))
