"""Validation of arrays and options shared by every layer (EM, scikit-learn bridge, PyMC model).

Each check raises ``TypeError`` for a wrong kind of value and ``ValueError`` (``DataError`` for
data) for a wrong value, and the message names the argument and what it received.
"""

import numbers
import operator
import warnings
from contextlib import contextmanager

import numpy as np

from gmm_bayes.exceptions import DataError


def short_repr(value):
    """``repr(value)`` cut to 60 characters, for error messages."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def as_data(x, name="x"):
    """Return the observations as a finite float64 vector.

    Parameters
    ----------
    x : array_like, shape (N,) or (N, 1)
        Real numbers; Python lists and integer arrays are accepted.
    name : str
        Argument name used in error messages.

    Returns
    -------
    ndarray, shape (N,)
    """
    if isinstance(x, str | bytes):
        raise TypeError(f"{name} must be an array of numbers, got a string {short_repr(x)}")
    arr = np.asarray(x)
    if arr.dtype.kind in "USO" or arr.dtype.kind == "V":
        if arr.dtype.kind == "O":
            try:
                arr = arr.astype(np.float64)
            except (TypeError, ValueError):
                bad = next((v for v in arr.ravel() if not isinstance(v, numbers.Real)), None)
                raise TypeError(
                    f"{name} must contain real numbers only, got {short_repr(bad)}"
                ) from None
        else:
            raise TypeError(f"{name} must contain numbers, got dtype {arr.dtype} ({short_repr(x)})")
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} must be real, got complex dtype {arr.dtype}")
    if arr.dtype.kind == "b":
        raise TypeError(f"{name} must be numbers, got booleans")
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be one-dimensional (N,) or a single column (N, 1), got shape {arr.shape}"
        )
    if arr.size == 0:
        raise DataError(f"{name} is empty: at least one observation is needed")
    arr = arr.astype(np.float64, copy=False)
    finite = np.isfinite(arr)
    if not finite.all():
        i = int(np.flatnonzero(~finite)[0])
        raise DataError(
            f"{name} must be finite, got {arr[i]} at index {i} "
            f"({int((~finite).sum())} non-finite values in all); drop or impute them first"
        )
    return arr


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
