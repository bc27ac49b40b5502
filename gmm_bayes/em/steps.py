"""The M-step protocol of :func:`gmm_bayes.fit_em`: maximum likelihood, or MAP with priors.

An M-step needs only the sufficient statistics of the E-step: each component's effective count
``nk`` and its weighted mean and (biased) weighted variance, all in the standardized units EM
works in. :class:`Step` is the protocol; :class:`MaximumLikelihoodStep` is the default and
``gmm_bayes.Priors.em_step`` returns the MAP step (a subclass), which ``fit_em`` checks.

The covariance structure is the step's: ``"full"`` (mclust's V, one variance per component)
or ``"tied"`` (mclust's E, one variance shared by all components). The tied M-step pools the
within-component variances, ``sum_k nk var_k / sum_k nk`` (scikit-learn's
``_estimate_gaussian_covariances_tied``), and returns it for every component, so the rest of
EM (passes, search, insertion, collapse rules) keeps working on per-component variances.
"""

import abc
from dataclasses import dataclass

import numpy as np

__all__ = [
    "COVARIANCE_ALIASES",
    "COVARIANCE_TYPES",
    "MaximumLikelihoodStep",
    "Step",
    "as_covariance_type",
    "pooled_variance",
]

#: scikit-learn's names; for univariate data "diag" and "spherical" are the model "full" is
COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
#: mclust's univariate names
COVARIANCE_ALIASES = {"V": "full", "E": "tied"}


def as_covariance_type(covariance_type):
    """The canonical name of ``covariance_type`` (mclust's "V" / "E" map to "full" / "tied").

    For univariate data "diag" and "spherical" are accepted and are the same model as "full"
    (one variance per component); their names are kept, as multivariate data will need them.

    Examples
    --------
    >>> as_covariance_type("E"), as_covariance_type("full")
    ('tied', 'full')
    >>> as_covariance_type("VVV")
    Traceback (most recent call last):
    ...
    ValueError: covariance_type must be one of ('full', 'tied', 'diag', 'spherical') or \
mclust's 'V' (= 'full') / 'E' (= 'tied'), got 'VVV'
    """
    name = COVARIANCE_ALIASES.get(covariance_type, covariance_type)
    if not isinstance(name, str) or name not in COVARIANCE_TYPES:
        raise ValueError(
            f"covariance_type must be one of {COVARIANCE_TYPES} or mclust's 'V' (= 'full') / "
            f"'E' (= 'tied'), got {covariance_type!r}"
        )
    return name


def pooled_variance(nk, variances):
    """The tied model's variance: ``sum_k nk var_k / sum_k nk``, shape (K,) (one value).

    Examples
    --------
    >>> pooled_variance(np.array([1.0, 3.0]), np.array([2.0, 6.0])).tolist()
    [5.0, 5.0]
    """
    nk = np.asarray(nk, dtype=np.float64)
    return np.full(nk.size, np.dot(nk, variances) / nk.sum())


class Step(abc.ABC):
    """One M-step and the objective's extra term.

    Attributes
    ----------
    reg : float
        Added to every variance after the M-step (standardized units).
    covariance_type : {"full", "tied", "diag", "spherical"}
        "tied": one variance shared by all components (every returned variance equal).

    Examples
    --------
    >>> isinstance(MaximumLikelihoodStep(0.0), Step)  # what fit_em checks of a priors' step
    True
    """

    reg: float
    covariance_type: str = "full"

    @property
    def tied(self):
        """True when all components share one variance."""
        return self.covariance_type == "tied"

    @abc.abstractmethod
    def m_step(self, nk, means, variances):
        """``(weights, means, variances)``, each shape (K,), from the E-step's statistics.

        Parameters
        ----------
        nk, means, variances : ndarray, shape (K,)
            Effective counts, weighted means and weighted biased variances.
        """

    @abc.abstractmethod
    def log_prior(self, weights, means, variances):
        """Added to the log-likelihood in the convergence test (0 for maximum likelihood)."""

    def for_components(self, k):
        """The step for a fit with ``k`` components (the search fits fewer on its way to K)."""
        return self

    def constrain(self, weights, means, variances):
        """A start in this step's model: for "tied", every variance replaced by their
        weighted mean (a start with unequal variances is not a tied mixture, and the first
        M-step would seem to lower the likelihood).

        Examples
        --------
        >>> step = MaximumLikelihoodStep(0.0, covariance_type="tied")
        >>> step.constrain(np.array([0.25, 0.75]), np.zeros(2), np.array([1.0, 5.0]))[2].tolist()
        [4.0, 4.0]
        """
        if self.tied:
            weights = np.asarray(weights, dtype=np.float64)
            variances = np.full(weights.size, np.dot(weights, variances) / weights.sum())
        return weights, means, variances


@dataclass(frozen=True)
class MaximumLikelihoodStep(Step):
    """The maximum-likelihood M-step with ``reg`` added to every variance.

    Examples
    --------
    >>> step = MaximumLikelihoodStep(0.1)
    >>> w, mu, var = step.m_step(np.array([1.0, 3.0]), np.zeros(2), np.ones(2))
    >>> w.tolist(), var.tolist()
    ([0.25, 0.75], [1.1, 1.1])
    >>> tied = MaximumLikelihoodStep(0.0, covariance_type="tied")
    >>> tied.m_step(np.array([1.0, 3.0]), np.zeros(2), np.array([2.0, 6.0]))[2].tolist()
    [5.0, 5.0]
    """

    reg: float
    covariance_type: str = "full"

    def __post_init__(self):
        object.__setattr__(self, "covariance_type", as_covariance_type(self.covariance_type))

    def m_step(self, nk, means, variances):
        if self.tied:
            variances = pooled_variance(nk, variances)
        return nk / nk.sum(), means, variances + self.reg

    def log_prior(self, weights, means, variances):
        return 0.0
