"""The units EM works in: ``z = (x - loc) / scale`` with the median and a robust scale.

EM commutes with an affine map of the data exactly (the default regularization is relative to
the squared robust scale, and ``tol`` is per observation), so standardizing changes no estimate;
it buys numerical range: data near 1e8 with spread 1, or one outlier 1e12 away, fit as well as
data near 0. Robust statistics keep one huge outlier from squeezing the bulk of the data into a
few ulps of ``z``, and from inflating the relative ``reg_covar`` default.
"""

from dataclasses import dataclass

import numpy as np

from gmm_bayes.exceptions import DataError

__all__ = ["RELATIVE_REG_COVAR", "SCALE_RANGE", "Standardizer", "default_regularization"]

#: default ``reg_covar`` in standardized units: scikit-learn's 1e-6, relative to the scale
RELATIVE_REG_COVAR = 1e-6
#: robust scales allowed: variances must stay representable in float64 once mapped back
SCALE_RANGE = (1e-150, 1e150)


@dataclass(frozen=True)
class Standardizer:
    """The affine map ``z = (x - loc) / scale`` and its inverse on parameters.

    Attributes
    ----------
    loc, scale : float
        The median of the data and its robust scale (``scale > 0``).

    Examples
    --------
    >>> std = Standardizer.of(np.array([1.0, 2.0, 3.0, 4.0, 100.0]))
    >>> std.loc, round(std.scale, 4)
    (3.0, 1.4826)
    >>> std.to_z(np.array([3.0, 100.0])).round(3).tolist()
    [0.0, 65.426]
    """

    loc: float
    scale: float

    @classmethod
    def of(cls, x):
        """Median and robust scale of ``x``: IQR / 1.349, or the sd when over half tie.

        Parameters
        ----------
        x : ndarray, shape (N,)
            Finite float64 values.

        Returns
        -------
        Standardizer
            ``scale = 1`` when every value is the same.

        Raises
        ------
        DataError
            The scale is outside ``SCALE_RANGE``: variances of that order do not fit in float64.
        """
        from scipy.stats import iqr  # imported here: keeps `import gmm_bayes` cheap

        loc = float(np.median(x))
        scale = float(iqr(x, scale="normal"))
        if scale == 0.0:
            spread = float(np.max(np.abs(x - loc)))
            if spread == 0.0:
                return cls(loc, 1.0)
            # divide before squaring so data near 1e200 do not overflow
            scale = spread * float(np.sqrt(np.mean(((x - loc) / spread) ** 2)))
        if not SCALE_RANGE[0] <= scale <= SCALE_RANGE[1]:
            raise DataError(
                f"x has a spread of {scale:.3g}: variances of that order are not representable "
                f"in float64; rescale x (e.g. x / {scale:.0e}) and map the estimates back"
            )
        return cls(loc, scale)

    def to_z(self, x):
        """``(x - loc) / scale`` as a new array (one copy of ``x``, not two)."""
        z = x - self.loc
        z /= self.scale
        return z

    def params_to_z(self, means, variances):
        """Means and variances in standardized units."""
        return (means - self.loc) / self.scale, variances / self.scale**2

    def params_to_x(self, means, variances):
        """Means and variances in the data's units."""
        return means * self.scale + self.loc, variances * self.scale**2


def default_regularization(n_obs, low, high):
    """The default ``reg_covar`` in standardized units, ``RELATIVE_REG_COVAR``.

    Parameters
    ----------
    n_obs : int
    low, high : float
        The data's minimum and maximum.

    Raises
    ------
    DataError
        Every value is the same (``low == high``): the default has no scale to be relative to.

    Examples
    --------
    >>> default_regularization(3, 0.0, 1.0)
    1e-06
    """
    if low == high:
        raise DataError(
            f"all {n_obs} values of x equal {float(low)!r}: a Gaussian mixture has no scale to "
            "fit; pass reg_covar > 0 (in squared units of x) to fit components of that variance"
        )
    return RELATIVE_REG_COVAR
