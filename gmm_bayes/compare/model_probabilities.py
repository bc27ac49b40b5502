"""Posterior probabilities of K from the log evidence of each K: p(K | y) and Bayes factors.

``p(K | y) = p(y | K) p(K) / sum_J p(y | J) p(J)`` over the K compared, computed in log space.
Its Monte Carlo error comes from the evidences' standard errors by the delta method:
``d p_K / d log p(y | J) = p_K (1[K = J] - p_J)``, the evidences' errors independent.
"""

from collections.abc import Mapping

import numpy as np
from scipy.special import logsumexp

from gmm_bayes._validation import short_repr

__all__ = ["model_probability_columns"]


def model_probability_columns(evidences, ks, k_prior=None):
    """Per-K columns of log evidence, Bayes factors and p(K | y).

    Parameters
    ----------
    evidences : mapping of int to Evidence
        K -> an object with ``log_ml`` and ``se`` (:func:`gmm_bayes.log_evidence`), for every K
        in ``ks``.
    ks : sequence of int
        The K compared, ascending.
    k_prior : mapping of int to float, optional
        Prior probability (or any positive weight: it is normalized over ``ks``) of each K.
        Default: uniform over ``ks``.

    Returns
    -------
    dict of str to ndarray, shape (len(ks),)
        ``log_evidence``, ``log_evidence_se``, ``log_bayes_factor`` (log evidence minus the
        best K's: 0 for the best, negative for the others), ``k_prior``, ``p_k`` (p(K | y)) and
        ``p_k_se`` (its Monte Carlo error).

    Examples
    --------
    >>> from types import SimpleNamespace as Ev
    >>> cols = model_probability_columns({1: Ev(log_ml=-10.0, se=0.0),
    ...                                   2: Ev(log_ml=-10.0 + np.log(3.0), se=0.0)}, [1, 2])
    >>> cols["p_k"].round(6).tolist(), cols["log_bayes_factor"].round(6).tolist()
    ([0.25, 0.75], [-1.098612, 0.0])
    """
    if not isinstance(evidences, Mapping):
        raise TypeError(
            f"evidences must be a mapping of K to gmm_bayes.log_evidence results, got "
            f"{short_repr(evidences)}"
        )
    missing = [k for k in ks if k not in evidences]
    if missing:
        raise ValueError(
            f"evidences has no log evidence for K={', '.join(map(str, missing))}; pass one for "
            "every K compared"
        )
    log_ml = np.array([float(evidences[k].log_ml) for k in ks])
    se = np.array([float(evidences[k].se) for k in ks])
    if not np.isfinite(log_ml).all() or not (np.isfinite(se) & (se >= 0)).all():
        raise ValueError(f"evidences must have finite log_ml and se >= 0, got {log_ml}, {se}")
    prior = _prior(k_prior, ks)
    log_post = log_ml + np.log(prior)
    p = np.exp(log_post - logsumexp(log_post))
    jacobian = p[:, None] * (np.eye(len(ks)) - p[None, :])  # d p_K / d log_ml_J
    return {
        "log_evidence": log_ml,
        "log_evidence_se": se,
        "log_bayes_factor": log_ml - log_ml.max(),
        "k_prior": prior,
        "p_k": p,
        "p_k_se": np.sqrt((jacobian**2) @ (se**2)),
    }


def _prior(k_prior, ks):
    if k_prior is None:
        return np.full(len(ks), 1.0 / len(ks))
    if not isinstance(k_prior, Mapping) or any(k not in k_prior for k in ks):
        raise ValueError(
            f"k_prior must map every K compared ({', '.join(map(str, ks))}) to a positive "
            f"weight, got {short_repr(k_prior)}"
        )
    weights = np.array([float(k_prior[k]) for k in ks])
    if not (np.isfinite(weights) & (weights > 0)).all():
        raise ValueError(f"k_prior weights must be finite and > 0, got {weights.tolist()}")
    return weights / weights.sum()
