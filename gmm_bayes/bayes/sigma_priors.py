"""Prior families of each component's standard deviation ``sigma`` (numpy and scipy only).

Each family is a small frozen dataclass whose numbers are relative to a spread ``S`` of the data
(the user-facing spec, passed as ``Priors(sigma=...)``). :meth:`resolve` turns it into the same
prior in absolute units, an object with the log density of ``sigma`` and the maximizer that
MAP-EM's M-step needs:

- :class:`InverseGamma` (default): ``sigma**2 ~ InverseGamma(alpha, beta * S**2)``, i.e. the
  precision ``1 / sigma**2 ~ Gamma(alpha, rate=beta * S**2)``. Conjugate; its density vanishes
  faster than any power as ``sigma -> 0``, so no component can collapse onto one point or a run
  of tied values. The default (2, 0.1) is informative, not weak: 95% of its mass lies in
  ``(0.13 S, 0.64 S)``, so a small tight cluster (galaxy's 7 points, sigma 0.09 S) or a wide
  component has its sigma pulled into that range; ``InverseGamma(0.5, 0.01)`` (95% in
  ``(0.06 S, 4.5 S)``, :meth:`gmm_bayes.bayes.priors.Priors.small_clusters`) lets them be.
- :class:`HierarchicalInverseGamma`: as above with ``beta`` itself unknown,
  ``beta ~ Gamma(g, rate=h / S**2)`` (Richardson & Green 1997).
- :class:`HalfNormal`: ``sigma ~ HalfNormal(scale * S)``.
- :class:`LogNormal`: ``log sigma ~ Normal(log(median * S), sd_log)``.
"""

from dataclasses import dataclass, field

import numpy as np
from scipy import stats
from scipy.optimize import brentq
from scipy.special import gammaln

from gmm_bayes._validation import as_positive_float

__all__ = [
    "SIGMA_PRIORS",
    "HalfNormal",
    "HalfNormalSigma",
    "HierarchicalInverseGamma",
    "InverseGamma",
    "InverseGammaSigma",
    "LogNormal",
    "LogNormalSigma",
]

_LOG_2PI = float(np.log(2 * np.pi))


def _positive_fields(spec, family, names):
    for name in names:
        value = as_positive_float(getattr(spec, name), f"{family} {name}")
        object.__setattr__(spec, name, value)


# --------------------------------------------------------------------------------------------
# user-facing specs, relative to the data's spread S
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

    Examples
    --------
    >>> InverseGamma().resolve(spread=2.0)  # beta in squared data units: 0.1 * 2**2
    InverseGammaSigma(alpha=2.0, beta=0.4, g=None, h=None, kind='inverse-gamma')
    """

    alpha: float = 2.0
    beta: float = 0.1

    def __post_init__(self):
        _positive_fields(self, "InverseGamma", ("alpha", "beta"))

    def resolve(self, spread):
        """The prior in absolute units, for data of spread ``spread`` (``S``)."""
        return InverseGammaSigma(self.alpha, self.beta * spread**2)


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

    Examples
    --------
    >>> HierarchicalInverseGamma().resolve(spread=10.0).hierarchical
    True
    """

    alpha: float = 2.0
    g: float = 0.2
    h: float = 10.0

    def __post_init__(self):
        _positive_fields(self, "HierarchicalInverseGamma", ("alpha", "g", "h"))

    def resolve(self, spread):
        """The prior in absolute units, for data of spread ``spread`` (``S``)."""
        return InverseGammaSigma(self.alpha, None, g=self.g, h=self.h / spread**2)


@dataclass(frozen=True)
class HalfNormal:
    """``sigma ~ HalfNormal(scale * S)``.

    Its density is positive at ``sigma = 0``, so a component may collapse onto tied values;
    kept for comparison with the common default.

    Examples
    --------
    >>> HalfNormal(scale=0.5).resolve(spread=4.0)
    HalfNormalSigma(scale=2.0, kind='half-normal')
    """

    scale: float = 1.0

    def __post_init__(self):
        _positive_fields(self, "HalfNormal", ("scale",))

    def resolve(self, spread):
        """The prior in absolute units, for data of spread ``spread`` (``S``)."""
        return HalfNormalSigma(self.scale * spread)


@dataclass(frozen=True)
class LogNormal:
    """``log sigma ~ Normal(log(median * S), sd_log)``.

    Has no closed-form MAP-EM update: MAP-EM solves a one-dimensional equation per component.

    Examples
    --------
    >>> prior = LogNormal(median=0.2).resolve(spread=5.0)
    >>> round(float(np.exp(prior.log_median)), 12), prior.sd_log
    (1.0, 1.0)
    """

    median: float = 0.2
    sd_log: float = 1.0

    def __post_init__(self):
        _positive_fields(self, "LogNormal", ("median", "sd_log"))

    def resolve(self, spread):
        """The prior in absolute units, for data of spread ``spread`` (``S``)."""
        return LogNormalSigma(float(np.log(self.median * spread)), self.sd_log)


SIGMA_PRIORS = (InverseGamma, HierarchicalInverseGamma, HalfNormal, LogNormal)


