"""log_evidence: its prior is the model's (times K!), its moves keep their tempered target, and
its answer is the one known without it: quadrature at K = 1, importance sampling from a
multivariate t at K = 2 and 3."""

import functools

import numpy as np
import pytest
from helpers import mixture_sample
from scipy import integrate, optimize, stats
from scipy.special import gammaln, logsumexp

import gmm_bayes as gb
from gmm_bayes.bayes import HalfNormal, LogNormal, Priors
from gmm_bayes.bayes.evidence import PRESETS, Evidence, log_evidence
from gmm_bayes.bayes.evidence_target import MixtureTarget
from gmm_bayes.bayes.tempered_smc import random_walk_moves

ALL_PRIORS = [
    Priors(),
    Priors.richardson_green(),
    Priors(sigma=HalfNormal(), w_concentration=[1.0, 2.0, 3.0]),
    Priors(sigma=LogNormal(), mu_scale=1.0),
]
PRIOR_IDS = ["default", "richardson_green", "half_normal", "lognormal"]
# three well-separated clusters: a unimodal posterior at K = 2 and 3
SEPARATED = ([0.3, 0.3, 0.4], [-6.0, 0.0, 6.0], [1.0, 0.8, 1.2])


@pytest.fixture(scope="module")
def galaxy():
    return gb.load_dataset("galaxy")


def scipy_log_prior(spec, w, mu, sigma, beta=None):
    """The exchangeable prior's density folded onto mu_1 < ... < mu_K (K! times the iid one),
    of (w, mu, sigma) (and beta), written with scipy.stats; no Jacobian."""
    k = w.size
    out = stats.dirichlet.logpdf(w, spec.alpha_for(k))
    out += gammaln(k + 1) + stats.norm.logpdf(mu, spec.mu_loc, spec.mu_sd).sum()
    prior = spec.sigma
    if prior.kind == "half-normal":
        return out + stats.halfnorm.logpdf(sigma, scale=prior.scale).sum()
    if prior.kind == "lognormal":
        return out + stats.lognorm.logpdf(sigma, prior.sd_log, scale=np.exp(prior.log_median)).sum()
    rate = prior.beta if beta is None else beta
    # density of sigma = density of sigma**2 times d(sigma**2)/d(sigma) = 2 sigma
    out += (stats.invgamma.logpdf(sigma**2, prior.alpha, scale=rate) + np.log(2 * sigma)).sum()
    if beta is not None:
        out += stats.gamma.logpdf(beta, prior.g, scale=1.0 / prior.h)
    return out


def scipy_log_likelihood(x, w, mu, sigma):
    return logsumexp(np.log(w) + stats.norm.logpdf(x[:, None], mu, sigma), axis=1).sum()


@pytest.mark.parametrize("priors", ALL_PRIORS, ids=PRIOR_IDS)
def test_target_density_is_scipys_in_coordinates(galaxy, priors):
    """Prior (with K! and the Jacobians of log-ratio weights, log sigma, log beta) and
    likelihood against scipy at prior draws."""
    k = 3
    spec = priors.resolve(galaxy, k)
    target = MixtureTarget.from_data(galaxy, spec, k)
    theta = target.draw_prior(np.random.default_rng(0), 20)
    log_prior, log_lik = target.log_prior(theta), target.log_likelihood(theta)
    w_all, mu_all, sigma_all, beta_all = target.unpack(theta)
    betas = [None] * len(theta) if beta_all is None else beta_all[:, 0]
    for i, (w, mu, sigma, b) in enumerate(zip(w_all, mu_all, sigma_all, betas, strict=True)):
        jacobian = np.log(w).sum() + np.log(sigma).sum() + (0.0 if b is None else np.log(b))
        expected = scipy_log_prior(spec, w, mu, sigma, b) + jacobian
        assert log_prior[i] == pytest.approx(expected, rel=1e-10)
        assert log_lik[i] == pytest.approx(scipy_log_likelihood(galaxy, w, mu, sigma), rel=1e-10)


def test_unordered_means_are_outside_the_support(galaxy):
    target = MixtureTarget.from_data(galaxy, Priors().resolve(galaxy, 3), 3)
    theta = target.draw_prior(np.random.default_rng(1), 5)
    assert np.all(np.isfinite(target.log_prior(theta)))
    theta[:, [2, 3]] = theta[:, [3, 2]]  # swap mu_1 and mu_2
    assert np.all(target.log_prior(theta) == -np.inf)


