"""The PyMC marginalized mixture model, checked against EM and started from it.

:func:`build_model` writes the univariate Gaussian mixture with the discrete labels summed out
in the data's own units; :func:`check_model` proves that its likelihood is the one EM maximized;
:func:`initial_point` turns an EM estimate into a start for the sampler. PyMC is imported here
and in :mod:`gmm_bayes.bayes.sampling` only.

Large data (see :class:`ModelData`): the likelihood is evaluated on the data's distinct values
weighted by their counts whenever ties make that worthwhile (exact), or, on request
(``likelihood="binned"``), on fine bins with a second-order correction (approximate). Every
number that depends on the data (values, counts, the priors' anchors) is a ``pm.Data``
container, so one compiled model serves every data set with the same structure.
"""

import weakref
from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pymc.distributions.shape_utils import rv_size_is_none
from pymc.logprob.transforms import Transform

from gmm_bayes._validation import as_data, as_n_components
from gmm_bayes.bayes.priors import Priors, ResolvedPriors
from gmm_bayes.em import MIN_INIT_WEIGHT, EMResult
from gmm_bayes.exceptions import ModelMismatchError

__all__ = [
    "LIKELIHOODS",
    "ModelData",
    "SoftplusOrdered",
    "build_model",
    "check_model",
    "choose_bin_width",
    "initial_point",
    "model_data",
    "model_priors",
    "to_value_space",
]

#: width of the softplus bend of the ordered transform, as a fraction of the data's sd
ORDER_SCALE = 0.05
#: smallest gap (in units of the bend width) the ordered transform's forward map accepts
MIN_GAP = 1e-3
#: relative tolerance of :func:`check_model`
CHECK_RTOL = 1e-8
#: relative tolerance of :func:`check_model` for a binned likelihood: its approximation error at
#: EM's estimate is about 4e-9 of the log-likelihood at the default bin width (1e4 points, three
#: components); a mismatch of data or units is off by far more
BINNED_CHECK_RTOL = 1e-5
LIKELIHOODS = ("exact", "binned")
#: the exact likelihood runs over the distinct values (with counts) when there are at most this
#: fraction of N of them; a binned likelihood is used only when it has at most this many bins
COMPRESS_FRACTION = 0.8
#: default bin width (:func:`choose_bin_width`), as a fraction of EM's smallest sd
BIN_FRACTION = 0.1
_LOG_SQRT_2PI = 0.5 * float(np.log(2 * np.pi))

# model -> the ResolvedPriors it was built with (no attribute is set on the pm.Model itself)
_PRIORS = weakref.WeakKeyDictionary()
# model -> the ModelData its likelihood runs over
_DATA = weakref.WeakKeyDictionary()
# model -> its compiled log density (initial_point checks every start with it)
_LOGP = weakref.WeakKeyDictionary()
# model -> its compiled map from constrained values to the sampler's (to_value_space)
_FORWARD = weakref.WeakKeyDictionary()


