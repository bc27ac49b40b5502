"""Covariance structures of a mixture: names, M-steps, parameter counts, regularization.

Every covariance here has one canonical shape, (K, d, d), whatever its structure: a tied
covariance is repeated K times, a diagonal one is a diagonal matrix, a spherical one a multiple
of the identity. scikit-learn's own shapes ((d, d) for tied, (K, d) for diag, (K,) for
spherical) are converted at the boundary by :func:`to_sklearn_shape` / :func:`from_sklearn_shape`.

The four structures, with scikit-learn's names and R mclust's model names as aliases:

=============  ======  ================================================  =========================
name           mclust  covariance of component k                         parameters (per mixture)
=============  ======  ================================================  =========================
``full``       VVV     any symmetric positive definite ``S_k``           ``K d (d + 1) / 2``
``tied``       EEE     one ``S`` shared by all components                ``d (d + 1) / 2``
``diag``       VVI     ``diag(s_k1, ..., s_kd)``                         ``K d``
``spherical``  VII     ``s_k I``                                         ``K``
=============  ======  ================================================  =========================

**Regularization that keeps the fit's equivariance.** scikit-learn adds ``reg_covar`` to the
diagonal, in the data's units: fitting ``x A + b`` does not give the fit of ``x`` mapped by the
same map. :func:`default_regularization` adds instead ``RELATIVE_REG_COVAR`` (1e-6) times the
data's robust covariance ``C`` (the minimum covariance determinant estimate, Rousseeuw 1984,
scikit-learn's ``MinCovDet``), projected on the structure: ``C`` for full and tied, its
diagonal for diag, ``trace(C) / d`` times the identity for spherical. In the data's whitened
coordinates ``x C^{-1/2}`` this is the diagonal ``1e-6`` of the univariate engine, and the fit
maps exactly under every transformation its structure allows: any invertible ``A`` for full
and tied, diagonal ``A`` (and permutations) for diag, a multiple of an orthogonal ``A`` for
spherical. MCD is affine equivariant; it is computed on at most ``ROBUST_POINTS`` rows chosen by
position (evenly spaced), never by value, so the subsample does not break the equivariance.
"""

import warnings

import numpy as np

from gmm_bayes._validation import short_repr
from gmm_bayes.em.standardize import RELATIVE_REG_COVAR
from gmm_bayes.exceptions import DataError

#: the covariance structures, scikit-learn's names
COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
#: R mclust's names of the same structures
MCLUST_ALIASES = {"VVV": "full", "EEE": "tied", "VVI": "diag", "VII": "spherical"}
#: rows (at most) on which the robust covariance is computed
ROBUST_POINTS = 2000

__all__ = [
    "COVARIANCE_TYPES",
    "MCLUST_ALIASES",
    "ROBUST_POINTS",
    "covariance_type_name",
    "covariances_from_scatter",
    "default_regularization",
    "from_sklearn_shape",
    "n_parameters",
    "regularization_matrix",
    "robust_covariance",
    "to_sklearn_shape",
]


def covariance_type_name(covariance_type: str) -> str:
    """The scikit-learn name of a covariance structure, given it or its mclust alias.

    Examples
    --------
    >>> covariance_type_name("VVV"), covariance_type_name("diag")
    ('full', 'diag')
    """
    if isinstance(covariance_type, str):
        if covariance_type in COVARIANCE_TYPES:
            return covariance_type
        if covariance_type in MCLUST_ALIASES:
            return MCLUST_ALIASES[covariance_type]
    aliases = ", ".join(f"{a} ({n})" for a, n in MCLUST_ALIASES.items())
    raise ValueError(
        f"covariance_type must be one of {', '.join(COVARIANCE_TYPES)} or an mclust alias "
        f"{aliases}; got {short_repr(covariance_type)}"
    )


def n_parameters(k: int, d: int, covariance_type: str) -> int:
    """Free parameters of a K-component mixture in d dimensions (for BIC, AIC and ICL).

    ``(K - 1)`` weights + ``K d`` means + the covariance parameters: ``K d (d + 1) / 2``
    (full), ``d (d + 1) / 2`` (tied), ``K d`` (diag) or ``K`` (spherical). The same count as
    scikit-learn's ``GaussianMixture._n_parameters`` and mclust's ``nMclustParams``.

    Examples
    --------
    >>> n_parameters(3, 2, "full"), n_parameters(3, 2, "EEE"), n_parameters(3, 1, "spherical")
    (17, 11, 8)
    """
    covariance_type = covariance_type_name(covariance_type)
    per_covariance = {
        "full": k * d * (d + 1) // 2,
        "tied": d * (d + 1) // 2,
        "diag": k * d,
        "spherical": k,
    }[covariance_type]
    return (k - 1) + k * d + per_covariance


