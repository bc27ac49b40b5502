"""gmm_bayes: Gaussian mixtures fitted by EM first, then by PyMC, and compared honestly.

``import gmm_bayes`` and :func:`fit_em` stay cheap (numpy and scipy only). Names that need PyMC,
ArviZ, xarray or matplotlib are attributes resolved on first use (PEP 562), so warm-start users
never pay for them.
"""

from gmm_bayes import em
from gmm_bayes._lazy import lazy_attributes
from gmm_bayes.data import list_datasets, load_dataset, read_data
from gmm_bayes.em import EMResult, fit_em, fit_sklearn
from gmm_bayes.exceptions import (
    ConvergenceWarning,
    DataError,
    DegenerateFitWarning,
    FitError,
    GMMBayesError,
    HeapingWarning,
    ModelMismatchError,
)

__version__ = "0.1.0"

# public name -> module that defines it; imported on first attribute access
_LAZY = {
    # scikit-learn's estimator interface to fit_em (imports scikit-learn)
    "GaussianMixtureEM": "gmm_bayes.em.estimator",
    "compare_components": "gmm_bayes.compare",
    "compare_estimates": "gmm_bayes.compare",
    # the Bayesian layer (issue 3): Priors is numpy/scipy only; the rest import PyMC
    "Priors": "gmm_bayes.bayes.priors",
    "build_model": "gmm_bayes.bayes.model",
    "check_model": "gmm_bayes.bayes.model",
    "initial_point": "gmm_bayes.bayes.model",
    "sample_posterior": "gmm_bayes.bayes.sampling",
    "membership": "gmm_bayes.bayes.component_membership",
    "diagnose": "gmm_bayes.bayes.diagnostics",
    "Diagnostics": "gmm_bayes.bayes.diagnostics",
    "posterior_modes": "gmm_bayes.bayes.modes",
    "log_evidence": "gmm_bayes.bayes.evidence",
}

__all__ = [
    "ConvergenceWarning",
    "DataError",
    "DegenerateFitWarning",
    "EMResult",
    "FitError",
    "GMMBayesError",
    "HeapingWarning",
    "ModelMismatchError",
    "em",
    "fit_em",
    "fit_sklearn",
    "list_datasets",
    "load_dataset",
    "read_data",
    *_LAZY,
]


__getattr__, __dir__ = lazy_attributes(globals(), _LAZY)
