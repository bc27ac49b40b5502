"""sample_posterior, membership and diagnose: recovery, groups, NetCDF, seeds, starts, verdicts."""

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

import gmm_bayes as gb
from gmm_bayes.exceptions import ModelMismatchError

xr = pytest.importorskip("xarray")
pytest.importorskip("pymc")

from gmm_bayes.bayes.sampling import (  # noqa: E402  (after the importorskip of pymc)
    chain_starts,
    diagnose,
    distinct_maxima,
    membership,
    sample_posterior,
)

TRUE = {"w": [0.3, 0.3, 0.4], "mu": [-5.0, 0.0, 6.0], "sigma": [1.0, 0.5, 1.5]}
SMALL = {"chains": 2, "draws": 300, "tune": 300, "cores": 2}
GROUPS = {
    "posterior",
    "sample_stats",
    "log_likelihood",
    "posterior_predictive",
    "observed_data",
    "em",
    "membership",
    "diagnostics",
}


def three_groups(n=300, seed=0):
    """Data whose groups have exactly the TRUE weights, means and sds (so truth = sample)."""
    rng = np.random.default_rng(seed)
    sizes = np.round(np.array(TRUE["w"]) * n).astype(int)
    parts = []
    for size, mu, sigma in zip(sizes, TRUE["mu"], TRUE["sigma"], strict=True):
        e = rng.normal(size=size)
        parts.append(mu + sigma * (e - e.mean()) / e.std())
    return rng.permutation(np.concatenate(parts))


@pytest.fixture(scope="module")
def data():
    return three_groups()


@pytest.fixture(scope="module")
def tree(data):
    return sample_posterior(data, 3, random_seed=11, **SMALL)


def make_fit(weights, means, sigmas, log_likelihood, n_obs=100, local_maxima=()):
    fit = gb.EMResult(
        weights=np.asarray(weights, float),
        means=np.asarray(means, float),
        variances=np.asarray(sigmas, float) ** 2,
        log_likelihood=float(log_likelihood),
        n_iter=10,
        converged=True,
        history=np.array([log_likelihood]),
        n_obs=n_obs,
        reg_covar=0.0,
        collapsed=np.zeros(len(weights), bool),
    )
    return fit.with_local_maxima((fit, *local_maxima))


# --- one small run: everything the report needs --------------------------------------------


@pytest.mark.slow
def test_groups_dims_and_contents(tree, data):
    assert set(tree.children) == GROUPS
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


def test_posterior_predictive_draws_follow_each_draws_mixture():
    """The numpy replicates: label frequencies match w, and values match mu and sigma."""
    from gmm_bayes.bayes.sampling import _posterior_predictive

    post = xr.Dataset(
        {
            "w": (("chain", "draw", "component"), np.array([[[0.2, 0.8]], [[0.6, 0.4]]])),
            "mu": (("chain", "draw", "component"), np.array([[[-50.0, 50.0]], [[0.0, 100.0]]])),
            "sigma": (("chain", "draw", "component"), np.array([[[1.0, 2.0]], [[0.5, 3.0]]])),
        },
        coords={"chain": [0, 1], "draw": [0], "component": [0, 1]},
    )
    out = _posterior_predictive(post, 40_000, np.random.default_rng(0))["y"].values
    assert out.shape == (2, 1, 40_000)
    low = out[0, 0] < 0
    assert low.mean() == pytest.approx(0.2, abs=0.01)
    assert out[0, 0][low].std() == pytest.approx(1.0, rel=0.05)
    assert out[1, 0][out[1, 0] > 50].mean() == pytest.approx(100.0, abs=0.1)


@pytest.mark.slow
def test_posterior_recovers_known_parameters(tree):
    post = tree["posterior"]
    for name, truth in TRUE.items():
        lo, hi = post[name].quantile([0.03, 0.97], dim=("chain", "draw")).values
        assert np.all((lo <= truth) & (truth <= hi)), (name, lo, hi)
    diag = tree["diagnostics"]
    assert int(diag["n_divergent"]) == 0
    assert float(diag["max_rhat"]) < 1.05  # 2 x 300 draws: split R-hat is noisy at this size
    assert "MULTIMODAL" not in diag.attrs["verdict"]


