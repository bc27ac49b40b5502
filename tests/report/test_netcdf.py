"""What a report's NetCDF files keep: compact by default (at most a few MB per K), everything with
``full=True``; both reopen with ``xarray.open_datatree``."""

import numpy as np
import pytest
import xarray as xr
from compare.fakes import TRUE, fake_diagnostics, fake_posterior

from gmm_bayes.bayes import Status
from gmm_bayes.report.files import netcdf_tree

#: the bundled reports' largest case: 4 chains x 1000 draws, K = 6, N = 299 (geyser)
CHAINS, DRAWS, K, N = 4, 1000, 6, 299


@pytest.fixture(scope="module")
def tree():
    rng = np.random.default_rng(0)
    center = {p: np.resize(v, K) for p, v in TRUE.items()}
    tree = fake_posterior(
        center, dict.fromkeys(center, 0.1), chains=CHAINS, draws=DRAWS, y=rng.normal(size=N)
    )
    pointwise = tree["log_likelihood"].to_dataset()
    tree["posterior_predictive"] = xr.DataTree(pointwise)  # same size as the predictive draws
    stats = {"energy": (("chain", "draw"), rng.normal(size=(CHAINS, DRAWS)))}
    tree["sample_stats"] = xr.DataTree(xr.Dataset(stats))
    tree["diagnostics"] = xr.DataTree(fake_diagnostics(Status.OK, chains=CHAINS).to_dataset())
    return tree


def _write(tree, path, full):
    small, encoding = netcdf_tree(tree, full=full)
    small.to_netcdf(path, engine="h5netcdf", encoding=encoding)
    return path.stat().st_size


def test_compact_file_is_small_and_keeps_what_cannot_be_recomputed(tree, tmp_path):
    full = _write(tree, tmp_path / "full.nc", full=True)
    compact = _write(tree, tmp_path / "compact.nc", full=False)
    # the pointwise groups alone are 2 x 4 x 1000 x 299 float64 = 19 MB before compression
    assert full > 10e6 and compact < 1.5e6, (full, compact)
    back = xr.open_datatree(tmp_path / "compact.nc", engine="h5netcdf")
    assert {"posterior", "sample_stats", "diagnostics", "observed_data"} <= set(back.children)
    assert not {"log_likelihood", "posterior_predictive"} & set(back.children)
    assert "log_likelihood" in back.attrs["stored"]
    # the draws are kept exactly; sampler statistics as float32
    np.testing.assert_array_equal(back["posterior"]["mu"].values, tree["posterior"]["mu"].values)
    assert back["sample_stats"]["energy"].dtype == np.float32
    np.testing.assert_allclose(
        back["sample_stats"]["energy"].values, tree["sample_stats"]["energy"].values, rtol=1e-6
    )
    assert back["diagnostics"].attrs["status"] == "OK"


def test_full_file_keeps_every_group_in_float64(tree, tmp_path):
    _write(tree, tmp_path / "full.nc", full=True)
    back = xr.open_datatree(tmp_path / "full.nc", engine="h5netcdf")
    assert set(tree.children) <= set(back.children)
    np.testing.assert_array_equal(
        back["log_likelihood"]["y"].values, tree["log_likelihood"]["y"].values
    )
