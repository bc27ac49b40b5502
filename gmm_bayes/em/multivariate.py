"""EM iterations for (N, d) data from a given start, under one of four covariance structures.

The building block the multivariate ``fit_em`` is made of: one run from an explicit start, each
iteration one fused pass (:func:`gmm_bayes.em.kernel_mv.em_pass_mv`: E-step, log-likelihood
and the M-step's sufficient statistics) and the structure's M-step
(:func:`gmm_bayes.em.covariance.covariances_from_scatter`). From the same start, ``tol``,
``max_iter`` and ``reg_covar`` its iterates are scikit-learn ``GaussianMixture``'s, to rounding:
the same convergence rule (the change of the mean log-likelihood per row, before each M-step,
below ``tol``), the same ``n_iter``.

Components are returned in a deterministic order: by the projection of their means on the
data's first principal axis (:func:`principal_axis`: the top eigenvector of the sample
covariance, signed so that its largest-magnitude entry is positive); for d = 1 this is the
order of the means. The Bayesian model (:mod:`gmm_bayes.bayes.model_mv`) orders its means by
the same projection. The axis depends on the columns' units (a principal axis is not
affine-equivariant), so after a change of units the same components may come in another order.
"""

import functools
from typing import NamedTuple

import numpy as np

from gmm_bayes._validation import as_int, as_nonnegative_float, as_weights, short_repr
from gmm_bayes.em.covariance import (
    covariance_type_name,
    covariances_from_scatter,
    default_regularization,
    from_sklearn_shape,
)
from gmm_bayes.em.kernel_mv import cholesky_factors, em_pass_mv
from gmm_bayes.exceptions import DataError, FitError

__all__ = [
    "MultivariateRun",
    "as_matrix_data",
    "iterate_mv",
    "order_components",
    "principal_axis",
    "principal_axis_of",
    "run_em_mv",
]


