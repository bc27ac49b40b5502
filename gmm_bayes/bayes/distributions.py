"""The random variables of :func:`gmm_bayes.build_model` that PyMC has no ready distribution for.

Each function adds one variable to the model on the context stack:

- :func:`ordered_means`: ``mu`` = K iid ``Normal(loc, sd)`` sorted, ordered by
  :class:`~gmm_bayes.bayes.transform.SoftplusOrdered` whose scale is the variable's third
  parameter (so it can live in a data container);
- :func:`component_sigmas`: ``sigma`` under any of the
  :mod:`~gmm_bayes.bayes.sigma_priors` families (the inverse-gamma one on ``sigma**2``, written
  as a density of ``sigma``);
- :func:`observed_mixture`: the observed ``y``, the labels summed out, over the points of a
  :class:`~gmm_bayes.bayes.model_data.ModelData` weighted by their counts (with the
  second-order term when binned).
"""

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pymc.distributions.shape_utils import rv_size_is_none

from gmm_bayes.bayes.transform import SoftplusOrdered
from gmm_bayes.mixture import predictive_draws, univariate

__all__ = ["component_sigmas", "observed_mixture", "ordered_means"]

_LOG_SQRT_2PI = 0.5 * float(np.log(2 * np.pi))


# --------------------------------------------------------------------------------------------
# mu: Normal, carrying the ordered transform's scale
# --------------------------------------------------------------------------------------------


def ordered_means(name, loc, sd, order_scale, n_components, dims):
    """``name``: the order statistics of K iid ``Normal(loc, sd)`` values.

    Its draws are sorted iid normals, and its log density is the iid normal one, on the ordered
    region ``mu_1 < ... < mu_K`` (where :class:`SoftplusOrdered` of scale ``order_scale`` keeps
    the sampler). That density is the order statistics' density divided by ``K!``: the iid
    density has mass ``1 / K!`` on the ordered region. A posterior does not depend on that
    constant, but the model's marginal likelihood is ``1 / K!`` times the one under the
    exchangeable (unordered, normalized) prior;
    :func:`gmm_bayes.bayes.evidence.log_evidence` reports the latter.
    ``loc``, ``sd`` and ``order_scale`` may be symbolic.

    Examples
    --------
    >>> import pymc as pm
    >>> with pm.Model(coords={"component": range(4)}):
    ...     mu = ordered_means("mu", 0.0, 1.0, 0.05, 4, dims="component")
    >>> mu = pm.draw(mu, 3, random_seed=0)
    >>> mu.shape, bool((np.diff(mu, axis=-1) > 0).all())
    ((3, 4), True)
    """
    return pm.CustomDist(
        name,
        loc,
        sd,
        order_scale,
        logp=_normal_logp,
        random=_normal_random,
        support_point=_normal_support_point,
        transform=SoftplusOrdered(None, n_components, scale_fn=_order_scale),
        dims=dims,
    )


def _order_scale(rng, size, loc, sd, order_scale):
    """The ordered transform's scale: the third parameter of :func:`ordered_means`."""
    return order_scale


def _normal_logp(value, loc, sd, order_scale):
    z = (value - loc) / sd
    return -0.5 * z * z - pt.log(sd) - _LOG_SQRT_2PI


def _normal_random(loc, sd, order_scale, rng=None, size=None):
    """Sorted iid normals: the components are the last axis of ``size``."""
    return np.sort(rng.normal(loc, sd, size=size), axis=-1)


def _normal_support_point(rv, size, loc, sd, order_scale):
    return loc if rv_size_is_none(size) else pt.full(size, loc)


# --------------------------------------------------------------------------------------------
# sigma
# --------------------------------------------------------------------------------------------


def component_sigmas(name, sigma_prior, pick, dims):
    """``name``, the components' standard deviations, under the resolved ``sigma_prior``.

    Parameters
    ----------
    name : str
    sigma_prior : InverseGammaSigma, HalfNormalSigma or LogNormalSigma
        Gives the family (its numbers are read from ``pick``).
    pick : callable
        ``pick(constant name)``: the prior's constants as (symbolic) scalars, named
        ``sigma_scale`` (half-normal), ``sigma_log_median`` and ``sigma_sd_log`` (lognormal),
        ``sigma_alpha`` and ``sigma_beta``, or ``beta_g`` and ``beta_h`` (hierarchical: a free
        variable ``beta ~ Gamma(beta_g, rate=beta_h)`` is added).
    dims : str
    """
    if sigma_prior.kind == "half-normal":
        return pm.HalfNormal(name, sigma=pick("sigma_scale"), dims=dims)
    if sigma_prior.kind == "lognormal":
        return pm.LogNormal(
            name, mu=pick("sigma_log_median"), sigma=pick("sigma_sd_log"), dims=dims
        )
    if sigma_prior.hierarchical:
        beta = pm.Gamma("beta", alpha=pick("beta_g"), beta=pick("beta_h"))
    else:
        beta = pick("sigma_beta")
    return pm.CustomDist(
        name,
        pick("sigma_alpha"),
        beta,
        logp=_sqrt_inv_gamma_logp,
        random=_sqrt_inv_gamma_random,
        support_point=_sqrt_inv_gamma_mode,
        transform=pm.distributions.transforms.log,
        dims=dims,
    )


