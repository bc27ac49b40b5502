"""Priors and MAP-EM (numpy/scipy only: no PyMC here; the PyMC cross-checks are in test_model)."""

import subprocess
import sys

import numpy as np
import pytest
from scipy import optimize, stats

import gmm_bayes as gb
from gmm_bayes.bayes.priors import (
    HalfNormal,
    HierarchicalInverseGamma,
    InverseGamma,
    LogNormal,
    Priors,
)
from gmm_bayes.exceptions import DataError

ALL_SIGMA_PRIORS = [InverseGamma(), HierarchicalInverseGamma(), HalfNormal(), LogNormal()]
TIGHT = {"tol": 1e-12, "max_iter": 100_000}


def three_groups(n=300, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.choice(3, size=n, p=[0.3, 0.3, 0.4])
    return rng.normal(np.array([-5.0, 0.0, 6.0])[labels], np.array([1.0, 0.5, 1.5])[labels])


def objective(x, priors, weights, means, sigmas):
    """Log-likelihood plus log prior density in the data's units."""
    spec = priors.resolve(x, len(weights))
    log_lik = np.sum(np.log(np.sum(weights * stats.norm.pdf(x[:, None], means, sigmas), axis=1)))
    return log_lik + spec.log_prior(weights, means, np.asarray(sigmas) ** 2)


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


def test_concentration_of_the_wrong_length_is_refused():
    x = three_groups()
    with pytest.raises(ValueError, match="w_concentration has 3 entries but n_components=2"):
        Priors(w_concentration=[1.0, 2.0, 3.0]).resolve(x, 2)
    with pytest.raises(ValueError, match="w_concentration has 3 entries but n_components=2"):
        gb.fit_em(x, 2, priors=Priors(w_concentration=[1.0, 2.0, 3.0]), random_state=0)


def test_constant_data_has_no_relative_scale():
    with pytest.raises(DataError, match="all 5 values of x equal 3.0"):
        Priors().resolve(np.full(5, 3.0), 2)


def test_map_em_refuses_sparse_dirichlet_and_bad_priors_type():
    x = three_groups()
    with pytest.raises(ValueError, match="MAP-EM needs w_concentration >= 1"):
        gb.fit_em(x, 3, priors=Priors(w_concentration=0.5), random_state=0)
    with pytest.raises(TypeError, match="priors must be a gmm_bayes.Priors or None, got dict"):
        gb.fit_em(x, 3, priors={"mu_scale": 1.0}, random_state=0)


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


# --- the conditional updates are the maximizers they claim to be --------------------------


@pytest.mark.parametrize("sigma_prior", ALL_SIGMA_PRIORS[:1] + ALL_SIGMA_PRIORS[2:])
@pytest.mark.parametrize(("n", "q"), [(10.0, 4.0), (0.5, 0.01), (200.0, 900.0), (3.0, 0.0)])
def test_variance_update_maximizes_its_objective(sigma_prior, n, q):
    prior = sigma_prior._resolve(1.7)
    v = float(prior.update_variance(np.array([n]), np.array([q]))[0])
    if isinstance(sigma_prior, HalfNormal) and q == 0:
        assert v == 0.0  # its density is positive at sigma = 0: the maximum is on the boundary
        return

    def negative(log_v):
        var = np.exp(log_v)
        return -(-0.5 * n * np.log(var) - q / (2 * var) + prior.logpdf(np.sqrt(var)))

    best = optimize.minimize_scalar(negative, bracket=(-8, 4), tol=1e-12)
    assert np.log(v) == pytest.approx(best.x, abs=1e-5)


# --- MAP-EM ------------------------------------------------------------------------------


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


def test_map_em_with_priors_does_not_import_pymc():
    code = (
        "import sys, gmm_bayes as gb;"
        "gb.fit_em(gb.load_dataset('galaxy'), 3, priors=gb.Priors.richardson_green(), "
        "random_state=0);"
        "print(','.join(m for m in ('pymc', 'pytensor', 'arviz', 'xarray') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
