"""One EM run: iterations from a start until convergence, on any data source and M-step.

Every search of :mod:`gmm_bayes.em.search` and the driver's deterministic runs are made of
:func:`run_em` calls; a :class:`Run` is their result in standardized units.
"""

from dataclasses import dataclass

import numpy as np

from gmm_bayes.em.result import collapsed_components

__all__ = ["Run", "resume", "run_em"]


@dataclass
class Run:
    """One finished EM run in standardized units.

    Attributes
    ----------
    weights, means, variances : ndarray, shape (K,)
    history : list of float
        Total log-likelihood at the start and after every M-step.
    n_obs : int
    converged : bool
    collapsed : ndarray of bool, shape (K,)
        :func:`gmm_bayes.em.result.collapsed_components` of the final parameters.
    objective : float
        The log-likelihood, plus the log prior density for MAP-EM.
    """

    weights: np.ndarray
    means: np.ndarray
    variances: np.ndarray
    history: list
    n_obs: int
    converged: bool
    collapsed: np.ndarray
    objective: float

    @property
    def n_iter(self):
        """EM iterations (M-steps) of this run."""
        return len(self.history) - 1

    @property
    def params(self):
        """``(weights, means, variances)``."""
        return self.weights, self.means, self.variances

    @property
    def healthy(self):
        """No component collapsed."""
        return not self.collapsed.any()

    @property
    def rank(self):
        """Sort key, best first: fewest collapsed components (healthy first), then the highest
        objective."""
        return (int(np.count_nonzero(self.collapsed)), -self.objective)


def run_em(source, params, step, *, tol, max_iter):
    """EM iterations from ``params`` until the objective changes by less than ``tol`` per
    observation, or ``max_iter`` M-steps.

    Parameters
    ----------
    source : DataSource
    params : tuple of ndarray, shape (K,)
        Starting ``(weights, means, variances)``, put in the step's model by ``step.constrain``.
    step : Step
    tol : float
    max_iter : int

    Returns
    -------
    Run or None
        None when the objective became non-finite.

    Examples
    --------
    >>> from gmm_bayes.em.source import InMemorySource
    >>> from gmm_bayes.em.steps import MaximumLikelihoodStep
    >>> z = np.array([-2.1, -2.0, -1.9, 1.9, 2.0, 2.1])
    >>> start = (np.full(2, 0.5), np.array([-1.0, 1.0]), np.ones(2))
    >>> run = run_em(InMemorySource(z), start, MaximumLikelihoodStep(0.0), tol=1e-9, max_iter=100)
    >>> run.converged, run.means.round(6).tolist(), run.healthy
    (True, [-2.0, 2.0], True)
    """
    weights, means, variances = step.constrain(*params)
    with np.errstate(invalid="ignore", over="ignore"):
        log_likelihood, *stats = source.em_pass(weights, means, variances)
    history = [log_likelihood]
    objective = log_likelihood + step.log_prior(weights, means, variances)
    converged = False
    while len(history) <= max_iter and not converged:
        weights, means, variances = step.m_step(*stats)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_likelihood, *stats = source.em_pass(weights, means, variances)
        history.append(log_likelihood)
        previous, objective = objective, log_likelihood + step.log_prior(weights, means, variances)
        if not np.isfinite(objective):
            return None
        converged = abs(objective - previous) / source.size < tol
    if not np.isfinite(objective):
        return None
    collapsed = collapsed_components(weights, variances, source.size, step.reg)
    return Run(weights, means, variances, history, source.size, converged, collapsed, objective)


def resume(source, run, step, *, tol, max_iter):
    """Continue ``run`` (made on ``source``) to convergence: one run of at most ``max_iter``
    iterations in all, its history from the first start.

    Returns
    -------
    Run or None
        ``run`` itself when it had converged; None when the objective became non-finite.

    Examples
    --------
    >>> from gmm_bayes.em.source import InMemorySource
    >>> from gmm_bayes.em.steps import MaximumLikelihoodStep
    >>> source = InMemorySource(np.array([-2.1, -2.0, -1.9, 1.9, 2.0, 2.1]))
    >>> step = MaximumLikelihoodStep(0.0)
    >>> start = (np.full(2, 0.5), np.array([-0.1, 0.1]), np.ones(2))
    >>> short = run_em(source, start, step, tol=1e-9, max_iter=2)
    >>> full = resume(source, short, step, tol=1e-9, max_iter=100)
    >>> short.n_iter, full.n_iter > 2, full.history[:3] == short.history
    (2, True, True)
    """
    if run.converged:
        return run
    rest = run_em(source, run.params, step, tol=tol, max_iter=max(max_iter - run.n_iter, 0))
    if rest is None:
        return None
    rest.history = run.history[:-1] + rest.history
    return rest
