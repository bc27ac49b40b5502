"""Validation of arrays and options shared by every layer (EM, scikit-learn bridge, PyMC model).

Each check raises ``TypeError`` for a wrong kind of value and ``ValueError`` (``DataError`` for
data) for a wrong value, and the message names the argument and what it received.
"""

import numbers
import operator
import warnings
from contextlib import contextmanager
from decimal import Decimal

import numpy as np

from gmm_bayes.exceptions import DataError


def has_columns(x):
    """Whether ``x`` is a table of d >= 2 columns, shape (N, d): the multivariate path.

    Anything whose shape numpy cannot tell (a ragged list) is not: the univariate validation
    then refuses it with its own message naming the argument.

    Examples
    --------
    >>> has_columns([[1.0, 2.0], [3.0, 4.0]]), has_columns([[1.0], [2.0]])
    (True, False)
    >>> has_columns([[1.0], [2.0, 3.0]])  # ragged: as_data refuses it
    False
    """
    try:
        shape = np.shape(x)
    except ValueError:  # inhomogeneous nesting
        return False
    return len(shape) == 2 and shape[1] >= 2


def short_repr(value):
    """``repr(value)`` cut to 60 characters, for error messages."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def as_data(x, name="x"):
    """Return the observations as a finite float64 vector.

    One rule for every function that takes observations, so nothing is converted silently:

    - Numbers only. Real numeric arrays, lists of numbers and object arrays of real numbers
      (int, float, Fraction, Decimal, numpy scalars) are accepted. Strings, booleans (also one
      inside a list or an object array), complex numbers, ``datetime64`` and ``timedelta64``
      values raise TypeError: convert them to the numbers you mean first.
    - Masked arrays: one without masked values is used as its data; one with masked values raises
      DataError (a masked value is never used): pass ``x.compressed()`` to drop them.
    - Finite values only: nan, inf and None raise DataError, and so does a finite value too large
      for float64 (a huge int, a long double), reported as such.

    Parameters
    ----------
    x : array_like, shape (N,) or (N, 1)
        Real numbers, N >= 1.
    name : str
        Argument name used in error messages.

    Returns
    -------
    ndarray of float64, shape (N,)

    Raises
    ------
    TypeError
        ``x`` is a string or holds something other than real numbers.
    ValueError
        ``x`` is not (N,) or (N, 1).
    DataError
        ``x`` is empty, has masked values, or a value that is missing, non-finite or too large for
        float64.

    Examples
    --------
    >>> as_data([[1], [2.5]])
    array([1. , 2.5])
    >>> as_data(np.ma.masked_array([1.0, 1e6], mask=[False, True]))
    Traceback (most recent call last):
    ...
    gmm_bayes.exceptions.DataError: x has 1 masked value (first at index 1): masked values are \
not used; pass x.compressed() to drop them
    >>> as_data([1.0, True])
    Traceback (most recent call last):
    ...
    TypeError: x must contain real numbers, got a bool True at index 1; booleans are not \
