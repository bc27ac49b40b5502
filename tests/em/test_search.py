"""The search for the best maximum (gmm_bayes.em.search, gmm_bayes.em.insertion, gmm_bayes.em.run):
the default fit reaches the best known healthy maximum of every bundled data set, K = 1..6,
whatever the seed; the restart rule; distinct local maxima."""

import warnings

import numpy as np
import pytest

import gmm_bayes as gb
from gmm_bayes.em.driver import EMOptions
from gmm_bayes.em.insertion import insertion_starts
from gmm_bayes.em.run import resume, run_em
from gmm_bayes.em.search import distinct, find_maxima
from gmm_bayes.em.source import InMemorySource
from gmm_bayes.em.standardize import Standardizer
from gmm_bayes.em.steps import MaximumLikelihoodStep
from gmm_bayes.exceptions import DegenerateFitWarning

#: The best known healthy maximum of the log-likelihood for K = 1..6 (no component with fewer
#: than 2 effective observations, a variance at the reg_covar floor or an sd under 1/1000 of
#: the widest: gmm_bayes.em.result.collapsed_components), default reg_covar, by data set.
#: None: every maximum found collapsed (15 observations cannot hold 5 or 6 healthy components).
#: Source: brute force (this change), the best healthy maximum of (1) the previous fit_em at
#: 40 seeds x n_init=25 x {k-means++, random} starts, tol=1e-10 (the issue's
#: /tmp/maxima/search.py), (2) this search with 2 to 8 times its budgets (BEAM 6, INSERTIONS
#: 16, SCREEN_PER_RUN 20, SCREEN_ITER 30) at 4 seeds x n_init=10 x {mixed, random, k-means++},
#: tol=1e-10; each value then confirmed a maximum by EM from it at tol=1e-13 (the same value
#: to 1e-3, still healthy). Several are near-spikes (e.g. galaxy K=4: 5 observations with sd
#: 0.02; geyser_duration K=4: 3.5 observations with sd 0.007), healthy by that definition.
BEST_KNOWN_ROWS = {
    "galaxy": (-240.4165, -220.1931, -203.4820, -197.1349, -192.2237, -187.2260),
    "galaxy_mass": (-806.7738, -786.4939, -769.6152, -763.2878, -758.4049, -753.3916),
    "faithful": (-1095.2888, -1034.0017, -1031.5402, -1027.9198, -1025.4561, -1024.7984),
    "geyser_duration": (-465.0051, -298.1438, -265.5820, -261.7489, -257.9143, -255.8632),
    "geyser_waiting": (-1210.4883, -1157.5420, -1151.4708, -1149.7384, -1149.2154, -1146.5136),
    "seed_notebook": (-75.2292, -73.7559, -69.0974, -67.3527, None, None),
}
BEST_KNOWN = {
    (name, k): value
    for name, values in BEST_KNOWN_ROWS.items()
    for k, value in enumerate(values, start=1)
}
#: the default search stops at -1147.519 for every seed tried (0-9); the best known maximum,
#: -1146.5136, was found only by the large-budget search at tol=1e-10
KNOWN_GAPS = {("geyser_waiting", 6)}

#: reached within this much log-likelihood
CLOSE = 0.01
SEEDS = range(5)
FAST = [("galaxy", k) for k in range(1, 7)] + [("geyser_duration", 4)]


def best_known_cases(fast):
    cases = [case for case in BEST_KNOWN if (case in FAST) == fast]
    return [
        pytest.param(
            *case,
            id=f"{case[0]}-K{case[1]}",
            marks=[pytest.mark.xfail(strict=True, reason="known gap")]
            if case in KNOWN_GAPS
            else [],
        )
        for case in cases
    ]


