"""The command line: tables, reports, and one-line errors with exit code 2."""

import subprocess
import sys

import pytest

from gmm_bayes.cli import main, parse_components


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "gmm_bayes", *args], capture_output=True, text=True, timeout=300
    )


def test_fit_prints_both_engines(capsys):
    assert main(["fit", "galaxy", "-k", "2-3"]) == 0
    out = capsys.readouterr().out
    assert out.count("gmm_bayes EM") == 2 and out.count("scikit-learn") == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fit", "missing.csv"], "missing.csv: no such file"),
        (["fit", "{csv}", "--column", "nope"], "no column 'nope'"),
        (["fit", "{csv}", "--column", "b"], "line 3: not a number: 'x'"),
        (["fit", "{csv}", "--column", "a", "-k", "5-2"], "1 <= first <= last"),
        (["fit", "{csv}", "--column", "a", "-k", "9"], "n_components=9 is larger"),
    ],
)
def test_errors_are_one_line_exit_2(tmp_path, args, message):
    csv = tmp_path / "d.csv"
    csv.write_text("a,b\n1,2\n3,x\n4,5\n")
    result = run(*[a.format(csv=csv) for a in args])
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_parse_components():
    assert parse_components("1-3,5") == (1, 2, 3, 5)
    assert parse_components("4") == (4,)


def test_report_is_written_and_replaced_atomically(tmp_path, monkeypatch):
    out = tmp_path / "rep"
    assert main(["report", "seed_notebook", "--components", "1-2", "--out", str(out)]) == 0
    text = (out / "summary.md").read_text()
    assert "| 2 | gmm_bayes EM |" in text and "sha256" in text
    before = (out / "summary.md").read_bytes()

    import gmm_bayes.tables

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(gmm_bayes.tables, "markdown_table", boom)
    assert main(["report", "galaxy", "--components", "1-2", "--out", str(out)]) == 130
    assert (out / "summary.md").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]  # no temporary left behind
