"""diagnose: every Status from a tree built for it, the thresholds, the verdict and its fields."""

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("arviz_stats")

from posterior_trees import (  # noqa: E402  (after the importorskip of xarray)
    GALAXY_MAXIMA,
    around_maxima,
    cyclic_ar1,
    one_component,
    posterior_tree,
)

from gmm_bayes.bayes import Diagnostics, Status, diagnose  # noqa: E402
from gmm_bayes.bayes.diagnostics import RANK_P_MIN, RHAT_MAX  # noqa: E402
from gmm_bayes.bayes.rank_test import (  # noqa: E402
    MAX_TEST_DRAWS,
    rank_uniformity_p_values,
    thinning_steps,
)


def iid_chains(chains=4, draws=1000, seed=1):
    return np.random.default_rng(seed).normal(size=(chains, draws))


def near_duplicate_split():
    """Draws split between two near-identical EM maxima in the same way in every chain."""
    close = [GALAXY_MAXIMA[0], {**GALAXY_MAXIMA[0], "sigma": [0.4, 0.7, 1.1, 5.6]}]
    tree = around_maxima(close, [0, 0, 0, 0], draws=1000)
    other = around_maxima(close, [1, 1, 1, 1], draws=1000, seed=1)
    mixed = {}
    for name in ("w", "mu", "sigma"):
        a, b = tree["posterior"][name].values, other["posterior"][name].values
        mixed[name] = np.where(np.arange(1000)[None, :, None] % 2 == 0, a, b)
    dims = ("chain", "draw", "component")
    tree["posterior"] = (
        tree["posterior"].to_dataset().assign({n: (dims, v) for n, v in mixed.items()})
    )
    return tree


# --- every Status from a tree built for it --------------------------------------------------


def test_well_mixed_unimodal_sample_is_ok():
    result = diagnose(around_maxima(GALAXY_MAXIMA, [0, 0, 0, 0], draws=1000))
    assert result.status is Status.OK and result.status.trustworthy
    assert result.converged and not result.multimodal
    assert result.verdict.startswith("OK: no sampling problems detected.")
    assert "All chains stayed near EM local maximum 1." in result.verdict


def test_agreeing_split_between_near_duplicate_maxima_is_caution():
    result = diagnose(near_duplicate_split())
    assert result.max_rhat < RHAT_MAX and result.converged and not result.multimodal
    assert result.status is Status.CAUTION and result.status.trustworthy
    assert list(result.visited) == [0, 1]
    assert result.verdict.startswith("CAUTION")
    assert "The chains agree on how the draws split between these modes." in result.verdict


def test_transitions_at_maximum_tree_depth_are_caution():
    chains = around_maxima(GALAXY_MAXIMA, [0, 0, 0, 0], draws=1000)["posterior"]
    draws = {n: chains[n].values for n in ("w", "mu", "sigma")}
    hits = np.zeros((4, 1000), bool)
    hits[2, :7] = True
    result = diagnose(posterior_tree(draws, stats={"maxdepth_reached": hits}))
    assert result.converged and result.n_max_treedepth == 7
    assert result.status is Status.CAUTION
    assert "7 transitions hit NUTS's maximum tree depth" in result.verdict


def test_chains_in_different_maxima_are_multimodal():
    result = diagnose(around_maxima(GALAXY_MAXIMA, [0, 0, 1, 1]))
    assert result.status is Status.MULTIMODAL and not result.status.trustworthy
    assert result.multimodal and not result.converged
    assert result.max_rhat > 1.5 and result.chains_disagree
    np.testing.assert_array_equal(result.chain_mode, [0, 0, 1, 1])
    np.testing.assert_array_equal(result.chain_start, [0, 0, 1, 1])
    assert result.verdict.startswith("MULTIMODAL")
    assert "chains disagree" in result.verdict
    assert "chain 2: 100% near EM local maximum 2" in result.verdict
    assert "maximum 2: log-likelihood -202.52, mu = (9.7, 19.9, 23.1, 33)" in result.verdict