def check_reaches_the_best_known(name, k):
    x = gb.load_dataset(name)
    best = BEST_KNOWN[name, k]
    for seed in SEEDS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DegenerateFitWarning)
            fit = gb.fit_em(x, k, random_state=seed)
        if best is None:
            assert fit.degenerate, (seed, fit.log_likelihood)
            continue
        assert not fit.degenerate, seed
        assert fit.log_likelihood >= best - CLOSE, (seed, fit.log_likelihood, best)


@pytest.mark.parametrize(("name", "k"), best_known_cases(fast=True))
def test_reaches_the_best_known_maximum(name, k):
    check_reaches_the_best_known(name, k)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "k"), best_known_cases(fast=False))
def test_reaches_the_best_known_maximum_on_every_bundled_data_set(name, k):
    check_reaches_the_best_known(name, k)


def test_the_table_covers_every_bundled_data_set():
    assert {name for name, _ in BEST_KNOWN} == set(gb.list_datasets())
    assert {k for _, k in BEST_KNOWN} == set(range(1, 7))


# ---- the restart rule ------------------------------------------------------------------------


def test_geyser_k4_is_a_maximum_above_the_best_k3():
    """The issue's case: fit_em(y, 4, random_state=0, n_init=20) returned -300.378, below the
    K=3 maximum -265.582; mixtools finds -261.747."""
    y = gb.load_dataset("geyser_duration")
    fit = gb.fit_em(y, 4, random_state=0, n_init=20)
    assert not fit.degenerate
    assert fit.log_likelihood >= -261.75
    assert fit.log_likelihood >= gb.fit_em(y, 3, random_state=0).log_likelihood


@pytest.mark.parametrize("name", ["galaxy", "faithful", "seed_notebook"])
def test_a_healthy_fit_never_falls_below_the_best_with_one_component_fewer(name):
    x = gb.load_dataset(name)
    previous = -np.inf
    for k in range(1, 5):
        fit = gb.fit_em(x, k, random_state=3)
        if fit.degenerate:
            break
        assert fit.log_likelihood >= previous - 1e-6, k
        previous = fit.log_likelihood


def test_healthy_beats_collapsed_then_fewest_collapsed_then_likelihood():
    """spike_in_a_continuum-like data: a spike wins on likelihood, the fit returned is healthy
    when a healthy maximum exists, and has the fewest collapsed components when none does."""
    x = np.concatenate([np.random.default_rng(0).normal(0, 10, 10), np.full(100, 0.5)])
    with pytest.warns(DegenerateFitWarning):
        fit = gb.fit_em(x, 3, random_state=0)
    counts = [int(m.collapsed.sum()) for m in fit.local_maxima]
    assert counts == sorted(counts) and counts[0] == int(fit.collapsed.sum()) == 1
    same = [m.log_likelihood for m in fit.local_maxima if m.collapsed.sum() == counts[0]]
    assert same == sorted(same, reverse=True)


def test_local_maxima_are_distinct_and_ranked():
    fit = gb.fit_em(gb.load_dataset("galaxy"), 4, random_state=0)
    maxima = fit.local_maxima
    assert len(maxima) >= 2 and maxima[0].log_likelihood == fit.log_likelihood
    ranks = [(m.degenerate, -m.log_likelihood) for m in maxima]
    assert ranks == sorted(ranks)
    for i, a in enumerate(maxima):
        for b in maxima[i + 1 :]:
            assert not (np.allclose(a.means, b.means) and np.allclose(a.sigmas, b.sigmas))


def test_same_seed_same_fit_and_seeds_agree():
    x = gb.load_dataset("faithful")
    a, b = gb.fit_em(x, 4, random_state=7), gb.fit_em(x, 4, random_state=7)
    np.testing.assert_array_equal(a.means, b.means)
    c = gb.fit_em(x, 4, random_state=8)
    assert c.log_likelihood == pytest.approx(a.log_likelihood, abs=CLOSE)


def test_map_em_searches_too():
    x = gb.load_dataset("galaxy")
    fit = gb.fit_em(x, 4, priors=gb.Priors(), random_state=0)
    assert fit.method == "map-em" and not fit.degenerate
    assert all(m.method == "map-em" for m in fit.local_maxima)


