"""The MAP-EM step: the M-step that maximizes the posterior of :func:`gmm_bayes.build_model`.

numpy only. ``Priors.em_step`` builds a :class:`MapStep` in the standardized units ``fit_em``
works in; ``fit_em`` calls it like the maximum-likelihood step (a :class:`gmm_bayes.em.Step`).
"""

import dataclasses
from dataclasses import dataclass

import numpy as np

from gmm_bayes.em import Step
from gmm_bayes.em.steps import as_covariance_type

__all__ = ["MapStep"]

#: inner coordinate-ascent sweeps of one MAP M-step (mu given sigma, sigma given mu, beta)
MAX_SWEEPS = 500
SWEEP_RTOL = 1e-13


@dataclass(frozen=True)
class MapStep(Step):
    """The MAP-EM step (a :class:`gmm_bayes.em.Step`), in the units of its ``priors``.

    Parameters
    ----------
    priors : ResolvedPriors
        The priors in the units EM works in (:meth:`ResolvedPriors.standardized`).
    reg : float
        Added to every variance after the M-step.
    covariance_type : {"full", "tied", "diag", "spherical"}, default "full"
        "tied": one variance shared by all components, under one draw of ``sigma``'s prior
        (the model of ``build_model(..., covariance_type="tied")``); its update maximizes
        ``-N/2 log v - Q/(2v) + log p(sqrt v)`` with ``N = sum_k n_k`` and ``Q`` the pooled
        sum of squares about the current means, the per-component update with the sums pooled.

    Examples
    --------
    With ``mu``'s prior centred on the component's mean, the step is in closed form: weights
    ``(n_k + a_k - 1) / (N + sum(a) - K)``, ``mu = xbar``, ``sigma**2 = (q + 2 beta) /
    (n + 2 alpha + 1)`` with ``q = n * variance``:

    >>> from gmm_bayes.bayes.priors import ResolvedPriors
    >>> from gmm_bayes.bayes.sigma_priors import InverseGammaSigma
    >>> priors = ResolvedPriors(np.array([2.0, 3.0]), 0.0, 1.0, InverseGammaSigma(2.0, 1.0))
    >>> w, mu, var = MapStep(priors, reg=0.0).m_step(np.array([10.0, 30.0]), np.zeros(2),
    ...                                              np.array([4.0, 1.0]))
    >>> (w * 43).round(12).tolist(), mu.tolist(), (var * 105).round(12).tolist()
    ([11.0, 32.0], [0.0, 0.0], [294.0, 96.0])
    """

    priors: object
    reg: float
    covariance_type: str = "full"

    def __post_init__(self):
        object.__setattr__(self, "covariance_type", as_covariance_type(self.covariance_type))

    def m_step(self, nk, means, variances):
        """``(weights, means, variances)`` from the E-step's sufficient statistics.

        Maximizes the expected complete-data log posterior: weights in closed form; means,
        variances (and ``beta``) by coordinate ascent over their conditional maximizers (each
        closed form, or a 1-D root for the lognormal prior) until a sweep changes nothing, so
        the step is an exact maximization and EM's monotonicity holds.

        Parameters
        ----------
        nk : ndarray, shape (K,)
            Effective counts ``sum_n r_nk``.
        means, variances : ndarray, shape (K,)
            Responsibility-weighted means and biased variances of the data.

        Returns
        -------
        weights, means, variances : ndarray, shape (K,)
            ``reg`` added to the variances.
        """
        nk = np.asarray(nk, dtype=np.float64)
        xbar = np.asarray(means, dtype=np.float64)
        q0 = nk * np.asarray(variances, dtype=np.float64)
        weights = self._weights(nk)
        new_means, new_variances = self._means_and_variances(nk, xbar, q0)
        return weights, new_means, new_variances + self.reg

    def for_components(self, k):
        """This step, or for ``k`` components other than the concentration vector's length a
        symmetric Dirichlet of the same mean concentration: the search's fits with fewer
        components only provide starting points for the K-component fit."""
        alpha = np.asarray(self.priors.alpha, dtype=np.float64)
        if alpha.ndim == 0 or alpha.size == k:
            return self
        return dataclasses.replace(
            self, priors=dataclasses.replace(self.priors, alpha=np.asarray(alpha.mean()))
        )

    def log_prior(self, weights, means, variances):
        """The priors' log density (:meth:`ResolvedPriors.log_prior`), added to EM's objective."""
        return self.priors.log_prior(weights, means, variances, tied=self.tied)

    def _weights(self, nk):
        """The Dirichlet posterior's mode ``(n_k + a_k - 1) / sum``, floored at 0."""
        weights = np.maximum(nk + self.priors.alpha_for(nk.size) - 1, 0.0)
        return weights / weights.sum()

    def _means_and_variances(self, nk, xbar, q0):
        priors = self.priors
        precision = 1.0 / priors.mu_sd**2
        means = xbar.copy()
        beta = None
        if priors.hierarchical:  # start the sweeps from beta at the maximum-likelihood variances
            ok = (nk > 0) & (q0 > 0)
            start = np.where(ok, q0 / np.where(ok, nk, 1.0), 1.0)
            beta = priors.beta_hat(start[:1] if self.tied else start)
        variances = self._variances(nk, q0, beta)
        for _ in range(MAX_SWEEPS):
            previous = np.concatenate([means, variances])
            means = (nk * xbar + variances * precision * priors.mu_loc) / (
                nk + variances * precision
            )
            q = q0 + nk * (xbar - means) ** 2
            variances = self._variances(nk, q, beta)
            if priors.hierarchical:
                beta = priors.beta_hat(variances[:1] if self.tied else variances)
            current = np.concatenate([means, variances])
            if np.all(np.abs(current - previous) <= SWEEP_RTOL * (1 + np.abs(current))):
                break
        return means, variances

    def _variances(self, nk, q, beta):
        """Each component's conditional maximizer, or the tied one's from the pooled sums."""
        update = self.priors.sigma.update_variance
        if self.tied:
            return np.full(nk.size, update(np.sum(nk), np.sum(q), beta))
        return update(nk, q, beta)
