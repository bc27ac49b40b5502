"""Atomic output: a directory is built beside its target and swapped in by renames at the end.

A failure or Ctrl-C while building leaves the previous output byte-identical and no temporary
directory behind.
"""

import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path

__all__ = ["atomic_directory", "make_temp_dir", "swap_in"]


@contextlib.contextmanager
def atomic_directory(out):
    """Yield a fresh temporary directory that replaces ``out`` when the block succeeds.

    The temporary directory is created beside ``out`` (same file system, so the swap is two
    renames). If the block raises (``KeyboardInterrupt`` included) the temporary directory is
    removed and ``out`` is left exactly as it was.

    Examples
    --------
    >>> with tempfile.TemporaryDirectory() as base:
    ...     out = Path(base) / "report"
    ...     with atomic_directory(out) as tmp:
    ...         _ = (tmp / "a.txt").write_text("new")
    ...     print((out / "a.txt").read_text(), sorted(p.name for p in Path(base).iterdir()))
    new ['report']
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_dir(out.parent, f".{out.name}.tmp-")
    try:
        yield tmp
        swap_in({out: tmp})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def make_temp_dir(parent, prefix):
    """A temporary directory with the permissions of an ordinary ``mkdir`` (umask applied).

    Examples
    --------
    >>> with tempfile.TemporaryDirectory() as base:
    ...     print(make_temp_dir(base, ".build-").name.startswith(".build-"))
    True
    """
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)
    return tmp


def swap_in(pairs):
    """Replace each ``target`` by ``new`` (``{target: new}``); roll back if a rename fails.

    Examples
    --------
    >>> with tempfile.TemporaryDirectory() as name:
    ...     base = Path(name)
    ...     (base / "new").mkdir()
    ...     swap_in({base / "out": base / "new"})
    ...     print(sorted(p.name for p in base.iterdir()))
    ['out']
    """
    done = []  # (target, old or None)
    trash = []
    try:
        for target, new in pairs.items():
            old = None
            if target.exists() or target.is_symlink():
                old = target.with_name(f".{target.name}.old-{os.getpid()}-{time.monotonic_ns()}")
                target.rename(old)
            done.append((target, old))
            new.rename(target)
            if old is not None:
                trash.append(old)
    except BaseException:
        for target, old in reversed(done):
            if old is not None and old.exists():
                if target.exists():
                    _remove(target)
                old.rename(target)
        raise
    for old in trash:
        _remove(old)


def _remove(path):
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