def covariances_from_scatter(nk, scatter, covariance_type, reg):
    """The M-step of the covariances, from the weighted scatter matrices.

    Parameters
    ----------
    nk : ndarray, shape (K,)
        Effective counts (sums of responsibilities, plus ``COUNT_EPS`` as in scikit-learn).
    scatter : ndarray, shape (K, d, d)
        ``sum_n r_nk (x_n - m_k)(x_n - m_k)^T`` about the weighted means ``m_k``.
    covariance_type : str
        One of :data:`COVARIANCE_TYPES` or an mclust alias.
    reg : float or ndarray, shape (d, d)
        Added to every covariance: a float on the diagonal (scikit-learn's ``reg_covar``), a
        matrix whole (from :func:`regularization_matrix` or :func:`default_regularization`).

    Returns
    -------
    ndarray, shape (K, d, d)
        The maximum-likelihood covariances under the structure, plus ``reg``: ``S_k / n_k``
        (full); ``sum_k S_k / sum_k n_k`` (tied); the diagonal of ``S_k / n_k`` (diag); its
        mean times the identity (spherical).

    Examples
    --------
    >>> scatter = np.array([[[4.0, 2.0], [2.0, 8.0]]])
    >>> covariances_from_scatter(np.array([2.0]), scatter, "diag", 0.5)
    array([[[2.5, 0. ],
            [0. , 4.5]]])
    """
    nk = np.asarray(nk, dtype=np.float64)
    scatter = np.asarray(scatter, dtype=np.float64)
    k, d = scatter.shape[:2]
    reg = regularization_matrix(reg, d, covariance_type)
    covariance_type = covariance_type_name(covariance_type)
    if covariance_type == "tied":
        shared = scatter.sum(axis=0) / nk.sum()
        return np.broadcast_to((shared + shared.T) / 2 + reg, (k, d, d)).copy()
    full = scatter / nk[:, None, None]
    if covariance_type == "full":
        return (full + full.transpose(0, 2, 1)) / 2 + reg
    variances = np.diagonal(full, axis1=1, axis2=2)
    if covariance_type == "spherical":
        variances = np.broadcast_to(variances.mean(axis=1, keepdims=True), (k, d))
    return _diagonal_matrices(variances) + reg


def regularization_matrix(reg, d, covariance_type):
    """``reg`` as the (d, d) matrix added to each covariance, checked against the structure.

    A float ``r >= 0`` becomes ``r I`` (scikit-learn's ``reg_covar``). A matrix must be
    symmetric positive semi-definite, diagonal for ``diag`` and a multiple of the identity for
    ``spherical`` (else the structure would not be kept).

    Examples
    --------
    >>> regularization_matrix(1e-6, 2, "full")
    array([[1.e-06, 0.e+00],
           [0.e+00, 1.e-06]])
    """
    covariance_type = covariance_type_name(covariance_type)
    matrix = np.asarray(reg, dtype=np.float64)
    if matrix.ndim == 0:
        if not (np.isfinite(matrix) and matrix >= 0):
            raise ValueError(f"reg_covar must be a finite number >= 0, got {short_repr(reg)}")
        return float(matrix) * np.eye(d)
    if matrix.shape != (d, d) or not np.isfinite(matrix).all():
        raise ValueError(
            f"reg_covar must be a number or a finite ({d}, {d}) matrix, got {short_repr(reg)}"
        )
    off_diagonal = matrix - np.diag(np.diag(matrix))
    problem = None
    if not np.array_equal(matrix, matrix.T) or np.linalg.eigvalsh(matrix).min() < 0:
        problem = "not symmetric positive semi-definite"
    elif covariance_type in ("diag", "spherical") and off_diagonal.any():
        problem = f"not diagonal, as covariance_type={covariance_type!r} needs"
    elif covariance_type == "spherical" and np.ptp(np.diag(matrix)) > 0:
        problem = "not a multiple of the identity, as covariance_type='spherical' needs"
    if problem:
        raise ValueError(f"reg_covar matrix is {problem}: {short_repr(reg)}")
    return matrix


