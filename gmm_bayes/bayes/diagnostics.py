"""Typed convergence diagnostics of a posterior sample, and the multimodality analysis.

:func:`diagnose` returns a :class:`Diagnostics` whose :class:`Status` is what the report and
every table read; the verdict text is written from its fields, for people, and is never parsed.
R-hat, ESS and BFMI come from arviz_stats (``azs.rhat``, ``azs.ess``, ``azs.bfmi``:
``azs.diagnose`` gives values for failing parameters only, and the fields need the extremes
over all of them). The package's own part is which EM local maximum the draws are near
(:mod:`~gmm_bayes.bayes.maxima`).
"""

import dataclasses
import enum
import warnings
from dataclasses import dataclass

import numpy as np
import xarray as xr

from gmm_bayes.bayes.maxima import nearest_maximum_fractions, tree_maxima
from gmm_bayes.conventions import PARAMS

__all__ = [
    "BFMI_MIN",
    "ESS_PER_CHAIN_MIN",
    "RHAT_MAX",
    "VISIT_FRACTION",
    "Diagnostics",
    "Status",
    "diagnose",
]

#: thresholds of convergence (Vehtari et al. 2021; Betancourt 2016)
RHAT_MAX = 1.01
ESS_PER_CHAIN_MIN = 100
BFMI_MIN = 0.3
#: an EM local maximum nearest to at least this fraction of all draws counts as visited
VISIT_FRACTION = 0.02
#: two chains whose splits over the EM maxima differ by this total variation disagree
DISAGREE_TV = 0.5
#: the sample_stats flag of a transition that hit NUTS's maximum tree depth (nutpie, PyMC)
_TREEDEPTH_STATS = ("maxdepth_reached", "reached_max_treedepth")


