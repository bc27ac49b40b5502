"""posterior_modes / assign_modes on hand-built trees: merged maxima, a mode EM missed, weights."""

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
from posterior_trees import GALAXY_MAXIMA, around_maxima, posterior_tree  # noqa: E402
from scipy import stats  # noqa: E402

from gmm_bayes.bayes.modes import assign_modes, posterior_modes  # noqa: E402

#: three EM restarts that stopped a hair apart (log L -178.755, -178.757, -178.758: the galaxy
#: K=3 Richardson-Green report) and parameters within 0.05
NEAR_DUPLICATES = [
    {"w": [0.09, 0.86, 0.05], "mu": [9.7, 21.4, 32.9], "sigma": [0.42, 2.27, 1.1]},
    {"w": [0.09, 0.86, 0.05], "mu": [9.7, 21.41, 32.9], "sigma": [0.42, 2.28, 1.1]},
    {"w": [0.09, 0.85, 0.06], "mu": [9.7, 21.40, 32.8], "sigma": [0.42, 2.27, 1.2]},
]


def test_chains_in_two_maxima_are_two_modes_of_half_weight():
    table = posterior_modes(around_maxima(GALAXY_MAXIMA, [0, 0, 1, 1]))
    assert table.sizes["mode"] == 2
    np.testing.assert_allclose(table["weight"], [0.5, 0.5])
    assert sorted(table["em_maximum"].values.tolist()) == [0, 1]
    # per-chain fractions 1, 1, 0, 0: sd 0.577 / sqrt(4) chains
    np.testing.assert_allclose(table["weight_mcse"], np.sqrt(1 / 3) / 2)
    for m in range(2):
        j = int(table["em_maximum"][m])
        np.testing.assert_allclose(table["mu"][m], GALAXY_MAXIMA[j]["mu"], rtol=0.01)
        assert np.all(table["mu_low"][m] < table["mu"][m])
        assert np.all(table["mu"][m] < table["mu_high"][m])


def test_near_duplicate_maxima_are_one_mode():
    tree = around_maxima(
        NEAR_DUPLICATES,
        [0, 1, 2, 0],
        chain_start=[0, 1, 2, 0],
        log_likelihood=[-178.755, -178.757, -178.758],
    )
    modes = assign_modes(tree)
    assert modes.em_maximum.tolist() == [0]
    np.testing.assert_allclose(modes.fraction, 1.0)


def test_maxima_far_apart_in_log_likelihood_stay_separate():
    tree = around_maxima(NEAR_DUPLICATES[:2], [0, 0, 1, 1], log_likelihood=[-178.755, -180.0])
    assert assign_modes(tree).em_maximum.size == 2


def test_a_mode_em_never_found_is_detected():
    """Half the draws sit at GALAXY_MAXIMA[1], but the em group knows only maximum 0."""
    full = around_maxima(GALAXY_MAXIMA, [0, 0, 1, 1])
    draws = {n: full["posterior"][n].values for n in ("w", "mu", "sigma")}
    tree = posterior_tree(draws, maxima=GALAXY_MAXIMA[:1], chain_start=[0, 0, 0, 0])
    table = posterior_modes(tree)
    assert table["em_maximum"].values.tolist() == [0, -1]
    np.testing.assert_allclose(table["weight"], [0.5, 0.5])
    np.testing.assert_allclose(table["mu"][1], GALAXY_MAXIMA[1]["mu"], rtol=0.01)


def test_unimodal_posterior_has_one_mode_of_weight_one():
    table = posterior_modes(around_maxima(GALAXY_MAXIMA, [0, 0, 0, 0], jitter=0.05))
    assert table.sizes["mode"] == 1 and float(table["weight"][0]) == 1.0
    assert int(table["em_maximum"][0]) == 0 and float(table["weight_mcse"][0]) == 0.0


def test_log_likelihood_at_the_mode_mean_matches_scipy():
    y = np.random.default_rng(4).normal(20.0, 4.0, size=30)
    tree = around_maxima(GALAXY_MAXIMA, [0, 0, 0, 0], y=y)
    table = posterior_modes(tree)
    w, mu, sigma = (table[n][0].values for n in ("w", "mu", "sigma"))
    expected = np.log(stats.norm.pdf(y[:, None], mu, sigma) @ w).sum()
    assert float(table["log_likelihood"][0]) == pytest.approx(expected, rel=1e-10)