@pytest.mark.slow
def test_log_likelihood_group_is_the_pointwise_mixture_density(tree, data):
    post = tree["posterior"]
    for chain, draw in [(0, 0), (1, 123), (0, 299)]:
        w, mu, sigma = (post[n].values[chain, draw] for n in ("w", "mu", "sigma"))
        expected = logsumexp(np.log(w) + stats.norm.logpdf(data[:, None], mu, sigma), axis=1)
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
def test_pymc_sampler_is_reproducible_too():
    x = three_groups(n=120, seed=3)
    runs = [
        sample_posterior(
            x, 2, sampler="pymc", chains=2, cores=1, draws=100, tune=100, random_seed=5
        )
        for _ in range(2)
    ]
    assert set(runs[0].children) == GROUPS
    assert runs[0]["posterior"]["mu"].shape == (2, 100, 2)
    np.testing.assert_array_equal(
        runs[0]["posterior"]["mu"].values, runs[1]["posterior"]["mu"].values
    )


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
    x = three_groups(n=100, seed=4)
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
        ({"sampler": "stan"}, ValueError, r"sampler must be one of \('nutpie', 'pymc'\)"),
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
    other = gb.fit_em(three_groups(seed=1), 3, random_state=0)  # same N and K, other data
    with pytest.raises(ModelMismatchError, match="log-likelihood at EM's estimate"):
        sample_posterior(data, 3, em=other)


# --- starts and verdicts without sampling ------------------------------------------------


def test_distinct_maxima_merges_near_duplicates():
    a = make_fit([0.5, 0.5], [0.0, 5.0], [1.0, 1.0], -100.0)
    a2 = make_fit([0.5, 0.5], [0.001, 5.002], [1.0, 1.001], -100.0)
    b = make_fit([0.2, 0.8], [-1.0, 4.0], [0.5, 2.0], -103.0)
    fit = a.with_local_maxima((a, a2, b))
    kept = distinct_maxima(fit)
    assert len(kept) == 2 and kept[0] is fit and kept[1] is b


@pytest.mark.parametrize(
    ("log_liks", "chains", "expected"),
    [
        ([-100.0], 4, [0, 0, 0, 0]),
        ([-100.0, -103.0], 4, [0, 0, 1, 1]),
        ([-100.0, -103.0, -104.0], 4, [0, 0, 1, 2]),
        ([-100.0, -103.0, -104.0], 2, [0, 1]),
        ([-100.0, -150.0], 4, [0, 0, 0, 0]),  # far worse than the best: not a start
        ([-100.0, -101.0, -102.0, -103.0, -104.0], 3, [0, 1, 2]),
    ],
)
def test_chain_starts(log_liks, chains, expected):
    maxima = [make_fit([1.0], [float(i)], [1.0], ll) for i, ll in enumerate(log_liks)]
    assert chain_starts(maxima, chains) == expected


def fake_tree(centres, chain_mode, *, draws=500, jitter=0.02, seed=0):
    """A tree whose chain c draws around EM local maximum chain_mode[c]."""
    rng = np.random.default_rng(seed)
    k = len(centres[0]["w"])
    post = {}
    for name in ("w", "mu", "sigma"):
        base = np.array([centres[m][name] for m in chain_mode])[:, None, :]
        post[name] = base * (1 + jitter * rng.normal(size=(len(chain_mode), draws, k)))
    n_chains = len(chain_mode)
    coords = {"chain": np.arange(n_chains), "draw": np.arange(draws), "component": np.arange(k)}
    dims = ("chain", "draw", "component")
    maximum = ("maximum", "component")
    return xr.DataTree.from_dict(
        {
            "posterior": xr.Dataset({n: (dims, v) for n, v in post.items()}, coords=coords),
            "sample_stats": xr.Dataset(
                {
                    "diverging": (("chain", "draw"), np.zeros((n_chains, draws), bool)),
                    "energy": (("chain", "draw"), rng.normal(size=(n_chains, draws))),
                },
                coords={"chain": coords["chain"], "draw": coords["draw"]},
            ),
            "em": xr.Dataset(
                {
                    "maximum_w": (maximum, np.array([c["w"] for c in centres])),
                    "maximum_mu": (maximum, np.array([c["mu"] for c in centres])),
                    "maximum_sigma": (maximum, np.array([c["sigma"] for c in centres])),
                    "maximum_log_likelihood": ("maximum", [-199.29, -202.52]),
                    "chain_start": ("chain", np.array([0, 0, 1, 1])[:n_chains]),
                }
            ),
        }
    )