class SoftplusOrdered(Transform):
    """Ordered transform whose coordinates stay close to the means themselves.

    ``mu_1 = y_1`` and ``mu_k = mu_{k-1} + s * softplus((y_k - mu_{k-1}) / s)``: for means further
    apart than ``s``, ``mu_k ~= y_k``, so a well-determined mean is its own coordinate and a
    poorly determined neighbour does not drag it along. PyMC's ``ordered`` transform uses
    ``log(mu_k - mu_{k-1})`` instead, which couples every mean to all the gaps below it: on
    the geyser durations with K=3 that cuts the bulk ESS of the middle mean from about 1100
    to 200-500 (4 chains x 1000 draws).

    Parameters
    ----------
    scale : float or None
        ``s`` > 0, in the data's units. None: ``s`` is the last parameter of the random
        variable the transform is attached to. :func:`build_model` uses that to keep ``s``
        (``ORDER_SCALE`` times the data's sd) in a ``pm.Data`` container, ``"order_scale"``,
        so that the compiled model does not depend on the data.
    n_components : int
        K (the recursion is unrolled).
    """

    name = "softordered"  # no underscore: PyMC parses "<var>_<transform>__" value names
    ndim_supp = 1

    def __init__(self, scale, n_components):
        self.scale = None if scale is None else float(scale)
        self.n_components = int(n_components)

    def _scale(self, inputs):
        if self.scale is not None:
            return self.scale
        if not inputs:
            raise ValueError("SoftplusOrdered(None, K) needs the random variable's inputs")
        return pt.as_tensor_variable(inputs[-1]).flatten()[0]  # a scalar, expanded by PyMC

    def _steps(self, value, inputs):
        """``(means, arguments of softplus)`` of the backward map, lists of K and K-1 tensors."""
        s = self._scale(inputs)
        means, args = [value[..., 0]], []
        for k in range(1, self.n_components):
            args.append((value[..., k] - means[-1]) / s)
            means.append(means[-1] + s * pt.softplus(args[-1]))
        return means, args

    def backward(self, value, *inputs):
        return pt.stack(self._steps(value, inputs)[0], axis=-1)

    def forward(self, value, *inputs):
        # Gaps are floored at MIN_GAP * s, so equal values (PyMC's default start of K iid
        # Normal means) map to a finite point just inside the ordered region.
        s = self._scale(inputs)
        coords = [value[..., 0]]
        for k in range(1, self.n_components):
            gap = pt.maximum((value[..., k] - value[..., k - 1]) / s, MIN_GAP)
            # y_k = mu_{k-1} + s * log(expm1(gap)), with log(expm1(g)) = g + log(1 - exp(-g))
            coords.append(value[..., k - 1] + s * (gap + pt.log1mexp(-gap)))
        return pt.stack(coords, axis=-1)

    def log_jac_det(self, value, *inputs):
        # triangular Jacobian: d mu_k / d y_k = sigmoid(arg_k), and d mu_1 / d y_1 = 1
        _, args = self._steps(value, inputs)
        if not args:
            return pt.zeros_like(value[..., 0])
        return pt.sum(pt.log(pt.sigmoid(pt.stack(args, axis=-1))), axis=-1)


# --------------------------------------------------------------------------------------------
# what the likelihood runs over: the data, its distinct values, or bins
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ModelData:
    """The points a model's likelihood is evaluated at, and the observations each stands for.

    Three forms, all with ``sum(counts) == n_obs``:

    - the data themselves (``likelihood="exact"``, not compressed; ``dim="obs"``);
    - the distinct values with their counts (``likelihood="exact"``, ``compressed``;
      ``dim="value"``): ``sum_n log p(x_n) = sum_j c_j log p(v_j)`` exactly, so the posterior
      is the same to floating-point error;
    - bins of width ``bin_width`` (``likelihood="binned"``; ``dim="bin"``): each non-empty bin
      holds its count ``c_j``, the mean ``v_j`` of its values and their sum of squared
      deviations ``s_j`` about it, and the likelihood is the second-order expansion
      ``sum_n log p(x_n) ~= sum_j c_j log p(v_j) + s_j / 2 (log p)''(v_j)`` (the first-order
      term vanishes about the mean). It is exact for one component (``log p`` is quadratic)
      and otherwise off by terms of order ``(bin_width / sigma)**4`` per observation.

    Attributes
    ----------
    values, counts : ndarray, shape (M,)
    sumsq : ndarray, shape (M,) or None
        Binned only.
    n_obs : int
        N.
    likelihood : {"exact", "binned"}
    compressed : bool
        Exact likelihood on the distinct values.
    bin_width : float or None
    dim : {"obs", "value", "bin"}
        Name of the model's dimension of ``y``.
    requested : str
        The likelihood asked for ("binned" falls back to exact when bins would not reduce the
        data: then ``likelihood`` is "exact" and ``requested`` "binned").
    """

    values: np.ndarray
    counts: np.ndarray
    sumsq: np.ndarray | None
    n_obs: int
    likelihood: str
    compressed: bool
    bin_width: float | None
    dim: str
    requested: str

    @property
    def n_terms(self):
        """M, the number of points the likelihood is evaluated at."""
        return int(self.values.size)

    @classmethod
    def from_data(cls, x, *, likelihood="exact", compress="auto", bin_width=None):
        """Summarize validated data ``x`` for the likelihood.

        Parameters
        ----------
        x : ndarray, shape (N,)
        likelihood : {"exact", "binned"}
        compress : {"auto", True, False}
            Exact likelihood: "auto" runs it over the distinct values when there are at most
            ``COMPRESS_FRACTION * N`` of them; True always; False never.
        bin_width : float
            Needed for ``likelihood="binned"``. When the bins would not number at most
            ``COMPRESS_FRACTION * N``, the exact likelihood is used instead.
        """
        likelihood = _as_likelihood(likelihood)
        if compress not in ("auto", True, False):
            raise ValueError(f"compress must be 'auto', True or False, got {compress!r}")
        n = int(x.size)
        if likelihood == "binned":
            width = _as_bin_width(bin_width)
            binned = _bins(x, width)
            if binned is not None and binned[0].size <= COMPRESS_FRACTION * n:
                values, counts, sumsq = binned
                return cls(values, counts, sumsq, n, "binned", False, width, "bin", "binned")
        values, counts = np.unique(x, return_counts=True)
        if compress is True or (compress == "auto" and values.size <= COMPRESS_FRACTION * n):
            counts = counts.astype(np.float64)
            return cls(values, counts, None, n, "exact", True, None, "value", likelihood)
        return cls(x.copy(), np.ones(n), None, n, "exact", False, None, "obs", likelihood)

    def table(self):
        """``(2, M)`` rows values and counts, or ``(3, M)`` with the sums of squares (binned)."""
        rows = [self.values, self.counts] + ([self.sumsq] if self.sumsq is not None else [])
        return np.ascontiguousarray(np.stack(rows), dtype=np.float64)

    def describe(self):
        """One sentence for a report: what the likelihood was evaluated on."""
        if self.likelihood == "binned":
            return (
                f"Binned likelihood (approximate): the {self.n_obs} observations were grouped "
                f"into {self.n_terms} bins of width {self.bin_width:.6g}, each bin's "
                "log-likelihood expanded to second order about the mean of its values."
            )
        fallback = (
            " (binning was asked for but would not have reduced the data)"
            if self.requested == "binned"
            else ""
        )
        if self.compressed:
            return (
                f"Exact likelihood, evaluated on the {self.n_terms} distinct values of the "
                f"{self.n_obs} observations weighted by their counts{fallback}."
            )
        return f"Exact likelihood over all {self.n_obs} observations{fallback}."


