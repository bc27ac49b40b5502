"""examples/model_comparison.ipynb runs top to bottom (small settings, so it never rots)."""

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "model_comparison.ipynb"
SMALL = """DATA = "faithful"
KS = [1, 2]
K = 2
DRAWS, TUNE, CHAINS = 100, 100, 2
SEED = 1"""


@pytest.mark.slow
def test_notebook_executes(tmp_path, monkeypatch):
    # CI sets MPLBACKEND=Agg, which the kernel would inherit and then show no figures
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")

    nb = nbformat.read(NOTEBOOK, as_version=4)
    params = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1, "the notebook needs one cell tagged 'parameters'"
    params[0].source = SMALL
    client = nbclient.NotebookClient(
        nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "criteria" in text  # the agreement sentence was printed
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2
