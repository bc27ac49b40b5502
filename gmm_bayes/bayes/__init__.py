"""The Bayesian layer: the PyMC marginalized mixture, warm-started and checked by EM.

In pipeline order:

- :mod:`~gmm_bayes.bayes.sigma_priors`, :mod:`~gmm_bayes.bayes.priors`,
  :mod:`~gmm_bayes.bayes.map_step`: :class:`Priors` and MAP-EM's step (numpy/scipy only);
  for (N, d) data :mod:`~gmm_bayes.bayes.priors_mv`, :mod:`~gmm_bayes.bayes.map_step_mv`:
  :class:`MultivariatePriors` (numpy/scipy only);
- :mod:`~gmm_bayes.bayes.model_data`, :mod:`~gmm_bayes.bayes.transform`,
  :mod:`~gmm_bayes.bayes.distributions`, :mod:`~gmm_bayes.bayes.model`: the PyMC model,
  :func:`build_model`, :func:`check_model`, :func:`initial_point`;
- :mod:`~gmm_bayes.bayes.maxima`, :mod:`~gmm_bayes.bayes.samplers`, :mod:`~gmm_bayes.bayes.smc`,
  :mod:`~gmm_bayes.bayes.model_cache`, :mod:`~gmm_bayes.bayes.sampling`:
  :func:`sample_posterior`;
- :mod:`~gmm_bayes.bayes.pointwise`, :mod:`~gmm_bayes.bayes.component_membership`,
  :mod:`~gmm_bayes.bayes.modes`, :mod:`~gmm_bayes.bayes.diagnostics`: what the posterior
  tree holds besides the draws, :func:`membership`, :func:`posterior_modes`, :func:`diagnose`;
- :mod:`~gmm_bayes.bayes.evidence_target`, :mod:`~gmm_bayes.bayes.tempered_smc`,
  :mod:`~gmm_bayes.bayes.evidence`: :func:`log_evidence`, the marginal likelihood of each K.

Names load on first use: ``gmm_bayes.bayes.Priors`` does not import PyMC.
"""

from gmm_bayes._lazy import lazy_attributes

_LAZY = {
    "Priors": "gmm_bayes.bayes.priors",
    "MultivariatePriors": "gmm_bayes.bayes.map_step_mv",
    "InverseGamma": "gmm_bayes.bayes.sigma_priors",
    "HierarchicalInverseGamma": "gmm_bayes.bayes.sigma_priors",
    "HalfNormal": "gmm_bayes.bayes.sigma_priors",
    "LogNormal": "gmm_bayes.bayes.sigma_priors",
    "build_model": "gmm_bayes.bayes.model",
    "check_model": "gmm_bayes.bayes.model",
    "initial_point": "gmm_bayes.bayes.model",
    "sample_posterior": "gmm_bayes.bayes.sampling",
    "clear_model_cache": "gmm_bayes.bayes.model_cache",
    "model_cache_info": "gmm_bayes.bayes.model_cache",
    "membership": "gmm_bayes.bayes.component_membership",
    "diagnose": "gmm_bayes.bayes.diagnostics",
    "Diagnostics": "gmm_bayes.bayes.diagnostics",
    "Status": "gmm_bayes.bayes.diagnostics",
    "posterior_modes": "gmm_bayes.bayes.modes",
    "log_evidence": "gmm_bayes.bayes.evidence",
    "Evidence": "gmm_bayes.bayes.evidence",
    "simulation_based_calibration": "gmm_bayes.bayes.calibration",
}
__all__ = list(_LAZY)
__getattr__, __dir__ = lazy_attributes(globals(), _LAZY)
