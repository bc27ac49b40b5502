"""The multivariate PyMC mixture: its likelihood is EM's, its priors are in the data's units."""

import numpy as np
import pymc as pm
import pytest
from scipy import stats
from scipy.special import logsumexp

import gmm_bayes as gb
from gmm_bayes.bayes.model import to_value_space
from gmm_bayes.bayes.model_mv import (
    MU_SCALE,
    SD_PRIOR,
    build_model_mv,
    check_model_mv,
    em_point_mv,
    model_frame,
)
from gmm_bayes.em.covariance import to_sklearn_shape
from gmm_bayes.em.multivariate import principal_axis, run_em_mv
from gmm_bayes.exceptions import ModelMismatchError


def scipy_log_likelihood(x, weights, means, covariances):
    """The mixture's log-likelihood from scipy's multivariate normal, component by component."""
    terms = [
        np.log(w) + stats.multivariate_normal(m, c).logpdf(x)
        for w, m, c in zip(weights, means, covariances, strict=True)
    ]
    return float(logsumexp(terms, axis=0).sum())


def em_fit(x, k, covariance_type):
    """EM from a start spread along the principal axis (deterministic)."""
    projection = x @ principal_axis(x)
    means = np.array(
        [x[projection <= np.quantile(projection, q)].mean(axis=0) for q in np.linspace(0.3, 1.0, k)]
    )
    start = to_sklearn_shape(np.stack([np.cov(x, rowvar=False)] * k), covariance_type)
    if covariance_type in ("spherical", "VII"):
        start = np.full(k, np.cov(x, rowvar=False).diagonal().mean())
    return run_em_mv(x, np.full(k, 1 / k), means, start, covariance_type=covariance_type, tol=1e-10)


@pytest.mark.slow
@pytest.mark.parametrize("covariance_type", ["full", "tied"])
def test_log_likelihood_at_em_estimate_is_ems_on_old_faithful(covariance_type):
    x = gb.load_dataset("faithful2d")
    em = em_fit(x, 2, covariance_type)
    assert em.converged
    reference = scipy_log_likelihood(x, *em[:3])
    assert em.log_likelihood == pytest.approx(reference, rel=1e-10)
    model = build_model_mv(x, 2, covariance_type=covariance_type)
    assert check_model_mv(model, *em[:4]) == pytest.approx(reference, rel=1e-10)
    with pytest.raises(ModelMismatchError, match="not the mixture EM fitted"):
        seconds = x * [60.0, 1.0]  # eruptions in seconds: another data set for the model
        check_model_mv(build_model_mv(seconds, 2, covariance_type=covariance_type), *em[:4])


@pytest.mark.slow
def test_log_likelihood_in_three_dimensions_any_component_order():
    rng = np.random.default_rng(1)
    centres = np.array([[0.0, 0.0, 0.0], [5.0, 1.0, -2.0], [-4.0, 6.0, 1.0]])
    x = np.vstack([c + rng.normal(size=(80, 3)) @ rng.normal(size=(3, 3)) for c in centres])
    em = em_fit(x, 3, "full")
    model = build_model_mv(x, 3)
    reversed_order = [a[::-1] for a in em[:3]]  # check_model_mv puts them in the model's order
    ll = check_model_mv(model, *reversed_order, em.log_likelihood)
    assert ll == pytest.approx(scipy_log_likelihood(x, *em[:3]), rel=1e-10)


@pytest.mark.slow
def test_prior_draws_are_ordered_and_in_the_data_units():
    x = gb.load_dataset("faithful2d")
    model = build_model_mv(x, 3)
    mu, cov = pm.draw([model["mu"], model["cov"]], draws=4000, random_seed=0)
    projection = mu @ principal_axis(x)
    assert (np.diff(projection, axis=1) > 0).all()
    frame = model_frame(x)
    # exchangeable prior: pooled over components, each standardized mean coordinate is
    # Normal(0, MU_SCALE); each sd, over the column's sd, InverseGamma(*SD_PRIOR)
    u = ((mu - frame.loc) / frame.scale).reshape(-1, 2)
    for column in range(2):
        assert stats.kstest(u[:, column], stats.norm(0, MU_SCALE).cdf).pvalue > 1e-3
    sds = np.sqrt(np.diagonal(cov, axis1=2, axis2=3)) / frame.scale
    ig = stats.invgamma(SD_PRIOR[0], scale=SD_PRIOR[1])
    for column in range(2):
        assert stats.kstest(sds[..., column].ravel(), ig.cdf).pvalue > 1e-3


@pytest.mark.slow
@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_log_density_follows_a_change_of_units(covariance_type):
    """x D + b (D diagonal, a sign flip too): the whole log density (priors and likelihood, no
    transform Jacobians) at the mapped estimate is the original minus N log |det D|."""
    x = gb.load_dataset("faithful2d")
    em = em_fit(x, 2, covariance_type)
    d, b = np.array([60.0, -1.0]), np.array([3.0, -5.0])  # eruptions in seconds, waiting negated
    mapped = (em.weights, em.means * d + b, em.covariances * np.outer(d, d))
    densities = []
    for data, estimate in [(x, em[:3]), (x * d + b, mapped)]:
        model = build_model_mv(data, 2, covariance_type=covariance_type)
        logp = model.compile_logp(jacobian=False, mode="FAST_COMPILE")  # evaluated once
        densities.append(float(logp(to_value_space(model, em_point_mv(model, *estimate)))))
    shift = len(x) * np.log(np.abs(d).prod())
    assert densities[1] == pytest.approx(densities[0] - shift, rel=1e-10)


def test_sd_prior_matches_the_univariate_default_quantiles():
    # univariate default: sigma**2 ~ InverseGamma(2, 0.1): sigma's 2.5% / 97.5% quantiles
    univariate = np.sqrt(stats.invgamma(2, scale=0.1).ppf([0.025, 0.975]))
    ours = stats.invgamma(SD_PRIOR[0], scale=SD_PRIOR[1]).ppf([0.025, 0.975])
    np.testing.assert_allclose(ours, univariate, rtol=0.01)


@pytest.mark.slow
@pytest.mark.parametrize("covariance_type", ["diag", "VII"])
def test_log_likelihood_at_em_estimate_diag_and_spherical(covariance_type):
    x = gb.load_dataset("faithful2d")
    em = em_fit(x, 2, covariance_type)
    model = build_model_mv(x, 2, covariance_type=covariance_type)
    assert check_model_mv(model, *em[:4]) == pytest.approx(
        scipy_log_likelihood(x, *em[:3]), rel=1e-10
    )


def test_frame_axis_orders_as_em():
    x = gb.load_dataset("faithful2d")
    frame = model_frame(x)
    means = np.array([[4.3, 80.0], [2.0, 54.0], [3.0, 70.0]])
    p, c = frame.standardized_coordinates(means)
    np.testing.assert_array_equal(np.argsort(p), np.argsort(means @ principal_axis(x)))
    u = (means - frame.loc) / frame.scale  # p and c are orthonormal coordinates of u
    np.testing.assert_allclose(p[:, None] * frame.axis + c @ frame.complement.T, u, atol=1e-12)
