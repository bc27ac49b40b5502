"""The PyMC marginalized mixture of multivariate normals, checked against EM's log-likelihood.

:func:`build_model_mv` writes the mixture of (N, d) data with the labels summed out
(``pm.Mixture`` of one batched ``pm.MvNormal``, Cholesky-parametrized), in the data's units;
:func:`check_model_mv` shows that its likelihood is the one EM maximized
(:func:`gmm_bayes.em.multivariate.run_em_mv`), for the four covariance structures.

The model, with ``L`` and ``S`` (d,) the columns' means and standard deviations and
``D = diag(S)``::

    w                ~ Dirichlet(1)                                weights, (K,)
    u_k              ~ Normal(0, MU_SCALE^2 I_d), ordered           standardized means
    mu_k             = L + S * u_k                                  means, (K, d)
    Omega_k = C_k C_k^T,  C_k ~ LKJCholeskyCov(LKJ_ETA, sd ~ InverseGamma(*SD_PRIOR))
    Sigma_k          = D Omega_k D                                  covariances, (K, d, d)
    x_n | w, mu, Sigma ~ sum_k w_k MvNormal(mu_k, Sigma_k)

Tied: one ``C`` shared by every component. Diag: ``Sigma_k = diag(S * s_k)^2`` with each
``s_kj ~ InverseGamma(*SD_PRIOR)``. Spherical: ``Sigma_k = (S_bar s_k)^2 I``, ``s_k ~
InverseGamma(*SD_PRIOR)``, ``S_bar = sqrt(mean(S^2))`` (the columns share one unit there).
Every prior is on standardized quantities, so a change of units or origin of any column
(``x A + b`` with ``A`` diagonal, of any signs) maps the priors and the posterior by the same
map, as the univariate model's ``a x + b`` (spherical: with one scale for all columns). Maps
that mix columns (rotations) do not: the LKJ prior of correlations is not rotation-invariant.

``SD_PRIOR``: each component sd, in units of the column's sd, has the 2.5% and 97.5%
quantiles (0.134, 0.643) of the univariate default (``sigma**2 ~ InverseGamma(2, 0.1 S**2)``,
:class:`gmm_bayes.bayes.Priors`), matched by ``InverseGamma(6.7, 1.7)`` (0.134, 0.647); its
density vanishes faster than any power at 0, so no component collapses onto a point.

**Identifiability.** The means are ordered by their projection on the data's first principal
axis ``a`` (:func:`gmm_bayes.em.multivariate.principal_axis`), the order EM returns: in
standardized units, ``u_k = p_k b + R c_k`` with ``b = D a / |D a|``, ``R`` an orthonormal
basis of its complement, ``p_1 < ... < p_K`` (the ordered transform of the univariate model)
and ``c_k`` free. As ``u``'s prior is isotropic, ``p`` and ``c`` are independent normals and
the ordering only restricts the exchangeable prior to one labelling, without bias.

The priors' constants, the frame and their log density in numpy
(:func:`~gmm_bayes.bayes.priors_mv.log_prior_mv`, what ``pm.find_MAP`` adds to the
log-likelihood) are in :mod:`gmm_bayes.bayes.priors_mv`; MAP-EM under them is
:mod:`gmm_bayes.bayes.map_step_mv`.
"""

import weakref

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from gmm_bayes._validation import as_n_components
from gmm_bayes.bayes.distributions import ordered_means
from gmm_bayes.bayes.model import CHECK_RTOL, ONE_OFF_MODE, ORDER_SCALE, to_value_space

# the priors' constants and the data's frame live with their numpy density (no PyMC there)
from gmm_bayes.bayes.priors_mv import (
    LKJ_ETA,
    MU_SCALE,
    SD_PRIOR,
    ModelFrame,
    log_prior_mv,
    model_frame,
)
from gmm_bayes.em.covariance import covariance_type_name
from gmm_bayes.em.multivariate import as_matrix_data
from gmm_bayes.exceptions import ModelMismatchError

