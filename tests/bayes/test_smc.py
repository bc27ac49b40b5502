"""sample_posterior(sampler="smc") and "auto" on small data with few particles."""

import numpy as np
import pytest

pytest.importorskip("pymc")
from helpers import exact_groups  # noqa: E402

import gmm_bayes as gb  # noqa: E402
from gmm_bayes.bayes import Diagnostics, posterior_modes  # noqa: E402

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
