"""The priors of :func:`gmm_bayes.bayes.model_mv.build_model_mv` in numpy: frame and density.

numpy/scipy only (MAP-EM, :mod:`gmm_bayes.bayes.map_step_mv`, must not import PyMC). The model
is documented in :mod:`gmm_bayes.bayes.model_mv`; here are its constants, the data's frame
(:func:`model_frame`: units and the means' ordering axis) and :func:`log_prior_mv`, the sum of
the priors' log densities at a mixture, the term ``pm.find_MAP`` adds to the log-likelihood.

``pm.find_MAP`` maximizes ``model.logp(jacobian=False)``: each prior's density of the model's
own variable (no Jacobian of the sampler's transforms), so :func:`log_prior_mv` is the density
of the standardized means ``u`` (``mu_axis`` and ``mu_rest``), of the packed Cholesky factors
of the standardized covariances (``LKJCholeskyCov``'s density, whose own change of variables
from the sds and correlations is part of the distribution), and of the standardized sds.
"""

from typing import NamedTuple

import numpy as np
from scipy import stats
from scipy.linalg import null_space
from scipy.special import gammaln

from gmm_bayes.em.covariance import covariance_type_name
from gmm_bayes.em.multivariate import as_matrix_data, principal_axis

__all__ = [
    "LKJ_ETA",
    "MU_SCALE",
    "SD_PRIOR",
    "ModelFrame",
    "lkj_cholesky_log_density",
    "log_prior_mv",
    "model_frame",
]

#: prior sd of each standardized mean coordinate
MU_SCALE = 2.0
#: LKJ concentration of each component's correlation matrix (2: mild shrinkage towards 0)
LKJ_ETA = 2.0
#: InverseGamma(alpha, beta) of each component sd, in units of its column's sd
SD_PRIOR = (6.7, 1.7)


class ModelFrame(NamedTuple):
    """The data's units and the means' ordering axis (see :func:`model_frame`).

    Attributes
    ----------
    loc, scale : ndarray, shape (d,)
        Column means ``L`` and standard deviations ``S``.
    axis : ndarray, shape (d,)
        ``b``: the principal axis in standardized units, unit length.
    complement : ndarray, shape (d, d - 1)
        ``R``: an orthonormal basis of the directions orthogonal to ``b``.
    """

    loc: np.ndarray
    scale: np.ndarray
    axis: np.ndarray
    complement: np.ndarray

    @property
    def pooled_scale(self):
        """``S_bar = sqrt(mean(S^2))``: the scale of a spherical model's sds."""
        return float(np.sqrt(np.mean(self.scale**2)))

    def standardized_coordinates(self, means):
        """``(p, c)``: the means' coordinates along ``b`` (K,) and ``R`` (K, d - 1)."""
        u = (np.asarray(means, dtype=np.float64) - self.loc) / self.scale
        return u @ self.axis, u @ self.complement


def model_frame(x):
    """The columns' means and sds, and the ordering axis in standardized units.

    Parameters
    ----------
    x : array_like, shape (N, d)

    Returns
    -------
    ModelFrame

    Examples
    --------
    >>> frame = model_frame(np.array([[0.0, 0.0], [1.0, 10.0], [2.0, 20.0], [3.0, 25.0]]))
    >>> frame.scale.round(2).tolist(), frame.axis.round(3).tolist(), frame.complement.shape
    ([1.12, 9.6], [0.013, 1.0], (2, 1))
    """
    x = as_matrix_data(x)
    loc, scale = x.mean(axis=0), x.std(axis=0)
    if (scale == 0).any():
        column = int(np.argmin(scale))
        raise ValueError(f"x's column {column} is constant: drop it, it holds no information")
    axis = scale * principal_axis(x)
    axis /= np.linalg.norm(axis)
    return ModelFrame(loc, scale, axis, null_space(axis[None, :]))


