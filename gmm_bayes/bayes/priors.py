"""Priors of the Bayesian mixture model (numpy and scipy only).

``fit_em(x, K, priors=Priors())`` stays cheap and never imports PyMC; :func:`gmm_bayes.build_model`
reads the same :class:`Priors` object, so EM and PyMC agree on one model by construction (the
tests check it against ``pm.find_MAP``).

The model, in the data's own units (``L`` and ``S`` are a location and a spread of the data,
by default its mean and standard deviation)::

    w            ~ Dirichlet(w_concentration)                    weights, (K,)
    mu_k         ~ Normal(L, mu_scale * S),  mu_1 < ... < mu_K    means, ordered
    sigma_k      ~ one of :mod:`~gmm_bayes.bayes.sigma_priors`     standard deviations
    y_n | w,mu,sigma ~ sum_k w_k Normal(mu_k, sigma_k)            the data

Because every number is relative to ``L`` and ``S``, a change of units ``a * x + b`` maps the
priors, the posterior and the MAP estimate by the same map. :meth:`Priors.resolve` gives the
numbers in the data's units (:class:`ResolvedPriors`, with the log prior density);
:meth:`Priors.em_step` gives MAP-EM's step (:class:`~gmm_bayes.bayes.map_step.MapStep`).
"""

import numbers
from dataclasses import dataclass, field

import numpy as np
from scipy.special import gammaln, xlogy

from gmm_bayes._validation import as_data, as_positive_float, short_repr
from gmm_bayes.bayes.map_step import MapStep
from gmm_bayes.bayes.sigma_priors import SIGMA_PRIORS, HierarchicalInverseGamma, InverseGamma
from gmm_bayes.exceptions import DataError

__all__ = ["Priors", "ResolvedPriors"]

LOCATIONS = ("mean", "midrange")
SCALES = ("sd", "range")
_LOG_2PI = float(np.log(2 * np.pi))


