"""EM and scikit-learn estimates side by side, for the terminal (``gmm-bayes fit``).

For each K, this package's EM and scikit-learn's ``GaussianMixture`` at its defaults, with
weights, means, sigmas, log-likelihood, BIC (lower is better), iterations and convergence. The
full comparison with the posterior is :mod:`gmm_bayes.compare` and :mod:`gmm_bayes.report`.
"""

import warnings

import numpy as np

from gmm_bayes.em import fit_em, fit_sklearn

_FIELDS = ("K", "method", "weights", "means", "sigmas", "log_lik", "BIC", "n_iter", "converged")


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
    list of (int, EMResult, EMResult, list of str)
        ``(K, em_fit, sklearn_fit, warnings)``; scikit-learn runs at its defaults (k-means init,
        ``n_init=1``, ``tol=1e-3``, ``reg_covar=1e-6`` absolute), as users run it.
    """
    out = []
    for k in ks:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            em = fit_em(x, k, random_state=random_state)
            sk = fit_sklearn(x, k, random_state=random_state)
        messages = [f"{w.category.__name__}: {w.message}" for w in caught]
        out.append((k, em, sk, messages))
    return out


def _vector(values, digits):
    return "[" + ", ".join(f"{v:.{digits}g}" for v in np.asarray(values)) + "]"


def fit_rows(k, fit):
    """One table row (list of str) for a fit."""
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
    rows = [list(_FIELDS)] + [fit_rows(k, f) for k, em, sk, _ in results for f in (em, sk)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_FIELDS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)
