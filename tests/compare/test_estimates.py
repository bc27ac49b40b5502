"""compare_estimates: the fits and the posterior joined on (method, component)."""

import numpy as np
import pytest
from compare.fakes import TRUE, around, fake_posterior, two_groups
from helpers import reference_log_likelihood

import gmm_bayes as gb
from gmm_bayes.compare import compare_estimates, mixture_log_likelihood


@pytest.fixture(scope="module")
def x():
    return two_groups()


@pytest.fixture(scope="module")
def fits(x):
    em = gb.fit_em(x, 2, random_state=0)
    return {"em": em, "sklearn": gb.fit_sklearn(x, 2, random_state=0)}


def test_mixture_log_likelihood_matches_scipy(x):
    ref = reference_log_likelihood(x, TRUE["w"], TRUE["mu"], TRUE["sigma"])
    got = mixture_log_likelihood(x, TRUE["w"], TRUE["mu"], TRUE["sigma"])
    assert got == pytest.approx(ref, rel=1e-12)
    # leading draw dimensions broadcast
    other = {"w": np.array([0.5, 0.5]), "mu": np.array([-1.0, 1.0]), "sigma": np.array([2.0, 3.0])}
    stacked = [np.stack([TRUE[p], other[p]]) for p in ("w", "mu", "sigma")]
    expected = [ref, reference_log_likelihood(x, other["w"], other["mu"], other["sigma"])]
    np.testing.assert_allclose(mixture_log_likelihood(x, *stacked), expected, rtol=1e-12)


def test_each_fit_is_its_to_dataset_on_the_method_dim(x, fits):
    ds = compare_estimates(x, fits)
    assert list(ds["method"].values) == ["em", "sklearn"]  # the fits' order; no posterior row
    assert dict(ds.sizes) == {"method": 2, "component": 2}
    for method, fit in fits.items():
        row = ds.sel({"method": method})
        own = fit.to_dataset()
        for p in ("w", "mu", "sigma"):
            np.testing.assert_array_equal(row[p].values, own[p].values)
        assert row["log_likelihood"] == own.attrs["log_likelihood"]
        assert bool(row["converged"]) is bool(own.attrs["converged"])
    np.testing.assert_allclose(ds["sigma"].sel({"method": "em"}), fits["em"].sigmas)
    # without a posterior: no sd or HDI, nothing inside it
    assert np.isnan(ds["mu_sd"]).all() and np.isnan(ds["mu_hdi_lower"]).all()
    assert not ds["mu_in_hdi"].any()
    assert ds.attrs == {"n_components": 2, "n_obs": x.size, "hdi_prob": 0.94, "has_posterior": 0}
    assert list(ds["method_label"].values) == ["gmm_bayes EM", "scikit-learn (defaults)"]
    df = ds.to_dataframe()
    assert len(df) == 4 and {"w", "mu", "sigma", "mu_in_hdi", "log_likelihood"} <= set(df)


def test_posterior_mean_sd_hdi_and_flags(x, fits):
    em = fits["em"]
    center, spread = around(em)
    tree = fake_posterior(center, spread)
    ds = compare_estimates(x, fits, tree)
    assert list(ds["method"].values) == ["em", "sklearn", "posterior_mean"]
    post = tree["posterior"]
    np.testing.assert_allclose(
        ds["mu"].sel({"method": "posterior_mean"}), post["mu"].mean(("chain", "draw"))
    )
    np.testing.assert_allclose(ds["mu_sd"], post["mu"].std(("chain", "draw"), ddof=1))
    assert (ds["mu_hdi_lower"] < em.means).all() and (ds["mu_hdi_upper"] > em.means).all()
    assert ds["mu_in_hdi"].sel({"method": "em"}).all()
    assert ds["w_in_hdi"].sel({"method": "posterior_mean"}).all()
    assert bool(ds["converged"].sel({"method": "posterior_mean"}))
    # a posterior centred far from EM: every EM mean is flagged outside the HDI
    shifted = fake_posterior({**center, "mu": em.means + 5.0}, spread, seed=1)
    ds2 = compare_estimates(x, fits, shifted)
    assert not ds2["mu_in_hdi"].sel({"method": "em"}).any()
    assert ds2["sigma_in_hdi"].sel({"method": "em"}).all()
    # log-likelihood at the posterior mean: scipy's, and below EM's maximum
    mean = {p: ds2[p].sel({"method": "posterior_mean"}).values for p in ("w", "mu", "sigma")}
    ll = reference_log_likelihood(x, mean["w"], mean["mu"], mean["sigma"])
    assert ds2["log_likelihood"].sel({"method": "posterior_mean"}) == pytest.approx(ll, rel=1e-12)
    assert ll < em.log_likelihood


