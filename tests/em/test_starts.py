"""Where EM starts (gmm_bayes.em.starts): k-means++, quantile, random and explicit starts."""

import numpy as np
import pytest
from helpers import mixture_sample

import gmm_bayes as gb
from gmm_bayes.em.standardize import RELATIVE_REG_COVAR, Standardizer
from gmm_bayes.em.starts import (
    INITS,
    START_POOL_SIZE,
    Start,
    initial_params,
    kmeans_plusplus,
    start_pool,
)


def groups(seed=0):
    return mixture_sample(600, [0.5, 0.3, 0.2], [-2.0, 3.0, 8.0], [1.0, 0.5, 2.0], seed=seed)


@pytest.mark.parametrize("init", INITS)
@pytest.mark.parametrize("k", [1, 3, 5])
def test_every_start_has_one_entry_per_component(init, k):
    w, mu, var = initial_params(groups(), k, init, Start(), np.random.default_rng(0))
    for value in (w, mu, var):
        assert value.shape == (k,) and np.isfinite(value).all()
    assert w.sum() == pytest.approx(1.0) and (var >= RELATIVE_REG_COVAR).all()


@pytest.mark.parametrize("k", [1, 3, 5])
def test_fit_with_max_iter_zero_returns_a_start_of_k_components(k):
    fit = gb.fit_em(groups(), k, max_iter=0, random_state=0)
    assert fit.weights.shape == (k,)
    assert fit.weights.sum() == pytest.approx(1.0)
    assert fit.n_iter == 0


def test_quantile_start_is_equal_count_groups_by_rank():
    z = np.random.default_rng(1).permutation(np.arange(12.0))
    w, mu, var = initial_params(z, 3, "quantile", Start(), np.random.default_rng(0))
    np.testing.assert_allclose(w, 1 / 3)
    np.testing.assert_allclose(mu, [1.5, 5.5, 9.5])
    np.testing.assert_allclose(var, np.var([0.0, 1, 2, 3]))


def test_kmeans_plus_plus_centres_land_in_the_groups():
    z = np.concatenate([np.full(50, -10.0), np.full(50, 0.0), np.full(50, 10.0)])
    z += np.random.default_rng(2).normal(0, 0.1, z.size)
    _, mu, _ = initial_params(z, 3, "kmeans++", Start(), np.random.default_rng(3))
    np.testing.assert_allclose(np.sort(mu), [-10.0, 0.0, 10.0], atol=0.1)


def test_random_start_takes_distinct_observations_as_centres():
    z = np.array([1.0] * 50 + [2.0])  # two distinct values: both must be centres for K = 2
    w, mu, var = initial_params(z, 2, "random", Start(), np.random.default_rng(4))
    np.testing.assert_allclose(np.sort(mu), [1.0, 2.0], rtol=1e-14)


def test_explicit_parts_override_and_means_are_the_centres():
    z = np.array([-1.1, -1.0, -0.9, 0.9, 1.0, 1.1])
    start = Start(weights=np.array([0.2, 0.8]), means=np.array([-1.0, 1.0]))
    w, mu, var = initial_params(z, 2, "kmeans++", start, np.random.default_rng(0))
    np.testing.assert_allclose(w, [0.2, 0.8])
    np.testing.assert_allclose(mu, [-1.0, 1.0])
    np.testing.assert_allclose(var, np.var([-1.1, -1.0, -0.9]))  # from nearest-mean groups


def test_a_complete_start_is_returned_without_looking_at_the_data():
    start = Start(np.array([0.5, 0.5]), np.array([0.0, 1.0]), np.array([2.0, 3.0]))
    assert start.complete
    w, mu, var = initial_params(np.array([np.nan]), 2, "kmeans++", start, None)
    np.testing.assert_allclose([*w, *mu, *var], [0.5, 0.5, 0.0, 1.0, 2.0, 3.0])


def test_start_validation_names_the_argument():
    with pytest.raises(ValueError, match=r"weights_init must sum to 1"):
        Start.validated(2, weights=[0.5, 0.6])
    with pytest.raises(ValueError, match=r"means_init must have one entry per component"):
        Start.validated(2, means=[1.0])
    with pytest.raises(ValueError, match=r"variances_init must be > 0"):
        Start.validated(2, variances=[1.0, 0.0])


def test_start_to_standardized_units():
    start = Start.validated(2, means=[2.0, 18.0], variances=[16.0, 32.0])
    z = start.to_z(Standardizer(10.0, 4.0))
    assert z.weights is None
    np.testing.assert_allclose(z.means, [-2.0, 2.0])
    np.testing.assert_allclose(z.variances, [1.0, 2.0])


def test_start_pool_is_a_sample_in_data_order():
    z = np.arange(START_POOL_SIZE + 1000, dtype=float)
    pool = start_pool(z, np.random.default_rng(5))
    assert pool.size == START_POOL_SIZE
    assert np.all(np.diff(pool) > 0)  # in data order, no repeats
    small = np.arange(10.0)
    assert start_pool(small, np.random.default_rng(5)) is small


def test_starts_are_reproducible_and_use_only_the_given_rng():
    z = groups()
    a = initial_params(z, 3, "kmeans++", Start(), np.random.default_rng(6))
    b = initial_params(z, 3, "kmeans++", Start(), np.random.default_rng(6))
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_kmeans_plus_plus_picks_far_points_first():
    """D^2 sampling: after a centre in one group, the next lands in the other group (its
    points carry all the weight), for every seed."""
    z = np.concatenate([np.zeros(50), np.full(50, 10.0)])
    for seed in range(20):
        assert np.sort(kmeans_plusplus(z, 2, np.random.default_rng(seed))).tolist() == [0, 10]


def test_kmeans_plus_plus_with_fewer_distinct_values_than_centres_repeats_one():
    centres = kmeans_plusplus(np.array([1.0, 1.0, 2.0, 2.0]), 3, np.random.default_rng(0))
    assert centres.size == 3 and set(centres.tolist()) == {1.0, 2.0}


def test_a_start_is_empty_complete_or_partial():
    assert Start().empty and not Start().complete
    partial = Start.validated(2, means=[0.0, 1.0])
    assert not partial.empty and not partial.complete
    assert Start.validated(2, [0.5, 0.5], [0.0, 1.0], [1.0, 1.0]).complete


def test_mixed_is_an_init_and_the_default():
    import inspect

    assert "mixed" in INITS
    assert inspect.signature(gb.fit_em).parameters["init"].default == "mixed"
