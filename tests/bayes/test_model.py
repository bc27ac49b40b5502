"""The PyMC model: structure, units, EM checks it and starts it, MAP-EM equals pm.find_MAP.

Its distributions against scipy are in test_distributions, the ordered transform in
test_transform.
"""

import warnings

import numpy as np
import pytest
from helpers import random_point

import gmm_bayes as gb
from gmm_bayes.bayes import HalfNormal, HierarchicalInverseGamma, LogNormal, Priors
from gmm_bayes.exceptions import DataError, ModelMismatchError

pm = pytest.importorskip("pymc")

from gmm_bayes.bayes.model import (  # noqa: E402  (after the importorskip of pymc)
    build_model,
    check_model,
    initial_point,
    model_data,
    model_priors,
    to_value_space,
)
from gmm_bayes.bayes.transform import SoftplusOrdered  # noqa: E402

ALL_PRIORS = [
    Priors(),
    Priors.richardson_green(),
    Priors(sigma=HalfNormal(), w_concentration=[1.0, 2.0, 3.0]),
    Priors(sigma=LogNormal(), mu_scale=1.0),
]
PRIOR_IDS = ["default", "richardson_green", "half_normal", "lognormal"]
BUNDLED = [
    ("faithful", 2),
    ("geyser_duration", 2),
    ("geyser_duration", 3),
    ("galaxy", 3),
    ("galaxy", 4),
    ("galaxy_mass", 4),
]


@pytest.fixture(scope="module")
def galaxy():
    return gb.load_dataset("galaxy")


# --- structure and arguments (no compilation) ----------------------------------------------


def test_model_structure(galaxy):
    model = build_model(galaxy, 4)
    assert [rv.name for rv in model.free_RVs] == ["w", "mu", "sigma"]
    assert [rv.name for rv in model.observed_RVs] == ["y"]
    np.testing.assert_array_equal(model.coords["component"], np.arange(4))
    assert len(model.coords["obs"]) == galaxy.size
    for name in ("w", "mu", "sigma"):
        assert model.named_vars_to_dims[name] == ("component",)
    assert model.named_vars_to_dims["y"] == ("obs",)
    np.testing.assert_array_equal(model.rvs_to_values[model["y"]].eval(), galaxy)  # data units
    data = model_data(model)  # galaxy has no ties: the likelihood runs over every observation
    assert (data.likelihood, data.compressed, data.n_obs) == ("exact", False, galaxy.size)
    np.testing.assert_array_equal(data.counts, 1.0)
    assert isinstance(model.rvs_to_transforms[model["mu"]], SoftplusOrdered)
    assert model_priors(model).mu_loc == pytest.approx(galaxy.mean())
    hierarchical = build_model(galaxy, 4, priors=Priors.richardson_green())
    assert [rv.name for rv in hierarchical.free_RVs] == ["w", "mu", "beta", "sigma"]


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (("abc", 2), {}, TypeError, "x must be an array of numbers, got a string"),
        (([1.0, np.nan, 2.0], 2), {}, DataError, "x must be finite, got nan at index 1"),
        (([1.0, 2.0, 3.0], 0), {}, ValueError, "n_components must be >= 1, got 0"),
        (([1.0, 2.0, 3.0], 4), {}, ValueError, "n_components=4 is larger than the number"),
        (([1.0, 2.0, 3.0], 2.0), {}, TypeError, "n_components must be an integer, got 2.0"),
        (([1.0, 2.0, 3.0], 2), {"priors": {"mu_scale": 1}}, TypeError, "priors must be a"),
        (
            ([1.0, 2.0, 3.0], 2),
            {"priors": Priors(w_concentration=[1.0, 1.0, 1.0])},
            ValueError,
            "w_concentration has 3 entries but n_components=2",
        ),
        (([2.0, 2.0, 2.0], 2), {}, DataError, "all 3 values of x equal 2.0"),
    ],
)
def test_bad_arguments_are_refused(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        build_model(*args, **kwargs)


def test_model_priors_needs_a_built_model():
    with pm.Model() as other:
        pm.Normal("a")
    with pytest.raises(ValueError, match="not built by gmm_bayes.build_model"):
        model_priors(other)


@pytest.mark.slow
def test_default_initial_point_is_valid(galaxy):
    model = build_model(galaxy, 4)
    assert np.isfinite(model.compile_logp()(model.initial_point()))


# --- units ------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("priors", [Priors(), Priors.richardson_green()], ids=PRIOR_IDS[:2])
def test_posterior_density_follows_a_change_of_units(galaxy, priors):
    """log p(a theta + b | a x + b) = log p(theta | x) - const: the same posterior, mapped."""
    a, b, k = 1000.0, -3.0, 3
    models = [build_model(galaxy, k, priors=priors), build_model(a * galaxy + b, k, priors=priors)]
    logps = [m.compile_logp(jacobian=False) for m in models]
    rng = np.random.default_rng(2)
    for _ in range(5):
        point = random_point(rng, k, galaxy.mean(), galaxy.std())
        moved = {"w": point["w"], "mu": a * point["mu"] + b, "sigma": a * point["sigma"]}
        if priors.hierarchical:
            point["beta"] = model_priors(models[0]).beta_hat(point["sigma"] ** 2)
            moved["beta"] = a**2 * point["beta"]  # beta is in squared data units
        before = float(logps[0](to_value_space(models[0], point)))
        after = float(logps[1](to_value_space(models[1], moved)))
        shift = (galaxy.size + 2 * k + 2 * priors.hierarchical) * np.log(a)  # d beta = a**2
        assert after == pytest.approx(before - shift, rel=1e-8)


# --- EM validates the model ---------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", gb.list_datasets())
def test_check_model_passes_on_bundled_data(name):
    x = gb.load_dataset(name)
    k = 2 if x.size < 50 else 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = [
            gb.fit_em(x, k, random_state=0),
            gb.fit_sklearn(x, k, random_state=0),
            gb.fit_em(x, k, priors=Priors(), random_state=0),
        ]
    model = build_model(x, k)
    for fit in fits:
        assert check_model(model, fit) == pytest.approx(fit.log_likelihood, rel=1e-8)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["faithful", "geyser_duration", "geyser_waiting"])