def test_a_posterior_alone_is_enough(x, fits):
    ds = compare_estimates(x, {}, fake_posterior(*around(fits["em"])))
    assert list(ds["method"].values) == ["posterior_mean"]


def test_refuses_mismatches_with_a_remedy(x, fits):
    three = fake_posterior(
        {p: np.tile(v[:1], 3) for p, v in TRUE.items()}, dict.fromkeys(TRUE, 0.1)
    )
    with pytest.raises(ValueError, match="posterior has 3 components but fits\\['em'\\] has 2"):
        compare_estimates(x, fits, three)
    with pytest.raises(ValueError, match="fits\\['k3'\\] has 3 components"):
        compare_estimates(x, {**fits, "k3": gb.fit_em(x, 3, random_state=0)})
    with pytest.raises(ValueError, match="fitted to 120 observations but x has 60"):
        compare_estimates(x[:60], fits)
    with pytest.raises(ValueError, match="'posterior_mean'.*pass the posterior as `posterior`"):
        compare_estimates(x, {"posterior_mean": fits["em"]})
    with pytest.raises(TypeError, match="at least one fit"):
        compare_estimates(x, {})
    with pytest.raises(TypeError, match="mapping of method name to EMResult"):
        compare_estimates(x, fits["em"])
    with pytest.raises(ValueError, match="hdi_prob must be in \\(0, 1\\), got 1.5"):
        compare_estimates(x, fits, hdi_prob=1.5)


def test_convergence_columns_standard_errors_and_health(x, fits):
    """Per-parameter r_hat/ESS/MCSE of the draws, EM's standard errors where given, and the
    posterior row's converged/trustworthy from its typed diagnostics."""
    from gmm_bayes.bayes import Status

    center, spread = around(fits["em"])
    tree = fake_posterior(center, spread, chains=4, draws=500)
    se = fits["em"].standard_errors(x, method="information")
    ds = compare_estimates(x, fits, tree, standard_errors={"em": se})
    # iid normal draws: r_hat near 1, bulk ESS near the number of draws (4 x 500), and the
    # MCSE of the mean near sd / sqrt(draws)
    assert np.allclose(ds["mu_r_hat"], 1.0, atol=0.01)
    assert ((ds["mu_ess_bulk"] > 1500) & (ds["mu_ess_bulk"] < 2600)).all()
    np.testing.assert_allclose(ds["mu_mcse_mean"], ds["mu_sd"] / np.sqrt(2000), rtol=0.2)
    np.testing.assert_array_equal(ds["mu_se"].sel({"method": "em"}), se["mu"].values)
    np.testing.assert_array_equal(ds["sigma_se_lower"].sel({"method": "em"}), se["sigma_lower"])
    assert np.isnan(ds["mu_se"].sel({"method": "sklearn"})).all()
    np.testing.assert_array_equal(ds["collapsed"].sel({"method": "em"}), fits["em"].collapsed)
    assert bool(ds["trustworthy"].sel({"method": "em"}))
    # without sampler statistics the draws cannot be judged: counted as converged
    assert bool(ds["converged"].sel({"method": "posterior_mean"}))
    for status in (Status.MULTIMODAL, Status.OK):
        judged = fake_posterior(center, spread, status=status)
        row = compare_estimates(x, fits, judged).sel({"method": "posterior_mean"})
        assert bool(row["converged"]) is bool(row["trustworthy"]) is status.trustworthy
    with pytest.raises(ValueError, match="standard_errors has methods \\['map'\\]"):
        compare_estimates(x, fits, tree, standard_errors={"map": se})


def test_posterior_log_likelihood_uses_the_fits_recording_resolution(x):
    """Data rounded to whole units, EM on their intervals: the posterior mean's log L is the
    probability of the same intervals (scipy's normal cdf), comparable with EM's."""
    from scipy import stats

    rounded_x = np.round(x)
    em = gb.fit_em(rounded_x, 2, random_state=0, resolution=1.0)
    tree = fake_posterior(*around(em))
    ds = compare_estimates(rounded_x, {"em": em}, tree)
    mean = {p: ds[p].sel({"method": "posterior_mean"}).values for p in ("w", "mu", "sigma")}
    upper = stats.norm.cdf((rounded_x[:, None] + 0.5 - mean["mu"]) / mean["sigma"])
    lower = stats.norm.cdf((rounded_x[:, None] - 0.5 - mean["mu"]) / mean["sigma"])
    expected = np.log(((upper - lower) * mean["w"]).sum(axis=1)).sum()
    got = float(ds["log_likelihood"].sel({"method": "posterior_mean"}))
    assert got == pytest.approx(expected, rel=1e-10)
    assert got <= em.log_likelihood + 1e-9  # EM's is the maximum of the same likelihood