def _as_likelihood(likelihood):
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
    return likelihood


def _as_bin_width(bin_width):
    if bin_width is None:
        raise ValueError("likelihood='binned' needs a bin_width (see choose_bin_width)")
    if isinstance(bin_width, bool) or not isinstance(bin_width, int | float | np.floating):
        raise TypeError(f"bin_width must be a positive number, got {bin_width!r}")
    width = float(bin_width)
    if not np.isfinite(width) or width <= 0:
        raise ValueError(f"bin_width must be a finite number > 0, got {bin_width!r}")
    return width


def _bins(x, width):
    """``(means, counts, sums of squares)`` of the non-empty bins ``[x0 + j w, x0 + (j+1) w)``,
    or None when there would be more bins than values.

    Deviations are taken from each bin's centre (|d| <= w / 2) before they are summed, so data
    far from zero lose no precision.
    """
    lo, hi = float(x.min()), float(x.max())
    span = (hi - lo) / width
    if not np.isfinite(span) or span > 2**52:
        return None
    index = np.floor((x - lo) / width).astype(np.int64)
    if span <= 8 * x.size:  # few enough possible bins: count them directly
        counts = np.bincount(index).astype(np.float64)
        occupied = np.flatnonzero(counts)
        inverse = None
    else:
        occupied, inverse = np.unique(index, return_inverse=True)
    if occupied.size > COMPRESS_FRACTION * x.size:
        return None
    centre = lo + (occupied + 0.5) * width
    if inverse is None:
        slot = np.zeros(index.max() + 1, dtype=np.int64)
        slot[occupied] = np.arange(occupied.size)
        inverse = slot[index]
    d = x - centre[inverse]
    counts = np.bincount(inverse, minlength=occupied.size).astype(np.float64)
    sum_d = np.bincount(inverse, weights=d, minlength=occupied.size)
    sum_dd = np.bincount(inverse, weights=d * d, minlength=occupied.size)
    shift = sum_d / counts
    return centre + shift, counts, np.maximum(sum_dd - sum_d * shift, 0.0)


