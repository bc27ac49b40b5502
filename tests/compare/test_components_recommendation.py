"""The recommended K: each branch of the rule (recommend_k) and its place in compare_components."""

import numpy as np
from compare.fakes import (
    around,
    fake_comparison,
    fake_posterior,
    pointwise_elpd,
    two_groups,
)

import gmm_bayes as gb
from gmm_bayes.bayes import Status
from gmm_bayes.compare import compare_components
from gmm_bayes.compare.recommendation import (
    NO_K,
    RULE_EVIDENCE,
    RULE_LOO,
    RULE_NONE,
    recommend_k,
)

OK, CAUTION, FAILED = Status.OK, Status.CAUTION, Status.FAILED
MULTI, NOT_CONV = Status.MULTIMODAL, Status.NOT_CONVERGED


def test_evidence_picks_the_highest_p_k_among_trustworthy_k():
    # K=3 has the highest p(K | y) but its posterior is MULTIMODAL: K=2 is recommended.
    ds = fake_comparison(
        [OK, CAUTION, MULTI],
        [-150.0, -120.0, -119.0],
        p_k=[0.05, 0.35, 0.60],
        p_k_se=[0.01, 0.02, 0.02],
        preferred={"em_bic": 3, "elpd_loo": 3, "p_k": 3},
    )
    out = recommend_k(ds, pointwise_elpd([-150.0, -120.0, -119.0]))
    assert out["recommended_k"] == 2 and out["recommended_rule"] == RULE_EVIDENCE
    reason = out["recommended_reason"]
    assert "largest K compared" not in reason
    assert "runner-up K=1" in reason and "0.35 +- 0.02" in reason
    assert "EM BIC prefers K=3" in reason and "p(K | y) prefers K=3" in reason
    assert "K=3 (posterior MULTIMODAL)" in reason


def test_evidence_never_picks_a_collapsed_em_fit():
    ds = fake_comparison(
        [OK, OK, OK], [-150.0, -120.0, -119.0], degenerate=[False, False, True], p_k=[0.1, 0.3, 0.6]
    )
    out = recommend_k(ds, pointwise_elpd([-150.0, -120.0, -119.0]))
    assert out["recommended_k"] == 2 and "K=3 (EM fit collapsed)" in out["recommended_reason"]


def test_evidence_says_when_the_runner_up_is_within_monte_carlo_error():
    ds = fake_comparison([OK, OK], [-120.0, -119.0], p_k=[0.48, 0.52], p_k_se=[0.03, 0.03])
    out = recommend_k(ds, pointwise_elpd([-120.0, -119.0]))
    assert out["recommended_k"] == 2
    assert "within Monte Carlo error" in out["recommended_reason"]


def test_loo_picks_the_smallest_k_within_two_se_of_the_best():
    # K=3 has the best elpd, K=2 is 1 nat behind with a difference se of about
    # sqrt(100 * (0.3**2 + 0.3**2)) = 4.2 (fakes.pointwise_elpd): K=2 is within 2 se.
    elpd = [-160.0, -121.0, -120.0]
    pointwise = pointwise_elpd(elpd, noise=[0.3, 0.3, 0.3])
    ds = fake_comparison([OK, OK, OK], elpd, preferred={"elpd_loo": 3, "em_bic": 2})
    out = recommend_k(ds, pointwise)
    assert out["recommended_k"] == 2 and out["recommended_rule"] == RULE_LOO
    assert "runner-up K=3" in out["recommended_reason"]
    assert "PSIS-LOO prefers K=3" in out["recommended_reason"]
    assert "EM BIC" not in out["recommended_reason"]  # it agrees


def test_loo_keeps_the_best_when_no_smaller_k_is_close():
    # differences of 10 nats against an se of about 1.4 (noise 0.1): not close
    elpd = [-140.0, -130.0, -120.0]
    ds = fake_comparison([OK, OK, OK], elpd)
    out = recommend_k(ds, pointwise_elpd(elpd))
    assert out["recommended_k"] == 3
    assert "no smaller K comes within 2 se" in out["recommended_reason"]
    assert "runner-up K=2 (difference -10.0" in out["recommended_reason"]
    assert out["recommended_reason"].count("difference -10.0") == 1  # said once, not twice
    assert "every other criterion agrees" in out["recommended_reason"]
    assert out["recommended_reason"].endswith(
        "K=3 is the largest K compared, so compare larger K too."
    )


def test_loo_skips_untrustworthy_k_even_with_the_best_elpd():
    elpd = [-140.0, -130.0, -100.0]
    ds = fake_comparison([OK, OK, NOT_CONV], elpd)
    out = recommend_k(ds, pointwise_elpd(elpd))
    assert (
        out["recommended_k"] == 2 and "K=3 (posterior NOT CONVERGED)" in out["recommended_reason"]
    )


def test_a_single_trustworthy_k_is_recommended_and_said_alone():
    ds = fake_comparison([FAILED, OK], [-140.0, -130.0], p_k=[0.9, 0.1])
    out = recommend_k(ds, pointwise_elpd([-140.0, -130.0]))
    assert out["recommended_k"] == 2 and "no other K is trustworthy" in out["recommended_reason"]


def test_every_k_failed_recommends_none():
    ds = fake_comparison(
        [FAILED, MULTI, OK],
        [-140.0, -130.0, -120.0],
        degenerate=[False, False, True],
        p_k=[0, 0, 1],
    )
    out = recommend_k(ds, pointwise_elpd([-140.0, -130.0, -120.0]))
    assert out["recommended_k"] == NO_K and out["recommended_rule"] == RULE_NONE
    reason = out["recommended_reason"]
    assert reason.startswith("No K can be recommended")
    assert "K=1: posterior FAILED" in reason and "K=3: EM fit collapsed" in reason


def test_the_elpd_difference_se_is_arviz_compare_s():
    """The rule's se of a difference equals arviz_stats.compare's dse (its source)."""
    x = two_groups()
    em = {k: gb.fit_em(x, k, random_state=0) for k in (1, 2)}
    sk = {k: gb.fit_sklearn(x, k, random_state=0) for k in (1, 2)}
    trees = {k: fake_posterior(*around(em[k]), y=x, status=OK, seed=k) for k in (1, 2)}
    ds = compare_components(x, trees, em_fits=em, sklearn_fits=sk)
    assert ds.attrs["recommended_k"] == 2 and ds.attrs["recommended_rule"] == RULE_LOO
    se = float(ds["elpd_diff_se"].sel(K=1))
    assert f"+- {se:.1f})" in ds.attrs["recommended_reason"]


def test_compare_components_marks_collapsed_em_fits_untrustworthy():
    x = two_groups()
    em = {k: gb.fit_em(x, k, random_state=0) for k in (1, 2)}
    sk = {k: gb.fit_sklearn(x, k, random_state=0) for k in (1, 2)}
    trees = {k: fake_posterior(*around(em[k]), y=x, status=OK, seed=k) for k in (1, 2)}
    collapsed = em[2].__class__.__new__(em[2].__class__)
    collapsed.__dict__.update(em[2].__dict__)
    object.__setattr__(collapsed, "collapsed", np.array([False, True]))
    ds = compare_components(x, trees, em_fits={1: em[1], 2: collapsed}, sklearn_fits=sk)
    assert list(ds["trustworthy"].values) == [True, False]
    assert ds.attrs["recommended_k"] == 1