def test_divergences_are_not_converged():
    tree = around_maxima(GALAXY_MAXIMA, [0, 0, 0, 0], draws=1000)
    stats = tree["sample_stats"].to_dataset()
    stats["diverging"][0, :3] = True
    tree["sample_stats"] = xr.DataTree(stats)
    result = diagnose(tree)
    assert result.n_divergent == 3 and not result.converged
    assert result.status is Status.NOT_CONVERGED and not result.status.trustworthy
    assert "3 divergent transitions" in result.verdict and "target_accept=0.95" in result.verdict


def test_low_bfmi_is_not_converged():
    energy = np.cumsum(np.random.default_rng(3).normal(size=(4, 1000)), axis=1)  # a random walk
    result = diagnose(one_component(iid_chains(), stats={"energy": energy}))
    assert np.all(result.bfmi < 0.3) and result.status is Status.NOT_CONVERGED


def test_non_finite_draws_are_failed():
    mu = iid_chains()
    mu[1, 17] = np.nan
    result = diagnose(one_component(mu))
    assert result.status is Status.FAILED and not result.status.trustworthy
    assert result.verdict.startswith("FAILED")


# --- the thresholds: trees just outside them are not OK, trees inside are -------------------


def test_r_hat_above_the_threshold_is_not_ok():
    """One chain 1.55 times wider than the others: R-hat about 1.03, ESS in thousands."""
    mu = iid_chains()
    mu[0] *= 1.55
    result = diagnose(one_component(mu))
    assert 1.02 < result.max_rhat < 1.04  # the tree is just above 1.01 (Vehtari et al. 2021) ...
    assert result.min_ess_bulk > 1000 and result.min_ess_tail > 1000  # ... and only R-hat fails
    assert result.status is Status.NOT_CONVERGED and not result.converged
    assert f"(want <= {RHAT_MAX})" in result.verdict


def test_ess_below_the_threshold_is_not_ok():
    """Autocorrelated chains whose split R-hat is 1 by construction: ESS about 45 per chain."""
    result = diagnose(one_component(cyclic_ar1(0.97)))
    assert result.max_rhat <= RHAT_MAX  # only the ESS fails ...
    # ... and the ESS is 25 to 100 per chain (100: Vehtari et al. 2021)
    assert 25 * 4 < result.min_ess_bulk < 100 * 4
    assert result.status is Status.NOT_CONVERGED and not result.converged


def test_trees_inside_the_thresholds_are_ok():
    mild = diagnose(one_component(cyclic_ar1(0.3)))  # ESS about 650 per chain
    assert mild.min_ess_bulk > 500 * 4 and mild.status is Status.OK
    iid = diagnose(one_component(iid_chains()))
    assert iid.max_rhat <= RHAT_MAX and iid.status is Status.OK


# --- fields, headline and the stored form ------------------------------------------------


def test_diagnostics_round_trip_through_a_dataset():
    result = diagnose(around_maxima(GALAXY_MAXIMA, [0, 0, 1, 1]))
    ds = result.to_dataset()
    assert ds.attrs["status"] == "MULTIMODAL" and ds.attrs["multimodal"] == 1
    assert ds["mode_fraction"].shape == (4, 2)
    back = Diagnostics.from_dataset(ds)
    assert back.status is result.status and back.verdict == result.verdict
    np.testing.assert_array_equal(back.mode_fraction, result.mode_fraction)
    assert back.headline == result.headline == result.verdict.split(". ")[0] + "."


def test_constant_weights_of_one_component_are_skipped():
    result = diagnose(one_component(iid_chains()))
    assert np.isfinite(result.max_rhat) and np.isfinite(result.min_ess_bulk)


@pytest.mark.parametrize("status", list(Status))
def test_only_ok_and_caution_are_trustworthy(status):
    assert status.trustworthy == (status in (Status.OK, Status.CAUTION))


