"""p(K | y) and Bayes factors from the log evidence of each K (independent checks)."""

from types import SimpleNamespace

import numpy as np
import pytest
from compare.fakes import around, fake_posterior, two_groups

import gmm_bayes as gb
from gmm_bayes.bayes import Status
from gmm_bayes.compare import compare_components
from gmm_bayes.compare.model_probabilities import model_probability_columns


def evidence(log_ml, se=0.0):
    return SimpleNamespace(log_ml=log_ml, se=se)


def test_probabilities_are_bayes_rule_over_the_k_compared():
    """Hand computation: p(K | y) proportional to p(y | K) p(K)."""
    ev = {1: evidence(-100.0), 2: evidence(-98.0), 3: evidence(-99.0)}
    cols = model_probability_columns(ev, [1, 2, 3])
    expected = np.exp([-2.0, 0.0, -1.0]) / np.exp([-2.0, 0.0, -1.0]).sum()
    np.testing.assert_allclose(cols["p_k"], expected, rtol=1e-12)
    np.testing.assert_allclose(cols["log_bayes_factor"], [-2.0, 0.0, -1.0])
    prior = {1: 0.5, 2: 0.25, 3: 0.25}
    weighted = model_probability_columns(ev, [1, 2, 3], prior)["p_k"]
    expected = np.exp([-2.0, 0.0, -1.0]) * [0.5, 0.25, 0.25]
    np.testing.assert_allclose(weighted, expected / expected.sum(), rtol=1e-12)


def test_monte_carlo_error_matches_simulated_evidence_errors():
    """The delta-method se of p(K | y) against simulating the evidences' normal errors."""
    ev = {1: evidence(-10.0, 0.05), 2: evidence(-9.5, 0.1), 3: evidence(-9.8, 0.08)}
    cols = model_probability_columns(ev, [1, 2, 3])
    rng = np.random.default_rng(0)
    draws = rng.normal([-10.0, -9.5, -9.8], [0.05, 0.1, 0.08], size=(200_000, 3))
    p = np.exp(draws - draws.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(cols["p_k_se"], p.std(axis=0), rtol=0.05)


def test_bad_evidence_or_prior_is_refused():
    with pytest.raises(ValueError, match="no log evidence for K=2"):
        model_probability_columns({1: evidence(-1.0)}, [1, 2])
    with pytest.raises(ValueError, match="k_prior must map every K"):
        model_probability_columns({1: evidence(-1.0), 2: evidence(-2.0)}, [1, 2], {1: 1.0})
    with pytest.raises(ValueError, match="finite and > 0"):
        model_probability_columns({1: evidence(-1.0), 2: evidence(-2.0)}, [1, 2], {1: 1, 2: 0})


def test_compare_components_adds_p_k_and_names_the_k_it_prefers():
    x = two_groups()
    em = {k: gb.fit_em(x, k, random_state=0) for k in (1, 2)}
    sk = {k: gb.fit_sklearn(x, k, random_state=0) for k in (1, 2)}
    trees = {k: fake_posterior(*around(em[k]), y=x, status=Status.OK, seed=k) for k in (1, 2)}
    ev = {1: evidence(-300.0, 0.05), 2: evidence(-290.0, 0.05)}
    ds = compare_components(x, trees, em_fits=em, sklearn_fits=sk, evidences=ev)
    assert ds["p_k"].sel(K=2) == pytest.approx(1 / (1 + np.exp(-10.0)))
    assert ds["log_bayes_factor"].sel(K=1) == pytest.approx(-10.0)
    assert ds.attrs["preferred_p_k"] == 2
    assert "highest p(K | y)" in ds.attrs["agreement"]
    without = compare_components(x, trees, em_fits=em, sklearn_fits=sk)
    assert "p_k" not in without and "preferred_p_k" not in without.attrs
