"""The tied (mclust E) covariance type of fit_em: scikit-learn's tied model, its parameter
count, its names, and the search."""

import warnings

import numpy as np
import pytest
from helpers import mixture_sample

import gmm_bayes as gb
from gmm_bayes.em.steps import MaximumLikelihoodStep, as_covariance_type


def sklearn_tied(x, k, w0, m0, v0, **common):
    from sklearn.mixture import GaussianMixture

    gm = GaussianMixture(
        k,
        covariance_type="tied",
        weights_init=w0,
        means_init=np.asarray(m0)[:, None],
        precisions_init=np.array([[1.0 / v0]]),
        **common,
    ).fit(x[:, None])
    order = np.argsort(gm.means_[:, 0])
    return gm, order


@pytest.mark.parametrize("seed", range(5))
def test_agrees_with_sklearn_tied_from_same_start(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 5))
    centres = np.sort(rng.uniform(-10, 10, k)) + 100.0
    x = np.concatenate([rng.normal(c, rng.uniform(0.5, 2), rng.integers(50, 200)) for c in centres])
    w0 = rng.dirichlet(np.full(k, 5.0))
    m0 = np.sort(rng.choice(x, k, replace=False))
    v0 = float(rng.uniform(1, 4))
    common = dict(tol=1e-14, max_iter=20000, reg_covar=1e-6)
    ours = gb.fit_em(
        x,
        k,
        weights_init=w0,
        means_init=m0,
        variances_init=np.full(k, v0),
        covariance_type="tied",
        **common,
    )
    gm, order = sklearn_tied(x, k, w0, m0, v0, **common)
    assert ours.converged and gm.converged_
    np.testing.assert_allclose(ours.weights, gm.weights_[order], atol=1e-6)
    np.testing.assert_allclose(ours.means, gm.means_[order, 0], atol=1e-6)
    np.testing.assert_allclose(ours.variances, gm.covariances_[0, 0], atol=1e-6)
    assert ours.log_likelihood == pytest.approx(gm.score(x[:, None]) * x.size, rel=1e-9)


