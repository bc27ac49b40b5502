"""The classification entropy of a fit, ``-sum_n sum_k z_nk log z_nk``: what ICL adds to BIC.

Computed once, at fit time, on the data the fit saw (:attr:`EMResult.classification_entropy`),
so that :meth:`EMResult.icl` needs no data. Responsibilities do not change under an affine map
of the data, so the standardized data and parameters give the same number.
"""

import numpy as np

from gmm_bayes import mixture

__all__ = ["ENTROPY_BLOCK", "classification_entropy"]

#: observations per block: the (block, K) responsibilities stay small for any N
ENTROPY_BLOCK = 1 << 16


def classification_entropy(z, weights, means, variances):
    """``-sum_n sum_k z_nk log z_nk`` with ``z_nk`` the responsibilities (0 log 0 = 0).

    Parameters
    ----------
    z : ndarray, shape (N,)
    weights, means, variances : ndarray, shape (K,)

    Returns
    -------
    float
        Between 0 (every observation certain of its component) and ``N log K``.

    Examples
    --------
    Two equal components at -1 and 1: the point 0 is shared half and half (entropy log 2),
    the points at -50 and 50 belong to one component each (entropy 0).

    >>> h = classification_entropy(np.array([-50.0, 0.0, 50.0]), np.full(2, 0.5),
    ...                            np.array([-1.0, 1.0]), np.ones(2))
    >>> bool(np.isclose(h, np.log(2)))
    True
    """
    total = 0.0
    for first in range(0, z.size, ENTROPY_BLOCK):
        xs, mus, covs = mixture.univariate(z[first : first + ENTROPY_BLOCK], means, variances)
        with np.errstate(over="ignore", invalid="ignore"):  # a far outlier: its terms are dropped
            log_joint = mixture.log_joint(xs, weights, mus, covs)
            log_r = log_joint - mixture.log_density(xs, weights, mus, covs)[:, None]
            terms = np.exp(log_r) * log_r
        total -= float(np.sum(np.where(np.isfinite(log_r), terms, 0.0)))
    return max(total, 0.0)
