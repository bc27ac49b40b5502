"""Safe output: a directory is refused unless replaceable, locked, built beside, swapped in.

The rules, for every output directory (the "target"):

1. **Path.** It names a directory of its own: not ``""``, the root, ``.`` or ``..``, nor a
   mount point; not a symbolic link (refused: a link is neither followed nor replaced, pass the
   directory it points to); missing or a directory, with a parent this process can write in, and
   a last part of at most ``MAX_NAME_BYTES`` bytes. Missing parents are created, and removed
   again when the run fails.
2. **Contents.** The caller says whether what is there may be replaced (a report recognizes
   its own marker, :mod:`gmm_bayes.report.files`); anything else is refused before any work.
3. **One run at a time.** ``.NAME.lock`` beside the target is held with ``fcntl.flock`` from
   the checks to the swap; a second run on the same target is refused at once
   (:class:`OutputError` naming the holder's pid). The lock file is removed at the end.
4. **Atomic swap.** The new directory is built in ``.NAME.tmp-PID-XXXXXXXX`` beside the target
   and swapped in at the end by two renames (the previous one goes to ``.NAME.old-PID-NS`` and is
   then deleted).
5. **Interruption.** An exception (``KeyboardInterrupt`` included) before the swap leaves the
   target byte-identical and removes the temporary directory. SIGINT and SIGTERM are held back
   while the swap or a clean-up runs, and act as soon as it is done; a run whose interruption
   was lost on its way (:func:`interruptions`) is not swapped in.
6. **Killed runs.** SIGKILL cannot be caught: the next run on the target, once it holds the
   lock, removes the ``.tmp-``/``.old-`` leftovers of processes that no longer exist, and puts
   back a previous output left under its ``.old-`` name by a kill between the two renames.
"""

import contextlib
import fcntl
import os
import re
import shutil
import signal
import stat
import tempfile
import threading
import time
from pathlib import Path

__all__ = [
    "DEFERRED_SIGNALS",
    "MAX_NAME_BYTES",
    "OutputError",
    "atomic_directory",
    "check_target",
    "claimed",
    "deferred_signals",
    "interruptions",
    "make_temp_dir",
    "remove_leftovers",
    "swap_in",
]

#: signals held back while the swap or a clean-up runs
DEFERRED_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: longest name of a target: ``.NAME.old-PID-NS`` beside it must fit in 255 bytes
MAX_NAME_BYTES = 200


class OutputError(Exception):
    """An output directory that cannot be written safely; the message names it and the remedy."""


def check_target(out):
    """``out`` as a :class:`~pathlib.Path` after the path rules (1.); nothing is created.

    Raises
    ------
    OutputError
        ``out`` is empty, names no directory of its own, is a symbolic link or a file, or
        cannot be looked at.

    Examples
    --------
    >>> check_target("reports/galaxy")
    PosixPath('reports/galaxy')
    >>> check_target("reports/..")
    Traceback (most recent call last):
    ...
    gmm_bayes.report.atomic.OutputError: reports/..: names no directory of its own (it ends \
in '..'); name the output directory itself, e.g. reports/../report
    """
    text = os.fspath(out)
    if text == "":
        raise OutputError("the output directory is an empty path; name one, e.g. reports/mine")
    if "\0" in text:
        raise OutputError(f"{text!r}: not a valid path (it contains a NUL character)")
    path = Path(text)
    if len(os.fsencode(path.name)) > MAX_NAME_BYTES:
        raise OutputError(
            f"{text}: its last part is {len(os.fsencode(path.name))} bytes long, more than the "
            f"{MAX_NAME_BYTES} that leave room for the run's .NAME.tmp-PID-XXXXXXXX beside it; "
            "choose a shorter name"
        )
    if path.name in ("", ".", ".."):
        end = os.path.basename(text.rstrip("/")) or "/"
        raise OutputError(
            f"{text}: names no directory of its own (it ends in {end!r}); name the output "
            f"directory itself, e.g. {os.path.join(text, 'report')}"
        )
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return path
    except NotADirectoryError:
        raise OutputError(f"{text}: {_file_in_path(path)}") from None
    except OSError as err:
        raise OutputError(
            f"{text}: cannot be used as the output directory ({err.strerror})"
        ) from None
    if stat.S_ISLNK(mode):
        raise OutputError(
            f"{text} is a symbolic link (to {os.readlink(path)}); links are neither followed nor "
            f"replaced: pass the directory itself ({os.path.realpath(path)}) or a new path"
        )
    if not stat.S_ISDIR(mode):
        raise OutputError(
            f"{text} is a file, not a directory; the output is a directory that would replace "
            "it: choose another path"
        )
    if os.path.ismount(path):
        raise OutputError(
            f"{text} is a mount point, which the final rename cannot replace; choose a "
            f"directory inside it, e.g. {os.path.join(text, 'report')}"
        )
    return path


def _file_in_path(path):
    ancestor = next((p for p in reversed(path.parents) if os.path.isfile(p)), None)
    if ancestor is None:
        return "a parent of it is not a directory"
    return f"its parent {ancestor} is a file, not a directory"