# --- verdict defects: near-duplicate maxima, a missed mode, short ESS with agreeing chains ----


def test_agreeing_chains_with_short_ess_over_near_duplicates_are_not_multimodal():
    """Galaxy K=3 (Richardson-Green priors): chains over three EM maxima a hair apart (log L
    within 0.003) that agree, ESS short: NOT CONVERGED, never MULTIMODAL."""
    from test_modes import NEAR_DUPLICATES

    tree = around_maxima(
        NEAR_DUPLICATES,
        [0, 1, 2, 0],
        draws=1000,
        chain_start=[0, 1, 2, 0],
        log_likelihood=[-178.755, -178.757, -178.758],
    )
    slow = cyclic_ar1(0.97)  # ESS about 45 per chain, R-hat 1
    post = tree["posterior"].to_dataset()
    post["mu"] = post["mu"] + 0.3 * xr.DataArray(slow, dims=("chain", "draw"))
    tree["posterior"] = xr.DataTree(post)
    result = diagnose(tree)
    assert result.mode_maximum.tolist() == [0] and not result.multimodal
    assert result.status is Status.NOT_CONVERGED
    assert not result.verdict.startswith("MULTIMODAL")


def test_a_mode_em_never_found_makes_disagreeing_chains_multimodal():
    full = around_maxima(GALAXY_MAXIMA, [0, 0, 1, 1])
    draws = {n: full["posterior"][n].values for n in ("w", "mu", "sigma")}
    result = diagnose(posterior_tree(draws, maxima=GALAXY_MAXIMA[:1], chain_start=[0] * 4))
    assert result.status is Status.MULTIMODAL
    assert result.mode_maximum.tolist() == [0, -1]
    assert "100% near mode 2 (not found by EM)" in result.verdict


def test_em_sigma_outside_the_prior_is_flagged():
    tree = around_maxima(GALAXY_MAXIMA, [0, 0, 0, 0], draws=1000)
    em = tree["em"].to_dataset()
    # default prior for galaxy (S = 4.54): 95% of sigma in (0.13 S, 0.64 S) = (0.61, 2.92)
    em = em.assign(sigma=("component", [0.42, 0.7, 1.1, 5.8]), sigma_prior_low=0.61)
    tree["em"] = xr.DataTree(em.assign(sigma_prior_high=2.92))
    result = diagnose(tree)
    assert result.sigma_outside_prior == (0, 3) and result.status is Status.CAUTION
    assert "sigma of component(s) 1, 4 lies outside the central 95%" in result.verdict
    back = Diagnostics.from_dataset(result.to_dataset())
    assert back.sigma_outside_prior == (0, 3)


def smc_tree(chain_mode, distinct=0.9, evidence=(-223.8, -223.3, -223.5, -223.9)):
    tree = around_maxima(GALAXY_MAXIMA, chain_mode, draws=500)
    stats = xr.Dataset(
        {
            "log_marginal_likelihood": ("chain", np.asarray(evidence, float)),
            "n_stages": ("chain", np.full(4, 10)),
            "distinct_particles": ("chain", np.full(4, distinct)),
        }
    )
    tree["sample_stats"] = xr.DataTree(stats)
    return tree


def test_smc_runs_that_agree_are_trusted_by_the_smc_rule():
    both = smc_tree([0, 0, 0, 0])
    post = both["posterior"].to_dataset()
    other = around_maxima(GALAXY_MAXIMA, [1, 1, 1, 1], draws=500, seed=3)["posterior"]
    half = np.arange(500) % 2 == 0
    for name in ("w", "mu", "sigma"):
        post[name] = post[name].where(xr.DataArray(half, dims="draw"), other[name])
    both["posterior"] = xr.DataTree(post)
    result = diagnose(both)
    assert result.sampler == "smc" and result.converged
    assert result.status is Status.CAUTION  # two modes, weights agreed on
    assert "SMC: 4 independent runs" in result.verdict and "spread 0.60" in result.verdict


