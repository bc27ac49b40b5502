"""Independent pieces of a report run, built side by side in worker processes.

``make report`` builds five data sets whose work is mostly single-threaded (nutpie's
compilation of each model, EM, SMC's bookkeeping, figures): on a 2-core machine, one process
leaves a core idle most of the time. :func:`run_jobs` runs each job (one data set) in one of
``workers`` processes and relays every progress line, as it happens, to the run's
:class:`~gmm_bayes.report.progress.Progress` (bar or plain lines) in this process. A job's
result is whatever its function returns; its phase times and counts are added to the run's.

Jobs keep their place: a worker builds them in the order given (the first free worker takes the
next), each from its own seeds, so the files are the same for any number of workers; only the
order of the progress lines differs. The workers ignore Ctrl-C: this process stops them (and
the caller removes what they wrote) when it is interrupted or a job fails.
"""

import multiprocessing
import os
import queue
import signal

from gmm_bayes.report.progress import Progress

__all__ = ["RelayProgress", "default_workers", "run_jobs"]

#: seconds between checks of the jobs while no progress line arrives
_POLL = 0.2

# the queue to the parent, in a worker process (set by the pool's initializer)
_PARENT_QUEUE = None


class RelayProgress(Progress):
    """A worker's :class:`Progress`: its steps and notes go to the parent process.

    Phases are timed and events counted here, and returned with the job's result;
    :meth:`plan` is the parent's (it planned every job's steps before starting them).

    Parameters
    ----------
    channel : queue-like
        ``put(("step" | "note", line))``.

    Examples
    --------
    >>> import queue
    >>> channel = queue.SimpleQueue()
    >>> relay = RelayProgress(channel)
    >>> relay.plan(3)
    >>> relay.step("[galaxy] K=1 done")
    >>> channel.get(), relay.total
    (('step', '[galaxy] K=1 done'), 0)
    """

    def __init__(self, channel):
        super().__init__()
        self._channel = channel

    def plan(self, steps):
        """Nothing: the parent planned the steps."""

    def step(self, line):
        self._channel.put(("step", line))

    def note(self, line):
        self._channel.put(("note", line))


def default_workers(n_jobs):
    """One worker per CPU, at most one per job (and at least one).

    Examples
    --------
    >>> default_workers(1)
    1
    """
    return max(1, min(os.cpu_count() or 1, n_jobs))


def run_jobs(function, jobs, progress, *, workers, setup=None):
    """``function(*args, progress=...)`` for every ``args`` of ``jobs``, in ``workers`` processes.

    Parameters
    ----------
    function : callable
        A module-level function (the workers import it by name), called with a job's
        arguments and ``progress=`` a :class:`RelayProgress`; it returns a picklable result.
    jobs : dict of str to tuple
        Name -> positional arguments.
    progress : Progress
        The run's; gets every step and note as it happens and every job's phase times.
    workers : int
        Processes (at most one per job); 1 runs the jobs here, one after another.
    setup : callable, optional
        A module-level function each worker process calls once before its first job.

    Returns
    -------
    dict of str to object
        Name -> result, in the order of ``jobs``.

    Raises
    ------
    Exception
        The first failed job's exception, after every worker is stopped.
    """
    workers = max(1, min(int(workers), len(jobs)))
    if workers == 1:
        return {name: function(*args, progress=progress) for name, args in jobs.items()}
    context = multiprocessing.get_context("spawn")  # fork would copy the threads of numba/rich
    channel = context.Queue()
    pool = context.Pool(workers, initializer=_start_worker, initargs=(channel, setup))
    try:
        pending = {name: pool.apply_async(_run, (function, args)) for name, args in jobs.items()}
        while not all(result.ready() for result in pending.values()):
            _relay(channel, progress, timeout=_POLL)
            _raise_first_failure(pending)
        results = {}
        for name, result in pending.items():
            value, phases, counts = result.get()
            results[name] = value
            for phase, seconds in phases.items():
                progress.phases[phase] = progress.phases.get(phase, 0.0) + seconds
            for event, n in counts.items():
                progress.counts[event] = progress.counts.get(event, 0) + n
        pool.close()
        pool.join()
        _relay(channel, progress, timeout=0.0)  # the lines the workers sent last
        return results
    finally:
        pool.terminate()


def _relay(channel, progress, *, timeout):
    """Hand every waiting line to ``progress`` (waiting up to ``timeout`` for the first)."""
    while True:
        try:
            kind, line = channel.get(timeout=timeout) if timeout else channel.get_nowait()
        except queue.Empty:
            return
        (progress.step if kind == "step" else progress.note)(line)
        timeout = 0.0


def _raise_first_failure(pending):
    for result in pending.values():
        if result.ready() and not result.successful():
            result.get()  # raises the job's exception


def _start_worker(channel, setup):
    global _PARENT_QUEUE
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    _PARENT_QUEUE = channel
    if setup is not None:
        setup()


def _run(function, args):
    relay = RelayProgress(_PARENT_QUEUE)
    value = function(*args, progress=relay)
    return value, relay.phases, relay.counts
