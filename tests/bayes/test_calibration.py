"""Simulation-based calibration: prior draws, ranks, uniformity tests, the figure, the runner.

The uniformity tests are checked on a conjugate model whose posterior is known in closed form
(a normal mean with known sd): exact posterior draws must pass at the nominal rate, shifted or
too narrow ones must fail. Prior draws are checked against scipy's distributions.
"""

import matplotlib
import matplotlib.image
import matplotlib.pyplot
import numpy as np
import pytest
import xarray as xr
from helpers import reference_log_likelihood
from scipy import stats

import gmm_bayes as gb
from gmm_bayes.bayes import Status, calibration
from gmm_bayes.bayes.calibration import (
    plot_rank_histograms,
    posterior_ranks,
    prior_draws,
    rank_uniformity,
    simulation_based_calibration,
)

N_RANKS = 99


def conjugate_ranks(rng, n_datasets, *, shift=0.0, sd_factor=1.0, n_obs=20, tau=2.0):
    """Ranks of mu ~ N(0, tau), y_i ~ N(mu, 1) among draws from the closed-form posterior
    N(m, v), v = 1 / (1/tau^2 + n), m = v sum(y); draws shifted by ``shift`` posterior sds or
    scaled by ``sd_factor`` to make a wrong posterior. A Dataset like the calibration's."""
    mu = rng.normal(0.0, tau, n_datasets)
    y_sum = rng.normal(n_obs * mu, np.sqrt(n_obs))  # the sum of n_obs N(mu, 1) values
    v = 1.0 / (1.0 / tau**2 + n_obs)
    m = v * y_sum
    draws = m + np.sqrt(v) * (shift + sd_factor * rng.standard_normal((N_RANKS, n_datasets)))
    ranks = posterior_ranks(mu, draws)
    return xr.Dataset({"mu": (("dataset", "component"), ranks[:, None])}, attrs={"n_ranks": 99})


def test_ranks_count_the_draws_below_the_truth():
    draws = np.array([[0.0, 5.0], [1.0, 6.0], [2.0, 7.0]])
    assert posterior_ranks([-1.0, 6.5], draws).tolist() == [0, 2]
    assert posterior_ranks([3.0, 4.0], draws).tolist() == [3, 0]


def test_exact_posterior_draws_pass_at_the_nominal_rate():
    # 200 calibrations of 200 data sets each: under uniform ranks a valid test rejects at 5%
    # in about 5% of them (binomial sd 1.5%); a test that is too eager or never rejects fails
    rng = np.random.default_rng(1)
    tests = [rank_uniformity(conjugate_ranks(rng, 200), random_seed=i) for i in range(200)]
    p = np.array([[t["chi2_p"].item(), t["pot_p"].item()] for t in tests])
    rejected = (p < 0.05).mean(axis=0)
    assert np.all((rejected > 0.015) & (rejected < 0.10)), rejected


@pytest.mark.parametrize("wrong", [{"shift": 0.5}, {"sd_factor": 0.6}, {"sd_factor": 1.6}], ids=str)
def test_wrong_posteriors_are_rejected(wrong):
    tests = rank_uniformity(conjugate_ranks(np.random.default_rng(2), 200, **wrong))
    assert tests["chi2_p"].item() < 1e-3
    assert tests["pot_p"].item() < 1e-3


def test_failed_fits_are_left_out_and_counted():
    ranks = conjugate_ranks(np.random.default_rng(3), 100)
    ranks["mu"] = ranks["mu"].astype(float).where(ranks["dataset"] >= 10)
    assert rank_uniformity(ranks)["n"].item() == 90


def test_bins_must_divide_the_rank_values():
    with pytest.raises(ValueError, match="n_bins=7 does not divide the 100 rank values"):
        rank_uniformity(conjugate_ranks(np.random.default_rng(0), 10), n_bins=7)


def test_data_anchored_priors_are_refused():
    with pytest.raises(ValueError, match=r"loc='mean', scale='sd'.*Priors\(loc=0.0, scale=1.0\)"):
        simulation_based_calibration(2, 2, priors=gb.Priors())


