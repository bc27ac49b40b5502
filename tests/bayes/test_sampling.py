"""sample_posterior: the tree (groups, dims, attributes), recovery, NetCDF, seeds, starts,
arguments, and the likelihood options (compressed, binned) end to end."""

import numpy as np
import pytest
from helpers import POSTERIOR_GROUPS, exact_groups, mixture_sample, reference_log_density

import gmm_bayes as gb
from gmm_bayes.exceptions import ModelMismatchError

xr = pytest.importorskip("xarray")
pytest.importorskip("pymc")

from gmm_bayes.bayes import diagnose, membership, sample_posterior  # noqa: E402
from gmm_bayes.bayes.maxima import chain_starts, distinct_maxima  # noqa: E402
from gmm_bayes.bayes.model import build_model, model_data, to_value_space  # noqa: E402
from gmm_bayes.bayes.model_data import choose_bin_width  # noqa: E402

TRUE = {"w": [0.3, 0.3, 0.4], "mu": [-5.0, 0.0, 6.0], "sigma": [1.0, 0.5, 1.5]}
TRUE_ARGS = tuple(TRUE.values())
SMALL = {"chains": 2, "draws": 300, "tune": 300, "cores": 2}
TINY = {"chains": 2, "draws": 150, "tune": 150, "cores": 2}


@pytest.fixture(scope="module")
def data():
    return exact_groups(300, *TRUE_ARGS)


@pytest.fixture(scope="module")
def tree(data):
    return sample_posterior(data, 3, random_seed=11, **SMALL)


@pytest.fixture(scope="module")
def faithful():
    return gb.load_dataset("faithful")  # 272 waiting times in whole minutes, 51 distinct


# --- one small run: everything the report needs --------------------------------------------


@pytest.mark.slow
def test_groups_dims_and_contents(tree, data):
    assert set(tree.children) == POSTERIOR_GROUPS
    post = tree["posterior"]
    for name in ("w", "mu", "sigma"):
        assert post[name].dims == ("chain", "draw", "component")
        assert post[name].shape == (2, 300, 3)
    assert tree["log_likelihood"]["y"].dims == ("chain", "draw", "obs")
    assert tree["posterior_predictive"]["y"].shape == (2, 300, data.size)
    np.testing.assert_array_equal(tree["observed_data"]["y"].values, data)
    em = tree["em"]
    assert em["mu"].dims == ("component",) and em.attrs["method"] == "em"
    assert em["chain_start"].dims == ("chain",)
    assert isinstance(tree["diagnostics"].attrs["verdict"], str)
    assert np.all(np.diff(post["mu"].values, axis=-1) > 0)  # ordered in every draw
    # how the likelihood was evaluated, and what it cost (read by the report)
    attrs = tree.attrs
    assert (attrs["likelihood"], attrs["compressed"], attrs["n_obs"]) == ("exact", 0, data.size)
    assert attrs["likelihood_note"] == f"Exact likelihood over all {data.size} observations."
    assert "bin_width" not in attrs
    assert attrs["pointwise"] == "log_likelihood and posterior_predictive stored"
    assert attrs["compile_seconds"] >= 0 and attrs["sampling_seconds"] > 0
    assert attrs["compile_cache_hit"] in (0, 1)


@pytest.mark.slow
def test_posterior_recovers_known_parameters(tree):
    post = tree["posterior"]
    for name, truth in TRUE.items():
        lo, hi = post[name].quantile([0.03, 0.97], dim=("chain", "draw")).values
        assert np.all((lo <= truth) & (truth <= hi)), (name, lo, hi)
    diag = tree["diagnostics"]
    assert int(diag["n_divergent"]) == 0
    assert float(diag["max_rhat"]) < 1.05  # 2 x 300 draws: split R-hat is noisy at this size
    assert diag.attrs["status"] not in ("MULTIMODAL", "FAILED")


