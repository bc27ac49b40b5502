"""EM on dask arrays (gmm_bayes.em.dask_source): the same fit as in memory, chunk by chunk."""

import ast
import subprocess
import sys
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import pytest
from helpers import mixture_sample

import gmm_bayes as gb
from gmm_bayes.em import dask_source as dask_em
from gmm_bayes.em.kernel import em_pass
from gmm_bayes.em.source import DataSource
from gmm_bayes.exceptions import DataError


def mixture(n, seed=0, centre=0.0):
    return mixture_sample(
        n, [0.5, 0.3, 0.2], [-2.0, 1.0, 5.0], [1.0, 0.5, 2.0], seed=seed, shift=centre
    )


def start(centre=0.0):
    return dict(
        weights_init=[0.3, 0.3, 0.4],
        means_init=centre + np.array([-1.0, 0.0, 3.0]),
        variances_init=[1.0, 1.0, 1.0],
    )


def assert_same_fit(a, b, rtol=1e-9):
    np.testing.assert_allclose(a.weights, b.weights, rtol=rtol)
    np.testing.assert_allclose(a.means, b.means, rtol=rtol)
    np.testing.assert_allclose(a.variances, b.variances, rtol=rtol)
    assert a.log_likelihood == pytest.approx(b.log_likelihood, rel=rtol)


def test_same_fit_as_in_memory_beyond_the_sample():
    # N > SAMPLE_SIZE: the standardization comes from a sample, the iterates do not change
    x = mixture(3 * dask_em.SAMPLE_SIZE, centre=1e8)
    darr = da.from_array(x, chunks=100_000)  # uneven last chunk
    common = dict(reg_covar=1e-6, tol=1e-12, **start(1e8))
    in_memory = gb.fit_em(x, 3, **common)
    chunked = gb.fit_em(darr, 3, **common)
    assert chunked.n_iter == in_memory.n_iter
    assert chunked.n_obs == x.size
    assert_same_fit(chunked, in_memory)
    np.testing.assert_allclose(chunked.history, in_memory.history, rtol=1e-12)


def test_small_data_default_regularization_is_identical():
    # N <= SAMPLE_SIZE: the sample is all of x, so the standardization is the in-memory one
    x = mixture(20_000, seed=1)
    darr = da.from_array(x, chunks=3000)
    assert_same_fit(gb.fit_em(darr, 3, **start()), gb.fit_em(x, 3, **start()), rtol=1e-12)


def test_restarts_on_the_sample_find_the_in_memory_optimum():
    x = mixture(200_000, seed=2)
    darr = da.from_array(x, chunks=50_000)
    chunked = gb.fit_em(darr, 3, n_init=3, tol=1e-10, reg_covar=1e-6, random_state=0)
    in_memory = gb.fit_em(x, 3, n_init=3, tol=1e-10, reg_covar=1e-6, random_state=0)
    assert chunked.converged
    assert_same_fit(chunked, in_memory, rtol=1e-5)


def test_integer_chunks_and_single_column():
    x = np.round(mixture(10_000, seed=3) * 10).astype(np.int32)
    darr = da.from_array(x[:, None], chunks=(2500, 1))
    assert_same_fit(gb.fit_em(darr, 3, init="quantile"), gb.fit_em(x, 3, init="quantile"))


def test_zarr_on_disk_read_back_lazily(tmp_path):
    zarr = pytest.importorskip("zarr")
    x = mixture(200_000, seed=4, centre=-5e5)
    store = zarr.create_array(tmp_path / "x.zarr", shape=x.shape, chunks=(40_000,), dtype="f8")
    store[:] = x
    darr = da.from_zarr(str(tmp_path / "x.zarr"))
    assert darr.numblocks == (5,)
    common = dict(reg_covar=1e-6, tol=1e-12, **start(-5e5))
    assert_same_fit(gb.fit_em(darr, 3, **common), gb.fit_em(x, 3, **common))


def test_on_a_local_distributed_cluster():
    # two workers on loopback TCP; the client becomes dask's current scheduler
    distributed = pytest.importorskip("distributed")
    x = mixture(300_000, seed=5)
    darr = da.from_array(x, chunks=60_000)
    common = dict(reg_covar=1e-6, tol=1e-10, **start())
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=False,
            protocol="tcp://",
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
        distributed.get_task_stream(client) as tasks,
    ):
        on_cluster = gb.fit_em(darr, 3, **common)
    assert len({task["worker"] for task in tasks.data}) == 2
    assert sum("_chunk_rows" in str(task["key"]) for task in tasks.data) > 5 * on_cluster.n_iter
    assert_same_fit(on_cluster, gb.fit_em(x, 3, **common))


def test_a_non_finite_value_is_named_with_its_index():
    x = mixture(10_000)
    x[7123] = np.nan
    x[9000] = np.inf
    with pytest.raises(DataError, match=r"got nan at index 7123 \(2 non-finite values"):
        gb.fit_em(da.from_array(x, chunks=1000), 3)


@pytest.mark.parametrize(
    ("darr", "error", "match"),
    [
        (da.zeros(10, dtype=bool), TypeError, "booleans"),
        (da.zeros(10, dtype=complex), TypeError, "complex"),
        (da.zeros((10, 2, 2)), ValueError, "one-dimensional"),
        (da.zeros(0), DataError, "empty"),
        (da.ones(10), DataError, "all 10 values of x equal 1.0"),
    ],
)
def test_bad_dask_input(darr, error, match):
    with pytest.raises(error, match=match):
        gb.fit_em(darr, 2)