@pytest.mark.parametrize("priors", ALL_PRIORS[:2], ids=PRIOR_IDS[:2])
def test_prior_draws_follow_the_prior(galaxy, priors):
    """Sorted means: each order statistic ~ Beta(j, K-j+1) after Phi; sigma and w against
    scipy's laws (KS tests)."""
    k = 3
    spec = priors.resolve(galaxy, k)
    target = MixtureTarget.from_data(galaxy, spec, k)
    w, mu, sigma, beta = target.unpack(target.draw_prior(np.random.default_rng(2), 4000))
    u = stats.norm.cdf(mu, spec.mu_loc, spec.mu_sd)
    for j in range(1, k + 1):
        assert stats.kstest(u[:, j - 1], stats.beta(j, k - j + 1).cdf).pvalue > 1e-3
    assert stats.kstest(w[:, 0], stats.beta(1.0, 2.0).cdf).pvalue > 1e-3  # Dirichlet(1,1,1)
    if beta is None:
        law = stats.invgamma(spec.sigma.alpha, scale=spec.sigma.beta)
        assert stats.kstest(sigma[:, 0] ** 2, law.cdf).pvalue > 1e-3
    else:
        law = stats.gamma(spec.sigma.g, scale=1.0 / spec.sigma.h)
        assert stats.kstest(beta[:, 0], law.cdf).pvalue > 1e-3
        beta_times_precision = beta[:, 0] / sigma[:, 0] ** 2  # ~ Gamma(alpha, rate 1)
        assert stats.kstest(beta_times_precision, stats.gamma(spec.sigma.alpha).cdf).pvalue > 1e-3


def run_moves(target, theta, temperature, n_moves, seed):
    """``n_moves`` random-walk steps on ``prior * L**temperature`` from ``theta`` (P, D)."""
    cov = np.cov(theta, rowvar=False)
    state = (theta, target.log_prior(theta), target.log_likelihood(theta))
    rng = np.random.default_rng(seed)
    return random_walk_moves(target, rng, state, temperature, cov, 0.5, n_moves)[0]


@pytest.mark.parametrize("priors", ALL_PRIORS[:2], ids=PRIOR_IDS[:2])
def test_moves_keep_the_prior_at_temperature_zero(galaxy, priors):
    """Prior draws moved many times are still prior draws (KS per order statistic and for
    sigma_1 against fresh prior draws); the moves did move them."""
    k = 3
    target = MixtureTarget.from_data(galaxy, priors.resolve(galaxy, k), k)
    theta = target.draw_prior(np.random.default_rng(10), 3000)
    moved = run_moves(target, theta, 0.0, 40, seed=11)
    fresh = target.draw_prior(np.random.default_rng(12), 3000)
    assert np.mean(np.all(moved == theta, axis=1)) < 0.01
    for column in range(k - 1, 3 * k - 1):
        assert stats.ks_2samp(moved[:, column], fresh[:, column]).pvalue > 1e-3


def test_moves_keep_a_tempered_posterior(galaxy):
    """At temperature 0.3 on eleven points, the moved draws' means of mu and log sigma match
    self-normalized importance sampling from the prior (weights L**0.3) within 4 se."""
    x, k, temperature = galaxy[::8], 2, 0.3
    target = MixtureTarget.from_data(x, Priors().resolve(x, k), k)
    prior_draws = target.draw_prior(np.random.default_rng(13), 1_000_000)
    log_w = temperature * target.log_likelihood(prior_draws)
    weights = np.exp(log_w - logsumexp(log_w))
    start = prior_draws[np.random.default_rng(14).choice(len(weights), 8000, p=weights)]
    moved = run_moves(target, start, temperature, 60, seed=15)
    for column in range(k - 1, 3 * k - 1):
        expected = weights @ prior_draws[:, column]
        sd = np.sqrt(weights @ (prior_draws[:, column] - expected) ** 2)
        se = sd * np.sqrt(1 / 8000 + np.sum(weights**2)) * 2  # autocorrelation allowance
        assert abs(moved[:, column].mean() - expected) < 4 * se


def test_result_fields_and_reproducibility(galaxy):
    kwargs = {"random_seed": 3, "n_particles": 300, "n_runs": 3, "n_moves": 3}
    ev = log_evidence(galaxy, 2, **kwargs)
    assert isinstance(ev, Evidence) and len(ev.runs) == 3
    assert ev.log_ml == pytest.approx(logsumexp(ev.runs) - np.log(3), rel=1e-14)
    assert min(ev.runs) <= ev.log_ml <= max(ev.runs) and ev.se > 0
    assert log_evidence(galaxy, 2, **kwargs) == ev


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_runs": 1}, ValueError, "n_runs must be >= 2, got 1"),
        ({"n_particles": 2.5}, TypeError, "n_particles must be an integer"),
        ({"ess_fraction": 1.0}, ValueError, r"ess_fraction must be in \(0, 1\), got 1.0"),
        ({"priors": "rg"}, TypeError, "priors must be a gmm_bayes.Priors or None, got str"),
    ],
)
def test_bad_arguments_are_refused(galaxy, kwargs, error, match):
    with pytest.raises(error, match=match):
        log_evidence(galaxy, 2, **kwargs)


