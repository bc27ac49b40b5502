"""EM iterations for (N, d) data from a given start, under one of four covariance structures.

The building block the multivariate ``fit_em`` is made of: one run from an explicit start, each
iteration one fused pass (:func:`gmm_bayes.em.kernel_mv.em_pass_mv`: E-step, log-likelihood
and the M-step's sufficient statistics) and the structure's M-step
(:func:`gmm_bayes.em.covariance.covariances_from_scatter`). From the same start, ``tol``,
``max_iter`` and ``reg_covar`` its iterates are scikit-learn ``GaussianMixture``'s, to rounding:
the same convergence rule (the change of the mean log-likelihood per row, before each M-step,
below ``tol``), the same ``n_iter``.

The M-step is a :class:`MultivariateStep`: :class:`MaximumLikelihoodStepMV` by default, or a
MAP step that the Bayesian layer builds (``gmm_bayes.bayes.map_step_mv``; this layer never
imports it), whose objective adds the log prior density to the log-likelihood.

Components are returned in a deterministic order: by the projection of their means on the
data's first principal axis (:func:`principal_axis`: the top eigenvector of the sample
covariance, signed so that its largest-magnitude entry is positive); for d = 1 this is the
order of the means. The Bayesian model (:mod:`gmm_bayes.bayes.model_mv`) orders its means by
the same projection. The axis depends on the columns' units (a principal axis is not
affine-equivariant), so after a change of units the same components may come in another order.
"""

import abc
import functools
from dataclasses import dataclass
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
    "MaximumLikelihoodStepMV",
    "MultivariateRun",
    "MultivariateStep",
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
    objective_history : tuple of float
        The objective at the same points: the log-likelihood plus the step's log prior (a MAP
        step's log posterior, up to ``log p(x)``); empty when it is the log-likelihood.
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    log_likelihood: float
    n_iter: int
    converged: bool
    history: tuple = ()
    objective_history: tuple = ()

    @property
    def objective(self):
        """The objective at the returned parameters (runs are ranked by it)."""
        return self.objective_history[-1] if self.objective_history else self.log_likelihood


class MultivariateStep(abc.ABC):
    """The M-step of :func:`iterate_mv` and the objective's extra term.

    Attributes
    ----------
    reg : ndarray, shape (d, d)
        Added to every covariance after the M-step.
    covariance_type : {"full", "tied", "diag", "spherical"}
    """

    reg: np.ndarray
    covariance_type: str

    @abc.abstractmethod
    def m_step(self, nk, means, scatter, covariances):
        """``(weights (K,), means (K, d), covariances (K, d, d))`` from the E-step.

        Parameters
        ----------
        nk : ndarray, shape (K,)
            Effective counts.
        means : ndarray, shape (K, d)
            Responsibility-weighted means of the rows.
        scatter : ndarray, shape (K, d, d)
            Weighted scatter matrices about ``means``.
        covariances : ndarray, shape (K, d, d)
            The covariances the E-step used (a conditional M-step starts from them).
        """

    @abc.abstractmethod
    def log_prior(self, weights, means, covariances):
        """Added to the log-likelihood in the objective (0 for maximum likelihood)."""


@dataclass(frozen=True)
class MaximumLikelihoodStepMV(MultivariateStep):
    """The maximum-likelihood M-step (:func:`~.covariance.covariances_from_scatter`).

    Examples
    --------
    >>> step = MaximumLikelihoodStepMV(np.zeros((2, 2)), "diag")
    >>> scatter = np.array([[[4.0, 2.0], [2.0, 8.0]]])
    >>> step.m_step(np.array([2.0]), np.zeros((1, 2)), scatter, np.eye(2)[None])[2].tolist()
    [[[2.0, 0.0], [0.0, 4.0]]]
    """

    reg: np.ndarray
    covariance_type: str = "full"

    def m_step(self, nk, means, scatter, covariances):
        new = covariances_from_scatter(nk, scatter, self.covariance_type, self.reg)
        return nk / nk.sum(), means, new

    def log_prior(self, weights, means, covariances):
        return 0.0


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
    step=None,
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
    step : MultivariateStep, optional
        The M-step (e.g. a MAP step): ``tol`` then applies to its objective and ``reg_covar``
        is ignored (the step's ``reg`` is used); its ``covariance_type`` must be
        ``covariance_type``. Default: :class:`MaximumLikelihoodStepMV`.

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
    if step is not None and step.covariance_type != covariance_type:
        raise ValueError(
            f"step is for covariance_type={step.covariance_type!r} but covariance_type="
            f"{covariance_type!r}; pass the same structure to both"
        )
    em_pass = functools.partial(em_pass_mv, x, backend=backend)
    start = (weights, means, covariances)
    run = iterate_mv(em_pass, n, start, covariance_type, tol, max_iter, reg, step=step)
    order = order_components(x, run.means)
    return run._replace(
        weights=run.weights[order], means=run.means[order], covariances=run.covariances[order]
    )


def iterate_mv(em_pass, n, start, covariance_type, tol, max_iter, reg, *, step=None):
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
    step : MultivariateStep, optional
        Replaces ``covariance_type`` and ``reg``; default :class:`MaximumLikelihoodStepMV`.

    Returns
    -------
    MultivariateRun
        Components in the start's order; ``objective_history`` filled for a step with a prior.

    Examples
    --------
    >>> x = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    >>> em_pass = functools.partial(em_pass_mv, x)
    >>> run = iterate_mv(em_pass, 4, (np.ones(1), np.ones((1, 2)), np.eye(2)[None]), "full",
    ...                  0.0, 1, 0.0)
    >>> run.covariances[0].round(12).tolist(), run.n_iter
    ([[0.5, 0.0], [0.0, 0.5]], 1)
    """
    step = MaximumLikelihoodStepMV(reg, covariance_type) if step is None else step
    params = start
    previous, converged, n_iter, history, objectives = -np.inf, False, 0, [], []
    for n_iter in range(1, max_iter + 1):
        log_likelihood, nk, means, scatter = em_pass(*params)
        if not np.isfinite(log_likelihood):
            raise FitError(
                f"EM iteration {n_iter}: a covariance became singular; pass reg_covar > 0 "
                f"(got reg_covar={short_repr(step.reg)})"
            )
        objective = log_likelihood + step.log_prior(*params)
        history.append(log_likelihood)
        objectives.append(objective)
        params = step.m_step(nk, means, scatter, params[2])
        if abs(objective / n - previous) < tol:
            converged = True
            break
        previous = objective / n
    final = em_pass(*params)[0]
    history = (*history, final)
    if isinstance(step, MaximumLikelihoodStepMV):
        objectives = ()
    else:
        objectives = (*objectives, final + step.log_prior(*params))
    return MultivariateRun(*params, final, n_iter, converged, history, objectives)


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
