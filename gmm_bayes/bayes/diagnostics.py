"""Typed convergence diagnostics of a posterior sample, and the multimodality analysis.

:func:`diagnose` returns a :class:`Diagnostics` whose :class:`Status` is what the report and
every table read; the verdict text is for people and is never parsed.
"""

import enum
import warnings
from dataclasses import dataclass

import numpy as np
import xarray as xr

from gmm_bayes.conventions import PARAMS as _PARAMS

__all__ = ["BFMI_MIN", "ESS_PER_CHAIN_MIN", "RHAT_MAX", "Diagnostics", "Status", "diagnose"]

#: thresholds of the verdict (Vehtari et al. 2021; Betancourt 2016)
RHAT_MAX = 1.01
ESS_PER_CHAIN_MIN = 100
BFMI_MIN = 0.3
#: an EM local maximum nearest to at least this fraction of all draws counts as visited
VISIT_FRACTION = 0.02


class Status(enum.Enum):
    """Health of a posterior sample, worst last.

    OK: no sampling problem. CAUTION: converged, with something worth reading (the report adds
    high Pareto k here). NOT_CONVERGED: R-hat, ESS, BFMI or divergences fail. MULTIMODAL: the
    draws gather around several EM maxima that the chains did not mix between. FAILED: no
    usable draws (non-finite values).
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
        No divergences, R-hat <= 1.01, ESS >= 100 per chain, BFMI >= 0.3.
    multimodal : bool
        Draws cluster around more than one EM local maximum and the chains did not mix
        between them (chains disagree, or R-hat / ESS fail).
    verdict : str
        The summary in words (for people; code reads ``status`` and the fields).
    status : Status
        The one-word health of the sample; :attr:`Status.trustworthy` says whether its
        summaries can be reported.
    """

    n_divergent: int
    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    bfmi: np.ndarray
    chain_start: np.ndarray
    chain_mode: np.ndarray
    mode_fraction: np.ndarray
    converged: bool
    multimodal: bool
    verdict: str
    status: Status = Status.OK

    @property
    def headline(self):
        """The verdict's first sentence."""
        head, sep, _ = self.verdict.partition(". ")
        return head + "." if sep else self.verdict

    def to_dataset(self):
        """The summary as an ``xarray.Dataset`` (verdict and flags in its attributes)."""
        chains = np.arange(self.bfmi.size)
        return xr.Dataset(
            {
                "n_divergent": ((), self.n_divergent),
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
            max_rhat=float(ds["max_rhat"]),
            min_ess_bulk=float(ds["min_ess_bulk"]),
            min_ess_tail=float(ds["min_ess_tail"]),
            bfmi=np.atleast_1d(np.asarray(ds["bfmi"].values, dtype=np.float64)),
            chain_start=np.atleast_1d(np.asarray(ds["chain_start"].values, dtype=np.int64)),
            chain_mode=np.atleast_1d(np.asarray(ds["chain_mode"].values, dtype=np.int64)),
            mode_fraction=np.asarray(ds["mode_fraction"].values, dtype=np.float64),
            converged=bool(ds.attrs["converged"]),
            multimodal=bool(ds.attrs["multimodal"]),
            verdict=str(ds.attrs["verdict"]),
            status=Status(ds.attrs["status"]),
        )


def diagnose(idata):
    """Divergences, R-hat, ESS, BFMI and which EM local maximum each chain stayed near.

    Parameters
    ----------
    idata : xarray.DataTree
        From :func:`sample_posterior` (needs ``posterior``, ``sample_stats`` and, to name
        modes, the ``em`` group).

    Returns
    -------
    Diagnostics
    """
    import arviz_stats as azs

    everything = idata["posterior"].to_dataset()  # w, mu, sigma (and beta)
    post = everything[list(_PARAMS)]
    n_chains = post.sizes["chain"]
    stats = idata["sample_stats"].to_dataset()
    n_div = int(stats["diverging"].sum()) if "diverging" in stats else 0
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # constant draws (w with K=1) give nan
        rhat = _extreme(azs.rhat(everything), max)
        ess_bulk = _extreme(azs.ess(everything, method="bulk"), min)
        ess_tail = _extreme(azs.ess(everything, method="tail"), min)
        bfmi = np.atleast_1d(np.asarray(azs.bfmi(idata)["energy"].values, dtype=np.float64))
    maxima = _maxima(idata)
    fraction = _mode_fractions(post, maxima)
    start = (
        np.asarray(idata["em"]["chain_start"].values, dtype=np.int64)
        if "em" in idata.children and "chain_start" in idata["em"]
        else np.full(n_chains, -1)
    )
    mixed = (
        rhat <= RHAT_MAX
        and ess_bulk >= ESS_PER_CHAIN_MIN * n_chains
        and ess_tail >= ESS_PER_CHAIN_MIN * n_chains
    )
    converged = mixed and n_div == 0 and bool(np.all(bfmi >= BFMI_MIN))
    modes = np.argmax(fraction, axis=1)
    visited = np.flatnonzero(fraction.mean(axis=0) >= VISIT_FRACTION)
    disagree = _chains_disagree(fraction)
    # Several EM maxima visited is not a problem by itself: chains that agree (R-hat, ESS fine)
    # on how their draws split between near-duplicate maxima sample one posterior well.
    # (a divergence is reported as such, not as multimodality)
    multimodal = bool(visited.size > 1 and not mixed)
    summary = dict(n_div=n_div, rhat=rhat, ess_bulk=ess_bulk, ess_tail=ess_tail, bfmi=bfmi)
    verdict = _verdict(summary, n_chains, converged, multimodal, disagree, fraction, maxima)
    return Diagnostics(
        n_divergent=n_div,
        max_rhat=rhat,
        min_ess_bulk=ess_bulk,
        min_ess_tail=ess_tail,
        bfmi=bfmi,
        chain_start=start,
        chain_mode=modes.astype(np.int64),
        mode_fraction=fraction,
        converged=bool(converged),
        multimodal=multimodal,
        verdict=verdict,
        status=_status(converged, multimodal, post),
    )


def _status(converged, multimodal, post):
    if not all(np.isfinite(post[name].values).all() for name in post.data_vars):
        return Status.FAILED
    if multimodal:
        return Status.MULTIMODAL
    return Status.OK if converged else Status.NOT_CONVERGED


def _chains_disagree(fraction, threshold=0.5):
    """True when two chains split their draws over the EM maxima very differently.

    ``fraction`` has shape (chains, maxima); the test is the largest total-variation distance
    between two chains' splits (0: identical, 1: no maximum in common).
    """
    tv = 0.5 * np.abs(fraction[:, None, :] - fraction[None, :, :]).sum(axis=-1)
    return bool(tv.max() >= threshold)


def _extreme(ds, pick):
    values = [float(pick(np.asarray(var.values).ravel())) for var in ds.data_vars.values()]
    values = [v for v in values if np.isfinite(v)]
    return pick(values) if values else float("nan")


def _maxima(idata):
    """``(M, 3K)`` parameter vectors of EM's local maxima, and their descriptions."""
    if "em" not in idata.children or "maximum_mu" not in idata["em"]:
        return None
    em = idata["em"]
    return {
        "w": np.asarray(em["maximum_w"].values),
        "mu": np.asarray(em["maximum_mu"].values),
        "sigma": np.asarray(em["maximum_sigma"].values),
        "log_likelihood": np.asarray(em["maximum_log_likelihood"].values),
    }


def _mode_fractions(post, maxima):
    """Fraction of each chain's draws nearest (scaled Euclidean) to each EM local maximum."""
    n_chains = post.sizes["chain"]
    if maxima is None:
        return np.ones((n_chains, 1))
    values = {
        name: np.asarray(post[name].transpose("chain", "draw", ...).values) for name in _PARAMS
    }
    scale = _mixture_sd(maxima["w"][0], maxima["mu"][0], maxima["sigma"][0])
    draws = np.concatenate(
        [values["w"], values["mu"] / scale, values["sigma"] / scale], axis=-1
    )  # (C, D, 3K)
    centres = np.concatenate(
        [maxima["w"], maxima["mu"] / scale, maxima["sigma"] / scale], axis=-1
    )  # (M, 3K)
    dist = np.linalg.norm(draws[:, :, None, :] - centres[None, None], axis=-1)  # (C, D, M)
    nearest = np.argmin(dist, axis=-1)
    m = centres.shape[0]
    return np.stack([(nearest == j).mean(axis=1) for j in range(m)], axis=1)


def _mixture_sd(w, mu, sigma):
    mean = float(np.sum(w * mu))
    var = float(np.sum(w * (sigma**2 + (mu - mean) ** 2)))
    return np.sqrt(var) if var > 0 else 1.0


def _verdict(s, n_chains, converged, multimodal, disagree, fraction, maxima):
    ess_min = ESS_PER_CHAIN_MIN * n_chains
    facts = (
        f"{s['n_div']} divergent transitions, max R-hat {s['rhat']:.3f} (want <= {RHAT_MAX}), "
        f"min bulk ESS {s['ess_bulk']:.0f} and tail ESS {s['ess_tail']:.0f} (want >= "
        f"{ess_min}), min BFMI {np.min(s['bfmi']):.2f} (want >= {BFMI_MIN})."
    )
    visited = np.flatnonzero(fraction.mean(axis=0) >= VISIT_FRACTION)
    if multimodal:
        head = (
            "MULTIMODAL: the draws gather around several EM local maxima and the chains "
            + ("disagree" if disagree else "have not mixed well between them")
            + "; do not report posterior means or intervals as if the sample were one mode."
        )
    elif converged:
        head = "OK: no sampling problems detected."
    else:
        head = "NOT CONVERGED: do not trust these draws yet."
    parts = [head, facts]
    if visited.size > 1 or multimodal:
        parts.append(_mode_story(fraction, maxima, visited))
        if converged and not multimodal:
            parts.append("The chains agree on how the draws split between these modes.")
    elif maxima is not None and fraction.shape[1] > 1:
        parts.append(f"All chains stayed near EM local maximum {int(visited[0])}.")
    if s["n_div"] > 0:
        parts.append(
            "Divergences mean NUTS could not follow the posterior somewhere (results may be "
            "biased): try target_accept=0.95, or stronger priors on sigma."
        )
    if multimodal:
        parts.append(
            "Compare the modes (or reconsider K); longer chains estimate their weights better."
        )
    elif not converged:
        parts.append("Run longer (more tune and draws) or check the model (K too large?).")
    return " ".join(parts)


def _mode_story(fraction, maxima, visited):
    modes = np.argmax(fraction, axis=1)
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
    for j in sorted(set(modes.tolist()) | {int(v) for v in visited}):
        mu = ", ".join(f"{v:.4g}" for v in maxima["mu"][j])
        w = ", ".join(f"{v:.3f}" for v in maxima["w"][j])
        ll = maxima["log_likelihood"][j]
        described.append(f"maximum {j}: log-likelihood {ll:.2f}, mu = ({mu}), w = ({w})")
    return f"{chains}. EM {'; '.join(described)}."
