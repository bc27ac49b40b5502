"""EM and scikit-learn estimates side by side, for the terminal (``gmm-bayes fit``).

For each K, this package's EM and scikit-learn's ``GaussianMixture`` at its defaults, with
weights, means, sigmas, log-likelihood, BIC (lower is better), iterations and convergence. The
full comparison with the posterior is :mod:`gmm_bayes.compare` and :mod:`gmm_bayes.report`.
"""

import numpy as np

from gmm_bayes._validation import captured_warnings
from gmm_bayes.em import fit_em, fit_sklearn

__all__ = ["FIELDS", "em_vs_sklearn", "fit_row", "text_table"]

#: the table's columns
FIELDS = ("K", "method", "weights", "means", "sigmas", "log_lik", "BIC", "n_iter", "converged")


def em_vs_sklearn(x, ks, *, random_state=0):
    """Fit every K with both engines.

    Parameters
    ----------
    x : array_like, shape (N,)
    ks : iterable of int
    random_state : int
        Seed of both engines.

    Returns
    -------
    list of (int, EMResult, EMResult or None, list of str)
        ``(K, em_fit, sklearn_fit, warnings)``; scikit-learn runs at its defaults (k-means init,
        ``n_init=1``, ``tol=1e-3``, ``reg_covar=1e-6`` absolute), as users run it. Where
        scikit-learn fails (e.g. a non-positive-definite covariance on data spanning 1e150),
        its fit is None and the warnings say why.

    Examples
    --------
    >>> import gmm_bayes as gb
    >>> ((k, em, sk, messages),) = em_vs_sklearn(gb.load_dataset("faithful"), [2])
    >>> k, em.method, sk.method, messages
    (2, 'em', 'sklearn', [])
    """
    out = []
    for k in ks:
        with captured_warnings() as messages:
            em = fit_em(x, k, random_state=random_state)
            try:
                sk = fit_sklearn(x, k, random_state=random_state)
            except (ValueError, ArithmeticError, np.linalg.LinAlgError) as err:
                sk, failure = None, f"scikit-learn failed: {err}"
            else:
                failure = None
        out.append((k, em, sk, messages + ([failure] if failure else [])))
    return out


def _vector(values, digits):
    return "[" + ", ".join(f"{v:.{digits}g}" for v in np.asarray(values)) + "]"


def fit_row(k, fit):
    """One table row (list of str, one per :data:`FIELDS`) for a fit.

    Examples
    --------
    >>> import gmm_bayes as gb
    >>> fit_row(1, gb.fit_em(gb.load_dataset("faithful"), 1))[:5]
    ['1', 'gmm_bayes EM', '[1]', '[70.897]', '[13.57]']
    """
    return [
        str(k),
        "gmm_bayes EM" if fit.method == "em" else "scikit-learn",
        _vector(fit.weights, 3),
        _vector(fit.means, 5),
        _vector(fit.sigmas, 4),
        f"{fit.log_likelihood:.4f}",
        f"{fit.bic():.2f}",
        str(fit.n_iter),
        "yes" if fit.converged else "NO",
    ]


def text_table(results):
    """Column-aligned plain-text table of :func:`em_vs_sklearn`'s results, two rows per K."""
    fits = [(k, f) for k, em, sk, _ in results for f in (em, sk) if f is not None]
    rows = [list(FIELDS)] + [fit_row(k, f) for k, f in fits]
    widths = [max(len(r[i]) for r in rows) for i in range(len(FIELDS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)
