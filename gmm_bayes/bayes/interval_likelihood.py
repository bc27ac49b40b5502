"""The observed mixture of data recorded at a resolution: interval probabilities, labels summed.

The PyMC twin of :mod:`gmm_bayes.em.interval`: each point ``v`` of the data table (a distinct
value with its count ``c``) stands for the interval ``[v - h/2, v + h/2]``, and ``y``'s log
density is ``sum_j c_j log sum_k w_k [Phi((v_j + h/2 - mu_k) / s_k) - Phi((v_j - h/2 - mu_k) /
s_k)]``. The difference of normal CDFs is PyMC's ``log_diff_normal_cdf`` (``erfcx`` in the
tails, so it stays finite 40 sd out); :func:`gmm_bayes.em.resolution.interval_log_probability`
is the numpy version EM uses, and :func:`gmm_bayes.check_model` checks they agree.
"""

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from gmm_bayes.mixture import predictive_draws, univariate

__all__ = ["ERFC_LIMIT", "log_normal_mass", "observed_interval_mixture"]

#: below -ERFC_LIMIT sd, erfc underflows float64: log Phi comes from erfcx there
ERFC_LIMIT = 37.0
_SQRT_HALF = float(np.sqrt(0.5))


def observed_interval_mixture(name, w, mu, sigma, table, width, *, dims):
    """The observed mixture ``name`` of intervals of width ``width`` centred on the table's
    values.

    Parameters
    ----------
    name : str
    w, mu, sigma : TensorVariable, shape (K,)
    table : TensorVariable, shape (2, M)
        Rows values (observed) and counts (:meth:`ModelData.table`).
    width : TensorVariable, shape ()
        The resolution ``h``.
    dims : str

    Examples
    --------
    >>> from scipy.stats import norm
    >>> with pm.Model() as model:
    ...     y = observed_interval_mixture("y", np.ones(1), np.zeros(1), np.ones(1),
    ...                                   np.array([[0.0], [2.0]]), 1.0, dims=None)
    >>> logp = float(model.compile_logp(vars=[y])({}))
    >>> bool(np.isclose(logp, 2 * np.log(norm.cdf(0.5) - norm.cdf(-0.5))))
    True
    """
    return pm.CustomDist(
        name,
        w,
        mu,
        sigma,
        table[1],
        width,
        logp=_interval_logp,
        random=_grid_random,
        signature="(k),(k),(k),(),()->()",
        observed=table[0],
        dims=dims,
    )


def log_normal_mass(lower, upper):
    """``log(Phi(upper) - Phi(lower))`` for ``lower < upper`` (tensors), stable in both tails.

    Examples
    --------
    The numpy version EM uses (checked against quadrature in the tests) and this one agree:

    >>> import pytensor
    >>> from gmm_bayes.em import resolution
    >>> lower = pt.dvector("lower")
    >>> f = pytensor.function([lower], log_normal_mass(lower, lower + 0.5))
    >>> at = np.array([-60.0, -40.0, -0.25, 3.0, 45.0])
    >>> bool(np.allclose(f(at), resolution.log_normal_mass(at, at + 0.5), rtol=1e-12, atol=0))
    True
    """
    flip = pt.gt(lower, 0)
    lo = pt.switch(flip, -upper, lower)
    hi = pt.switch(flip, -lower, upper)
    log_hi = _log_ndtr(hi)
    a = _log_ndtr(lo) - log_hi
    log1mexp = pt.switch(
        pt.gt(a, -np.log(2.0)), pt.log(-pt.expm1(a)), pt.log1p(-pt.exp(pt.minimum(a, 0.0)))
    )
    return log_hi + log1mexp


def _log_ndtr(z):
    """``log Phi(z)``; each branch gets its argument clamped to its own region, so the branches
    not taken (and their gradients) stay finite."""
    far = pt.minimum(z, -ERFC_LIMIT)
    tail = pt.log(pt.erfcx(-far * _SQRT_HALF) / 2) - far * far / 2
    mid = pt.log(pt.erfc(-pt.clip(z, -ERFC_LIMIT, 0.0) * _SQRT_HALF) / 2)
    upper = pt.log1p(-pt.erfc(pt.maximum(z, 0.0) * _SQRT_HALF) / 2)
    return pt.switch(pt.lt(z, -ERFC_LIMIT), tail, pt.switch(pt.le(z, 0.0), mid, upper))


def _interval_logp(value, w, mu, sigma, counts, width):
    upper = (value[:, None] + width / 2 - mu) / sigma
    lower = (value[:, None] - width / 2 - mu) / sigma
    return counts * pt.logsumexp(pt.log(w) + log_normal_mass(lower, upper), axis=-1)


def _grid_random(w, mu, sigma, counts, width, rng=None, size=None):
    """Draws from the mixture recorded on the grid of step ``width``, one per point."""
    shape = tuple(np.shape(counts) if size is None else size)
    _, means, covariances = univariate(None, mu, np.square(sigma))
    draws = predictive_draws(rng, np.asarray(w, float), means, covariances, int(np.prod(shape)))
    step = float(np.max(width))
    return (np.round(draws[..., 0] / step) * step).reshape(shape)