@contextlib.contextmanager
def claimed(targets):
    """Hold the lock of every target (rule 3.) and clear the leftovers of killed runs (6.).

    Parameters
    ----------
    targets : list of pathlib.Path
        Checked paths (:func:`check_target`) sharing one parent, which is created if missing
        (and removed again, if empty, when the block fails).

    Yields
    ------
    list of int
        The signals whose handler raised meanwhile (:func:`interruptions`): pass it to
        :func:`swap_in`.

    Raises
    ------
    OutputError
        The parent cannot be created or written in, or another run holds a lock.
    """
    created = _make_directories(targets[0].parent)
    try:
        with contextlib.ExitStack() as stack:
            for target in sorted(targets):
                stack.enter_context(_locked(target))
            for target in targets:
                _restore_or_remove_old(target)
                remove_leftovers(target.parent, f".{target.name}.tmp-")
            yield stack.enter_context(interruptions())
    except BaseException:
        with deferred_signals():
            for directory in reversed(created):
                with contextlib.suppress(OSError):
                    directory.rmdir()
        raise


def _make_directories(directory):
    """Create ``directory`` and its missing parents; return those created, outermost first."""
    missing = []
    while not os.path.isdir(directory):
        if os.path.lexists(directory):
            raise OutputError(
                f"{directory} is not a directory (a file or a broken link); the output "
                "directory cannot be created inside it"
            )
        missing.append(directory)
        directory = directory.parent
    created = []
    for directory in reversed(missing):
        try:
            directory.mkdir()
        except OSError as err:
            for done in reversed(created):
                with contextlib.suppress(OSError):
                    done.rmdir()
            raise OutputError(f"{directory}: cannot be created ({err.strerror})") from None
        created.append(directory)
    return created


@contextlib.contextmanager
def _locked(target):
    lock = target.with_name(f".{target.name}.lock")
    fd = _acquire(lock, target)
    try:
        yield
    finally:
        with deferred_signals():
            lock.unlink(missing_ok=True)  # before the release: a waiting run then locks anew
            os.close(fd)


def _acquire(lock, target):
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as err:
            raise OutputError(
                f"{target}: cannot write in {target.parent} ({err.strerror}); choose an "
                "output directory where you can write"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise OutputError(
                f"{target}: another run (pid {holder}) is writing it; wait for it to finish or "
                "choose another output directory"
            ) from None
        if _same_file(fd, lock):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            return fd
        os.close(fd)  # its holder removed it between our open and our lock: lock the new one


def _same_file(fd, path):
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def make_temp_dir(parent, prefix):
    """A new directory ``parent/{prefix}{pid}-XXXXXXXX``, with the permissions of ``mkdir``.

    The pid in the name lets :func:`remove_leftovers` recognize it once its process is gone.

    Examples
    --------
    >>> with tempfile.TemporaryDirectory() as base:
    ...     print(make_temp_dir(base, ".build-").name.startswith(f".build-{os.getpid()}-"))
    True
    """
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=parent))
    except OSError as err:
        raise OutputError(f"{parent}: cannot create a directory in it ({err.strerror})") from None
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)
    return tmp


def remove_leftovers(parent, prefix):
    """Remove ``parent/{prefix}{pid}-*`` of every pid that is no longer a running process.

    Examples
    --------
    >>> with tempfile.TemporaryDirectory() as base:
    ...     mine = make_temp_dir(base, ".out.tmp-")
    ...     (Path(base) / ".out.tmp-999999999-x").mkdir()  # no such process
    ...     remove_leftovers(base, ".out.tmp-")
    ...     print([p.name == mine.name for p in Path(base).iterdir()])
    [True]
    """
    for entry in _leftovers(Path(parent), prefix):
        with deferred_signals():
            _remove(entry)


def _leftovers(parent, prefix):
    pattern = re.compile(re.escape(prefix) + r"(\d+)-.*", re.DOTALL)
    try:
        names = sorted(os.listdir(parent))
    except OSError:
        return []
    return [
        parent / name
        for name in names
        if (match := pattern.fullmatch(name)) and not _running(int(match.group(1)))
    ]