# --------------------------------------------------------------------------------------------
# resolved forms, in absolute units: log density of sigma and MAP-EM's variance update
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InverseGammaSigma:
    """``sigma**2 ~ InvGamma(alpha, beta)`` in absolute units; ``beta=None``: hierarchical, with
    ``beta ~ Gamma(g, rate=h)``."""

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
            return InverseGammaSigma(self.alpha, None, g=self.g, h=self.h * scale**2)
        return InverseGammaSigma(self.alpha, self.beta / scale**2)

    def interval(self, prob=0.95):
        """Central ``prob`` interval of ``sigma``; None when hierarchical (it depends on beta).

        Examples
        --------
        >>> [round(v, 2) for v in InverseGammaSigma(alpha=2.0, beta=0.1).interval()]
        [0.13, 0.64]
        """
        if self.hierarchical:
            return None
        tails = [(1 - prob) / 2, (1 + prob) / 2]
        return tuple(
            float(v) for v in np.sqrt(stats.invgamma.ppf(tails, self.alpha, scale=self.beta))
        )

    def logpdf(self, sigma, beta=None):
        """Log density of ``sigma`` (not of ``sigma**2``), elementwise; ``-inf`` at ``sigma <= 0``.

        Examples
        --------
        >>> prior = InverseGammaSigma(alpha=1.0, beta=1.0)  # 2 exp(-1 / sigma**2) / sigma**3
        >>> round(float(prior.logpdf(1.0)), 6)  # log(2) - 1
        -0.306853
        """
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
        """``argmax_v  -n/2 log v - q/(2v) + log p(sqrt v)``, in closed form.

        Examples
        --------
        >>> InverseGammaSigma(alpha=2.0, beta=1.0).update_variance(10.0, 40.0)  # 42 / 15
        2.8
        """
        beta = self.beta if beta is None else beta
        return (q + 2 * beta) / (n + 2 * self.alpha + 1)

    def beta_hat(self, variances):
        """Hierarchical: the ``beta`` maximizing ``sum_k log p(sigma_k | beta) + log p(beta)``."""
        k = np.size(variances)
        return (k * self.alpha + self.g - 1) / (self.h + np.sum(1.0 / np.asarray(variances)))

    def beta_logpdf(self, beta):
        """Hierarchical: log density of ``beta ~ Gamma(g, rate=h)``."""
        g, h = self.g, self.h
        return float(g * np.log(h) - gammaln(g) + (g - 1) * np.log(beta) - h * beta)


@dataclass(frozen=True)
class HalfNormalSigma:
    """``sigma ~ HalfNormal(scale)`` in absolute units."""

    scale: float
    kind: str = field(default="half-normal", init=False)
    hierarchical = False

    def rescaled(self, scale):
        """The same prior for ``sigma / scale``."""
        return HalfNormalSigma(self.scale / scale)

    def interval(self, prob=0.95):
        """Central ``prob`` interval of ``sigma``."""
        tails = [(1 - prob) / 2, (1 + prob) / 2]
        return tuple(float(v) for v in stats.halfnorm.ppf(tails, scale=self.scale))

    def logpdf(self, sigma, beta=None):
        """Log density of ``sigma``, elementwise; ``-inf`` below 0."""
        s = self.scale
        out = 0.5 * np.log(2 / np.pi) - np.log(s) - 0.5 * (sigma / s) ** 2
        return np.where(sigma >= 0, out, -np.inf)

    def update_variance(self, n, q, beta=None):
        """``argmax_v  -n/2 log v - q/(2v) + log p(sqrt v)``: the positive root of
        ``v**2 + n s**2 v - q s**2``, written without cancellation."""
        s2 = self.scale**2
        return 2 * q * s2 / (n * s2 + np.sqrt((n * s2) ** 2 + 4 * q * s2))


@dataclass(frozen=True)
class LogNormalSigma:
    """``log sigma ~ Normal(log_median, sd_log)`` in absolute units."""

    log_median: float
    sd_log: float
    kind: str = field(default="lognormal", init=False)
    hierarchical = False

    def rescaled(self, scale):
        """The same prior for ``sigma / scale``."""
        return LogNormalSigma(self.log_median - float(np.log(scale)), self.sd_log)

    def interval(self, prob=0.95):
        """Central ``prob`` interval of ``sigma``."""
        z = stats.norm.ppf((1 + prob) / 2) * self.sd_log
        return float(np.exp(self.log_median - z)), float(np.exp(self.log_median + z))

    def logpdf(self, sigma, beta=None):
        """Log density of ``sigma``, elementwise; ``-inf`` at ``sigma <= 0``."""
        m, t = self.log_median, self.sd_log
        with np.errstate(divide="ignore", invalid="ignore"):
            u = np.log(sigma)
            out = -u - 0.5 * _LOG_2PI - np.log(t) - 0.5 * ((u - m) / t) ** 2
        return np.where(sigma > 0, out, -np.inf)

    def update_variance(self, n, q, beta=None):
        """``argmax_v  -n/2 log v - q/(2v) + log p(sqrt v)``, numerically: the root in
        ``u = log sigma`` of the concave objective's derivative
        ``-(n + 1) + q exp(-2u) - (u - m) / t**2``, by Brent's method."""
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