def log_prior_mv(frame, covariance_type, weights, means, covariances):
    """The priors' log density at a mixture: ``model.logp(jacobian=False)`` minus the
    log-likelihood, for the model :func:`~gmm_bayes.bayes.model_mv.build_model_mv` builds.

    Parameters
    ----------
    frame : ModelFrame
        The data's (:func:`model_frame`).
    covariance_type : {"full", "tied", "diag", "spherical"} or an mclust alias
    weights : ndarray, shape (K,)
    means : ndarray, shape (K, d)
    covariances : ndarray, shape (K, d, d)
        Positive definite; all equal for "tied", diagonal for "diag", multiples of the
        identity for "spherical" (only the structure's parameters are read).

    Returns
    -------
    float

    Examples
    --------
    One component of d = 1 at the frame's origin with the columns' sd: Dirichlet(1) on one
    weight has density 1, the mean ``N(0 | 0, 2^2)``, ``sd = 1 ~ InverseGamma(6.7, 1.7)``:

    >>> frame = model_frame(np.array([[0.0], [2.0]]))
    >>> value = log_prior_mv(frame, "diag", np.ones(1), np.ones((1, 1)), np.ones((1, 1, 1)))
    >>> expected = stats.norm.logpdf(0.0, 0.0, 2.0) + stats.invgamma.logpdf(1.0, 6.7, scale=1.7)
    >>> bool(np.isclose(value, expected, rtol=1e-14))
    True
    """
    covariance_type = covariance_type_name(covariance_type)
    weights = np.asarray(weights, dtype=np.float64)
    covariances = np.asarray(covariances, dtype=np.float64)
    u = (np.asarray(means, dtype=np.float64) - frame.loc) / frame.scale
    value = gammaln(weights.size) + np.sum(stats.norm.logpdf(u, 0.0, MU_SCALE))
    variances = np.diagonal(covariances, axis1=1, axis2=2)
    if covariance_type == "diag":
        sds = np.sqrt(variances) / frame.scale
    elif covariance_type == "spherical":
        sds = np.sqrt(variances[:, 0]) / frame.pooled_scale
    else:
        standardized = covariances / np.outer(frame.scale, frame.scale)
        if covariance_type == "tied":
            standardized = standardized[:1]  # one factor, shared
        factors = np.linalg.cholesky(standardized)
        return float(value + sum(lkj_cholesky_log_density(c) for c in factors))
    return float(value + np.sum(stats.invgamma.logpdf(sds, SD_PRIOR[0], scale=SD_PRIOR[1])))


def lkj_cholesky_log_density(factor, eta=LKJ_ETA, sd_prior=SD_PRIOR):
    """``LKJCholeskyCov(eta, sd_dist=InverseGamma(*sd_prior))``'s log density at a Cholesky
    factor, as PyMC writes it (``pymc.distributions.multivariate``).

    With ``s_i`` the norm of row ``i`` of ``C`` (the i-th sd) and ``a_i = 2 eta - 2 + d - i``
    (``i`` from 0): ``sum_i [a_i log(C_ii / s_i) - i log s_i + log p_sd(s_i)]`` plus the LKJ
    normalizing constant.

    Parameters
    ----------
    factor : ndarray, shape (d, d)
        Lower triangular, positive diagonal.

    Returns
    -------
    float

    Examples
    --------
    d = 1: the sd's density alone.

    >>> value = lkj_cholesky_log_density(np.array([[0.5]]))
    >>> bool(np.isclose(value, stats.invgamma.logpdf(0.5, 6.7, scale=1.7), rtol=1e-14))
    True
    """
    d = factor.shape[0]
    sds = np.linalg.norm(factor, axis=1)
    index = np.arange(d)
    log_corr_diag = np.log(np.diagonal(factor) / sds)
    value = np.sum((2 * eta - 2 + d - index) * log_corr_diag - index * np.log(sds))
    value += np.sum(_inverse_gamma_log_density(sds, *sd_prior))
    return float(value + _lkj_normalizing_constant(eta, d))


def _inverse_gamma_log_density(value, alpha, beta):
    """``scipy.stats.invgamma.logpdf(value, alpha, scale=beta)``, written out: 30x faster for
    the few values of a Cholesky factor, evaluated in MAP-EM's inner loop."""
    return alpha * np.log(beta) - gammaln(alpha) - (alpha + 1) * np.log(value) - beta / value


def _lkj_normalizing_constant(eta, d):
    """PyMC's ``_lkj_normalizing_constant``: the LKJ density's log normalizer."""
    k = np.arange(1, d)
    return (d - 1) * gammaln(eta + 0.5 * (d - 1)) - np.sum(
        0.5 * k * np.log(np.pi) + gammaln(eta + 0.5 * (d - 1 - k))
    )