CENTRES = [
    {"w": [0.08, 0.39, 0.36, 0.17], "mu": [9.7, 19.8, 22.9, 24.4], "sigma": [0.4, 0.7, 1.1, 5.8]},
    {"w": [0.08, 0.47, 0.41, 0.04], "mu": [9.7, 19.9, 23.1, 33.0], "sigma": [0.4, 1.4, 1.7, 0.9]},
]


def test_diagnose_names_the_mode_each_chain_stayed_near():
    result = diagnose(fake_tree(CENTRES, [0, 0, 1, 1]))
    assert result.multimodal and not result.converged
    assert result.max_rhat > 1.5
    np.testing.assert_array_equal(result.chain_mode, [0, 0, 1, 1])
    np.testing.assert_array_equal(result.chain_start, [0, 0, 1, 1])
    assert result.verdict.startswith("MULTIMODAL")
    assert "chains disagree" in result.verdict
    assert "chain 2: 100% near EM local maximum 1" in result.verdict
    assert "maximum 1: log-likelihood -202.52, mu = (9.7, 19.9, 23.1, 33)" in result.verdict
    ds = result.to_dataset()
    assert ds.attrs["multimodal"] == 1 and ds["mode_fraction"].shape == (4, 2)


def test_diagnose_says_ok_for_a_well_mixed_unimodal_sample():
    result = diagnose(fake_tree(CENTRES, [0, 0, 0, 0], draws=1000))
    assert result.converged and not result.multimodal
    assert result.verdict.startswith("OK: no sampling problems detected.")
    assert "All chains stayed near EM local maximum 0." in result.verdict


def test_diagnose_reports_divergences():
    t = fake_tree(CENTRES, [0, 0, 0, 0], draws=1000)
    stats_ = t["sample_stats"].to_dataset()
    stats_["diverging"][0, :3] = True
    t["sample_stats"] = xr.DataTree(stats_)
    result = diagnose(t)
    assert result.n_divergent == 3 and not result.converged
    assert "3 divergent transitions" in result.verdict and "target_accept=0.95" in result.verdict


def test_chains_that_agree_over_near_duplicate_maxima_are_not_multimodal():
    """Draws split between two near-identical EM maxima in the same way in every chain."""
    close = [CENTRES[0], {**CENTRES[0], "sigma": [0.4, 0.7, 1.1, 5.6]}]
    tree = fake_tree(close, [0, 0, 0, 0], draws=1000)
    other = fake_tree(close, [1, 1, 1, 1], draws=1000, seed=1)
    mixed = {}
    for name in ("w", "mu", "sigma"):
        a, b = tree["posterior"][name].values, other["posterior"][name].values
        mixed[name] = np.where(np.arange(1000)[None, :, None] % 2 == 0, a, b)
    tree["posterior"] = (
        tree["posterior"]
        .to_dataset()
        .assign({n: (("chain", "draw", "component"), v) for n, v in mixed.items()})
    )
    result = diagnose(tree)
    assert result.max_rhat < 1.01 and result.converged
    assert not result.multimodal
    assert result.verdict.startswith("OK")
    assert "The chains agree on how the draws split between these modes." in result.verdict


@pytest.mark.slow
def test_equal_em_weights_still_start_nutpie():
    """Two equal clusters give EM weights of exactly 0.5: nutpie once refused that start."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, 20), rng.normal(8, 1, 20)])
    em = gb.fit_em(x, 2, random_state=0)
    assert em.weights[0] == em.weights[1]
    tree = gb.sample_posterior(x, 2, em=em, draws=50, tune=50, chains=2, random_seed=1)
    assert tree["posterior"]["w"].sizes["draw"] == 50