def quadrature_log_evidence(galaxy):
    """K = 1, default priors: the double integral over mu and sigma on a fine grid."""
    spec = Priors().resolve(galaxy, 1)
    mean, sd, n = galaxy.mean(), galaxy.std(), galaxy.size
    mu = np.linspace(mean - 8 * sd / np.sqrt(n), mean + 8 * sd / np.sqrt(n), 801)
    sigma = np.linspace(0.6 * sd, 1.6 * sd, 801)
    m, s = np.meshgrid(mu, sigma, indexing="ij")
    log_f = stats.norm.logpdf(galaxy[:, None, None], m, s).sum(axis=0)
    log_f += stats.norm.logpdf(m, spec.mu_loc, spec.mu_sd)
    log_f += stats.invgamma.logpdf(s**2, spec.sigma.alpha, scale=spec.sigma.beta) + np.log(2 * s)
    top = log_f.max()
    inner = integrate.simpson(np.exp(log_f - top), x=sigma, axis=1)
    return top + np.log(integrate.simpson(inner, x=mu))


@pytest.mark.slow
def test_one_component_matches_quadrature(galaxy):
    expected = quadrature_log_evidence(galaxy)
    ev = log_evidence(galaxy, 1, random_seed=4, n_moves=20, ess_fraction=0.7)
    assert ev.se < 0.05
    assert abs(ev.log_ml - expected) < 2 * ev.se + 1e-3  # 1e-3: the grid's own error


def importance_log_evidence(x, spec, start, n_draws, seed):
    """Independent estimate and its se: importance sampling from a multivariate t (5 dof)
    centred at the posterior mode, scaled by the inverse Hessian there, in the coordinates
    (log(w_k / w_K), mu, log sigma); ``start`` (w, mu, sigma) is where the mode search starts."""
    k = len(start[0])

    def log_post(theta):
        logits = np.append(theta[: k - 1], 0.0)
        w = np.exp(logits - logsumexp(logits))
        mu, sigma = theta[k - 1 : 2 * k - 1], np.exp(theta[2 * k - 1 :])
        if np.any(np.diff(mu) <= 0):
            return -np.inf
        jacobian = np.log(w).sum() + np.log(sigma).sum()
        return (
            scipy_log_prior(spec, w, mu, sigma) + jacobian + scipy_log_likelihood(x, w, mu, sigma)
        )

    w, mu, sigma = (np.asarray(a, dtype=float) for a in start)
    theta0 = np.concatenate([np.log(w[:-1] / w[-1]), mu, np.log(sigma)])
    mode = optimize.minimize(lambda t: -log_post(t), theta0, method="BFGS").x
    hessian = optimize.approx_fprime(
        mode, lambda t: optimize.approx_fprime(t, log_post, 1e-6), 1e-4
    )
    proposal = stats.multivariate_t(mode, np.linalg.inv(-0.5 * (hessian + hessian.T)), df=5)
    draws = proposal.rvs(n_draws, random_state=seed)
    log_w = np.array([log_post(t) for t in draws]) - proposal.logpdf(draws)
    log_z = logsumexp(log_w) - np.log(n_draws)
    return log_z, np.std(np.exp(log_w - log_z)) / np.sqrt(n_draws)


@functools.cache
def separated_case(k):
    """Well-separated clusters (a unimodal posterior) and their importance-sampling evidence
    ``(x, expected, its se)``, computed once for the tests that need them."""
    x = mixture_sample(150, *SEPARATED, seed=7)
    fit = gb.fit_em(x, k, random_state=0)
    order = np.argsort(fit.means)
    start = (fit.weights[order], fit.means[order], fit.sigmas[order])
    expected, is_se = importance_log_evidence(x, Priors().resolve(x, k), start, 20000, seed=8)
    return x, expected, is_se


@pytest.mark.slow
@pytest.mark.parametrize("k", [2, 3])
def test_two_and_three_components_match_importance_sampling(k):
    """Well-separated clusters (a unimodal posterior): SMC and importance sampling agree."""
    x, expected, is_se = separated_case(k)
    ev = log_evidence(x, k, random_seed=9, n_runs=4, n_moves=20, ess_fraction=0.7)
    assert is_se < 0.03 and ev.se < 0.05
    assert abs(ev.log_ml - expected) < 0.1