@pytest.mark.slow
def test_log_likelihood_group_is_the_pointwise_mixture_density(tree, data):
    post = tree["posterior"]
    for chain, draw in [(0, 0), (1, 123), (0, 299)]:
        w, mu, sigma = (post[n].values[chain, draw] for n in ("w", "mu", "sigma"))
        expected = reference_log_density(data, w, mu, sigma)
        got = tree["log_likelihood"]["y"].values[chain, draw]
        np.testing.assert_allclose(got, expected, rtol=1e-10)


@pytest.mark.slow
def test_membership(tree, data):
    m = tree["membership"].to_dataset()
    assert m["mean"].dims == ("obs", "component") and m.attrs["prob"] == 0.94
    np.testing.assert_allclose(m["mean"].sum("component"), 1.0, rtol=1e-12)
    assert np.all(m["lower"] >= 0) and np.all(m["lower"] <= m["upper"]) and np.all(m["upper"] <= 1)
    # a mean may fall outside a 94% interval when a few draws sit far in a tail, but rarely
    inside = (m["lower"] <= m["mean"] + 1e-12) & (m["mean"] <= m["upper"] + 1e-12)
    assert float(inside.mean()) > 0.95
    far_left = data < -4
    assert far_left.any() and np.all(m["mean"].values[far_left, 0] > 0.99)
    xr.testing.assert_allclose(membership(tree), m)
    narrow = membership(tree, prob=0.5, block_size=7)
    assert np.all(narrow["upper"] - narrow["lower"] <= m["upper"] - m["lower"] + 1e-12)


@pytest.mark.slow
def test_netcdf_round_trip_is_identical(tree, tmp_path):
    path = tmp_path / "posterior.nc"
    tree.to_netcdf(path, engine="h5netcdf")
    back = xr.open_datatree(path, engine="h5netcdf").load()
    xr.testing.assert_identical(back, tree)
    assert back["posterior"].attrs["sample_dims"] == ["chain", "draw"]  # ArviZ reads this list
    assert diagnose(back).verdict == tree["diagnostics"].attrs["verdict"]


@pytest.mark.slow
def test_random_seed_reproduces_the_whole_tree(tree, data):
    again = sample_posterior(data, 3, random_seed=11, **SMALL)
    for group in ("posterior", "posterior_predictive", "em", "membership"):
        xr.testing.assert_identical(
            again[group].to_dataset().drop_attrs(), tree[group].to_dataset().drop_attrs()
        )
    other = sample_posterior(data, 3, random_seed=12, **SMALL)
    assert not np.array_equal(other["posterior"]["mu"].values, tree["posterior"]["mu"].values)


@pytest.mark.slow
def test_chains_are_spread_over_em_local_maxima():
    x = gb.load_dataset("galaxy")
    best = gb.fit_em(x, 3, random_state=0)  # one broad middle component
    split = gb.fit_em(x, 3, means_init=[9.7, 19.8, 22.8], random_state=0)  # the middle split
    assert split.log_likelihood < best.log_likelihood - 1
    em = best.with_local_maxima((best, split))
    maxima = distinct_maxima(em)
    assert len(maxima) == 2
    out = sample_posterior(x, 3, em=em, chains=4, draws=100, tune=100, cores=2, random_seed=1)
    np.testing.assert_array_equal(out["em"]["chain_start"].values, chain_starts(maxima, 4))
    assert set(out["em"]["chain_start"].values) == {0, 1}
    np.testing.assert_allclose(out["em"]["maximum_mu"].values, [m.means for m in maxima])
    np.testing.assert_allclose(out["em"]["mu"].values, em.means)
    np.testing.assert_array_equal(out["diagnostics"]["chain_start"].values, [0, 0, 1, 1])


@pytest.mark.slow
def test_one_component_and_hierarchical_priors():
    x = exact_groups(100, *TRUE_ARGS, seed=4)
    one = sample_posterior(x, 1, chains=2, draws=100, tune=100, cores=2, random_seed=2)
    np.testing.assert_array_equal(one["posterior"]["w"].values, 1.0)
    assert np.isfinite(float(one["diagnostics"]["max_rhat"]))  # constant w is skipped
    rg = sample_posterior(
        x, 2, priors=gb.Priors.richardson_green(), chains=2, draws=100, tune=100, random_seed=2
    )
    assert set(rg["posterior"].data_vars) == {"w", "mu", "sigma", "beta"}
    assert (
        rg.attrs["priors"].startswith("Priors(")
        and "HierarchicalInverseGamma" in rg.attrs["priors"]
    )


