"""The fitted mixture returned by :func:`gmm_bayes.fit_em` and :func:`gmm_bayes.fit_sklearn`."""

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from gmm_bayes import mixture
from gmm_bayes._validation import as_data

__all__ = [
    "MIN_COMPONENT_COUNT",
    "MIN_INIT_WEIGHT",
    "MIN_SD_RATIO",
    "EMResult",
    "collapsed_components",
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


@dataclass(frozen=True, eq=False)
class EMResult:
    """A univariate Gaussian mixture estimate, components sorted by mean (ascending).

    Attributes
    ----------
    weights, means, variances : ndarray, shape (K,)
        Mixture weights (sum to 1), component means and variances (``reg_covar`` included).
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
    reg_covar : float
        The regularization added to each variance, in the data's squared units.
    collapsed : ndarray of bool, shape (K,)
        Components that collapsed (:func:`collapsed_components`: fewer than 2 effective
        observations, variance at most twice ``reg_covar``, or sd below 1/1000 of the widest);
        all False for a healthy fit.
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
        "tied": one variance shared by all components (mclust's E); the others (mclust's V)
        one per component (see :func:`gmm_bayes.fit_em`).
    resolution : float or None
        The recording resolution ``h`` the likelihood took into account: ``log_likelihood``
        is then the sum of the log probabilities of the intervals ``[x - h/2, x + h/2]``
        (:func:`gmm_bayes.em.resolution.interval_log_probability`), not of densities. None:
        the density likelihood.
    heaps : tuple of float
        Values found far more frequent than their grid neighbours (with ``resolution``).

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

    def __post_init__(self):
        for name in ("weights", "means", "variances", "history", "collapsed"):
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
    def sigmas(self):
        """Component standard deviations, shape (K,)."""
        return np.sqrt(self.variances)

    @property
    def n_parameters(self):
        """Free parameters: K - 1 weights, K means, and K variances (``3K - 1``), or one
        shared variance when ``covariance_type`` is "tied" (``2K``)."""
        variances = 1 if self.covariance_type == "tied" else self.n_components
        return 2 * self.n_components - 1 + variances

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
        :func:`gmm_bayes.em.standard_errors.standard_errors`)."""
        from gmm_bayes.em.standard_errors import standard_errors

        return standard_errors(
            self, x, method=method, n_boot=n_boot, level=level, random_state=random_state
        )

    # -- densities ---------------------------------------------------------------------------

    def _univariate(self, x):
        """``(x, means, covariances)`` in the shapes of :mod:`gmm_bayes.mixture`."""
        return mixture.univariate(as_data(x), self.means, self.variances)

    def logpdf(self, x):
        """Mixture log density at each point.

        Parameters
        ----------
        x : array_like, shape (N,) or (N, 1)

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
        xs, mus, covs = self._univariate(x)
        return mixture.log_density(xs, self.weights, mus, covs)

    def responsibilities(self, x):
        """Posterior component probabilities of each point.

        Parameters
        ----------
        x : array_like, shape (N,) or (N, 1)

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
        xs, mus, covs = self._univariate(x)
        return mixture.responsibilities(xs, self.weights, mus, covs)

    # -- hand-offs ---------------------------------------------------------------------------

    def to_initvals(self, min_weight=MIN_INIT_WEIGHT):
        """Starting values for :func:`gmm_bayes.build_model`'s free variables.

        Weights are floored at ``min_weight`` and renormalized (the Dirichlet log density is
        ``-inf`` at 0); means are strictly increasing (the ordered transform needs distinct
        values, so ties are separated by a hair of the smallest sigma).

        Returns
        -------
        dict
            ``{"w": (K,), "mu": (K,), "sigma": (K,)}``, float64 arrays.

        Examples
        --------
        >>> import gmm_bayes as gb
        >>> fit = gb.fit_em([-1.1, -1.0, -0.9, 4.9, 5.0, 5.1], 2, init="quantile")
        >>> {name: value.round(6).tolist() for name, value in fit.to_initvals().items()}
        {'w': [0.5, 0.5], 'mu': [-1.0, 5.0], 'sigma': [0.081769, 0.081769]}
        """
        w = np.maximum(self.weights, min_weight)
        mu = np.array(self.means, dtype=np.float64)
        gap = 1e-6 * float(np.min(self.sigmas))
        for i in range(1, mu.size):
            mu[i] = max(mu[i], mu[i - 1] + gap)
        return {"w": w / w.sum(), "mu": mu, "sigma": np.array(self.sigmas)}

    def to_dataset(self):
        """The estimate as an ``xarray.Dataset`` on dim ``component``.

        Data variables ``w``, ``mu``, ``sigma``, ``variance``, ``collapsed``; attributes hold the
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
        return xr.Dataset(
            {
                "w": ("component", np.array(self.weights)),
                "mu": ("component", np.array(self.means)),
                "sigma": ("component", np.array(self.sigmas)),
                "variance": ("component", np.array(self.variances)),
                "collapsed": ("component", np.array(self.collapsed)),
            },
            coords={"component": component},
            attrs={
                "method": self.method,
                "log_likelihood": float(self.log_likelihood),
                "bic": float(self.bic()),
                "aic": float(self.aic()),
                "icl": float(self.icl()),
                "n_iter": int(self.n_iter),
                "converged": int(self.converged),
                "n_obs": int(self.n_obs),
                "reg_covar": float(self.reg_covar),
                "covariance_type": self.covariance_type,
                "resolution": float(self.resolution or 0.0),
                "heaps": ", ".join(f"{value!r}" for value in self.heaps),
            },
        )