def test_unknown_chunk_sizes_are_refused():
    darr = da.from_array(mixture(1000), chunks=100)
    darr = darr[darr > -100]  # boolean mask: chunk sizes unknown until computed
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        gb.fit_em(darr, 2)


def test_priors_are_refused_for_dask_arrays():
    with pytest.raises(NotImplementedError, match="priors"):
        gb.fit_em(da.from_array(mixture(1000), chunks=100), 2, priors=object())


def test_each_chunk_sends_3k_plus_1_numbers():
    x = mixture(10_000)
    data = dask_em.StandardizedChunks(da.from_array(x, chunks=2500), 0.0, 1.0)
    assert isinstance(data, DataSource) and data.size == x.size
    w, m, v = np.full(3, 1 / 3), np.array([-1.0, 0.0, 3.0]), np.ones(3)
    with dask.config.set(scheduler="sync"):
        rows = data.x.map_blocks(
            dask_em._chunk_rows,
            loc=0.0,
            scale=1.0,
            params=(w, m, v),
            chunks=((10,) * 4,),
            dtype=float,
        ).compute()
        assert rows.shape == (4 * (3 * 3 + 1),)
        got = data.em_pass(w, m, v)
    expected = em_pass(x, w, m, v)
    assert got[0] == pytest.approx(expected[0], rel=1e-13)
    for a, b in zip(got[1:], expected[1:], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_dask_is_imported_only_for_dask_arrays():
    code = (
        "import sys, numpy as np, gmm_bayes as gb;"
        "gb.fit_em(np.random.default_rng(0).normal(size=2000), 2, random_state=0);"
        "print('dask' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_restarts_polish_the_best_sample_run_on_all_the_chunks():
    # N > SAMPLE_SIZE: restarts see only the sample; the returned run has all N observations
    x = mixture(2 * dask_em.SAMPLE_SIZE, seed=6)
    fit = gb.fit_em(da.from_array(x, chunks=100_000), 3, n_init=2, tol=1e-10, random_state=0)
    assert fit.n_obs == x.size and fit.converged
    assert fit.log_likelihood == pytest.approx(fit.logpdf(x).sum(), rel=1e-12)


def test_random_state_is_checked_for_dask_arrays_too():
    with pytest.raises(ValueError, match="random_state must be None, an int in"):
        gb.fit_em(da.from_array(mixture(1000), chunks=100), 2, random_state=-1)


def test_the_adapter_imports_no_private_name_of_another_module():
    tree = ast.parse(Path(dask_em.__file__).read_text())
    private = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            private += [a.name for a in node.names if a.name.startswith("_")]
            private += (
                [node.module] if any(p.startswith("_") for p in node.module.split(".")) else []
            )
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            if not (isinstance(node.value, ast.Name) and node.value.id == "self"):
                private.append(ast.unparse(node))
    assert private == []


def masked(values, mask, chunks):
    return da.ma.masked_array(
        da.from_array(np.asarray(values, float), chunks=chunks),
        mask=da.from_array(np.asarray(mask, bool), chunks=chunks),
    )


def test_masked_values_are_refused_as_in_memory():
    # the masked value hides a NaN: today's bare "cannot convert float NaN to integer"
    values = [1.0, 2.0, 3.0, np.nan, 5.0, 6.0, 7.0, 8.0]
    mask = [0, 0, 0, 1, 0, 1, 0, 0]
    with pytest.raises(DataError, match="x has 2 masked values") as in_memory:
        gb.fit_em(np.ma.masked_array(values, mask=mask), 2)
    assert "(first at index 3)" in str(in_memory.value)
    with pytest.raises(
        DataError,
        match=r"x has 2 masked values \(first at index 3\): masked values are not used; "
        r"drop them first, e.g. x = x\[~dask.array.ma.getmaskarray\(x\)\].compute_chunk_sizes",
    ):
        gb.fit_em(masked(values, mask, chunks=3), 2)


def test_the_suggested_compression_fits():
    x = mixture(2000)
    darr = masked(x, np.arange(x.size) % 7 == 0, chunks=300)
    kept = darr[~da.ma.getmaskarray(darr)].compute_chunk_sizes()
    fit = gb.fit_em(kept, 3, **start())
    assert_same_fit(fit, gb.fit_em(x[np.arange(x.size) % 7 != 0], 3, **start()), rtol=1e-12)


def test_a_masked_array_with_nothing_masked_is_its_data():
    x = mixture(2000)
    darr = masked(x, np.zeros(x.size), chunks=300)
    assert_same_fit(gb.fit_em(darr, 3, **start()), gb.fit_em(x, 3, **start()), rtol=1e-12)


def test_the_range_is_that_of_all_the_data_not_of_the_sample():
    x = mixture(2 * dask_em.SAMPLE_SIZE, seed=7)
    x[12345] = 1e155  # one outlier: in the range, not necessarily in the sample
    with pytest.raises(DataError, match="so wide a spread overflow float64"):
        gb.fit_em(da.from_array(x, chunks=50_000), 2, random_state=0)


def test_widened_scale_keeps_the_default_regularization_relative_to_the_bulk():
    bulk = np.random.default_rng(0).normal(size=1000)
    darr = da.from_array(np.append(bulk, 1e152), chunks=300)
    with pytest.warns(gb.DegenerateFitWarning):  # the outlier is a component of its own
        fit = gb.fit_em(darr, 2, random_state=0)
    assert fit.means[1] == pytest.approx(1e152, rel=1e-12)
    # the bulk's variance gains 1e-6 squared robust scales (about 1e-6), not 1e-6 * 100**2
    assert fit.variances[0] == pytest.approx(np.var(bulk), rel=1e-4)
