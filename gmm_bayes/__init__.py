"""gmm_bayes: Gaussian mixtures fitted by EM first, then by PyMC, and compared honestly.

``import gmm_bayes`` and :func:`fit_em` stay cheap (numpy and scipy only). Names that need PyMC,
ArviZ, xarray or matplotlib are attributes resolved on first use (PEP 562), so warm-start users
never pay for them.
"""

from importlib import import_module

from gmm_bayes import em
from gmm_bayes.data import list_datasets, load_dataset, read_data
from gmm_bayes.em import fit_em
from gmm_bayes.exceptions import (
    ConvergenceWarning,
    DataError,
    DegenerateFitWarning,
    FitError,
    GMMBayesError,
    ModelMismatchError,
)
from gmm_bayes.result import EMResult
from gmm_bayes.sklearn_bridge import fit_sklearn

__version__ = "0.1.0"

# public name -> module that defines it; imported on first attribute access
_LAZY = {
    "compare_components": "gmm_bayes.compare",
    "compare_estimates": "gmm_bayes.compare",
    # the Bayesian layer (issue 3): Priors is numpy/scipy only; the rest import PyMC
    "Priors": "gmm_bayes.priors",
    "build_model": "gmm_bayes.model",
    "check_model": "gmm_bayes.model",
    "initial_point": "gmm_bayes.model",
    "sample_posterior": "gmm_bayes.posterior",
    "membership": "gmm_bayes.posterior",
    "diagnose": "gmm_bayes.posterior",
    "Diagnostics": "gmm_bayes.posterior",
}

__all__ = [
    "ConvergenceWarning",
    "DataError",
    "DegenerateFitWarning",
    "EMResult",
    "FitError",
    "GMMBayesError",
    "ModelMismatchError",
    "em",
    "fit_em",
    "fit_sklearn",
    "list_datasets",
    "load_dataset",
    "read_data",
    *_LAZY,
]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gmm_bayes' has no attribute {name!r}")


def __dir__():
    return sorted(set(__all__) | {"__version__"})
