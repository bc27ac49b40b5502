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


#: two local maxima of a 2-D, K=2 mixture (Old Faithful-like: eruptions, waiting) that differ
#: only in component 1's eruptions mean, by 1.5 min: 1.3 column sds (1.14 min), but 0.11 of the
#: waiting column's sd (13.6 min), so only per-column units tell them apart
MV_MAXIMA = [
    {"w": [0.36, 0.64], "mu": [[2.04, 54.5], [4.29, 80.0]], "sigma": [[0.26, 5.8], [0.41, 6.0]]},
    {"w": [0.36, 0.64], "mu": [[2.04, 54.5], [2.79, 80.0]], "sigma": [[0.26, 5.8], [0.41, 6.0]]},
]
#: each component's correlation between the two columns
MV_RHO = np.array([0.2, 0.45])
MV_DIMS = {
    "w": ("chain", "draw", "component"),
    "mu": ("chain", "draw", "component", "dim"),
    "sigma": ("chain", "draw", "component", "dim"),
    "cov": ("chain", "draw", "component", "dim", "dim_bis"),
}


def mv_tree(chain_mode, *, known=(0, 1), y=None, draws=400, jitter=0.02, seed=0):
    """A (N, 2)-data posterior tree shaped as ``sample_posterior_mv``'s: chain c draws iid
    around ``MV_MAXIMA[chain_mode[c]]`` (relative ``jitter``); the em group holds the maxima
    ``known``."""
    rng = np.random.default_rng(seed)
    post = {}
    for name in ("w", "mu", "sigma"):
        base = np.array([MV_MAXIMA[m][name] for m in chain_mode])[:, None]
        post[name] = base * (
            1 + jitter * rng.normal(size=(len(chain_mode), draws, *base.shape[2:]))
        )
    corr = np.stack([np.array([[1.0, r], [r, 1.0]]) for r in MV_RHO])  # (K, 2, 2)
    post["cov"] = post["sigma"][..., :, None] * corr * post["sigma"][..., None, :]
    maximum = {
        f"maximum_{name}": (("maximum", *MV_DIMS[name][2:]), [MV_MAXIMA[m][name] for m in known])
        for name in ("w", "mu", "sigma")
    }
    maximum["maximum_log_likelihood"] = ("maximum", [-1130.26 - 3.2 * m for m in known])
    groups = {
        "posterior": xr.Dataset({n: (MV_DIMS[n], v) for n, v in post.items()}),
        "sample_stats": xr.Dataset(
            {"energy": (("chain", "draw"), rng.normal(size=(len(chain_mode), draws)))}
        ),
        "em": xr.Dataset(maximum),
    }
    if y is not None:
        groups["observed_data"] = xr.Dataset({"y": (("obs", "dim"), y)})
    return xr.DataTree.from_dict(groups)


def test_multivariate_chains_in_two_maxima_are_two_modes_with_their_parameters():
    table = posterior_modes(mv_tree([0, 0, 1, 1]))
    assert table["em_maximum"].values.tolist() in ([0, 1], [1, 0])
    np.testing.assert_allclose(table["weight"], [0.5, 0.5])
    assert table["mu"].dims == ("mode", "component", "dim")
    assert table["cov_low"].dims == ("mode", "component", "dim", "dim_bis")
    for m in range(2):
        j = int(table["em_maximum"][m])
        np.testing.assert_allclose(table["mu"][m], MV_MAXIMA[j]["mu"], rtol=0.01)
        np.testing.assert_allclose(table["sigma"][m], MV_MAXIMA[j]["sigma"], rtol=0.01)
        assert np.all(table["cov_low"][m] < table["cov"][m])
        assert np.all(table["cov"][m] < table["cov_high"][m])


def test_a_multivariate_mode_em_missed_is_found_in_per_column_units():
    """EM knows maximum 0 only; the draws at maximum 1 are 1.3 eruptions sds away, which a
    scale shared by the columns (the waiting column's 13.6 min) would see as 0.11 and merge."""
    table = posterior_modes(mv_tree([0, 0, 1, 1], known=(0,)))
    assert table["em_maximum"].values.tolist() == [0, -1]
    np.testing.assert_allclose(table["weight"], [0.5, 0.5])
    np.testing.assert_allclose(table["mu"][1], MV_MAXIMA[1]["mu"], rtol=0.01)


def test_multivariate_log_likelihood_at_the_mode_mean_matches_scipy():
    y = np.random.default_rng(5).normal([3.5, 70.0], [1.1, 13.6], size=(40, 2))
    table = posterior_modes(mv_tree([0, 0, 0, 0], y=y))
    w, mu, cov = (table[n][0].values for n in ("w", "mu", "cov"))
    density = sum(w[k] * stats.multivariate_normal(mu[k], cov[k]).pdf(y) for k in range(2))
    assert float(table["log_likelihood"][0]) == pytest.approx(np.log(density).sum(), rel=1e-10)


def test_draws_far_from_the_only_em_maximum_are_not_its_mode():
    """No draw near EM's maximum 0 (all at maximum 1, 1.3 column sds away): the draws are a
    mode EM did not find, not maximum 0's (whose empty surroundings show no valley below
    their own near-zero density)."""
    table = posterior_modes(mv_tree([1, 1, 1, 1], known=(0,)))
    assert table["em_maximum"].values.tolist() == [-1]
    np.testing.assert_allclose(table["mu"][0], MV_MAXIMA[1]["mu"], rtol=0.01)
