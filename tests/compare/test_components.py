"""compare_components: PSIS-LOO, stacking, BIC and AIC across K, and each K's status."""

import importlib
import pkgutil
import sys

import numpy as np
import pytest
import xarray as xr
from compare.fakes import around, fake_diagnostics, fake_posterior, two_groups

import gmm_bayes as gb
import gmm_bayes.bayes
from gmm_bayes.bayes import Status
from gmm_bayes.compare import compare_components, compare_estimates, row_status


@pytest.fixture(scope="module")
def x():
    return two_groups()


@pytest.fixture(scope="module")
def made(x):
    """EM and scikit-learn fits, and a posterior per K (fake: OK for K=1, MULTIMODAL for K=2)."""
    em = {k: gb.fit_em(x, k, random_state=0) for k in (1, 2)}
    sk = {k: gb.fit_sklearn(x, k, random_state=0) for k in (1, 2)}
    trees = {
        1: fake_posterior(*around(em[1]), y=x, status=Status.OK),
        2: fake_posterior(*around(em[2]), y=x, status=Status.MULTIMODAL, seed=1),
    }
    return {"em": em, "sk": sk, "trees": trees}


def _refuse(*args, **kwargs):
    raise AssertionError("compare must not fit or sample")


def _import_every_module():
    """Import the whole package first: a module imported while the entry points are patched
    would bind :func:`_refuse` for good (``from gmm_bayes.em import fit_em``), and break every
    later test that uses it."""
    for info in pkgutil.walk_packages(gmm_bayes.__path__, "gmm_bayes."):
        if not info.name.endswith("__main__"):  # that one runs the command line
            importlib.import_module(info.name)


def _refuse_everywhere(monkeypatch, functions):
    """Replace ``functions`` by :func:`_refuse` wherever a gmm_bayes module holds them."""
    _import_every_module()
    for name, module in list(sys.modules.items()):
        if name == "gmm_bayes" or name.startswith("gmm_bayes."):
            for attr, value in list(vars(module).items()):
                if any(value is f for f in functions):
                    monkeypatch.setattr(module, attr, _refuse)


def test_compare_never_fits_or_samples(x, made, monkeypatch):
    """Every fitting and sampling entry point raises: compare still answers."""
    from sklearn.mixture import GaussianMixture

    functions = [gb.fit_em, gb.fit_sklearn]
    if "gmm_bayes.bayes.sampling" in sys.modules:
        functions.append(sys.modules["gmm_bayes.bayes.sampling"].sample_posterior)
    _refuse_everywhere(monkeypatch, functions)
    for module in (gb, gmm_bayes.bayes):  # lazy names not loaded yet: into the module dict
        # (only when absent: monkeypatch undoes every setattr before any setitem, so a setitem
        # over a name just patched by setattr would restore the stub last)
        if "sample_posterior" not in vars(module):
            monkeypatch.setitem(vars(module), "sample_posterior", _refuse)
    monkeypatch.setattr(GaussianMixture, "fit", _refuse)
    monkeypatch.setattr(GaussianMixture, "fit_predict", _refuse)

    fits = {"em": made["em"][2], "sklearn": made["sk"][2]}
    est = compare_estimates(x, fits, made["trees"][2])
    assert list(est["method"].values) == ["em", "sklearn", "posterior_mean"]
    ds = compare_components(x, made["trees"], em_fits=made["em"], sklearn_fits=made["sk"])
    assert list(ds["K"].values) == [1, 2]


def test_columns_come_from_the_fits_and_loo(x, made):
    ds = compare_components(x, made["trees"], em_fits=made["em"], sklearn_fits=made["sk"])
    for k in (1, 2):
        em, sk = made["em"][k], made["sk"][k]
        assert ds["em_log_likelihood"].sel(K=k) == em.log_likelihood
        assert ds["em_bic"].sel(K=k) == pytest.approx(em.bic())
        assert ds["em_aic"].sel(K=k) == pytest.approx(em.aic())
        assert ds["sklearn_bic"].sel(K=k) == pytest.approx(sk.bic())
    counts = ds["pareto_k_good"] + ds["pareto_k_bad"] + ds["pareto_k_very_bad"]
    assert (counts == x.size).all()
    assert ds["stacking_weight"].sum() == pytest.approx(1.0)
    assert ds.attrs["preferred_em_bic"] == 2 and ds.attrs["preferred_elpd_loo"] == 2
    assert "lower is better" in ds.attrs["sign_convention"]
    assert ds.attrs["n_obs"] == x.size


def test_a_failed_posterior_gets_no_stacking_weight(x, made):
    """K=2 fits better (higher elpd) but its posterior is MULTIMODAL: stacking runs over the
    trustworthy K only, so K=1, the only one left, takes all the weight."""
    ds = compare_components(x, made["trees"], em_fits=made["em"], sklearn_fits=made["sk"])
    assert list(ds["trustworthy"].values) == [True, False]
    assert ds["elpd_loo"].sel(K=2) > ds["elpd_loo"].sel(K=1)
    assert list(ds["stacking_weight"].values) == [1.0, 0.0]