observations (pass numpy.asarray(x, dtype=float) if 0 and 1 are meant)
    """
    if isinstance(x, str | bytes):
        raise TypeError(f"{name} must be an array of numbers, got a string {short_repr(x)}")
    arr = _real_array(x, name)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be one-dimensional (N,) or a single column (N, 1), got shape {arr.shape}"
        )
    if arr.size == 0:
        raise DataError(f"{name} is empty: at least one observation is needed")
    return _finite_float64(arr, name)


def _real_array(x, name):
    """``x`` as an array of real numbers (any real dtype, or object holding real numbers)."""
    if isinstance(x, np.ma.MaskedArray):
        x = _unmasked(x, name)
    try:
        arr = np.asarray(x)
    except ValueError as err:
        raise ValueError(
            f"{name} must be one-dimensional (N,) or a single column (N, 1) of numbers; "
            f"it is not an array ({err})"
        ) from None
    kind = arr.dtype.kind
    if kind in "Mm":
        raise TypeError(
            f"{name} must contain numbers, got {arr.dtype} values (dates or durations); convert "
            f"them to numbers in the unit you mean, e.g. ({name} - {name}.min()) / "
            "numpy.timedelta64(1, 's')"
        )
    if kind in "USV":
        raise TypeError(f"{name} must contain numbers, got dtype {arr.dtype} ({short_repr(x)})")
    if kind == "c":
        raise TypeError(f"{name} must be real, got complex dtype {arr.dtype}")
    if kind == "b":
        raise TypeError(f"{name} must be numbers, got booleans")
    if kind == "O" or isinstance(x, list | tuple):
        # numpy turns a bool inside a list of numbers into 1.0: look at the elements themselves
        return _real_elements(arr if kind == "O" else np.asarray(x, dtype=object), name)
    return arr


def _unmasked(x, name):
    masked = np.ma.getmaskarray(x).ravel()
    if masked.any():
        count = int(masked.sum())
        raise DataError(
            f"{name} has {count} masked value{'s' if count > 1 else ''} (first at index "
            f"{int(np.argmax(masked))}): masked values are not used; pass {name}.compressed() "
            "to drop them"
        )
    return np.ma.getdata(x)


def _real_elements(values, name):
    """``values`` (an object array) after checking that every element is a real number."""
    flat = values.ravel()
    bad_types = {t for t in set(map(type, flat)) if not _is_real_number_type(t)}
    if not bad_types:
        return values
    i, bad = next((i, v) for i, v in enumerate(flat) if type(v) in bad_types)
    if bad is None:
        raise DataError(
            f"{name} has a missing value (None) at index {i}; drop or impute missing values first"
        )
    if isinstance(bad, bool | np.bool_):
        raise TypeError(
            f"{name} must contain real numbers, got a bool {bad} at index {i}; booleans are "
            f"not observations (pass numpy.asarray({name}, dtype=float) if 0 and 1 are meant)"
        )
    raise TypeError(
        f"{name} must contain real numbers only, got {short_repr(bad)} at index {i} "
        f"({type(bad).__name__})"
    )


def _is_real_number_type(t):
    return issubclass(t, numbers.Real | Decimal) and not issubclass(t, bool | np.timedelta64)


def _finite_float64(source, name):
    """``source`` (shape (N,)) as float64; every value must be finite before and after the cast."""
    with np.errstate(over="ignore"):
        try:
            values = source.astype(np.float64, copy=False)
        except OverflowError:  # a Python int or Fraction beyond float64
            values = np.array([_as_float(v) for v in source], dtype=np.float64)
    finite = np.isfinite(values)
    if finite.all():
        return values
    i = int(np.argmin(finite))
    if _is_finite(source[i]):
        raise DataError(
            f"{name} has a value too large for float64 at index {i} ({short_repr(source[i])}; "
            f"the largest float64 is {np.finfo(np.float64).max:.3g}); rescale {name} first"
        )
    raise DataError(
        f"{name} must be finite, got {values[i]} at index {i} "
        f"({int((~finite).sum())} non-finite values in all); drop or impute them first"
    )


def _as_float(value):
    try:
        return float(value)
    except OverflowError:
        return np.inf


def _is_finite(value):
    """Finiteness of one element in its own type (ints and fractions always are)."""
    if isinstance(value, numbers.Rational):
        return True
    if isinstance(value, Decimal):
        return value.is_finite()
    return bool(np.isfinite(value))


def as_int(value, name, *, minimum):
    """Return ``value`` as an int >= ``minimum`` (booleans and floats are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {short_repr(value)}")
    value = operator.index(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def as_n_components(n_components, n_obs):
    """Return K as an int with 1 <= K <= N."""
    k = as_int(n_components, "n_components", minimum=1)
    if k > n_obs:
        raise ValueError(
            f"n_components={k} is larger than the number of observations ({n_obs}); "
            "reduce n_components"
        )
    return k


def as_nonnegative_float(value, name):
    """Return ``value`` as a finite float >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {short_repr(value)}")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


def as_component_vector(value, name, n_components):
    """Return a finite float64 vector of length K, or raise naming ``name``."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of numbers, got {short_repr(value)}") from None
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.ravel()
    if arr.shape != (n_components,):
        raise ValueError(
            f"{name} must have one entry per component, shape ({n_components},), "
            f"got shape {arr.shape}"
        )
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, got {arr.tolist()}")
    return arr


def as_weights(value, n_components, name="weights_init"):
    """Return mixture weights: K non-negative numbers summing to 1 (to 1e-6)."""
    w = as_component_vector(value, name, n_components)
    if (w < 0).any():
        raise ValueError(f"{name} must be non-negative, got {w.tolist()}")
    if abs(w.sum() - 1.0) > 1e-6:
        raise ValueError(f"{name} must sum to 1, got {w.tolist()} (sum {w.sum():.6g})")
    return w / w.sum()


def as_variances(value, n_components, name="variances_init"):
    """Return K strictly positive variances."""
    v = as_component_vector(value, name, n_components)
    if (v <= 0).any():
        raise ValueError(f"{name} must be > 0, got {v.tolist()}")
    return v


def as_positive_float(value, name, *, minimum=0.0, inclusive=False):
    """Return ``value`` as a finite float > ``minimum`` (or >= with ``inclusive``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {short_repr(value)}")
    value = float(value)
    bad = value < minimum if inclusive else value <= minimum
    if not np.isfinite(value) or bad:
        relation = ">=" if inclusive else ">"
        raise ValueError(f"{name} must be a finite number {relation} {minimum:g}, got {value}")
    return value


def as_probability(value, name):
    """Return ``value`` as a float strictly between 0 and 1 (an interval mass, a target rate)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number in (0, 1), got {short_repr(value)}")
    value = float(value)
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be in (0, 1), got {value}")
    return value


@contextmanager
def captured_warnings():
    """Record every warning raised inside the block as one line ``"Category: message"``.

    Yields
    ------
    list of str
        Filled when the block ends, in order, duplicates removed.

    Examples
    --------
    >>> with captured_warnings() as lines:
    ...     warnings.warn("careful", UserWarning)
    >>> lines
    ['UserWarning: careful']
    """
    lines = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield lines
    for w in caught:
        line = f"{w.category.__name__}: {w.message}"
        if line not in lines:
            lines.append(line)
