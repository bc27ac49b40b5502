"""The output rules behind ``--out``: what may be replaced, the lock, leftovers, held-back signals.

:mod:`gmm_bayes.report.atomic` (path, lock, swap, signals) and the replacement rules of
:mod:`gmm_bayes.report.files`; the command line's use of them is in ``tests/test_reliability.py``.
"""

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from gmm_bayes.cli import MAX_COMPONENTS, in_cli_words, parse_components
from gmm_bayes.report.atomic import (
    OutputError,
    atomic_directory,
    check_target,
    claimed,
    deferred_signals,
    make_temp_dir,
    remove_leftovers,
    swap_in,
)
from gmm_bayes.report.files import MARKER, bundled_refusal, report_refusal, write_marker


def dead_pid():
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def report_dir(path, marker=True):
    (path / "fig").mkdir(parents=True)
    for name in ("index.html", "summary.md", "estimates.csv", "comparison.csv", "posterior_K2.nc"):
        (path / name).write_text(name)
    (path / "fig" / "rank_K2.png").write_bytes(b"png")
    if marker:
        write_marker(path, "report")
    return path


# --------------------------------------------------------------------------------------------
# which directories a report may replace
# --------------------------------------------------------------------------------------------


def test_empty_marked_and_legacy_reports_may_be_replaced(tmp_path):
    (tmp_path / "empty").mkdir()
    assert report_refusal(tmp_path / "empty") is None
    assert report_refusal(report_dir(tmp_path / "marked")) is None
    assert report_refusal(report_dir(tmp_path / "legacy", marker=False)) is None


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ("thesis.tex", "thesis.tex"),
        ("fig/notes.txt", "fig/notes.txt"),
        ("index.html/", "index.html"),  # a directory where a report writes a file
        ("data.csv", "data.csv"),
    ],
)
def test_anything_a_report_does_not_write_is_named_and_refused(tmp_path, extra, named):
    directory = report_dir(tmp_path / "rep")
    if extra.endswith("/"):
        (directory / extra).unlink()
        (directory / extra).mkdir()
    else:
        (directory / extra).write_text("mine")
    reason = report_refusal(directory)
    assert named in reason and "would be deleted" in reason


def test_report_names_without_the_marker_or_the_pages_are_refused(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "estimates.csv").write_text("my own")
    assert f"no {MARKER}" in report_refusal(tmp_path / "mine")


def test_a_symlink_inside_is_not_a_report_file(tmp_path):
    directory = report_dir(tmp_path / "rep")
    (directory / "summary.md").unlink()
    (directory / "summary.md").symlink_to(tmp_path)
    assert "summary.md" in report_refusal(directory)


def test_the_marker_names_the_package_version_and_kind(tmp_path):
    import json

    from gmm_bayes.report.provenance import package_versions

    write_marker(tmp_path, "bundled")
    content = json.loads((tmp_path / MARKER).read_text())
    assert content == {
        "written_by": "gmm_bayes",
        "version": dict(package_versions())["gmm_bayes"],
        "kind": "bundled",
    }


def bundled_dir(path):
    path.mkdir()
    (path / "README.md").write_text("kept")
    (path / "index.html").write_text("index")
    report_dir(path / "galaxy")
    report_dir(path / "faithful", marker=False)
    return path


def test_bundled_parent_with_readme_index_and_reports_is_accepted(tmp_path):
    directory = bundled_dir(tmp_path / "reports")
    (directory / ".galaxy.lock").write_text("1")  # another run's lock beside its target
    assert bundled_refusal(directory, ["galaxy", "faithful"]) is None
    assert bundled_refusal(directory, ["seed_notebook"]) is None  # index.html by its reports


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda d: (d / "notes.txt").write_text("x"), "notes.txt"),
        (lambda d: (d / "galaxy" / "thesis.tex").write_text("x"), "thesis.tex"),
        (lambda d: (d / "README.md").unlink() or (d / "README.md").mkdir(), "README.md"),
    ],
    ids=["stranger in the parent", "stranger in a report", "README.md a directory"],
)
def test_bundled_parent_refuses_what_it_would_delete(tmp_path, change, fragment):
    directory = bundled_dir(tmp_path / "reports")
    change(directory)
    assert fragment in bundled_refusal(directory, ["galaxy"])


def test_bundled_index_of_unknown_origin_is_refused(tmp_path):
    directory = tmp_path / "site"
    directory.mkdir()
    (directory / "index.html").write_text("<p>my web site</p>")
    assert "index.html was not written by gmm_bayes" in bundled_refusal(directory, ["galaxy"])
    write_marker(directory, "bundled")
    assert bundled_refusal(directory, ["galaxy"]) is None


# --------------------------------------------------------------------------------------------
# path, lock, leftovers, swap
# --------------------------------------------------------------------------------------------


def test_check_target_accepts_a_new_or_existing_directory(tmp_path):
    assert check_target(tmp_path / "new") == tmp_path / "new"
    assert check_target(str(tmp_path)) == tmp_path


@pytest.mark.skipif(not os.path.ismount("/proc"), reason="no /proc mount")
def test_a_mount_point_is_refused():
    with pytest.raises(OutputError, match="is a mount point"):
        check_target("/proc")


def test_a_broken_symlink_is_refused_too(tmp_path):
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    with pytest.raises(OutputError, match="is a symbolic link"):
        check_target(tmp_path / "link")


def test_missing_parents_are_created_and_removed_again_on_failure(tmp_path):
    out = tmp_path / "a" / "b" / "rep"
    with pytest.raises(RuntimeError), atomic_directory(out):
        assert (tmp_path / "a" / "b").is_dir()
        raise RuntimeError("failed")
    assert list(tmp_path.iterdir()) == []
    with atomic_directory(out) as tmp:
        (tmp / "x").write_text("new")
    assert (out / "x").read_text() == "new"
    assert sorted(p.name for p in out.parent.iterdir()) == ["rep"]  # the lock file is gone


