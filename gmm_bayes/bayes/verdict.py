"""The verdict of :func:`gmm_bayes.diagnose` in words, written from the typed fields of a
:class:`~gmm_bayes.bayes.diagnostics.Diagnostics` (for people; code reads the fields).

Components, EM local maxima and modes are numbered from 1 in the text, as on the report's pages
(the fields and the tree's coordinates count from 0)."""

import numpy as np

from gmm_bayes.bayes.status import (
    BFMI_MIN,
    ESS_PER_CHAIN_MIN,
    RANK_P_MIN,
    RHAT_MAX,
    SMC_DISTINCT_MIN,
    SMC_WEIGHT_TOL,
    Status,
)

__all__ = ["write_verdict"]


_HEADS = {
    Status.FAILED: "FAILED: some draws are not finite (nan or inf) or an SMC run did not finish; "
    "nothing from this sample can be reported.",
    Status.MULTIMODAL: "MULTIMODAL: the draws gather around several modes and the chains "
    "disagree on how they split; do not report posterior means or intervals as if the sample "
    "were one mode.",
    Status.NOT_CONVERGED: "NOT CONVERGED: do not trust these draws yet.",
    Status.CAUTION: "CAUTION: converged, with something worth reading below.",
    Status.OK: "OK: no sampling problems detected.",
}


def write_verdict(d, maxima):
    """The verdict: the status's head, the sampler's note, the facts, the modes, the warnings.

    Parameters
    ----------
    d : Diagnostics
    maxima : dict or None
        The tree's EM maxima (:func:`~gmm_bayes.bayes.maxima.tree_maxima`).

    Returns
    -------
    str
    """
    parts = [_HEADS[d.status]]
    if d.sampler_note:
        parts.append(d.sampler_note)
    parts.append(_smc_facts(d) if d.sampler == "smc" else _facts(d))
    if d.visited.size > 1 or d.multimodal:
        parts.append(_mode_story(d, maxima))
        if d.converged and not d.multimodal:
            parts.append("The chains agree on how the draws split between these modes.")
    elif maxima is not None and d.mode_fraction.shape[0] and d.mode_maximum is not None:
        stayed = int(d.mode_maximum[d.visited[0]])
        if stayed >= 0 and len(maxima["log_likelihood"]) > 1:
            parts.append(f"All chains stayed near EM local maximum {stayed + 1}.")
    parts.extend(_warnings(d))
    return " ".join(parts)


def _warnings(d):
    parts = []
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
    if d.rank_failures:
        worst = ", ".join(f"{name} (p = {p:.2g})" for name, p in d.rank_failures[:3])
        more = len(d.rank_failures) - 3
        parts.append(
            f"The chains' rank distributions differ for {worst}"
            + (f" and {more} more" if more > 0 else "")
            + f" (rank plot's uniformity test, want p >= {RANK_P_MIN}): they do not yet sample "
            "exactly the same distribution there; run longer before trusting the tails."
        )
    if d.sigma_outside_prior:
        which = ", ".join(str(k + 1) for k in d.sigma_outside_prior)
        parts.append(
            f"EM's sigma of component(s) {which} lies outside the central 95% of the sigma "
            "prior, which pulls the posterior away from it: consider Priors.small_clusters()."
        )
    if d.multimodal:
        parts.append('Compare the modes (posterior_modes), or sample with sampler="smc".')
    elif not d.converged and d.sampler == "smc":
        parts.append("Run more particles (draws) or check the model (K too large?).")
    elif not d.converged:
        parts.append("Run longer (more tune and draws) or check the model (K too large?).")
    return parts


def _facts(d):
    ess_min = ESS_PER_CHAIN_MIN * d.bfmi.size
    return (
        f"{d.n_divergent} divergent transitions, max R-hat {d.max_rhat:.3f} (want <= "
        f"{RHAT_MAX}), min bulk ESS {d.min_ess_bulk:.0f} and tail ESS {d.min_ess_tail:.0f} "
        f"(want >= {ess_min}), min BFMI {np.min(d.bfmi):.2f} (want >= {BFMI_MIN})."
    )


def _smc_facts(d):
    evidence = d.log_evidence
    return (
        f"SMC: {evidence.size} independent runs, {int(d.n_stages.min())} to "
        f"{int(d.n_stages.max())} tempering stages, log evidence {np.min(evidence):.2f} to "
        f"{np.max(evidence):.2f} (spread {np.ptp(evidence):.2f}); mode weights agree across "
        f"runs within {d.mode_weight_spread:.3f} (want <= {SMC_WEIGHT_TOL}); at least "
        f"{np.min(d.distinct_particles):.0%} distinct particles per run (want >= "
        f"{SMC_DISTINCT_MIN:.0%})."
    )


def _mode_name(d, m):
    j = int(d.mode_maximum[m])
    return f"EM local maximum {j + 1}" if j >= 0 else f"mode {m + 1} (not found by EM)"


def _format_mean(mean):
    """A component's mean: ``9.7`` (d = 1) or ``(2.04, 54.5)`` (d >= 2)."""
    values = np.atleast_1d(mean)
    text = ", ".join(f"{v:.4g}" for v in values)
    return text if values.size == 1 else f"({text})"


def _mode_story(d, maxima):
    fraction = d.mode_fraction
    chains = "; ".join(
        f"chain {c}: "
        + ", ".join(
            f"{fraction[c, m]:.0%} near {_mode_name(d, m)}"
            for m in np.argsort(-fraction[c], kind="stable")
            if fraction[c, m] >= 0.005
        )
        for c in range(fraction.shape[0])
    )
    if maxima is None:
        return chains + "."
    described = []
    shown = sorted(set(d.chain_mode.tolist()) | {int(v) for v in d.visited})
    for j in sorted(int(d.mode_maximum[m]) for m in shown if d.mode_maximum[m] >= 0):
        mu = ", ".join(_format_mean(v) for v in maxima["mu"][j])
        w = ", ".join(f"{v:.3f}" for v in maxima["w"][j])
        ll = maxima["log_likelihood"][j]
        described.append(f"maximum {j + 1}: log-likelihood {ll:.2f}, mu = ({mu}), w = ({w})")
    return f"{chains}. EM {'; '.join(described)}." if described else chains + "."
