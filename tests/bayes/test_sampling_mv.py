"""The multivariate posterior: per-observation groups checked against scipy and EM, the refusals,
the "auto" rule (stand-in runs) and (slow) a warm-started nutpie sample of Old Faithful's two
columns, with the SMC sample agreeing with it."""

import re

import arviz_stats as azs
import numpy as np
import pytest
import xarray as xr
from scipy.stats import multivariate_normal

import gmm_bayes as gb
from gmm_bayes.bayes import Diagnostics, posterior_modes, sampling_mv
from gmm_bayes.bayes.model_mv import build_model_mv
from gmm_bayes.bayes.pointwise_mv import (
    log_likelihood_group_mv,
    membership_mv,
    posterior_predictive_group_mv,
)
from gmm_bayes.bayes.sampling_mv import sample_posterior_mv

DIMS = {
    "w": ("chain", "draw", "component"),
    "mu": ("chain", "draw", "component", "dim"),
    "cov": ("chain", "draw", "component", "dim", "dim_bis"),
}


def random_posterior(rng, chains=2, draws=3, k=2, d=2):
    w = rng.dirichlet(np.ones(k), size=(chains, draws))
    mu = rng.normal(scale=3.0, size=(chains, draws, k, d))
    a = rng.normal(size=(chains, draws, k, d, d))
    cov = a @ np.swapaxes(a, -1, -2) + np.eye(d)
    return xr.Dataset({name: (DIMS[name], v) for name, v in zip(DIMS, (w, mu, cov), strict=True)})


def scipy_density(post, x, c, s):
    w, mu, cov = (post[name].values[c, s] for name in DIMS)
    return sum(w[k] * multivariate_normal(mu[k], cov[k]).pdf(x) for k in range(w.size))


def test_log_likelihood_is_scipys_mixture_density():
    rng = np.random.default_rng(1)
    post, x = random_posterior(rng), rng.normal(scale=3.0, size=(7, 2))
    got = log_likelihood_group_mv(post, x)["y"]
    assert got.dims == ("chain", "draw", "obs")
    for c, s in [(0, 0), (1, 2)]:
        np.testing.assert_allclose(got.values[c, s], np.log(scipy_density(post, x, c, s)))


def test_posterior_predictive_draws_have_the_mixtures_moments():
    rng = np.random.default_rng(2)
    post = random_posterior(rng, chains=1, draws=1)
    y = posterior_predictive_group_mv(post, 200_000, rng)["y"].values[0, 0]
    w, mu, cov = (post[name].values[0, 0] for name in DIMS)
    mean = w @ mu
    second = sum(w[k] * (cov[k] + np.outer(mu[k], mu[k])) for k in range(w.size))
    np.testing.assert_allclose(y.mean(axis=0), mean, atol=0.05)
    np.testing.assert_allclose(np.cov(y.T), second - np.outer(mean, mean), rtol=0.03, atol=0.05)


def test_membership_of_one_draw_is_that_draws_responsibilities():
    x = gb.load_dataset("faithful2d")
    em = gb.fit_em(x, 2, random_state=0)
    post = xr.Dataset(
        {
            "w": (DIMS["w"], em.weights[None, None]),
            "mu": (DIMS["mu"], em.means[None, None]),
            "cov": (DIMS["cov"], em.covariances[None, None]),
        }
    )
    data = xr.Dataset({"y": (("obs", "dim"), x)})
    got = membership_mv(xr.DataTree.from_dict({"posterior": post, "observed_data": data}))
    np.testing.assert_allclose(got["mean"].values, em.responsibilities(x), atol=1e-12)
    np.testing.assert_allclose(got["lower"].values, got["upper"].values, atol=1e-12)


@pytest.mark.parametrize(
    ("option", "value"),
    [("likelihood", "binned"), ("priors", gb.Priors()), ("bin_width", 0.1), ("compress", True)],
)
def test_univariate_only_options_are_refused_by_name(option, value):
    x = gb.load_dataset("faithful2d")
    with pytest.raises(ValueError, match=f"{option}=.*univariate only"):
        gb.sample_posterior(x, 2, **{option: value})


def test_a_mismatched_em_is_refused():
    x = gb.load_dataset("faithful2d")
    em = gb.fit_em(x[:, :1], 2, random_state=0)
    with pytest.raises(ValueError, match="em was fitted with K=2 to 272 rows of 1 columns"):
        sample_posterior_mv(x, 2, em=em)


