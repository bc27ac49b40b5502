"""The random_state argument (gmm_bayes.em.random_state) of fit_em and fit_sklearn."""

import numpy as np
import pytest

import gmm_bayes as gb
from gmm_bayes.em.random_state import MAX_SEED, as_generator, as_seed

X = [1.0, 2.0, 3.0, 10.0, 11.0, 12.0]

BAD = [
    (-1, ValueError, r"random_state must be None, an int in \[0, 4294967295\].*got -1"),
    (MAX_SEED + 1, ValueError, r"got 4294967296; pass e\.g\. random_state=0"),
    (1.5, TypeError, r"random_state must be None, an int .* got 1\.5 \(float\)"),
    ("7", TypeError, r"got '7' \(str\)"),
    (True, TypeError, r"got True \(bool\)"),
    (np.random.RandomState(0), TypeError, r"\(RandomState\)"),  # noqa: NPY002
]


@pytest.mark.parametrize(("value", "error", "match"), BAD)
def test_fit_em_names_random_state_and_the_value(value, error, match):
    with pytest.raises(error, match=match):
        gb.fit_em(X, 2, random_state=value)


@pytest.mark.parametrize(("value", "error", "match"), BAD)
def test_fit_sklearn_names_random_state_and_the_value(value, error, match):
    with pytest.raises(error, match=match):
        gb.fit_sklearn(X, 2, random_state=value)


@pytest.mark.parametrize("value", [None, 0, MAX_SEED, np.int64(7), np.uint32(7)])
def test_accepted_seeds(value):
    seed = as_seed(value)
    assert seed is None or (type(seed) is int and seed == int(value))
    assert isinstance(as_generator(value), np.random.Generator)


def test_a_generator_is_drawn_from_not_copied():
    rng = np.random.default_rng(0)
    assert as_generator(rng) is rng
    a = gb.fit_em(X * 20, 2, init="random", random_state=np.random.default_rng(1))
    b = gb.fit_em(X * 20, 2, init="random", random_state=1)
    np.testing.assert_array_equal(a.means, b.means)  # default_rng(1) is what the int 1 means


def test_fit_sklearn_takes_a_generator_and_ints_unchanged():
    x = np.concatenate([np.linspace(0, 2, 40), np.linspace(10, 12, 40)])
    from_generator = gb.fit_sklearn(x, 2, random_state=np.random.default_rng(3))
    np.testing.assert_allclose(from_generator.means, [1.0, 11.0], atol=1e-6)
    from sklearn.mixture import GaussianMixture

    theirs = GaussianMixture(2, random_state=5).fit(x[:, None])
    np.testing.assert_array_equal(
        gb.fit_sklearn(x, 2, random_state=5).means, np.sort(theirs.means_[:, 0])
    )


def test_same_random_state_same_result_and_global_rng_untouched():
    x = gb.load_dataset("galaxy")
    legacy = np.random  # the global RNG that must stay untouched
    legacy.seed(123)  # noqa: NPY002
    before = legacy.get_state()[1].copy()  # noqa: NPY002
    a = gb.fit_em(x, 4, init="random", random_state=5)
    b = gb.fit_em(x, 4, init="random", random_state=5)
    assert np.array_equal(legacy.get_state()[1], before)  # noqa: NPY002
    assert np.array_equal(a.means, b.means) and a.log_likelihood == b.log_likelihood
