"""The command line as a careless or hostile user meets it: no data lost, no half-done work.

One test per case of the issue "a CLI that never loses data, never leaves half-done work,
answers hostile input in one line". Each failed on the code before the fix (checked by running
this module against that commit):

1. ``--out`` replaces only a missing or empty directory or a previous report (marker file);
2. SIGINT / SIGTERM at any moment: exit 130 / 143, the previous report byte-identical, no
   temporary directory; leftovers of SIGKILLed runs cleaned by the next run; concurrent runs on
   one ``--out``: one wins, the other exits 2;
3. bounds on K, chains, draws, tune, seed and ``--out`` checked before any work;
4. file errors in one line (a 300-character name);
5. messages in the command line's words;
6. values whose variances overflow float64 refused in one line; data whose squares fit fitted;
7. a masked dask array refused as a masked numpy array is.

The signal tests drive ``python -m gmm_bayes report`` in a subprocess (marked ``slow``: they
compile and sample a tiny model); the rest run in process or exit before any work.
"""

import os
import queue
import resource
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import gmm_bayes as gb
from gmm_bayes.cli import main
from gmm_bayes.exceptions import DataError

#: the marker a report writes (gmm_bayes.report.files.MARKER), spelled out so that this module
#: also runs against code that has none
MARKER = ".gmm_bayes-report.json"
#: a tiny posterior: enough for every diagnostic, figure and PSIS-LOO (20 draws per chain)
TINY = ["--draws", "20", "--tune", "20", "--chains", "2"]
ENV = {**os.environ, "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "good.csv"
    path.write_text("v\n" + "\n".join(str(v) for v in [1.0, 1.5, 2.0, 2.2, 7.0, 7.5, 8.0, 9.0]))
    return path


@pytest.fixture
def no_work(monkeypatch):
    """The analysis, replaced by a failure: a refusal must come before it."""
    import gmm_bayes.report.pipeline

    def work(*args, **kwargs):
        raise AssertionError("the work started")

    monkeypatch.setattr(gmm_bayes.report.pipeline, "analyse", work)


def cli(*args, timeout=120, memory=None):
    """``python -m gmm_bayes *args``; ``memory`` caps its address space (bytes)."""

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return subprocess.run(
        [sys.executable, "-m", "gmm_bayes", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ENV,
        preexec_fn=cap if memory else None,
    )


def one_line_error(result, *fragments):
    """Exit code 2, one line on stderr, no traceback, each fragment in it."""
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr


def in_process_error(capsys, argv, *fragments):
    """:func:`main` in this process: exit code 2 and one error line holding the fragments."""
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse
        code = stop.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err
    return err


def previous_report(path):
    """A directory as a previous report leaves it (marker included); returns its snapshot."""
    (path / "fig").mkdir(parents=True)
    (path / "index.html").write_text("<p>the previous report</p>")
    (path / "summary.md").write_text("# previous")
    (path / "posterior_K1.nc").write_bytes(b"\x89HDF previous")
    (path / "fig" / "density_K1.png").write_bytes(b"\x89PNG previous")
    (path / MARKER).write_text('{"written_by": "gmm_bayes", "version": "0", "kind": "report"}\n')
    return snapshot(path)


def snapshot(path):
    """Every file under ``path`` (hidden ones too) -> its bytes, and its parent's entries."""
    files = {p.relative_to(path): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}
    return files, sorted(p.name for p in path.parent.iterdir())


# --------------------------------------------------------------------------------------------
# 1. --out never deletes what is not a previous report
# --------------------------------------------------------------------------------------------


def test_out_holding_a_users_file_is_refused_before_any_work(good, tmp_path, capsys, no_work):
    out = tmp_path / "d"
    out.mkdir()
    (out / "thesis.tex").write_text("three years of work")
    in_process_error(capsys, ["report", str(good), "-k", "1", "--out", str(out)], "thesis.tex")
    assert (out / "thesis.tex").read_text() == "three years of work"


def test_out_naming_the_input_file_is_refused(good, capsys, no_work):
    before = good.read_bytes()
    in_process_error(capsys, ["report", str(good), "-k", "1", "--out", str(good)], "is a file")
    assert good.read_bytes() == before


def test_report_bundled_into_a_file_is_one_line(good):
    before = good.read_bytes()
    one_line_error(cli("report-bundled", "--out", good, *TINY), str(good), "is a file")
    assert good.read_bytes() == before


def test_a_directory_of_report_names_without_the_marker_is_refused(good, tmp_path, capsys, no_work):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "estimates.csv").write_text("my own estimates")  # a name a report writes, not one
    in_process_error(capsys, ["report", str(good), "--out", str(out)], f"no {MARKER}")
    assert (out / "estimates.csv").read_text() == "my own estimates"


def test_a_previous_report_with_a_users_file_added_is_refused(good, tmp_path, capsys, no_work):
    out = tmp_path / "rep"
    previous_report(out)
    (out / "fig" / "notes.txt").write_text("mine")
    in_process_error(capsys, ["report", str(good), "--out", str(out)], "notes.txt")
    assert (out / "fig" / "notes.txt").read_text() == "mine"


def test_bundled_directory_keeps_its_readme_and_refuses_strangers(good, tmp_path, capsys, no_work):
    out = tmp_path / "reports"
    out.mkdir()
    (out / "README.md").write_text("kept")
    (out / "draft.docx").write_bytes(b"not a report")
    argv = ["report-bundled", "--only", "galaxy", "--out", str(out), *TINY]
    in_process_error(capsys, argv, "draft.docx", "README.md")
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "draft.docx"]