def choose_bin_width(em):
    """Default bin width for ``likelihood="binned"``: a tenth of EM's smallest sd.

    With the second-order correction of :class:`ModelData`, the error of the binned log
    density is of order ``N (width / sigma)**4``. Measured against the exact posterior
    (three components, the binned posterior's means estimated by importance weights on exact
    draws), bins of a tenth of the smallest sd moved no posterior mean by as much as 1e-4
    posterior sd at 1e4 or 1e5 points; bins of 0.4 sd moved them by up to 6e-4 sd at 1e4 and
    8.5e-3 sd at 1e5. Even if the shift keeps growing in proportion to N, a tenth stays within
    0.05 posterior sd up to about 1e8 observations (README, "Posteriors on large data").

    Parameters
    ----------
    em : EMResult
        An EM fit to the data.

    Returns
    -------
    float
    """
    if not isinstance(em, EMResult):
        raise TypeError(f"em must be a gmm_bayes.EMResult, got {type(em).__name__}")
    return BIN_FRACTION * float(np.min(em.sigmas))


def model_data(model):
    """The :class:`ModelData` a model built by :func:`build_model` evaluates its likelihood on.

    Raises
    ------
    ValueError
        ``model`` was not made by :func:`build_model`.
    """
    try:
        return _DATA[model]
    except (KeyError, TypeError):
        raise ValueError("model was not built by gmm_bayes.build_model") from None


# --------------------------------------------------------------------------------------------
# the model
# --------------------------------------------------------------------------------------------


