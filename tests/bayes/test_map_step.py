"""MAP-EM: the MapStep in closed form and against scipy, and fit_em(priors=...) end to end.

No PyMC here; that MAP-EM is PyMC's MAP (pm.find_MAP) is checked in test_model.
"""

import subprocess
import sys

import numpy as np
import pytest
from helpers import mixture_sample
from scipy import optimize, stats
from scipy.special import softmax

import gmm_bayes as gb
from gmm_bayes.bayes import HalfNormal, HierarchicalInverseGamma, InverseGamma, LogNormal, Priors
from gmm_bayes.bayes.map_step import MapStep
from gmm_bayes.bayes.priors import ResolvedPriors
from gmm_bayes.bayes.sigma_priors import HalfNormalSigma, InverseGammaSigma, LogNormalSigma
from gmm_bayes.em import Step

ALL_SIGMA_PRIORS = [InverseGamma(), HierarchicalInverseGamma(), HalfNormal(), LogNormal()]
RESOLVED_SIGMA_PRIORS = [
    InverseGammaSigma(2.0, 0.5),
    InverseGammaSigma(2.0, None, g=0.5, h=2.0),
    HalfNormalSigma(1.5),
    LogNormalSigma(np.log(0.7), 0.8),
]
TIGHT = {"tol": 1e-12, "max_iter": 100_000}
TRUE = ([0.3, 0.3, 0.4], [-5.0, 0.0, 6.0], [1.0, 0.5, 1.5])


def three_groups(n=300, seed=0):
    return mixture_sample(n, *TRUE, seed=seed)


def objective(x, priors, weights, means, sigmas):
    """Log-likelihood plus log prior density in the data's units."""
    spec = priors.resolve(x, len(weights))
    log_lik = np.sum(np.log(np.sum(weights * stats.norm.pdf(x[:, None], means, sigmas), axis=1)))
    return log_lik + spec.log_prior(weights, means, np.asarray(sigmas) ** 2)


# --- the step alone: closed forms and scipy ------------------------------------------------


def test_map_step_is_an_em_step():
    step = Priors().em_step(three_groups(), 0.0, 1.0, 0.0)
    assert isinstance(step, MapStep) and isinstance(step, Step) and step.reg == 0.0


def test_map_step_closed_form_computed_by_hand():
    """mu's prior centred on each component's mean: no shrinkage, so everything is closed form.

    weights (n_k + a_k - 1) / (N + sum(a) - K) = (11, 32) / 43; sigma**2 = (n var + 2 beta) /
    (n + 2 alpha + 1) = (40 + 2) / 15 = 2.8 and (30 + 2) / 35; plus reg = 0.1.
    """
    priors = ResolvedPriors(np.array([2.0, 3.0]), 0.0, 1.0, InverseGammaSigma(2.0, 1.0))
    w, mu, var = MapStep(priors, reg=0.1).m_step(
        np.array([10.0, 30.0]), np.array([0.0, 0.0]), np.array([4.0, 1.0])
    )
    np.testing.assert_allclose(w, [11 / 43, 32 / 43], rtol=1e-14)
    np.testing.assert_allclose(mu, [0.0, 0.0], atol=1e-14)
    np.testing.assert_allclose(var, [2.8 + 0.1, 32 / 35 + 0.1], rtol=1e-12)


def test_map_step_shrinks_a_mean_toward_its_prior_by_the_normal_posterior_mean():
    """Given the variance v it settles on, mu = (n xbar / v + m / s**2) / (n / v + 1 / s**2)."""
    priors = ResolvedPriors(np.array([1.0]), 3.0, 0.5, InverseGammaSigma(2.0, 1.0))
    _, mu, var = MapStep(priors, reg=0.0).m_step(np.array([8.0]), np.array([1.0]), np.array([2.0]))
    n, xbar, m, s2 = 8.0, 1.0, 3.0, 0.25
    assert mu[0] == pytest.approx((n * xbar / var[0] + m / s2) / (n / var[0] + 1 / s2), rel=1e-12)
    assert var[0] == pytest.approx((n * 2.0 + n * (xbar - mu[0]) ** 2 + 2) / (n + 5), rel=1e-12)