def test_same_iterates_as_sklearn_tied_for_a_fixed_number_of_steps():
    x = mixture_sample(600, [0.5, 1 / 3, 1 / 6], [-2.0, 3.0, 8.0], [1.0, 0.5, 2.0], seed=7)
    w0, m0 = np.array([0.2, 0.5, 0.3]), np.array([-1.0, 2.0, 6.0])
    common = dict(tol=0.0, max_iter=7, reg_covar=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = gb.fit_em(
            x,
            3,
            weights_init=w0,
            means_init=m0,
            variances_init=np.ones(3),
            covariance_type="tied",
            **common,
        )
        gm, order = sklearn_tied(x, 3, w0, m0, 1.0, **common)
    np.testing.assert_allclose(ours.means, gm.means_[order, 0], rtol=1e-12)
    np.testing.assert_allclose(ours.variances, gm.covariances_[0, 0], rtol=1e-12)


def test_default_search_reaches_sklearns_best_tied_maximum():
    from sklearn.mixture import GaussianMixture

    x = gb.load_dataset("galaxy")
    ours = gb.fit_em(x, 4, covariance_type="tied", random_state=0)
    gm = GaussianMixture(4, covariance_type="tied", n_init=50, random_state=0).fit(x[:, None])
    assert np.ptp(ours.variances) == 0.0  # one shared variance
    assert ours.log_likelihood >= gm.score(x[:, None]) * x.size - 1e-4
    assert not ours.degenerate


def test_parameter_count_and_criteria():
    x = gb.load_dataset("galaxy")
    tied = gb.fit_em(x, 3, covariance_type="E", random_state=0)
    full = gb.fit_em(x, 3, covariance_type="V", random_state=0)
    assert (tied.covariance_type, full.covariance_type) == ("tied", "full")
    assert (tied.n_parameters, full.n_parameters) == (6, 8)  # 2K and 3K - 1
    assert tied.bic() == pytest.approx(-2 * tied.log_likelihood + 6 * np.log(x.size), rel=1e-14)
    assert tied.aic() == pytest.approx(-2 * tied.log_likelihood + 12, rel=1e-14)
    attrs = tied.to_dataset().attrs
    assert attrs["covariance_type"] == "tied" and attrs["bic"] == pytest.approx(tied.bic())


def test_univariate_diag_and_spherical_are_the_full_model():
    x = gb.load_dataset("galaxy")
    full = gb.fit_em(x, 3, random_state=0)
    for name in ("diag", "spherical"):
        fit = gb.fit_em(x, 3, covariance_type=name, random_state=0)
        assert fit.covariance_type == name and fit.n_parameters == full.n_parameters
        np.testing.assert_array_equal(fit.means, full.means)


@pytest.mark.parametrize("name", ["VVV", "tie", None, 3])
def test_unknown_covariance_type_is_refused_with_the_choices(name):
    with pytest.raises(ValueError, match="covariance_type must be one of"):
        gb.fit_em([0.0, 1.0, 2.0, 5.0], 2, covariance_type=name)


def test_tied_step_pools_within_component_variances():
    step = MaximumLikelihoodStep(0.5, covariance_type=as_covariance_type("E"))
    _, _, var = step.m_step(np.array([2.0, 6.0]), np.zeros(2), np.array([1.0, 3.0]))
    np.testing.assert_allclose(var, (2 * 1 + 6 * 3) / 8 + 0.5)  # sum nk var_k / N + reg


@pytest.mark.filterwarnings("ignore::gmm_bayes.exceptions.DegenerateFitWarning")
def test_bootstrap_refits_the_tied_model_and_information_has_one_sigma():
    x = gb.load_dataset("galaxy")
    fit = gb.fit_em(x, 3, covariance_type="tied", random_state=0)
    se = fit.standard_errors(x, method="bootstrap", n_boot=20, random_state=0)
    np.testing.assert_allclose(se["sigma"].values, se["sigma"].values[0])  # one shared sd
    info = fit.standard_errors(x, method="information")
    np.testing.assert_allclose(info["sigma"].values, info["sigma"].values[0])


def test_dask_arrays_fit_the_tied_model_and_refuse_a_resolution():
    da = pytest.importorskip("dask.array")
    x = mixture_sample(600, [0.5, 0.5], [-2.0, 3.0], [1.0, 0.5], seed=1)
    start = dict(weights_init=[0.5, 0.5], means_init=[-1.0, 2.0], variances_init=[1.0, 1.0])
    common = dict(covariance_type="tied", reg_covar=1e-6, tol=1e-12, **start)
    chunked = gb.fit_em(da.from_array(x, chunks=100), 2, **common)
    np.testing.assert_allclose(chunked.variances, gb.fit_em(x, 2, **common).variances, rtol=1e-9)
    assert chunked.covariance_type == "tied"
    with pytest.raises(ValueError, match="not available for dask arrays"):
        gb.fit_em(da.from_array(x, chunks=100), 2, resolution=1.0)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("resolution", [None, "grid"])
def test_tied_em_never_lowers_the_likelihood(seed, resolution):
    # the search's starts have unequal variances: they are pooled before the first pass, so
    # the history starts inside the tied model and every exact M-step (reg_covar=0) climbs
    rng = np.random.default_rng(seed)
    k, h = int(rng.integers(1, 4)), float(rng.choice([0.1, 0.5, 1.0]))
    x = rng.normal(rng.uniform(-5, 5, k)[rng.integers(0, k, 300)], rng.uniform(0.3, 2))
    x = np.round(x / h) * h
    fit = gb.fit_em(
        x,
        k + 1,
        covariance_type="tied",
        resolution=None if resolution is None else h,
        reg_covar=0.0,
        tol=1e-8,
        random_state=seed,
    )
    assert np.all(np.diff(fit.history) >= -1e-9 * np.abs(fit.history[1:]))