__all__ = [
    "LKJ_ETA",
    "MU_SCALE",
    "SD_PRIOR",
    "ModelFrame",
    "build_model_mv",
    "check_model_mv",
    "em_point_mv",
    "log_prior_mv",
    "model_frame",
]

# model -> (ModelFrame, covariance type) it was built with
_FRAMES = weakref.WeakKeyDictionary()


def build_model_mv(x, n_components, *, covariance_type="full"):
    """The multivariate Gaussian mixture as a PyMC model, labels marginalized.

    Parameters
    ----------
    x : array_like, shape (N, d)
    n_components : int
        K, 1 <= K <= N.
    covariance_type : {"full", "tied", "diag", "spherical"} or an mclust alias (VVV, EEE,
        VVI, VII)

    Returns
    -------
    pymc.Model
        Free variables ``w`` (component), ``mu_axis`` (component, ordered), ``mu_rest``
        (component, d - 1; absent for d = 1) and the covariances' parameters: packed
        Cholesky factors ``chol_0`` ... ``chol_{K-1}`` (full) or ``chol`` (tied), standardized
        sds ``sd`` (component, dim) for diag or (component) for spherical; deterministics
        ``mu`` (component, dim) and ``cov`` (component, dim, dim_bis); observed ``y`` (N, d).

    Examples
    --------
    >>> model = build_model_mv(np.random.default_rng(0).normal(size=(30, 2)), 2)
    >>> sorted(rv.name for rv in model.free_RVs)
    ['chol_0', 'chol_1', 'mu_axis', 'mu_rest', 'w']
    """
    x = as_matrix_data(x)
    n, d = x.shape
    k = as_n_components(n_components, n)
    covariance_type = covariance_type_name(covariance_type)
    frame = model_frame(x)
    coords = {"component": range(k), "dim": range(d), "dim_bis": range(d)}
    with pm.Model(coords=coords) as model:
        w = pm.Dirichlet("w", np.ones(k), dims="component")
        u = _standardized_means(frame, k, d)
        mu = pm.Deterministic("mu", frame.loc + frame.scale * u, dims=("component", "dim"))
        chol = _cholesky_factors(covariance_type, frame, k, d)  # (d, d) when tied
        cov = chol @ chol.swapaxes(-1, -2)
        pm.Deterministic(
            "cov", pt.broadcast_to(cov, (k, d, d)), dims=("component", "dim", "dim_bis")
        )
        pm.Mixture("y", w=w, comp_dists=pm.MvNormal.dist(mu=mu, chol=chol), observed=x)
    _FRAMES[model] = (frame, covariance_type)
    return model


def _standardized_means(frame, k, d):
    """``u`` (K, d): ordered along ``b``, free along its complement."""
    p = ordered_means("mu_axis", 0.0, MU_SCALE, ORDER_SCALE, k, dims="component")
    u = p[:, None] * frame.axis
    if d > 1:
        c = pm.Normal("mu_rest", 0.0, MU_SCALE, shape=(k, d - 1))
        u = u + c @ frame.complement.T
    return u


def _cholesky_factors(covariance_type, frame, k, d):
    """Cholesky factors (K, d, d) of the covariances, in the data's units ((d, d) when tied)."""
    if covariance_type == "diag":
        sd = pm.InverseGamma("sd", *SD_PRIOR, dims=("component", "dim"))
        return (frame.scale * sd)[:, :, None] * np.eye(d)
    if covariance_type == "spherical":
        sd = pm.InverseGamma("sd", *SD_PRIOR, dims="component")
        return (frame.pooled_scale * sd)[:, None, None] * np.eye(d)
    return frame.scale[:, None] * _correlation_choleskys(covariance_type, k, d)


def _correlation_choleskys(covariance_type, k, d):
    """Cholesky factors (K, d, d) of the standardized covariances ``Omega_k`` (full), or the
    shared (d, d) one (tied)."""
    names = ["chol"] if covariance_type == "tied" else [f"chol_{j}" for j in range(k)]
    factors = []
    for name in names:
        sd = pm.InverseGamma.dist(*SD_PRIOR)
        packed = pm.LKJCholeskyCov(name, n=d, eta=LKJ_ETA, sd_dist=sd, compute_corr=False)
        factors.append(pm.math.expand_packed_triangular(d, packed, lower=True))
    if covariance_type == "tied":
        return factors[0]  # MvNormal broadcasts one factor over the components (2.5x faster)
    return pt.stack(factors)


