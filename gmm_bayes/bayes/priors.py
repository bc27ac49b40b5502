"""Priors of the Bayesian mixture model, and the MAP-EM step that maximizes the same posterior.

numpy and scipy only: ``fit_em(x, K, priors=Priors())`` stays cheap and never imports PyMC.
:func:`gmm_bayes.build_model` reads the same :class:`Priors` object, so EM and PyMC agree on one
model by construction (and the tests check it against ``pm.find_MAP``).

The model, in the data's own units (``L`` and ``S`` are a location and a spread of the data,
by default its mean and standard deviation)::

    w            ~ Dirichlet(w_concentration)                    weights, (K,)
    mu_k         ~ Normal(L, mu_scale * S),  mu_1 < ... < mu_K    means, ordered
    sigma_k      ~ one of the ``sigma`` priors below              standard deviations
    y_n | w,mu,sigma ~ sum_k w_k Normal(mu_k, sigma_k)            the data

``sigma`` priors (each a small frozen dataclass, numbers relative to ``S``):

- :class:`InverseGamma` (default): ``sigma_k**2 ~ InverseGamma(alpha, beta * S**2)``, i.e. the
  precision ``1 / sigma_k**2 ~ Gamma(alpha, rate=beta * S**2)``. Conjugate; its density
  vanishes faster than any power as ``sigma -> 0``, so no component can collapse onto one point
  or a run of tied values.
- :class:`HierarchicalInverseGamma`: as above with ``beta`` itself unknown,
  ``beta ~ Gamma(g, rate=h / S**2)`` (Richardson & Green 1997, with ``L`` the midrange and ``S``
  the range: see :meth:`Priors.richardson_green`).
- :class:`HalfNormal`: ``sigma_k ~ HalfNormal(scale * S)``.
- :class:`LogNormal`: ``log sigma_k ~ Normal(log(median * S), sd_log)``.

Because every number is relative to ``L`` and ``S``, a change of units ``a * x + b`` maps the
priors, the posterior and the MAP estimate by the same map.
"""

import numbers
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq
from scipy.special import gammaln, xlogy

from gmm_bayes._validation import as_data, short_repr
from gmm_bayes.em import Step
from gmm_bayes.exceptions import DataError

__all__ = [
    "HalfNormal",
    "HierarchicalInverseGamma",
    "InverseGamma",
    "LogNormal",
    "Priors",
    "ResolvedPriors",
]

LOCATIONS = ("mean", "midrange")
SCALES = ("sd", "range")
_LOG_2PI = float(np.log(2 * np.pi))
#: inner coordinate-ascent sweeps of one MAP M-step (mu given sigma, sigma given mu, beta)
_MAX_SWEEPS = 500
_SWEEP_RTOL = 1e-13


