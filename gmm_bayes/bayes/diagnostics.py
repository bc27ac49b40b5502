"""Typed convergence diagnostics of a posterior sample, and the multimodality analysis.

:func:`diagnose` returns a :class:`Diagnostics` whose :class:`Status` is what the report and
every table read; the verdict text is written from its fields, for people, and is never parsed.
R-hat, ESS and BFMI come from arviz_stats (``azs.rhat``, ``azs.ess``, ``azs.bfmi``:
``azs.diagnose`` gives values for failing parameters only, and the fields need the extremes
over all of them). The package's own part is the multimodality analysis: which mode each draw
belongs to (:mod:`~gmm_bayes.bayes.modes`, landmarks EM's local maxima).

The rank plot's multi-chain uniformity test (:mod:`~gmm_bayes.bayes.rank_test`, per
parameter) counts too, so the badge never contradicts the rank plot beside it: a parameter with
p < ``RANK_P_MIN`` makes the sample CAUTION, naming the parameters, not NOT CONVERGED. The test
asks R-hat's question (do the chains sample one distribution?) with more power: when R-hat and
ESS pass it flags differences in a tail or a shoulder, too small to move means and intervals
beyond their Monte Carlo error (galaxy K=3, nutpie, seed 0: R-hat 1.003, mu[2] at
p = 0.0004 and w[2] at 0.0008 on chains thinned to their ESS, where sigma[2]'s p = 0.013 on every
draw rises to 0.71: autocorrelation, not disagreement), and with
3K - 1 parameters at the 1% level some well-mixed samples fail it by chance (about 8% at
K = 3), which must not discard a posterior.

SMC samples (runs of :mod:`~gmm_bayes.bayes.smc`) are judged differently: their
particles are no Markov chains, so R-hat, ESS and BFMI are reported but do not decide. The SMC
rule: every run finished its tempering (log evidence finite), the runs agree on the mode
weights within ``SMC_WEIGHT_TOL`` (0.1 absolute) and every run keeps at least
``SMC_DISTINCT_MIN`` (half) of its particles distinct after the last resampling.
"""

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np
import xarray as xr

from gmm_bayes.bayes.maxima import tree_maxima
from gmm_bayes.bayes.modes import VISIT_FRACTION, assign_modes
from gmm_bayes.bayes.rank_test import rank_uniformity_p_values
from gmm_bayes.bayes.status import (
    BFMI_MIN,
    DISAGREE_TV,
    ESS_PER_CHAIN_MIN,
    RANK_P_MIN,
    RHAT_MAX,
    SMC_DISTINCT_MIN,
    SMC_WEIGHT_TOL,
    Status,
)
from gmm_bayes.bayes.verdict import write_verdict

__all__ = [
    "BFMI_MIN",
    "ESS_PER_CHAIN_MIN",
    "RANK_P_MIN",
    "RHAT_MAX",
    "SMC_DISTINCT_MIN",
    "SMC_WEIGHT_TOL",
    "VISIT_FRACTION",
    "Diagnostics",
    "Status",
    "diagnose",
]

#: the sample_stats flag of a transition that hit NUTS's maximum tree depth (nutpie, PyMC)
_TREEDEPTH_STATS = ("maxdepth_reached", "reached_max_treedepth")


