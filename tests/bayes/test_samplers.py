"""The NUTS runs: PyMC's is reproducible, nutpie starts where it is told."""

import numpy as np
import pytest
from helpers import POSTERIOR_GROUPS, exact_groups

import gmm_bayes as gb
from gmm_bayes.conventions import SAMPLERS

pytest.importorskip("pymc")

from gmm_bayes.bayes.samplers import SAMPLER_RUNS  # noqa: E402  (after the importorskip of pymc)

TRUE = ([0.3, 0.3, 0.4], [-5.0, 0.0, 6.0], [1.0, 0.5, 1.5])


def test_every_sampler_name_has_a_run():
    assert (*SAMPLER_RUNS, "auto") == SAMPLERS


@pytest.mark.slow
def test_pymc_sampler_is_reproducible_too():
    x = exact_groups(120, *TRUE, seed=3)
    runs = [
        gb.sample_posterior(
            x, 2, sampler="pymc", chains=2, cores=1, draws=100, tune=100, random_seed=5
        )
        for _ in range(2)
    ]
    assert set(runs[0].children) == POSTERIOR_GROUPS
    assert runs[0]["posterior"]["mu"].shape == (2, 100, 2)
    np.testing.assert_array_equal(
        runs[0]["posterior"]["mu"].values, runs[1]["posterior"]["mu"].values
    )


@pytest.mark.slow
def test_equal_em_weights_still_start_nutpie():
    """Two equal clusters give EM weights of exactly 0.5: nutpie once refused that start."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, 20), rng.normal(8, 1, 20)])
    em = gb.fit_em(x, 2, random_state=0)
    assert em.weights[0] == em.weights[1]
    tree = gb.sample_posterior(x, 2, em=em, draws=50, tune=50, chains=2, random_seed=1)
    assert tree["posterior"]["w"].sizes["draw"] == 50


@pytest.mark.slow
def test_a_sampler_that_stops_early_is_an_interruption_not_a_result(monkeypatch):
    """nutpie returns the draws made so far when Ctrl-C reaches it: that must not pass."""
    import nutpie

    real = nutpie.sample

    def stopped_early(*args, **kwargs):
        return real(*args, **kwargs).isel(draw=slice(0, 7))

    monkeypatch.setattr(nutpie, "sample", stopped_early)
    x = exact_groups(60, *TRUE, seed=1)
    with pytest.raises(KeyboardInterrupt, match="7 draws"):
        gb.sample_posterior(x, 2, draws=30, tune=30, chains=2, random_seed=0)