def iid_run(em, *, shift=0.0, miss=0.0, smc=False):
    """A stand-in for a sampler run (``MV_SAMPLER_RUNS``' signature): every chain draws iid
    around ``em``'s estimate (relative sd 0.01), chains 1.. moved by ``shift`` of the means'
    sds (R-hat far above 1.01), all chains by ``miss``; ``smc``: SMC's sample stats instead
    of NUTS's."""

    def run(model, starts, plan, opts, seed, progressbar):
        rng = np.random.default_rng(seed)
        shape = (opts["chains"], opts["draws"])
        mu = em.means * (1 + 0.01 * rng.normal(size=(*shape, *em.means.shape)))
        mu[1:] += shift * em.sigmas
        mu += miss * em.sigmas
        values = {
            "w": np.broadcast_to(em.weights, (*shape, em.n_components)),
            "mu": mu,
            "cov": np.broadcast_to(em.covariances, (*shape, *em.covariances.shape)),
        }
        post = xr.Dataset({name: (DIMS[name], v) for name, v in values.items()})
        if smc:
            stats = {
                "log_marginal_likelihood": ("chain", np.full(shape[0], -1160.0)),
                "n_stages": ("chain", np.full(shape[0], 15)),
                "distinct_particles": ("chain", np.ones(shape[0])),
            }
        else:
            stats = {"energy": (("chain", "draw"), rng.normal(size=shape))}
        tree = xr.DataTree.from_dict({"posterior": post, "sample_stats": xr.Dataset(stats)})
        return tree, {"sampling_seconds": 0.0}

    return run


def test_auto_goes_on_to_smc_only_when_nuts_fails(monkeypatch):
    x = gb.load_dataset("faithful2d")
    em = gb.fit_em(x, 2, random_state=0)
    monkeypatch.setitem(sampling_mv.MV_SAMPLER_RUNS, "smc", iid_run(em, smc=True))
    monkeypatch.setitem(sampling_mv.MV_SAMPLER_RUNS, "nutpie", iid_run(em))
    options = {"em": em, "draws": 400, "chains": 2, "sampler": "auto", "pointwise": False}
    mixed = gb.sample_posterior(x, 2, **options)
    assert mixed.attrs["sampler"] == "nutpie", mixed["diagnostics"].attrs["verdict"]
    assert mixed["diagnostics"].attrs["status"] == "OK"
    monkeypatch.setitem(sampling_mv.MV_SAMPLER_RUNS, "nutpie", iid_run(em, shift=5.0))
    tree = gb.sample_posterior(x, 2, **options)
    assert tree.attrs["sampler"] == "smc" and tree["diagnostics"].attrs["sampler"] == "smc"
    assert re.fullmatch(
        r"NUTS (chains sat in different modes|did not converge) \(R-hat \d+\.\d\d\); "
        "draws from SMC.",
        tree.attrs["sampler_note"],
    )
    assert "chain_start" not in tree["em"]  # SMC starts from the prior


def test_auto_keeps_nuts_when_smc_misses_em_s_best_maximum(monkeypatch):
    """SMC's draws all 3 sds of the means away from EM's estimate: thousands of log-likelihood
    units below EM's maximum (more than its 11 parameters), so NUTS's draws stay, and say why."""
    x = gb.load_dataset("faithful2d")
    em = gb.fit_em(x, 2, random_state=0)
    monkeypatch.setitem(sampling_mv.MV_SAMPLER_RUNS, "smc", iid_run(em, miss=3.0, smc=True))
    monkeypatch.setitem(sampling_mv.MV_SAMPLER_RUNS, "nutpie", iid_run(em, shift=5.0))
    options = {"em": em, "draws": 400, "chains": 2, "sampler": "auto", "pointwise": False}
    tree = gb.sample_posterior(x, 2, **options)
    assert tree.attrs["sampler"] == "nutpie"
    assert "SMC's best draw lies" in tree.attrs["sampler_note"]
    assert tree.attrs["sampler_note"] in tree["diagnostics"].attrs["verdict"]


def test_best_draw_log_likelihood_is_em_s_at_em_s_estimate():
    x = gb.load_dataset("faithful2d")
    em = gb.fit_em(x, 2, random_state=0)
    post = xr.Dataset(
        {
            "w": (DIMS["w"], np.stack([em.weights, [0.5, 0.5]])[None]),
            "mu": (DIMS["mu"], np.stack([em.means, em.means[::-1]])[None]),
            "cov": (DIMS["cov"], np.stack([em.covariances] * 2)[None]),
        }
    )
    best = sampling_mv.best_draw_log_likelihood(post, x, block=1)
    assert best == pytest.approx(em.log_likelihood, rel=1e-10)