@dataclass(frozen=True)
class Diagnostics:
    """Convergence summary of a posterior sample, with a plain-language verdict.

    Attributes
    ----------
    n_divergent : int
        Divergent transitions after tuning, all chains.
    n_max_treedepth : int
        Transitions that hit NUTS's maximum tree depth, all chains.
    max_rhat : float
        Largest rank-normalized split R-hat over the posterior's variables (``w``, ``mu``,
        ``sigma``, and ``beta`` for the hierarchical prior); constant ones (``w`` when K=1)
        are skipped.
    min_ess_bulk, min_ess_tail : float
        Smallest bulk and tail effective sample sizes.
    bfmi : ndarray, shape (chains,)
        Energy Bayesian fraction of missing information per chain.
    chain_start : ndarray of int, shape (chains,)
        EM local maximum each chain started at (-1 when unknown or SMC).
    chain_mode : ndarray of int, shape (chains,)
        Mode (:func:`~gmm_bayes.bayes.modes.assign_modes`, heaviest first) holding most of
        each chain's draws.
    mode_fraction : ndarray, shape (chains, modes)
        Fraction of each chain's draws in each mode.
    converged : bool
        NUTS: no divergences, R-hat <= ``RHAT_MAX``, bulk and tail ESS >= ``ESS_PER_CHAIN_MIN``
        per chain, BFMI >= ``BFMI_MIN``. SMC: the module docstring's rule.
    multimodal : bool
        Draws gather in more than one mode and the chains disagree on the split (total
        variation >= ``DISAGREE_TV``).
    status : Status
        The one-word health of the sample (:class:`Status` lists the conditions);
        :attr:`Status.trustworthy` says whether its summaries can be reported.
    verdict : str
        The summary in words, written from the fields above (for people; code reads
        ``status`` and the fields).
    mode_maximum : ndarray of int, shape (modes,)
        EM local maximum each mode contains (-1: a mode EM did not find).
    sampler : str
        "nuts" or "smc": the sampler of the draws judged.
    log_evidence : ndarray, shape (chains,)
        SMC: each run's log marginal likelihood (nan for NUTS).
    n_stages : ndarray of int, shape (chains,)
        SMC: tempering stages of each run (0 for NUTS).
    distinct_particles : ndarray, shape (chains,)
        SMC: fraction of each run's particles that are distinct (nan for NUTS).
    sigma_outside_prior : tuple of int
        Components whose EM sigma lies outside the central 95% of the sigma prior.
    sampler_note : str
        Why these draws come from this sampler (``sampler="auto"``), or "".
    rank_parameters : tuple of str
        The parameters the rank test ran on (``"w[0]"``, ``"mu[1]"``, ...; components from 0;
        ``"mu[1,0]"``: component 1, dim 0 for (N, d) data; constant ones and repeats of
        another's ranks are skipped).
    rank_p_values : ndarray, shape (len(rank_parameters),)
        Each parameter's p-value of the multi-chain rank uniformity test on the fractional
        ranks of its draws, each chain thinned to about its effective sample size
        (:func:`~gmm_bayes.bayes.rank_test.thinning_steps`): the test ``arviz_plots.plot_rank``
        highlights (arviz_stats' ``mchain_uniformity_test``, computed faster by
        :mod:`~gmm_bayes.bayes.rank_test`); small: the chains (SMC runs) do not sample the
        same distribution of that parameter.
    """

    n_divergent: int
    n_max_treedepth: int
    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    bfmi: np.ndarray
    chain_start: np.ndarray
    chain_mode: np.ndarray
    mode_fraction: np.ndarray
    converged: bool
    multimodal: bool
    status: Status
    verdict: str = ""
    mode_maximum: np.ndarray | None = None
    sampler: str = "nuts"
    log_evidence: np.ndarray | None = None
    n_stages: np.ndarray | None = None
    distinct_particles: np.ndarray | None = None
    sigma_outside_prior: tuple = ()
    sampler_note: str = ""
    rank_parameters: tuple = ()
    rank_p_values: np.ndarray | None = None

    @property
    def headline(self):
        """The verdict's first sentence."""
        head, sep, _ = self.verdict.partition(". ")
        return head + "." if sep else self.verdict

    @property
    def rank_failures(self):
        """The parameters whose rank test fails (p < ``RANK_P_MIN``), worst first, as
        ``(name, p)`` pairs."""
        if self.rank_p_values is None:
            return ()
        order = np.argsort(self.rank_p_values, kind="stable")
        return tuple(
            (self.rank_parameters[i], float(self.rank_p_values[i]))
            for i in order
            if self.rank_p_values[i] < RANK_P_MIN
        )

    @property
    def visited(self):
        """Indices of the modes holding at least ``VISIT_FRACTION`` of all draws."""
        return np.flatnonzero(self.mode_fraction.mean(axis=0) >= VISIT_FRACTION)

    @property
    def mode_weight_spread(self):
        """Largest difference between two chains' (runs') fractions of one mode."""
        fraction = self.mode_fraction
        return float(np.max(fraction.max(axis=0) - fraction.min(axis=0)))

    @property
    def chains_disagree(self):
        """True when two chains split their draws over the modes very differently (total
        variation distance of at least ``DISAGREE_TV``)."""
        fraction = self.mode_fraction
        tv = 0.5 * np.abs(fraction[:, None, :] - fraction[None, :, :]).sum(axis=-1)
        return bool(tv.max() >= DISAGREE_TV)

    def to_dataset(self):
        """The summary as an ``xarray.Dataset`` (status, verdict and flags in its attributes)."""
        n_chains, n_modes = self.mode_fraction.shape
        return xr.Dataset(
            {
                "n_divergent": ((), self.n_divergent),
                "n_max_treedepth": ((), self.n_max_treedepth),
                "max_rhat": ((), self.max_rhat),
                "min_ess_bulk": ((), self.min_ess_bulk),
                "min_ess_tail": ((), self.min_ess_tail),
                "bfmi": ("chain", self.bfmi),
                "chain_start": ("chain", self.chain_start),
                "chain_mode": ("chain", self.chain_mode),
                "mode_fraction": (("chain", "mode"), self.mode_fraction),
                "mode_maximum": ("mode", _or(self.mode_maximum, np.arange(n_modes))),
                "log_evidence": ("chain", _or(self.log_evidence, np.full(n_chains, np.nan))),
                "n_stages": ("chain", _or(self.n_stages, np.zeros(n_chains, np.int64))),
                "distinct_particles": (
                    "chain",
                    _or(self.distinct_particles, np.full(n_chains, np.nan)),
                ),
                "sigma_outside_prior": ("outside", np.array(self.sigma_outside_prior, np.int64)),
                "rank_p_value": ("parameter", _or(self.rank_p_values, np.zeros(0))),
            },
            coords={
                "chain": np.arange(n_chains),
                "mode": np.arange(n_modes),
                "parameter": np.array(self.rank_parameters, dtype=str),
            },
            attrs={
                "verdict": self.verdict,
                "converged": int(self.converged),
                "multimodal": int(self.multimodal),
                "status": self.status.value,
                "sampler": self.sampler,
                "sampler_note": self.sampler_note,
            },
        )

    @classmethod
    def from_dataset(cls, ds):
        """The inverse of :meth:`to_dataset` (e.g. the ``diagnostics`` group of a posterior)."""

        def array(name, dtype):
            return np.atleast_1d(np.asarray(ds[name].values, dtype=dtype))

        return cls(
            n_divergent=int(ds["n_divergent"]),
            n_max_treedepth=int(ds["n_max_treedepth"]),
            max_rhat=float(ds["max_rhat"]),
            min_ess_bulk=float(ds["min_ess_bulk"]),
            min_ess_tail=float(ds["min_ess_tail"]),
            bfmi=array("bfmi", np.float64),
            chain_start=array("chain_start", np.int64),
            chain_mode=array("chain_mode", np.int64),
            mode_fraction=np.asarray(ds["mode_fraction"].values, dtype=np.float64),
            converged=bool(ds.attrs["converged"]),
            multimodal=bool(ds.attrs["multimodal"]),
            status=Status(ds.attrs["status"]),
            verdict=str(ds.attrs["verdict"]),
            mode_maximum=array("mode_maximum", np.int64),
            sampler=str(ds.attrs["sampler"]),
            log_evidence=array("log_evidence", np.float64),
            n_stages=array("n_stages", np.int64),
            distinct_particles=array("distinct_particles", np.float64),
            sigma_outside_prior=tuple(int(v) for v in ds["sigma_outside_prior"].values),
            sampler_note=str(ds.attrs["sampler_note"]),
            **_rank_fields(ds),
        )