def test_smc_runs_that_disagree_or_collapse_are_not_trusted():
    assert diagnose(smc_tree([0, 0, 1, 1])).status is Status.MULTIMODAL
    assert diagnose(smc_tree([0, 0, 0, 0], distinct=0.2)).status is Status.NOT_CONVERGED
    unfinished = smc_tree([0, 0, 0, 0], evidence=(-223.8, np.nan, -223.5, -223.9))
    assert diagnose(unfinished).status is Status.FAILED


# --- the rank plot's uniformity test counts in the verdict ---------------------------------


def shifted_chain(shift, seed=3):
    """K=1 draws, iid N(0, 1) in every chain but chain 0's mean moved by ``shift`` sd; sigma
    from another seed (the same seed would make it a monotone map of mu: the same ranks,
    tested once)."""
    mu = iid_chains(seed=seed)
    mu[0] += shift
    return one_component(mu, seed=seed + 100)


def test_chains_whose_ranks_differ_are_caution_though_r_hat_passes():
    # a 0.15 sd shift of one chain in four: split R-hat ~1.003 (below 1.01), while the rank
    # test sees chain 0's ranks pile up high (p = 1.6e-4, printed from this seed)
    result = diagnose(shifted_chain(0.15))
    assert result.max_rhat <= RHAT_MAX and result.converged
    assert result.status is Status.CAUTION and result.status.trustworthy
    assert [name for name, _ in result.rank_failures] == ["mu[0]"]
    assert result.rank_failures[0][1] < RANK_P_MIN
    assert "rank distributions differ for mu[0]" in result.verdict


def test_rank_p_values_agree_with_arviz_and_pass_for_iid_chains():
    import arviz_stats  # noqa: F401

    tree = shifted_chain(0.0)
    result = diagnose(tree)
    assert result.status is Status.OK and not result.rank_failures
    assert result.rank_parameters == ("mu[0]", "sigma[0]")  # w = 1 is constant: skipped
    post = tree["posterior"].to_dataset()
    ranks = post.azstats.compute_ranks(dim=["chain", "draw"], relative=True)
    p = ranks.azstats.mchain_uniformity_test(dim=["chain", "draw"])[0]
    np.testing.assert_allclose(
        result.rank_p_values, [float(p["mu"][0]), float(p["sigma"][0])], rtol=1e-8
    )


def test_rank_test_round_trips_through_a_dataset():
    result = diagnose(shifted_chain(0.15))
    back = Diagnostics.from_dataset(result.to_dataset())
    assert back.rank_parameters == result.rank_parameters
    np.testing.assert_array_equal(back.rank_p_values, result.rank_p_values)
    assert back.rank_failures == result.rank_failures


def test_fast_rank_test_equals_arviz_stats_on_shifted_and_scaled_chains():
    """rank_uniformity_p_values against arviz_stats' mchain_uniformity_test (its source):
    equal to 1e-7 relative where p > 1e-6 (rounding in the tails), both below 1e-6 elsewhere."""
    import arviz_stats  # noqa: F401

    rng = np.random.default_rng(5)
    draws = rng.normal(size=(4, 600, 5))
    draws[0, :, 1] += 0.15
    draws[2, :, 3] *= 1.3
    draws[1, :, 4] += 1.0
    post = xr.Dataset({"mu": (("chain", "draw", "component"), draws)})
    ranks = post.azstats.compute_ranks(dim=["chain", "draw"], relative=True)
    expected = ranks.azstats.mchain_uniformity_test(dim=["chain", "draw"])[0]["mu"].values
    got = rank_uniformity_p_values(ranks["mu"].transpose("component", "chain", "draw").values)
    large = expected > 1e-6
    assert large.sum() >= 3 and (~large).sum() >= 1
    np.testing.assert_allclose(got[large], expected[large], rtol=1e-7)
    assert np.all(got[~large] < 1e-6)