class Status(enum.Enum):
    """Health of a posterior sample, worst last; :func:`diagnose` gives the worst that applies.

    - OK: no sampling problem.
    - CAUTION: converged, with something worth reading: the draws split between several EM
      local maxima (the chains agreeing on the split), or transitions hit NUTS's maximum tree
      depth (trajectories cut short: slow exploration, which the ESS already counts). The
      report may add its own reasons (high Pareto k).
    - NOT_CONVERGED: R-hat, ESS, BFMI or divergences fail.
    - MULTIMODAL: the draws gather around several EM maxima that the chains did not mix
      between (R-hat or ESS fail).
    - FAILED: no usable draws (some are not finite).

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
        EM local maximum each chain started at (-1 when unknown).
    chain_mode : ndarray of int, shape (chains,)
        EM local maximum nearest to most of each chain's draws.
    mode_fraction : ndarray, shape (chains, maxima)
        Fraction of each chain's draws nearest to each EM local maximum.
    converged : bool
        No divergences, R-hat <= ``RHAT_MAX``, bulk and tail ESS >= ``ESS_PER_CHAIN_MIN`` per
        chain, BFMI >= ``BFMI_MIN``.
    multimodal : bool
        Draws cluster around more than one EM local maximum and the chains did not mix
        between them (R-hat or ESS fail).
    status : Status
        The one-word health of the sample (:class:`Status` lists the conditions);
        :attr:`Status.trustworthy` says whether its summaries can be reported.
    verdict : str
        The summary in words, written from the fields above (for people; code reads
        ``status`` and the fields).
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

    @property
    def headline(self):
        """The verdict's first sentence."""
        head, sep, _ = self.verdict.partition(". ")
        return head + "." if sep else self.verdict

    @property
    def visited(self):
        """Indices of the EM maxima nearest to at least ``VISIT_FRACTION`` of all draws."""
        return np.flatnonzero(self.mode_fraction.mean(axis=0) >= VISIT_FRACTION)

    @property
    def chains_disagree(self):
        """True when two chains split their draws over the EM maxima very differently (total
        variation distance of at least ``DISAGREE_TV``)."""
        fraction = self.mode_fraction
        tv = 0.5 * np.abs(fraction[:, None, :] - fraction[None, :, :]).sum(axis=-1)
        return bool(tv.max() >= DISAGREE_TV)

    def to_dataset(self):
        """The summary as an ``xarray.Dataset`` (status, verdict and flags in its attributes)."""
        chains = np.arange(self.bfmi.size)
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
                "mode_fraction": (("chain", "maximum"), self.mode_fraction),
            },
            coords={"chain": chains, "maximum": np.arange(self.mode_fraction.shape[1])},
            attrs={
                "verdict": self.verdict,
                "converged": int(self.converged),
                "multimodal": int(self.multimodal),
                "status": self.status.value,
            },
        )

    @classmethod
    def from_dataset(cls, ds):
        """The inverse of :meth:`to_dataset` (e.g. the ``diagnostics`` group of a posterior)."""
        return cls(
            n_divergent=int(ds["n_divergent"]),
            n_max_treedepth=int(ds["n_max_treedepth"]),
            max_rhat=float(ds["max_rhat"]),
            min_ess_bulk=float(ds["min_ess_bulk"]),
            min_ess_tail=float(ds["min_ess_tail"]),
            bfmi=np.atleast_1d(np.asarray(ds["bfmi"].values, dtype=np.float64)),
            chain_start=np.atleast_1d(np.asarray(ds["chain_start"].values, dtype=np.int64)),
            chain_mode=np.atleast_1d(np.asarray(ds["chain_mode"].values, dtype=np.int64)),
            mode_fraction=np.asarray(ds["mode_fraction"].values, dtype=np.float64),
            converged=bool(ds.attrs["converged"]),
            multimodal=bool(ds.attrs["multimodal"]),
            status=Status(ds.attrs["status"]),
            verdict=str(ds.attrs["verdict"]),
        )


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
    post = everything[list(PARAMS)]
    n_chains = post.sizes["chain"]
    stats = idata["sample_stats"].to_dataset()
    n_div = int(stats["diverging"].sum()) if "diverging" in stats else 0
    n_depth = sum(int(stats[name].sum()) for name in _TREEDEPTH_STATS if name in stats)
    rhat, ess_bulk, ess_tail, bfmi = _standard_checks(idata, everything)
    maxima = tree_maxima(idata)
    fraction = nearest_maximum_fractions(post, maxima)
    start = (
        np.asarray(idata["em"]["chain_start"].values, dtype=np.int64)
        if "em" in idata.children and "chain_start" in idata["em"]
        else np.full(n_chains, -1)
    )
    ess_min = ESS_PER_CHAIN_MIN * n_chains
    mixed = rhat <= RHAT_MAX and ess_bulk >= ess_min and ess_tail >= ess_min
    converged = mixed and n_div == 0 and bool(np.all(bfmi >= BFMI_MIN))
    visited = np.flatnonzero(fraction.mean(axis=0) >= VISIT_FRACTION)
    # Several EM maxima visited is not a problem by itself: chains that agree (R-hat, ESS fine)
    # on how their draws split between near-duplicate maxima sample one posterior well.
    # A divergence alone is reported as such, not as multimodality.
    multimodal = bool(visited.size > 1 and not mixed)
    finite = all(np.isfinite(everything[name].values).all() for name in everything.data_vars)
    status = _status(finite, converged, multimodal, visited.size > 1, n_depth)
    found = Diagnostics(
        n_divergent=n_div,
        n_max_treedepth=n_depth,
        max_rhat=rhat,
        min_ess_bulk=ess_bulk,
        min_ess_tail=ess_tail,
        bfmi=bfmi,
        chain_start=start,
        chain_mode=np.argmax(fraction, axis=1).astype(np.int64),
        mode_fraction=fraction,
        converged=bool(converged),
        multimodal=multimodal,
        status=status,
    )
    return dataclasses.replace(found, verdict=_verdict(found, maxima))


def _standard_checks(idata, posterior):
    """``(max R-hat, min bulk ESS, min tail ESS, BFMI per chain)`` by arviz_stats."""
    import arviz_stats as azs

    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # constant draws (w with K=1) give nan
        rhat = _extreme(azs.rhat(posterior), max)
        ess_bulk = _extreme(azs.ess(posterior, method="bulk"), min)
        ess_tail = _extreme(azs.ess(posterior, method="tail"), min)
        bfmi = np.atleast_1d(np.asarray(azs.bfmi(idata)["energy"].values, dtype=np.float64))
    return rhat, ess_bulk, ess_tail, bfmi


