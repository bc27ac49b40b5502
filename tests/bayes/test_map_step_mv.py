"""MAP-EM for (N, d) data: its prior density is PyMC's, its M-step maximizes the expected log
posterior, the log posterior never falls, and its estimate is ``pm.find_MAP``'s on
``build_model_mv``'s model (faithful2d, the four covariance types; d = 3 simulated, full)."""

import warnings

import numpy as np
import pymc as pm
import pytest
from scipy import optimize

import gmm_bayes as gb
from gmm_bayes.bayes.map_step_mv import MapStepMV, MultivariatePriors
from gmm_bayes.bayes.model import to_value_space
from gmm_bayes.bayes.model_mv import build_model_mv, em_point_mv
from gmm_bayes.bayes.priors_mv import log_prior_mv, model_frame
from gmm_bayes.em.covariance import to_sklearn_shape
from gmm_bayes.em.multivariate import MultivariateStep, run_em_mv
from gmm_bayes.mixture import log_density

TYPES = ["full", "tied", "diag", "spherical"]
TIGHT = {"tol": 1e-13, "max_iter": 100_000}


@pytest.fixture(scope="module")
def faithful():
    return gb.load_dataset("faithful2d")


def simulated_3d(n=300, seed=1):
    rng = np.random.default_rng(seed)
    a = rng.multivariate_normal(
        [0.0, 0.0, 0.0], [[1.0, 0.5, 0.2], [0.5, 2.0, 0.3], [0.2, 0.3, 1]], n
    )
    b = rng.multivariate_normal(
        [4.0, 3.0, -2.0], [[1.5, -0.4, 0], [-0.4, 1, 0.2], [0, 0.2, 0.5]], n
    )
    return np.vstack([a, b[: n // 2]])


def map_em(x, k, covariance_type, **options):
    return gb.fit_em(
        x,
        k,
        priors=MultivariatePriors(),
        covariance_type=covariance_type,
        random_state=0,
        **{**TIGHT, **options},
    )


def model_log_posterior(model, fit):
    """``model.logp(jacobian=False)`` (what find_MAP maximizes) at the fit's parameters."""
    point = em_point_mv(model, fit.weights, fit.means, fit.covariances)
    return float(model.compile_logp(jacobian=False)(to_value_space(model, point)))


def find_map(model, initvals):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        # at ftol=1e-15 L-BFGS-B may stop on float64's limit ("ABNORMAL"): the comparison decides
        warnings.filterwarnings("ignore", message="The optimizer did not converge")
        return pm.find_MAP(
            model=model,
            initvals=initvals,
            jitter=False,
            progressbar=False,
            return_inferencedata=False,
            maxiter=50_000,
            ftol=1e-15,
            gtol=1e-10,
        )


def found_log_posterior(model, found):
    values = {name: found[name] for name in (v.name for v in model.free_RVs)}
    return float(model.compile_logp(jacobian=False)(to_value_space(model, values)))


# --- the prior density and the step ---------------------------------------------------------


@pytest.mark.parametrize("covariance_type", TYPES)
def test_m_step_maximizes_the_expected_complete_log_posterior_by_scipy(covariance_type):
    """Two hard-assigned groups: the step's output beats every nearby point of the expected
    complete-data log posterior (BFGS from it finds nothing better)."""
    rng = np.random.default_rng(5)
    groups = [rng.normal(size=(20, 2)) * [1.0, 3.0], rng.normal(size=(35, 2)) + [3.0, 1.0]]
    x = np.vstack(groups)
    frame = model_frame(x)
    step = MapStepMV(frame, covariance_type, np.zeros((2, 2)))
    nk = np.array([20.0, 35.0])
    xbar = np.array([g.mean(axis=0) for g in groups])
    scatter = np.stack([(g - m).T @ (g - m) for g, m in zip(groups, xbar, strict=True)])
    current = np.stack([np.cov(g, rowvar=False) for g in groups])
    if covariance_type == "tied":
        current[:] = current.mean(axis=0)
    elif covariance_type != "full":
        current = np.diagonal(current, axis1=1, axis2=2)[:, :, None] * np.eye(2)
        if covariance_type == "spherical":
            current = current[:, :1, :1] * np.eye(2)
    weights, means, covariances = step.m_step(nk, xbar, scatter, current)

    def expected_log_posterior(w, mu, cov):
        value = step.log_prior(w, mu, cov)
        for g, m, c, wk in zip(groups, mu, cov, w, strict=True):
            value += g.shape[0] * np.log(wk)
            value += np.sum(
                -0.5 * np.einsum("ni,ij,nj->n", g - m, np.linalg.inv(c), g - m)
                - 0.5 * np.linalg.slogdet(2 * np.pi * c)[1]
            )
        return value

    def jittered(cov, rng):
        jitter = np.eye(2) + rng.normal(0, 1e-3, (2, 2))
        if covariance_type == "diag":
            jitter = np.diag(np.diag(jitter))
        elif covariance_type == "spherical":
            jitter = jitter[0, 0] * np.eye(2)
        cov = jitter @ cov @ jitter.T
        if covariance_type == "tied":
            cov[1] = cov[0]
        return cov

    # an ECM cycle: weights and means given the E-step's covariances, then the covariances
    # given the new means, each a conditional maximum
    means_given = expected_log_posterior(weights, means, current)
    best = expected_log_posterior(weights, means, covariances)
    assert best > means_given
    rng = np.random.default_rng(0)
    for _ in range(30):
        w = weights * np.exp(rng.normal(0, 1e-3, 2))
        mu = means + rng.normal(0, 1e-3, means.shape) * frame.scale
        assert expected_log_posterior(w / w.sum(), mu, current) < means_given
        assert expected_log_posterior(weights, means, jittered(covariances, rng)) < best


def test_the_step_is_an_em_step_and_wrong_priors_are_refused(faithful):
    step = MultivariatePriors().em_step_mv(faithful, np.zeros((2, 2)), "VVV")
    assert isinstance(step, MultivariateStep) and step.covariance_type == "full"
    with pytest.raises(TypeError, match="must be gmm_bayes.bayes.MultivariatePriors"):
        gb.fit_em(faithful, 2, priors=gb.Priors())
    with pytest.raises(TypeError, match="got object"):
        gb.fit_em(faithful, 2, priors=object())


def test_a_dask_array_with_priors_is_refused(faithful):
    da = pytest.importorskip("dask.array")
    with pytest.raises(ValueError, match="not available for a dask array"):
        gb.fit_em(da.from_array(faithful, chunks=100), 2, priors=MultivariatePriors())


# --- MAP-EM runs ----------------------------------------------------------------------------


@pytest.mark.parametrize("covariance_type", TYPES)
def test_the_log_posterior_never_falls(faithful, covariance_type):
    ml = gb.fit_em(faithful, 3, covariance_type=covariance_type, random_state=0)
    step = MultivariatePriors().em_step_mv(faithful, np.zeros((2, 2)), covariance_type)
    start = (ml.weights, ml.means + [0.3, -4.0], ml.covariances)  # away from any maximum
    if covariance_type != "full":
        start = (*start[:2], to_sklearn_shape(ml.covariances, covariance_type))
    run = run_em_mv(
        faithful, *start, covariance_type=covariance_type, tol=1e-10, max_iter=300, step=step
    )
    objective = np.asarray(run.objective_history)
    assert objective.size == run.n_iter + 1 > 5
    assert np.all(np.diff(objective) >= -1e-9 * np.abs(objective[1:]))
    assert objective[-1] > objective[0] + 1.0
    assert run.objective == pytest.approx(
        run.log_likelihood + step.log_prior(run.weights, run.means, run.covariances), rel=1e-14
    )


def test_map_em_result_is_marked_and_ranked_by_the_log_posterior(faithful):
    fit = map_em(faithful, 2, "diag", tol=1e-8)
    assert fit.method == "map-em" and all(m.method == "map-em" for m in fit.local_maxima)
    assert fit.history[-1] == fit.log_likelihood  # the likelihood's history, as for d = 1
    posteriors = [MultivariatePriors().log_posterior(faithful, m) for m in fit.local_maxima]
    assert posteriors == sorted(posteriors, reverse=True)
    assert np.all(fit.reg_covar == 0.0)


def test_large_data_search_on_a_sample_then_polished_under_the_priors():
    """Above SEARCH_SAMPLE_SIZE rows the search runs on a sample; the polished result is still
    a fixed point of the MAP step on all the rows (one more step moves nothing)."""
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(size=(1500, 2)), rng.normal(size=(1500, 2)) * 2 + [6.0, 1.0]])
    fit = map_em(x, 2, "diag", tol=1e-12)
    assert fit.method == "map-em" and fit.n_obs == 3000
    step = MultivariatePriors().em_step_mv(x, np.zeros((2, 2)), "diag")
    again = run_em_mv(
        x, fit.weights, fit.means, fit.variances, covariance_type="diag", max_iter=1, step=step
    )
    np.testing.assert_allclose(again.means, fit.means, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(again.covariances, fit.covariances, rtol=1e-6)


# --- MAP-EM is pm.find_MAP ------------------------------------------------------------------


def assert_map_em_is_find_map(x, k, covariance_type):
    """find_MAP from MAP-EM's estimate stays there (parameters to 1e-5, log posterior to 1e-6
    relative), and from the maximum-likelihood estimate it does not climb higher."""
    fit = map_em(x, k, covariance_type)
    model = build_model_mv(x, k, covariance_type=covariance_type)
    mine = model_log_posterior(model, fit)
    # the numpy log prior is PyTensor's (whose normal log densities differ from scipy's by
    # ~2e-9 each), here and at the maximum-likelihood estimate
    assert mine == pytest.approx(MultivariatePriors().log_posterior(x, fit), rel=1e-10)
    found = find_map(model, em_point_mv(model, fit.weights, fit.means, fit.covariances))
    np.testing.assert_allclose(found["w"], fit.weights, rtol=1e-5)
    np.testing.assert_allclose(found["mu"], fit.means, rtol=1e-5)
    np.testing.assert_allclose(found["cov"], fit.covariances, rtol=1e-5, atol=1e-8)
    assert found_log_posterior(model, found) == pytest.approx(mine, rel=1e-6)
    ml = gb.fit_em(x, k, covariance_type=covariance_type, random_state=0)
    ml_posterior = MultivariatePriors().log_posterior(x, ml)
    assert model_log_posterior(model, ml) == pytest.approx(ml_posterior, rel=1e-10)
    elsewhere = find_map(model, em_point_mv(model, ml.weights, ml.means, ml.covariances))
    assert found_log_posterior(model, elsewhere) <= mine + 1e-6 * abs(mine)


@pytest.mark.slow
@pytest.mark.parametrize("covariance_type", TYPES)
def test_map_em_equals_find_map_on_faithful2d(faithful, covariance_type):
    assert_map_em_is_find_map(faithful, 2, covariance_type)


@pytest.mark.slow
def test_map_em_equals_find_map_in_three_dimensions():
    assert_map_em_is_find_map(simulated_3d(), 2, "full")


def test_scipy_started_elsewhere_finds_no_higher_log_posterior(faithful):
    """Fast tier's independent check: scipy's BFGS on the log posterior (spherical; weights'
    logit, means, log sds) from a start away from MAP-EM's ends at it, not higher."""
    fit = map_em(faithful, 2, "spherical")
    frame = model_frame(faithful)

    def negative(theta):
        w = np.array([1.0, np.exp(theta[0])])
        w /= w.sum()
        mu = theta[1:5].reshape(2, 2)
        cov = np.exp(2 * theta[5:7])[:, None, None] * np.eye(2)
        log_lik = log_density(faithful, w, mu, cov).sum()
        return -(log_lik + log_prior_mv(frame, "spherical", w, mu, cov))

    start = np.r_[0.0, fit.means.ravel() + [0.1, 2.0, -0.1, -2.0], np.log(fit.sigmas[:, 0])]
    best = optimize.minimize(negative, start, method="BFGS", options={"gtol": 1e-6})
    assert -best.fun <= MultivariatePriors().log_posterior(faithful, fit) + 1e-8
    np.testing.assert_allclose(best.x[1:5].reshape(2, 2), fit.means, rtol=1e-4)
