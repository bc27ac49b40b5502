"""The Gaussian-mixture array layer: numpy only, shared by EM, the Bayesian layer and the report.

Every function broadcasts over leading dimensions (e.g. posterior draws) and over components.
Shapes, with ``...`` any leading (batch) dimensions, N observations, K components and d columns:

- data ``x``: ``(..., N, d)``;
- weights ``w``: ``(..., K)``;
- means ``mu``: ``(..., K, d)``;
- covariances ``cov``: ``(..., K, d, d)`` (symmetric positive definite).

A univariate mixture is the case d = 1: :func:`univariate` turns the familiar ``(..., K)`` means
and variances (and ``(N,)`` data) into these shapes. Everything is computed in log space (the
largest term is subtracted before exponentiating), so no row underflows to 0/0.
"""

import numpy as np

__all__ = [
    "component_logpdf",
    "log_density",
    "log_joint",
    "predictive_draws",
    "responsibilities",
    "univariate",
]

_LOG_2PI = float(np.log(2 * np.pi))


def univariate(x=None, means=None, variances=None):
    """Univariate arrays in this module's shapes.

    Parameters
    ----------
    x : array_like, shape (..., N), optional
    means, variances : array_like, shape (..., K), optional

    Returns
    -------
    tuple
        ``x`` as ``(..., N, 1)``, ``means`` as ``(..., K, 1)``, ``variances`` as
        ``(..., K, 1, 1)``; None stays None.

    Examples
    --------
    >>> x, mu, cov = univariate([1.0, 2.0, 3.0], [0.0, 5.0], [1.0, 4.0])
    >>> x.shape, mu.shape, cov.shape
    ((3, 1), (2, 1), (2, 1, 1))
    """
    as_f = lambda a: None if a is None else np.asarray(a, dtype=np.float64)  # noqa: E731
    x, means, variances = as_f(x), as_f(means), as_f(variances)
    return (
        None if x is None else x[..., None],
        None if means is None else means[..., None],
        None if variances is None else variances[..., None, None],
    )


def component_logpdf(x, means, covariances):
    """``log N(x_n | mu_k, cov_k)`` for every observation and component.

    Parameters
    ----------
    x : ndarray, shape (..., N, d)
    means : ndarray, shape (..., K, d)
    covariances : ndarray, shape (..., K, d, d)

    Returns
    -------
    ndarray, shape (..., N, K)
        ``-inf``-free for finite input and positive-definite covariances.

    Examples
    --------
    >>> x, mu, cov = univariate([0.0], [0.0], [1.0])
    >>> round(float(component_logpdf(x, mu, cov)[0, 0]), 12)  # log(1 / sqrt(2 pi))
    -0.918938533205
    """
    return np.stack(_component_terms(x, None, means, covariances), axis=-1)


def _component_terms(x, weights, means, covariances):
    """``[log w_k + log N(x | mu_k, cov_k)]`` for each k, each of shape (..., N).

    One contiguous array per component: numpy reduces over a short trailing axis (K) several
    times more slowly than it adds K arrays elementwise, and posterior draws x observations
    arrays are large.
    """
    x, means, covariances = (np.asarray(a, dtype=np.float64) for a in (x, means, covariances))
    d = means.shape[-1]
    if d == 1:  # the univariate fast path: no matrix algebra
        log_det = np.log(covariances[..., 0, 0])  # (..., K)
        precision = 1.0 / covariances[..., 0, 0]
    else:
        chol = np.linalg.cholesky(covariances)  # (..., K, d, d)
        inv_chol = np.linalg.inv(chol)
        log_det = 2.0 * np.sum(np.log(np.diagonal(chol, axis1=-2, axis2=-1)), axis=-1)
    const = -0.5 * (d * _LOG_2PI + log_det)  # (..., K)
    if weights is not None:
        with np.errstate(divide="ignore"):
            const = const + np.log(np.asarray(weights, dtype=np.float64))
    terms = []
    for k in range(means.shape[-2]):
        diff = x - means[..., k, None, :]  # (..., N, d)
        if d == 1:
            term = diff[..., 0]
            term *= term
            term *= -0.5 * precision[..., k, None]
        else:
            z = np.einsum("...ij,...nj->...ni", inv_chol[..., k, :, :], diff)
            term = -0.5 * np.sum(z * z, axis=-1)
        term += const[..., k, None]
        terms.append(term)
    return terms