def _rank_fields(ds):
    """The rank test's fields of a stored dataset (absent in trees written before it)."""
    if "rank_p_value" not in ds:
        return {}
    return {
        "rank_parameters": tuple(str(v) for v in ds["parameter"].values),
        "rank_p_values": np.asarray(ds["rank_p_value"].values, dtype=np.float64),
    }


def _or(value, default):
    return default if value is None else value


def diagnose(idata):
    """Divergences, R-hat, ESS, BFMI, tree depth, and which EM local maximum each chain stayed
    near: the sample's :class:`Status` and a verdict in words.

    Parameters
    ----------
    idata : xarray.DataTree
        From :func:`gmm_bayes.sample_posterior` (needs ``posterior``, ``sample_stats`` and, to
        name modes, the ``em`` group).

    Returns
    -------
    Diagnostics

    Examples
    --------
    Four chains of independent draws around one EM maximum:

    >>> rng = np.random.default_rng(0)
    >>> dims, shape = ("chain", "draw", "component"), (4, 500, 1)
    >>> post = xr.Dataset({"w": (dims, np.ones(shape)), "mu": (dims, rng.normal(size=shape)),
    ...                    "sigma": (dims, np.exp(0.1 * rng.normal(size=shape)))})
    >>> stats = xr.Dataset({"energy": (("chain", "draw"), rng.normal(size=shape[:2]))})
    >>> d = diagnose(xr.DataTree.from_dict({"posterior": post, "sample_stats": stats}))
    >>> d.status, d.headline
    (<Status.OK: 'OK'>, 'OK: no sampling problems detected.')
    """
    everything = idata["posterior"].to_dataset()  # w, mu, sigma (and beta)
    n_chains = everything.sizes["chain"]
    stats = idata["sample_stats"].to_dataset()
    smc = "log_marginal_likelihood" in stats
    n_div = int(stats["diverging"].sum()) if "diverging" in stats else 0
    n_depth = sum(int(stats[name].sum()) for name in _TREEDEPTH_STATS if name in stats)
    rhat, ess_bulk, ess_tail, bfmi = _standard_checks(idata, everything, smc)
    modes = assign_modes(idata)
    start = (
        np.asarray(idata["em"]["chain_start"].values, dtype=np.int64)
        if not smc and "em" in idata.children and "chain_start" in idata["em"]
        else np.full(n_chains, -1)
    )
    finite = all(np.isfinite(everything[name].values).all() for name in everything.data_vars)
    found = Diagnostics(
        n_divergent=n_div,
        n_max_treedepth=n_depth,
        max_rhat=rhat,
        min_ess_bulk=ess_bulk,
        min_ess_tail=ess_tail,
        bfmi=bfmi,
        chain_start=start,
        chain_mode=np.argmax(modes.fraction, axis=1).astype(np.int64),
        mode_fraction=modes.fraction,
        converged=False,
        multimodal=False,
        status=Status.FAILED,
        mode_maximum=modes.em_maximum,
        sigma_outside_prior=_sigma_outside_prior(idata),
        sampler_note=str(idata.attrs.get("sampler_note", "")),
        **_rank_test(everything),
    )
    if smc:
        found = _judge_smc(found, stats, finite)
    else:
        found = _judge_nuts(found, finite)
    return dataclasses.replace(found, verdict=write_verdict(found, tree_maxima(idata)))