# --- arguments -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"sampler": "stan"},
            ValueError,
            r"sampler must be one of \('nutpie', 'pymc', 'smc', 'auto'\)",
        ),
        ({"draws": 0}, ValueError, "draws must be >= 1, got 0"),
        ({"tune": -1}, ValueError, "tune must be >= 0, got -1"),
        ({"chains": 1.5}, TypeError, "chains must be an integer, got 1.5"),
        ({"cores": 0}, ValueError, "cores must be >= 1"),
        ({"target_accept": 1.0}, ValueError, r"target_accept must be in \(0, 1\), got 1.0"),
        ({"target_accept": "high"}, TypeError, "target_accept must be a number"),
        ({"random_seed": -3}, ValueError, "random_seed must be >= 0, got -3"),
        ({"random_seed": "7"}, TypeError, "random_seed must be None, a non-negative int"),
        ({"em": {"w": [0.5, 0.5]}}, TypeError, "em must be a gmm_bayes.EMResult or None, got dict"),
        ({"priors": "weak"}, TypeError, "priors must be a gmm_bayes.Priors or None, got str"),
    ],
)
def test_bad_arguments_are_refused(data, kwargs, error, match):
    with pytest.raises(error, match=match):
        sample_posterior(data, 3, **kwargs)


def test_em_for_other_k_or_other_data_size_is_refused(data):
    with pytest.raises(ValueError, match="em has 2 components but n_components=3"):
        sample_posterior(data, 3, em=gb.fit_em(data, 2, random_state=0))
    with pytest.raises(ValueError, match="em was fitted to 299 observations but x has 300"):
        sample_posterior(data, 3, em=gb.fit_em(data[1:], 3, random_state=0))


@pytest.mark.slow
def test_model_is_checked_against_em_before_sampling(data):
    other_data = exact_groups(300, *TRUE_ARGS, seed=1)  # same N and K, other data
    other = gb.fit_em(other_data, 3, random_state=0)
    with pytest.raises(ModelMismatchError, match="log-likelihood at EM's estimate"):
        sample_posterior(data, 3, em=other)


def test_bad_sample_posterior_options_are_refused(faithful):
    with pytest.raises(ValueError, match="likelihood must be one of"):
        gb.sample_posterior(faithful, 2, likelihood="histogram")
    with pytest.raises(TypeError, match="pointwise must be None, True or False"):
        gb.sample_posterior(faithful, 2, pointwise="auto")


# --- the likelihood options end to end ----------------------------------------------------


@pytest.mark.slow
def test_compressed_posterior_is_the_uncompressed_one_and_groups_are_per_observation(faithful):
    kwargs = {**TINY, "random_seed": 3}
    tree = gb.sample_posterior(faithful, 2, compress=True, **kwargs)
    plain = gb.sample_posterior(faithful, 2, compress=False, **kwargs)
    assert (tree.attrs["compressed"], tree.attrs["n_likelihood_terms"]) == (1, 51)
    assert (plain.attrs["compressed"], plain.attrs["n_likelihood_terms"]) == (0, 272)
    assert "51 distinct values" in tree.attrs["likelihood_note"]
    for name in ("w", "mu", "sigma"):  # same seed, same posterior: the draws agree to rounding
        np.testing.assert_allclose(
            tree["posterior"][name].values, plain["posterior"][name].values, atol=1e-6
        )
    # every per-observation group has the original 272 observations, in their order
    np.testing.assert_array_equal(tree["observed_data"]["y"].values, faithful)
    assert tree["log_likelihood"]["y"].shape == (2, 150, 272)
    assert tree["posterior_predictive"]["y"].shape == (2, 150, 272)
    assert tree["membership"]["mean"].shape == (272, 2)
    post = tree["posterior"]
    for chain, draw in [(0, 0), (1, 77)]:
        w, mu, sigma = (post[n].values[chain, draw] for n in ("w", "mu", "sigma"))
        np.testing.assert_allclose(
            tree["log_likelihood"]["y"].values[chain, draw],
            reference_log_density(faithful, w, mu, sigma),
            rtol=1e-10,
        )
    tied = np.flatnonzero(faithful == np.bincount(faithful.astype(int)).argmax())
    assert tied.size > 1
    mean = tree["membership"]["mean"].values
    np.testing.assert_array_equal(mean[tied], np.broadcast_to(mean[tied[0]], mean[tied].shape))
    xr.testing.assert_allclose(tree["membership"].to_dataset(), plain["membership"].to_dataset())


