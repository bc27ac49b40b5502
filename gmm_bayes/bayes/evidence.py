"""The marginal likelihood ("evidence") of the K-component mixture: :func:`log_evidence`.

``p(y | K) = integral p(y | w, mu, sigma) p(w, mu, sigma | K)`` is what Bayes' rule needs to
weigh numbers of components: ``p(K | y)`` is proportional to ``p(K) p(y | K)``.
"""

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from gmm_bayes._validation import as_data, as_int, as_n_components
from gmm_bayes.bayes.evidence_target import MixtureTarget
from gmm_bayes.bayes.priors import Priors
from gmm_bayes.bayes.tempered_smc import smc_log_evidence
from gmm_bayes.em.resolution import as_resolution

__all__ = ["PRESETS", "Evidence", "log_evidence", "smc_evidence"]

METHOD = "tempered SMC, random-walk Metropolis moves"

#: named settings of :func:`log_evidence` (explicit arguments override them). "precise": the
#: README's galaxy table (se <= 0.1 for K <= 8 under ``Priors.richardson_green()``, 40-220 CPU
#: seconds per K); "fast": what a report can afford for every K (a few CPU seconds per K on
#: galaxy's size; its measured error: ``bench/bench_posterior.py --only evidence``).
PRESETS = {
    "precise": {"n_particles": 2000, "n_runs": 4, "n_moves": 100, "ess_fraction": 0.9},
    "fast": {"n_particles": 1000, "n_runs": 4, "n_moves": 40, "ess_fraction": 0.5},
}


@dataclass(frozen=True)
class Evidence:
    """The log marginal likelihood of one K, with its Monte Carlo error.

    Attributes
    ----------
    log_ml : float
        ``log p(y | K)`` under the exchangeable, normalized prior: ``log`` of the mean of the
        runs' evidences (each run's is unbiased).
    se : float
        Its Monte Carlo standard error, from the spread of the independent runs (delta method:
        the sd of ``exp(runs - log_ml)`` over ``sqrt(n_runs)``).
    runs : tuple of float
        Each independent run's ``log p(y | K)``.
    method : str
    n_components : int
    n_particles : int
        Particles per run.
    """

    log_ml: float
    se: float
    runs: tuple
    method: str
    n_components: int
    n_particles: int