def _judge_nuts(d, finite):
    ess_min = ESS_PER_CHAIN_MIN * d.bfmi.size
    mixed = d.max_rhat <= RHAT_MAX and min(d.min_ess_bulk, d.min_ess_tail) >= ess_min
    converged = mixed and d.n_divergent == 0 and bool(np.all(d.bfmi >= BFMI_MIN))
    # Several modes visited is not a problem by itself: chains that agree on the split
    # sample one posterior (short ESS is then NOT CONVERGED, not MULTIMODAL).
    multimodal = bool(d.visited.size > 1 and d.chains_disagree)
    caution = (
        d.visited.size > 1
        or d.n_max_treedepth > 0
        or bool(d.sigma_outside_prior)
        or bool(d.rank_failures)
    )
    status = _status(finite, converged, multimodal, caution)
    return dataclasses.replace(d, converged=converged, multimodal=multimodal, status=status)


def _judge_smc(d, stats, finite):
    evidence = np.asarray(stats["log_marginal_likelihood"].values, dtype=np.float64)
    n_stages = np.asarray(stats["n_stages"].values, dtype=np.int64)
    distinct = np.asarray(stats["distinct_particles"].values, dtype=np.float64)
    finished = bool(np.all(np.isfinite(evidence)))
    converged = bool(
        d.mode_weight_spread <= SMC_WEIGHT_TOL and np.all(distinct >= SMC_DISTINCT_MIN)
    )
    multimodal = bool(d.visited.size > 1 and d.chains_disagree)
    caution = d.visited.size > 1 or bool(d.sigma_outside_prior) or bool(d.rank_failures)
    status = _status(finite and finished, converged, multimodal, caution)
    return dataclasses.replace(
        d,
        converged=converged,
        multimodal=multimodal,
        status=status,
        sampler="smc",
        log_evidence=evidence,
        n_stages=n_stages,
        distinct_particles=distinct,
    )


