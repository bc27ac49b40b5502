"""EM for Gaussian mixtures: numpy and scipy only (numba for speed, dask for chunked data).

The modules, in the order of a fit:

- :mod:`~gmm_bayes.em.blocks`: the seed notebook's building blocks :func:`component_logpdf`,
  :func:`responsibilities` and :func:`m_step`;
- :mod:`~gmm_bayes.em.standardize`: the units EM works in (median and robust scale);
- :mod:`~gmm_bayes.em.random_state`: the ``random_state`` argument, validated;
- :mod:`~gmm_bayes.em.starts`: k-means++, quantile, random and explicit starts;
- :mod:`~gmm_bayes.em.source`: the data-source protocol (:class:`DataSource`) and the in-memory
  source; :mod:`~gmm_bayes.em.kernel` / :mod:`~gmm_bayes.em.kernel_numba`: its fused one-pass
  E/M sweep; :mod:`~gmm_bayes.em.dask_source`: the same sweep over the chunks of a dask array;
  :mod:`~gmm_bayes.em.resolution`: recording grids, heaps and the interval likelihood of data
  recorded at a resolution; :mod:`~gmm_bayes.em.interval`: the data source that fits it;
- :mod:`~gmm_bayes.em.steps`: the M-step protocol (:class:`Step`), maximum likelihood by default,
  and the covariance types (one variance per component, or one shared: "tied");
- :mod:`~gmm_bayes.em.run`: one EM run from a start to convergence;
- :mod:`~gmm_bayes.em.insertion` and :mod:`~gmm_bayes.em.search`: the search for the best
  maximum (greedy insertion from K-1 components, screened restarts, the restart rule);
- :mod:`~gmm_bayes.em.driver`: :func:`fit_em` (validation, the search, warnings) and
  :func:`fit_source` (a data source plus an in-memory sample for the starts);
- :mod:`~gmm_bayes.em.result`: :class:`EMResult`, what every fit returns;
  :mod:`~gmm_bayes.em.entropy`: its classification entropy (for ICL);
  :mod:`~gmm_bayes.em.standard_errors`: bootstrap and observed-information standard errors;
- :mod:`~gmm_bayes.em.sklearn_bridge`: scikit-learn's ``GaussianMixture`` as an :class:`EMResult`.

(N, d) data, d >= 2 (:func:`fit_em` hands them on):

- :mod:`~gmm_bayes.em.covariance`: the four covariance structures (mclust's aliases), their
  M-steps, parameter counts and the equivariant default regularization;
- :mod:`~gmm_bayes.em.kernel_mv` / :mod:`~gmm_bayes.em.kernel_mv_numba`: the fused (N, d) pass;
- :mod:`~gmm_bayes.em.multivariate`: one run from a start, the principal-axis order;
- :mod:`~gmm_bayes.em.search_mv` and :mod:`~gmm_bayes.em.driver_mv`: the search and
  ``fit_em``'s d >= 2 path; :mod:`~gmm_bayes.em.dask_matrix`: 2-D dask arrays;
- :mod:`~gmm_bayes.em.estimator`: ``GaussianMixtureEM``, scikit-learn's estimator interface
  (imports scikit-learn; not imported here).

Importing this package never imports PyMC, ArviZ, xarray or matplotlib.
"""

from gmm_bayes.em.blocks import component_logpdf, m_step, responsibilities
from gmm_bayes.em.driver import EMOptions, fit_em, fit_source
from gmm_bayes.em.result import MIN_INIT_WEIGHT, EMResult
from gmm_bayes.em.sklearn_bridge import fit_sklearn
from gmm_bayes.em.source import DataSource, InMemorySource
from gmm_bayes.em.starts import INITS
from gmm_bayes.em.steps import MaximumLikelihoodStep, Step

__all__ = [
    "INITS",
    "MIN_INIT_WEIGHT",
    "DataSource",
    "EMOptions",
    "EMResult",
    "InMemorySource",
    "MaximumLikelihoodStep",
    "Step",
    "component_logpdf",
    "fit_em",
    "fit_sklearn",
    "fit_source",
    "m_step",
    "responsibilities",
]
