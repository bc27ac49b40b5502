"""build_model's tied covariance (one shared sigma) and resolution (interval likelihood):
structure, check_model against EM, starts, MAP-EM against pm.find_MAP, refusals."""

import warnings

import numpy as np
import pymc as pm
import pytest
from scipy import integrate, stats

import gmm_bayes as gb
from gmm_bayes.bayes import HierarchicalInverseGamma, InverseGamma, LogNormal, Priors
from gmm_bayes.bayes.model import (
    SHARED_SIGMA,
    build_model,
    check_model,
    initial_point,
    model_data,
    to_value_space,
)
from gmm_bayes.exceptions import HeapingWarning, ModelMismatchError


@pytest.fixture(scope="module")
def faithful():
    return gb.load_dataset("faithful")


def find_map(model, start):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.filterwarnings("ignore", message="The optimizer did not converge")
        return pm.find_MAP(
            model=model,
            initvals=start,
            jitter=False,
            progressbar=False,
            return_inferencedata=False,
            maxiter=50_000,
            ftol=1e-15,
            gtol=1e-10,
        )


def y_log_likelihood(model, point):
    logp = model.compile_logp(vars=[model["y"]], jacobian=False)
    return float(logp(to_value_space(model, point)))


# --- tied ---------------------------------------------------------------------------------


def test_tied_model_has_one_free_sigma_and_a_per_component_copy(faithful):
    model = build_model(faithful, 3, covariance_type="E")
    assert [rv.name for rv in model.free_RVs] == ["w", "mu", SHARED_SIGMA]
    assert model["sigma"] in model.deterministics
    assert model.named_vars_to_dims["sigma"] == ("component",)
    draws = pm.draw(model["sigma"], 5, random_seed=0)
    assert draws.shape == (5, 3) and np.all(draws == draws[:, :1])


def test_check_model_agrees_with_tied_em(faithful):
    em = gb.fit_em(faithful, 2, covariance_type="tied", random_state=0)
    model = build_model(faithful, 2, covariance_type="tied")
    assert check_model(model, em) == pytest.approx(em.log_likelihood, rel=1e-12)
    start = initial_point(model, em)
    assert set(start) == {"w", "mu", SHARED_SIGMA} and start[SHARED_SIGMA] == em.sigmas[0]


def test_covariance_type_mismatch_is_named(faithful):
    tied = gb.fit_em(faithful, 2, covariance_type="tied", random_state=0)
    full = gb.fit_em(faithful, 2, random_state=0)
    with pytest.raises(ModelMismatchError, match="covariance_type='tied'"):
        check_model(build_model(faithful, 2), tied)
    with pytest.raises(ModelMismatchError, match="one shared sigma"):
        check_model(build_model(faithful, 2, covariance_type="tied"), full)


@pytest.mark.parametrize(
    "priors",
    [Priors(), Priors(sigma=LogNormal()), Priors(sigma=HierarchicalInverseGamma())],
    ids=["inverse-gamma", "lognormal", "hierarchical"],
)
def test_tied_map_em_equals_find_map(faithful, priors):
    ml = gb.fit_em(faithful, 2, covariance_type="tied", random_state=0)
    fit = gb.fit_em(
        faithful,
        2,
        priors=priors,
        covariance_type="tied",
        weights_init=ml.weights,
        means_init=ml.means,
        variances_init=ml.variances,
        tol=1e-13,
        max_iter=100_000,
    )
    model = build_model(faithful, 2, priors=priors, covariance_type="tied")
    found = find_map(model, initial_point(model, ml))
    mine = np.concatenate([fit.weights, fit.means, fit.sigmas[:1]])
    theirs = np.concatenate([found["w"], found["mu"], [found[SHARED_SIGMA]]])
    np.testing.assert_allclose(mine, theirs, rtol=1e-5)
    assert np.ptp(fit.sigmas) == 0


def test_tied_map_prior_counts_the_shared_sigma_once():
    spec = Priors(sigma=InverseGamma()).resolve([0.0, 1.0, 2.0, 4.0], 3)
    variances = np.full(3, 0.5)
    full = spec.log_prior([0.2, 0.3, 0.5], [0.0, 1.0, 2.0], variances)
    tied = spec.log_prior([0.2, 0.3, 0.5], [0.0, 1.0, 2.0], variances, tied=True)
    assert full - tied == pytest.approx(2 * float(spec.sigma.logpdf(np.sqrt(0.5))), rel=1e-12)


# --- resolution ---------------------------------------------------------------------------