def robust_covariance(x):
    """The data's robust covariance: minimum covariance determinant (scikit-learn ``MinCovDet``).

    Parameters
    ----------
    x : ndarray, shape (N, d)

    Returns
    -------
    ndarray, shape (d, d)
        The reweighted MCD estimate on at most :data:`ROBUST_POINTS` evenly spaced rows
        (``random_state=0``); the sample covariance where MCD is singular (more than half the
        rows on a hyperplane, e.g. heavily tied values).

    Raises
    ------
    DataError
        Even the sample covariance is singular: the data lie on a hyperplane.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(2000, 2)) * [1.0, 10.0]
    >>> np.sqrt(np.diag(robust_covariance(x))).round(1)  # sds 1 and 10
    array([1. , 9.7])
    """
    from sklearn.covariance import MinCovDet

    n, d = x.shape
    rows = x[np.linspace(0, n - 1, min(n, ROBUST_POINTS)).astype(np.intp)]
    # MCD's determinant comparisons need columns of comparable scale; per-column robust
    # scaling is itself an affine map, so the estimate stays equivariant
    centre, scale = _column_location_scale(rows)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MCD: "determinant has increased", "not full rank"
        try:
            covariance = MinCovDet(random_state=0).fit((rows - centre) / scale).covariance_
            covariance = covariance * np.outer(scale, scale)
        except (ValueError, np.linalg.LinAlgError):
            covariance = None
    if covariance is None or not _positive_definite(covariance):
        covariance = np.atleast_2d(np.cov(x, rowvar=False, bias=True))
    if not _positive_definite(covariance):
        raise DataError(
            f"x ({n} rows, {d} columns) lies on a hyperplane (its covariance is singular): "
            "drop a column that is a combination of the others, or pass reg_covar > 0"
        )
    return covariance


def default_regularization(x, covariance_type):
    """The default regularization: ``RELATIVE_REG_COVAR`` times the robust covariance.

    Parameters
    ----------
    x : ndarray, shape (N, d)
    covariance_type : str

    Returns
    -------
    ndarray, shape (d, d)
        ``1e-6 C`` (full, tied), ``1e-6 diag(C)`` (diag), ``1e-6 trace(C) / d I`` (spherical),
        ``C`` from :func:`robust_covariance`; see the module docstring for why.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(2000, 2)) * [1.0, 10.0]
    >>> (default_regularization(x, "spherical") / 1e-6).round(1)  # (1 + 100) / 2 expected
    array([[47.4,  0. ],
           [ 0. , 47.4]])
    """
    covariance_type = covariance_type_name(covariance_type)
    c = robust_covariance(x)
    d = c.shape[0]
    if covariance_type == "diag":
        c = np.diag(np.diag(c))
    elif covariance_type == "spherical":
        c = np.trace(c) / d * np.eye(d)
    return RELATIVE_REG_COVAR * (c + c.T) / 2


def to_sklearn_shape(covariances, covariance_type):
    """Canonical (K, d, d) covariances in scikit-learn's shape for the structure.

    Returns
    -------
    ndarray
        (K, d, d) full, (d, d) tied, (K, d) diag, (K,) spherical.

    Examples
    --------
    >>> to_sklearn_shape(np.array([2.0, 3.0])[:, None, None] * np.eye(2), "spherical")
    array([2., 3.])
    """
    covariance_type = covariance_type_name(covariance_type)
    covariances = np.asarray(covariances, dtype=np.float64)
    if covariance_type == "full":
        return covariances.copy()
    if covariance_type == "tied":
        return covariances[0].copy()
    variances = np.diagonal(covariances, axis1=1, axis2=2).copy()
    return variances if covariance_type == "diag" else variances[:, 0]


def from_sklearn_shape(values, covariance_type, k, d):
    """scikit-learn's per-structure covariances (or precisions) as canonical (K, d, d) matrices.

    Examples
    --------
    >>> from_sklearn_shape(np.array([[1.0, 2.0]]), "diag", 1, 2)
    array([[[1., 0.],
            [0., 2.]]])
    """
    covariance_type = covariance_type_name(covariance_type)
    values = np.asarray(values, dtype=np.float64)
    expected = {"full": (k, d, d), "tied": (d, d), "diag": (k, d), "spherical": (k,)}
    if values.shape != expected[covariance_type]:
        raise ValueError(
            f"covariances for covariance_type={covariance_type!r} must have shape "
            f"{expected[covariance_type]}, got {values.shape}"
        )
    if covariance_type == "full":
        return values.copy()
    if covariance_type == "tied":
        return np.broadcast_to(values, (k, d, d)).copy()
    if covariance_type == "spherical":
        values = np.broadcast_to(values[:, None], (k, d))
    return _diagonal_matrices(values)


def _column_location_scale(x):
    """Per column: median and interquartile range (the absolute deviation or 1 where it is 0)."""
    q1, centre, q3 = np.percentile(x, [25, 50, 75], axis=0)
    scale = q3 - q1
    fallback = np.abs(x - centre).max(axis=0)
    scale = np.where(scale > 0, scale, np.where(fallback > 0, fallback, 1.0))
    return centre, scale


def _diagonal_matrices(variances):
    """(K, d) -> (K, d, d) diagonal matrices."""
    k, d = variances.shape
    out = np.zeros((k, d, d))
    out[:, np.arange(d), np.arange(d)] = variances
    return out


def _positive_definite(matrix) -> bool:
    return bool(np.isfinite(matrix).all()) and np.linalg.eigvalsh(matrix).min() > 0
