"""compare_components: BIC, AIC and ICL prefer a K among healthy fits only; ICL and the
prior-regularized BIC (Fraley & Raftery 2007) columns."""

import dataclasses

import numpy as np
import pytest
from compare.fakes import around, fake_posterior, two_groups

import gmm_bayes as gb
from gmm_bayes.bayes import Status
from gmm_bayes.compare import compare_components
from gmm_bayes.compare.components import collapse_reason


@pytest.fixture(scope="module")
def x():
    return two_groups()


@pytest.fixture(scope="module")
def fits(x):
    """Healthy EM and scikit-learn fits for K = 1, 2, 3, and a posterior per K."""
    em = {k: gb.fit_em(x, k, random_state=0) for k in (1, 2, 3)}
    sk = {k: gb.fit_sklearn(x, k, random_state=0) for k in (1, 2, 3)}
    trees = {k: fake_posterior(*around(em[k]), y=x, status=Status.OK, seed=k) for k in em}
    return em, sk, trees


def spiked(fit, gain=100.0):
    """``fit`` with its last component marked collapsed and a log-likelihood ``gain`` higher:
    a spike that wins every criterion on likelihood alone."""
    collapsed = np.zeros(fit.n_components, dtype=bool)
    collapsed[-1] = True
    weights = fit.weights.copy()
    weights[-1], weights[0] = 1.0 / fit.n_obs, weights[0] + weights[-1] - 1.0 / fit.n_obs
    return dataclasses.replace(
        fit, weights=weights, log_likelihood=fit.log_likelihood + gain, collapsed=collapsed
    )


def test_no_criterion_prefers_a_collapsed_fit(x, fits):
    em, sk, trees = fits
    em = {**em, 3: spiked(em[3])}
    sk = {**sk, 3: spiked(sk[3])}
    ds = compare_components(x, trees, em_fits=em, sklearn_fits=sk)
    assert ds["em_bic"].sel(K=3) < ds["em_bic"].sel(K=2)  # the spike has the lowest BIC ...
    for name in ("em_bic", "em_aic", "em_icl", "sklearn_bic"):
        assert ds.attrs[f"preferred_{name}"] == 2, name  # ... and is not preferred
    assert list(ds["em_degenerate"].values) == [False, False, True]
    assert "K=3 collapsed" in ds.attrs["agreement"] and "leave it out" in ds.attrs["agreement"]


def test_the_collapse_column_says_why(x, fits):
    em, sk, trees = fits
    ds = compare_components(x, trees, em_fits={**em, 3: spiked(em[3])}, sklearn_fits=sk)
    assert list(ds["em_collapse"].values[:2]) == ["", ""]
    assert ds["em_collapse"].sel(K=3).item().startswith("component 2 (mean ")
    assert "1 effective observations" in ds["em_collapse"].sel(K=3).item()


def test_collapse_reasons_name_the_rule_each_component_breaks():
    fit = gb.fit_em([1.0, 2.0, 3.0, 10.0, 11.0, 12.0], 3, init="quantile", max_iter=0)
    floor = dataclasses.replace(
        fit,
        variances=np.array([fit.reg_covar, 1e6, 0.5]),  # 0.5 < 1e6 / 1000**2
        collapsed=np.array([True, False, True]),
    )
    reasons = collapse_reason(floor).split("; ")
    assert reasons[0].startswith("component 0") and "at the reg_covar floor" in reasons[0]
    assert reasons[1].startswith("component 2") and "under 1/1000 of the widest" in reasons[1]


def test_when_every_fit_collapsed_the_sentence_says_so(x, fits):
    em, sk, trees = fits
    em = {k: spiked(fit) for k, fit in em.items() if k > 1}
    trees = {k: trees[k] for k in em}
    ds = compare_components(x, trees, em_fits=em, sklearn_fits=sk)
    assert ds.attrs["preferred_em_bic"] in (2, 3)
    assert "collapsed for every K" in ds.attrs["agreement"]


def test_icl_column_and_preference(x, fits):
    em, sk, trees = fits
    ds = compare_components(x, trees, em_fits=em, sklearn_fits=sk)
    for k in em:
        assert ds["em_icl"].sel(K=k) == pytest.approx(em[k].icl())
        assert ds["em_icl"].sel(K=k) >= ds["em_bic"].sel(K=k)
    assert ds.attrs["preferred_em_icl"] == 2  # two well separated groups
    assert "EM ICL prefers K=2" in ds.attrs["agreement"]


def test_prior_regularized_bic_is_an_optional_column(x, fits):
    em, sk, trees = fits
    without = compare_components(x, trees, em_fits=em, sklearn_fits=sk)
    assert "map_bic" not in without and "preferred_map_bic" not in without.attrs
    maps = {k: gb.fit_em(x, k, priors=gb.Priors(), random_state=0) for k in em}
    ds = compare_components(x, trees, em_fits=em, sklearn_fits=sk, map_fits=maps)
    for k in em:
        assert maps[k].method == "map-em"
        assert ds["map_bic"].sel(K=k) == pytest.approx(maps[k].bic())
    assert ds.attrs["preferred_map_bic"] == 2
    assert "prior-regularized BIC prefers K=2" in ds.attrs["agreement"]
    with pytest.raises(ValueError, match="map_fits has no fit for K=2, 3"):
        compare_components(x, trees, em_fits=em, sklearn_fits=sk, map_fits={1: maps[1]})


def test_a_fit_without_classification_entropy_never_wins_icl(x, fits):
    em, sk, trees = fits
    unknown = dataclasses.replace(em[1], classification_entropy=float("nan"))
    ds = compare_components(x, trees, em_fits={**em, 1: unknown}, sklearn_fits=sk)
    assert np.isnan(ds["em_icl"].sel(K=1)) and ds.attrs["preferred_em_icl"] == 2
