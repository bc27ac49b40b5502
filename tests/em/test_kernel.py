"""The fast EM pass (gmm_bayes.em.kernel) against a scipy reference on whole (N, K) arrays."""

import subprocess
import sys

import numpy as np
import pytest
from helpers import reference_log_density, reference_responsibilities

import gmm_bayes as gb
from gmm_bayes.em import kernel as _kernel

BACKENDS = ["numpy", "numba"]


def reference_pass(z, weights, means, variances, centre=0.0):
    """Log-likelihood and weighted statistics from scipy's densities, after an exact shift by
    ``centre``.

    Data near 1e8 minus 1e8 is exact in float64 (Sterbenz), so the shift only removes the
    reference's own rounding trouble far from zero.
    """
    z, means, sigmas = z - centre, means - centre, np.sqrt(variances)
    resp = reference_responsibilities(z, weights, means, sigmas)
    nk = resp.sum(axis=0) + _kernel.COUNT_EPS
    new_means = resp.T @ z / nk
    new_variances = np.einsum("nk,nk->k", resp, (z[:, None] - new_means) ** 2) / nk
    log_likelihood = np.sum(reference_log_density(z, weights, means, sigmas))
    return log_likelihood, nk, new_means + centre, new_variances


def random_problem(rng, n, k, centre):
    spread = rng.uniform(0.5, 3.0)
    z = centre + spread * rng.normal(size=n) + rng.choice(rng.normal(0, 3, k), size=n)
    weights = rng.dirichlet(np.ones(k))
    means = centre + rng.normal(0, 3, k)
    variances = spread**2 * rng.uniform(0.2, 3.0, k)
    return z, weights, means, variances


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", range(6))
def test_pass_matches_reference_far_from_zero(backend, seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 9))
    n = int(rng.integers(1, 40_000))
    centre = [0.0, 1e8, -3e5][seed % 3]
    z, w, m, v = random_problem(rng, n, k, centre)
    ll, nk, means, variances = _kernel.em_pass(z, w, m, v, backend=backend)
    ref = reference_pass(z, w, m, v, centre)
    assert ll == pytest.approx(ref[0], rel=1e-12)
    np.testing.assert_allclose(nk, ref[1], rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(means - centre, ref[2] - centre, rtol=0, atol=1e-9)
    np.testing.assert_allclose(variances, ref[3], rtol=1e-10)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n", [1, 2, 7, 4095, 4096, 4097, 3 * 4096 + 5, 65_537])
def test_pass_handles_every_block_edge(backend, n):
    rng = np.random.default_rng(n)
    z, w, m, v = random_problem(rng, n, 3, 10.0)
    got = _kernel.em_pass(z, w, m, v, backend=backend)
    ref = reference_pass(z, w, m, v)
    assert got[0] == pytest.approx(ref[0], rel=1e-12)
    for a, b in zip(got[1:], ref[1:], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_points_50_sd_from_every_component_keep_their_likelihood(backend):
    # exp of their log joint underflows to 0 for every component: only subtracting the row's
    # largest term before exponentiating keeps log-likelihood and responsibilities finite
    z = np.concatenate([np.linspace(-1, 1, 500), np.linspace(59, 61, 500)])
    w, m, v = np.array([0.5, 0.5]), np.array([0.0, 10.0]), np.ones(2)
    got = _kernel.em_pass(z, w, m, v, backend=backend)
    ref = reference_pass(z, w, m, v)
    assert np.isfinite(got[0]) and got[0] == pytest.approx(ref[0], rel=1e-12)
    for a, b in zip(got[1:], ref[1:], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got[2], [0.0, 60.0], atol=1e-12)  # the far points all went to 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_variance_keeps_precision_far_from_the_current_means(backend):
    # one broad component centred 1e8 away from data of spread 1: sum r x^2 / n - mean^2
    # would lose all 16 digits; the blockwise shifted sums keep them
    rng = np.random.default_rng(0)
    z = 1e8 + rng.normal(size=50_000)
    _, nk, means, variances = _kernel.em_pass(
        z, np.ones(1), np.zeros(1), np.array([1e17]), backend=backend
    )
    assert nk[0] == pytest.approx(z.size, rel=1e-14)
    assert means[0] - 1e8 == pytest.approx(np.mean(z - 1e8), abs=1e-7)
    assert variances[0] == pytest.approx(np.var(z - 1e8), rel=1e-9)


def test_backends_agree_and_threads_do_not_change_the_numbers():
    rng = np.random.default_rng(3)
    z, w, m, v = random_problem(rng, 200_003, 5, 50.0)
    serial = _kernel.em_rows(z, w, m, v, parallel=False, backend="numba")
    parallel = _kernel.em_rows(z, w, m, v, parallel=True, backend="numba")
    np.testing.assert_array_equal(serial, parallel)  # the same blocks, whatever the threads
    a = _kernel.em_pass(z, w, m, v, backend="numba")
    b = _kernel.em_pass(z, w, m, v, backend="numpy")
    assert a[0] == pytest.approx(b[0], rel=1e-13)
    for x, y in zip(a[1:], b[1:], strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-12)


def test_merging_chunks_equals_one_pass():
    # what dask does: rows of arbitrary chunks, merged, equal the in-memory pass
    rng = np.random.default_rng(4)
    z, w, m, v = random_problem(rng, 100_000, 4, 1e6)
    cuts = np.sort(rng.choice(np.arange(1, z.size), size=9, replace=False))
    rows = [_kernel.merge_rows(_kernel.em_rows(c, w, m, v)) for c in np.split(z, cuts)]
    merged = _kernel.finish(_kernel.merge_rows(np.array(rows)), m)
    whole = _kernel.em_pass(z, w, m, v)
    assert merged[0] == pytest.approx(whole[0], rel=1e-13)
    for x, y in zip(merged[1:], whole[1:], strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_invalid_parameters_give_a_nan_log_likelihood(backend):
    z = np.linspace(0, 1, 100)
    w = np.array([0.5, 0.5])
    for means, variances in [([0.0, 1.0], [1.0, 0.0]), ([0.0, np.nan], [1.0, 1.0])]:
        ll, *_ = _kernel.em_pass(z, w, np.array(means), np.array(variances), backend=backend)
        assert np.isnan(ll)


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_component_is_finite(backend):
    # a zero weight and a component far from all data: counts 0 (+eps), nothing NaN
    z = np.random.default_rng(5).normal(size=5000)
    w, m, v = np.array([0.0, 0.5, 0.5]), np.array([0.0, 0.0, 1e4]), np.ones(3)
    ll, nk, means, variances = _kernel.em_pass(z, w, m, v, backend=backend)
    assert np.isfinite([ll, *nk, *means, *variances]).all()
    np.testing.assert_allclose(nk[[0, 2]], _kernel.COUNT_EPS)


def test_exp_polynomial_is_accurate_to_an_ulp():
    from gmm_bayes.em import kernel_numba as kn

    t = -np.geomspace(1e-300, 708, kn.BLOCK)
    t[:3] = [0.0, -0.0, -1e-320]
    expected = np.exp(t)
    kn._exp_nonpositive(t, np.empty(kn.BLOCK, dtype=np.int64))
    np.testing.assert_allclose(t, expected, rtol=4e-16)
    t = np.full(kn.BLOCK, -800.0)
    t[0] = -np.inf
    kn._exp_nonpositive(t, np.empty(kn.BLOCK, dtype=np.int64))
    assert (t == 0).all()


@pytest.mark.parametrize("labels", [True, False])
def test_hard_stats_equal_the_one_hot_m_step(labels):
    rng = np.random.default_rng(6)
    z = rng.normal(size=150_001)
    centres = np.array([-1.0, 0.5, 0.7, 9.0])  # the last one gets no observation
    assigned = np.argmin(np.abs(z[:, None] - centres), axis=1)
    ref = gb.em.m_step(z, np.eye(4)[assigned])
    if labels:
        got = _kernel.hard_stats(z, 4, labels=assigned)
    else:
        got = _kernel.hard_stats(z, 4, centres=centres)
    for a, b in zip(got, ref, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_an_empty_component_counts_as_the_m_steps_epsilon():
    z = np.linspace(0.0, 1.0, 50)
    _, nk, _, _ = _kernel.em_pass(z, np.array([1.0, 0.0]), np.zeros(2), np.ones(2))
    weights, _, _ = gb.em.m_step(z, np.column_stack([np.ones(50), np.zeros(50)]))
    assert nk[1] == weights[1] * z.size == _kernel.COUNT_EPS


def test_fit_em_on_the_numba_path_matches_the_numpy_path(monkeypatch):
    rng = np.random.default_rng(7)
    x = 1e8 + np.concatenate([rng.normal(-2, 1, 30_000), rng.normal(3, 0.5, 20_000)])
    start = dict(weights_init=[0.5, 0.5], means_init=1e8 + np.array([-1.0, 1.0]))
    fast = gb.fit_em(x, 2, variances_init=[1.0, 1.0], tol=1e-12, **start)
    monkeypatch.setattr(_kernel, "NUMBA_MIN_SIZE", 10**9)
    slow = gb.fit_em(x, 2, variances_init=[1.0, 1.0], tol=1e-12, **start)
    assert fast.n_iter == slow.n_iter
    np.testing.assert_allclose(fast.means - 1e8, slow.means - 1e8, atol=1e-9)
    np.testing.assert_allclose(fast.variances, slow.variances, rtol=1e-10)


def test_small_fits_do_not_import_numba_or_dask():
    code = (
        "import sys, gmm_bayes as gb; gb.fit_em(gb.load_dataset('galaxy'), 3, random_state=0);"
        "print(','.join(m for m in ('numba', 'dask') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_without_numba_the_numpy_backend_does_the_work(monkeypatch):
    monkeypatch.setattr(_kernel._NUMBA, "module", False)  # as when `import numba` failed
    rng = np.random.default_rng(8)
    z, w, m, v = random_problem(rng, 50_000, 3, 0.0)
    rows = _kernel.em_rows(z, w, m, v)
    np.testing.assert_array_equal(rows, _kernel.em_rows(z, w, m, v, backend="numpy"))
    with pytest.raises(ImportError, match="needs numba"):
        _kernel.em_rows(z, w, m, v, backend="numba")


def test_pace_measures_both_ways_then_keeps_the_faster_and_probes():
    pace = _kernel._Pace()
    assert pace.choose() is True
    pace.record(True, 3e-9)
    assert pace.choose() is False
    pace.record(False, 5e-9)
    ways = [pace.choose() for _ in range(2 * pace.PROBE)]
    assert ways.count(False) == 2  # the slower way, once per PROBE passes
    pace.record(False, 1e-9)  # e.g. other processes now keep a core busy
    assert sum(pace.choose() for _ in range(pace.PROBE)) == 1
