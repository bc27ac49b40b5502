"""Priors and ResolvedPriors: validation, anchors, the log prior density (numpy/scipy only).

The sigma families are in test_sigma_priors, MAP-EM in test_map_step, the PyMC cross-checks in
test_model.
"""

import numpy as np
import pytest
from helpers import mixture_sample
from scipy import optimize, stats

import gmm_bayes as gb
from gmm_bayes.bayes import HalfNormal, HierarchicalInverseGamma, InverseGamma, LogNormal, Priors
from gmm_bayes.exceptions import DataError

ALL_SIGMA_PRIORS = [InverseGamma(), HierarchicalInverseGamma(), HalfNormal(), LogNormal()]


def three_groups(n=300, seed=0):
    return mixture_sample(n, [0.3, 0.3, 0.4], [-5.0, 0.0, 6.0], [1.0, 0.5, 1.5], seed=seed)


# --- the dataclass ------------------------------------------------------------------------


def test_defaults_are_documented_values():
    p = Priors()
    assert p.w_concentration == 1.0
    assert p.mu_scale == 2.0
    assert p.sigma == InverseGamma(alpha=2.0, beta=0.1)
    assert (p.loc, p.scale) == ("mean", "sd")
    assert not p.hierarchical
    assert Priors.richardson_green().hierarchical


def test_anchors_and_resolve_in_data_units():
    x = np.array([1.0, 2.0, 4.0, 9.0])
    spec = Priors().resolve(x, 3)
    np.testing.assert_allclose(spec.alpha, [1.0, 1.0, 1.0])
    assert spec.mu_loc == pytest.approx(x.mean())
    assert spec.mu_sd == pytest.approx(2 * x.std())
    assert spec.sigma.beta == pytest.approx(0.1 * x.var())
    rg = Priors.richardson_green().resolve(x, 2)
    assert rg.mu_loc == pytest.approx(5.0) and rg.mu_sd == pytest.approx(8.0)
    assert rg.sigma.h == pytest.approx(10 / 8.0**2) and rg.sigma.g == pytest.approx(0.2)
    absolute = Priors(loc=0.0, scale=1.0, mu_scale=10.0).resolve(x, 2)
    assert (absolute.mu_loc, absolute.mu_sd) == (0.0, 10.0)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"w_concentration": "1"}, TypeError, "w_concentration must be a number"),
        ({"w_concentration": [[1.0, 1.0]]}, ValueError, "1-D sequence"),
        ({"w_concentration": [1.0, -1.0]}, ValueError, "finite and > 0"),
        ({"w_concentration": np.nan}, ValueError, "finite and > 0"),
        ({"mu_scale": 0}, ValueError, "mu_scale must be a finite number > 0"),
        ({"mu_scale": "2"}, TypeError, "mu_scale must be a real number"),
        ({"sigma": "half-normal"}, TypeError, "sigma must be one of"),
        ({"loc": "median"}, ValueError, r"loc must be one of \('mean', 'midrange'\)"),
        ({"scale": -1.0}, ValueError, "scale must be a finite number > 0"),
        ({"scale": None}, TypeError, "scale must be one of"),
    ],
)
def test_bad_priors_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        Priors(**kwargs)


def test_concentration_of_the_wrong_length_is_refused():
    x = three_groups()
    with pytest.raises(ValueError, match="w_concentration has 3 entries but n_components=2"):
        Priors(w_concentration=[1.0, 2.0, 3.0]).resolve(x, 2)
    with pytest.raises(ValueError, match="w_concentration has 3 entries but n_components=2"):
        gb.fit_em(x, 2, priors=Priors(w_concentration=[1.0, 2.0, 3.0]), random_state=0)


def test_constant_data_has_no_relative_scale():
    with pytest.raises(DataError, match="all 5 values of x equal 3.0"):
        Priors().resolve(np.full(5, 3.0), 2)


# --- log prior density against scipy --------------------------------------------------------


