"""The ``random_state`` argument of :func:`gmm_bayes.fit_em` and :func:`gmm_bayes.fit_sklearn`.

Accepted: None (fresh entropy), an int in ``0 .. 2**32 - 1`` (a reproducible seed, as
scikit-learn and NumPy's legacy seeding allow) or a ``numpy.random.Generator`` (drawn from, so
several fits can share one stream). Anything else raises, naming ``random_state`` and the value,
instead of whatever NumPy or scikit-learn would say deep inside the fit.
"""

import numbers

import numpy as np

from gmm_bayes._validation import short_repr

__all__ = ["MAX_SEED", "as_generator", "as_seed"]

#: largest int seed accepted (scikit-learn's and ``numpy.random.seed``'s range)
MAX_SEED = 2**32 - 1

_EXPECTED = f"None, an int in [0, {MAX_SEED}] or a numpy.random.Generator"


def as_seed(random_state):
    """Return ``random_state`` validated: None, an int in ``[0, MAX_SEED]`` or a Generator.

    Parameters
    ----------
    random_state : object

    Returns
    -------
    None, int or numpy.random.Generator
        The value itself (a NumPy integer becomes an int).

    Raises
    ------
    TypeError
        Not None, an integer or a Generator (booleans, floats and strings included).
    ValueError
        An integer outside ``[0, MAX_SEED]``.

    Examples
    --------
    >>> as_seed(7)
    7
    >>> as_seed(-1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: random_state must be None, an int in [0, 4294967295] or a ..., got -1; ...
    """
    if random_state is None or isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, bool) or not isinstance(random_state, numbers.Integral):
        raise TypeError(
            f"random_state must be {_EXPECTED}, got {short_repr(random_state)} "
            f"({type(random_state).__name__}); pass e.g. random_state=0"
        )
    if not 0 <= random_state <= MAX_SEED:
        raise ValueError(
            f"random_state must be {_EXPECTED}, got {random_state}; pass e.g. random_state=0"
        )
    return int(random_state)


def as_generator(random_state):
    """A ``numpy.random.Generator`` from a validated ``random_state`` (see :func:`as_seed`).

    A Generator is returned as is (the fit draws from it); the global NumPy RNG is never used.

    Examples
    --------
    >>> float(as_generator(0).random()) == float(np.random.default_rng(0).random())
    True
    """
    return np.random.default_rng(as_seed(random_state))
