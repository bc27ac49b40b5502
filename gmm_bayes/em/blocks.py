"""The seed notebook's EM building blocks, validated: component densities, E-step, M-step.

Densities and responsibilities are computed by the array layer :mod:`gmm_bayes.mixture` (log
space, so no row underflows to 0/0); these functions only check their arguments and take the
univariate shapes the notebook used. :func:`gmm_bayes.fit_em` does not call them: its E-step
and M-step statistics come from one fused pass (:mod:`gmm_bayes.em.kernel`).
"""

import numpy as np

from gmm_bayes import mixture
from gmm_bayes._validation import as_component_vector, as_data, as_variances, as_weights
from gmm_bayes.em.kernel import COUNT_EPS

__all__ = ["component_logpdf", "m_step", "responsibilities"]

#: how far a row of ``resp`` may sum from 1 before :func:`m_step` refuses it
_ROW_SUM_TOLERANCE = 1e-6


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

    Examples
    --------
    >>> component_logpdf([0.0, 1.0], [0.0], [1.0]).round(6).tolist()
    [[-0.918939], [-1.418939]]
    """
    x = as_data(x)
    means = as_component_vector(means, "means", np.size(means))
    variances = as_variances(variances, means.size, name="variances")
    return mixture.component_logpdf(*mixture.univariate(x, means, variances))


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
        Rows sum to 1, even far from every component.

    Examples
    --------
    >>> responsibilities([-1e4, 0.5], [0.5, 0.5], [0.0, 1.0], [1.0, 1.0]).round(6).tolist()
    [[1.0, 0.0], [0.5, 0.5]]
    """
    x = as_data(x)
    means = as_component_vector(means, "means", np.size(means))
    weights = as_weights(weights, means.size, name="weights")
    variances = as_variances(variances, means.size, name="variances")
    xs, mus, covs = mixture.univariate(x, means, variances)
    return mixture.responsibilities(xs, weights, mus, covs)


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
        regularization. As in scikit-learn, ``COUNT_EPS`` (``10 * eps``) is added to each
        effective count so that an empty component gives finite numbers rather than 0/0.

    Examples
    --------
    >>> w, mu, var = m_step([0.0, 2.0, 10.0], [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> w.round(6).tolist(), mu.round(6).tolist(), var.round(6).tolist()
    ([0.666667, 0.333333], [1.0, 10.0], [1.0, 0.0])
    """
    x = as_data(x)
    resp = _as_responsibilities(resp, x.size)
    nk = resp.sum(axis=0) + COUNT_EPS
    means = resp.T @ x / nk
    diff = x[:, None] - means
    variances = np.einsum("nk,nk->k", resp, diff * diff) / nk
    return nk / x.size, means, variances


def _as_responsibilities(resp, n_obs):
    resp = np.asarray(resp, dtype=np.float64)
    if resp.ndim != 2 or resp.shape[0] != n_obs:
        raise ValueError(f"resp must have shape (N, K) = ({n_obs}, K), got shape {resp.shape}")
    if not np.isfinite(resp).all() or (resp < 0).any():
        raise ValueError("resp must be finite and non-negative")
    row_sums = resp.sum(axis=1)
    bad = np.flatnonzero(np.abs(row_sums - 1) > _ROW_SUM_TOLERANCE)
    if bad.size:
        raise ValueError(
            f"resp rows must sum to 1, row {bad[0]} sums to {row_sums[bad[0]]:.6g}; "
            "pass responsibilities (e.g. from gmm_bayes.em.responsibilities), not densities"
        )
    return resp
