"""The data-source protocol (gmm_bayes.em.source) and the driver's entry point for sources."""

import warnings

import numpy as np
import pytest
from helpers import mixture_sample

import gmm_bayes as gb
from gmm_bayes.em import DataSource, EMOptions, InMemorySource, MaximumLikelihoodStep, fit_source
from gmm_bayes.em.kernel import em_pass
from gmm_bayes.em.standardize import RELATIVE_REG_COVAR, Standardizer
from gmm_bayes.exceptions import DegenerateFitWarning


def three_groups(n=3000, seed=0):
    return mixture_sample(n, [0.5, 0.3, 0.2], [-2.0, 3.0, 8.0], [1.0, 0.5, 2.0], seed=seed)


class CountingSource(DataSource):
    """A source that is not an array: it counts the passes made over it."""

    def __init__(self, z):
        self.inner = InMemorySource(z)
        self.size = z.size
        self.passes = 0

    def em_pass(self, weights, means, variances):
        self.passes += 1
        return self.inner.em_pass(weights, means, variances)


def standardized(x):
    std = Standardizer.of(x)
    return std, std.to_z(x)


def test_a_source_needs_an_em_pass():
    class NoPass(DataSource):
        size = 3

    with pytest.raises(TypeError, match="abstract method 'em_pass'"):
        NoPass()


def test_in_memory_source_is_the_kernel_pass():
    z = three_groups()
    params = (np.array([0.3, 0.7]), np.array([-1.0, 2.0]), np.array([1.0, 2.0]))
    source = InMemorySource(z)
    assert source.size == z.size
    for got, expected in zip(source.em_pass(*params), em_pass(z, *params), strict=True):
        np.testing.assert_array_equal(got, expected)


def test_a_deterministic_start_runs_on_the_source_as_fit_em_does_in_memory():
    x = three_groups()
    start = dict(
        weights_init=[0.3, 0.3, 0.4], means_init=[-1.0, 0.0, 3.0], variances_init=[1.0] * 3
    )
    std, z = standardized(x)
    source = CountingSource(z)
    options = EMOptions.validated(x.size, 3, tol=1e-10, **start)
    fit = fit_source(source, z[::7], options, std, MaximumLikelihoodStep(RELATIVE_REG_COVAR))
    in_memory = gb.fit_em(x, 3, tol=1e-10, **start)
    assert source.passes == fit.n_iter + 1  # one pass per iteration, one for the start
    assert fit.n_iter == in_memory.n_iter and fit.n_obs == x.size
    np.testing.assert_allclose(fit.means, in_memory.means, rtol=1e-12)
    np.testing.assert_allclose(fit.history, in_memory.history, rtol=1e-12)


def test_restarts_run_on_the_sample_and_the_best_is_polished_on_the_source():
    x = three_groups(20_000)
    std, z = standardized(x)
    sample = z[::10]
    source = CountingSource(z)
    options = EMOptions.validated(x.size, 3, n_init=4, tol=1e-10, random_state=0)
    fit = fit_source(source, sample, options, std, MaximumLikelihoodStep(RELATIVE_REG_COVAR))
    assert source.passes == fit.n_iter + 1  # the first polished run did not collapse
    assert fit.converged and fit.n_obs == x.size
    in_memory = gb.fit_em(x, 3, tol=1e-10, random_state=0)
    np.testing.assert_allclose(fit.means, in_memory.means, rtol=1e-5)


def test_collapse_on_the_source_polishes_the_next_candidates():
    x = np.concatenate([np.random.default_rng(0).normal(0, 10, 10), np.full(100, 0.5)])
    std, z = standardized(x)
    source = CountingSource(z)
    options = EMOptions.validated(x.size, 3, n_init=5, random_state=0)
    with pytest.warns(DegenerateFitWarning):
        fit = fit_source(source, z, options, std, MaximumLikelihoodStep(RELATIVE_REG_COVAR))
    assert fit.degenerate
    assert source.passes > fit.n_iter + 1  # more than one candidate was polished


def test_no_finished_run_raises_fit_error():
    x = np.array([0.0, 0.0, 0.0, 1.0])
    std, z = standardized(x)
    options = EMOptions.validated(x.size, 2, init="quantile")
    with warnings.catch_warnings(), pytest.raises(gb.FitError, match="non-finite"):
        fit_source(InMemorySource(z), z, options, std, MaximumLikelihoodStep(0.0))