def test_long_chains_are_tested_on_thinned_draws():
    rng = np.random.default_rng(6)
    draws = rng.normal(size=(1, 4, 3 * MAX_TEST_DRAWS))
    draws[0, 0] += 0.3
    ranks = draws.reshape(1, -1).argsort(axis=1).argsort(axis=1) + 1.0
    p = rank_uniformity_p_values(ranks.reshape(draws.shape) / ranks.size)
    assert p.shape == (1,) and p[0] < RANK_P_MIN


def ar1_chains(rho, shape, seed):
    """Identical AR(1) chains with unit stationary variance: within-chain ESS per draw
    (1 - rho) / (1 + rho)."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=shape)
    draws = np.empty(shape)
    draws[..., 0] = noise[..., 0]
    for t in range(1, shape[-1]):
        draws[..., t] = rho * draws[..., t - 1] + np.sqrt(1 - rho**2) * noise[..., t]
    return draws


def fractional_ranks(draws):
    from scipy.stats import rankdata

    flat = draws.reshape(draws.shape[0], -1)
    return (rankdata(flat, axis=1) / flat.shape[1]).reshape(draws.shape)


def test_autocorrelated_identical_chains_pass_at_about_the_tests_level():
    """The hypergeometric null assumes independent draws. Simulated from the null (identical
    AR(1) chains, rho = 0.46: ESS 0.37 per draw, as faithful2d's K = 1 means under NUTS), every
    draw tested rejects 20-25% of 200 parameters at the 1% level (24% of 400 with seed 1, and
    3% thinned, in one run of this simulation); thinned to the within-chain ESS, at most a few
    percent."""
    ranks = fractional_ranks(ar1_chains(0.46, (200, 4, 1000), seed=11))
    assert set(np.unique(thinning_steps(ranks))) <= {2, 3, 4}
    every_draw = rank_uniformity_p_values(ranks, thin=False)
    thinned = rank_uniformity_p_values(ranks)
    assert np.mean(every_draw < RANK_P_MIN) > 0.15
    assert np.mean(thinned < RANK_P_MIN) <= 0.05


def test_thinning_keeps_the_power_against_a_shifted_chain():
    # within-chain ESS ignores the between-chain shift the test looks for
    draws = ar1_chains(0.46, (50, 4, 1000), seed=12)
    draws[:, 0] += 0.5
    assert np.mean(rank_uniformity_p_values(fractional_ranks(draws)) < RANK_P_MIN) > 0.9


def test_multivariate_parameters_are_named_by_component_and_dim_and_tested_once():
    """(component, dim) parameters: ``mu[0,1]``; a covariance's mirrored entry and a per-column
    sd (a monotone map of its variance) repeat ranks already tested and are skipped."""
    rng = np.random.default_rng(13)
    mu = rng.normal(size=(4, 500, 1, 2))
    cov = np.exp(0.1 * rng.normal(size=(4, 500, 1, 2, 2)))
    cov[..., 1, 0] = cov[..., 0, 1]
    sigma = np.sqrt(np.diagonal(cov, axis1=-2, axis2=-1))
    dims = ("chain", "draw", "component", "dim")
    post = xr.Dataset(
        {
            "w": (dims[:3], np.ones((4, 500, 1))),
            "mu": (dims, mu),
            "cov": ((*dims, "dim_bis"), cov),
            "sigma": (dims, sigma),
        }
    )
    stats = xr.Dataset({"energy": (("chain", "draw"), rng.normal(size=(4, 500)))})
    result = diagnose(xr.DataTree.from_dict({"posterior": post, "sample_stats": stats}))
    assert result.rank_parameters == (
        "mu[0,0]", "mu[0,1]", "sigma[0,0]", "sigma[0,1]", "cov[0,0,1]",
    )  # fmt: skip
