"""The command line: tables, reports, and one-line errors with exit code 2."""

import subprocess
import sys

import numpy as np
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
        (["fit", "{csv}", "--column", "a", "-k", "9"], "K=9 is larger than the number of"),
        (["report", "missing.csv", "--out", "{out}"], "missing.csv: no such file"),
        (["report", "{csv}", "--column", "nope", "--out", "{out}"], "no column 'nope'"),
        (["report", "{csv}", "--column", "b", "--out", "{out}"], "line 3: not a number: 'x'"),
        (["report", "{csv}", "--column", "a", "--components", "x", "--out", "{out}"], "1-5"),
        (["report", "{csv}", "--column", "a", "--components", "2-9", "--out", "{out}"], "larger"),
        (["report", "{csv}", "--column", "a", "--draws", "0", "--out", "{out}"], "20 to 100000"),
        (["report", "{csv}", "--column", "a", "--sampler", "stan", "--out", "{out}"], "stan"),
        (["report", "{csv}", "--column", "a"], "--out"),
    ],
)
def test_errors_are_one_line_exit_2(tmp_path, args, message):
    csv = tmp_path / "d.csv"
    csv.write_text("a,b\n1,2\n3,x\n4,5\n")
    out = tmp_path / "out"
    result = run(*[a.format(csv=csv, out=out) for a in args])
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()
    assert len(result.stderr.splitlines()) == 1  # argparse's too: usage is one --help away


def test_help_explains():
    result = run("--help")
    assert result.returncode == 0
    for word in ("fit", "report", "report-bundled", "galaxy", "exit code 2"):
        assert word in result.stdout
    result = run("report", "--help")
    for option in ("--components", "--out", "--draws", "--tune", "--chains", "--seed", "--sampler"):
        assert option in result.stdout
    for option in ("--evidence", "--full-netcdf", "auto (default)"):
        assert option in result.stdout


def test_report_settings_from_the_command_line(monkeypatch, tmp_path):
    """The report's defaults (sampler auto, compact NetCDF, evidence) and their options."""
    import gmm_bayes.report.pipeline as pipeline
    from gmm_bayes.cli import main

    seen = []
    monkeypatch.setattr(
        pipeline, "write_bundled", lambda out, data, settings, **_: seen.append(settings)
    )
    assert main(["report-bundled", "--only", "galaxy", "-q", "--out", str(tmp_path / "r")]) == 0
    assert (seen[0].sampler, seen[0].evidence, seen[0].full_netcdf) == ("auto", True, False)
    argv = ["report-bundled", "--only", "galaxy", "-q", "--out", str(tmp_path / "r")]
    assert main([*argv, "--no-evidence", "--full-netcdf", "--sampler", "nutpie"]) == 0
    assert (seen[1].sampler, seen[1].evidence, seen[1].full_netcdf) == ("nutpie", False, True)


def test_parse_components():
    assert parse_components("1-3,5") == (1, 2, 3, 5)
    assert parse_components("4") == (4,)


@pytest.mark.slow
def test_report_is_written_and_replaced_atomically(tmp_path, monkeypatch, capsys):
    out = tmp_path / "rep"
    small = ["--draws", "100", "--tune", "100", "--chains", "2", "--seed", "1"]
    args = ["report", "seed_notebook", "--components", "1-2", "--out", str(out), *small]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "K=1" in err and "K=2" in err and "wrote" in err
    text = (out / "summary.md").read_text()
    assert "sha256" in text and "## K = 2" in text and "seed notebook" in text
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    import gmm_bayes.report.pipeline

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(gmm_bayes.report.pipeline, "analyse", interrupted)
    assert main(["report", "galaxy", "-q", "--components", "1-2", "--out", str(out)]) == 130
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]  # no temporary left behind
    assert "interrupted" in capsys.readouterr().err


def test_quiet_interrupt_prints_one_line(tmp_path, monkeypatch, capsys):
    import gmm_bayes.report.pipeline

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(gmm_bayes.report.pipeline, "analyse", stop)
    assert main(["report", "galaxy", "-q", "-k", "1", "--out", str(tmp_path / "r")]) == 130
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1


def test_a_bug_inside_the_analysis_is_not_dressed_as_a_usage_error(tmp_path, monkeypatch):
    import gmm_bayes.report.pipeline

    def bug(*args, **kwargs):
        raise ValueError("internal shape mismatch")

    monkeypatch.setattr(gmm_bayes.report.pipeline, "analyse", bug)
    out = tmp_path / "r"
    with pytest.raises(ValueError, match="internal shape mismatch"):  # traceback, exit code 1
        main(["report", "galaxy", "-q", "-k", "1", "--out", str(out)])
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_report_bundled_keeps_readme_and_replaces_reports_older_than_the_marker(tmp_path):
    from gmm_bayes.report.files import MARKER

    out = tmp_path / "reports"
    (out / "seed_notebook").mkdir(parents=True)
    (out / "README.md").write_text("Generated by `make report`")
    (out / "seed_notebook" / "index.html").write_text("a report written before the marker")
    (out / "seed_notebook" / "summary.md").write_text("old")
    (out / "index.html").write_text("old index")
    tiny = ["--draws", "20", "--tune", "20", "--chains", "2"]
    assert main(["report-bundled", "--only", "seed_notebook", "-q", "--out", str(out), *tiny]) == 0
    assert (out / "README.md").read_text() == "Generated by `make report`"
    assert sorted(p.name for p in out.iterdir()) == [
        MARKER,
        "README.md",
        "index.html",
        "seed_notebook",
    ]
    assert (out / "seed_notebook" / MARKER).is_file()
    assert "## K = 3" in (out / "seed_notebook" / "summary.md").read_text()
    assert "seed_notebook" in (out / "index.html").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports"]


class SignalInFinalizer:
    """Its finalizer receives SIGTERM: Python drops the KeyboardInterrupt ("Exception ignored")."""

    def __del__(self):
        import signal

        signal.raise_signal(signal.SIGTERM)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_an_interruption_lost_before_the_report_still_stops_it(tmp_path, monkeypatch, capsys):
    import gmm_bayes.cli
    import gmm_bayes.report.pipeline

    def read_data(*args, **kwargs):
        SignalInFinalizer()  # the SIGTERM arrives while a finalizer runs, and is dropped
        return np.arange(10.0)

    started = []

    def work(*args, **kwargs):
        started.append(True)
        raise AssertionError("the work started")

    monkeypatch.setattr(gmm_bayes.cli, "read_data", read_data)
    monkeypatch.setattr(gmm_bayes.report.pipeline, "analyse", work)
    data = tmp_path / "data.csv"
    data.write_text("v\n" + "\n".join(map(str, range(10))))
    out = tmp_path / "rep"
    assert main(["report", str(data), "-k", "1", "-q", "--out", str(out)]) == 143
    assert not started
    assert "interrupted (SIGTERM)" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [data]
