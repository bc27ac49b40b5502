"""ModelData (what the likelihood runs over) and the default bin width; numpy only."""

import numpy as np
import pytest
from helpers import mixture_sample

import gmm_bayes as gb
from gmm_bayes.bayes.model_data import COMPRESS_FRACTION, ModelData, choose_bin_width

TRUE = ([0.3, 0.3, 0.4], [-5.0, 0.0, 6.0], [1.0, 0.5, 1.5])


def sample(n, seed=0):
    return mixture_sample(n, *TRUE, seed=seed)


@pytest.fixture(scope="module")
def faithful():
    return gb.load_dataset("faithful")  # 272 waiting times in whole minutes, 51 distinct


def test_ties_are_compressed_automatically_and_exactly(faithful):
    data = ModelData.from_data(faithful)
    assert data.compressed and data.dim == "value" and data.likelihood == "exact"
    assert data.n_terms == np.unique(faithful).size == 51 and data.n_obs == 272
    assert data.counts.sum() == 272
    np.testing.assert_array_equal(
        np.repeat(data.values, data.counts.astype(int)), np.sort(faithful)
    )
    assert "51 distinct values of the 272 observations" in data.describe()
    # few ties: not worth it ("auto"), but forced on request; and forced off
    distinct = np.arange(10.0)
    assert not ModelData.from_data(distinct).compressed
    assert ModelData.from_data(distinct, compress=True).compressed
    assert not ModelData.from_data(faithful, compress=False).compressed
    one_tie = np.append(np.arange(9.0), 0.0)  # 9 distinct of 10 > 0.8 N
    assert 9 > COMPRESS_FRACTION * 10 and not ModelData.from_data(one_tie).compressed


def test_bins_hold_counts_means_and_sums_of_squares():
    x = sample(5000, seed=1)
    width = 0.05
    data = ModelData.from_data(x, likelihood="binned", bin_width=width)
    assert data.likelihood == "binned" and data.dim == "bin" and data.bin_width == width
    assert data.counts.sum() == x.size
    index = np.floor((x - x.min()) / width).astype(int)
    occupied = np.unique(index)
    assert data.n_terms == occupied.size
    for j in (0, occupied.size // 2, occupied.size - 1):
        members = x[index == occupied[j]]
        assert data.counts[j] == members.size
        assert data.values[j] == pytest.approx(members.mean(), rel=1e-12)
        assert data.sumsq[j] == pytest.approx(((members - members.mean()) ** 2).sum(), abs=1e-12)
    assert "5000 observations were grouped into" in data.describe()


def test_bins_keep_precision_far_from_zero():
    x = sample(2000, seed=2)
    near = ModelData.from_data(x, likelihood="binned", bin_width=0.05)
    far = ModelData.from_data(x + 1e8, likelihood="binned", bin_width=0.05)
    np.testing.assert_allclose(far.values - 1e8, near.values, atol=1e-7)
    np.testing.assert_allclose(far.sumsq, near.sumsq, atol=1e-7)


def test_binning_falls_back_to_exact_when_it_would_not_reduce_the_data():
    x = sample(200, seed=3)
    data = ModelData.from_data(x, likelihood="binned", bin_width=1e-6)
    assert data.likelihood == "exact" and data.requested == "binned"
    assert "binning was asked for but would not have reduced the data" in data.describe()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"likelihood": "histogram"},
            ValueError,
            r"likelihood must be one of \('exact', 'binned'\)",
        ),
        ({"compress": "yes"}, ValueError, "compress must be 'auto', True or False, got 'yes'"),
        ({"likelihood": "binned"}, ValueError, "likelihood='binned' needs a bin_width"),
        ({"likelihood": "binned", "bin_width": -1.0}, ValueError, "bin_width must be a finite"),
        ({"likelihood": "binned", "bin_width": "0.1"}, TypeError, "bin_width must be a real"),
    ],
)
def test_bad_likelihood_options_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        ModelData.from_data(np.arange(5.0), **kwargs)


def test_default_bin_width_is_a_tenth_of_the_smallest_em_sd():
    fit = gb.fit_em(sample(3000, seed=4), 3, random_state=0)
    assert choose_bin_width(fit) == pytest.approx(0.1 * fit.sigmas.min())
    with pytest.raises(TypeError, match="em must be a gmm_bayes.EMResult"):
        choose_bin_width({"sigma": 1.0})


def test_the_table_stacks_values_counts_and_sums_of_squares():
    exact = ModelData.from_data(np.array([1.0, 1.0, 2.0]))
    np.testing.assert_array_equal(exact.table(), [[1.0, 2.0], [2.0, 1.0]])
    binned = ModelData.from_data(sample(2000, seed=5), likelihood="binned", bin_width=0.1)
    assert binned.table().shape == (3, binned.n_terms)
    np.testing.assert_array_equal(binned.table()[2], binned.sumsq)