# ---- the pieces ------------------------------------------------------------------------------


def standardized(name):
    x = gb.load_dataset(name)
    std = Standardizer.of(x)
    return x, std, std.to_z(x)


def test_an_explicit_partial_start_is_where_the_search_starts():
    """means_init given: every screened start has those centres, and no insertion runs."""
    x, std, z = standardized("galaxy")
    options = EMOptions.validated(x.size, 3, means_init=[10.0, 21.0, 33.0], random_state=0)
    runs = find_maxima(z, options.start.to_z(std), options, MaximumLikelihoodStep(1e-6))
    assert len(distinct(runs)) == 1  # all starts alike: one maximum
    means = np.sort(std.params_to_x(runs[0].means, runs[0].variances)[0])
    np.testing.assert_allclose(means, [9.71, 21.40, 33.04], atol=0.01)


def test_insertion_adds_a_component_where_the_fit_misses_data():
    z = np.concatenate([np.linspace(-1, 1, 80), np.linspace(7.9, 8.1, 8)])
    params = (np.ones(1), np.array([0.0]), np.array([1 / 3]))
    starts = insertion_starts(z, params, 1e-6, np.random.default_rng(0), 3)
    weights, means, variances = starts[0]
    assert means[-1] == pytest.approx(8.0, abs=0.05) and weights[-1] == pytest.approx(8 / 88, 0.1)
    assert all(len(start[0]) == 2 and start[0].sum() == pytest.approx(1.0) for start in starts)


def test_insertion_never_proposes_a_component_on_one_repeated_value():
    """53 copies of 4.0 (as in geyser_duration): a component there would collapse onto them."""
    rng = np.random.default_rng(0)
    z = np.concatenate([rng.normal(0, 1, 200), np.full(53, 4.0), rng.normal(4.0, 0.5, 40)])
    params = (np.ones(1), np.array([z.mean()]), np.array([z.var()]))
    for _, means, variances in insertion_starts(z, params, 1e-6, rng, 8):
        near = np.abs(z - means[-1]) < 3 * np.sqrt(variances[-1])
        assert np.unique(z[near]).size > 1 or variances[-1] > 0.01


def test_resume_continues_the_history_within_max_iter():
    _, _, z = standardized("galaxy")
    source, step = InMemorySource(z), MaximumLikelihoodStep(1e-6)
    start = (np.full(3, 1 / 3), np.array([-1.0, 0.0, 1.0]), np.ones(3))
    short = run_em(source, start, step, tol=1e-10, max_iter=5)
    whole = run_em(source, start, step, tol=1e-10, max_iter=40)
    resumed = resume(source, short, step, tol=1e-10, max_iter=40)
    assert resumed.n_iter == whole.n_iter == 40
    np.testing.assert_allclose(resumed.history, whole.history, rtol=1e-13)
    np.testing.assert_allclose(resumed.means, whole.means, rtol=1e-12)


def test_max_iter_bounds_the_whole_search():
    with pytest.warns(gb.ConvergenceWarning):
        fit = gb.fit_em(gb.load_dataset("galaxy"), 4, max_iter=2, random_state=0)
    assert fit.n_iter == 2 and all(m.n_iter <= 2 for m in fit.local_maxima)


def test_large_data_search_a_sample_and_polish_on_all():
    from helpers import mixture_sample

    x = mixture_sample(50_000, [0.5, 0.3, 0.2], [-2.0, 3.0, 8.0], [1.0, 0.5, 2.0], seed=5)
    fit = gb.fit_em(x, 3, random_state=0, tol=1e-10)
    np.testing.assert_allclose(fit.means, [-2.0, 3.0, 8.0], atol=0.05)
    assert fit.n_obs == x.size and fit.converged
    assert fit.local_maxima[0].n_obs == x.size