def _sqrt_inv_gamma_logp(value, alpha, beta):
    """Log density of ``sigma`` when ``sigma**2 ~ InverseGamma(alpha, beta)``."""
    logp = (
        alpha * pt.log(beta)
        - pt.gammaln(alpha)
        + pt.log(2.0)
        - (2 * alpha + 1) * pt.log(value)
        - beta / value**2
    )
    return pt.switch(pt.gt(value, 0), logp, -np.inf)


def _sqrt_inv_gamma_random(alpha, beta, rng=None, size=None):
    return 1.0 / np.sqrt(rng.gamma(alpha, 1.0 / beta, size=size))


def _sqrt_inv_gamma_mode(rv, size, alpha, beta):
    mode = pt.sqrt(2 * beta / (2 * alpha + 1))
    return mode if rv_size_is_none(size) else pt.full(size, mode)


# --------------------------------------------------------------------------------------------
# y: the mixture, labels summed out, over counted points
# --------------------------------------------------------------------------------------------


def observed_mixture(name, w, mu, sigma, table, *, binned, dims):
    """The observed mixture ``name`` over the rows of a data table.

    Parameters
    ----------
    name : str
    w, mu, sigma : TensorVariable, shape (K,)
    table : TensorVariable, shape (2, M) or (3, M)
        Rows values (observed), counts, and the bins' sums of squares when ``binned``
        (:meth:`ModelData.table`).
    binned : bool
    dims : str
    """
    extra = [table[row] for row in range(1, 3 if binned else 2)]
    return pm.CustomDist(
        name,
        w,
        mu,
        sigma,
        *extra,
        logp=_binned_logp if binned else _weighted_logp,
        random=_mixture_random,
        signature="(k),(k),(k)" + ",()" * len(extra) + "->()",
        observed=table[0],
        dims=dims,
    )


def _log_joint(value, w, mu, sigma):
    """``(M, K)``: ``log w_k + log N(value_m | mu_k, sigma_k)``."""
    z = (value[:, None] - mu) / sigma
    return pt.log(w) - pt.log(sigma) - _LOG_SQRT_2PI - 0.5 * z * z


def _weighted_logp(value, w, mu, sigma, counts):
    """Exact: ``counts_m * log p(value_m)`` (all counts 1 for uncompressed data)."""
    return counts * pt.logsumexp(_log_joint(value, w, mu, sigma), axis=-1)


def _binned_logp(value, w, mu, sigma, counts, sumsq):
    """Binned: ``c_j log p(v_j) + s_j / 2 (log p)''(v_j)``, bins' means ``v_j``.

    With responsibilities ``r_k`` at ``v`` and ``g_k = -(v - mu_k) / sigma_k**2`` (the slope
    of component k's log density), ``(log p)' = sum_k r_k g_k`` and
    ``(log p)'' = sum_k r_k (g_k**2 - 1 / sigma_k**2) - (sum_k r_k g_k)**2``.
    """
    joint = _log_joint(value, w, mu, sigma)
    log_p = pt.logsumexp(joint, axis=-1)
    resp = pt.exp(joint - log_p[:, None])
    slope = -(value[:, None] - mu) / sigma**2
    mean_slope = pt.sum(resp * slope, axis=-1)
    curvature = pt.sum(resp * (slope * slope - 1.0 / sigma**2), axis=-1) - mean_slope**2
    return counts * log_p + 0.5 * sumsq * curvature


def _mixture_random(w, mu, sigma, counts, *rest, rng=None, size=None):
    """Draws from the mixture, one per point of ``y`` (the counts are not used)."""
    shape = tuple(np.shape(counts) if size is None else size)
    _, means, covariances = univariate(None, mu, np.square(sigma))
    draws = predictive_draws(rng, np.asarray(w, float), means, covariances, int(np.prod(shape)))
    return draws[..., 0].reshape(shape)
