"""The seed notebook's building blocks (gmm_bayes.em.blocks): densities, E-step, M-step."""

import numpy as np
import pytest
from helpers import reference_responsibilities
from scipy.stats import norm

import gmm_bayes as gb
from gmm_bayes.em.kernel import COUNT_EPS

# ---- the seed notebook's printed test vectors ------------------------------------------------


@pytest.fixture
def notebook_problem():
    rng = np.random.default_rng(seed=2021615)
    y = rng.random((5, 1))
    mean = rng.random((2,))
    var = rng.random((2,))
    return y, mean, var


def test_component_densities_match_seed_notebook(notebook_problem):
    y, mean, var = notebook_problem
    expected = [  # printed by the seed notebook for this seed
        [1.46978860e-03, 1.36275234e-01],
        [3.03120323e-02, 3.16065430e-01],
        [1.64289752e00, 9.10495873e-01],
        [2.86051255e-01, 5.83903610e-01],
        [1.60890121e00, 9.07479696e-01],
    ]
    np.testing.assert_allclose(np.exp(gb.em.component_logpdf(y, mean, var)), expected, rtol=1e-8)


def test_responsibilities_match_seed_notebook(notebook_problem):
    y, mean, var = notebook_problem
    expected = [  # printed by the seed notebook for this seed
        [0.01067036, 0.98932964],
        [0.08751156, 0.91248844],
        [0.64341731, 0.35658269],
        [0.3288116, 0.6711884],
        [0.63937109, 0.36062891],
    ]
    resp = gb.em.responsibilities(y, [0.5, 0.5], mean, var)
    np.testing.assert_allclose(resp, expected, atol=5e-9)


# ---- against scipy ---------------------------------------------------------------------------


def test_component_logpdf_equals_scipy():
    rng = np.random.default_rng(3)
    x, mu, var = rng.normal(size=50), rng.normal(size=4), rng.uniform(0.1, 3, 4)
    expected = norm.logpdf(x[:, None], mu, np.sqrt(var))
    np.testing.assert_allclose(gb.em.component_logpdf(x, mu, var), expected, rtol=1e-12)


def test_responsibilities_equal_scipy():
    rng = np.random.default_rng(4)
    x, w = rng.normal(0, 5, 60), rng.dirichlet(np.ones(3))
    mu, var = rng.normal(0, 3, 3), rng.uniform(0.2, 4, 3)
    expected = reference_responsibilities(x, w, mu, np.sqrt(var))
    np.testing.assert_allclose(gb.em.responsibilities(x, w, mu, var), expected, rtol=1e-10)


def test_responsibilities_do_not_underflow_far_from_all_components():
    resp = gb.em.responsibilities([1e4, -1e4], [0.5, 0.5], [0.0, 1.0], [1.0, 1.0])
    assert np.isfinite(resp).all()
    np.testing.assert_allclose(resp, [[0, 1], [1, 0]], atol=1e-12)


# ---- the M-step ------------------------------------------------------------------------------


def test_m_step_refuses_densities():
    rng = np.random.default_rng(0)
    y, mean, var = rng.random(5), rng.random(2), rng.random(2)
    densities = np.exp(gb.em.component_logpdf(y, mean, var))
    with pytest.raises(ValueError, match="resp rows must sum to 1, row 0 sums to"):
        gb.em.m_step(y, densities)


def test_m_step_is_weighted_maximum_likelihood():
    rng = np.random.default_rng(1)
    x = rng.normal(size=40)
    resp = rng.dirichlet([1, 1, 1], size=40)
    weights, means, variances = gb.em.m_step(x, resp)
    for k in range(3):
        r = resp[:, k]
        assert weights[k] == pytest.approx(r.mean())
        assert means[k] == pytest.approx(np.average(x, weights=r))
        assert variances[k] == pytest.approx(np.average((x - means[k]) ** 2, weights=r))


def test_m_step_gives_an_empty_component_the_count_epsilon_not_nan():
    x = np.array([1.0, 2.0, 3.0])
    weights, means, variances = gb.em.m_step(x, np.column_stack([np.ones(3), np.zeros(3)]))
    assert weights[1] * x.size == COUNT_EPS  # the kernel's epsilon: one constant for both
    assert (means[1], variances[1]) == (0.0, 0.0)


def test_public_building_blocks_validate():
    with pytest.raises(ValueError, match=r"variances must be > 0"):
        gb.em.component_logpdf([1.0], [0.0], [0.0])
    with pytest.raises(ValueError, match="weights must sum to 1"):
        gb.em.responsibilities([1.0], [0.3, 0.3], [0.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match=r"resp must have shape \(N, K\) = \(2, K\)"):
        gb.em.m_step([1.0, 2.0], np.ones((3, 1)))
    with pytest.raises(ValueError, match="resp must be finite and non-negative"):
        gb.em.m_step([1.0, 2.0], [[1.5], [-0.5]])