def test_a_held_lock_refuses_a_second_run_naming_the_holder(tmp_path):
    out = tmp_path / "rep"
    with claimed([out]):
        assert (tmp_path / ".rep.lock").read_text() == f"{os.getpid()}\n"
        with pytest.raises(OutputError, match=f"another run \\(pid {os.getpid()}\\)"):
            with claimed([out]):
                pass
    assert list(tmp_path.iterdir()) == []
    with claimed([out]):  # released
        pass


def test_leftovers_of_live_processes_stay(tmp_path):
    mine = make_temp_dir(tmp_path, ".rep.tmp-")
    stale = tmp_path / f".rep.tmp-{dead_pid()}-xyz"
    stale.mkdir()
    not_ours = tmp_path / ".rep.tmp-notapid"
    not_ours.mkdir()
    remove_leftovers(tmp_path, ".rep.tmp-")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([mine.name, not_ours.name])


def test_an_old_leftover_beside_its_target_is_deleted(tmp_path):
    out = report_dir(tmp_path / "rep")
    old = report_dir(tmp_path / f".rep.old-{dead_pid()}-1")
    (old / "summary.md").write_text("older")
    with claimed([out]):
        pass
    assert (out / "summary.md").read_text() == "summary.md"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


def test_a_failed_rename_rolls_the_swap_back(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f").write_text("old a")
    (tmp_path / "b").mkdir()
    (tmp_path / "new_a").mkdir()
    with pytest.raises(FileNotFoundError):
        swap_in({tmp_path / "a": tmp_path / "new_a", tmp_path / "b": tmp_path / "missing"})
    assert (tmp_path / "a" / "f").read_text() == "old a" and (tmp_path / "b").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]  # the new a is dropped


# --------------------------------------------------------------------------------------------
# signals held back
# --------------------------------------------------------------------------------------------


def test_sigterm_inside_deferred_signals_acts_after_the_block():
    seen = []

    def handler(signum, _frame):
        seen.append(("handled", signum))

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        with deferred_signals() as received:
            signal.raise_signal(signal.SIGTERM)
            seen.append("block finished")
            assert received == [signal.SIGTERM]
        assert seen == ["block finished", ("handled", signal.SIGTERM)]
        assert signal.getsignal(signal.SIGTERM) is handler
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_ignored_signals_stay_ignored():
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        with deferred_signals() as received:
            signal.raise_signal(signal.SIGTERM)
        assert received == [] and signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_outside_the_main_thread_nothing_is_replaced():
    results = []

    def run():
        with deferred_signals() as received:
            results.append((received, signal.getsignal(signal.SIGINT)))

    before = signal.getsignal(signal.SIGINT)
    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert results == [([], before)]


def test_interruption_during_the_clean_up_still_cleans_up(tmp_path):
    out = tmp_path / "rep"
    report_dir(out)
    with pytest.raises(KeyboardInterrupt), atomic_directory(out) as tmp:
        (tmp / "partial").write_text("x")
        raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]
    assert (out / "summary.md").read_text() == "summary.md"


class SignalInFinalizer:
    """Its finalizer receives SIGINT: Python drops the KeyboardInterrupt ("Exception ignored")."""

    def __del__(self):
        signal.raise_signal(signal.SIGINT)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_an_interruption_lost_in_a_finalizer_is_not_swapped_in(tmp_path):
    # seen in a real run: SIGTERM while a weakref callback ran, and the report was committed
    out = report_dir(tmp_path / "rep")
    with pytest.raises(KeyboardInterrupt, match="SIGINT during the build"):
        with atomic_directory(out) as tmp:
            SignalInFinalizer()  # collected at once: the interruption is lost here
            (tmp / "index.html").write_text("the build went on")
    assert (out / "index.html").read_text() == "index.html"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


# --------------------------------------------------------------------------------------------
# the command line's words and bounds
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("library", "cli"),
    [
        ("f.csv: 2 columns; pass column=NAME to choose one", "pass --column NAME to choose one"),
        ("... none of them 'a'); pass column=None for a one-column file", "leave out --column"),
        (
            "all 3 values of x equal 3.0: a Gaussian mixture has no scale to fit; pass reg_covar"
            " > 0 (in squared units of x) to fit components of that variance",
            "all 3 values equal 3.0: a Gaussian mixture has no scale to fit; give data with at "
            "least two distinct values",
        ),
        (
            "x has values from 1 to 1e+155: the variances of so wide a spread overflow float64; "
            "rescale x (e.g. x / 1e+77) and map the estimates back",
            "the values range from 1 to 1e+155: the variances of so wide a spread overflow "
            "float64; rescale the column in the file (e.g. divide it by 1e+77) and scale the "
            "estimates back",
        ),
        ("every EM run ended ...; increase reg_covar or reduce n_components", "smaller --comp"),
        (
            "component(s) [1] collapsed ...; the result marks them in `collapsed`. Reduce "
            "n_components or increase reg_covar.",
            "collapsed ...; use a smaller --components.",
        ),
    ],
)
def test_library_words_become_command_line_words(library, cli):
    assert cli in in_cli_words(library)


def test_k_ranges_are_bounded_before_they_are_built():
    assert parse_components(f"1-{MAX_COMPONENTS}") == tuple(range(1, MAX_COMPONENTS + 1))
    for text in (f"1-{MAX_COMPONENTS + 1}", "1-" + "9" * 4000, f"1,{10**18}"):
        with pytest.raises(Exception, match="--components"):
            parse_components(text)


def test_the_package_marker_file_is_hidden_from_the_page():
    assert Path(MARKER).name.startswith(".")