def build_model(
    x, n_components, *, priors=None, likelihood="exact", compress="auto", bin_width=None
):
    """The univariate Gaussian mixture as a PyMC model, labels marginalized.

    Written in the data's own units::

        w       ~ Dirichlet(w_concentration)                  dims "component"
        mu      ~ Normal(L, mu_scale * S), ordered            dims "component"
        sigma   ~ InverseGamma on sigma**2 (default)          dims "component"
        y       ~ sum_k w_k Normal(mu_k, sigma_k), observed   dims "obs" (or "value", "bin")

    with ``L``, ``S`` the data's mean and standard deviation (see :class:`gmm_bayes.Priors`).

    Default priors (weakly informative, relative to the data so that a change of units
    ``a * x + b`` maps the posterior by the same map):

    - ``w ~ Dirichlet(1, ..., 1)``: uniform over the simplex.
    - ``mu_k ~ Normal(mean(x), 2 sd(x))``: covers the data's range with room to spare.
    - ``sigma_k**2 ~ InverseGamma(2, 0.1 sd(x)**2)``: conjugate (closed-form MAP-EM), mode of
      ``sigma`` at ``0.2 sd(x)``; its density vanishes faster than any power at 0, so no
      component collapses onto a single point or a run of tied values (the geyser durations
      hold 53 values of exactly 4.0) and no funnel opens at small ``sigma``.

    These were chosen by sampling the bundled data sets (4 chains x 1000 draws from EM): no
    divergences in any run, where a half-normal ``sigma`` prior gave divergences on galaxy.
    Their price: a component of fewer than about ten observations has its ``sigma`` pulled
    toward ``0.2 sd(x)`` (see :class:`gmm_bayes.Priors`).

    ``mu`` is ordered (labels cannot switch) by :class:`SoftplusOrdered`, which keeps each
    mean nearly its own sampler coordinate (on geyser_duration K=3 it lifts the bulk ESS of
    the middle mean from 200-500 with PyMC's ``ordered`` transform to about 1100).

    The likelihood runs over :func:`model_data`'s points, each weighted by the observations it
    stands for (``y``'s log density is ``sum_j counts_j log p(values_j)``, plus the
    second-order term when binned; see :class:`ModelData`). Tied data (whole minutes, rounded
    durations) are thereby sampled on their distinct values, exactly. The data, counts and
    every prior number derived from the data are ``pm.Data`` containers: models of the same K,
    prior family and likelihood have the same graph, and one compiled model serves them all
    (:func:`gmm_bayes.sample_posterior` keeps such compiled models).

    Parameters
    ----------
    x : array_like, shape (N,) or (N, 1)
        Finite observations, validated as by :func:`gmm_bayes.fit_em`.
    n_components : int
        K, between 1 and N.
    priors : gmm_bayes.Priors, optional
        Defaults to ``Priors()``. With a :class:`~gmm_bayes.priors.HierarchicalInverseGamma`
        sigma prior the model has a fourth free variable, ``beta``.
    likelihood : {"exact", "binned"}, default "exact"
        "binned": an approximation for large continuous data (:class:`ModelData`).
    compress : {"auto", True, False}, default "auto"
        Exact likelihood over the distinct values with counts: "auto" when there are at most
        ``COMPRESS_FRACTION`` (0.8) N of them.
    bin_width : float, optional
        Binned likelihood: default :func:`choose_bin_width` of ``fit_em(x, K,
        random_state=0)``.

    Returns
    -------
    pymc.Model
        Free variables ``w``, ``mu``, ``sigma`` (and ``beta``); observed ``y`` on dimension
        ``obs`` (0..N-1), or ``value`` (distinct values) when compressed, or ``bin`` when
        binned; coordinate ``component`` (0..K-1).
    """
    x = as_data(x)
    k = as_n_components(n_components, x.size)
    spec = _as_priors(priors).resolve(x, k)
    if _as_likelihood(likelihood) == "binned" and bin_width is None:
        from gmm_bayes.em import fit_em

        bin_width = choose_bin_width(fit_em(x, k, random_state=0))
    data = ModelData.from_data(x, likelihood=likelihood, compress=compress, bin_width=bin_width)
    coords = {"component": np.arange(k), data.dim: np.arange(data.n_terms)}
    numbers, layout = _prior_constants(spec, ORDER_SCALE * _spread(x, spec))
    with pm.Model(coords=coords) as model:
        # Two containers only: nutpie's compile time grows with the number of containers.
        table = pm.Data("y_data", data.table())  # rows: values, counts (, sums of squares)
        prior = _Picker(pm.Data("prior_constants", numbers), layout)
        w = pm.Dirichlet("w", a=prior["w_concentration"], dims="component")
        mu = pm.CustomDist(  # Normal(mu_loc, mu_sd), carrying the ordered transform's scale
            "mu",
            prior["mu_loc"],
            prior["mu_sd"],
            prior["order_scale"],
            logp=_normal_logp,
            random=_normal_random,
            support_point=_normal_support_point,
            transform=SoftplusOrdered(None, k),
            dims="component",
        )
        sigma = _sigma_rv(spec, prior)
        n_rows = 3 if data.likelihood == "binned" else 2
        params = [w, mu, sigma, *(table[row] for row in range(1, n_rows))]
        pm.CustomDist(
            "y",
            *params,
            logp=_binned_logp if data.likelihood == "binned" else _weighted_logp,
            random=_mixture_random,
            signature="(k),(k),(k)" + ",()" * (len(params) - 3) + "->()",
            observed=table[0],
            dims=data.dim,
        )
    _PRIORS[model] = spec
    _DATA[model] = data
    return model


class _Picker:
    """``picker[name]``: the entry (or slice) ``name`` of a packed vector of constants."""

    def __init__(self, vector, layout):
        self.vector, self.layout = vector, layout

    def __getitem__(self, name):
        return self.vector[self.layout[name]]


def _prior_constants(spec, order_scale):
    """Every number of the priors in one vector, and where each sits in it.

    The layout depends only on K and the sigma prior's family, so two data sets (different
    numbers, same layout) give the same graph.
    """
    prior = spec.sigma
    if prior.kind == "half-normal":
        sigma = {"sigma_scale": prior.scale}
    elif prior.kind == "lognormal":
        sigma = {"sigma_log_median": prior.log_median, "sigma_sd_log": prior.sd_log}
    elif prior.hierarchical:
        sigma = {"sigma_alpha": prior.alpha, "beta_g": prior.g, "beta_h": prior.h}
    else:
        sigma = {"sigma_alpha": prior.alpha, "sigma_beta": prior.beta}
    scalars = {"mu_loc": spec.mu_loc, "mu_sd": spec.mu_sd, "order_scale": order_scale, **sigma}
    layout = {name: i for i, name in enumerate(scalars)}
    alpha = np.asarray(spec.alpha, dtype=np.float64)
    layout["w_concentration"] = slice(len(scalars), len(scalars) + alpha.size)
    return np.concatenate([np.array(list(scalars.values()), dtype=np.float64), alpha]), layout