def _extreme(ds, pick):
    values = [float(pick(np.asarray(var.values).ravel())) for var in ds.data_vars.values()]
    values = [v for v in values if np.isfinite(v)]
    return pick(values) if values else float("nan")


def _status(finite, converged, multimodal, split, n_max_treedepth):
    if not finite:
        return Status.FAILED
    if multimodal:
        return Status.MULTIMODAL
    if not converged:
        return Status.NOT_CONVERGED
    if split or n_max_treedepth > 0:
        return Status.CAUTION
    return Status.OK


# --------------------------------------------------------------------------------------------
# the verdict, written from the fields
# --------------------------------------------------------------------------------------------

_HEADS = {
    Status.FAILED: "FAILED: some draws are not finite (nan or inf); nothing from this sample "
    "can be reported.",
    Status.MULTIMODAL: "MULTIMODAL: the draws gather around several EM local maxima and the "
    "chains {how}; do not report posterior means or intervals as if the sample were one mode.",
    Status.NOT_CONVERGED: "NOT CONVERGED: do not trust these draws yet.",
    Status.CAUTION: "CAUTION: converged, with something worth reading below.",
    Status.OK: "OK: no sampling problems detected.",
}


def _verdict(d, maxima):
    how = "disagree" if d.chains_disagree else "have not mixed well between them"
    parts = [_HEADS[d.status].format(how=how), _facts(d)]
    split = d.visited.size > 1
    if split or d.multimodal:
        parts.append(_mode_story(d, maxima))
        if d.converged and not d.multimodal:
            parts.append("The chains agree on how the draws split between these modes.")
    elif maxima is not None and d.mode_fraction.shape[1] > 1:
        parts.append(f"All chains stayed near EM local maximum {int(d.visited[0])}.")
    if d.n_divergent > 0:
        parts.append(
            "Divergences mean NUTS could not follow the posterior somewhere (results may be "
            "biased): try target_accept=0.95, or stronger priors on sigma."
        )
    if d.n_max_treedepth > 0:
        parts.append(
            f"{d.n_max_treedepth} transitions hit NUTS's maximum tree depth: their trajectories "
            "were cut short, so the sampler explored slowly (the ESS counts this)."
        )
    if d.multimodal:
        parts.append(
            "Compare the modes (or reconsider K); longer chains estimate their weights better."
        )
    elif not d.converged:
        parts.append("Run longer (more tune and draws) or check the model (K too large?).")
    return " ".join(parts)


def _facts(d):
    ess_min = ESS_PER_CHAIN_MIN * d.bfmi.size
    return (
        f"{d.n_divergent} divergent transitions, max R-hat {d.max_rhat:.3f} (want <= "
        f"{RHAT_MAX}), min bulk ESS {d.min_ess_bulk:.0f} and tail ESS {d.min_ess_tail:.0f} "
        f"(want >= {ess_min}), min BFMI {np.min(d.bfmi):.2f} (want >= {BFMI_MIN})."
    )


def _mode_story(d, maxima):
    fraction = d.mode_fraction
    chains = "; ".join(
        f"chain {c}: "
        + ", ".join(
            f"{fraction[c, j]:.0%} near EM local maximum {j}"
            for j in np.argsort(-fraction[c])
            if fraction[c, j] >= 0.005
        )
        for c in range(fraction.shape[0])
    )
    if maxima is None:
        return chains + "."
    described = []
    for j in sorted(set(d.chain_mode.tolist()) | {int(v) for v in d.visited}):
        mu = ", ".join(f"{v:.4g}" for v in maxima["mu"][j])
        w = ", ".join(f"{v:.3f}" for v in maxima["w"][j])
        ll = maxima["log_likelihood"][j]
        described.append(f"maximum {j}: log-likelihood {ll:.2f}, mu = ({mu}), w = ({w})")
    return f"{chains}. EM {'; '.join(described)}."
