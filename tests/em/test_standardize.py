"""The units EM works in (gmm_bayes.em.standardize): median, robust scale, regularization."""

import re
import warnings

import numpy as np
import pytest
from scipy import stats

import gmm_bayes as gb
from gmm_bayes.em.standardize import (
    RELATIVE_REG_COVAR,
    Z_SPAN_MAX,
    Standardizer,
    default_regularization,
)
from gmm_bayes.exceptions import DataError, DegenerateFitWarning


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


def test_sd_fallback_divides_before_squaring():
    # deviations of 2e154 from the median: their squares overflow, the squared ratios do not
    x = 1e154 * np.array([1.0] * 6 + [-1.0, -1.0, 1.2])
    sd = 1e154 * np.sqrt((2 * 2.0**2 + 0.2**2) / 9)  # the same sd, computed in units of 1e154
    std = Standardizer.of(x)
    assert std.loc == 1e154 and np.isfinite(std.scale)
    assert std.robust_scale == pytest.approx(sd, rel=1e-12)


UNREPRESENTABLE = {
    "near 1e200": 1e200 * (1 + 0.01 * np.random.default_rng(0).normal(size=50)),
    "near 1e-200": 1e-200 * (1 + 0.01 * np.random.default_rng(0).normal(size=50)),
    "outlier 1e155": np.array([1e155, 1.0, 2.0, 3.0, 4.0]),
    "near the maximum": np.array([1e308, 1.5e308, 1.7e308]),
}


@pytest.mark.parametrize("x", UNREPRESENTABLE.values(), ids=list(UNREPRESENTABLE))
def test_unrepresentable_variances_give_a_clear_error(x):
    pattern = r"(overflow|too small for) float64; rescale x \(e.g. x / 1e[+-]\d+\) and map"
    with pytest.raises(DataError, match=pattern):
        Standardizer.of(x)
    with pytest.raises(DataError, match=pattern):
        gb.fit_em(x, 2)


@pytest.mark.parametrize("x", UNREPRESENTABLE.values(), ids=list(UNREPRESENTABLE))
def test_the_suggested_rescaling_makes_the_data_fit(x):
    with pytest.raises(DataError) as refused:
        Standardizer.of(x)
    divisor = float(re.search(r"x / (1e[+-]\d+)", str(refused.value)).group(1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateFitWarning)  # a lone outlier collapses
        assert np.isfinite(gb.fit_em(x / divisor, 2, random_state=0).variances).all()


def test_values_spanning_float64_around_a_narrow_bulk_are_refused():
    x = np.array([1e308, -1e308, 1.0, 2.0, 3.0])
    with pytest.raises(DataError, match=r"-1e\+308 to 1e\+308 around a bulk of spread 1.48"):
        gb.fit_em(x, 1)


def test_a_bulk_too_narrow_for_its_range_is_refused():
    x = np.append(1e-100 * np.arange(1.0, 11.0), 1e151)
    with pytest.raises(DataError, match=r"more than 1e\+250 times narrower .* drop the outliers"):
        Standardizer.of(x)


def test_all_equal_huge_values_are_refused_as_equal_not_as_overflow():
    with pytest.raises(DataError, match=r"all 3 values of x equal 1e\+308"):
        gb.fit_em(np.full(3, 1e308), 1)


# Data whose squares are finite (|x| <= 1.34e154) are fitted: (bulk sd, bulk centre, outliers)
FINITE_SQUARES = {
    "two-sided 1.3e154": (1.0, 0.0, [1.3e154, -1.3e154]),
    "one outlier 1e152": (1.0, 0.0, [1e152]),
    "narrow bulk, outlier 1.3e154": (1e-3, 5.0, [1.3e154]),
    "bulk near 1.3e154": (1e140, 1.3e154, []),
    "bulk near -1e150, outlier 1e154": (1e120, -1e150, [1e154]),
    "tiny bulk, outlier 1": (1e-100, 0.0, [1.0]),
}


@pytest.mark.parametrize("case", FINITE_SQUARES.values(), ids=list(FINITE_SQUARES))
@pytest.mark.parametrize("k", [1, 2, 3])
def test_any_data_whose_squares_are_finite_are_fitted(case, k):
    sd, centre, outliers = case
    bulk = centre + sd * np.random.default_rng(k).normal(size=40)
    x = np.clip(np.append(bulk, outliers), -1.34e154, 1.34e154)
    assert np.isfinite(x**2).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateFitWarning)  # a lone outlier collapses
        fit = gb.fit_em(x, k, random_state=0)
    for values in (fit.weights, fit.means, fit.variances, [fit.log_likelihood]):
        assert np.isfinite(values).all()
    if k > 1:  # one component may hold the outliers; another then sits on the bulk
        assert np.any((fit.means >= bulk.min()) & (fit.means <= bulk.max()))


def test_outliers_beyond_z_span_max_widen_the_scale_not_the_robust_scale():
    bulk = np.random.default_rng(0).normal(size=200)
    std = Standardizer.of(np.append(bulk, 1e152))
    assert std.robust_scale == pytest.approx(Standardizer.of(bulk).scale, rel=0.02)
    assert std.scale == pytest.approx((1e152 - bulk.min()) / Z_SPAN_MAX)
    z = std.to_z(np.append(bulk, 1e152))
    assert z.max() - z.min() <= Z_SPAN_MAX * (1 + 1e-12)
    # the default regularization stays 1e-6 squared robust scales in the data's units
    reg_z = default_regularization(201, bulk.min(), 1e152, std)
    assert reg_z * std.scale**2 == pytest.approx(RELATIVE_REG_COVAR * std.robust_scale**2)


def test_in_memory_fit_keeps_the_default_regularization_relative_to_the_bulk():
    bulk = np.random.default_rng(0).normal(size=1000)
    with pytest.warns(DegenerateFitWarning):  # the outlier is a component of its own
        fit = gb.fit_em(np.append(bulk, 1e152), 2, random_state=0)
    # the bulk's variance gains 1e-6 squared robust scales (about 1e-6), not 1e-6 * 100**2
    assert fit.variances[0] == pytest.approx(np.var(bulk), rel=1e-4)


def test_a_scale_near_the_largest_square_root_maps_variances_back_without_overflow():
    std = Standardizer(0.0, 2e154)  # half the data at -1.34e154, half at +1.34e154
    means, variances = std.params_to_x(np.zeros(1), np.array([0.44]))
    assert np.isfinite(variances).all() and variances[0] == pytest.approx(1.76e308, rel=1e-12)
    assert std.params_to_z(means, variances)[1][0] == pytest.approx(0.44, rel=1e-12)


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
