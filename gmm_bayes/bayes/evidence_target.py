"""The posterior of :func:`gmm_bayes.build_model` as a numpy target for the evidence sampler.

:class:`MixtureTarget` holds the data (distinct values with counts) and the priors in the
data's units, and evaluates, for a batch of particles at once, the log prior density and the
log-likelihood (the density's, or with a recording resolution ``h`` the interval likelihood of
:mod:`gmm_bayes.em.resolution`, as :func:`gmm_bayes.build_model` writes them) in unconstrained
coordinates::

    a_k = log(w_k / w_K)       k < K   (additive log-ratio; Jacobian prod_k w_k)
    mu_k                       ordered mu_1 < ... < mu_K, no transform
    s_k = log sigma_k                  (Jacobian sigma_k)
    b   = log beta                     hierarchical prior only (Jacobian beta)

The means' prior is the law of the order statistics of K iid normals: ``K!`` times the iid
density on the ordered region, which is normalized, unlike the model's density (see
:func:`~gmm_bayes.bayes.distributions.ordered_means`). Its marginal likelihood is therefore that
of the exchangeable prior (the likelihood and the iid prior are symmetric under relabelling, and
the ordered region is one of K! copies of the same posterior mass).
"""

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

from gmm_bayes.em.resolution import interval_log_probability
from gmm_bayes.mixture import log_density, univariate

__all__ = ["MixtureTarget"]

_LOG_2PI = float(np.log(2 * np.pi))


@dataclass(frozen=True)
class MixtureTarget:
    """Prior, prior draws and likelihood of the K-component mixture, vectorized over particles.

    Parameters
    ----------
    values, counts : ndarray, shape (M,)
        The data's distinct values and how often each occurs.
    spec : ResolvedPriors
        The priors in the data's units (``Priors.resolve``).
    n_components : int
    resolution : float or None
        The recording resolution ``h``: each value stands for ``[v - h/2, v + h/2]``
        (None: the density likelihood).

    Examples
    --------
    >>> from gmm_bayes.bayes import Priors
    >>> x = np.array([0.0, 1.0, 1.0, 5.0])
    >>> target = MixtureTarget.from_data(x, Priors().resolve(x, 2), 2)
    >>> theta = target.draw_prior(np.random.default_rng(0), 3)
    >>> theta.shape, target.log_prior(theta).shape, target.log_likelihood(theta).shape
    ((3, 5), (3,), (3,))
    """

    values: np.ndarray
    counts: np.ndarray
    spec: object
    n_components: int
    resolution: float | None = None

    @classmethod
    def from_data(cls, x, spec, n_components, resolution=None):
        """The target for data ``x`` (validated, shape (N,)) under ``spec``, with the interval
        likelihood when ``resolution`` (a width ``h > 0``) is given."""
        values, counts = np.unique(x, return_counts=True)
        return cls(values, counts.astype(np.float64), spec, int(n_components), resolution)

    @property
    def hierarchical(self):
        return bool(self.spec.sigma.hierarchical)

    @property
    def n_dims(self):
        """D: ``3 K - 1``, plus one for the hierarchical prior's ``beta``."""
        return 3 * self.n_components - 1 + self.hierarchical

    def unpack(self, theta):
        """``(w, mu, sigma, beta)`` of particles ``theta``, shape (P, D); arrays (P, K) and
        ``beta`` (P, 1) or None."""
        k = self.n_components
        logits = np.concatenate([theta[:, : k - 1], np.zeros((theta.shape[0], 1))], axis=1)
        w = np.exp(logits - logits.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        mu = theta[:, k - 1 : 2 * k - 1]
        sigma = np.exp(theta[:, 2 * k - 1 : 3 * k - 1])
        beta = np.exp(theta[:, 3 * k - 1 :]) if self.hierarchical else None
        return w, mu, sigma, beta

    def pack(self, w, mu, sigma, beta=None):
        """The coordinates of parameters ``w``, ``mu``, ``sigma`` (shape (P, K)) and ``beta``
        (shape (P,), hierarchical prior only): shape (P, D); the inverse of :meth:`unpack`."""
        log_w = np.log(np.atleast_2d(w))
        columns = [log_w[:, :-1] - log_w[:, -1:], np.atleast_2d(mu), np.log(np.atleast_2d(sigma))]
        if self.hierarchical:
            columns.append(np.log(np.reshape(beta, (-1, 1))))
        return np.concatenate(columns, axis=1)

    def draw_prior(self, rng, n):
        """``n`` draws from the prior, in coordinates: shape (n, D); means sorted iid normals."""
        k, spec = self.n_components, self.spec
        w = rng.dirichlet(spec.alpha_for(k), n)
        mu = np.sort(rng.normal(spec.mu_loc, spec.mu_sd, (n, k)), axis=1)
        sigma, beta = _draw_sigmas(spec.sigma, rng, (n, k))
        return self.pack(w, mu, sigma, beta)

    def log_prior(self, theta):
        """Log prior density of the coordinates (Jacobians included), shape (P,); ``-inf``
        where the means are not strictly increasing."""
        w, mu, sigma, beta = self.unpack(theta)
        k, spec = self.n_components, self.spec
        alpha = spec.alpha_for(k)
        log_w = np.log(w)
        out = gammaln(alpha.sum()) - gammaln(alpha).sum() + (alpha * log_w).sum(axis=1)
        z = (mu - spec.mu_loc) / spec.mu_sd
        out += gammaln(k + 1) - k * (0.5 * _LOG_2PI + np.log(spec.mu_sd)) - 0.5 * (z * z).sum(1)
        out += (spec.sigma.logpdf(sigma, beta) + np.log(sigma)).sum(axis=1)
        if beta is not None:
            g, h = spec.sigma.g, spec.sigma.h
            out += (g * np.log(h) - gammaln(g) + g * np.log(beta) - h * beta)[:, 0]
        ordered = np.all(np.diff(mu, axis=1) > 0, axis=1)
        return np.where(ordered & np.isfinite(out), out, -np.inf)

    def log_likelihood(self, theta):
        """``sum_j counts_j log p(values_j | w, mu, sigma)``, shape (P,); ``p`` the density, or
        the probability of ``[v_j - h/2, v_j + h/2]`` with a resolution."""
        w, mu, sigma, _ = self.unpack(theta)
        if self.resolution is None:
            x, means, covariances = univariate(self.values, mu, sigma * sigma)
            return log_density(x, w, means, covariances) @ self.counts
        return interval_log_probability(self.values, self.resolution, w, mu, sigma) @ self.counts


def _draw_sigmas(prior, rng, shape):
    """``(sigma, beta)``: draws of shape ``shape`` from a resolved sigma prior, and ``beta``
    (shape (n, 1)) for the hierarchical prior (else None)."""
    if prior.kind == "half-normal":
        return np.abs(rng.normal(0.0, prior.scale, shape)), None
    if prior.kind == "lognormal":
        return np.exp(rng.normal(prior.log_median, prior.sd_log, shape)), None
    beta = rng.gamma(prior.g, 1.0 / prior.h, (shape[0], 1)) if prior.hierarchical else None
    rate = prior.beta if beta is None else beta
    return 1.0 / np.sqrt(rng.gamma(prior.alpha, 1.0, shape) / rate), beta
