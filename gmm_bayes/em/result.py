"""The fitted mixture returned by :func:`gmm_bayes.fit_em` and :func:`gmm_bayes.fit_sklearn`."""

import dataclasses
from dataclasses import dataclass, field

import numpy as np
from scipy.special import logsumexp

from gmm_bayes._validation import as_data

#: smallest weight handed to the PyMC model as a start (the Dirichlet's log density needs w > 0)
MIN_INIT_WEIGHT = 1e-3


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
        Components that collapsed (fewer than 2 effective observations, or variance at most twice
        ``reg_covar``); all False for a healthy fit.
    method : str
        "em" (this package's maximum likelihood), "map-em" (``fit_em(..., priors=...)``: the
        posterior mode of :func:`gmm_bayes.build_model`) or "sklearn"
        (:func:`gmm_bayes.fit_sklearn`).
    local_maxima : tuple of EMResult
        The distinct solutions the restarts ended in, best first (``local_maxima[0]`` has this
        result's parameters). Used to spread posterior chains over competing modes.
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
    local_maxima: tuple = field(default=(), repr=False)

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
        """Free parameters: K - 1 weights, K means, K variances."""
        return 3 * self.n_components - 1

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

    # -- densities ---------------------------------------------------------------------------

    def _log_joint(self, x):
        x = as_data(x)
        diff = x[:, None] - self.means
        with np.errstate(divide="ignore"):
            return np.log(self.weights) - 0.5 * (
                np.log(2 * np.pi * self.variances) + diff * diff / self.variances
            )

    def logpdf(self, x):
        """Mixture log density at each point.

        Parameters
        ----------
        x : array_like, shape (N,) or (N, 1)

        Returns
        -------
        ndarray, shape (N,)
        """
        return logsumexp(self._log_joint(x), axis=1)

    def responsibilities(self, x):
        """Posterior component probabilities of each point.

        Parameters
        ----------
        x : array_like, shape (N,) or (N, 1)

        Returns
        -------
        ndarray, shape (N, K)
            Rows sum to 1.
        """
        log_joint = self._log_joint(x)
        return np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))

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
        log-likelihood, BIC, AIC, iterations, convergence and method.
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
                "n_iter": int(self.n_iter),
                "converged": int(self.converged),
                "n_obs": int(self.n_obs),
                "reg_covar": float(self.reg_covar),
            },
        )
