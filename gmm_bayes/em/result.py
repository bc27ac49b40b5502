"""The fitted mixture returned by :func:`gmm_bayes.fit_em` and :func:`gmm_bayes.fit_sklearn`."""

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from gmm_bayes import mixture
from gmm_bayes._validation import as_data
from gmm_bayes.em.covariance import n_parameters

__all__ = [
    "MIN_COMPONENT_COUNT",
    "MIN_INIT_WEIGHT",
    "MIN_SD_RATIO",
    "EMResult",
    "collapsed_components",
    "collapsed_components_mv",
]

#: smallest weight handed to the PyMC model as a start (the Dirichlet's log density needs w > 0)
MIN_INIT_WEIGHT = 1e-3
#: a component with fewer effective observations than this is "collapsed"
MIN_COMPONENT_COUNT = 2.0
#: a component narrower than this fraction of the widest one is "collapsed" (Hathaway 1985)
MIN_SD_RATIO = 1e-3


def collapsed_components(weights, variances, n_obs, reg_covar):
    """Components that collapsed: fewer than ``MIN_COMPONENT_COUNT`` effective observations, a
    variance at most twice ``reg_covar`` (the regularization floor), or a standard deviation
    below ``MIN_SD_RATIO`` times the largest.

    The likelihood grows without bound as a component shrinks onto one value (or onto a few
    close ones while another component widens to cover the rest), so these fits win on
    likelihood alone; the last rule is Hathaway's (1985) bound on the ratio of the variances.
    A narrow component on a tight group of a few observations that passes all three (a
    "near-spike") is a genuine, bounded maximum of the likelihood and counts as healthy.

    Parameters
    ----------
    weights, variances : ndarray, shape (K,)
    n_obs : int
    reg_covar : float
        In the units of ``variances``.

    Returns
    -------
    ndarray of bool, shape (K,)

    Examples
    --------
    >>> collapsed_components(np.array([0.999, 0.001]), np.array([1.0, 1.0]), 1000, 1e-6).tolist()
    [False, True]
    >>> collapsed_components(np.array([0.5, 0.5]), np.array([1.0, 1e-7]), 1000, 0.0).tolist()
    [False, True]
    """
    variances = np.asarray(variances)
    narrow = variances < MIN_SD_RATIO**2 * np.max(variances)
    return (weights * n_obs < MIN_COMPONENT_COUNT) | (variances <= 2 * reg_covar) | narrow


def collapsed_components_mv(weights, covariances, n_obs, reg_covar):
    """:func:`collapsed_components` for (K, d, d) covariances, in affine-equivariant terms.

    Component k collapsed when it has fewer than ``MIN_COMPONENT_COUNT`` effective
    observations, when ``cov_k`` is at most twice ``reg_covar`` in some direction (the smallest
    eigenvalue of ``reg^-1 cov_k`` is <= 2: all that is left there is regularization), or when
    its sd in some direction is below ``MIN_SD_RATIO`` times the widest component's in that
    direction (the smallest eigenvalue of ``cov_w^-1 cov_k`` below ``MIN_SD_RATIO**2``, ``w``
    the component of largest determinant). Generalized eigenvalues do not change under
    ``x -> x A + b``, so neither does this verdict.

    Parameters
    ----------
    weights : ndarray, shape (K,)
    covariances : ndarray, shape (K, d, d)
    n_obs : int
    reg_covar : float or ndarray, shape (d, d)
        A float is ``reg_covar * I``.

    Returns
    -------
    ndarray of bool, shape (K,)

    Examples
    --------
    >>> covariances = np.stack([np.eye(2), np.diag([1.0, 1e-8])])
    >>> collapsed_components_mv(np.array([0.5, 0.5]), covariances, 1000, 0.0).tolist()
    [False, True]
    """
    from scipy.linalg import eigvalsh

    covariances = np.asarray(covariances, dtype=np.float64)
    d = covariances.shape[-1]
    reg = np.asarray(reg_covar, dtype=np.float64)
    reg = reg * np.eye(d) if reg.ndim == 0 else reg
    widest = covariances[np.argmax(np.linalg.slogdet(covariances)[1])]
    floor = np.zeros(len(covariances), dtype=bool)
    if np.linalg.eigvalsh(reg).min() > 0:
        floor = np.array([eigvalsh(c, reg)[0] <= 2.0 for c in covariances])
    narrow = np.array([eigvalsh(c, widest)[0] < MIN_SD_RATIO**2 for c in covariances])
    return (np.asarray(weights) * n_obs < MIN_COMPONENT_COUNT) | floor | narrow