def em_point_mv(model, weights, means, covariances):
    """An estimate (e.g. EM's) as values of the model's free variables.

    Parameters
    ----------
    model : pymc.Model
        From :func:`build_model_mv`.
    weights : ndarray, shape (K,)
    means : ndarray, shape (K, d)
    covariances : ndarray, shape (K, d, d)
        Components in any order (they are put in the model's order); all equal for a tied
        model.

    Returns
    -------
    dict
        ``{free variable name: constrained value}``, for
        :func:`gmm_bayes.bayes.model.to_value_space`.

    Examples
    --------
    >>> model = build_model_mv(np.random.default_rng(0).normal(size=(30, 2)), 1)
    >>> point = em_point_mv(model, np.ones(1), np.zeros((1, 2)), np.eye(2)[None])
    >>> sorted(point)
    ['chol_0', 'mu_axis', 'mu_rest', 'w']
    """
    frame, covariance_type = _FRAMES[model]
    p, c = frame.standardized_coordinates(means)
    order = np.argsort(p, kind="stable")
    point = {"w": np.asarray(weights, dtype=np.float64)[order], "mu_axis": p[order]}
    if "mu_rest" in model.named_vars:
        point["mu_rest"] = c[order]
    covariances = np.asarray(covariances, dtype=np.float64)[order]
    sds = np.sqrt(np.diagonal(covariances, axis1=1, axis2=2))
    if covariance_type == "diag":
        point["sd"] = sds / frame.scale
    elif covariance_type == "spherical":
        point["sd"] = sds[:, 0] / frame.pooled_scale
    else:
        standardized = covariances / np.outer(frame.scale, frame.scale)
        packed = np.linalg.cholesky(standardized)[:, *np.tril_indices(len(frame.scale))]
        if covariance_type == "tied":
            point["chol"] = packed[0]
        else:
            point.update({f"chol_{j}": value for j, value in enumerate(packed)})
    return point


def check_model_mv(model, weights, means, covariances, log_likelihood, *, rtol=CHECK_RTOL):
    """Check that the model's log-likelihood at an estimate is the estimate's own.

    Parameters
    ----------
    model : pymc.Model
        From :func:`build_model_mv`.
    weights, means, covariances : ndarray, shapes (K,), (K, d), (K, d, d)
        E.g. :func:`gmm_bayes.em.multivariate.run_em_mv`'s.
    log_likelihood : float
        The log-likelihood EM computed at them.
    rtol : float
        Relative tolerance (``CHECK_RTOL``, 1e-8).

    Returns
    -------
    float
        The model's log-likelihood there.

    Raises
    ------
    ModelMismatchError
        The two differ by more than ``rtol`` (other data, units, or likelihood).

    Examples
    --------
    >>> from gmm_bayes.em.multivariate import run_em_mv
    >>> x = np.random.default_rng(0).normal(size=(40, 2))
    >>> em = run_em_mv(x, [1.0], [[0.0, 0.0]], np.eye(2)[None])
    >>> ll = check_model_mv(build_model_mv(x, 1), *em[:4])
    >>> bool(np.isclose(ll, em.log_likelihood, rtol=1e-8))
    True
    """
    point = em_point_mv(model, weights, means, covariances)
    logp = model.compile_logp(vars=[model["y"]], jacobian=False, mode=ONE_OFF_MODE)
    model_ll = float(logp(to_value_space(model, point)))
    if not np.isclose(model_ll, log_likelihood, rtol=rtol, atol=0.0):
        raise ModelMismatchError(
            f"the model's log-likelihood at the estimate is {model_ll!r} but the estimate's is "
            f"{float(log_likelihood)!r} (rtol={rtol:g}): the model is not the mixture EM "
            "fitted (other data, units, or likelihood)"
        )
    return model_ll