def sigma_log_density(prior, sigma, beta):
    """log p(sigma) (and log p(beta) when hierarchical) by scipy.stats."""
    if prior.kind == "inverse-gamma":
        b = beta if prior.hierarchical else prior.beta
        out = np.sum(stats.invgamma.logpdf(sigma**2, prior.alpha, scale=b) + np.log(2 * sigma))
        if prior.hierarchical:
            out += stats.gamma.logpdf(beta, prior.g, scale=1 / prior.h)
        return out
    if prior.kind == "half-normal":
        return np.sum(stats.halfnorm.logpdf(sigma, scale=prior.scale))
    return np.sum(stats.lognorm.logpdf(sigma, prior.sd_log, scale=np.exp(prior.log_median)))


@pytest.mark.parametrize("sigma_prior", RESOLVED_SIGMA_PRIORS, ids=lambda p: p.kind)
def test_map_step_maximizes_the_expected_log_posterior_by_scipy(sigma_prior):
    """Hard-assigned groups: the M-step's objective written with scipy.stats and maximized by
    Nelder-Mead over (logits of w, mu, log sigma[, log beta])."""
    rng = np.random.default_rng(3)
    groups = [rng.normal(-1.0, 0.6, 12), rng.normal(2.0, 1.3, 30)]
    priors = ResolvedPriors(np.array([2.0, 1.5]), 0.5, 2.0, sigma_prior)
    alpha = priors.alpha_for(2)
    nk = np.array([g.size for g in groups], float)
    xbar = np.array([g.mean() for g in groups])
    var = np.array([g.var() for g in groups])

    def negative(theta):
        w = softmax(np.r_[0.0, theta[0]])
        mu, sigma = theta[1:3], np.exp(theta[3:5])
        beta = np.exp(theta[5]) if sigma_prior.hierarchical else None
        value = sum(
            g.size * np.log(w[k]) + stats.norm.logpdf(g, mu[k], sigma[k]).sum()
            for k, g in enumerate(groups)
        )
        value += stats.dirichlet.logpdf(w, alpha) + stats.norm.logpdf(mu, 0.5, 2.0).sum()
        return -(value + sigma_log_density(sigma_prior, sigma, beta))

    start = np.r_[np.log(nk[1] / nk[0]), xbar, 0.5 * np.log(var), [0.0] * sigma_prior.hierarchical]
    best = optimize.minimize(
        negative,
        start,
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 40_000, "maxfev": 40_000},
    )
    w, mu, v = MapStep(priors, reg=0.0).m_step(nk, xbar, var)
    np.testing.assert_allclose(w, softmax(np.r_[0.0, best.x[0]]), rtol=1e-6)
    np.testing.assert_allclose(mu, best.x[1:3], rtol=1e-6)
    np.testing.assert_allclose(np.sqrt(v), np.exp(best.x[3:5]), rtol=1e-6)


@pytest.mark.parametrize("sigma_prior", RESOLVED_SIGMA_PRIORS[:1] + RESOLVED_SIGMA_PRIORS[2:])
def test_map_step_log_prior_is_the_scipy_prior_density(sigma_prior):
    priors = ResolvedPriors(np.array([2.0, 1.5, 1.0]), 0.5, 2.0, sigma_prior)
    w, mu, sigma = np.array([0.2, 0.5, 0.3]), np.array([-1.0, 0.2, 3.0]), np.array([0.3, 1, 2])
    expected = (
        stats.dirichlet.logpdf(w, [2.0, 1.5, 1.0])
        + stats.norm.logpdf(mu, 0.5, 2.0).sum()
        + sigma_log_density(sigma_prior, sigma, None)
    )
    assert MapStep(priors, 0.0).log_prior(w, mu, sigma**2) == pytest.approx(expected, rel=1e-12)


# --- fit_em(priors=...) ---------------------------------------------------------------------


def test_map_em_result_is_marked_and_its_likelihood_is_the_likelihood():
    x = three_groups()
    fit = gb.fit_em(x, 3, priors=Priors(), random_state=0)
    assert fit.method == "map-em"
    assert all(m.method == "map-em" for m in fit.local_maxima)
    expected = np.sum(
        np.log(np.sum(fit.weights * stats.norm.pdf(x[:, None], fit.means, fit.sigmas), axis=1))
    )
    assert fit.log_likelihood == pytest.approx(expected, rel=1e-10)
    assert gb.fit_em(x, 3, random_state=0).method == "em"