@pytest.mark.parametrize("sigma_prior", ALL_SIGMA_PRIORS, ids=lambda p: type(p).__name__)
def test_log_prior_matches_scipy_densities(sigma_prior):
    rng = np.random.default_rng(1)
    x = three_groups()
    priors = Priors(w_concentration=[1.0, 2.0, 3.5], sigma=sigma_prior)
    spec = priors.resolve(x, 3)
    for _ in range(5):
        w = rng.dirichlet(np.ones(3))
        mu = np.sort(rng.normal(0, 5, 3))
        sigma = rng.uniform(0.2, 4.0, 3)
        expected = stats.dirichlet.logpdf(w, spec.alpha) + np.sum(
            stats.norm.logpdf(mu, spec.mu_loc, spec.mu_sd)
        )
        s = spec.sigma
        if isinstance(sigma_prior, InverseGamma | HierarchicalInverseGamma):
            beta = spec.beta_hat(sigma**2) if spec.hierarchical else s.beta
            # density of sigma from that of sigma**2: p(sigma) = p_var(sigma**2) * 2 sigma
            expected += np.sum(
                stats.invgamma.logpdf(sigma**2, s.alpha, scale=beta) + np.log(2 * sigma)
            )
            if spec.hierarchical:
                expected += stats.gamma.logpdf(beta, s.g, scale=1 / s.h)
        elif isinstance(sigma_prior, HalfNormal):
            expected += np.sum(stats.halfnorm.logpdf(sigma, scale=s.scale))
        else:
            expected += np.sum(stats.lognorm.logpdf(sigma, s.sd_log, scale=np.exp(s.log_median)))
        assert spec.log_prior(w, mu, sigma**2) == pytest.approx(expected, rel=1e-12)


def test_hierarchical_log_prior_profiles_beta_out():
    x = three_groups()
    spec = Priors.richardson_green().resolve(x, 3)
    variances = np.array([0.5, 2.0, 7.0])

    def negative(log_beta):
        beta = np.exp(log_beta)
        return -(np.sum(spec.sigma.logpdf(np.sqrt(variances), beta)) + spec.sigma.beta_logpdf(beta))

    best = optimize.minimize_scalar(negative, bracket=(-5, 5), tol=1e-12)
    assert spec.beta_hat(variances) == pytest.approx(np.exp(best.x), rel=1e-6)


def test_log_prior_is_minus_infinity_outside_the_support():
    spec = Priors().resolve(three_groups(), 2)
    assert spec.log_prior([0.5, 0.5], [0.0, 1.0], [1.0, 0.0]) == -np.inf
    assert spec.log_prior([1.5, -0.5], [0.0, 1.0], [1.0, 1.0]) == -np.inf


def test_em_step_is_in_fit_ems_standardized_units():
    """The step's priors are the data-unit priors mapped by z = (x - loc) / scale."""
    x = three_groups()
    priors = Priors(sigma=HalfNormal(scale=0.5))
    spec = priors.resolve(x, 3)
    step = priors.em_step(x, 2.0, 4.0, 0.25)
    assert step.reg == 0.25
    assert step.priors.mu_loc == pytest.approx((spec.mu_loc - 2.0) / 4.0)
    assert step.priors.mu_sd == pytest.approx(spec.mu_sd / 4.0)
    assert step.priors.sigma.scale == pytest.approx(spec.sigma.scale / 4.0)


def test_sigma_of_the_wrong_type_names_the_families():
    with pytest.raises(TypeError, match=r"gmm_bayes\.bayes\.\{InverseGamma, Hierarchical"):
        Priors(sigma=0.3)


def test_per_component_concentration_fits_through_the_search():
    """The search fits fewer components on its way to K; a K-vector concentration still works,
    and the returned MAP-EM fit is a fixed point of the K-component MAP step."""
    x = three_groups()
    priors = Priors(w_concentration=[2.0, 3.0, 4.0])
    fit = gb.fit_em(x, 3, priors=priors, random_state=0, tol=1e-12)
    again = gb.fit_em(
        x,
        3,
        priors=priors,
        weights_init=fit.weights,
        means_init=fit.means,
        variances_init=fit.variances,
        tol=1e-12,
    )
    np.testing.assert_allclose(again.weights, fit.weights, rtol=1e-5)
    np.testing.assert_allclose(again.means, fit.means, rtol=1e-5)
