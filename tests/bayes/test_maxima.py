"""EM local maxima: merging near-duplicates, sharing chains, the em group, nearest maximum."""

import numpy as np
import pytest

import gmm_bayes as gb
from gmm_bayes.bayes.maxima import (
    chain_starts,
    distinct_maxima,
    maxima_dataset,
    mixture_sd,
    nearest_maximum_fractions,
    tree_maxima,
)

xr = pytest.importorskip("xarray")

from posterior_trees import GALAXY_MAXIMA, around_maxima  # noqa: E402


def make_fit(weights, means, sigmas, log_likelihood, n_obs=100, local_maxima=()):
    fit = gb.EMResult(
        weights=np.asarray(weights, float),
        means=np.asarray(means, float),
        variances=np.asarray(sigmas, float) ** 2,
        log_likelihood=float(log_likelihood),
        n_iter=10,
        converged=True,
        history=np.array([log_likelihood]),
        n_obs=n_obs,
        reg_covar=0.0,
        collapsed=np.zeros(len(weights), bool),
    )
    return fit.with_local_maxima((fit, *local_maxima))


def test_distinct_maxima_merges_near_duplicates():
    a = make_fit([0.5, 0.5], [0.0, 5.0], [1.0, 1.0], -100.0)
    a2 = make_fit([0.5, 0.5], [0.001, 5.002], [1.0, 1.001], -100.0)
    b = make_fit([0.2, 0.8], [-1.0, 4.0], [0.5, 2.0], -103.0)
    fit = a.with_local_maxima((a, a2, b))
    kept = distinct_maxima(fit)
    assert len(kept) == 2 and kept[0] is fit and kept[1] is b


def test_distinct_maxima_scales_by_the_mixture_sd():
    """The same two maxima in units 1000 times larger are merged (or kept) alike."""
    a = make_fit([0.5, 0.5], [0.0, 5.0], [1.0, 1.0], -100.0)
    near = make_fit([0.5, 0.5], [0.03, 5.0], [1.0, 1.0], -100.0)  # 0.03 / sd(2.7) < 0.02
    big = [make_fit(f.weights, f.means * 1000, f.sigmas * 1000, -100.0) for f in (a, near)]
    assert len(distinct_maxima(a.with_local_maxima((a, near)))) == 1
    assert len(distinct_maxima(big[0].with_local_maxima(big))) == 1


@pytest.mark.parametrize(
    ("log_liks", "chains", "expected"),
    [
        ([-100.0], 4, [0, 0, 0, 0]),
        ([-100.0, -103.0], 4, [0, 0, 1, 1]),
        ([-100.0, -103.0, -104.0], 4, [0, 0, 1, 2]),
        ([-100.0, -103.0, -104.0], 2, [0, 1]),
        ([-100.0, -150.0], 4, [0, 0, 0, 0]),  # far worse than the best: not a start
        ([-100.0, -101.0, -102.0, -103.0, -104.0], 3, [0, 1, 2]),
    ],
)
def test_chain_starts(log_liks, chains, expected):
    maxima = [make_fit([1.0], [float(i)], [1.0], ll) for i, ll in enumerate(log_liks)]
    assert chain_starts(maxima, chains) == expected


def test_mixture_sd_is_the_sd_of_the_mixture():
    # w = (0.3, 0.7), mu = (0, 10), sigma = (1, 2): variance 0.3 * 1 + 0.7 * 4 + 0.3 * 0.7 * 100
    assert mixture_sd([0.3, 0.7], [0.0, 10.0], [1.0, 2.0]) == pytest.approx(np.sqrt(24.1))


def test_em_group_round_trips_through_tree_maxima():
    a = make_fit([0.5, 0.5], [0.0, 5.0], [1.0, 1.0], -100.0)
    b = make_fit([0.2, 0.8], [-1.0, 4.0], [0.5, 2.0], -103.0)
    em = a.with_local_maxima((a, b))
    maxima = distinct_maxima(em)
    ds = maxima_dataset(em, maxima, [0, 0, 1, 1])
    assert ds["maximum_mu"].dims == ("maximum", "component") and ds["chain_start"].size == 4
    np.testing.assert_allclose(ds["mu"].values, em.means)  # EM's own estimate stays
    back = tree_maxima(xr.DataTree.from_dict({"em": ds}))
    np.testing.assert_allclose(back["mu"], [[0.0, 5.0], [-1.0, 4.0]])
    np.testing.assert_allclose(back["sigma"], [[1.0, 1.0], [0.5, 2.0]])
    np.testing.assert_allclose(back["log_likelihood"], [-100.0, -103.0])
    assert tree_maxima(xr.DataTree()) is None


def test_each_chain_is_nearest_to_the_maximum_it_was_drawn_around():
    tree = around_maxima(GALAXY_MAXIMA, [1, 0, 1, 0])
    fraction = nearest_maximum_fractions(tree["posterior"], tree_maxima(tree))
    np.testing.assert_array_equal(fraction, [[0, 1], [1, 0], [0, 1], [1, 0]])


def test_without_maxima_every_draw_is_nearest_to_the_one_estimate():
    tree = around_maxima(GALAXY_MAXIMA, [0, 1])
    np.testing.assert_array_equal(nearest_maximum_fractions(tree["posterior"], None), [[1], [1]])