class MultivariateRun(NamedTuple):
    """One EM run on (N, d) data, components in :func:`order_components` order.

    Attributes
    ----------
    weights : ndarray, shape (K,)
    means : ndarray, shape (K, d)
    covariances : ndarray, shape (K, d, d)
        Canonical shape whatever the structure (see :mod:`gmm_bayes.em.covariance`).
    log_likelihood : float
        Total log-likelihood at the returned parameters.
    n_iter : int
        M-steps done (scikit-learn's ``n_iter_``).
    converged : bool
    history : tuple of float
        Total log-likelihood at the start and after every M-step (``n_iter + 1`` values, the
        last one ``log_likelihood``).
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    log_likelihood: float
    n_iter: int
    converged: bool
    history: tuple = ()


def run_em_mv(
    x,
    weights_init,
    means_init,
    covariances_init,
    *,
    covariance_type="full",
    tol=1e-3,
    max_iter=100,
    reg_covar=None,
    backend=None,
):
    """EM from an explicit start until the mean log-likelihood changes by less than ``tol``.

    Parameters
    ----------
    x : array_like, shape (N, d)
        Finite numbers, N >= K.
    weights_init : array_like, shape (K,)
    means_init : array_like, shape (K, d)
    covariances_init : array_like
        Shaped per structure as scikit-learn's ``precisions_init`` (but covariances): (K, d, d)
        full, (d, d) tied, (K, d) diag, (K,) spherical.
    covariance_type : str
        ``"full"``, ``"tied"``, ``"diag"``, ``"spherical"`` or an mclust alias (VVV, EEE, VVI,
        VII).
    tol : float
        Convergence threshold on the change of the mean log-likelihood per row.
    max_iter : int
        0 returns the start (with its log-likelihood).
    reg_covar : float, ndarray (d, d) or None
        None: :func:`gmm_bayes.em.covariance.default_regularization` (1e-6 x the data's robust
        covariance, equivariant); a number: added to the diagonal (scikit-learn's semantics).
    backend : {None, "numba", "numpy"}
        Of the fused pass.

    Returns
    -------
    MultivariateRun

    Raises
    ------
    FitError
        A covariance became singular (only possible with ``reg_covar=0``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.vstack([rng.normal(size=(100, 2)), rng.normal(size=(100, 2)) + [6.0, 0.0]])
    >>> run = run_em_mv(x, [0.5, 0.5], [[1.0, 0.0], [5.0, 0.0]], np.stack([np.eye(2)] * 2))
    >>> run.weights.round(1).tolist(), run.means[:, 0].round().tolist(), run.converged
    ([0.5, 0.5], [-0.0, 6.0], True)
    """
    x = as_matrix_data(x)
    n, d = x.shape
    covariance_type = covariance_type_name(covariance_type)
    weights, means, covariances = _start(
        weights_init, means_init, covariances_init, covariance_type, d
    )
    if weights.size > n:
        raise ValueError(f"{weights.size} components for {n} rows of x; give at most {n}")
    tol = as_nonnegative_float(tol, "tol")
    max_iter = as_int(max_iter, "max_iter", minimum=0)
    reg = default_regularization(x, covariance_type) if reg_covar is None else reg_covar
    em_pass = functools.partial(em_pass_mv, x, backend=backend)
    run = iterate_mv(em_pass, n, (weights, means, covariances), covariance_type, tol, max_iter, reg)
    order = order_components(x, run.means)
    return run._replace(
        weights=run.weights[order], means=run.means[order], covariances=run.covariances[order]
    )


def iterate_mv(em_pass, n, start, covariance_type, tol, max_iter, reg):
    """The EM iterations of :func:`run_em_mv` over any data ``em_pass`` sweeps (unordered).

    Parameters
    ----------
    em_pass : callable
        ``(weights, means, covariances) -> (log_likelihood, nk, means, scatter)`` over all
        the rows, as :func:`~.kernel_mv.em_pass_mv` (a dask array's chunks:
        :mod:`~.dask_matrix`).
    n : int
        Rows.
    start : tuple of ndarray
        ``(weights, means, covariances)``, canonical shapes, valid.
    covariance_type : str
        Canonical name.
    tol, max_iter, reg
        As :func:`run_em_mv` (``reg`` not None).

    Returns
    -------
    MultivariateRun
        Components in the start's order.

    Examples
    --------
    >>> x = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    >>> em_pass = functools.partial(em_pass_mv, x)
    >>> run = iterate_mv(em_pass, 4, (np.ones(1), np.ones((1, 2)), np.eye(2)[None]), "full",
    ...                  0.0, 1, 0.0)
    >>> run.covariances[0].round(12).tolist(), run.n_iter
    ([[0.5, 0.0], [0.0, 0.5]], 1)
    """
    weights, means, covariances = start
    previous, converged, n_iter, history = -np.inf, False, 0, []
    for n_iter in range(1, max_iter + 1):
        log_likelihood, nk, means, scatter = em_pass(weights, means, covariances)
        if not np.isfinite(log_likelihood):
            raise FitError(
                f"EM iteration {n_iter}: a covariance became singular; pass reg_covar > 0 "
                f"(got reg_covar={short_repr(reg)})"
            )
        history.append(log_likelihood)
        weights = nk / nk.sum()
        covariances = covariances_from_scatter(nk, scatter, covariance_type, reg)
        if abs(log_likelihood / n - previous) < tol:
            converged = True
            break
        previous = log_likelihood / n
    final = em_pass(weights, means, covariances)[0]
    history = (*history, final)
    return MultivariateRun(weights, means, covariances, final, n_iter, converged, history)


def principal_axis(x):
    """The data's first principal axis: the top eigenvector of the sample covariance.

    Parameters
    ----------
    x : ndarray, shape (N, d)

    Returns
    -------
    ndarray, shape (d,)
        Unit length, signed so that its largest-magnitude entry is positive.

    Examples
    --------
    >>> principal_axis(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])).round(3).tolist()
    [0.707, 0.707]
    """
    return principal_axis_of(np.atleast_2d(np.cov(x, rowvar=False)))


def principal_axis_of(covariance):
    """:func:`principal_axis` from the data's covariance (d, d).

    Examples
    --------
    >>> principal_axis_of(np.array([[1.0, 0.0], [0.0, 4.0]])).tolist()
    [0.0, 1.0]
    """
    axis = np.linalg.eigh(covariance)[1][:, -1]
    return axis * np.sign(axis[np.argmax(np.abs(axis))])


def order_components(x, means):
    """The permutation ordering components by their means' projection on the principal axis.

    Parameters
    ----------
    x : ndarray, shape (N, d)
    means : ndarray, shape (K, d)

    Returns
    -------
    ndarray of int, shape (K,)
        Indices sorting ``means @ principal_axis(x)`` (stable).

    Examples
    --------
    >>> x = np.array([[0.0, 0.0], [10.0, 1.0], [20.0, 0.0]])  # spread along the first column
    >>> order_components(x, np.array([[9.0, 0.0], [-3.0, 5.0], [1.0, 0.0]])).tolist()
    [1, 2, 0]
    """
    return np.argsort(means @ principal_axis(x), kind="stable")


def as_matrix_data(x, name="x"):
    """``x`` as a finite float64 array of shape (N, d), N >= 1, d >= 1 (1-D: one column).

    Examples
    --------
    >>> as_matrix_data([1, 2]).shape
    (2, 1)
    """
    try:
        array = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{name} must be an array of numbers, got {short_repr(x)}") from None
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or 0 in array.shape:
        raise DataError(f"{name} must have shape (N, d) with N, d >= 1, got {array.shape}")
    bad = np.argwhere(~np.isfinite(array))
    if bad.size:
        row, column = bad[0]
        raise DataError(
            f"{name} has a non-finite value {array[row, column]} at row {row}, column {column} "
            f"({len(bad)} in all); drop or impute them first"
        )
    return np.ascontiguousarray(array)


def _start(weights_init, means_init, covariances_init, covariance_type, d):
    """The validated start, covariances in the canonical (K, d, d) shape."""
    means = np.asarray(means_init, dtype=np.float64)
    if means.ndim != 2 or means.shape[1] != d or not np.isfinite(means).all():
        raise ValueError(
            f"means_init must be a finite (K, {d}) array, got {short_repr(means_init)}"
        )
    weights = as_weights(weights_init, means.shape[0])
    covariances = from_sklearn_shape(covariances_init, covariance_type, *means.shape)
    if cholesky_factors(weights, means, covariances) is None:
        raise ValueError(
            f"covariances_init must be finite and positive definite, got "
            f"{short_repr(covariances_init)}"
        )
    return weights, means, covariances