@pytest.mark.parametrize("sigma_prior", ALL_SIGMA_PRIORS, ids=lambda p: type(p).__name__)
def test_map_em_is_a_local_maximum_of_the_log_posterior(sigma_prior):
    x = three_groups()
    priors = Priors(sigma=sigma_prior)
    fit = gb.fit_em(x, 3, priors=priors, random_state=0, **TIGHT)
    best = objective(x, priors, fit.weights, fit.means, fit.sigmas)
    ml = gb.fit_em(x, 3, random_state=0)
    assert best > objective(x, priors, ml.weights, ml.means, ml.sigmas)
    rng = np.random.default_rng(2)
    for _ in range(20):
        w = fit.weights * np.exp(rng.normal(0, 1e-3, 3))
        mu = fit.means + rng.normal(0, 1e-3, 3)
        sigma = fit.sigmas * np.exp(rng.normal(0, 1e-3, 3))
        assert objective(x, priors, w / w.sum(), mu, sigma) < best


def test_map_em_is_close_to_maximum_likelihood_on_well_separated_data():
    x = three_groups(n=3000)
    ml = gb.fit_em(x, 3, random_state=0)
    fit = gb.fit_em(x, 3, priors=Priors(), random_state=0)
    np.testing.assert_allclose(fit.means, ml.means, atol=0.02)
    np.testing.assert_allclose(fit.sigmas, ml.sigmas, rtol=0.01)
    np.testing.assert_allclose(fit.weights, ml.weights, atol=0.005)


@pytest.mark.parametrize("sigma_prior", ALL_SIGMA_PRIORS, ids=lambda p: type(p).__name__)
def test_map_em_follows_a_change_of_units(sigma_prior):
    x = gb.load_dataset("galaxy")
    priors = Priors(sigma=sigma_prior)
    start = gb.fit_em(x, 3, random_state=0)
    fit = gb.fit_em(
        x,
        3,
        priors=priors,
        weights_init=start.weights,
        means_init=start.means,
        variances_init=start.variances,
        **TIGHT,
    )
    a, b = -1000.0, 5.0  # km/s, reflected and shifted: components come back reversed
    moved = gb.fit_em(
        a * x + b,
        3,
        priors=priors,
        weights_init=start.weights[::-1],
        means_init=a * start.means[::-1] + b,
        variances_init=a**2 * start.variances[::-1],
        **TIGHT,
    )
    np.testing.assert_allclose(moved.weights, fit.weights[::-1], rtol=1e-6)
    np.testing.assert_allclose(moved.means, a * fit.means[::-1] + b, rtol=1e-6)
    np.testing.assert_allclose(moved.sigmas, abs(a) * fit.sigmas[::-1], rtol=1e-6)


def test_map_em_never_collapses_onto_tied_values():
    x = np.repeat([1.0, 2.0, 3.0], 30)
    fit = gb.fit_em(x, 3, priors=Priors(), random_state=0)
    assert not fit.degenerate
    assert np.all(fit.sigmas > 0.01)
    np.testing.assert_allclose(fit.means, [1.0, 2.0, 3.0], atol=0.01)
    # the inverse-gamma prior's closed form: sigma**2 = 2 beta / (n + 2 alpha + 1) at a tie
    beta = 0.1 * x.var()
    np.testing.assert_allclose(fit.variances, 2 * beta / (30 + 5), rtol=1e-3)


def test_map_em_refuses_sparse_dirichlet_and_bad_priors_type():
    x = three_groups()
    with pytest.raises(ValueError, match="MAP-EM needs w_concentration >= 1"):
        gb.fit_em(x, 3, priors=Priors(w_concentration=0.5), random_state=0)
    with pytest.raises(ValueError, match="MAP-EM needs HierarchicalInverseGamma alpha"):
        gb.fit_em(x, 3, priors=Priors(sigma=HierarchicalInverseGamma(0.5, g=0.2)))
    with pytest.raises(TypeError, match="priors must be a gmm_bayes.Priors or None, got dict"):
        gb.fit_em(x, 3, priors={"mu_scale": 1.0}, random_state=0)


def test_map_em_with_priors_does_not_import_pymc():
    code = (
        "import sys, gmm_bayes as gb;"
        "gb.fit_em(gb.load_dataset('galaxy'), 3, priors=gb.Priors.richardson_green(), "
        "random_state=0);"
        "print(','.join(m for m in ('pymc', 'pytensor', 'arviz', 'xarray') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