@dataclass(frozen=True, eq=False)
class EMResult:
    """A Gaussian mixture estimate: univariate (d = 1) or of (N, d) data (d >= 2).

    Univariate: components sorted by mean (ascending); ``means`` and ``variances`` have shape
    (K,). d >= 2: components ordered by their means' projection on the data's first principal
    axis (:func:`gmm_bayes.em.multivariate.order_components`), ``means`` (K, d),
    ``covariances`` (K, d, d), ``variances`` their diagonals (K, d).

    Attributes
    ----------
    weights : ndarray, shape (K,)
        Mixture weights (sum to 1).
    means, variances : ndarray, shape (K,) (d = 1) or (K, d)
        Component means and variances (``reg_covar`` included).
    log_likelihood : float
        Total observed-data log-likelihood ``sum_n log sum_k w_k N(x_n | mu_k, var_k)`` at the
        returned parameters.
    n_iter : int
        EM iterations (M-steps) of the returned run.
    converged : bool
        Whether the returned run met ``tol`` before ``max_iter``.
    history : ndarray, shape (n_iter + 1,)
        Total log-likelihood at the start and after every iteration; the last entry equals
        ``log_likelihood``.
    n_obs : int
        N, the number of observations fitted.
    reg_covar : float or ndarray, shape (d, d)
        The regularization added to each covariance, in the data's squared units (a matrix
        for d >= 2: :func:`gmm_bayes.em.covariance.default_regularization`'s by default).
    collapsed : ndarray of bool, shape (K,)
        Components that collapsed (:func:`collapsed_components`: fewer than 2 effective
        observations, variance at most twice ``reg_covar``, or sd below 1/1000 of the widest;
        for d >= 2 :func:`collapsed_components_mv`); all False for a healthy fit.
    method : str
        "em" (this package's maximum likelihood), "map-em" (``fit_em(..., priors=...)``: the
        posterior mode of :func:`gmm_bayes.build_model`) or "sklearn"
        (:func:`gmm_bayes.fit_sklearn`).
    classification_entropy : float
        ``-sum_n sum_k z_nk log z_nk`` over the fitted data, ``z_nk`` the responsibilities at
        the returned parameters (:func:`gmm_bayes.em.entropy.classification_entropy`), stored
        at fit time for :meth:`icl`; NaN when the fit did not compute it (scikit-learn's).
        For a data source too large for memory it is the in-memory sample's, times N / M.
    local_maxima : tuple of EMResult
        The distinct maxima the search ended in (:mod:`gmm_bayes.em.search`), best first:
        fewest collapsed components, then highest objective (``local_maxima[0]`` has this
        result's parameters). Used to spread posterior chains over competing modes.
    covariance_type : {"full", "tied", "diag", "spherical"}
        d = 1: "tied" is one variance shared by all components (mclust's E); the others
        (mclust's V) one per component (see :func:`gmm_bayes.fit_em`). d >= 2: the structure
        of :mod:`gmm_bayes.em.covariance` (VVV, EEE, VVI, VII).
    resolution : float or None
        The recording resolution ``h`` the likelihood took into account: ``log_likelihood``
        is then the sum of the log probabilities of the intervals ``[x - h/2, x + h/2]``
        (:func:`gmm_bayes.em.resolution.interval_log_probability`), not of densities. None:
        the density likelihood.
    heaps : tuple of float
        Values found far more frequent than their grid neighbours (with ``resolution``).
    covariances : ndarray, shape (K, d, d)
        The component covariances (d = 1: ``variances`` as (K, 1, 1), filled in when not
        given).

    Examples
    --------
    >>> import gmm_bayes as gb
    >>> fit = gb.fit_em([-1.1, -1.0, -0.9, 4.9, 5.0, 5.1], 2, init="quantile")
    >>> fit.weights.tolist(), fit.means.round(6).tolist(), fit.n_parameters, fit.degenerate
    ([0.5, 0.5], [-1.0, 5.0], 5, False)
    """

    weights: np.ndarray
    means: np.ndarray
    variances: np.ndarray
    log_likelihood: float
    n_iter: int
    converged: bool
    history: np.ndarray
    n_obs: int
    reg_covar: float
    collapsed: np.ndarray
    method: str = "em"
    classification_entropy: float = float("nan")
    local_maxima: tuple = field(default=(), repr=False)
    covariance_type: str = "full"
    resolution: float | None = None
    heaps: tuple = ()
    covariances: np.ndarray | None = None

    def __post_init__(self):
        if self.covariances is None:
            object.__setattr__(
                self, "covariances", mixture.univariate(None, None, self.variances)[2]
            )
        for name in ("weights", "means", "variances", "history", "collapsed", "covariances"):
            value = np.asarray(getattr(self, name))
            value.setflags(write=False)
            object.__setattr__(self, name, value)

    def with_local_maxima(self, optima):
        """Return a copy whose ``local_maxima`` is ``optima`` (the first is this result)."""
        return dataclasses.replace(self, local_maxima=tuple(optima))

    # -- derived quantities ------------------------------------------------------------------

    @property
    def n_components(self):
        """K, the number of components."""
        return self.weights.size

    @property
    def n_dims(self):
        """d, the number of columns fitted (1 for univariate data)."""
        return 1 if self.means.ndim == 1 else self.means.shape[1]

    @property
    def sigmas(self):
        """Component standard deviations, shape (K,) (d = 1) or (K, d) (per column)."""
        return np.sqrt(self.variances)

    @property
    def n_parameters(self):
        """Free parameters: ``(K - 1)`` weights, ``K d`` means and the covariances' ``K d (d +
        1) / 2`` (full), ``d (d + 1) / 2`` (tied), ``K d`` (diag) or ``K`` (spherical)
        (:func:`gmm_bayes.em.covariance.n_parameters`). For d = 1: ``3K - 1``, or ``2K`` tied."""
        return n_parameters(self.n_components, self.n_dims, self.covariance_type)

    @property
    def degenerate(self):
        """True when some component collapsed (see ``collapsed``)."""
        return bool(self.collapsed.any())

    def bic(self):
        """Bayesian information criterion, ``-2 log L + p log N``. Lower is better."""
        return -2.0 * self.log_likelihood + self.n_parameters * np.log(self.n_obs)

    def aic(self):
        """Akaike information criterion, ``-2 log L + 2 p``. Lower is better."""
        return -2.0 * self.log_likelihood + 2.0 * self.n_parameters

    def icl(self):
        """Integrated completed likelihood, ``BIC - 2 sum_n sum_k z_nk log z_nk``. Lower is
        better.

        BIC plus twice the classification entropy (``classification_entropy``, >= 0): the
        ICL-BIC of McLachlan & Peel (2000, section 6.10.3), the BIC of the completed data of
        Biernacki, Celeux & Govaert (2000) with the responsibilities ``z_nk`` in place of the
        unknown labels. It penalizes components that overlap, so it prefers well-separated
        clusters where BIC prefers the best density. The sign convention is this package's
        (lower is better); mclust's ``icl`` is the negative, and uses the MAP labels (0 or 1)
        as the first factor, which gives a slightly larger entropy term.

        Returns
        -------
        float
            NaN when the fit has no classification entropy (``fit_sklearn``'s).

        Examples
        --------
        >>> import gmm_bayes as gb
        >>> fit = gb.fit_em([-1.1, -1.0, -0.9, 4.9, 5.0, 5.1], 2, init="quantile")
        >>> bool(np.isclose(fit.icl(), fit.bic()))  # no observation is in doubt: entropy 0
        True
        """
        return self.bic() + 2.0 * self.classification_entropy

    def standard_errors(self, x, method="bootstrap", *, n_boot=200, level=0.95, random_state=None):
        """Standard errors and confidence intervals of this estimate (see
        :func:`gmm_bayes.em.standard_errors.standard_errors`); univariate fits only."""
        from gmm_bayes.em.standard_errors import standard_errors

        if self.n_dims > 1:
            raise NotImplementedError(
                f"standard_errors is univariate only (this fit has d={self.n_dims}); use the "
                "posterior's spread (gmm_bayes.sample_posterior) for d >= 2"
            )
        return standard_errors(
            self, x, method=method, n_boot=n_boot, level=level, random_state=random_state
        )

    # -- densities ---------------------------------------------------------------------------

    def _arrays(self, x):
        """``(x, means, covariances)`` in the shapes of :mod:`gmm_bayes.mixture`."""
        if self.n_dims == 1:
            return mixture.univariate(as_data(x), self.means, self.variances)
        from gmm_bayes.em.multivariate import as_matrix_data

        x = as_matrix_data(x)
        if x.shape[1] != self.n_dims:
            raise ValueError(
                f"x has {x.shape[1]} columns, this fit has {self.n_dims}; pass the columns fitted"
            )
        return x, self.means, self.covariances

    def logpdf(self, x):
        """Mixture log density at each point.

        Parameters
        ----------
        x : array_like, shape (N,) or (N, 1); (N, d) for a fit of d >= 2 columns

        Returns
        -------
        ndarray, shape (N,)

        Examples
        --------
        >>> import gmm_bayes as gb
        >>> fit = gb.fit_em([-1.1, -1.0, -0.9, 4.9, 5.0, 5.1], 2, init="quantile")
        >>> var = fit.variances[0]  # 0.02 / 3 + reg_covar
        >>> bool(np.allclose(fit.logpdf([-1.0, 5.0]), np.log(0.5 / np.sqrt(2 * np.pi * var))))
        True
        """
        xs, mus, covs = self._arrays(x)
        return mixture.log_density(xs, self.weights, mus, covs)

    def responsibilities(self, x):
        """Posterior component probabilities of each point.

        Parameters
        ----------
        x : array_like, shape (N,) or (N, 1); (N, d) for a fit of d >= 2 columns

        Returns
        -------
        ndarray, shape (N, K)
            Rows sum to 1, even far from every component.

        Examples
        --------
        >>> import gmm_bayes as gb
        >>> fit = gb.fit_em([-1.1, -1.0, -0.9, 4.9, 5.0, 5.1], 2, init="quantile")
        >>> fit.responsibilities([-1e3, 2.0, 1e3]).round(6).tolist()
        [[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]
        """
        xs, mus, covs = self._arrays(x)
        return mixture.responsibilities(xs, self.weights, mus, covs)

    # -- hand-offs ---------------------------------------------------------------------------

    def to_initvals(self, min_weight=MIN_INIT_WEIGHT):
        """Starting values for :func:`gmm_bayes.build_model`'s free variables.

        Weights are floored at ``min_weight`` and renormalized (the Dirichlet log density is
        ``-inf`` at 0); means are strictly increasing (the ordered transform needs distinct
        values, so ties are separated by a hair of the smallest sigma).

        For d >= 2 the model's free variables are in the data's standardized frame
        (:func:`gmm_bayes.bayes.model_mv.em_point_mv` maps an estimate to them), which this
        layer does not know: the values are then the model's deterministics, ``{"w": (K,),
        "mu": (K, d), "cov": (K, d, d)}``, for ``em_point_mv(model, w, mu, cov)``.

        Returns
        -------
        dict
            ``{"w": (K,), "mu": (K,), "sigma": (K,)}`` (d = 1), float64 arrays.

        Examples
        --------
        >>> import gmm_bayes as gb
        >>> fit = gb.fit_em([-1.1, -1.0, -0.9, 4.9, 5.0, 5.1], 2, init="quantile")
        >>> {name: value.round(6).tolist() for name, value in fit.to_initvals().items()}
        {'w': [0.5, 0.5], 'mu': [-1.0, 5.0], 'sigma': [0.081769, 0.081769]}
        """
        w = np.maximum(self.weights, min_weight)
        if self.n_dims > 1:
            return {"w": w / w.sum(), "mu": np.array(self.means), "cov": np.array(self.covariances)}
        mu = np.array(self.means, dtype=np.float64)
        gap = 1e-6 * float(np.min(self.sigmas))
        for i in range(1, mu.size):
            mu[i] = max(mu[i], mu[i - 1] + gap)
        return {"w": w / w.sum(), "mu": mu, "sigma": np.array(self.sigmas)}

    def to_dataset(self):
        """The estimate as an ``xarray.Dataset`` on dim ``component``.

        Data variables ``w``, ``mu``, ``sigma``, ``variance``, ``collapsed``; for d >= 2 ``mu``,
        ``sigma`` and ``variance`` on (component, dim), and ``cov`` on (component, dim,
        dim_bis), ``reg_covar`` a data variable on (dim, dim_bis); attributes hold the
        log-likelihood, BIC, AIC, ICL, iterations, convergence, method, ``covariance_type``,
        ``resolution`` (0.0 for the density likelihood) and ``heaps`` (the heaped values,
        comma-separated; "" for none).

        Examples
        --------
        >>> import gmm_bayes as gb
        >>> fit = gb.fit_em([1.0, 1.0, 2.0, 5.0, 6.0, 6.0], 2, init="quantile", resolution=1.0,
        ...                 covariance_type="E")
        >>> attrs = fit.to_dataset().attrs
        >>> attrs["covariance_type"], attrs["resolution"], attrs["heaps"]
        ('tied', 1.0, '')
        """
        import xarray as xr  # imported here: `import gmm_bayes` must not import xarray

        component = np.arange(self.n_components)
        per_dim = ("component",) if self.n_dims == 1 else ("component", "dim")
        variables = {
            "w": ("component", np.array(self.weights)),
            "mu": (per_dim, np.array(self.means)),
            "sigma": (per_dim, np.array(self.sigmas)),
            "variance": (per_dim, np.array(self.variances)),
            "collapsed": ("component", np.array(self.collapsed)),
        }
        coords = {"component": component}
        reg_covar = self.reg_covar
        if self.n_dims > 1:
            dims = ("component", "dim", "dim_bis")
            variables["cov"] = (dims, np.array(self.covariances))
            reg_matrix = np.asarray(reg_covar, dtype=np.float64)
            if reg_matrix.ndim == 0:
                reg_matrix = reg_matrix * np.eye(self.n_dims)
            variables["reg_covar"] = (dims[1:], reg_matrix)
            coords.update(dim=np.arange(self.n_dims), dim_bis=np.arange(self.n_dims))
            reg_covar = np.nan  # the matrix is a data variable
        return xr.Dataset(
            variables,
            coords=coords,
            attrs={
                "method": self.method,
                "log_likelihood": float(self.log_likelihood),
                "bic": float(self.bic()),
                "aic": float(self.aic()),
                "icl": float(self.icl()),
                "n_iter": int(self.n_iter),
                "converged": int(self.converged),
                "n_obs": int(self.n_obs),
                "reg_covar": float(reg_covar),
                "covariance_type": self.covariance_type,
                "resolution": float(self.resolution or 0.0),
                "heaps": ", ".join(f"{value!r}" for value in self.heaps),
            },
        )
