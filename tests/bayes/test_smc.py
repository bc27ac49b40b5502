"""sample_posterior(sampler="smc") and "auto" on small data with few particles."""

import numpy as np
import pytest

pytest.importorskip("pymc")
from helpers import exact_groups  # noqa: E402

import gmm_bayes as gb  # noqa: E402
from gmm_bayes.bayes import Diagnostics, posterior_modes  # noqa: E402
from gmm_bayes.bayes.evidence import smc_evidence  # noqa: E402
from gmm_bayes.bayes.model import initial_point, model_data  # noqa: E402
from gmm_bayes.bayes.smc import smc_target  # noqa: E402

TRUE = ([0.5, 0.5], [-3.0, 3.0], [1.0, 1.0])


@pytest.mark.slow
def test_smc_returns_the_nuts_groups_with_run_diagnostics():
    x = exact_groups(80, *TRUE, seed=1)
    tree = gb.sample_posterior(x, 2, sampler="smc", draws=200, chains=2, cores=1, random_seed=0)
    assert {
        "posterior",
        "sample_stats",
        "log_likelihood",
        "em",
        "membership",
        "diagnostics",
    } <= set(tree.children)
    assert tree["posterior"]["mu"].shape == (2, 200, 2) and tree.attrs["sampler"] == "smc"
    d = Diagnostics.from_dataset(tree["diagnostics"].to_dataset())
    assert d.sampler == "smc" and np.all(np.isfinite(d.log_evidence)) and np.all(d.n_stages >= 1)
    assert d.status.trustworthy, d.verdict
    table = posterior_modes(tree)
    assert float(table["weight"][0]) > 0.95
    np.testing.assert_allclose(table["mu"][0], [-3.0, 3.0], atol=0.5)


def _matched(tables):
    """Weight differences of the modes of two tables: modes matched by their EM maximum, or
    (a mode EM did not find) by the nearest means; an unmatched mode is compared with 0."""
    a, b = tables
    diffs, used = [], set()
    for i in range(a.sizes["mode"]):
        em, mu = int(a["em_maximum"][i]), a["mu"].values[i]
        candidates = [
            j
            for j in range(b.sizes["mode"])
            if j not in used
            and (
                int(b["em_maximum"][j]) == em
                if em >= 0
                else int(b["em_maximum"][j]) < 0 and np.max(np.abs(b["mu"].values[j] - mu)) < 1
            )
        ]
        j = candidates[0] if candidates else None
        used.add(j)
        diffs.append(abs(float(a["weight"][i]) - (float(b["weight"][j]) if j is not None else 0)))
    diffs += [float(b["weight"][j]) for j in range(b.sizes["mode"]) if j not in used]
    return np.array(diffs)


@pytest.mark.slow
def test_smc_mode_weights_agree_between_seeds_on_galaxy_k4():
    """Issue 9's target: two seeds' mode weights within 0.05 (galaxy K=4 has a main mode of
    weight ~0.8 and others of ~0.1 and ~0.05: measured 0.034 apart at most)."""
    x = gb.load_dataset("galaxy")
    em = gb.fit_em(x, 4, random_state=0)
    trees = [gb.sample_posterior(x, 4, em=em, sampler="smc", random_seed=s) for s in (0, 1)]
    assert all(t.attrs["smc_method"] == "gmm_bayes" for t in trees)
    tables = [posterior_modes(t) for t in trees]
    assert all(int((t["weight"] >= 0.02).sum()) >= 2 for t in tables)  # really multimodal
    assert _matched(tables).max() <= 0.05, [t["weight"].values for t in tables]


def test_the_own_smc_runs_only_where_its_likelihood_is_the_model_s():
    x = exact_groups(2000, *TRUE, seed=2)
    em = gb.fit_em(x, 2, random_state=0)
    exact = gb.build_model(x, 2)
    assert smc_target(exact, initial_point(exact, em)).n_components == 2
    binned = gb.build_model(x, 2, likelihood="binned", bin_width=0.2)
    assert model_data(binned).likelihood == "binned"
    assert smc_target(binned, initial_point(binned, em)) is None


def test_smc_target_likelihood_equals_the_model_s_at_em():
    """MixtureTarget's log-likelihood is EM's (the model's, by check_model) at EM's estimate."""
    x = exact_groups(80, *TRUE, seed=1)
    em = gb.fit_em(x, 2, random_state=0)
    model = gb.build_model(x, 2)
    target = smc_target(model, initial_point(model, em))
    theta = target.pack(em.weights, em.means, em.sigmas)
    np.testing.assert_allclose(target.log_likelihood(theta), [em.log_likelihood], rtol=1e-10)


@pytest.mark.slow
def test_an_smc_posterior_carries_its_evidence():
    """smc_evidence reads the runs' log Z: the same estimator as log_evidence, so the two agree
    within their Monte Carlo errors (K=1: log_evidence checked against quadrature)."""
    x = exact_groups(80, *TRUE, seed=1)
    tree = gb.sample_posterior(x, 1, sampler="smc", draws=500, chains=4, random_seed=0)
    carried = smc_evidence(tree)
    assert carried.n_components == 1 and carried.n_particles == 500 and len(carried.runs) == 4
    fresh = gb.log_evidence(x, 1, random_seed=1, preset="fast")
    assert abs(carried.log_ml - fresh.log_ml) < 3 * np.hypot(carried.se, fresh.se) + 0.05
    nuts = gb.sample_posterior(x, 1, draws=100, tune=100, random_seed=0)
    assert smc_evidence(nuts) is None


def test_the_own_smc_runs_the_interval_likelihood():
    """A model with a recording resolution gets the own SMC (its target's log-likelihood is the
    interval likelihood that check_model ties to EM's), not PyMC's fallback."""
    x = np.round(exact_groups(200, *TRUE, seed=3), 1)
    em = gb.fit_em(x, 2, random_state=0, resolution=0.1)
    model = gb.build_model(x, 2, resolution=0.1)
    target = smc_target(model, initial_point(model, em))
    assert target is not None and target.resolution == 0.1
    theta = target.pack(em.weights, em.means, em.sigmas)
    np.testing.assert_allclose(target.log_likelihood(theta), [em.log_likelihood], rtol=1e-10)
