"""MAP-EM for (N, d) data: the posterior mode of :func:`~gmm_bayes.bayes.model_mv.build_model_mv`.

numpy/scipy only. ``gmm_bayes.fit_em(x, K, priors=MultivariatePriors(), covariance_type=...)``
runs the maximum-likelihood fit's search and restarts with :class:`MapStepMV` as every run's
M-step, and ranks the runs by the log posterior. Why a priors object passed to ``fit_em``
rather than a function of its own: it is the univariate call (``fit_em(x, K,
priors=gb.Priors())``), so the options, explicit starts, search, warnings and the
:class:`~gmm_bayes.EMResult` are the same for every d. Why a class apart from
:class:`~gmm_bayes.bayes.Priors`: the univariate priors' options (anchors, sigma families, a
hierarchical beta) have no counterpart in ``build_model_mv``, whose priors are fixed
(:mod:`gmm_bayes.bayes.priors_mv`); this object holds none.

**The step** is an ECM step (Meng & Rubin 1993): conditional maximizations of the expected
complete-data log posterior, each exact, so the log posterior never falls and its fixed points
are the stationary points of the log posterior that ``pm.find_MAP`` climbs
(``model.logp(jacobian=False)``, :func:`~gmm_bayes.bayes.priors_mv.log_prior_mv`):

1. weights: the Dirichlet(1) prior's mode is ``n_k / N``;
2. means given the covariances the E-step used: in standardized units ``u`` (prior
   ``N(0, MU_SCALE^2 I)``), ``(n_k I + Omega_k / MU_SCALE^2) u_k = n_k ubar_k``;
3. covariances given those means: diag and spherical sds in closed form (the positive root of
   ``(n + a + 1) s^2 - b s - q = 0``, ``s ~ InverseGamma(a, b)``, ``n`` the count (times d,
   spherical) and ``q`` the standardized sum of squares); full and tied by maximizing
   ``-n log|C| - tr(C^-T C^-1 W) / 2 + log p_LKJCholeskyCov(C)`` over the Cholesky factor ``C``
   (log diagonal, off-diagonal free) with BFGS and the analytic gradient, from the current
   factor, kept only if it does not lower the objective.

The means' ordering along the principal axis (the model's identifiability rule) is not a
constraint here: EM's components are put in that order afterwards, and the model's MAP is an
interior point of the ordered region when their projections differ.
"""

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from gmm_bayes.bayes.priors_mv import (
    LKJ_ETA,
    MU_SCALE,
    SD_PRIOR,
    ModelFrame,
    lkj_cholesky_log_density,
    log_prior_mv,
    model_frame,
)
from gmm_bayes.em.covariance import covariance_type_name
from gmm_bayes.em.multivariate import MultivariateStep

__all__ = ["MapStepMV", "MultivariatePriors"]

#: BFGS's gradient tolerance of the Cholesky factor's conditional maximization (the
#: gradient's scale is the count n; below about 1e-7 BFGS stops on rounding anyway)
CHOLESKY_GTOL = 1e-6


@dataclass(frozen=True)
class MultivariatePriors:
    """The priors of ``build_model_mv`` for ``gmm_bayes.fit_em(x, K, priors=...)`` on (N, d)
    data: MAP-EM, the mode ``pm.find_MAP`` finds on that model.

    Examples
    --------
    >>> import gmm_bayes as gb
    >>> x = gb.load_dataset("faithful2d")
    >>> fit = gb.fit_em(x, 2, priors=MultivariatePriors(), covariance_type="diag",
    ...                 random_state=0)
    >>> fit.method, fit.means.round(1).tolist()
    ('map-em', [[2.0, 54.5], [4.3, 80.0]])
    >>> round(MultivariatePriors().log_posterior(x, fit), 1)  # pm.find_MAP's objective there
    -1152.5
    """

    def em_step_mv(self, x, reg, covariance_type):
        """The MAP step for data ``x`` (N, d) (:class:`MapStepMV`).

        Parameters
        ----------
        x : ndarray, shape (N, d)
            All the rows (the model's frame is theirs).
        reg : ndarray, shape (d, d)
            Added to every covariance after the step (0 for the exact MAP).
        covariance_type : str
        """
        return MapStepMV(model_frame(x), covariance_type, np.asarray(reg, dtype=np.float64))

    def log_posterior(self, x, fit):
        """The unnormalized log posterior ``pm.find_MAP`` maximizes, at a fit of ``x``.

        Parameters
        ----------
        x : ndarray, shape (N, d)
        fit : EMResult
            Of ``x`` (its ``log_likelihood`` and covariances are used).

        Returns
        -------
        float
            ``fit.log_likelihood`` plus :func:`~gmm_bayes.bayes.priors_mv.log_prior_mv` (the
            class's example shows one).
        """
        frame = model_frame(x)
        prior = log_prior_mv(frame, fit.covariance_type, fit.weights, fit.means, fit.covariances)
        return fit.log_likelihood + prior