def model_priors(model):
    """The :class:`~gmm_bayes.priors.ResolvedPriors` (data units) a model was built with.

    Raises
    ------
    ValueError
        ``model`` was not made by :func:`build_model`.
    """
    try:
        return _PRIORS[model]
    except (KeyError, TypeError):
        raise ValueError("model was not built by gmm_bayes.build_model") from None


def _as_priors(priors):
    if priors is None:
        return Priors()
    if not isinstance(priors, Priors):
        raise TypeError(f"priors must be a gmm_bayes.Priors or None, got {type(priors).__name__}")
    return priors


def _spread(x, spec):
    sd = float(np.std(x))
    return sd if sd > 0 else spec.mu_sd


def _sigma_rv(spec: ResolvedPriors, prior_constants):
    prior, pick = spec.sigma, prior_constants
    if prior.kind == "half-normal":
        return pm.HalfNormal("sigma", sigma=pick["sigma_scale"], dims="component")
    if prior.kind == "lognormal":
        return pm.LogNormal(
            "sigma", mu=pick["sigma_log_median"], sigma=pick["sigma_sd_log"], dims="component"
        )
    if prior.hierarchical:
        beta = pm.Gamma("beta", alpha=pick["beta_g"], beta=pick["beta_h"])
    else:
        beta = pick["sigma_beta"]
    return pm.CustomDist(
        "sigma",
        pick["sigma_alpha"],
        beta,
        logp=_sqrt_inv_gamma_logp,
        random=_sqrt_inv_gamma_random,
        support_point=_sqrt_inv_gamma_mode,
        transform=pm.distributions.transforms.log,
        dims="component",
    )


def _normal_logp(value, loc, sd, order_scale):
    """``Normal(loc, sd)``; ``order_scale`` is only carried for :class:`SoftplusOrdered`."""
    z = (value - loc) / sd
    return -0.5 * z * z - pt.log(sd) - _LOG_SQRT_2PI


def _normal_random(loc, sd, order_scale, rng=None, size=None):
    return rng.normal(loc, sd, size=size)


def _normal_support_point(rv, size, loc, sd, order_scale):
    return loc if rv_size_is_none(size) else pt.full(size, loc)


def _sqrt_inv_gamma_logp(value, alpha, beta):
    """Log density of ``sigma`` when ``sigma**2 ~ InverseGamma(alpha, beta)``."""
    logp = (
        alpha * pt.log(beta)
        - pt.gammaln(alpha)
        + pt.log(2.0)
        - (2 * alpha + 1) * pt.log(value)
        - beta / value**2
    )
    return pt.switch(pt.gt(value, 0), logp, -np.inf)


def _sqrt_inv_gamma_random(alpha, beta, rng=None, size=None):
    return 1.0 / np.sqrt(rng.gamma(alpha, 1.0 / beta, size=size))


def _sqrt_inv_gamma_mode(rv, size, alpha, beta):
    mode = pt.sqrt(2 * beta / (2 * alpha + 1))
    return mode if rv_size_is_none(size) else pt.full(size, mode)


def _log_joint(value, w, mu, sigma):
    """``(M, K)``: ``log w_k + log N(value_m | mu_k, sigma_k)``."""
    z = (value[:, None] - mu) / sigma
    return pt.log(w) - pt.log(sigma) - _LOG_SQRT_2PI - 0.5 * z * z


def _weighted_logp(value, w, mu, sigma, counts):
    """Exact: ``counts_m * log p(value_m)`` (all counts 1 for uncompressed data)."""
    return counts * pt.logsumexp(_log_joint(value, w, mu, sigma), axis=-1)


def _binned_logp(value, w, mu, sigma, counts, sumsq):
    """Binned: ``c_j log p(v_j) + s_j / 2 (log p)''(v_j)``, bins' means ``v_j``.

    With responsibilities ``r_k`` at ``v`` and ``g_k = -(v - mu_k) / sigma_k**2`` (the slope
    of component k's log density), ``(log p)' = sum_k r_k g_k`` and
    ``(log p)'' = sum_k r_k (g_k**2 - 1 / sigma_k**2) - (sum_k r_k g_k)**2``.
    """
    joint = _log_joint(value, w, mu, sigma)
    log_p = pt.logsumexp(joint, axis=-1)
    resp = pt.exp(joint - log_p[:, None])
    slope = -(value[:, None] - mu) / sigma**2
    mean_slope = pt.sum(resp * slope, axis=-1)
    curvature = pt.sum(resp * (slope * slope - 1.0 / sigma**2), axis=-1) - mean_slope**2
    return counts * log_p + 0.5 * sumsq * curvature


