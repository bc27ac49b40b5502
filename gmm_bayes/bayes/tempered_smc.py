"""Sequential Monte Carlo from the prior to the posterior: one estimate of the log evidence.

The particles move through ``p(theta) L(theta)**t`` as ``t`` goes from 0 to 1 (Del Moral,
Doucet & Jasra 2006). Each step picks the next ``t`` so that the incremental weights
``L**(t_new - t)`` keep an effective sample size of ``ess_fraction`` times the particles,
multiplies the running evidence by their mean, resamples, and moves every particle by
random-walk Metropolis steps whose proposal covariance is the particles' own (scaled so that
about a quarter of the proposals are accepted). The product of the means is an unbiased
estimate of the evidence ``Z = integral p(theta) L(theta) dtheta``.
"""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.special import logsumexp

__all__ = ["TemperedRun", "random_walk_moves", "smc_log_evidence", "temper"]

#: acceptance rate the random-walk scale is tuned toward (Roberts, Gelman & Gilks 1997)
TARGET_ACCEPTANCE = 0.25


@dataclass(frozen=True)
class TemperedRun:
    """What one SMC run from the prior to the posterior leaves.

    Attributes
    ----------
    theta : ndarray, shape (P, D)
        The final particles, equally weighted draws from the posterior (resampled, then
        moved at temperature 1).
    log_z : float
        The run's estimate of ``log Z`` (unbiased for ``Z``).
    n_stages : int
        Tempering steps.
    acceptance : float
        Acceptance rate of the last move.
    """

    theta: np.ndarray
    log_z: float
    n_stages: int
    acceptance: float


def smc_log_evidence(target, rng, n_particles, *, n_moves, ess_fraction=0.5):
    """One SMC run's estimate of ``log Z`` (:func:`temper`'s ``log_z`` and ``n_stages``).

    Examples
    --------
    >>> from gmm_bayes.bayes import Priors
    >>> from gmm_bayes.bayes.evidence_target import MixtureTarget
    >>> x = np.array([-1.0, 0.0, 0.5, 2.0])
    >>> target = MixtureTarget.from_data(x, Priors().resolve(x, 1), 1)
    >>> log_z, steps = smc_log_evidence(target, np.random.default_rng(0), 500, n_moves=5)
    >>> bool(np.isfinite(log_z)), steps > 1
    (True, True)
    """
    run = temper(target, rng, n_particles, n_moves=n_moves, ess_fraction=ess_fraction)
    return run.log_z, run.n_stages


def temper(target, rng, n_particles, *, n_moves, ess_fraction=0.5):
    """One SMC run from the prior to the posterior.

    Parameters
    ----------
    target : MixtureTarget
        Or any object with ``n_dims``, ``draw_prior(rng, n) -> (n, D)``, and
        ``log_prior(theta)``, ``log_likelihood(theta)`` of shape (P,) for ``theta`` (P, D).
    rng : numpy.random.Generator
    n_particles : int
        P.
    n_moves : int
        Metropolis steps per particle after each resampling.
    ess_fraction : float
        Effective sample size kept by each tempering step, as a fraction of P.

    Returns
    -------
    TemperedRun

    Examples
    --------
    >>> from gmm_bayes.bayes import Priors
    >>> from gmm_bayes.bayes.evidence_target import MixtureTarget
    >>> x = np.array([-1.0, 0.0, 0.5, 2.0])
    >>> target = MixtureTarget.from_data(x, Priors().resolve(x, 1), 1)
    >>> run = temper(target, np.random.default_rng(0), 500, n_moves=5)
    >>> run.theta.shape, bool(np.isfinite(run.log_z)), run.n_stages > 1
    ((500, 2), True, True)
    """
    theta = target.draw_prior(rng, n_particles)
    log_prior, log_lik = target.log_prior(theta), _finite(target.log_likelihood(theta))
    scale = 2.38 / np.sqrt(target.n_dims)
    temperature, log_z, steps, acceptance = 0.0, 0.0, 0, float("nan")
    while temperature < 1.0:
        delta = _next_increment(log_lik, 1.0 - temperature, ess_fraction)
        log_w = delta * log_lik
        log_z += float(logsumexp(log_w) - np.log(n_particles))
        weights = np.exp(log_w - log_w.max())
        weights /= weights.sum()
        cov = np.atleast_2d(np.cov(theta, rowvar=False, aweights=weights))
        keep = _systematic_resample(rng, weights)
        theta, log_prior, log_lik = theta[keep], log_prior[keep], log_lik[keep]
        temperature = 1.0 if delta == 1.0 - temperature else temperature + delta
        state = (theta, log_prior, log_lik)
        old_scale = scale
        *state, scale = random_walk_moves(target, rng, state, temperature, cov, scale, n_moves)
        theta, log_prior, log_lik = state
        acceptance = TARGET_ACCEPTANCE + float(np.log(scale / old_scale)) / n_moves
        steps += 1
    return TemperedRun(theta, log_z, steps, acceptance)