def test_bundled_run_interrupted_leaves_readme_and_reports(tmp_path, monkeypatch, capsys):
    import gmm_bayes.report.pipeline

    out = tmp_path / "reports"
    out.mkdir()
    (out / "README.md").write_text("Generated by `make report`")
    before = previous_report(out / "galaxy")
    (out / "index.html").write_text("<p>previous index</p>")
    (out / MARKER).write_text('{"written_by": "gmm_bayes", "version": "0", "kind": "bundled"}\n')

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(gmm_bayes.report.pipeline, "analyse", stop)
    assert main(["report-bundled", "--only", "galaxy", "-q", "--out", str(out), *TINY]) == 130
    assert snapshot(out / "galaxy")[0] == before[0]
    assert (out / "README.md").read_text() == "Generated by `make report`"
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "README.md", "galaxy", "index.html"]
    capsys.readouterr()


def test_a_symlinked_out_is_refused_and_neither_link_nor_target_change(
    good, tmp_path, capsys, no_work
):
    target = tmp_path / "real"
    before = previous_report(target)
    link = tmp_path / "link"
    link.symlink_to(target)
    in_process_error(capsys, ["report", str(good), "--out", str(link)], "symbolic link")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert snapshot(target)[0] == before[0]


# --------------------------------------------------------------------------------------------
# 2. interruption, killed runs, concurrent runs
# --------------------------------------------------------------------------------------------


def test_sigterm_cleans_up_as_ctrl_c_does(good, tmp_path):
    # SIGTERM arrives during the analysis (patched to send it); today's run dies on the spot
    out = tmp_path / "rep"
    before = previous_report(out)
    code = (
        "import os, signal, sys, time\n"
        "import gmm_bayes.report.pipeline as pipeline\n"
        "def analyse(*args, **kwargs):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    time.sleep(30)\n"
        "pipeline.analyse = analyse\n"
        "from gmm_bayes.cli import main\n"
        f"sys.exit(main(['report', {str(good)!r}, '-k', '1', '--out', {str(out)!r}]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=ENV
    )
    assert result.returncode == 143, result.stderr[-2000:]
    assert "interrupted (SIGTERM)" in result.stderr
    assert snapshot(out) == before  # no .rep.tmp-* or .rep.lock beside it


