"""EM for Gaussian mixtures: numpy and scipy only (numba for speed, dask for chunked data).

- :mod:`~gmm_bayes.em.driver`: :func:`fit_em` (restarts, convergence, warnings) and the seed
  notebook's building blocks :func:`component_logpdf`, :func:`responsibilities`, :func:`m_step`;
- :mod:`~gmm_bayes.em.kernel` / :mod:`~gmm_bayes.em.kernel_numba`: the fused one-pass E/M sweep;
- :mod:`~gmm_bayes.em.dask_source`: the same sweep over the chunks of a dask array;
- :mod:`~gmm_bayes.em.result`: :class:`EMResult`, what every fit returns;
- :mod:`~gmm_bayes.em.sklearn_bridge`: scikit-learn's ``GaussianMixture`` as an :class:`EMResult`.

Importing this package never imports PyMC, ArviZ, xarray or matplotlib.
"""

from gmm_bayes.em.driver import INITS, component_logpdf, fit_em, m_step, responsibilities
from gmm_bayes.em.result import MIN_INIT_WEIGHT, EMResult
from gmm_bayes.em.sklearn_bridge import fit_sklearn
from gmm_bayes.em.steps import Step

__all__ = [
    "INITS",
    "MIN_INIT_WEIGHT",
    "EMResult",
    "Step",
    "component_logpdf",
    "fit_em",
    "fit_sklearn",
    "m_step",
    "responsibilities",
]
