"""The compiled-model cache: reuse across data sets, the graph key, its size."""

import numpy as np
import pytest
from helpers import mixture_sample

import gmm_bayes as gb
from gmm_bayes.bayes import HalfNormal, Priors, clear_model_cache, model_cache_info

pytest.importorskip("pymc")

from gmm_bayes.bayes.model import build_model  # noqa: E402  (after the importorskip of pymc)
from gmm_bayes.bayes.model_cache import MODEL_CACHE_SIZE, graph_key  # noqa: E402

TRUE = ([0.3, 0.3, 0.4], [-5.0, 0.0, 6.0], [1.0, 0.5, 1.5])
TINY = {"chains": 2, "draws": 150, "tune": 150, "cores": 2}


@pytest.fixture(scope="module")
def faithful():
    return gb.load_dataset("faithful")


def test_cache_info_and_clearing():
    clear_model_cache()
    assert model_cache_info() == {"size": 0, "max_size": MODEL_CACHE_SIZE}


@pytest.mark.slow
def test_a_cached_compiled_model_gives_what_a_fresh_compile_gives():
    first = mixture_sample(300, *TRUE, seed=8)
    second = mixture_sample(400, *TRUE, seed=9, shift=100.0)
    kwargs = {**TINY, "random_seed": 4}
    clear_model_cache()
    gb.sample_posterior(first, 3, **kwargs)
    assert model_cache_info()["size"] == 1
    reused = gb.sample_posterior(second, 3, **kwargs)  # other data, other N: same graph
    assert reused.attrs["compile_cache_hit"] == 1
    clear_model_cache()
    fresh = gb.sample_posterior(second, 3, **kwargs)
    assert fresh.attrs["compile_cache_hit"] == 0
    for name in ("w", "mu", "sigma"):
        np.testing.assert_array_equal(reused["posterior"][name].values, fresh["posterior"][name])


@pytest.mark.slow
def test_graph_key_follows_structure_not_data(faithful):
    key = graph_key
    base = key(build_model(faithful, 2))
    assert key(build_model(faithful * 3 + 1, 2, compress=False)) == base
    assert key(build_model(faithful, 3)) != base
    assert key(build_model(faithful, 2, priors=Priors(sigma=HalfNormal()))) != base
    assert key(build_model(faithful, 2, priors=Priors(mu_scale=3.0))) == base  # a number only
    assert key(build_model(faithful, 2, likelihood="binned", bin_width=0.01)) != base


@pytest.mark.slow
def test_the_callback_mode_gives_the_compiled_modes_draws_and_is_reused():
    from gmm_bayes.bayes.model_cache import nutpie_mode

    first = mixture_sample(200, *TRUE, seed=8)
    second = mixture_sample(250, *TRUE, seed=9, shift=50.0)
    kwargs = {**TINY, "random_seed": 6}
    clear_model_cache()
    compiled = gb.sample_posterior(second, 3, **kwargs)
    with nutpie_mode("callback"):
        gb.sample_posterior(first, 3, **kwargs)
        callback = gb.sample_posterior(second, 3, **kwargs)  # other data into the same model
    assert callback.attrs["compile_cache_hit"] == 1
    assert model_cache_info()["size"] == 2  # one model per mode
    for name in ("w", "mu", "sigma"):  # the same log density, the same sampler, the same seed
        np.testing.assert_array_equal(callback["posterior"][name], compiled["posterior"][name])


def test_an_unknown_nutpie_mode_is_refused_by_name():
    from gmm_bayes.bayes.model_cache import nutpie_mode

    with pytest.raises(ValueError, match="mode must be one of .*'compiled', 'callback'.*got 'C'"):
        with nutpie_mode("C"):
            pass
