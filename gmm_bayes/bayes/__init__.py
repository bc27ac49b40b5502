"""The Bayesian layer: the PyMC marginalized mixture, warm-started and checked by EM.

- :mod:`~gmm_bayes.bayes.priors`: :class:`Priors` (numpy/scipy only) and the MAP-EM step;
- :mod:`~gmm_bayes.bayes.model`: :func:`build_model`, :func:`check_model`, :func:`initial_point`;
- :mod:`~gmm_bayes.bayes.sampling`: :func:`sample_posterior`, :func:`membership`,
  :func:`diagnose`.

Names load on first use: ``gmm_bayes.bayes.Priors`` does not import PyMC.
"""

from gmm_bayes._lazy import lazy_attributes

_LAZY = {
    "Priors": "gmm_bayes.bayes.priors",
    "build_model": "gmm_bayes.bayes.model",
    "check_model": "gmm_bayes.bayes.model",
    "initial_point": "gmm_bayes.bayes.model",
    "sample_posterior": "gmm_bayes.bayes.sampling",
    "membership": "gmm_bayes.bayes.sampling",
    "diagnose": "gmm_bayes.bayes.diagnostics",
    "Diagnostics": "gmm_bayes.bayes.diagnostics",
    "Status": "gmm_bayes.bayes.diagnostics",
}
__all__ = list(_LAZY)
__getattr__, __dir__ = lazy_attributes(globals(), _LAZY)