@pytest.mark.slow
def test_fast_preset_matches_quadrature_and_importance_sampling(galaxy):
    """preset="fast" (the report's): K = 1 on galaxy against quadrature, K = 2 on separated
    clusters against importance sampling, each within 3 se + 0.05 nats (measured: 0.02-0.03
    off at K = 1 for seeds 0-2)."""
    expected = quadrature_log_evidence(galaxy)
    ev = log_evidence(galaxy, 1, random_seed=0, preset="fast")
    assert ev.se < 0.1 and abs(ev.log_ml - expected) < 3 * ev.se + 0.05
    x, expected, _ = separated_case(2)
    ev = log_evidence(x, 2, random_seed=1, preset="fast")
    assert ev.se < 0.1 and abs(ev.log_ml - expected) < 3 * ev.se + 0.05


def test_preset_sets_the_defaults_and_arguments_override_it(galaxy):
    fast = log_evidence(galaxy, 1, random_seed=0, preset="fast", n_particles=50, n_moves=2)
    assert fast.n_particles == 50 and len(fast.runs) == PRESETS["fast"]["n_runs"]
    with pytest.raises(ValueError, match="preset must be one of"):
        log_evidence(galaxy, 1, preset="quick")


@pytest.fixture(scope="module")
def coarse():
    """60 values of N(10, 0.7) recorded to whole units: the interval likelihood differs from the
    density's by far more than the Monte Carlo error."""
    return np.round(np.random.default_rng(11).normal(10.0, 0.7, 60))


def quadrature_interval_log_evidence(x, width):
    """K = 1, default priors, interval likelihood: the double integral on a fine grid, each
    value's probability ``Phi((x + h/2 - mu) / sigma) - Phi((x - h/2 - mu) / sigma)`` (scipy)."""
    spec = Priors().resolve(x, 1)
    mean, sd, n = x.mean(), x.std(), x.size
    mu = np.linspace(mean - 8 * sd / np.sqrt(n), mean + 8 * sd / np.sqrt(n), 401)
    sigma = np.linspace(0.4 * sd, 1.8 * sd, 401)
    m, s = np.meshgrid(mu, sigma, indexing="ij")
    values, counts = np.unique(x, return_counts=True)
    log_f = np.zeros_like(m)
    for v, c in zip(values, counts, strict=True):
        upper = stats.norm.cdf((v + width / 2 - m) / s)
        lower = stats.norm.cdf((v - width / 2 - m) / s)
        log_f += c * np.log(upper - lower)
    log_f += stats.norm.logpdf(m, spec.mu_loc, spec.mu_sd)
    log_f += stats.invgamma.logpdf(s**2, spec.sigma.alpha, scale=spec.sigma.beta) + np.log(2 * s)
    top = log_f.max()
    inner = integrate.simpson(np.exp(log_f - top), x=sigma, axis=1)
    return top + np.log(integrate.simpson(inner, x=mu))


def test_interval_target_is_the_interval_likelihood(coarse):
    """MixtureTarget with a resolution: each value's interval probability, from scipy."""
    spec = Priors().resolve(coarse, 2)
    target = MixtureTarget.from_data(coarse, spec, 2, resolution=1.0)
    w, mu, sigma = np.array([0.4, 0.6]), np.array([9.0, 11.0]), np.array([1.2, 0.7])
    cdf = stats.norm.cdf
    prob = (
        w * (cdf((coarse[:, None] + 0.5 - mu) / sigma) - cdf((coarse[:, None] - 0.5 - mu) / sigma))
    ).sum(1)
    got = target.log_likelihood(target.pack(w, mu, sigma))
    np.testing.assert_allclose(got, [np.log(prob).sum()], rtol=1e-12)


@pytest.mark.slow
def test_interval_evidence_matches_quadrature(coarse):
    expected = quadrature_interval_log_evidence(coarse, 1.0)
    ev = log_evidence(coarse, 1, resolution=1.0, random_seed=3, n_moves=20, ess_fraction=0.7)
    density = log_evidence(coarse, 1, random_seed=3, n_moves=20, ess_fraction=0.7)
    assert ev.se < 0.05
    assert abs(ev.log_ml - expected) < 2 * ev.se + 1e-3  # 1e-3: the grid's own error
    assert abs(density.log_ml - expected) > 10 * (ev.se + density.se)  # another number
    auto = log_evidence(coarse, 1, resolution="auto", random_seed=3, n_moves=20, ess_fraction=0.7)
    assert auto.log_ml == ev.log_ml  # "auto" finds the whole-unit grid