def test_check_model_on_compressed_data(name):
    x = gb.load_dataset(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = [
            gb.fit_em(x, 3, random_state=0),
            gb.fit_sklearn(x, 3, random_state=0),
            gb.fit_em(x, 3, priors=Priors(), random_state=0),
        ]
    model = build_model(x, 3)
    assert model_data(model).compressed
    for fit in fits:
        assert check_model(model, fit) == pytest.approx(fit.log_likelihood, rel=1e-8)
    with pytest.raises(ModelMismatchError, match="log-likelihood at EM's estimate"):
        check_model(build_model(x * 60, 3), fits[0])  # minutes vs seconds: caught


@pytest.mark.slow
def test_check_model_catches_mismatched_models(galaxy):
    fit = gb.fit_em(galaxy, 3, random_state=0)
    # the same data in other units
    with pytest.raises(ModelMismatchError, match=r"log-likelihood at EM's estimate is -?\d"):
        check_model(build_model(galaxy * 1000, 3), fit)
    # variances where standard deviations belong
    with pm.Model(coords={"component": range(3)}) as wrong:
        w = pm.Dirichlet("w", np.ones(3), dims="component")
        mu = pm.Normal("mu", 20, 10, dims="component", transform=SoftplusOrdered(0.2, 3))
        sigma = pm.HalfNormal("sigma", 5, dims="component")
        pm.NormalMixture("y", w=w, mu=mu, sigma=sigma**2, observed=galaxy)
    with pytest.raises(ModelMismatchError, match=f"but EM's is {float(fit.log_likelihood)!r}"):
        check_model(wrong, fit)
    with pytest.raises(
        ModelMismatchError, match="model has 4 components but the EM estimate has 3"
    ):
        check_model(build_model(galaxy, 4), fit)
    with pytest.raises(ModelMismatchError, match="model observes 81 values"):
        check_model(build_model(galaxy[1:], 3), fit)
    with pytest.raises(TypeError, match="em must be a gmm_bayes.EMResult"):
        check_model(build_model(galaxy, 3), {"w": fit.weights})


@pytest.mark.slow
def test_initial_point_is_em_floored_and_finite(galaxy):
    fit = gb.fit_em(galaxy, 4, random_state=0)
    model = build_model(galaxy, 4, priors=Priors.richardson_green())
    start = initial_point(model, fit, min_weight=0.1)
    assert set(start) == {"w", "mu", "sigma", "beta"}
    assert start["w"].min() >= 0.1 / (1 + 4 * 0.1) and start["w"].sum() == pytest.approx(1.0)
    assert np.all(np.diff(start["mu"]) > 0)
    np.testing.assert_array_equal(start["sigma"], fit.sigmas)
    assert start["beta"] == pytest.approx(model_priors(model).beta_hat(fit.variances))


# --- MAP-EM is PyMC's MAP -----------------------------------------------------------------


def find_map(model, start):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        # at ftol=1e-15 L-BFGS-B may stop on float64's limit ("ABNORMAL"): the comparison decides
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


def assert_same_map(fit, found):
    mine = np.concatenate([fit.weights, fit.means, fit.sigmas])
    theirs = np.concatenate([found["w"], found["mu"], found["sigma"]])
    np.testing.assert_allclose(mine, theirs, rtol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "k"), BUNDLED)
def test_map_em_equals_find_map_on_bundled_data(name, k):
    """Both start from the maximum-likelihood EM estimate and climb the same log posterior."""
    x = gb.load_dataset(name)
    ml = gb.fit_em(x, k, random_state=0)
    fit = gb.fit_em(
        x,
        k,
        priors=Priors(),
        weights_init=ml.weights,
        means_init=ml.means,
        variances_init=ml.variances,
        tol=1e-13,
        max_iter=100_000,
    )
    model = build_model(x, k)
    assert_same_map(fit, find_map(model, initial_point(model, ml)))


@pytest.mark.slow
@pytest.mark.parametrize("priors", ALL_PRIORS[1:], ids=PRIOR_IDS[1:])
def test_map_em_equals_find_map_for_every_sigma_prior(galaxy, priors):
    ml = gb.fit_em(galaxy, 3, random_state=0)
    fit = gb.fit_em(
        galaxy,
        3,
        priors=priors,
        weights_init=ml.weights,
        means_init=ml.means,
        variances_init=ml.variances,
        tol=1e-13,
        max_iter=100_000,
    )
    model = build_model(galaxy, 3, priors=priors)
    found = find_map(model, initial_point(model, ml))
    assert_same_map(fit, found)
    if isinstance(priors.sigma, HierarchicalInverseGamma):
        beta = model_priors(model).beta_hat(fit.variances)
        assert float(found["beta"]) == pytest.approx(beta, rel=1e-4)