def test_leftovers_of_a_killed_run_are_cleaned_by_the_next_run(good, tmp_path, capsys, no_work):
    out = tmp_path / "rep"
    before = previous_report(out)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    leftover = tmp_path / f".rep.tmp-{dead.pid}-abcdefgh"  # as a SIGKILLed run leaves it
    (leftover / "fig").mkdir(parents=True)
    (leftover / "half_written.nc").write_bytes(b"...")
    (tmp_path / ".rep.lock").write_text(f"{dead.pid}\n")
    with pytest.raises(AssertionError, match="the work started"):  # cleaned before the work
        main(["report", str(good), "-k", "1", "--out", str(out)])
    assert snapshot(out) == before


def test_a_report_moved_aside_by_a_kill_mid_swap_is_put_back(good, tmp_path, capsys, no_work):
    out = tmp_path / "rep"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    files, _ = previous_report(tmp_path / f".rep.old-{dead.pid}-123")  # killed between renames
    with pytest.raises(AssertionError, match="the work started"):
        main(["report", str(good), "-k", "1", "--out", str(out)])
    assert snapshot(out) == (files, ["good.csv", "rep"])


def test_a_second_run_on_the_same_out_exits_2_and_touches_nothing(good, tmp_path, capsys, no_work):
    from gmm_bayes.report.atomic import claimed

    out = tmp_path / "rep"
    before = previous_report(out)
    with claimed([out]):  # the first run, mid-way
        in_process_error(
            capsys, ["report", str(good), "-k", "1", "--out", str(out)], "another run", str(out)
        )
        assert snapshot(out)[0] == before[0]
    assert snapshot(out) == before


STRESS_WRITER = """
import os, sys, time
from pathlib import Path
from gmm_bayes.report.atomic import atomic_directory
out, start = Path(sys.argv[1]), float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))  # all writers swap at about the same moment
try:
    with atomic_directory(out) as tmp:
        for name in ("a", "b", "c"):
            (tmp / name).write_text(str(os.getpid()))
except Exception as err:
    print(type(err).__name__, err, file=sys.stderr)
    sys.exit(2 if type(err).__name__ == "OutputError" else 1)
"""


