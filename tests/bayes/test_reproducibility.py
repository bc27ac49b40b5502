"""The same seed gives the same draws whatever the machine's compile caches hold.

Each run is a fresh Python process whose PyTensor and numba caches live in ``tmp_path``: the
first starts with them empty (a fresh clone), the second finds them filled by the first (every
later ``make report``). The draws must be equal bit for bit.

Why they once were not: PyTensor's numba backend compiles with ``fastmath`` by default, and each
compiled kernel is also linked into the function that calls it as a weak symbol. When a process
has just compiled everything, the calls go to the kernels' own copies, loaded first; when the
outer function comes from the on-disk cache, they go to the copies inside it, which LLVM
optimized again in a different context. With fastmath the two copies may round differently
(reassociated sums), so the log density differs in the last bits and NUTS trajectories drift
apart. ``gmm_bayes.bayes.model_cache`` compiles without fastmath: LLVM then keeps IEEE
semantics and every copy gives the same numbers.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gmm_bayes

# One small posterior (galaxy, K = 3, 2 x 200 draws); every variable saved for a bitwise check.
_SCRIPT = """
import sys
import numpy as np
import gmm_bayes as gb

x = gb.load_dataset("galaxy")
tree = gb.sample_posterior(
    x, 3, random_seed=0, draws=200, tune=200, chains=2, cores=1, pointwise=False
)
post = tree["posterior"]
np.savez(sys.argv[1], **{name: post[name].values for name in ("w", "mu", "sigma")})
"""

_REPO = Path(gmm_bayes.__file__).resolve().parents[1]


def _run(cache, out):
    """Sample in a fresh process whose PyTensor and numba caches are under ``cache``."""
    flags = [os.environ.get("PYTENSOR_FLAGS", ""), f"base_compiledir={cache / 'pytensor'}"]
    env = dict(
        os.environ,
        PYTENSOR_FLAGS=",".join(f for f in flags if f),
        NUMBA_CACHE_DIR=str(cache / "numba"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(_REPO), os.environ.get("PYTHONPATH")])),
    )
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(out)],
        env=env,
        cwd=_REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    with np.load(out) as draws:
        return {name: draws[name] for name in draws.files}


def _assert_cold_equals_warm(tmp_path):
    cache = tmp_path / "cache"
    cold = _run(cache, tmp_path / "cold.npz")  # empty caches
    assert any((cache / "pytensor" / "numba").iterdir()), "the first run cached nothing"
    warm = _run(cache, tmp_path / "warm.npz")  # the caches the first run filled
    for name in cold:
        differ = cold[name] != warm[name]
        assert not differ.any(), (
            f"{name}: {differ.sum()} of {differ.size} draws differ between a run with empty "
            f"compile caches and one with filled caches (max |diff| "
            f"{np.abs(cold[name] - warm[name]).max():.3g})"
        )


@pytest.mark.slow
def test_same_seed_same_draws_with_empty_and_filled_caches(tmp_path):
    """Fails with PyTensor's default numba fastmath (fixed in bayes.model_cache)."""
    _assert_cold_equals_warm(tmp_path)