@dataclass(frozen=True)
class MapStepMV(MultivariateStep):
    """The MAP-EM step for (N, d) data (a :class:`gmm_bayes.em.multivariate.MultivariateStep`).

    Parameters
    ----------
    frame : ModelFrame
        The data's (:func:`~gmm_bayes.bayes.priors_mv.model_frame`).
    covariance_type : {"full", "tied", "diag", "spherical"} or an mclust alias
    reg : ndarray, shape (d, d)
        Added to every covariance after the step.

    Examples
    --------
    One component, diagonal, standardized units: the weight 1, the mean shrunk towards 0 by
    ``n / (n + var / MU_SCALE^2) = 10 / 10.25`` (``var`` the E-step's):

    >>> frame = ModelFrame(np.zeros(2), np.ones(2), np.array([1.0, 0.0]), np.array([[0], [1.0]]))
    >>> step = MapStepMV(frame, "diag", np.zeros((2, 2)))
    >>> w, mu, cov = step.m_step(np.array([10.0]), np.array([[1.0, 0.0]]),
    ...                          10 * np.eye(2)[None], np.eye(2)[None])
    >>> w.tolist(), (mu * 10.25).round(12).tolist()
    ([1.0], [[10.0, 0.0]])
    """

    frame: ModelFrame
    covariance_type: str
    reg: np.ndarray

    def __post_init__(self):
        object.__setattr__(self, "covariance_type", covariance_type_name(self.covariance_type))

    def m_step(self, nk, means, scatter, covariances):
        """``(weights, means, covariances)``: the ECM cycle of the module's docstring.

        Parameters
        ----------
        nk : ndarray, shape (K,)
        means : ndarray, shape (K, d)
            Weighted means of the rows.
        scatter : ndarray, shape (K, d, d)
            Weighted scatter matrices about ``means``.
        covariances : ndarray, shape (K, d, d)
            The E-step's.

        Returns
        -------
        weights (K,), means (K, d), covariances (K, d, d)
        """
        scale = self.frame.scale
        outer = np.outer(scale, scale)
        ubar = (means - self.frame.loc) / scale
        u = _shrunk_means(nk, ubar, covariances / outer)
        gap = ubar - u
        standardized = scatter / outer + nk[:, None, None] * gap[:, :, None] * gap[:, None, :]
        new = self._covariances(nk, standardized, covariances / outer)
        return nk / nk.sum(), self.frame.loc + scale * u, new + self.reg

    def log_prior(self, weights, means, covariances):
        """:func:`~gmm_bayes.bayes.priors_mv.log_prior_mv` in this step's frame."""
        return log_prior_mv(self.frame, self.covariance_type, weights, means, covariances)

    def _covariances(self, nk, scatter, current):
        """The covariances (K, d, d), data units, maximizing the expected log posterior given
        the means; ``scatter`` and ``current`` (K, d, d) standardized, about those means."""
        k, d, _ = scatter.shape
        scale = self.frame.scale
        if self.covariance_type == "diag":
            sds = scale * _inverse_gamma_sd(nk[:, None], np.diagonal(scatter, axis1=1, axis2=2))
            return sds[:, :, None] ** 2 * np.eye(d)
        if self.covariance_type == "spherical":
            pooled = self.frame.pooled_scale
            q = np.einsum("kii,i->k", scatter, scale**2) / pooled**2
            sds = pooled * _inverse_gamma_sd(d * nk, q)
            return sds[:, None, None] ** 2 * np.eye(d)
        if self.covariance_type == "tied":
            factors = _best_cholesky(nk.sum(), scatter.sum(axis=0), current[0])[None]
        else:
            factors = np.stack(
                [_best_cholesky(*args) for args in zip(nk, scatter, current, strict=True)]
            )
        factors = scale[:, None] * factors
        return np.broadcast_to(factors @ factors.swapaxes(1, 2), (k, d, d)).copy()


