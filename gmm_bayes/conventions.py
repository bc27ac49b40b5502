"""Constants shared by several layers, each defined once (numpy-free, import-cheap).

A constant used by one layer only lives in that layer's module.
"""

#: the free parameters of a univariate mixture, in the order every table and figure uses
PARAMS = ("w", "mu", "sigma")
#: probability mass of every reported interval (HDI, membership interval): ArviZ's default
INTERVAL_PROB = 0.94
#: samplers :func:`gmm_bayes.sample_posterior` accepts: NUTS (nutpie, the default, or PyMC's),
#: PyMC's SMC, or "auto" (nutpie, then SMC when the chains sit in different modes)
SAMPLERS = ("nutpie", "pymc", "smc", "auto")
#: EM restarts of the fit that warm-starts a posterior (report, sample_posterior without ``em``)
EM_RESTARTS = 10
