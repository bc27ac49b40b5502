"""membership: against responsibilities recomputed from the draws with scipy, ties, the grid."""

import numpy as np
import pytest
from helpers import mixture_sample, reference_responsibilities

xr = pytest.importorskip("xarray")

from posterior_trees import posterior_tree  # noqa: E402

from gmm_bayes.bayes import membership  # noqa: E402
from gmm_bayes.conventions import INTERVAL_PROB  # noqa: E402


def random_draws(chains, draws, k=3, seed=0):
    """Posterior-like draws around w = (0.3, 0.3, 0.4), mu = (-5, 0, 6), sigma = (1, .5, 1.5)."""
    rng = np.random.default_rng(seed)
    shape = (chains, draws, k)
    w = rng.dirichlet(np.array([30.0, 30.0, 40.0]), size=shape[:2])
    mu = np.sort(np.array([-5.0, 0.0, 6.0]) + 0.3 * rng.normal(size=shape), axis=-1)
    sigma = np.array([1.0, 0.5, 1.5]) * np.exp(0.1 * rng.normal(size=shape))
    return {"w": w, "mu": mu, "sigma": sigma}


def scipy_membership(y, draws, prob):
    """Responsibilities of every draw by scipy.stats.norm, then mean and equal-tailed interval."""
    flat = {n: v.reshape(-1, v.shape[-1]) for n, v in draws.items()}
    resp = np.stack(
        [
            reference_responsibilities(y, flat["w"][s], flat["mu"][s], flat["sigma"][s])
            for s in range(flat["w"].shape[0])
        ]
    )  # (S, N, K)
    tail = (1 - prob) / 2
    return resp.mean(axis=0), *np.quantile(resp, [tail, 1 - tail], axis=0)


@pytest.fixture(scope="module")
def case():
    y = np.round(mixture_sample(120, [0.3, 0.3, 0.4], [-5.0, 0.0, 6.0], [1.0, 0.5, 1.5]), 1)
    draws = random_draws(2, 150)
    return y, draws, posterior_tree(draws, y=y)


@pytest.mark.parametrize("prob", [INTERVAL_PROB, 0.5])
def test_membership_is_the_scipy_recomputation(case, prob):
    y, draws, tree = case
    got = membership(tree, prob=prob, block_size=7)  # several blocks
    mean, lower, upper = scipy_membership(y, draws, prob)
    np.testing.assert_allclose(got["mean"].values, mean, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(got["lower"].values, lower, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(got["upper"].values, upper, rtol=1e-10, atol=1e-14)
    assert got["mean"].dims == ("obs", "component")
    np.testing.assert_array_equal(got["y"].values, y)
    assert got.attrs == {"prob": prob, "n_draws": 300, "method": "distinct values"}


def test_default_interval_is_the_shared_convention(case):
    assert membership(case[2]).attrs["prob"] == INTERVAL_PROB == 0.94


def test_tied_observations_share_their_membership(case):
    y, _, tree = case
    got = membership(tree)["mean"].values
    value = np.unique(y, return_counts=True)
    tied = np.flatnonzero(y == value[0][np.argmax(value[1])])
    assert tied.size > 1
    np.testing.assert_array_equal(got[tied], np.broadcast_to(got[tied[0]], got[tied].shape))


def test_thinned_draws_and_the_grid_agree_with_the_direct_computation():
    y = mixture_sample(1200, [0.3, 0.3, 0.4], [-5.0, 0.0, 6.0], [1.0, 0.5, 1.5], seed=4)
    draws = random_draws(2, 1000, seed=1)
    tree = posterior_tree(draws, y=y)
    assert membership(tree).attrs["n_draws"] == 2000
    # 3.6e6 allows every value on 1000 of the 2000 draws, evenly spaced
    thinned = membership(tree, max_work=3.6e6)
    assert thinned.attrs == {"prob": 0.94, "n_draws": 1000, "method": "distinct values"}
    pick = np.linspace(0, 1999, 1000).round().astype(int)
    kept = {n: v.reshape(2000, 3)[pick][None] for n, v in draws.items()}
    every_10th = slice(None, None, 10)
    expected = scipy_membership(y[every_10th], kept, 0.94)[0]
    np.testing.assert_allclose(thinned["mean"][every_10th], expected, atol=1e-12)
    # 2e6 allows 666 values on those 1000 draws: a grid, interpolated
    grid = membership(tree, max_work=2e6)
    assert grid.attrs["method"] == "grid" and grid.attrs["n_draws"] == 1000
    error = float(np.abs(grid["mean"] - thinned["mean"]).max())
    assert error < 1e-3 and grid.attrs["max_interpolation_error"] <= error


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"prob": 1.0}, ValueError, r"prob must be in \(0, 1\), got 1.0"),
        ({"prob": "94%"}, TypeError, "prob must be a number in"),
        ({"max_work": 0}, ValueError, "max_work must be a finite number > 0"),
    ],
)
def test_bad_arguments_are_refused(case, kwargs, error, match):
    with pytest.raises(error, match=match):
        membership(case[2], **kwargs)
