"""EM, scikit-learn and the posterior joined on one ``component`` coordinate; comparison across K.

Pure functions of results made elsewhere: nothing here fits, samples or refits scikit-learn (the
report, :mod:`gmm_bayes.report.pipeline`, does that and passes the results in).

- :mod:`~gmm_bayes.compare.estimates`: :func:`compare_estimates`, one K's point estimates from
  every method beside the posterior sd and HDI;
- :mod:`~gmm_bayes.compare.components`: :func:`compare_components`, PSIS-LOO, stacking, BIC and
  AIC across K, with each posterior's diagnostics status;
- :mod:`~gmm_bayes.compare.figure_data`: the numbers the report's figures draw
  (:func:`density_curves`, :func:`membership_table`, :func:`chain_means`).

Mixture densities come from :mod:`gmm_bayes.mixture`.
"""

from gmm_bayes.compare._posterior import mixture_log_likelihood
from gmm_bayes.compare.components import SIGN_CONVENTION, compare_components, row_status
from gmm_bayes.compare.estimates import METHOD_LABELS, METHODS, compare_estimates
from gmm_bayes.compare.figure_data import chain_means, density_curves, membership_table

__all__ = [
    "METHODS",
    "METHOD_LABELS",
    "SIGN_CONVENTION",
    "chain_means",
    "compare_components",
    "compare_estimates",
    "density_curves",
    "membership_table",
    "mixture_log_likelihood",
    "row_status",
]