@dataclass(frozen=True)
class Priors:
    """Priors of :func:`gmm_bayes.build_model` (and of MAP-EM, ``fit_em(..., priors=...)``).

    Every number is relative to a location ``L`` and a spread ``S`` of the data (``loc`` and
    ``scale``), so the priors follow the data through any change of units.

    Parameters
    ----------
    w_concentration : float or array_like, shape (K,), default 1.0
        Dirichlet concentration of the weights (one number for all components, or one per
        component). 1 is uniform on the simplex. MAP-EM needs every entry >= 1 (below 1 the
        density is unbounded at ``w_k = 0`` and no MAP exists).
    mu_scale : float, default 2.0
        Standard deviation of the Normal prior of each mean, in units of ``S``.
    sigma : InverseGamma, HierarchicalInverseGamma, HalfNormal or LogNormal
        Prior of each component's standard deviation; default ``InverseGamma(2.0, 0.1)``.
    loc : {"mean", "midrange"} or float, default "mean"
        ``L``: the centre of the prior of the means. A number is taken in the data's units.
    scale : {"sd", "range"} or float, default "sd"
        ``S``: the data spread the priors are relative to. A number is taken in the data's
        units (``loc=0, scale=1`` makes every prior absolute).

    Notes
    -----
    ``Normal(L, 2 S)`` covers the data's range with room to spare. The inverse-gamma prior of
    ``sigma**2`` is informative, not weak: its mode is at ``sigma = 0.2 S`` and 95% of its
    mass lies in ``(0.13 S, 0.64 S)``; its density vanishes faster than any power at 0, so no
    component collapses onto a point or onto tied values. The price: a component of fewer
    than about ten observations, or a wide one, has its ``sigma`` pulled into that range
    (:func:`gmm_bayes.diagnose` says so when EM's sigma lies outside it). Use
    :meth:`small_clusters` or :meth:`richardson_green` to let them be, at some cost in mixing. (How
    the defaults were chosen: ``bench/bench_posterior.py``.)

    Examples
    --------
    >>> spec = Priors().resolve([0.0, 2.0, 4.0, 6.0], n_components=2)  # mean 3, sd sqrt(5)
    >>> spec.mu_loc, round(spec.mu_sd**2, 12), spec.alpha.tolist()
    (3.0, 20.0, [1.0, 1.0])
    """

    w_concentration: float | tuple = 1.0
    mu_scale: float = 2.0
    sigma: object = field(default_factory=InverseGamma)
    loc: str | float = "mean"
    scale: str | float = "sd"

    def __post_init__(self):
        object.__setattr__(self, "w_concentration", _as_concentration(self.w_concentration))
        object.__setattr__(self, "mu_scale", as_positive_float(self.mu_scale, "mu_scale"))
        if not isinstance(self.sigma, SIGMA_PRIORS):
            names = ", ".join(c.__name__ for c in SIGMA_PRIORS)
            raise TypeError(
                f"sigma must be one of gmm_bayes.bayes.{{{names}}}, got {short_repr(self.sigma)}"
            )
        _check_anchor(self.loc, "loc", LOCATIONS)
        _check_anchor(self.scale, "scale", SCALES)

    @classmethod
    def richardson_green(cls):
        """The priors of Richardson & Green (1997), section 3.1.

        ``w ~ Dirichlet(1)``, ``mu_k ~ Normal(midrange, R)``, ``sigma_k**-2 ~ Gamma(2, beta)``,
        ``beta ~ Gamma(0.2, 10 / R**2)``, with ``R`` the data's range.
        """
        return cls(
            w_concentration=1.0,
            mu_scale=1.0,
            sigma=HierarchicalInverseGamma(alpha=2.0, g=0.2, h=10.0),
            loc="midrange",
            scale="range",
        )

    @classmethod
    def small_clusters(cls):
        """Default priors with a wide sigma prior, ``InverseGamma(alpha=0.5, beta=0.01)``.

        95% of its mass lies in ``(0.06 S, 4.5 S)`` (the default's: ``(0.13 S, 0.64 S)``), so
        a cluster of a few tight points or one wide component keeps the sigma its data say;
        its density still vanishes as ``sigma -> 0`` (no collapse onto tied values). Heavier
        tails cost some mixing when K is larger than the data support.

        Examples
        --------
        >>> spec = Priors.small_clusters().resolve([0.0, 1.0], 2)  # S = 0.5
        >>> [round(v / 0.5, 2) for v in spec.sigma.interval()]
        [0.06, 4.51]
        """
        return cls(sigma=InverseGamma(alpha=0.5, beta=0.01))

    @property
    def hierarchical(self):
        """True when the model has the extra free variable ``beta`` (RG1997 style)."""
        return isinstance(self.sigma, HierarchicalInverseGamma)

    def anchors(self, x):
        """``(L, S)``: the location and spread of ``x`` the priors are relative to.

        Parameters
        ----------
        x : array_like, shape (N,) or (N, 1)

        Returns
        -------
        (float, float)
        """
        x = as_data(x)
        if isinstance(self.loc, str):
            loc = float(np.mean(x)) if self.loc == "mean" else 0.5 * float(x.min() + x.max())
        else:
            loc = self.loc
        if isinstance(self.scale, str):
            scale = float(np.std(x)) if self.scale == "sd" else float(np.ptp(x))
            if not scale > 0:
                raise DataError(
                    f"all {x.size} values of x equal {float(x[0])!r}: priors relative to the "
                    f"data's spread ({self.scale!r}) are undefined; pass Priors(scale=...) in "
                    "the data's units"
                )
        else:
            scale = self.scale
        return loc, scale

    def resolve(self, x, n_components):
        """The priors in the data's units for ``n_components`` components.

        Parameters
        ----------
        x : array_like, shape (N,) or (N, 1)
        n_components : int

        Returns
        -------
        ResolvedPriors

        Raises
        ------
        ValueError
            ``w_concentration`` has the wrong number of entries.
        """
        return self._resolved(x, _concentration_for(self.w_concentration, n_components))

    def em_step(self, x, loc, scale, reg, n_components=None, covariance_type="full"):
        """The MAP-EM step used by :func:`gmm_bayes.fit_em` in standardized units.

        Parameters
        ----------
        x : ndarray, shape (N,)
            The data in their own units (the priors' anchors are computed from it).
        loc, scale : float
            ``fit_em`` works in ``z = (x - loc) / scale``.
        reg : float
            Added to every variance after the M-step (``reg_covar`` in units of ``z``; 0 by
            default with priors).
        n_components : int, optional
            K of the fit: a per-component ``w_concentration`` must have K entries.
        covariance_type : {"full", "tied", "diag", "spherical"}, default "full"
            "tied": one ``sigma`` shared by all components (mclust's "E" accepted).

        Returns
        -------
        MapStep
            With ``reg``, ``m_step(nk, means, variances) -> (weights, means, variances)`` and
            ``log_prior(weights, means, variances) -> float``, all in units of ``z``.
        """
        if np.any(np.asarray(self.w_concentration) < 1):
            raise ValueError(
                "MAP-EM needs w_concentration >= 1, got "
                f"{short_repr(self.w_concentration)}: below 1 the Dirichlet density is unbounded "
                "at w_k = 0 and no MAP exists (sampling with "
                "build_model/sample_posterior is fine)"
            )
        if self.hierarchical and self.sigma.alpha + self.sigma.g <= 1:
            raise ValueError(
                "MAP-EM needs HierarchicalInverseGamma alpha + g > 1 (beta has no maximum "
                f"otherwise), got alpha={self.sigma.alpha}, g={self.sigma.g}"
            )
        if n_components is not None:
            _concentration_for(self.w_concentration, n_components)  # raises on a length mismatch
        spec = self._resolved(x, np.asarray(self.w_concentration, dtype=np.float64))
        return MapStep(spec.standardized(loc, scale), float(reg), covariance_type)

    def _resolved(self, x, alpha):
        anchor_loc, anchor_scale = self.anchors(x)
        return ResolvedPriors(
            alpha=alpha,
            mu_loc=anchor_loc,
            mu_sd=self.mu_scale * anchor_scale,
            sigma=self.sigma.resolve(anchor_scale),
        )


