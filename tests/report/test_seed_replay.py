"""The seed notebook's comparison, replayed beside the package's fits."""

import numpy as np
import pytest

import gmm_bayes as gb
from gmm_bayes.report.notebook import NOTEBOOK_SLIPS, notebook_replay, notebook_section


def test_notebook_replay():
    x = gb.load_dataset("seed_notebook")
    out = notebook_replay(x)
    shift, scale = out["normalization"]
    assert shift == pytest.approx(x.sum()) and scale == pytest.approx(x.var())
    replay, sk_z, em, sk = out["rows"]
    assert replay["n_iter"] == 3 and not replay["converged"]
    assert np.diff(out["history"]).min() > 0  # EM never decreases the likelihood...
    # ...but 3 iterations are not enough: it has not reached the maximum it heads for, which
    # scikit-learn converges to from the same normalized data (one component on the outlier)
    assert replay["log_likelihood"] < sk_z["log_likelihood"]
    assert out["history"][-1] == pytest.approx(replay["log_likelihood"])
    assert em["converged"]
    # scikit-learn's defaults put a component on one value (a spike of higher likelihood); the
    # package's EM returns the best maximum whose components hold at least two observations
    assert min(sk["weights"]) * x.size < 2 <= min(em["weights"]) * x.size
    assert sk["log_likelihood"] > em["log_likelihood"]
    assert "must sum to 1" in out["m_step_message"]
    assert out["slips"] == NOTEBOOK_SLIPS and len(out["slips"]) == 5
    # the fits' warnings are kept, one line each
    assert all(": " in w for w in out["warnings"])


def test_notebook_section_formats_numbers():
    section = notebook_section(notebook_replay(gb.load_dataset("seed_notebook")))
    first = section["rows"][0]
    assert first["converged"] == "NO" and first["means"].count(", ") == 1
    assert section["history"].count(", ") == 2 and section["posterior"] is None
