"""A multivariate report's analysis from fake posteriors (no sampling): EM and scikit-learn for
real, and per K draws jittered around EM's estimate with the pointwise groups, so that the
comparison (PSIS-LOO, stacking, recommendation), figures and pages run on them."""

import functools
from dataclasses import replace

import numpy as np
import xarray as xr
from compare.fakes import fake_diagnostics
from sklearn.mixture import GaussianMixture

import gmm_bayes as gb
from gmm_bayes.bayes import Status
from gmm_bayes.bayes.diagnostics import diagnose
from gmm_bayes.bayes.pointwise_mv import (
    log_likelihood_group_mv,
    membership_mv,
    posterior_predictive_group_mv,
)
from gmm_bayes.report.comparison_mv import compare_k_mv, lowest_bic
from gmm_bayes.report.pipeline_mv import COVARIANCE_TYPES, MVAnalysis

X = gb.load_dataset("faithful2d")


def fake_tree(fit, x, *, seed=0, shape=(2, 200), status=None):
    """Draws around ``fit`` (EMResult): weights and means jittered, covariances EM's; the
    ``log_likelihood``, ``posterior_predictive``, ``membership`` and ``diagnostics`` groups
    (``status`` forces the diagnostics' status, else :func:`diagnose` judges the draws)."""
    rng = np.random.default_rng(seed)
    w = fit.weights * np.exp(0.01 * rng.normal(size=(*shape, fit.n_components)))
    w /= w.sum(axis=-1, keepdims=True)
    mu = fit.means + 0.01 * rng.normal(size=(*shape, *fit.means.shape)) * fit.sigmas
    cov = np.broadcast_to(fit.covariances, (*shape, *fit.covariances.shape)).copy()
    sd = np.sqrt(np.diagonal(cov, 0, -2, -1))
    post = xr.Dataset(
        {
            "w": (("chain", "draw", "component"), w),
            "mu": (("chain", "draw", "component", "dim"), mu),
            "cov": (("chain", "draw", "component", "dim", "dim_bis"), cov),
            "sigma": (("chain", "draw", "component", "dim"), sd),
        }
    )
    stats = xr.Dataset({"energy": (("chain", "draw"), rng.normal(size=shape))})
    tree = xr.DataTree.from_dict(
        {
            "posterior": post,
            "sample_stats": stats,
            "observed_data": xr.Dataset({"y": (("obs", "dim"), x)}),
            "log_likelihood": log_likelihood_group_mv(post, x),
            "posterior_predictive": posterior_predictive_group_mv(post, len(x), rng),
        }
    )
    tree.attrs["sampler"] = "nutpie"
    tree["membership"] = xr.DataTree(membership_mv(tree))
    diag = diagnose(tree) if status is None else fake_diagnostics(status, chains=shape[0])
    tree["diagnostics"] = xr.DataTree(diag.to_dataset())
    return tree


def fake_analysis(ks=(1, 2), x=X, statuses=None):
    """An :class:`MVAnalysis` of ``x``: real fits, fake posteriors whose diagnostics say
    ``statuses[K]`` (OK by default)."""
    statuses = {k: Status.OK for k in ks} | (statuses or {})
    em = {(t, k): gb.fit_em(x, k, covariance_type=t, random_state=0)
          for t in COVARIANCE_TYPES for k in ks}  # fmt: skip
    sk = {key: GaussianMixture(key[1], covariance_type=key[0], random_state=0).fit(x) for key in em}
    sampled = {k: lowest_bic({t: em[t, k] for t in COVARIANCE_TYPES}) for k in ks}
    trees = {k: fake_tree(em[t, k], x, seed=k, status=statuses.get(k)) for k, t in sampled.items()}
    comparison = compare_k_mv(trees, {k: em[t, k] for k, t in sampled.items()})
    seconds = {
        "em": 1.0,
        "sklearn": 1.0,
        "posterior": 2.0,
        "comparison": 1.0,
        **dict.fromkeys(ks, 1.0),
    }
    return MVAnalysis(em, sk, sampled, trees, comparison, seconds)


@functools.cache
def faithful_analysis():
    """:func:`fake_analysis` of Old Faithful's two columns, K = 1, 2, every K OK (made once;
    do not modify it)."""
    return fake_analysis()


def with_status(analysis, k, status):
    """``analysis`` with K's posterior diagnostics saying ``status``, compared again."""
    trees = dict(analysis.trees)
    trees[k] = trees[k].copy()
    chains = trees[k]["posterior"].sizes["chain"]
    trees[k]["diagnostics"] = xr.DataTree(fake_diagnostics(status, chains=chains).to_dataset())
    fits = {kk: analysis.em[t, kk] for kk, t in analysis.sampled.items()}
    return replace(analysis, trees=trees, comparison=compare_k_mv(trees, fits))