def test_concurrent_writers_one_at_a_time_no_errors_no_leftovers(tmp_path):
    # today: the unlocked swaps race (ENOTEMPTY / ENOENT) and leave .out.old-* behind
    out = tmp_path / "out"
    for _ in range(3):
        start = time.time() + 1.5  # after every writer has imported the package
        writers = [
            subprocess.Popen(
                [sys.executable, "-c", STRESS_WRITER, str(out), str(start)],
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(8)
        ]
        codes = [(w.wait(timeout=120), w.stderr.read()) for w in writers]
        assert {code for code, _ in codes} <= {0, 2}, codes
        assert any(code == 0 for code, _ in codes)
        assert all("another run" in err for code, err in codes if code == 2)
        assert len({p.read_text() for p in out.iterdir()}) == 1  # all three from one writer
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def wait_for(stream_lines, fragment, timeout=240):
    """Lines from the reader thread's queue until one holds ``fragment``."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        try:
            line = stream_lines.get(timeout=1)
        except queue.Empty:
            continue
        if line is None:
            break
        seen.append(line)
        if fragment in line:
            return seen
    raise AssertionError(f"no line with {fragment!r} in {seen}")


def rest(stream_lines):
    """The lines left once the process has ended."""
    lines = []
    while (line := stream_lines.get(timeout=10)) is not None:
        lines.append(line)
    return lines


def start_report(out, *args):
    proc = subprocess.Popen(
        [sys.executable, "-m", "gmm_bayes", "report", "seed_notebook", "--out", str(out), *args],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=ENV,
    )
    lines = queue.Queue()

    def read():
        for line in proc.stderr:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    return proc, lines


# (signal, the progress line after which it is sent, seconds after that line)
MOMENTS = {
    "SIGINT at the first line": (signal.SIGINT, "observations from", 0),
    "SIGTERM while compiling or sampling": (signal.SIGTERM, "EM, then nutpie", 2),
    "SIGINT during PSIS-LOO": (signal.SIGINT, "comparing K", 0),
    "SIGTERM while writing figures": (signal.SIGTERM, "writing figures", 0.5),
}


@pytest.mark.slow
@pytest.mark.parametrize("moment", MOMENTS.values(), ids=list(MOMENTS))
def test_a_signal_at_any_moment_leaves_the_previous_report(tmp_path, moment):
    signum, fragment, delay = moment
    out = tmp_path / "rep"
    before = previous_report(out)
    proc, lines = start_report(out, "-k", "1", *TINY)
    seen = wait_for(lines, fragment)
    time.sleep(delay)
    proc.send_signal(signum)
    code = proc.wait(timeout=120)
    seen += rest(lines)
    assert code == 128 + signum, "".join(seen)[-3000:]
    assert snapshot(out) == before


@pytest.mark.slow
def test_killed_run_then_concurrent_runs(tmp_path):
    out = tmp_path / "rep"
    before = previous_report(out)
    killed, lines = start_report(out, "-k", "1", *TINY)
    wait_for(lines, "EM, then nutpie")
    killed.kill()
    killed.wait(timeout=60)
    assert any(p.name.startswith(".rep.tmp-") for p in tmp_path.iterdir())  # SIGKILL's mess
    first, lines = start_report(out, "-k", "1", *TINY)
    wait_for(lines, "observations from")  # it holds the lock, the mess is gone
    temporary = [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name]
    assert len(temporary) == 1 and temporary[0].startswith(f".rep.tmp-{first.pid}-")
    second = cli("report", "seed_notebook", "-k", "1", "--out", out, *TINY)
    one_line_error(second, "another run", f"pid {first.pid}")
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=120) == 143
    assert snapshot(out) == before


def test_a_reader_that_goes_away_ends_the_run_quietly():
    # `gmm-bayes fit galaxy -k 1-6 | head -1`: today a BrokenPipeError traceback
    proc = subprocess.Popen(
        [sys.executable, "-m", "gmm_bayes", "fit", "galaxy", "-k", "1-6"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
    )
    proc.stdout.close()  # gone before the table is printed
    assert proc.wait(timeout=120) == 128 + signal.SIGPIPE
    assert proc.stderr.read() == b""


# --------------------------------------------------------------------------------------------
# 3. bounds, checked before any work
# --------------------------------------------------------------------------------------------

GIGABYTES = 2**30


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["fit", "{good}", "-k", "1-1000000000"], ["K up to 100", "1000000000"]),
        (["fit", "{good}", "-k", "1,5-99999999999999"], ["K up to 100"]),
        (["report", "{good}", "--chains", "99999999999", "--out", "{out}"], ["2 to 64"]),
        (["report", "{good}", "--chains", "1", "--out", "{out}"], ["2 to 64", "R-hat"]),
        (["report", "{good}", "--draws", "1000000000", "--out", "{out}"], ["20 to 100000"]),
        (["report", "{good}", "--draws", "5", "--out", "{out}"], ["20 to 100000"]),
        (["report", "{good}", "--tune", "0", "--out", "{out}"], ["1 to 100000"]),
        (["report", "{good}", "--tune", "99999999999", "--out", "{out}"], ["1 to 100000"]),
        (["fit", "{good}", "--seed", "-1"], ["0 to 4294967295"]),
        (["fit", "{good}", "--seed", "4294967296"], ["0 to 4294967295"]),
        (["report", "{good}", "-k", "1", "--seed", "-1", "--out", "{out}"], ["0 to 4294967295"]),
        (["report", "{good}", "--seed", "4294967296", "--out", "{out}"], ["0 to 4294967295"]),
    ],
)
def test_options_out_of_bounds_are_one_line_before_any_work(good, tmp_path, args, fragments):
    # today some of these fill the memory (capped here) or sample before failing
    out = tmp_path / "out"
    argv = [a.format(good=good, out=out) for a in args]
    one_line_error(cli(*argv, timeout=60, memory=4 * GIGABYTES), *fragments)
    assert not out.exists()


def test_k_larger_than_n_is_one_line(good, capsys):
    in_process_error(capsys, ["fit", str(good), "-k", "2-9"], "K=9 is larger than", "(8)")


def test_posterior_too_large_for_memory_is_refused(tmp_path, capsys, no_work):
    data = tmp_path / "many.csv"
    data.write_text("v\n" + "\n".join(str(v) for v in range(100)))
    argv = [
        "report",
        str(data),
        "--chains",
        "64",
        "--draws",
        "100000",
        "--out",
        str(tmp_path / "o"),
    ]
    in_process_error(capsys, argv, "lower --draws or --chains")


@pytest.mark.parametrize(
    ("out", "fragment"),
    [
        ("/", "names no directory of its own"),
        (".", "names no directory of its own"),
        ("", "empty path"),
        ("{tmp}/x/..", "names no directory of its own"),
        ("{good}/sub", "is a file, not a directory"),
        ("{tmp}/" + "r" * 250, "choose a shorter name"),
    ],
    ids=["root", "dot", "empty", "dotdot", "parent is a file", "long name"],
)
def test_unusable_out_is_one_line_before_any_work(good, tmp_path, capsys, no_work, out, fragment):
    out = out.format(tmp=tmp_path, good=good)
    in_process_error(capsys, ["report", str(good), "-k", "1", "--out", out], fragment)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_out_in_an_unwritable_parent_is_one_line(good, tmp_path, capsys, no_work):
    parent = tmp_path / "locked"
    parent.mkdir(mode=0o555)
    try:
        argv = ["report", str(good), "-k", "1", "--out", str(parent / "rep")]
        in_process_error(capsys, argv, "cannot write in")
    finally:
        parent.chmod(0o755)


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="no /proc")
def test_out_where_nothing_can_be_created_is_one_line(good, capsys, no_work):
    # /proc refuses new files even to root
    argv = ["report", str(good), "-k", "1", "--out", "/proc/gmm_bayes_report"]
    in_process_error(capsys, argv, "cannot write in /proc")


# --------------------------------------------------------------------------------------------
# 4. file errors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ("a" * 300, "File name too long"),
        ("{good}/x", "is a file, not a directory"),
        ("{loop}", "cannot be read"),
        ("/dev/zero", "character device"),
    ],
    ids=["300-character name", "file as a directory", "symlink loop", "device"],
)
def test_file_errors_are_one_line(good, tmp_path, capsys, data, fragment):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    data = data.format(good=good, loop=loop)
    in_process_error(capsys, ["fit", data, "-k", "1"], fragment)


# --------------------------------------------------------------------------------------------
# 5. messages in the command line's words
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "argv", "fragment"),
    [
        ("a,b\n1,2\n3,4\n", [], "pass --column NAME"),
        ("1,2\n3,4\n", [], "pass --column NAME"),
        ("1\n2\n3\n", ["--column", "a"], "leave out --column"),
        ("v\n3\n3\n3\n", [], "at least two distinct values"),
        ("v\n1e155\n1\n2\n3\n", [], "divide it by 1e+"),
        ("v\n1e308\n-1e308\n1\n2\n3\n", [], "drop the outlying rows from the file"),
    ],
    ids=[
        "several columns",
        "no header",
        "column of a header-less file",
        "all equal",
        "1e155",
        "1e308",
    ],
)
def test_messages_use_the_command_line_words(tmp_path, capsys, text, argv, fragment):
    data = tmp_path / "data.csv"
    data.write_text(text)
    err = in_process_error(capsys, ["fit", str(data), "-k", "1", *argv], fragment)
    for library_word in ("column=", "reg_covar", "n_components", "x /", "of x"):
        assert library_word not in err


def test_warnings_use_the_command_line_words(tmp_path, capsys):
    data = tmp_path / "data.csv"
    data.write_text("v\n" + "\n".join(["1", "2", "3", "4", "1e150"]))
    assert main(["fit", str(data), "-k", "2"]) == 0
    err = capsys.readouterr().err
    assert "collapsed" in err and "use a smaller --components" in err
    assert "n_components" not in err and "reg_covar" not in err


# --------------------------------------------------------------------------------------------
# 6. extreme values
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ([1e308, -1e308, 1, 2, 3], "from -1e+308 to 1e+308"),
        ([1e155, 1, 2, 3, 4], "from 1 to 1e+155"),
        ([1e308, 1e308, 1e308], "all 3 values equal 1e+308"),
        ([1e308, 1.5e308, 1.7e308], "overflow float64"),
    ],
    ids=["-1e308 to 1e308", "outlier 1e155", "all 1e308", "near the maximum"],
)
def test_values_whose_variances_overflow_are_one_line(tmp_path, capsys, values, fragment):
    data = tmp_path / "o.csv"
    data.write_text("v\n" + "\n".join(map(repr, map(float, values))))
    err = in_process_error(capsys, ["fit", str(data), "-k", "1"], fragment)
    assert "inf" not in err


@pytest.mark.parametrize("k", [1, 2])
@pytest.mark.parametrize(
    "outliers",
    [[1.3e154, -1.3e154], [1e154], [1e152, 5e150]],
    ids=["two-sided 1.3e154", "1e154", "1e152"],
)
def test_data_whose_squares_fit_are_fitted(outliers, k):
    # today: FitError (non-finite log-likelihood) for the first two
    bulk = np.random.default_rng(0).normal(size=30)
    x = np.append(bulk, outliers)
    assert np.isfinite(x**2).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gb.DegenerateFitWarning)  # a lone outlier collapses
        fit = gb.fit_em(x, k, random_state=0)
    assert np.isfinite([fit.log_likelihood, *fit.variances, *fit.means]).all()


def test_an_outlier_whose_square_fits_is_fitted_on_the_command_line(tmp_path, capsys):
    data = tmp_path / "o.csv"
    data.write_text("v\n" + "\n".join(["1", "2", "3", "4", "5", "6", "1e150"]))
    assert main(["fit", str(data), "-k", "1"]) == 0
    assert "1.4286e+149" in capsys.readouterr().out  # the mean, 1e150 / 7


# --------------------------------------------------------------------------------------------
# 7. masked dask arrays
# --------------------------------------------------------------------------------------------


def test_masked_dask_array_is_refused_as_a_masked_numpy_array():
    da = pytest.importorskip("dask.array")
    values = np.array([1.0, 2.0, 3.0, np.nan, 5.0, 6.0, 7.0, 8.0])
    mask = np.array([0, 0, 0, 1, 0, 0, 0, 0], dtype=bool)
    darr = da.ma.masked_array(da.from_array(values, chunks=3), mask=da.from_array(mask, chunks=3))
    with pytest.raises(DataError, match=r"x has 1 masked value \(first at index 3\).*drop them"):
        gb.fit_em(darr, 2)
    with pytest.raises(DataError, match=r"x has 1 masked value \(first at index 3\)"):
        gb.fit_em(np.ma.masked_array(values, mask=mask), 2)


def test_marker_name_is_the_reports():
    from gmm_bayes.report.files import MARKER as written

    assert written == MARKER
    assert Path(written).name.startswith(".")  # not listed on the page
