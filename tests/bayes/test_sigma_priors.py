"""The sigma prior families: validation, resolution into data units, densities, variance updates."""

import numpy as np
import pytest
from scipy import optimize, stats

from gmm_bayes.bayes import HalfNormal, HierarchicalInverseGamma, InverseGamma, LogNormal
from gmm_bayes.bayes.sigma_priors import InverseGammaSigma

ALL_SIGMA_PRIORS = [InverseGamma(), HierarchicalInverseGamma(), HalfNormal(), LogNormal()]


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: InverseGamma(alpha=0), "InverseGamma alpha must be a finite number > 0"),
        (lambda: InverseGamma(beta=np.inf), "InverseGamma beta"),
        (lambda: HalfNormal(scale=-2), "HalfNormal scale"),
        (lambda: LogNormal(sd_log=0), "LogNormal sd_log"),
        (lambda: HierarchicalInverseGamma(g=-1), "HierarchicalInverseGamma g"),
    ],
)
def test_bad_sigma_priors_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_sigma_prior_classes_are_exported_from_the_bayesian_layer():
    import gmm_bayes.bayes
    import gmm_bayes.bayes.sigma_priors as module

    for cls in (InverseGamma, HierarchicalInverseGamma, HalfNormal, LogNormal):
        assert getattr(gmm_bayes.bayes, cls.__name__) is cls
        assert cls.__module__ == module.__name__ and cls.__name__ in module.__all__


def test_resolution_puts_the_numbers_in_data_units():
    spread = 3.0
    assert InverseGamma(alpha=2.0, beta=0.1).resolve(spread).beta == pytest.approx(0.9)
    assert HierarchicalInverseGamma(h=10.0).resolve(spread).h == pytest.approx(10 / 9)
    assert HalfNormal(scale=0.5).resolve(spread).scale == pytest.approx(1.5)
    assert LogNormal(median=0.2).resolve(spread).log_median == pytest.approx(np.log(0.6))


@pytest.mark.parametrize("spec", ALL_SIGMA_PRIORS, ids=lambda p: type(p).__name__)
def test_rescaled_prior_is_the_density_of_sigma_over_scale(spec):
    """p_rescaled(sigma / c) = c p(sigma): the change of variables sigma -> sigma / c."""
    prior, c = spec.resolve(2.0), 7.0
    beta = 0.3 if prior.hierarchical else None
    small_beta = None if beta is None else beta / c**2
    sigma = np.array([0.1, 0.8, 3.0])
    moved = prior.rescaled(c).logpdf(sigma / c, small_beta)
    np.testing.assert_allclose(moved, prior.logpdf(sigma, beta) + np.log(c), rtol=1e-12)


@pytest.mark.parametrize("spec", ALL_SIGMA_PRIORS, ids=lambda p: type(p).__name__)
def test_log_density_of_sigma_matches_scipy(spec):
    prior = spec.resolve(1.7)
    sigma = np.array([0.05, 0.4, 1.0, 6.0])
    if prior.kind == "inverse-gamma":
        beta = 0.8 if prior.hierarchical else prior.beta
        # density of sigma from that of sigma**2: p(sigma) = p_var(sigma**2) * 2 sigma
        expected = stats.invgamma.logpdf(sigma**2, prior.alpha, scale=beta) + np.log(2 * sigma)
        got = prior.logpdf(sigma, beta if prior.hierarchical else None)
    elif prior.kind == "half-normal":
        expected, got = stats.halfnorm.logpdf(sigma, scale=prior.scale), prior.logpdf(sigma)
    else:
        expected = stats.lognorm.logpdf(sigma, prior.sd_log, scale=np.exp(prior.log_median))
        got = prior.logpdf(sigma)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert np.all(prior.logpdf(np.array([-1.0]), 0.8 if prior.hierarchical else None) == -np.inf)


@pytest.mark.parametrize("sigma_prior", ALL_SIGMA_PRIORS[:1] + ALL_SIGMA_PRIORS[2:])
@pytest.mark.parametrize(("n", "q"), [(10.0, 4.0), (0.5, 0.01), (200.0, 900.0), (3.0, 0.0)])
def test_variance_update_maximizes_its_objective(sigma_prior, n, q):
    prior = sigma_prior.resolve(1.7)
    v = float(prior.update_variance(np.array([n]), np.array([q]))[0])
    if isinstance(sigma_prior, HalfNormal) and q == 0:
        assert v == 0.0  # its density is positive at sigma = 0: the maximum is on the boundary
        return

    def negative(log_v):
        var = np.exp(log_v)
        return -(-0.5 * n * np.log(var) - q / (2 * var) + prior.logpdf(np.sqrt(var)))

    best = optimize.minimize_scalar(negative, bracket=(-8, 4), tol=1e-12)
    assert np.log(v) == pytest.approx(best.x, abs=1e-5)


def test_inverse_gamma_variance_update_is_the_conjugate_mode():
    """-n/2 log v - q/(2v) + log IG-density of sigma: d/dv = 0 at v = (q + 2 beta)/(n + 2a + 1).

    By hand: n = 10, q = 40, alpha = 2, beta = 1 gives 42 / 15 = 2.8.
    """
    assert InverseGammaSigma(2.0, 1.0).update_variance(10.0, 40.0) == pytest.approx(2.8)


def test_hierarchical_beta_hat_is_the_conditional_mode():
    """sum_k log p(sigma_k | beta) + log Gamma(beta | g, h) is maximal at
    (K alpha + g - 1) / (h + sum 1/sigma_k**2); by hand, K = 2, alpha = 2, g = 1, h = 1,
    variances 1 and 0.5: 4 / (1 + 1 + 2) = 1."""
    prior = InverseGammaSigma(2.0, None, g=1.0, h=1.0)
    assert prior.beta_hat(np.array([1.0, 0.5])) == pytest.approx(1.0)