@pytest.fixture(scope="module")
def faithful2d_nuts():
    x = gb.load_dataset("faithful2d")
    em = gb.fit_em(x, 2, n_init=5, random_state=0)
    return x, em, gb.sample_posterior(x, 2, em=em, draws=300, tune=300, chains=2, random_seed=3)


@pytest.mark.slow
def test_faithful2d_posterior_is_warm_started_complete_and_near_em(tmp_path, faithful2d_nuts):
    x, em, tree = faithful2d_nuts
    expected = {"posterior", "sample_stats", "log_likelihood", "posterior_predictive"}
    expected |= {"observed_data", "em", "membership", "diagnostics"}
    assert expected <= set(tree.children)
    post = tree["posterior"]
    assert post["cov"].dims == ("chain", "draw", "component", "dim", "dim_bis")
    assert post["sigma"].dims == ("chain", "draw", "component", "dim")
    # 272 points, flat-ish priors: the posterior mean is within a few sds of the MLE
    mean = post["mu"].mean(("chain", "draw")).values
    sd = post["mu"].std(("chain", "draw")).values
    assert np.all(np.abs(mean - em.means) < 4 * sd)
    # a short sample: ESS may fall short of the rule's 400, but the chains must agree
    assert float(tree["diagnostics"]["max_rhat"]) < 1.05
    assert int(tree["diagnostics"]["n_divergent"]) == 0
    assert tree["em"]["chain_start"].values.tolist() == [0, 0]
    assert tree["membership"]["mean"].shape == (272, 2)
    path = tmp_path / "tree.nc"
    tree.to_netcdf(path, engine="h5netcdf")
    back = xr.open_datatree(path, engine="h5netcdf")
    np.testing.assert_array_equal(back["posterior"]["cov"].values, post["cov"].values)


def test_membership_of_a_multivariate_tree_dispatches_to_the_rows():
    x = gb.load_dataset("faithful2d")
    em = gb.fit_em(x, 2, random_state=0)
    post = xr.Dataset(
        {
            "w": (DIMS["w"], em.weights[None, None]),
            "mu": (DIMS["mu"], em.means[None, None]),
            "cov": (DIMS["cov"], em.covariances[None, None]),
        }
    )
    tree = xr.DataTree.from_dict(
        {"posterior": post, "observed_data": xr.Dataset({"y": (("obs", "dim"), x)})}
    )
    np.testing.assert_allclose(gb.membership(tree)["mean"].values, em.responsibilities(x))


def test_check_model_takes_a_multivariate_model():
    x = gb.load_dataset("faithful2d")
    em = gb.fit_em(x, 2, covariance_type="tied", random_state=0)
    model = build_model_mv(x, 2, covariance_type="tied")
    assert gb.check_model(model, em) == pytest.approx(em.log_likelihood, rel=1e-8)
    with pytest.raises(gb.ModelMismatchError, match="is not the mixture EM fitted"):
        gb.check_model(build_model_mv(x * [60.0, 1.0], 2, covariance_type="tied"), em)


@pytest.mark.slow
def test_smc_agrees_with_nuts_on_faithful2d(faithful2d_nuts):
    """A unimodal posterior: SMC's runs from the prior and NUTS's chains from EM give the same
    posterior means within 4 combined Monte Carlo errors (ArviZ's mcse of each sample)."""
    x, em, nuts = faithful2d_nuts
    smc = gb.sample_posterior(
        x, 2, em=em, sampler="smc", draws=500, chains=2, cores=1, random_seed=3
    )
    assert set(smc.children) == set(nuts.children) and smc.attrs["smc_method"] == "pymc"
    for name in ("w", "mu", "sigma", "cov"):
        a, b = (t["posterior"].to_dataset()[[name]] for t in (nuts, smc))
        assert a[name].dims == b[name].dims
        se = np.hypot(*(azs.mcse(t, method="mean")[name].values for t in (a, b)))
        diff = (a[name] - b[name]).mean(("chain", "draw")).values
        assert np.all(np.abs(diff) <= 4 * se), (name, diff / se)
    d = Diagnostics.from_dataset(smc["diagnostics"].to_dataset())
    assert d.sampler == "smc" and np.all(np.isfinite(d.log_evidence)) and np.all(d.n_stages > 1)
    assert d.status.trustworthy, d.verdict
    table = posterior_modes(smc)
    assert float(table["weight"][0]) > 0.95 and table["cov"].dims[1:] == DIMS["cov"][2:]