def _log_sum_exp(terms):
    """Elementwise ``log sum_k exp(terms[k])``; all ``-inf`` stays ``-inf`` (no warning)."""
    top = np.maximum.reduce(terms) if len(terms) > 1 else np.array(terms[0], copy=True)
    top[~np.isfinite(top)] = 0.0
    total = np.zeros_like(top)
    for term in terms:
        total += np.exp(term - top)
    with np.errstate(divide="ignore"):
        return top + np.log(total)


def log_joint(x, weights, means, covariances):
    """``log w_k + log N(x_n | mu_k, cov_k)``, shape (..., N, K).

    A zero weight gives ``-inf`` in its column (no warning).

    Examples
    --------
    >>> x, mu, cov = univariate([0.0], [0.0, 0.0], [1.0, 1.0])
    >>> log_joint(x, [1.0, 0.0], mu, cov).round(6).tolist()
    [[-0.918939, -inf]]
    """
    return np.stack(_component_terms(x, weights, means, covariances), axis=-1)


def log_density(x, weights, means, covariances):
    """Mixture log density ``log sum_k w_k N(x_n | mu_k, cov_k)``, shape (..., N).

    The largest term is subtracted before exponentiating, so no point underflows.

    Examples
    --------
    >>> x, mu, cov = univariate([0.0], [0.0, 0.0], [1.0, 1.0])
    >>> round(float(log_density(x, [0.5, 0.5], mu, cov)[0]), 12)  # two halves of N(0, 1)
    -0.918938533205
    """
    return _log_sum_exp(_component_terms(x, weights, means, covariances))


def responsibilities(x, weights, means, covariances):
    """Posterior component probabilities ``r_nk``, shape (..., N, K); rows sum to 1.

    Computed in log space, so observations far from every component (60 sd away) still get
    finite responsibilities.

    Examples
    --------
    >>> x, mu, cov = univariate([-1000.0, 1000.0], [-1.0, 1.0], [1.0, 1.0])
    >>> responsibilities(x, [0.5, 0.5], mu, cov).round(6).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    terms = _component_terms(x, weights, means, covariances)
    log_norm = _log_sum_exp(terms)
    return np.stack([np.exp(term - log_norm) for term in terms], axis=-1)


def predictive_draws(rng, weights, means, covariances, n):
    """``n`` draws from each mixture.

    Parameters
    ----------
    rng : numpy.random.Generator
    weights : ndarray, shape (..., K)
    means : ndarray, shape (..., K, d)
    covariances : ndarray, shape (..., K, d, d)
    n : int
        Draws per mixture.

    Returns
    -------
    ndarray, shape (..., n, d)
        A component is drawn by inverting the weights' cumulative sum with one uniform per
        draw, then a Gaussian draw from that component (through its Cholesky factor).

    Examples
    --------
    >>> _, mu, cov = univariate(None, [0.0, 100.0], [1.0, 1.0])
    >>> y = predictive_draws(np.random.default_rng(0), np.array([0.0, 1.0]), mu, cov, 5)
    >>> bool(np.all(np.abs(y - 100) < 10))
    True
    """
    weights, means, covariances = (
        np.asarray(a, dtype=np.float64) for a in (weights, means, covariances)
    )
    batch = weights.shape[:-1]
    edges = np.cumsum(weights, axis=-1)[..., :-1] / np.sum(weights, axis=-1, keepdims=True)
    u = rng.random((*batch, n))
    label = np.sum(u[..., None] >= edges[..., None, :], axis=-1)  # (..., n)
    loc = np.take_along_axis(means, label[..., None], axis=-2)  # (..., n, d)
    d = means.shape[-1]
    noise = rng.standard_normal((*batch, n, d))
    if d == 1:
        scale = np.sqrt(np.take_along_axis(covariances[..., 0, 0], label, axis=-1))
        return loc + scale[..., None] * noise
    chol = np.linalg.cholesky(covariances)  # (..., K, d, d)
    chol_n = np.take_along_axis(chol, label[..., None, None], axis=-3)  # (..., n, d, d)
    return loc + np.einsum("...ij,...j->...i", chol_n, noise)