def _running(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process, or not a pid: leave it alone
    return True


def _restore_or_remove_old(target):
    """Put back a previous output that a kill left under ``.NAME.old-PID-*``, or delete it."""
    for old in _leftovers(target.parent, f".{target.name}.old-"):
        with deferred_signals():
            if os.path.lexists(target):
                _remove(old)
            else:
                old.rename(target)


@contextlib.contextmanager
def atomic_directory(out, *, refusal=None):
    """Yield a fresh temporary directory that replaces ``out`` when the block succeeds.

    Every rule of the module applies: the path is checked, ``out`` is locked and its leftovers
    cleared, ``refusal(out)`` is asked whether its contents may go; all before the block runs.
    If the block raises (``KeyboardInterrupt`` included) the temporary directory is removed and
    ``out`` is left exactly as it was.

    Parameters
    ----------
    out : path
    refusal : callable, optional
        ``refusal(path) -> str or None``: why the existing ``out`` may not be replaced.

    Raises
    ------
    OutputError
        Before the block runs, from any rule.

    Examples
    --------
    >>> with tempfile.TemporaryDirectory() as base:
    ...     out = Path(base) / "report"
    ...     with atomic_directory(out) as tmp:
    ...         _ = (tmp / "a.txt").write_text("new")
    ...     print((out / "a.txt").read_text(), sorted(p.name for p in Path(base).iterdir()))
    new ['report']
    """
    out = check_target(out)
    with claimed([out]) as interrupted:
        reason = refusal(out) if refusal is not None and out.exists() else None
        if reason:
            raise OutputError(reason)
        tmp = make_temp_dir(out.parent, f".{out.name}.tmp-")
        try:
            yield tmp
            swap_in({out: tmp}, interrupted)
        finally:
            with deferred_signals():
                shutil.rmtree(tmp, ignore_errors=True)


def swap_in(pairs, interrupted=()):
    """Replace each ``target`` by ``new`` (``{target: new}``); roll back if a rename fails.

    SIGINT and SIGTERM are held back meanwhile (:func:`deferred_signals`), so that the renames
    and their roll-back are never cut in two.

    Parameters
    ----------
    pairs : dict of pathlib.Path to pathlib.Path
    interrupted : list of int
        Signals whose handler raised while the new directories were built (:func:`claimed`'s).
        If any, nothing is swapped and ``KeyboardInterrupt`` is raised: the interruption was
        lost on its way (Python drops an exception raised in a finalizer), not answered.

    Examples
    --------
    >>> with tempfile.TemporaryDirectory() as name:
    ...     base = Path(name)
    ...     (base / "new").mkdir()
    ...     swap_in({base / "out": base / "new"})
    ...     print(sorted(p.name for p in base.iterdir()))
    ['out']
    """
    with deferred_signals():
        if interrupted:
            names = ", ".join(signal.Signals(s).name for s in dict.fromkeys(interrupted))
            raise KeyboardInterrupt(f"{names} during the build: nothing was swapped in")
        trash = _renames(pairs)
        for old in trash:
            _remove(old)


def _renames(pairs):
    done = []  # (target, old or None)
    try:
        for target, new in pairs.items():
            old = None
            if os.path.lexists(target):
                old = target.with_name(f".{target.name}.old-{os.getpid()}-{time.monotonic_ns()}")
                target.rename(old)
            done.append((target, old))
            new.rename(target)
    except BaseException:
        for target, old in reversed(done):
            if old is not None and os.path.lexists(old):
                if os.path.lexists(target):
                    _remove(target)
                old.rename(target)
        raise
    return [old for _, old in done if old is not None]


@contextlib.contextmanager
def interruptions():
    """Remember every SIGINT or SIGTERM whose handler raised (to stop the run) in the block.

    An exception raised by a signal handler is lost when the handler happens to run inside a
    finalizer or a weak-reference callback (Python prints "Exception ignored" and goes on); the
    list lets :func:`swap_in` refuse to commit a run that was told to stop. Main thread only.

    Yields
    ------
    list of int

    Examples
    --------
    >>> with interruptions() as raised:
    ...     try:
    ...         signal.raise_signal(signal.SIGINT)
    ...     except KeyboardInterrupt:
    ...         pass  # swallowed, as a finalizer would
    >>> raised == [signal.SIGINT]
    True
    """
    if threading.current_thread() is not threading.main_thread():
        yield []
        return
    raised = []
    previous = {}

    def watch(signum, frame):
        handler = previous[signum]
        if not callable(handler):  # SIG_DFL: the default action, as without this block
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)
            return
        try:
            handler(signum, frame)
        except BaseException:
            raised.append(signum)
            raise

    for signum in DEFERRED_SIGNALS:
        if signal.getsignal(signum) != signal.SIG_IGN:
            previous[signum] = signal.signal(signum, watch)
    try:
        yield raised
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)


@contextlib.contextmanager
def deferred_signals():
    """Hold SIGINT and SIGTERM back until the block ends, then act on them as before.

    In the main thread only (elsewhere signals are not delivered to Python code anyway).

    Yields
    ------
    list of int
        The signals received so far.

    Examples
    --------
    >>> try:
    ...     with deferred_signals() as received:
    ...         signal.raise_signal(signal.SIGINT)
    ...         print("still running", received == [signal.SIGINT])
    ... except KeyboardInterrupt:
    ...     print("interrupted after the block")
    still running True
    interrupted after the block
    """
    if threading.current_thread() is not threading.main_thread():
        yield []
        return
    received = []

    def record(signum, _frame):
        received.append(signum)

    previous = {
        signum: signal.signal(signum, record)
        for signum in DEFERRED_SIGNALS
        if signal.getsignal(signum) != signal.SIG_IGN
    }
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        for signum in dict.fromkeys(received):
            _act_on(signum, previous[signum])


def _act_on(signum, handler):
    if callable(handler):
        handler(signum, None)
    else:
        signal.raise_signal(signum)  # the default action (SIG_DFL, or not set from Python)


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
