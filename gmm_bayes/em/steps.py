"""The M-step protocol of :func:`gmm_bayes.fit_em`: maximum likelihood, or MAP with priors.

An M-step needs only the sufficient statistics of the E-step: each component's effective count
``nk`` and its weighted mean and (biased) weighted variance, all in the standardized units EM
works in. :class:`Step` is the protocol; :class:`MaximumLikelihoodStep` is the default and
``gmm_bayes.Priors.em_step`` returns the MAP step (a subclass), which ``fit_em`` checks.
"""

import abc
from dataclasses import dataclass

__all__ = ["MaximumLikelihoodStep", "Step"]


class Step(abc.ABC):
    """One M-step and the objective's extra term.

    Attributes
    ----------
    reg : float
        Added to every variance after the M-step (standardized units).

    Examples
    --------
    >>> isinstance(MaximumLikelihoodStep(0.0), Step)  # what fit_em checks of a priors' step
    True
    """

    reg: float

    @abc.abstractmethod
    def m_step(self, nk, means, variances):
        """``(weights, means, variances)``, each shape (K,), from the E-step's statistics.

        Parameters
        ----------
        nk, means, variances : ndarray, shape (K,)
            Effective counts, weighted means and weighted biased variances.
        """

    @abc.abstractmethod
    def log_prior(self, weights, means, variances):
        """Added to the log-likelihood in the convergence test (0 for maximum likelihood)."""

    def for_components(self, k):
        """The step for a fit with ``k`` components (the search fits fewer on its way to K)."""
        return self


@dataclass(frozen=True)
class MaximumLikelihoodStep(Step):
    """The maximum-likelihood M-step with ``reg`` added to every variance.

    Examples
    --------
    >>> import numpy as np
    >>> step = MaximumLikelihoodStep(0.1)
    >>> w, mu, var = step.m_step(np.array([1.0, 3.0]), np.zeros(2), np.ones(2))
    >>> w.tolist(), var.tolist()
    ([0.25, 0.75], [1.1, 1.1])
    """

    reg: float

    def m_step(self, nk, means, variances):
        return nk / nk.sum(), means, variances + self.reg

    def log_prior(self, weights, means, variances):
        return 0.0
