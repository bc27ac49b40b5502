"""Posterior trees built by hand (no sampling): the comparison's inputs, fast and controlled.

Import as ``from compare.fakes import ...`` (``tests/`` is on the import path).
"""

import numpy as np
import xarray as xr
from scipy import stats
from scipy.special import logsumexp

from gmm_bayes.bayes import Diagnostics, Status

#: a well separated two-component truth
TRUE = {"w": np.array([0.4, 0.6]), "mu": np.array([-4.0, 3.0]), "sigma": np.array([1.0, 0.7])}


def two_groups(n=120, seed=42):
    """Data from :data:`TRUE`, shape (n,)."""
    rng = np.random.default_rng(seed)
    z = rng.random(n) < TRUE["w"][0]
    return np.where(z, rng.normal(-4.0, 1.0, n), rng.normal(3.0, 0.7, n))


def fake_diagnostics(status, chains=2, verdict=None):
    """A :class:`Diagnostics` with the given status (the verdict text says so unless given)."""
    return Diagnostics(
        n_divergent=0,
        n_max_treedepth=0,
        max_rhat=1.0 if status.trustworthy else 1.5,
        min_ess_bulk=500.0,
        min_ess_tail=450.0,
        bfmi=np.ones(chains),
        chain_start=np.zeros(chains, dtype=np.int64),
        chain_mode=np.arange(chains, dtype=np.int64) % 2,
        mode_fraction=np.full((chains, 2), 0.5),
        converged=status.trustworthy,
        multimodal=status is Status.MULTIMODAL,
        verdict=verdict or f"{status.value}: a fake verdict. It has two sentences.",
        status=status,
    )


def fake_posterior(center, spread, *, chains=2, draws=300, seed=0, y=None, status=None):
    """A posterior tree: normal draws around ``center`` (w kept on the simplex, sigma > 0).

    With ``y``: ``observed_data`` and the pointwise ``log_likelihood`` of the draws (what
    PSIS-LOO reads). With ``status``: a ``diagnostics`` group saying so.
    """
    rng = np.random.default_rng(seed)
    k = center["mu"].size
    draws_of = {p: center[p] + spread[p] * rng.standard_normal((chains, draws, k)) for p in center}
    w = np.abs(draws_of["w"])
    draws_of["w"] = w / w.sum(axis=-1, keepdims=True)
    draws_of["sigma"] = np.abs(draws_of["sigma"])
    dims = ("chain", "draw", "component")
    coords = {"chain": np.arange(chains), "draw": np.arange(draws), "component": np.arange(k)}
    groups = {"posterior": xr.Dataset({p: (dims, v) for p, v in draws_of.items()}, coords=coords)}
    if y is not None:
        obs = {"obs": np.arange(y.size)}
        groups["observed_data"] = xr.Dataset({"y": ("obs", y)}, coords=obs)
        pointwise = logsumexp(
            np.log(draws_of["w"])[..., None, :]
            + stats.norm.logpdf(
                y[:, None], draws_of["mu"][..., None, :], draws_of["sigma"][..., None, :]
            ),
            axis=-1,
        )
        groups["log_likelihood"] = xr.Dataset({"y": (("chain", "draw", "obs"), pointwise)})
    if status is not None:
        groups["diagnostics"] = fake_diagnostics(status, chains).to_dataset()
    return xr.DataTree.from_dict(groups)


def around(fit):
    """``(center, spread)`` of a tight posterior around an EMResult."""
    center = {"w": fit.weights, "mu": fit.means, "sigma": fit.sigmas}
    return center, {"w": 0.02, "mu": 0.1, "sigma": 0.05}


def fake_comparison(statuses, elpd, *, degenerate=None, p_k=None, p_k_se=None, preferred=None):
    """A comparison table on dim ``K`` = 1..len(statuses), as
    :func:`gmm_bayes.compare_components` makes it, for the recommendation rule.

    ``statuses``: Status per K; ``elpd``: elpd_loo per K; ``degenerate``: EM fit collapsed per
    K (default none); ``p_k`` (and ``p_k_se``): p(K | y) per K; ``preferred``: criterion ->
    preferred K (the ``preferred_<criterion>`` attributes).
    """
    ks = np.arange(1, len(statuses) + 1)
    degenerate = np.zeros(ks.size, bool) if degenerate is None else np.asarray(degenerate)
    trustworthy = np.array([s.trustworthy for s in statuses]) & ~degenerate
    ds = xr.Dataset(
        {
            "status": ("K", [s.value for s in statuses]),
            "em_degenerate": ("K", degenerate),
            "trustworthy": ("K", trustworthy),
            "elpd_loo": ("K", np.asarray(elpd, dtype=float)),
        },
        coords={"K": ks},
    )
    if p_k is not None:
        ds["p_k"] = ("K", np.asarray(p_k, dtype=float))
        ds["p_k_se"] = ("K", np.zeros(ks.size) if p_k_se is None else np.asarray(p_k_se))
    ds.attrs.update({f"preferred_{name}": k for name, k in (preferred or {}).items()})
    return ds


def pointwise_elpd(elpd, n=100, noise=None, seed=0):
    """Pointwise elpd per K (K = 1..len(elpd)) summing to ``elpd``: a shared per-observation
    part plus independent noise of sd ``noise[K]`` (default 0.1), which sets the se of each
    difference (about sqrt(n * (noise_a**2 + noise_b**2)))."""
    rng = np.random.default_rng(seed)
    shared = rng.normal(0.0, 1.0, n)
    noise = [0.1] * len(elpd) if noise is None else noise
    out = {}
    for k, (total, sd) in enumerate(zip(elpd, noise, strict=True), start=1):
        values = shared + sd * rng.standard_normal(n)
        out[k] = values - values.mean() + total / n
    return out
