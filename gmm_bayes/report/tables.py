"""Numbers as the report shows them, and its CSV files.

- :func:`rounded`: a value with as many decimals as its uncertainty supports (two significant
  digits of the uncertainty), the rule the pages' estimate tables follow;
- ``estimates.csv`` (:func:`estimates_rows`): tidy, one row per (K, method, parameter,
  component), every column meaning the same on every row;
- ``comparison.csv`` (:func:`comparison_rows`): one row per K, as
  :func:`gmm_bayes.compare.compare_components` gives it.
"""

import csv
import math

import numpy as np

from gmm_bayes.conventions import PARAMS

__all__ = [
    "ESTIMATE_COLUMNS",
    "comparison_rows",
    "decimals_for",
    "estimates_rows",
    "fmt",
    "rounded",
    "write_csv",
]

#: estimates.csv's columns, in order
ESTIMATE_COLUMNS = (
    "K",
    "method",
    "parameter",
    "component",
    "estimate",
    "std_error",
    "posterior_sd",
    "lower",
    "upper",
    "interval",
    "r_hat",
    "ess_bulk",
    "ess_tail",
    "mcse_mean",
    "in_posterior_hdi",
    "collapsed",
    "outside_prior_95",
    "log_likelihood",
    "converged",
    "trustworthy",
    "status",
    "sampler",
)


def fmt(value, digits=4):
    """A number for a table: ``digits`` significant digits, ``—`` for NaN or None.

    Examples
    --------
    >>> fmt(3.14159), fmt(2.0, 2), fmt(float("nan")), fmt(True), fmt(np.int64(7))
    ('3.142', '2', '—', 'yes', '7')
    """
    if value is None:
        return "—"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return str(int(value))
    value = float(value)
    if not np.isfinite(value):
        return "—"
    return f"{value:.{digits}g}"


def decimals_for(uncertainty, significant=2):
    """Decimals that show ``significant`` digits of ``uncertainty`` (None if it is not usable).

    Examples
    --------
    >>> decimals_for(0.0123), decimals_for(4.5), decimals_for(230.0), decimals_for(0.0)
    (3, 1, 0, None)
    """
    if uncertainty is None or not np.isfinite(uncertainty) or uncertainty <= 0:
        return None
    return max(0, significant - 1 - math.floor(math.log10(float(uncertainty))))


def rounded(value, uncertainty, *, digits=4):
    """``value`` to the decimals its ``uncertainty`` supports; ``digits`` significant without one.

    Parameters
    ----------
    value : float
    uncertainty : float or None
        A standard error or posterior sd of ``value``: two of its significant digits are kept.
    digits : int
        Significant digits when ``uncertainty`` is missing, zero or not finite.

    Examples
    --------
    >>> rounded(80.15342, 0.45), rounded(80.15342, 2.3), rounded(5.806e-05, 0.0913)
    ('80.15', '80.2', '0.000')
    >>> rounded(1234.5, 120.0), rounded(0.123456, float("nan"))
    ('1234', '0.1235')
    """
    places = decimals_for(uncertainty)
    if value is None or not np.isfinite(value):
        return "—"
    if places is None:
        return fmt(value, digits)
    return f"{float(value):.{places}f}"


def estimates_rows(results, comparison):
    """Rows of estimates.csv: one per (K, method, parameter, component).

    Parameters
    ----------
    results : list of gmm_bayes.report.pipeline.KResult
        Each K's :func:`gmm_bayes.compare.compare_estimates` (``estimates``) and diagnostics.
    comparison : xarray.Dataset
        From :func:`gmm_bayes.compare.compare_components`: the posterior's ``status`` and
        ``trustworthy`` of each K.

    Returns
    -------
    list of dict
        Keys :data:`ESTIMATE_COLUMNS`. Components are numbered from 1. ``std_error`` is a
        fit's standard error (EM: observed information), ``posterior_sd`` the posterior's;
        ``lower``/``upper`` are the interval named in ``interval`` (EM: Wald 95%; posterior:
        HDI); ``r_hat`` to ``mcse_mean`` are the posterior's (arviz_stats); ``status`` and
        ``sampler`` describe the posterior (empty on fits' rows); ``trustworthy`` is the
        row's own method: a fit that converged without a collapsed component, a posterior
        that passed its diagnostics with a healthy EM fit.
    """
    rows = []
    for r in results:
        at_k = comparison.sel(K=r.k)
        for method in r.estimates["method"].values:
            rows += _method_rows(r, str(method), at_k)
    return rows


def _method_rows(result, method, at_k):
    est = result.estimates.sel({"method": method})
    posterior = method == "posterior_mean"
    outside_prior = set(result.diagnostics.sigma_outside_prior) if method == "em" else set()
    prob = f"{result.estimates.attrs['hdi_prob']:.0%}"
    rows = []
    for p in PARAMS:
        for j in est["component"].values:
            cell = est.sel(component=j)
            has_se = np.isfinite(cell[f"{p}_se"].item())
            rows.append(
                {
                    "K": result.k,
                    "method": method,
                    "parameter": p,
                    "component": int(j) + 1,
                    "estimate": cell[p].item(),
                    "std_error": cell[f"{p}_se"].item(),
                    "posterior_sd": cell[f"{p}_sd"].item() if posterior else math.nan,
                    "lower": _bound(cell, p, "lower", posterior, has_se),
                    "upper": _bound(cell, p, "upper", posterior, has_se),
                    "interval": f"HDI {prob}" if posterior else ("Wald 95%" if has_se else ""),
                    **{
                        c: cell[f"{p}_{c}"].item() if posterior else math.nan
                        for c in ("r_hat", "ess_bulk", "ess_tail", "mcse_mean")
                    },
                    "in_posterior_hdi": bool(cell[f"{p}_in_hdi"].item()),
                    "collapsed": bool(cell["collapsed"].item()),
                    "outside_prior_95": p == "sigma" and int(j) in outside_prior,
                    "log_likelihood": est["log_likelihood"].item(),
                    "converged": bool(est["converged"].item()),
                    "trustworthy": bool(
                        at_k["trustworthy"].item() if posterior else est["trustworthy"].item()
                    ),
                    "status": str(at_k["status"].item()) if posterior else "",
                    "sampler": result.diagnostics.sampler if posterior else "",
                }
            )
    return rows


def _bound(cell, p, side, posterior, has_se):
    if posterior:
        return cell[f"{p}_hdi_{side}"].item()
    return cell[f"{p}_se_{side}"].item() if has_se else math.nan


def comparison_rows(comparison):
    """Rows of comparison.csv: one dict per K of :func:`gmm_bayes.compare.compare_components`."""
    return comparison.to_dataframe().reset_index().to_dict("records")


def write_csv(path, rows, columns=None):
    """Write ``rows`` (dicts) as CSV; floats keep every digit (``repr``), NaN is an empty cell.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = pathlib.Path(d) / "t.csv"
    ...     write_csv(path, [{"K": 1, "x": 0.1, "ok": np.True_, "se": float("nan")}])
    ...     print(path.read_text().splitlines())
    ['K,x,ok,se', '1,0.1,True,']
    """
    columns = list(columns or (rows[0] if rows else []))
    with open(path, "w", newline="", encoding="utf-8") as fh:
        if not columns:
            return
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(v) for k, v in row.items()})


def _cell(v):
    if isinstance(v, float | np.floating):
        return repr(float(v)) if np.isfinite(v) else ""
    if isinstance(v, bool | np.bool_):
        return str(bool(v))
    return v