def test_status_is_the_typed_one_never_the_prose(x, made):
    ds = compare_components(x, made["trees"], em_fits=made["em"], sklearn_fits=made["sk"])
    assert list(ds["status"].values) == ["OK", "MULTIMODAL"]
    assert list(ds["trustworthy"].values) == [True, False]
    assert list(ds["multimodal"].values) == [False, True]
    assert "K=2 failed its diagnostics" in ds.attrs["agreement"]
    # a verdict that reads "OK" does not make a MULTIMODAL posterior OK
    tree = made["trees"][2].copy()
    lying = fake_diagnostics(Status.MULTIMODAL, verdict="OK: no sampling problems detected.")
    tree["diagnostics"] = xr.DataTree(lying.to_dataset())
    ds = compare_components(x, {2: tree}, em_fits=made["em"], sklearn_fits=made["sk"])
    assert ds["status"].sel(K=2) == "MULTIMODAL" and not ds["trustworthy"].sel(K=2)
    assert ds["verdict"].sel(K=2) == "OK: no sampling problems detected."


def test_an_ok_posterior_with_high_pareto_k_is_caution(x, made):
    tree = made["trees"][1].copy()
    ll = tree["log_likelihood"].to_dataset().copy(deep=True)
    # one observation's log-likelihood over draws is -Exponential(scale 0.8): its importance
    # ratios exp(-ll) have a Pareto tail of shape 0.8, above the threshold (0.64 at 600 draws)
    rng = np.random.default_rng(0)
    ll["y"][:, :, 0] = -rng.exponential(0.8, ll["y"].shape[:2])
    tree["log_likelihood"] = xr.DataTree(ll)
    ds = compare_components(x, {1: tree}, em_fits=made["em"], sklearn_fits=made["sk"])
    assert ds["pareto_k_bad"].sel(K=1) + ds["pareto_k_very_bad"].sel(K=1) >= 1
    assert ds["status"].sel(K=1) == "CAUTION" and ds["trustworthy"].sel(K=1)


def test_row_status():
    assert row_status(Status.OK, 0) is Status.OK
    assert row_status(Status.OK, 2) is Status.CAUTION
    for status in (Status.NOT_CONVERGED, Status.MULTIMODAL, Status.FAILED, Status.CAUTION):
        assert row_status(status, 2) is status


def test_refuses_incomplete_inputs_with_a_remedy(x, made):
    em, sk, trees = made["em"], made["sk"], made["trees"]
    with pytest.raises(ValueError, match="em_fits has no fit for K=2"):
        compare_components(x, trees, em_fits={1: em[1]}, sklearn_fits=sk)
    with pytest.raises(ValueError, match=r"sklearn_fits\[1\] has 2 components"):
        compare_components(x, trees, em_fits=em, sklearn_fits={1: sk[2], 2: sk[2]})
    with pytest.raises(TypeError, match="posteriors must be a non-empty mapping"):
        compare_components(x, {}, em_fits=em, sklearn_fits=sk)
    with pytest.raises(ValueError, match="keys must be numbers of components K >= 1, got 0"):
        compare_components(x, {0: trees[1]}, em_fits=em, sklearn_fits=sk)
    no_loo = fake_posterior(*around(em[1]), status=Status.OK)
    with pytest.raises(ValueError, match="no log_likelihood group.*pointwise=True"):
        compare_components(x, {1: no_loo}, em_fits=em, sklearn_fits=sk)


@pytest.mark.slow
def test_chooses_two_on_sampled_posteriors(x):
    em = {k: gb.fit_em(x, k, random_state=1) for k in (1, 2)}
    sk = {k: gb.fit_sklearn(x, k, random_state=1) for k in (1, 2)}
    trees = {
        k: gb.sample_posterior(x, k, em=em[k], draws=200, tune=200, chains=2, random_seed=1)
        for k in (1, 2)
    }
    ds = compare_components(x, trees, em_fits=em, sklearn_fits=sk)
    assert list(ds["K"].values) == [1, 2]
    for name in ("em_bic", "sklearn_bic", "elpd_loo", "elpd_loo_se", "p_loo", "stacking_weight"):
        assert np.isfinite(ds[name]).all(), name
    assert ds.attrs["preferred_em_bic"] == 2
    assert ds.attrs["preferred_sklearn_bic"] == 2
    assert ds.attrs["preferred_elpd_loo"] == 2
    assert ds.attrs["criteria_agree"] == 1
    assert ds.attrs["agreement"].startswith("All criteria agree")
    assert ds["loo_rank"].sel(K=2) == 0
    for k in (1, 2):
        assert ds["status"].sel(K=k) == trees[k]["diagnostics"].attrs["status"] or (
            ds["status"].sel(K=k) == "CAUTION"
        )
