"""ICL = BIC - 2 sum_n sum_k z_nk log z_nk (lower is better), from the classification entropy
stored at fit time (gmm_bayes.em.entropy)."""

import numpy as np
import pytest

import gmm_bayes as gb
from gmm_bayes.em.entropy import ENTROPY_BLOCK, classification_entropy


def binary_entropy(p):
    return -(p * np.log(p) + (1 - p) * np.log1p(-p))


def test_icl_on_a_hand_computable_case():
    """Two components N(-1, 1) and N(1, 1) with weights 1/2, fixed by max_iter=0.

    Their responsibilities at x are 1 / (1 + exp(-2x)) and its complement, so x = 0 adds
    log 2 to the entropy, x = +-0.5 adds the binary entropy of 1 / (1 + e), and x = +-40 adds
    nothing (to 1e-30).
    """
    x = np.array([-40.0, -0.5, 0.0, 0.5, 40.0])
    start = dict(weights_init=[0.5, 0.5], means_init=[-1.0, 1.0], variances_init=[1.0, 1.0])
    fit = gb.fit_em(x, 2, max_iter=0, **start)
    entropy = np.log(2) + 2 * binary_entropy(1 / (1 + np.e))
    assert fit.classification_entropy == pytest.approx(entropy, rel=1e-12)
    # BIC from its definition: p = 3K - 1 = 5 free parameters, N = 5
    log_l = np.sum(np.logaddexp(-0.5 * (x + 1) ** 2, -0.5 * (x - 1) ** 2) + np.log(0.5))
    log_l -= x.size * 0.5 * np.log(2 * np.pi)
    bic = -2 * log_l + 5 * np.log(5)
    assert fit.bic() == pytest.approx(bic, rel=1e-12)
    assert fit.icl() == pytest.approx(bic + 2 * entropy, rel=1e-12)


def test_icl_equals_bic_when_no_observation_is_in_doubt():
    fit = gb.fit_em([-1.1, -1.0, -0.9, 4.9, 5.0, 5.1], 2, init="quantile")
    assert fit.classification_entropy == pytest.approx(0.0, abs=1e-100)
    assert fit.icl() == pytest.approx(fit.bic(), rel=1e-15)


def test_icl_penalizes_overlap_and_prefers_separated_clusters():
    """One group: two overlapping components pay twice their entropy on top of their BIC."""
    x = np.random.default_rng(0).normal(size=400)
    one, two = gb.fit_em(x, 1, random_state=0), gb.fit_em(x, 2, random_state=0)
    assert one.icl() == pytest.approx(one.bic())
    assert two.icl() - two.bic() == pytest.approx(2 * two.classification_entropy)
    assert two.classification_entropy > 1
    assert one.icl() < two.icl()


def test_entropy_is_the_scipy_responsibilities_entropy_and_block_free():
    from helpers import reference_responsibilities

    rng = np.random.default_rng(1)
    z = rng.normal(size=ENTROPY_BLOCK + 1000)  # more than one block
    w, mu, var = np.array([0.3, 0.7]), np.array([-0.5, 0.8]), np.array([0.5, 1.2])
    r = reference_responsibilities(z, w, mu, np.sqrt(var))
    expected = -np.sum(r * np.log(r))
    assert classification_entropy(z, w, mu, var) == pytest.approx(expected, rel=1e-10)


def test_the_stored_entropy_is_the_entropy_at_the_returned_parameters():
    x = gb.load_dataset("faithful")
    fit = gb.fit_em(x, 3, random_state=0)
    assert fit.classification_entropy == pytest.approx(
        classification_entropy(x, fit.weights, fit.means, fit.variances), rel=1e-9
    )
    for other in fit.local_maxima:
        assert other.icl() == pytest.approx(
            other.bic()
            + 2 * classification_entropy(x, other.weights, other.means, other.variances),
            rel=1e-9,
        )


def test_a_zero_weight_component_adds_no_entropy():
    z = np.array([-1.0, 0.0, 1.0])
    h = classification_entropy(z, np.array([1.0, 0.0]), np.zeros(2), np.ones(2))
    assert h == 0.0


def test_sklearn_fits_have_no_entropy_so_no_icl():
    fit = gb.fit_sklearn([-1.1, -1.0, -0.9, 4.9, 5.0, 5.1], 2, random_state=0)
    assert np.isnan(fit.classification_entropy) and np.isnan(fit.icl())


def test_icl_is_in_the_dataset_attributes():
    fit = gb.fit_em(gb.load_dataset("galaxy"), 3, random_state=0)
    assert fit.to_dataset().attrs["icl"] == fit.icl()