def log_evidence(
    x,
    n_components,
    *,
    priors=None,
    resolution=None,
    random_seed=None,
    preset="precise",
    n_particles=None,
    n_runs=None,
    n_moves=None,
    ess_fraction=None,
):
    """``log p(y | K)``: the mixture's marginal likelihood, by independent SMC runs.

    Each run tempers ``n_particles`` particles from the prior to the posterior
    (:func:`~gmm_bayes.bayes.tempered_smc.smc_log_evidence`); the runs' evidences are averaged
    and their spread gives the Monte Carlo error.

    The model is :func:`gmm_bayes.build_model`'s, with one difference of normalization: the
    model's means have the iid normal density on the ordered region, whose mass is ``1 / K!``;
    here they have ``K!`` times it, the density of the order statistics of K iid normals
    (sorted iid draws), which is normalized. So ``log_ml`` is the evidence under the
    exchangeable prior (iid means, labels unordered), and the ordered model's own
    (unnormalized) evidence is ``log_ml - log K!``.

    Parameters
    ----------
    x : array_like, shape (N,) or (N, 1)
        Finite observations, validated as by :func:`gmm_bayes.fit_em`.
    n_components : int
        K, between 1 and N.
    priors : gmm_bayes.Priors, optional
        Defaults to ``Priors()``.
    resolution : None, "auto" or float > 0
        As in :func:`gmm_bayes.fit_em`: the evidence of the interval likelihood at this
        recording resolution (``"auto"``: the grid :func:`gmm_bayes.fit_em` would detect), the
        likelihood ``build_model(..., resolution=...)`` samples; None, the density's.
    random_seed : int, numpy.random.Generator or None
        Seeds the runs (each gets an independent stream).
    preset : {"precise", "fast"}, default "precise"
        Default values of the four settings below (:data:`PRESETS`): "precise" 2000
        particles, 4 runs, 100 moves, ESS fraction 0.9; "fast" 1000, 4, 40, 0.5 (for a report
        that computes every K).
    n_particles : int, default from the preset (2000)
    n_runs : int, default from the preset (4)
        Independent runs, at least 2 (for ``se``).
    n_moves : int, default from the preset (100)
        Metropolis steps per particle after each tempering step. The runs' spread comes from
        how well these moves mix (more particles do not shrink it), so a budget is better
        spent on moves than on runs.
    ess_fraction : float, default from the preset (0.9)
        Effective sample size each tempering step keeps (fraction of the particles): closer to
        1 means more, smaller steps (and more moves in all).

    Returns
    -------
    Evidence

    Examples
    --------
    >>> import gmm_bayes as gb
    >>> x = gb.load_dataset("galaxy")
    >>> ev = log_evidence(x, 1, random_seed=0, n_particles=500, n_runs=2, n_moves=5)
    >>> ev.n_components, len(ev.runs), bool(ev.se < 1)
    (1, 2, True)
    """
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {preset!r}")
    settings = {
        **PRESETS[preset],
        **{
            name: value
            for name, value in [
                ("n_particles", n_particles),
                ("n_runs", n_runs),
                ("n_moves", n_moves),
                ("ess_fraction", ess_fraction),
            ]
            if value is not None
        },
    }
    x = as_data(x)
    k = as_n_components(n_components, x.size)
    priors = Priors() if priors is None else priors
    if not isinstance(priors, Priors):
        raise TypeError(f"priors must be a gmm_bayes.Priors or None, got {type(priors).__name__}")
    n_particles = as_int(settings["n_particles"], "n_particles", minimum=2)
    n_runs = as_int(settings["n_runs"], "n_runs", minimum=2)
    n_moves = as_int(settings["n_moves"], "n_moves", minimum=1)
    ess_fraction = settings["ess_fraction"]
    if not 0.0 < ess_fraction < 1.0:
        raise ValueError(f"ess_fraction must be in (0, 1), got {ess_fraction!r}")
    width = as_resolution(resolution, x).width
    target = MixtureTarget.from_data(x, priors.resolve(x, k), k, width)
    streams = np.random.default_rng(random_seed).spawn(n_runs)
    runs = [
        smc_log_evidence(target, rng, n_particles, n_moves=n_moves, ess_fraction=ess_fraction)[0]
        for rng in streams
    ]
    return _combine(runs, METHOD, k, n_particles)


def smc_evidence(tree):
    """The log evidence a ``sampler="smc"`` posterior already holds: no extra work.

    The package's own SMC runs (:mod:`~gmm_bayes.bayes.smc`) temper the same target as
    :func:`log_evidence` (normalized prior), so each run's ``log Z`` is an estimate of the same
    ``log p(y | K)``: a posterior sampled with ``sampler="smc"`` (or "auto" that fell back to
    SMC) spares the evidence run for its K.

    Parameters
    ----------
    tree : xarray.DataTree
        From :func:`gmm_bayes.sample_posterior`.

    Returns
    -------
    Evidence or None
        None unless the draws come from the package's own SMC (NUTS has no evidence; PyMC's
        SMC estimates that of the ordered model, another normalization).

    Examples
    --------
    >>> import xarray as xr
    >>> smc_evidence(xr.DataTree(xr.Dataset(attrs={"sampler": "nutpie"}))) is None
    True
    """
    if tree.attrs.get("sampler") != "smc" or tree.attrs.get("smc_method") != "gmm_bayes":
        return None
    runs = np.asarray(tree["diagnostics"]["log_evidence"].values, dtype=np.float64)
    k = int(tree["posterior"].sizes["component"])
    n_particles = int(tree["posterior"].sizes["draw"])
    return _combine(runs, "sample_posterior(sampler='smc') runs: " + METHOD, k, n_particles)


def _combine(runs, method, k, n_particles):
    """The mean of the runs' evidences in log space, and its delta-method se."""
    runs = np.asarray(runs, dtype=np.float64)
    log_ml = float(logsumexp(runs) - np.log(runs.size))
    se = float(np.std(np.exp(runs - log_ml), ddof=1) / np.sqrt(runs.size))
    return Evidence(log_ml, se, tuple(runs.tolist()), method, int(k), int(n_particles))
