"""The units EM works in: ``z = (x - loc) / scale`` with the median and a robust scale.

EM commutes with an affine map of the data exactly (the default regularization is relative to
the squared robust scale, and ``tol`` is per observation), so standardizing changes no estimate;
it buys numerical range: data near 1e8 with spread 1, or one outlier 1e12 away, fit as well as
data near 0. Robust statistics keep one huge outlier from squeezing the bulk of the data into a
few ulps of ``z``, and from inflating the relative ``reg_covar`` default.

What float64 can hold sets the limits, each checked before any square is formed:

- half the range of the data, squared, must be finite, since a variance can be that large
  (data whose squares are all finite pass); one outlier of 1e155 among values near 1 is refused,
  with a rescaling that makes the data fit;
- the robust scale must be at least ``SCALE_MIN``, and the range at most ``DYNAMIC_RANGE_MAX``
  robust scales (values from -1e308 to 1e308 around a bulk 1, 2, 3 are refused: no rescaling
  holds both in float64);
- ``z`` spans at most ``Z_SPAN_MAX`` units: when outliers lie further out than that in robust
  scales, the scale is widened to ``(max - min) / Z_SPAN_MAX``, so that the squares and sums of
  squares of the EM passes stay finite (the default regularization stays relative to the
  robust scale: :func:`default_regularization`).
"""

from dataclasses import dataclass

import numpy as np

from gmm_bayes.exceptions import DataError

__all__ = [
    "DYNAMIC_RANGE_MAX",
    "RELATIVE_REG_COVAR",
    "SCALE_MIN",
    "Z_SPAN_MAX",
    "Standardizer",
    "default_regularization",
]

#: default ``reg_covar`` in standardized units: scikit-learn's 1e-6, relative to the scale
RELATIVE_REG_COVAR = 1e-6
#: largest range of ``z``: squared, 1e300, and sums of 1e8 such squares stay finite
Z_SPAN_MAX = 1e150
#: smallest robust scale: its square, the variance of the bulk, stays a normal float64
SCALE_MIN = 1e-150
#: largest range of the data in robust scales: the bulk's variance in z stays above 1e-200
DYNAMIC_RANGE_MAX = 1e250
#: the largest number whose square float64 holds
_SQRT_MAX = float(np.sqrt(np.finfo(np.float64).max))


@dataclass(frozen=True)
class Standardizer:
    """The affine map ``z = (x - loc) / scale`` and its inverse on parameters.

    Attributes
    ----------
    loc, scale : float
        The median of the data and the scale of ``z`` (``scale > 0``): the robust scale, or
        wider when outliers would put ``z`` beyond ``Z_SPAN_MAX``.
    robust_scale : float, optional
        The data's robust scale (defaults to ``scale``); the default regularization is relative
        to it (:func:`default_regularization`).

    Examples
    --------
    >>> std = Standardizer.of(np.array([1.0, 2.0, 3.0, 4.0, 100.0]))
    >>> std.loc, round(std.scale, 4)
    (3.0, 1.4826)
    >>> std.to_z(np.array([3.0, 100.0])).round(3).tolist()
    [0.0, 65.426]
    >>> wide = Standardizer.of(np.array([1.0, 2.0, 3.0, 4.0, 1e152]))
    >>> float(wide.scale), round(wide.robust_scale, 4)
    (100.0, 1.4826)
    """

    loc: float
    scale: float
    robust_scale: float | None = None

    def __post_init__(self):
        if self.robust_scale is None:
            object.__setattr__(self, "robust_scale", self.scale)

    @classmethod
    def of(cls, x, *, bounds=None):
        """Median and scale of ``x``: IQR / 1.349, the sd when over half tie, or wider.

        Parameters
        ----------
        x : ndarray, shape (N,)
            Finite float64 values (all the data, or a sample of it).
        bounds : (float, float), optional
            The minimum and maximum of all the data when ``x`` is a sample of it.

        Returns
        -------
        Standardizer
            ``scale = 1`` when every value is the same.

        Raises
        ------
        DataError
            The data are too spread out for float64 (see the module docstring for the limits).

        Examples
        --------
        >>> Standardizer.of(np.array([1.0, 2.0, 3.0, 4.0, 1e155]))
        Traceback (most recent call last):
        ...
        gmm_bayes.exceptions.DataError: x has values from 1 to 1e+155: the variances of so wide \
a spread overflow float64; rescale x (e.g. x / 1e+77) and map the estimates back
        """
        low, high = (float(np.min(x)), float(np.max(x))) if bounds is None else map(float, bounds)
        half_range = high / 2 - low / 2  # never overflows
        loc = float(np.median(x))
        robust = _robust_scale(x, loc, half_range)
        if robust == 0.0:
            return cls(loc, 1.0)
        _check_float64_range(robust, half_range, low, high)
        return cls(loc, max(robust, 2 * half_range / Z_SPAN_MAX), robust)

    def to_z(self, x):
        """``(x - loc) / scale`` as a new array (one copy of ``x``, not two)."""
        z = x - self.loc
        z /= self.scale
        return z

    def params_to_z(self, means, variances):
        """Means and variances in standardized units."""
        return (means - self.loc) / self.scale, variances / self.scale / self.scale

    def params_to_x(self, means, variances):
        """Means and variances in the data's units (the scale applied twice: never squared)."""
        return means * self.scale + self.loc, variances * self.scale * self.scale