def _mixture_random(w, mu, sigma, counts, *rest, rng=None, size=None):
    """Draws from the mixture, one per point of ``y`` (the counts are not used)."""
    shape = np.shape(counts) if size is None else size
    w = np.asarray(w, dtype=np.float64)
    label = rng.choice(w.size, p=w / w.sum(), size=shape)
    return rng.normal(np.asarray(mu)[label], np.asarray(sigma)[label])


# --------------------------------------------------------------------------------------------
# EM <-> model
# --------------------------------------------------------------------------------------------


def initial_point(model, em, *, min_weight=MIN_INIT_WEIGHT):
    """EM's estimate as a start for the model's free variables (constrained values).

    Means sorted and strictly increasing, weights floored at ``min_weight`` and renormalized
    (``EMResult.to_initvals``); for the hierarchical prior, ``beta`` at its conditional maximum
    given EM's sigmas. The start is checked to have a finite log density.

    Parameters
    ----------
    model : pymc.Model
        From :func:`build_model`.
    em : EMResult
        Same number of components as the model.
    min_weight : float

    Returns
    -------
    dict
        ``{"w": (K,), "mu": (K,), "sigma": (K,)}`` plus ``"beta"`` (float) when the model has it.

    Raises
    ------
    ModelMismatchError
        The start has a non-finite log density (e.g. a zero sigma).
    """
    _check_pair(model, em)
    start = em.to_initvals(min_weight)
    # Equal weights (two equal clusters) put the simplex coordinate's gradient at exactly 0,
    # which nutpie rejects as a "bad initial gradient"; a 1e-6 relative tilt avoids it.
    tilted = start["w"] * (1 + 1e-6 * np.arange(1, start["w"].size + 1))
    start["w"] = tilted / tilted.sum()
    if "beta" in model.named_vars:
        start["beta"] = model_priors(model).sigma.beta_hat(start["sigma"] ** 2)
    logp = float(_compiled_logp(model)(to_value_space(model, start)))
    if not np.isfinite(logp):
        raise ModelMismatchError(
            f"EM's estimate is not a valid start: the model's log density there is {logp} "
            f"(w={start['w'].tolist()}, mu={start['mu'].tolist()}, "
            f"sigma={start['sigma'].tolist()})"
        )
    return start


def _compiled_logp(model):
    """The model's full log density (jacobian included), compiled once per model."""
    fn = _LOGP.get(model)
    if fn is None:
        fn = _LOGP[model] = model.compile_logp()
    return fn


def to_value_space(model, point):
    """Map constrained values ``{rv name: value}`` to the model's value variables.

    Uses each free variable's transform (``model.rvs_to_transforms``, ``transform.forward``),
    so the result is what the sampler sees: e.g. ``{"w_simplex__": ..., "mu_softordered__":
    ..., "sigma_log__": ...}``.
    """
    names, fn = _forward_fn(model)
    values = fn(*(np.asarray(point[rv.name], dtype=np.float64) for rv in model.free_RVs))
    return {
        name: np.asarray(value, dtype=np.float64) for name, value in zip(names, values, strict=True)
    }


def _forward_fn(model):
    """``(value names, f)``: ``f(*constrained values of model.free_RVs)`` -> value-space values,
    compiled once per model (the transforms' data containers are read at each call)."""
    cached = _FORWARD.get(model)
    if cached is None:
        import pytensor

        inputs, outputs = [], []
        for rv in model.free_RVs:
            value = rv.type()
            transform = model.rvs_to_transforms.get(rv)
            inputs.append(value)
            outputs.append(
                value if transform is None else transform.forward(value, *rv.owner.inputs)
            )
        names = [model.rvs_to_values[rv].name for rv in model.free_RVs]
        fn = pytensor.function(inputs, outputs, on_unused_input="ignore", mode="FAST_COMPILE")
        cached = _FORWARD[model] = (names, fn)
    return cached


