"""The units EM works in (gmm_bayes.em.standardize): median, robust scale, regularization."""

import re

import numpy as np
import pytest
from scipy import stats

import gmm_bayes as gb
from gmm_bayes.em.standardize import RELATIVE_REG_COVAR, Standardizer, default_regularization
from gmm_bayes.exceptions import DataError


def test_standardization_is_by_location_and_scale_not_sum_and_variance():
    x = gb.load_dataset("seed_notebook")
    std = Standardizer.of(x)
    z = std.to_z(x)
    assert np.median(z) == pytest.approx(0.0, abs=1e-12)
    q25, q75 = np.percentile(z, [25, 75])
    assert q75 - q25 == pytest.approx(1.3489795, rel=1e-6)  # the standard normal's IQR
    assert std.loc != pytest.approx(x.sum())


def test_scale_is_the_normal_consistent_iqr():
    x = np.random.default_rng(0).standard_t(df=2, size=1001)
    std = Standardizer.of(x)
    q25, q75 = np.percentile(x, [25, 75])
    assert std.loc == np.median(x)
    assert std.scale == pytest.approx((q75 - q25) / stats.norm.ppf(0.75) / 2, rel=1e-14)


def test_one_huge_outlier_does_not_change_the_scale_much():
    x = np.random.default_rng(1).normal(size=200)
    assert Standardizer.of(np.append(x, 1e12)).scale == pytest.approx(
        Standardizer.of(x).scale, rel=0.02
    )


def test_sd_is_the_fallback_when_over_half_the_values_tie():
    x = np.array([5.0] * 6 + [4.0, 7.0, 9.0])  # both quartiles are 5: the IQR is 0
    std = Standardizer.of(x)
    assert std.loc == 5.0
    assert std.scale == pytest.approx(np.sqrt(np.mean((x - 5.0) ** 2)), rel=1e-14)


def test_all_values_equal_give_scale_one():
    assert Standardizer.of(np.full(4, 3.0)) == Standardizer(3.0, 1.0)


def test_sd_fallback_does_not_overflow_near_1e200():
    x = 1e199 * np.array([5.0] * 6 + [4.0, 7.0, 9.0])  # squared deviations overflow float64
    sd = 1e199 * np.sqrt(np.mean((np.array([4.0, 7.0, 9.0]) - 5) ** 2) * 3 / 9)
    with pytest.raises(DataError, match=re.escape(f"x has a spread of {sd:.3g}: ")):
        Standardizer.of(x)


@pytest.mark.parametrize("centre", [1e200, 1e-200])
def test_unrepresentable_variances_give_a_clear_error(centre):
    x = centre * (1 + 0.01 * np.random.default_rng(0).normal(size=50))
    with pytest.raises(DataError, match="not representable in float64; rescale x"):
        Standardizer.of(x)
    with pytest.raises(DataError, match="not representable in float64; rescale x"):
        gb.fit_em(x, 2)


def test_parameters_map_there_and_back():
    std = Standardizer(10.0, 4.0)
    means, variances = np.array([2.0, 18.0]), np.array([16.0, 32.0])
    z_means, z_variances = std.params_to_z(means, variances)
    np.testing.assert_allclose(z_means, [-2.0, 2.0])
    np.testing.assert_allclose(z_variances, [1.0, 2.0])
    back = std.params_to_x(z_means, z_variances)
    np.testing.assert_allclose(back[0], means)
    np.testing.assert_allclose(back[1], variances)
    np.testing.assert_allclose(std.to_z(means), z_means)


def test_default_regularization_needs_a_spread():
    assert default_regularization(5, 0.0, 1.0) == RELATIVE_REG_COVAR
    with pytest.raises(DataError, match=r"all 10 values of x equal 3.0.*pass reg_covar > 0"):
        default_regularization(10, 3.0, 3.0)
