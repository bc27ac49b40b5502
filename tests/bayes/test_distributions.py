"""The model's custom distributions: the likelihood against scipy (exact, compressed, binned),
the prior densities against ResolvedPriors.log_prior, and draws from the mixture."""

import numpy as np
import pytest
from helpers import mixture_sample, random_point, reference_log_likelihood

import gmm_bayes as gb
from gmm_bayes.bayes import HalfNormal, LogNormal, Priors

pm = pytest.importorskip("pymc")

from gmm_bayes.bayes.model import (  # noqa: E402  (after the importorskip of pymc)
    build_model,
    model_data,
    model_priors,
    to_value_space,
)

TRUE = ([0.3, 0.3, 0.4], [-5.0, 0.0, 6.0], [1.0, 0.5, 1.5])
ALL_PRIORS = [
    Priors(),
    Priors.richardson_green(),
    Priors(sigma=HalfNormal(), w_concentration=[1.0, 2.0, 3.0]),
    Priors(sigma=LogNormal(), mu_scale=1.0),
]
PRIOR_IDS = ["default", "richardson_green", "half_normal", "lognormal"]


@pytest.fixture(scope="module")
def galaxy():
    return gb.load_dataset("galaxy")


@pytest.fixture(scope="module")
def faithful():
    return gb.load_dataset("faithful")  # 272 waiting times in whole minutes, 51 distinct


@pytest.mark.slow
@pytest.mark.parametrize("priors", ALL_PRIORS[:2], ids=PRIOR_IDS[:2])
def test_log_likelihood_matches_scipy_logsumexp(galaxy, priors):
    rng = np.random.default_rng(0)
    model = build_model(galaxy, 3, priors=priors)
    logp = model.compile_logp(vars=[model["y"]], jacobian=False)
    start = model.initial_point()
    for _ in range(10):
        point = random_point(rng, 3, galaxy.mean(), galaxy.std())
        point.update({"beta": 0.7} if "beta" in model.named_vars else {})
        values = {**start, **to_value_space(model, point)}
        expected = reference_log_likelihood(galaxy, point["w"], point["mu"], point["sigma"])
        assert float(logp(values)) == pytest.approx(expected, rel=1e-10)


@pytest.mark.slow
@pytest.mark.parametrize("priors", ALL_PRIORS, ids=PRIOR_IDS)
def test_model_prior_density_is_priors_log_prior(galaxy, priors):
    """The function find_MAP maximizes is log-likelihood + ResolvedPriors.log_prior."""
    rng = np.random.default_rng(1)
    model = build_model(galaxy, 3, priors=priors)
    spec = model_priors(model)
    free = model.compile_logp(vars=model.free_RVs, jacobian=False)
    for _ in range(5):
        point = random_point(rng, 3, galaxy.mean(), galaxy.std())
        if spec.hierarchical:
            point["beta"] = spec.beta_hat(point["sigma"] ** 2)  # log_prior profiles beta out
        expected = spec.log_prior(point["w"], point["mu"], point["sigma"] ** 2)
        # rel 1e-8: the simplex transform's round trip moves w by a few ulps
        assert float(free(to_value_space(model, point))) == pytest.approx(expected, rel=1e-8)


@pytest.mark.slow
@pytest.mark.parametrize("priors", ALL_PRIORS, ids=PRIOR_IDS)
def test_compressed_log_density_is_the_uncompressed_one(faithful, priors):
    """The whole posterior log density (priors and jacobians included) at random points."""
    models = [build_model(faithful, 3, priors=priors, compress=c) for c in (True, False)]
    assert [model_data(m).n_terms for m in models] == [51, 272]
    logps = [m.compile_logp() for m in models]
    rng = np.random.default_rng(0)
    for _ in range(5):
        point = random_point(rng, 3, faithful.mean(), faithful.std())
        point["beta"] = rng.uniform(0.1, 2.0) * faithful.var()
        compressed, full = (
            float(f(to_value_space(m, point))) for f, m in zip(logps, models, strict=True)
        )
        assert compressed == pytest.approx(full, rel=1e-12)
        expected = reference_log_likelihood(faithful, point["w"], point["mu"], point["sigma"])
        y_logp = models[0].compile_logp(vars=[models[0]["y"]], jacobian=False)
        assert float(y_logp(to_value_space(models[0], point))) == pytest.approx(expected, 1e-10)


@pytest.mark.slow
def test_binned_likelihood_is_exact_for_one_component():
    """log N(x) is quadratic in x: count, mean and sum of squares of a bin are sufficient."""
    x = mixture_sample(3000, *TRUE, seed=5)
    exact = build_model(x, 1, compress=False)
    binned = build_model(x, 1, likelihood="binned", bin_width=0.5)
    assert model_data(binned).n_terms < 100
    fns = [m.compile_logp(vars=[m["y"]], jacobian=False) for m in (exact, binned)]
    rng = np.random.default_rng(6)
    for _ in range(5):
        point = {"w": np.ones(1), "mu": rng.normal(0, 3, 1), "sigma": rng.uniform(1, 6, 1)}
        values = [
            float(f(to_value_space(m, point))) for f, m in zip(fns, (exact, binned), strict=True)
        ]
        assert values[1] == pytest.approx(values[0], rel=1e-10)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Numba will use object mode:UserWarning")
def test_draws_of_y_come_from_the_mixture():
    """The observed variable's random function (prior predictive): one draw per point of y."""
    x = mixture_sample(500, *TRUE, seed=6)
    model = build_model(x, 3, compress=False)
    fixed = pm.do(model, {"w": [0.2, 0.8, 0.0], "mu": [-50.0, 50.0, 60.0], "sigma": [1, 2, 1.0]})
    y = pm.draw(fixed["y"], random_seed=1)
    assert y.shape == (500,)
    low = y < 0
    assert 0.15 < low.mean() < 0.25
    assert np.all(np.abs(y[low] + 50) < 6) and np.all(np.abs(y[~low] - 50) < 12)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Numba will use object mode:UserWarning")
@pytest.mark.parametrize("priors", ALL_PRIORS[:2], ids=PRIOR_IDS[:2])
def test_prior_draws_of_the_means_are_sorted_iid_normals(galaxy, priors):
    """Each order statistic of the draws has the law of that order statistic of K iid normals:
    ``Phi((mu_(j) - loc) / sd) ~ Beta(j, K - j + 1)`` (KS test per j)."""
    from scipy import stats

    k = 4
    model = build_model(galaxy, k, priors=priors)
    spec = model_priors(model)
    draws = pm.draw(model["mu"], 2000, random_seed=3)
    assert draws.shape == (2000, k)
    assert np.all(np.diff(draws, axis=-1) > 0)
    u = stats.norm.cdf(draws, spec.mu_loc, spec.mu_sd)
    for j in range(1, k + 1):
        assert stats.kstest(u[:, j - 1], stats.beta(j, k - j + 1).cdf).pvalue > 1e-3


@pytest.mark.filterwarnings("ignore:Numba will use object mode:UserWarning")
def test_prior_predictive_starts_inside_the_ordered_region(galaxy):
    """pm.sample_prior_predictive (and SMC, which starts there) draws from the model's prior."""
    model = build_model(galaxy, 3)
    with model:
        prior = pm.sample_prior_predictive(200, var_names=["mu"], random_seed=4).prior
    assert np.all(np.diff(prior["mu"].values, axis=-1) > 0)