@pytest.mark.slow
def test_binned_posterior_means_are_within_005_sd_of_the_exact_ones():
    """1e4 points, K=3, default bin width: the issue's bound is 0.05 posterior sd."""
    x = mixture_sample(10_000, *TRUE_ARGS, seed=0)
    em = gb.fit_em(x, 3, random_state=0)
    tree = gb.sample_posterior(x, 3, em=em, random_seed=1, pointwise=False, **TINY)
    assert tree.attrs["likelihood"] == "exact" and "pointwise=False" in tree.attrs["pointwise"]
    assert "log_likelihood" not in tree.children and "posterior_predictive" not in tree.children
    exact = build_model(x, 3)
    binned = build_model(x, 3, likelihood="binned", bin_width=choose_bin_width(em))
    data = model_data(binned)
    assert data.n_terms < 1000 and data.bin_width == pytest.approx(0.1 * em.sigmas.min())
    post = tree["posterior"]
    draws = {n: post[n].values.reshape(-1, 3) for n in ("w", "mu", "sigma")}
    fns = [m.compile_logp() for m in (exact, binned)]
    log_ratio = np.array(
        [
            float(fns[1](to_value_space(binned, point)))
            - float(fns[0](to_value_space(exact, point)))
            for point in ({n: v[i] for n, v in draws.items()} for i in range(300))
        ]
    )
    weights = np.exp(log_ratio - log_ratio.max())
    weights /= weights.sum()
    assert 1 / np.sum(weights**2) > 0.99 * weights.size  # nearly the same distribution
    for name, values in draws.items():
        values = values[:300]
        shift = np.abs(weights @ values - values.mean(axis=0)) / values.std(axis=0)
        assert shift.max() < 0.005, (name, shift)  # measured: below 1e-4


@pytest.mark.slow
def test_binned_tree_says_so_and_keeps_every_observation():
    x = mixture_sample(20_000, *TRUE_ARGS, seed=7)
    tree = gb.sample_posterior(x, 3, likelihood="binned", random_seed=2, **TINY)
    attrs = tree.attrs
    assert attrs["likelihood"] == "binned" and attrs["n_obs"] == x.size
    assert attrs["bin_width"] > 0 and attrs["n_likelihood_terms"] < 1000
    assert attrs["likelihood_note"].startswith("Binned likelihood (approximate)")
    assert tree["log_likelihood"]["y"].shape == (2, 150, x.size)  # under POINTWISE_MAX
    assert tree["posterior_predictive"]["y"].shape == (2, 150, x.size)
    np.testing.assert_array_equal(tree["observed_data"]["y"].values, x)
    assert tree["membership"]["mean"].shape == (x.size, 3)
    mu = tree["posterior"]["mu"].mean(("chain", "draw")).values
    np.testing.assert_allclose(mu, TRUE["mu"], atol=0.1)
    assert int(tree["diagnostics"]["n_divergent"]) == 0
    # membership on a grid (forced by a small budget) agrees with the direct computation
    grid = gb.membership(tree, max_work=2e6)
    assert grid.attrs["method"] == "grid" and grid.attrs["max_interpolation_error"] < 1e-3
    direct = tree["membership"].to_dataset()
    assert direct.attrs["method"] == "distinct values"
    assert float(np.abs(grid["mean"] - direct["mean"]).max()) < 1e-3