def test_interval_likelihood_is_the_integral_of_the_mixture_density():
    x = np.array([1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 5.0, 9.0])
    model = build_model(x, 2, resolution=1.0)
    w, mu, sigma = np.array([0.6, 0.4]), np.array([2.5, 6.0]), np.array([0.7, 2.0])

    def density(t):
        return float(np.sum(w * stats.norm.pdf(t, mu, sigma)))

    expected = sum(
        np.log(integrate.quad(density, v - 0.5, v + 0.5, epsabs=0, epsrel=1e-13)[0]) for v in x
    )
    got = y_log_likelihood(model, {"w": w, "mu": mu, "sigma": sigma})
    assert got == pytest.approx(expected, rel=1e-11)
    assert model_data(model).resolution == 1.0 and model_data(model).n_terms == 5


@pytest.mark.parametrize("covariance_type", ["full", "tied"])
def test_check_model_agrees_with_interval_em(faithful, covariance_type):
    em = gb.fit_em(faithful, 2, resolution="auto", covariance_type=covariance_type, random_state=0)
    model = build_model(faithful, 2, resolution="auto", covariance_type=covariance_type)
    assert check_model(model, em) == pytest.approx(em.log_likelihood, rel=1e-12)
    assert "Interval likelihood" in model_data(model).describe()


def test_check_model_agrees_with_interval_em_on_the_heaped_geyser_durations():
    x = gb.load_dataset("geyser_duration")
    with pytest.warns(HeapingWarning):
        em = gb.fit_em(x, 4, resolution="auto", random_state=0)
    model = build_model(x, 4, resolution=em.resolution)
    assert check_model(model, em) == pytest.approx(em.log_likelihood, rel=1e-12)


def test_resolution_mismatch_is_named(faithful):
    em = gb.fit_em(faithful, 2, resolution=1.0, random_state=0)
    with pytest.raises(ModelMismatchError, match="build the model with resolution=1.0"):
        check_model(build_model(faithful, 2), em)
    with pytest.raises(ModelMismatchError, match="resolution=None"):
        check_model(build_model(faithful, 2, resolution=1.0), gb.fit_em(faithful, 2))


def test_interval_map_em_equals_find_map(faithful):
    ml = gb.fit_em(faithful, 2, resolution=1.0, random_state=0)
    fit = gb.fit_em(
        faithful,
        2,
        priors=Priors(),
        resolution=1.0,
        weights_init=ml.weights,
        means_init=ml.means,
        variances_init=ml.variances,
        tol=1e-13,
        max_iter=100_000,
    )
    model = build_model(faithful, 2, resolution=1.0)
    found = find_map(model, initial_point(model, ml))
    mine = np.concatenate([fit.weights, fit.means, fit.sigmas])
    theirs = np.concatenate([found["w"], found["mu"], found["sigma"]])
    np.testing.assert_allclose(mine, theirs, rtol=1e-5)


def test_auto_without_a_grid_is_the_density_model():
    x = gb.load_dataset("galaxy")
    model = build_model(x, 2, resolution="auto")
    assert model_data(model).resolution is None
    check_model(model, gb.fit_em(x, 2, random_state=0))


def test_predictive_draws_lie_on_the_grid(faithful):
    model = build_model(faithful, 2, resolution=1.0)
    draws = pm.draw(model["y"], 3, random_seed=0)
    np.testing.assert_array_equal(draws, np.round(draws))


def test_binned_likelihood_with_a_resolution_is_refused(faithful):
    with pytest.raises(ValueError, match="cannot be combined with likelihood='binned'"):
        build_model(faithful, 2, resolution=1.0, likelihood="binned")


@pytest.mark.slow
def test_sample_posterior_samples_the_model_em_fitted(faithful):
    em = gb.fit_em(faithful, 2, covariance_type="tied", resolution="auto", random_state=0)
    tree = gb.sample_posterior(faithful, 2, em=em, draws=100, tune=200, chains=2, random_seed=0)
    posterior = tree["posterior"].to_dataset()
    assert SHARED_SIGMA in posterior
    sigma = posterior["sigma"].transpose("chain", "draw", "component").values
    np.testing.assert_array_equal(sigma, np.repeat(sigma[..., :1], 2, axis=-1))
    assert "Interval likelihood" in tree.attrs["likelihood_note"]
    # the pointwise log-likelihood (for LOO) and the replicates follow the interval model
    from gmm_bayes.em.resolution import interval_log_probability

    first = posterior.isel(chain=0, draw=0)
    expected = interval_log_probability(
        faithful, em.resolution, first["w"].values, first["mu"].values, first["sigma"].values
    )
    got = tree["log_likelihood"]["y"].isel(chain=0, draw=0).values
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    replicates = tree["posterior_predictive"]["y"].values
    np.testing.assert_array_equal(replicates, np.round(replicates))