def _as_concentration(value):
    if isinstance(value, bool | str | bytes):
        raise TypeError(f"w_concentration must be a number or a sequence, got {short_repr(value)}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"w_concentration must be a number or a sequence of numbers, got {short_repr(value)}"
        ) from None
    if arr.ndim > 1 or arr.size == 0:
        raise ValueError(
            f"w_concentration must be a number or a 1-D sequence (one per component), got "
            f"shape {arr.shape}"
        )
    if not np.isfinite(arr).all() or (arr <= 0).any():
        raise ValueError(f"w_concentration must be finite and > 0, got {arr.tolist()}")
    return float(arr) if arr.ndim == 0 else tuple(arr.tolist())


def _concentration_for(value, k):
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return np.full(k, float(arr))
    if arr.size != k:
        raise ValueError(
            f"w_concentration has {arr.size} entries but n_components={k}; pass one number or "
            f"one entry per component"
        )
    return arr.copy()


def _check_anchor(value, name, allowed):
    if isinstance(value, str):
        if value not in allowed:
            raise ValueError(f"{name} must be one of {allowed} or a number, got {value!r}")
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be one of {allowed} or a number, got {short_repr(value)}")
    if name == "scale":
        as_positive_float(value, name)
    elif not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")


@dataclass(frozen=True)
class ResolvedPriors:
    """The priors as numbers in one set of units (the data's, or standardized ones).

    Attributes
    ----------
    alpha : ndarray, shape (K,)
        Dirichlet concentration (shape () before the number of components is known).
    mu_loc, mu_sd : float
        Normal prior of each mean.
    sigma : object
        Resolved prior of each standard deviation, with ``kind`` in {"inverse-gamma",
        "half-normal", "lognormal"} and the parameters of that family.
    """

    alpha: np.ndarray
    mu_loc: float
    mu_sd: float
    sigma: object

    @property
    def hierarchical(self):
        """True when ``sigma``'s prior has the unknown scale ``beta``."""
        return bool(self.sigma.hierarchical)

    def standardized(self, loc, scale):
        """The same priors for ``z = (x - loc) / scale``."""
        return ResolvedPriors(
            alpha=self.alpha,
            mu_loc=(self.mu_loc - loc) / scale,
            mu_sd=self.mu_sd / scale,
            sigma=self.sigma.rescaled(scale),
        )

    def alpha_for(self, k):
        """The Dirichlet concentration for ``k`` components, shape (k,)."""
        return _concentration_for(self.alpha, k)

    def log_prior(self, weights, means, variances, *, tied=False):
        """Log prior density at ``(weights, means, sigmas = sqrt(variances))``.

        The density of ``sigma`` is used (as in the PyMC model), and no Jacobian: this is the
        function ``pm.find_MAP`` maximizes minus the log-likelihood. For the hierarchical prior,
        ``beta`` is profiled out (set to :meth:`beta_hat`).

        Parameters
        ----------
        weights, means, variances : array_like, shape (K,)
        tied : bool, default False
            One ``sigma`` shared by all components (all ``variances`` equal): its prior
            density enters once.

        Returns
        -------
        float
            ``-inf`` outside the support.

        Examples
        --------
        >>> from gmm_bayes.bayes.sigma_priors import HalfNormal
        >>> spec = Priors(loc=0.0, scale=1.0, mu_scale=1.0, sigma=HalfNormal()).resolve([0, 1], 1)
        >>> round(spec.log_prior([1.0], [0.0], [1.0]), 6)  # log N(0 | 0, 1) + log HalfN(1 | 1)
        -1.64473
        """
        weights, means, variances = (
            np.asarray(a, dtype=np.float64) for a in (weights, means, variances)
        )
        alpha = self.alpha_for(weights.size)
        if np.any(weights < 0) or np.any(variances <= 0):
            return -np.inf
        with np.errstate(divide="ignore"):
            log_w = float(
                gammaln(alpha.sum()) - gammaln(alpha).sum() + xlogy(alpha - 1, weights).sum()
            )
        log_mu = float(
            np.sum(
                -0.5 * _LOG_2PI
                - np.log(self.mu_sd)
                - 0.5 * ((means - self.mu_loc) / self.mu_sd) ** 2
            )
        )
        if tied:
            variances = variances[:1]
        sigmas = np.sqrt(variances)
        if self.hierarchical:
            beta = self.beta_hat(variances)
            log_sigma = float(np.sum(self.sigma.logpdf(sigmas, beta))) + self.sigma.beta_logpdf(
                beta
            )
        else:
            log_sigma = float(np.sum(self.sigma.logpdf(sigmas)))
        total = log_w + log_mu + log_sigma
        return total if not np.isnan(total) else -np.inf

    def beta_hat(self, variances):
        """Hierarchical prior: the maximizing ``beta`` given the variances (closed form)."""
        if not self.hierarchical:
            raise ValueError("beta_hat is defined only for HierarchicalInverseGamma priors")
        return float(self.sigma.beta_hat(variances))