def _robust_scale(x, loc, half_range):
    """IQR / 1.349, or the sd about the median when over half the values tie; 0 if all do.

    Near float64's largest numbers the quartiles are taken of ``x / 2`` (exact), so that their
    difference cannot overflow; the sd is divided by the largest deviation before squaring.
    """
    from scipy.stats import iqr  # imported here: keeps `import gmm_bayes` cheap

    halve = half_range > _SQRT_MAX
    robust = float(iqr(x / 2 if halve else x, scale="normal")) * (2 if halve else 1)
    if robust > 0.0:
        return robust
    spread = float(np.max(np.abs(x / 2 - loc / 2)))
    if spread == 0.0:
        return 2 * half_range  # a sample of ties from data that do not all tie (dask)
    return 2 * spread * float(np.sqrt(np.mean(((x / 2 - loc / 2) / spread) ** 2)))


def _check_float64_range(robust, half_range, low, high):
    """Refuse data whose variances float64 cannot hold (see the module docstring)."""
    dynamic_range = 2 * (half_range / robust)
    if dynamic_range > DYNAMIC_RANGE_MAX:
        raise DataError(
            f"x has values from {low:.3g} to {high:.3g} around a bulk of spread {robust:.3g}, "
            f"more than {DYNAMIC_RANGE_MAX:.0e} times narrower than the range: float64 cannot "
            "fit both; drop the outliers or fit them separately"
        )
    if half_range > _SQRT_MAX:
        problem = "the variances of so wide a spread overflow float64"
    elif robust < SCALE_MIN:
        problem = f"a spread of {robust:.3g} has variances too small for float64"
    else:
        return
    # dividing by the geometric mean of the bulk's spread and the range centres both in float64
    exponent = int(np.round(np.log10(robust) / 2 + np.log10(max(half_range, robust)) / 2))
    raise DataError(
        f"x has values from {low:.3g} to {high:.3g}: {problem}; rescale x "
        f"(e.g. x / 1e{exponent:+d}) and map the estimates back"
    )


def default_regularization(n_obs, low, high, standardizer=None):
    """The default ``reg_covar`` in standardized units: ``RELATIVE_REG_COVAR`` robust scales.

    Parameters
    ----------
    n_obs : int
    low, high : float
        The data's minimum and maximum.
    standardizer : Standardizer, optional
        The map to ``z``; when its scale was widened beyond the robust scale, the default is
        made smaller by ``(robust_scale / scale) ** 2``, so it stays ``1e-6`` squared robust
        scales in the data's units.

    Raises
    ------
    DataError
        Every value is the same (``low == high``): the default has no scale to be relative to.

    Examples
    --------
    >>> default_regularization(3, 0.0, 1.0)
    1e-06
    >>> default_regularization(3, 0.0, 1e152, Standardizer(0.0, 100.0, 1.0))
    1e-10
    """
    if low == high:
        raise DataError(
            f"all {n_obs} values of x equal {float(low)!r}: a Gaussian mixture has no scale to "
            "fit; pass reg_covar > 0 (in squared units of x) to fit components of that variance"
        )
    if standardizer is None:
        return RELATIVE_REG_COVAR
    return RELATIVE_REG_COVAR * (standardizer.robust_scale / standardizer.scale) ** 2