def _positive(value, name, *, minimum=0.0, inclusive=False):
    """Return ``value`` as a finite float > ``minimum`` (or >= with ``inclusive``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {short_repr(value)}")
    value = float(value)
    bad = value < minimum if inclusive else value <= minimum
    if not np.isfinite(value) or bad:
        relation = ">=" if inclusive else ">"
        raise ValueError(f"{name} must be a finite number {relation} {minimum:g}, got {value}")
    return value


# --------------------------------------------------------------------------------------------
# sigma priors: user-facing specs (relative to S) and their resolved forms (absolute units)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InverseGamma:
    """``sigma**2 ~ InverseGamma(alpha, beta * S**2)``: precision ``~ Gamma(alpha, beta * S**2)``.

    Parameters
    ----------
    alpha : float, default 2.0
        Shape. The density of ``sigma`` falls off as ``sigma**-(2 alpha + 1)`` for large sigma
        and as ``exp(-beta S**2 / sigma**2)`` near 0.
    beta : float, default 0.1
        Scale of ``sigma**2`` in units of ``S**2``. The prior's mode of ``sigma`` is
        ``S * sqrt(2 beta / (2 alpha + 1))`` (0.2 S for the defaults).
    """

    alpha: float = 2.0
    beta: float = 0.1

    def __post_init__(self):
        object.__setattr__(self, "alpha", _positive(self.alpha, "InverseGamma alpha"))
        object.__setattr__(self, "beta", _positive(self.beta, "InverseGamma beta"))

    def _resolve(self, spread):
        return _InvGammaSigma(self.alpha, self.beta * spread**2)


@dataclass(frozen=True)
class HierarchicalInverseGamma:
    """Richardson & Green (1997): ``sigma**2 ~ InverseGamma(alpha, beta)``, ``beta`` unknown.

    ``beta ~ Gamma(g, rate=h / S**2)`` is a free variable of the model (named ``"beta"``), so
    the typical size of the components' variances is learnt from the data.

    Parameters
    ----------
    alpha : float, default 2.0
    g : float, default 0.2
    h : float, default 10.0
        RG1997's values, with ``S`` the data's range.
    """

    alpha: float = 2.0
    g: float = 0.2
    h: float = 10.0

    def __post_init__(self):
        for name in ("alpha", "g", "h"):
            value = _positive(getattr(self, name), f"HierarchicalInverseGamma {name}")
            object.__setattr__(self, name, value)

    def _resolve(self, spread):
        return _InvGammaSigma(self.alpha, None, g=self.g, h=self.h / spread**2)


@dataclass(frozen=True)
class HalfNormal:
    """``sigma ~ HalfNormal(scale * S)``.

    Its density is positive at ``sigma = 0``, so a component may collapse onto tied values;
    kept for comparison with the common default.
    """

    scale: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "scale", _positive(self.scale, "HalfNormal scale"))

    def _resolve(self, spread):
        return _HalfNormalSigma(self.scale * spread)


@dataclass(frozen=True)
class LogNormal:
    """``log sigma ~ Normal(log(median * S), sd_log)``.

    Has no closed-form MAP-EM update: MAP-EM solves a one-dimensional equation per component.
    """

    median: float = 0.2
    sd_log: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "median", _positive(self.median, "LogNormal median"))
        object.__setattr__(self, "sd_log", _positive(self.sd_log, "LogNormal sd_log"))

    def _resolve(self, spread):
        return _LogNormalSigma(float(np.log(self.median * spread)), self.sd_log)


SIGMA_PRIORS = (InverseGamma, HierarchicalInverseGamma, HalfNormal, LogNormal)


@dataclass(frozen=True)
class _InvGammaSigma:
    """``sigma**2 ~ InvGamma(alpha, beta)`` in absolute units; ``beta=None``: hierarchical."""

    alpha: float
    beta: float | None
    g: float | None = None
    h: float | None = None
    kind: str = field(default="inverse-gamma", init=False)

    @property
    def hierarchical(self):
        return self.beta is None

    def rescaled(self, scale):
        """The same prior for ``sigma / scale``."""
        if self.hierarchical:
            return _InvGammaSigma(self.alpha, None, g=self.g, h=self.h * scale**2)
        return _InvGammaSigma(self.alpha, self.beta / scale**2)

    def logpdf(self, sigma, beta=None):
        """Log density of ``sigma`` (not of ``sigma**2``), elementwise."""
        beta = self.beta if beta is None else beta
        a = self.alpha
        with np.errstate(divide="ignore", invalid="ignore"):
            out = (
                a * np.log(beta)
                - gammaln(a)
                + np.log(2.0)
                - (2 * a + 1) * np.log(sigma)
                - beta / sigma**2
            )
        return np.where(sigma > 0, out, -np.inf)

    def update_variance(self, n, q, beta=None):
        """``argmax_v  -n/2 log v - q/(2v) + log p(sqrt v)`` (closed form)."""
        beta = self.beta if beta is None else beta
        return (q + 2 * beta) / (n + 2 * self.alpha + 1)

    def beta_hat(self, variances):
        """Hierarchical: the ``beta`` maximizing ``sum_k log p(sigma_k | beta) + log p(beta)``."""
        k = np.size(variances)
        return (k * self.alpha + self.g - 1) / (self.h + np.sum(1.0 / np.asarray(variances)))

    def beta_logpdf(self, beta):
        g, h = self.g, self.h
        return float(g * np.log(h) - gammaln(g) + (g - 1) * np.log(beta) - h * beta)


@dataclass(frozen=True)
class _HalfNormalSigma:
    scale: float
    kind: str = field(default="half-normal", init=False)
    hierarchical = False

    def rescaled(self, scale):
        return _HalfNormalSigma(self.scale / scale)

    def logpdf(self, sigma, beta=None):
        s = self.scale
        out = 0.5 * np.log(2 / np.pi) - np.log(s) - 0.5 * (sigma / s) ** 2
        return np.where(sigma >= 0, out, -np.inf)

    def update_variance(self, n, q, beta=None):
        # root of v**2 + n s**2 v - q s**2 = 0, written without cancellation
        s2 = self.scale**2
        return 2 * q * s2 / (n * s2 + np.sqrt((n * s2) ** 2 + 4 * q * s2))


@dataclass(frozen=True)
class _LogNormalSigma:
    log_median: float
    sd_log: float
    kind: str = field(default="lognormal", init=False)
    hierarchical = False

    def rescaled(self, scale):
        return _LogNormalSigma(self.log_median - float(np.log(scale)), self.sd_log)

    def logpdf(self, sigma, beta=None):
        m, t = self.log_median, self.sd_log
        with np.errstate(divide="ignore", invalid="ignore"):
            u = np.log(sigma)
            out = -u - 0.5 * _LOG_2PI - np.log(t) - 0.5 * ((u - m) / t) ** 2
        return np.where(sigma > 0, out, -np.inf)

    def update_variance(self, n, q, beta=None):
        """One-dimensional numeric update: the root in ``u = log sigma`` of the concave
        objective's derivative ``-(n + 1) + q exp(-2u) - (u - m) / t**2``, by Brent's method."""
        n, q = np.broadcast_arrays(np.asarray(n, float), np.asarray(q, float))
        out = np.empty(n.shape)
        for i, (nk, qk) in enumerate(zip(n.ravel(), q.ravel(), strict=True)):
            out.flat[i] = np.exp(2 * self._log_sigma(nk, qk))
        return out

    def _log_sigma(self, n, q):
        m, t2 = self.log_median, self.sd_log**2

        def slope(u):  # strictly decreasing in u
            return -(n + 1) + q * np.exp(-2 * u) - (u - m) / t2

        lo, hi, step = m, m, 1.0
        while slope(lo) <= 0:
            lo, step = lo - step, 2 * step
        step = 1.0
        while slope(hi) >= 0:
            hi, step = hi + step, 2 * step
        return brentq(slope, lo, hi, xtol=1e-14, rtol=4 * np.finfo(float).eps)


# --------------------------------------------------------------------------------------------
# the user-facing dataclass
# --------------------------------------------------------------------------------------------


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
    The defaults were chosen by sampling the bundled data sets (faithful K=2, geyser_duration
    K=2 and 3, galaxy K=3..5; 4 chains x 1000 draws from EM's estimate): no divergences in any
    run, bulk ESS about 900 to 3700 wherever the posterior has one mode. A half-normal prior
    on ``sigma`` gave divergences on galaxy K=4; a heavier-tailed inverse gamma (``alpha=1``)
    let galaxy K=4 mix worse (R-hat up to 1.6); a larger ``beta`` (0.3) brought divergences
    back.

    ``Normal(L, 2 S)`` covers the data's range with room to spare. The inverse-gamma prior of
    ``sigma**2`` has its mode at ``sigma = 0.2 S`` and 95% of its mass on ``(0.13 S, 0.65 S)``;
    its density vanishes faster than any power at 0, so no component collapses onto a point or
    onto tied values. The price: a component of fewer than about ten observations has its
    ``sigma`` pulled toward ``0.2 S`` (galaxy's 7-point cluster near 9.7: EM's sigma is 0.42,
    i.e. ``0.09 S``; the posterior median is about 0.7). Use ``InverseGamma(beta=0.02)`` or
    :meth:`richardson_green` to let small clusters be narrower, at some cost in mixing.
    """

    w_concentration: float | tuple = 1.0
    mu_scale: float = 2.0
    sigma: object = field(default_factory=InverseGamma)
    loc: str | float = "mean"
    scale: str | float = "sd"

    def __post_init__(self):
        object.__setattr__(self, "w_concentration", _as_concentration(self.w_concentration))
        object.__setattr__(self, "mu_scale", _positive(self.mu_scale, "mu_scale"))
        if not isinstance(self.sigma, SIGMA_PRIORS):
            names = ", ".join(c.__name__ for c in SIGMA_PRIORS)
            raise TypeError(
                f"sigma must be one of gmm_bayes.priors.{{{names}}}, got {short_repr(self.sigma)}"
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
        loc, scale = self.anchors(x)
        return ResolvedPriors(
            alpha=_concentration_for(self.w_concentration, n_components),
            mu_loc=loc,
            mu_sd=self.mu_scale * scale,
            sigma=self.sigma._resolve(scale),
        )

    def em_step(self, x, loc, scale, reg):
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
        anchor_loc, anchor_scale = self.anchors(x)
        spec = ResolvedPriors(
            alpha=np.asarray(self.w_concentration, dtype=np.float64),
            mu_loc=anchor_loc,
            mu_sd=self.mu_scale * anchor_scale,
            sigma=self.sigma._resolve(anchor_scale),
        )
        return MapStep(spec.standardized(loc, scale), float(reg))


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
        _positive(value, name)
    elif not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")


# --------------------------------------------------------------------------------------------
# resolved priors: log density and the MAP M-step (any units)
# --------------------------------------------------------------------------------------------


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
        return _concentration_for(self.alpha, k)

    def log_prior(self, weights, means, variances):
        """Log prior density at ``(weights, means, sigmas = sqrt(variances))``.

        The density of ``sigma`` is used (as in the PyMC model), and no Jacobian: this is the
        function ``pm.find_MAP`` maximizes minus the log-likelihood. For the hierarchical prior,
        ``beta`` is profiled out (set to :meth:`beta_hat`).

        Parameters
        ----------
        weights, means, variances : array_like, shape (K,)

        Returns
        -------
        float
            ``-inf`` outside the support.
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

    def m_step(self, nk, means, variances):
        """MAP M-step from the E-step's sufficient statistics.

        Maximizes the expected complete-data log posterior: weights in closed form; means,
        variances (and ``beta``) by coordinate ascent over their conditional maximizers (each
        closed form, or a 1-D root for the lognormal prior) until a sweep changes nothing, so
        the step is an exact maximization and EM's monotonicity holds.

        Parameters
        ----------
        nk : ndarray, shape (K,)
            Effective counts ``sum_n r_nk``.
        means, variances : ndarray, shape (K,)
            Responsibility-weighted means and biased variances of the data.

        Returns
        -------
        weights, means, variances : ndarray, shape (K,)
        """
        nk = np.asarray(nk, dtype=np.float64)
        xbar = np.asarray(means, dtype=np.float64)
        q0 = nk * np.asarray(variances, dtype=np.float64)
        alpha = self.alpha_for(nk.size)
        weights = np.maximum(nk + alpha - 1, 0.0)
        weights = weights / weights.sum()

        ratio = 1.0 / self.mu_sd**2
        new_means = xbar.copy()
        beta = None
        if self.hierarchical:  # start the sweeps from beta at the maximum-likelihood variances
            ok = (nk > 0) & (q0 > 0)
            beta = self.beta_hat(np.where(ok, q0 / np.where(ok, nk, 1.0), 1.0))
        new_variances = self.sigma.update_variance(nk, q0, beta)
        for _ in range(_MAX_SWEEPS):
            previous = np.concatenate([new_means, new_variances])
            new_means = (nk * xbar + new_variances * ratio * self.mu_loc) / (
                nk + new_variances * ratio
            )
            q = q0 + nk * (xbar - new_means) ** 2
            new_variances = self.sigma.update_variance(nk, q, beta)
            if self.hierarchical:
                beta = self.beta_hat(new_variances)
            current = np.concatenate([new_means, new_variances])
            if np.all(np.abs(current - previous) <= _SWEEP_RTOL * (1 + np.abs(current))):
                break
        return weights, new_means, new_variances


@dataclass(frozen=True)
class MapStep(Step):
    """The MAP-EM step in ``fit_em``'s standardized units (a :class:`gmm_bayes.em.Step`)."""

    priors: ResolvedPriors
    reg: float

    def m_step(self, nk, means, variances):
        """``(weights, means, variances)`` from the E-step's sufficient statistics."""
        weights, means, variances = self.priors.m_step(nk, means, variances)
        return weights, means, variances + self.reg

    def log_prior(self, weights, means, variances):
        return self.priors.log_prior(weights, means, variances)
