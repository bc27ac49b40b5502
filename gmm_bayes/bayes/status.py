"""The one-word health of a posterior sample (:class:`Status`) and the thresholds that decide
it; :func:`gmm_bayes.diagnose` applies them (:mod:`~gmm_bayes.bayes.diagnostics`)."""

import enum

__all__ = [
    "BFMI_MIN",
    "DISAGREE_TV",
    "ESS_PER_CHAIN_MIN",
    "RANK_P_MIN",
    "RHAT_MAX",
    "SMC_DISTINCT_MIN",
    "SMC_WEIGHT_TOL",
    "Status",
]

#: thresholds of convergence (Vehtari et al. 2021; Betancourt 2016)
RHAT_MAX = 1.01
ESS_PER_CHAIN_MIN = 100
BFMI_MIN = 0.3
#: two chains whose splits over the modes differ by this total variation disagree
DISAGREE_TV = 0.5
#: SMC: independent runs whose mode weights differ by more than this (absolute) disagree
SMC_WEIGHT_TOL = 0.1
#: SMC: fewest distinct particles per run after the last resampling, as a fraction of the draws
SMC_DISTINCT_MIN = 0.5
#: a parameter whose chains' rank distributions differ at this p-value gives CAUTION: the
#: multi-chain uniformity test of ArviZ's rank plot, at its default level (1 - envelope_prob)
RANK_P_MIN = 0.01


class Status(enum.Enum):
    """Health of a posterior sample, worst last; :func:`diagnose` gives the worst that applies.

    - OK: no sampling problem.
    - CAUTION: converged, with something worth reading: the draws split between several
      modes (the chains or SMC runs agreeing on the split), transitions hit NUTS's maximum
      tree depth (trajectories cut short: slow exploration, which the ESS already counts),
      the chains' rank distributions of some parameter differ (the rank plot's uniformity
      test, p < ``RANK_P_MIN``), or EM's estimate of a sigma lies outside the central 95% of
      its prior. The report may add
      its own reasons (high Pareto k).
    - NOT_CONVERGED: R-hat, ESS, BFMI or divergences fail (SMC: the runs disagree on the mode
      weights or keep too few distinct particles).
    - MULTIMODAL: the draws gather around several modes and the chains disagree on how the
      draws split between them (NUTS chains sitting in different modes).
    - FAILED: no usable draws (some are not finite, or an SMC run did not finish).

    Examples
    --------
    >>> Status.CAUTION.trustworthy, Status("NOT CONVERGED").trustworthy
    (True, False)
    """

    OK = "OK"
    CAUTION = "CAUTION"
    NOT_CONVERGED = "NOT CONVERGED"
    MULTIMODAL = "MULTIMODAL"
    FAILED = "FAILED"

    @property
    def trustworthy(self):
        """True for OK and CAUTION: the posterior summaries can be reported."""
        return self in (Status.OK, Status.CAUTION)
