"""Progress of a report run: its steps, the time each phase takes, and how they are shown.

A run announces its number of steps (:meth:`Progress.plan`), then reports each step as it
finishes (:meth:`Progress.step`). On a terminal a bar (rich) shows the step count, the elapsed
time and an estimate of the time left; otherwise each step is one plain line, ``[3/20] ...``.
Every piece of work is also timed by phase (:meth:`Progress.phase`: compile and sampling, EM,
comparison, figures, NetCDF, ...), which ``bench/bench_report.py`` prints.
"""

import contextlib
import sys
import time

__all__ = ["PHASES", "Progress", "as_progress"]

#: the phases a report's time is split into, in pipeline order
PHASES = (
    "EM",
    "compile",
    "sampling",
    "SMC",
    "evidence",
    "summaries",
    "comparison",
    "figures",
    "NetCDF",
    "pages",
)


class Progress:
    """Steps and phase times of one run.

    Parameters
    ----------
    emit : callable, optional
        Called with each plain line (default: nothing is shown).
    bar : bool
        Show a rich progress bar on ``stream`` instead of plain lines.
    stream : file, optional
        Where the bar is drawn (default ``sys.stderr``).

    Attributes
    ----------
    phases : dict of str to float
        Seconds spent in each phase so far.
    counts : dict of str to int
        Events counted so far (:meth:`count`), e.g. compiled models.

    Examples
    --------
    >>> lines = []
    >>> progress = Progress(lines.append)
    >>> progress.plan(2)
    >>> with progress.phase("EM"):
    ...     progress.step("K=1 fitted")
    >>> progress.step("K=2 fitted")
    >>> lines, sorted(progress.phases)
    (['[1/2] K=1 fitted', '[2/2] K=2 fitted'], ['EM'])
    """

    def __init__(self, emit=None, *, bar=False, stream=None):
        self._emit = emit
        self._bar = None
        self._task = None
        self.total = 0
        self.done = 0
        self.phases = {}
        self.counts = {}
        if bar:
            self._start_bar(stream or sys.stderr)

    def _start_bar(self, stream):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as Bar

        self._bar = Bar(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=Console(file=stream),
            transient=False,
        )
        self._bar.start()
        self._task = self._bar.add_task("report", total=None)

    def plan(self, steps):
        """Add ``steps`` steps to the run's total."""
        self.total += steps
        if self._bar is not None:
            self._bar.update(self._task, total=self.total)

    def step(self, line):
        """One step done: ``line`` says which."""
        self.done += 1
        if self._bar is not None:
            from rich.markup import escape  # "[galaxy]" is text, not a rich style

            self._bar.update(self._task, advance=1, description=escape(_short(line)))
        elif self._emit is not None:
            self._emit(f"[{self.done}/{max(self.total, self.done)}] {line}")

    def note(self, line):
        """A line that is not a step (a result, a warning): printed above the bar."""
        if self._bar is not None:
            self._bar.console.print(line, markup=False, highlight=False)
        elif self._emit is not None:
            self._emit(line)

    @contextlib.contextmanager
    def phase(self, name):
        """Time the enclosed work as part of phase ``name``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - start

    def count(self, name):
        """One more ``name`` (an event worth reporting in a benchmark)."""
        self.counts[name] = self.counts.get(name, 0) + 1

    def close(self):
        """Stop the bar (plain lines need nothing)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _short(line, width=48):
    return line if len(line) <= width else line[: width - 1] + "…"


def as_progress(progress):
    """A :class:`Progress` from a Progress (returned as is), a callable (its lines) or None."""
    if isinstance(progress, Progress):
        return progress
    return Progress(progress)
