"""The plain-text table of ``gmm-bayes fit``: the numbers printed are the fits' numbers."""

import re

import numpy as np
import pytest

import gmm_bayes as gb
from gmm_bayes.cli import main
from gmm_bayes.report.terminal import FIELDS, em_vs_sklearn, text_table


def parse_table(text):
    """Rows of a column-aligned table as dicts (columns are two or more spaces apart)."""
    lines = text.strip().splitlines()
    header = re.split(r"\s{2,}", lines[0].strip())
    return [dict(zip(header, re.split(r"\s{2,}", line.strip()), strict=True)) for line in lines[1:]]


def numbers(cell):
    return [float(v) for v in cell.strip("[]").split(", ")]


def assert_row_is_fit(row, k, fit):
    # the table prints weights with 3 significant digits, means with 5, sigmas with 4
    assert row["K"] == str(k)
    np.testing.assert_allclose(numbers(row["weights"]), fit.weights, rtol=5e-3)
    np.testing.assert_allclose(numbers(row["means"]), fit.means, rtol=5e-5)
    np.testing.assert_allclose(numbers(row["sigmas"]), fit.sigmas, rtol=5e-4)
    assert float(row["log_lik"]) == pytest.approx(fit.log_likelihood, abs=5e-5)
    assert float(row["BIC"]) == pytest.approx(fit.bic(), abs=5e-3)
    assert row["n_iter"] == str(fit.n_iter)


def test_table_shows_each_fits_numbers_with_sigmas_not_variances():
    x = gb.load_dataset("galaxy")
    results = em_vs_sklearn(x, [2, 3], random_state=0)
    rows = parse_table(text_table(results))
    assert list(rows[0]) == list(FIELDS)
    fits = [(k, f) for k, em, sk, _ in results for f in (em, sk)]
    assert [r["method"] for r in rows] == ["gmm_bayes EM", "scikit-learn"] * 2
    for row, (k, fit) in zip(rows, fits, strict=True):
        assert_row_is_fit(row, k, fit)
        # the sigmas are far from the variances here, so the check above tells them apart
        assert not np.allclose(fit.variances, fit.sigmas, rtol=5e-2)


def test_cli_fit_prints_the_sigmas_of_fit_em(capsys):
    assert main(["fit", "galaxy", "-k", "2", "--seed", "3"]) == 0
    rows = parse_table(capsys.readouterr().out)
    x = gb.load_dataset("galaxy")
    assert_row_is_fit(rows[0], 2, gb.fit_em(x, 2, random_state=3))
    assert_row_is_fit(rows[1], 2, gb.fit_sklearn(x, 2, random_state=3))


def test_a_scikit_learn_failure_is_a_message_not_a_traceback(monkeypatch):
    """Data scikit-learn cannot fit (e.g. spanning 1e154) still get the package's row."""
    from gmm_bayes.report import terminal

    def broken(*args, **kwargs):
        raise ValueError("Fitting the mixture model failed because some components have...")

    monkeypatch.setattr(terminal, "fit_sklearn", broken)
    ((k, em, sk, messages),) = terminal.em_vs_sklearn(gb.load_dataset("faithful"), [2])
    assert sk is None
    assert messages == [
        "scikit-learn failed: Fitting the mixture model failed because some components have..."
    ]
    table = terminal.text_table([(k, em, sk, messages)]).splitlines()
    assert len(table) == 2 and "gmm_bayes EM" in table[1]