def _finite(log_lik):
    return np.where(np.isnan(log_lik), -np.inf, log_lik)


def _next_increment(log_lik, remaining, ess_fraction):
    """The largest ``delta <= remaining`` whose weights ``L**delta`` keep the wanted ESS."""
    wanted = ess_fraction * log_lik.size

    def ess_gap(delta):
        log_w = delta * log_lik
        log_w = log_w - log_w.max()
        return np.exp(2 * logsumexp(log_w) - logsumexp(2 * log_w)) - wanted

    if ess_gap(remaining) >= 0:
        return remaining
    return brentq(ess_gap, 0.0, remaining, xtol=1e-12 * remaining)


def _systematic_resample(rng, weights):
    """Indices of ``weights.size`` particles, each kept about ``P * weight`` times."""
    n = weights.size
    cumulative = np.cumsum(weights)
    cumulative[-1] = 1.0
    return np.searchsorted(cumulative, (rng.uniform() + np.arange(n)) / n)


def random_walk_moves(target, rng, state, temperature, cov, scale, n_moves):
    """``n_moves`` random-walk Metropolis steps of every particle on ``p * L**temperature``.

    The proposal is ``N(theta, scale**2 cov)``; after each step ``scale`` is multiplied by
    ``exp(acceptance rate - TARGET_ACCEPTANCE)``, one scale shared by all particles.

    Parameters
    ----------
    target : MixtureTarget
    rng : numpy.random.Generator
    state : tuple of ndarray
        ``(theta, log_prior, log_lik)``, shapes (P, D), (P,), (P,).
    temperature : float
    cov : ndarray, shape (D, D)
        Proposal covariance (the particles' weighted covariance in the sampler).
    scale : float
    n_moves : int

    Returns
    -------
    tuple
        ``(theta, log_prior, log_lik, scale)`` after the moves.

    Examples
    --------
    >>> from gmm_bayes.bayes import Priors
    >>> from gmm_bayes.bayes.evidence_target import MixtureTarget
    >>> x = np.array([-1.0, 0.0, 0.5, 2.0])
    >>> target = MixtureTarget.from_data(x, Priors().resolve(x, 1), 1)
    >>> rng = np.random.default_rng(0)
    >>> theta = target.draw_prior(rng, 100)
    >>> state = (theta, target.log_prior(theta), target.log_likelihood(theta))
    >>> moved = random_walk_moves(target, rng, state, 1.0, np.cov(theta.T), 1.0, 3)
    >>> moved[0].shape, bool(np.all(np.isfinite(moved[2])))
    ((100, 2), True)
    """
    theta, log_prior, log_lik = state
    n, d = theta.shape
    chol = np.linalg.cholesky(cov + 1e-12 * np.trace(cov) / d * np.eye(d))
    for _ in range(n_moves):
        proposal = theta + scale * rng.standard_normal((n, d)) @ chol.T
        prop_prior = target.log_prior(proposal)
        inside = np.isfinite(prop_prior)
        prop_lik = np.full(n, -np.inf)
        prop_lik[inside] = _finite(target.log_likelihood(proposal[inside]))
        with np.errstate(invalid="ignore"):  # 0 * -inf outside the support: rejected anyway
            log_ratio = prop_prior + temperature * prop_lik - log_prior - temperature * log_lik
            accept = np.log(rng.uniform(size=n)) < log_ratio
        theta = np.where(accept[:, None], proposal, theta)
        log_prior = np.where(accept, prop_prior, log_prior)
        log_lik = np.where(accept, prop_lik, log_lik)
        scale *= np.exp(accept.mean() - TARGET_ACCEPTANCE)
    return theta, log_prior, log_lik, scale