def check_model(model, em, *, rtol=None):
    """Check that the model's likelihood at EM's estimate is EM's own log-likelihood.

    Evaluates ``model.compile_logp(vars=[model["y"]], jacobian=False)`` at EM's weights, means
    and sigmas (mapped into the value space by each variable's transform) and compares it with
    ``em.log_likelihood``. This catches a model written in other units, on other data, with
    variances where standard deviations belong, or any other likelihood that is not EM's.

    Parameters
    ----------
    model : pymc.Model
        With free variables ``w``, ``mu``, ``sigma`` and observed ``y``.
    em : EMResult
        An estimate for the same data (``fit_em``, ``fit_sklearn`` or MAP-EM).
    rtol : float, optional
        Relative tolerance: ``CHECK_RTOL`` (1e-8) for an exact likelihood (compressed or
        not: the counts-weighted sum over distinct values is the same sum), and
        ``BINNED_CHECK_RTOL`` (1e-5) for a binned one, whose approximation error this allows.

    Returns
    -------
    float
        The model's log-likelihood at EM's estimate.

    Raises
    ------
    ModelMismatchError
        The two log-likelihoods differ by more than ``rtol`` (the message gives both), or the
        model lacks ``w``, ``mu``, ``sigma`` or ``y``, or its number of components or
        observations differs from EM's.
    """
    _check_pair(model, em)
    point = {"w": np.array(em.weights), "mu": np.array(em.means), "sigma": np.array(em.sigmas)}
    initial = model.initial_point()
    for rv in model.free_RVs:  # other free variables (e.g. beta) do not enter y's density
        if rv.name not in point:
            value_name = model.rvs_to_values[rv].name
            transform = model.rvs_to_transforms.get(rv)
            raw = initial[value_name]
            point[rv.name] = (
                raw if transform is None else transform.backward(pt.as_tensor_variable(raw)).eval()
            )
    with np.errstate(divide="ignore"):
        logp_fn = model.compile_logp(vars=[model["y"]], jacobian=False)
        model_ll = float(logp_fn(to_value_space(model, point)))
    em_ll = float(em.log_likelihood)
    binned = model in _DATA and _DATA[model].likelihood == "binned"
    if rtol is None:
        rtol = BINNED_CHECK_RTOL if binned else CHECK_RTOL
    if not np.isclose(model_ll, em_ll, rtol=rtol, atol=0.0):
        rel = abs(model_ll - em_ll) / max(abs(em_ll), np.finfo(float).tiny)
        raise ModelMismatchError(
            f"the model's log-likelihood at EM's estimate is {model_ll!r} but EM's is {em_ll!r} "
            f"(relative difference {rel:.3g} > rtol={rtol:g}): the model is not the mixture EM "
            "fitted (other data, units, or likelihood)"
            + (
                "; with a binned likelihood, bins too coarse for the narrowest component also "
                "cause this (use a smaller bin_width)"
                if binned
                else ""
            )
        )
    return model_ll


def _check_pair(model, em):
    if not isinstance(em, EMResult):
        raise TypeError(f"em must be a gmm_bayes.EMResult, got {type(em).__name__}")
    if not isinstance(model, pm.Model):
        raise TypeError(f"model must be a pymc.Model, got {type(model).__name__}")
    missing = [name for name in ("w", "mu", "sigma", "y") if name not in model.named_vars]
    if missing:
        raise ModelMismatchError(
            f"model has no variable(s) {missing}; build it with gmm_bayes.build_model"
        )
    k = len(model.coords.get("component", ())) or int(model["mu"].type.shape[-1] or 0)
    if k != em.n_components:
        raise ModelMismatchError(
            f"model has {k} components but the EM estimate has {em.n_components}"
        )
    n = _n_obs(model)
    if n != em.n_obs:
        raise ModelMismatchError(
            f"model observes {n} values but the EM estimate was fitted to {em.n_obs}"
        )


def _n_obs(model):
    if model in _DATA:
        return _DATA[model].n_obs
    data = model.rvs_to_values[model["y"]]
    value = getattr(data, "data", None)
    if value is None:
        value = data.eval()
    return int(np.size(value))
