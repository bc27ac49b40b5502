"""The data-source protocol of the EM driver: the data as EM sees them, one pass at a time.

EM needs two things from the data: how many observations there are, and one pass that returns
the log-likelihood at the current parameters with the sufficient statistics of the next M-step.
:class:`DataSource` is that protocol; :class:`InMemorySource` serves a numpy array (through
:mod:`gmm_bayes.em.kernel`) and :class:`gmm_bayes.em.dask_source.StandardizedChunks` the chunks
of a dask array. Sources hold standardized data (:class:`gmm_bayes.em.standardize.Standardizer`).
"""

import abc

from gmm_bayes.em.entropy import classification_entropy
from gmm_bayes.em.kernel import em_pass

__all__ = ["DataSource", "InMemorySource"]


class DataSource(abc.ABC):
    """Standardized observations that EM can pass over.

    Attributes
    ----------
    size : int
        N, the number of observations.
    density : bool
        True (default): the pass's log-likelihood is a log density, which a change of units
        shifts by ``N log(scale)``; False for a log probability (interval data).

    Examples
    --------
    A source that serves every observation twice, without a copy:

    >>> import numpy as np
    >>> class Twice(DataSource):
    ...     def __init__(self, z):
    ...         self.once, self.size = InMemorySource(z), 2 * z.size
    ...     def em_pass(self, weights, means, variances):
    ...         log_likelihood, nk, means, variances = self.once.em_pass(weights, means, variances)
    ...         return 2 * log_likelihood, 2 * nk, means, variances
    >>> round(Twice(np.array([-1.0, 1.0])).em_pass(np.ones(1), np.zeros(1), np.ones(1))[0], 6)
    -5.675754
    """

    size: int
    density = True

    def classification_entropy(self, weights, means, variances):
        """``-sum_n sum_k z_nk log z_nk`` at these parameters (for ICL); NaN when this
        source does not compute it."""
        return float("nan")

    @abc.abstractmethod
    def em_pass(self, weights, means, variances):
        """One E-step over all the data, and the statistics of the next M-step.

        Parameters
        ----------
        weights, means, variances : ndarray, shape (K,)

        Returns
        -------
        log_likelihood : float
            Total at these parameters; NaN when they are not a valid mixture.
        nk, means, variances : ndarray, shape (K,)
            Effective counts (plus ``COUNT_EPS``), weighted means and weighted biased variances.
        """


class InMemorySource(DataSource):
    """An in-memory array as a :class:`DataSource` (the blocked pass of :mod:`~.kernel`).

    Parameters
    ----------
    z : ndarray, shape (N,)
        Standardized observations (not copied).

    Examples
    --------
    >>> import numpy as np
    >>> source = InMemorySource(np.array([-1.0, 1.0]))
    >>> ll, nk, means, variances = source.em_pass(np.ones(1), np.zeros(1), np.ones(1))
    >>> source.size, round(ll, 6), means.tolist(), variances.round(12).tolist()
    (2, -2.837877, [0.0], [1.0])
    """

    def __init__(self, z):
        self.z = z
        self.size = z.size

    def em_pass(self, weights, means, variances):
        return em_pass(self.z, weights, means, variances)

    def classification_entropy(self, weights, means, variances):
        return classification_entropy(self.z, weights, means, variances)