def _sigma_outside_prior(idata):
    """Components whose EM sigma lies outside the prior's central 95% (stored by
    :func:`gmm_bayes.sample_posterior` in the ``em`` group as ``sigma_prior_low/high``)."""
    if "em" not in idata.children or "sigma_prior_low" not in idata["em"]:
        return ()
    em = idata["em"]
    low, high = float(em["sigma_prior_low"]), float(em["sigma_prior_high"])
    sigma = np.asarray(em["sigma"].values, dtype=np.float64)
    return tuple(int(k) for k in np.flatnonzero((sigma < low) | (sigma > high)))


def _standard_checks(idata, posterior, smc):
    """``(max R-hat, min bulk ESS, min tail ESS, BFMI per chain)`` by arviz_stats (no BFMI
    for SMC: its particles have no energy)."""
    import arviz_stats as azs

    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # constant draws (w with K=1) give nan
        rhat = _extreme(azs.rhat(posterior), max)
        ess_bulk = _extreme(azs.ess(posterior, method="bulk"), min)
        ess_tail = _extreme(azs.ess(posterior, method="tail"), min)
        if smc:
            bfmi = np.full(posterior.sizes["chain"], np.nan)
        else:
            bfmi = np.atleast_1d(np.asarray(azs.bfmi(idata)["energy"].values, dtype=np.float64))
    return rhat, ess_bulk, ess_tail, bfmi


def _rank_test(posterior):
    """``rank_parameters`` and ``rank_p_values``: the multi-chain rank uniformity test of every
    non-constant parameter (what ``arviz_plots.plot_rank`` computes and highlights).

    A parameter of several dims is named by all its indices (``mu[0,1]``: component 0, dim 1).
    A parameter whose ranks repeat another's (a covariance's mirrored entry, a per-column sd
    beside its variance) is tested once, under the name with fewest indices, so that one
    disagreement is not counted twice."""
    import arviz_stats  # noqa: F401  (the .azstats accessor)

    if posterior.sizes["chain"] < 2:
        return {"rank_parameters": (), "rank_p_values": np.zeros(0)}
    dims = ["chain", "draw"]
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        ranks = posterior.azstats.compute_ranks(dim=dims, relative=True)
    names, columns = [], []
    for name, var in sorted(posterior.data_vars.items(), key=lambda item: item[1].ndim):
        values = np.asarray(var.transpose("chain", "draw", ...).values)
        rank = np.asarray(ranks[name].transpose("chain", "draw", ...).values)
        for index in np.ndindex(values.shape[2:]):
            column = rank[(..., *index)]
            if (
                np.ptp(values[(..., *index)]) > 0
                and np.all(np.isfinite(column))
                and not any(np.array_equal(column, seen) for seen in columns)
            ):
                names.append(f"{name}[{','.join(map(str, index))}]" if index else name)
                columns.append(column)
    p_values = rank_uniformity_p_values(np.stack(columns)) if columns else np.zeros(0)
    return {"rank_parameters": tuple(names), "rank_p_values": p_values}


def _extreme(ds, pick):
    values = [float(pick(np.asarray(var.values).ravel())) for var in ds.data_vars.values()]
    values = [v for v in values if np.isfinite(v)]
    return pick(values) if values else float("nan")


def _status(finite, converged, multimodal, caution):
    if not finite:
        return Status.FAILED
    if multimodal:
        return Status.MULTIMODAL
    if not converged:
        return Status.NOT_CONVERGED
    if caution:
        return Status.CAUTION
    return Status.OK