@pytest.mark.parametrize("k", [2, 3])
def test_prior_draws_follow_the_ordered_prior(k):
    # the default family at loc 0, scale 1: w ~ Dirichlet(1) (each w_k ~ Beta(1, K-1)),
    # mu = sorted iid Normal(0, 2) (the smallest has cdf 1 - (1 - Phi)^K), sigma^2 ~ IG(2, 0.1)
    draws = prior_draws(k, 4000, calibration.CALIBRATION_PRIORS, seed=0)
    assert np.all(np.diff(draws["mu"], axis=1) > 0)
    smallest = lambda m: 1 - stats.norm.sf(m, 0, 2) ** k  # noqa: E731
    assert stats.kstest(draws["mu"][:, 0], smallest).pvalue > 0.01
    assert stats.kstest(draws["w"][:, 0], stats.beta(1, k - 1).cdf).pvalue > 0.01
    sigma2 = draws["sigma"].ravel() ** 2
    assert stats.kstest(sigma2, stats.invgamma(2.0, scale=0.1).cdf).pvalue > 0.01


def test_log_likelihood_at_many_draws_is_the_mixture_log_likelihood():
    rng = np.random.default_rng(4)
    y = rng.normal(size=30)
    w = rng.dirichlet([1, 1, 1], size=5)
    mu = np.sort(rng.normal(size=(5, 3)), axis=1)
    sigma = rng.uniform(0.5, 2, size=(5, 3))
    expected = [reference_log_likelihood(y, w[i], mu[i], sigma[i]) for i in range(5)]
    np.testing.assert_allclose(calibration._log_likelihood(y, w, mu, sigma), expected, rtol=1e-12)


def test_rank_histograms_have_one_panel_per_quantity(tmp_path):
    matplotlib.use("Agg")
    rng = np.random.default_rng(5)
    ranks = xr.Dataset(
        {
            "w": (("dataset", "component"), rng.integers(0, 100, (50, 2))),
            "mu": (("dataset", "component"), rng.integers(0, 100, (50, 2))),
            "sigma": (("dataset", "component"), rng.integers(0, 100, (50, 2))),
            "log_likelihood": ("dataset", rng.integers(0, 100, 50)),
        },
        attrs={"n_ranks": 99},
    )
    fig = plot_rank_histograms(ranks, path=tmp_path / "ranks.png", title="t")
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert [t.split(":")[0] for t in titles] == [
        "w[0]", "w[1]", "mu[0]", "mu[1]", "sigma[0]", "sigma[1]", "log_likelihood"
    ]  # fmt: skip
    height, width, _ = matplotlib.image.imread(tmp_path / "ranks.png").shape
    assert width / fig.get_size_inches()[0] >= 150  # dots per inch
    matplotlib.pyplot.close(fig)


def test_a_failing_fit_is_counted_not_dropped(monkeypatch):
    def refuse(*args, **kwargs):
        raise RuntimeError("no posterior")

    monkeypatch.setattr(calibration, "sample_posterior", refuse)
    calib = simulation_based_calibration(2, 3, random_seed=0)
    assert calib.attrs["n_failed"] == 3
    assert calib.sizes["dataset"] == 3
    assert set(calib["status"].values) == {"ERROR"}
    assert "RuntimeError: no posterior" in str(calib["error"].values[0])
    assert np.isnan(calib["mu"]).all() and np.isnan(calib["log_likelihood"]).all()


@pytest.mark.slow
def test_a_small_calibration_runs_the_pipeline_reproducibly():
    # (n_jobs=2 gave the same ranks as n_jobs=1 when tried by hand: 4 minutes on the shared
    # machine, two more compilations, so not repeated here)
    settings = {"n_obs": 40, "draws": 60, "tune": 100, "n_ranks": 39, "random_seed": 7}
    calib = simulation_based_calibration(2, 3, **settings)
    assert calib.attrs["n_failed"] == 0
    ranked = ["w", "mu", "sigma", "log_likelihood"]
    for name in ranked:
        ranks = calib[name].values
        assert np.all((ranks >= 0) & (ranks <= 39) & (ranks == np.round(ranks)))
    assert np.all(np.diff(calib["true_mu"].values, axis=1) > 0)
    assert set(calib["status"].values) <= {s.value for s in Status}
    xr.testing.assert_equal(calib[ranked], simulation_based_calibration(2, 3, **settings)[ranked])
