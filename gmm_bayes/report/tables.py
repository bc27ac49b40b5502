"""The report's CSV files: ``estimates.csv`` (one row per K, method, component) and
``comparison.csv`` (one row per K), written from the comparison Datasets as they are."""

import csv

import numpy as np

__all__ = ["comparison_rows", "estimates_rows", "write_csv"]


def estimates_rows(estimates_by_k):
    """Rows of estimates.csv.

    Parameters
    ----------
    estimates_by_k : mapping of int to xarray.Dataset
        K -> :func:`gmm_bayes.compare.compare_estimates`.

    Returns
    -------
    list of dict
        ``{"K": k, "method": ..., "component": ..., <every variable and coordinate>}``.
    """
    rows = []
    for k, est in estimates_by_k.items():
        for record in est.to_dataframe().reset_index().to_dict("records"):
            rows.append({"K": k, **record})
    return rows


def comparison_rows(comparison):
    """Rows of comparison.csv: one dict per K of :func:`gmm_bayes.compare.compare_components`."""
    return comparison.to_dataframe().reset_index().to_dict("records")


def write_csv(path, rows):
    """Write ``rows`` (dicts with the same keys) as CSV; floats keep every digit (``repr``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = pathlib.Path(d) / "t.csv"
    ...     write_csv(path, [{"K": 1, "x": 0.1, "ok": np.True_}])
    ...     print(path.read_text().splitlines())
    ['K,x,ok', '1,0.1,True']
    """
    if not rows:
        path.write_text("", encoding="utf-8")
        return
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(v) for k, v in row.items()})


def _cell(v):
    if isinstance(v, float | np.floating):
        return repr(float(v))
    if isinstance(v, bool | np.bool_):
        return str(bool(v))
    return v