def _shrunk_means(nk, ubar, omega):
    """Standardized means (K, d) maximizing the expected log posterior given the standardized
    covariances ``omega`` (K, d, d): ``(n_k I + omega_k / MU_SCALE^2) u_k = n_k ubar_k``."""
    d = ubar.shape[1]
    system = nk[:, None, None] * np.eye(d) + omega / MU_SCALE**2
    return np.linalg.solve(system, (nk[:, None] * ubar)[:, :, None])[:, :, 0]


def _inverse_gamma_sd(n, q):
    """``argmax_s -n log s - q / (2 s^2) + log InverseGamma(s | a, b)``: the positive root of
    ``(n + a + 1) s^2 - b s - q = 0``."""
    a, b = SD_PRIOR
    c = n + a + 1
    return (b + np.sqrt(b * b + 4 * c * q)) / (2 * c)


def _best_cholesky(n, scatter, current):
    """The Cholesky factor (d, d) maximizing :func:`_cholesky_objective`, from ``current``'s
    (a standardized covariance (d, d)); ``current``'s factor when BFGS does not improve it."""
    d = scatter.shape[0]
    start = _pack(np.linalg.cholesky(current))
    found = optimize.minimize(
        _negative_objective,
        start,
        args=(n, scatter, d),
        jac=True,
        method="BFGS",
        options={"gtol": CHOLESKY_GTOL, "maxiter": 1000},
    )
    best = found.x if found.fun <= _negative_objective(start, n, scatter, d)[0] else start
    return _unpack(best, d)


def _negative_objective(theta, n, scatter, d):
    """Minus ``-n log|C| - tr(C^-T C^-1 W) / 2 + log p_LKJCholeskyCov(C)`` and its gradient in
    ``theta`` (the log diagonal and the strict lower triangle of ``C``)."""
    factor = _unpack(theta, d)
    diagonal = np.diagonal(factor)
    inverse = np.linalg.inv(factor)  # lower triangular; scipy's solve_triangular costs 10x
    whitened = inverse @ scatter @ inverse.T
    value = -n * np.sum(np.log(diagonal)) - 0.5 * np.trace(whitened)
    value += lkj_cholesky_log_density(factor)
    gradient = inverse.T @ whitened - np.diag(n / diagonal) + _lkj_gradient(factor)
    gradient = np.tril(gradient)
    gradient[np.diag_indices(d)] *= diagonal  # d/d log C_ii = C_ii d/dC_ii
    return -value, -_pack_gradient(gradient)


def _lkj_gradient(factor):
    """The gradient (d, d) of :func:`~gmm_bayes.bayes.priors_mv.lkj_cholesky_log_density`
    in ``C``: ``a_i delta_ij / C_ii + (-(a_i + i) - (alpha + 1) + beta / s_i) C_ij / s_i^2``."""
    d = factor.shape[0]
    alpha, beta = SD_PRIOR
    index = np.arange(d)
    exponents = 2 * LKJ_ETA - 2 + d - index
    sds = np.linalg.norm(factor, axis=1)
    row_terms = (-(exponents + index) - (alpha + 1) + beta / sds) / sds**2
    return row_terms[:, None] * factor + np.diag(exponents / np.diagonal(factor))


def _pack(factor):
    """``theta``: ``log C_ii`` then the strict lower triangle, row by row."""
    lower = np.tril_indices(factor.shape[0], -1)
    return np.concatenate([np.log(np.diagonal(factor)), factor[lower]])


def _pack_gradient(gradient):
    """A gradient (d, d) in ``theta``'s layout (its diagonal already in log units)."""
    lower = np.tril_indices(gradient.shape[0], -1)
    return np.concatenate([np.diagonal(gradient), gradient[lower]])


def _unpack(theta, d):
    """The Cholesky factor (d, d) of ``theta`` (:func:`_pack`)."""
    factor = np.diag(np.exp(theta[:d]))
    factor[np.tril_indices(d, -1)] = theta[d:]
    return factor
