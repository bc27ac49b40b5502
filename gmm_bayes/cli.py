"""Command line: argument parsing and the bounds of every option; the work is done by the library.

Errors a user can fix end with one line on stderr and exit code 2, without a traceback, and are
all detected before any fitting starts: a bad file, column or cell; data that float64 cannot
fit; an option out of its bounds (below); an output directory that is not safe to replace. The
library's messages are put in the command line's words (``--column NAME``, not ``column=NAME``).
Anything that fails later is a bug and keeps its traceback (exit code 1).

SIGINT (Ctrl-C) and SIGTERM end a run at any moment with exit code 130 and 143: both raise
``KeyboardInterrupt``, so the same clean-up runs, and the previous report is left byte-identical
with no temporary directory behind (:mod:`gmm_bayes.report.atomic`). A reader that goes away
(``gmm-bayes fit ... | head``) ends the run quietly with 141, as SIGPIPE would.

Bounds of the options (checked before any work):

- ``--components``: K from 1 to ``min(N, MAX_COMPONENTS)``; a range is checked, never built;
- ``--chains``: ``MIN_CHAINS`` (R-hat and the rank plots need two) to ``MAX_CHAINS``;
- ``--draws``: ``MIN_DRAWS`` (PSIS-LOO fits its tail to the top 20 % of the draws, at least
  five of them) to ``MAX_DRAWS``; ``--tune``: 1 to ``MAX_TUNE``;
- N x chains x draws at most ``MAX_POINTWISE``: a report keeps two arrays of that many numbers
  per K in memory (the pointwise log-likelihood and predictive draws);
- ``--seed``: 0 to 2**32 - 1, NumPy's range of a 32-bit seed;
- ``--out``: see :mod:`gmm_bayes.report.atomic` (a directory of its own, no symbolic link) and
  :mod:`gmm_bayes.report.files` (missing, empty, or a previous report).
"""

import argparse
import contextlib
import os
import re
import signal
import sys
import threading
import time

from gmm_bayes._validation import short_repr
from gmm_bayes.conventions import SAMPLERS
from gmm_bayes.data import (
    DATASETS,
    MULTIVARIATE_DATASETS,
    dataset_column,
    dataset_columns,
    dataset_path,
    read_data,
)

#: data sets `make report` builds, with their K ranges
BUNDLED_REPORTS = {
    "seed_notebook": range(1, 4),
    "galaxy": range(1, 7),
    "faithful": range(1, 5),
    "geyser_duration": range(1, 5),
    "faithful2d": range(1, 3),  # K=3 (tied, mclust's EEE,3) samples 6x longer: README
}
#: most worker processes of report-bundled
MAX_WORKERS = 64
#: largest K of --components (besides K <= N)
MAX_COMPONENTS = 100
#: chains: two for R-hat and the rank plots; at most one thread each
MIN_CHAINS, MAX_CHAINS = 2, 64
#: draws kept per chain
MIN_DRAWS, MAX_DRAWS = 20, 100_000
#: tuning steps per chain
MAX_TUNE = 100_000
#: observations x chains x draws of one K: two float64 arrays of 1.6 GB each at most
MAX_POINTWISE = 2 * 10**8
#: seeds of EM, scikit-learn and the sampler
MAX_SEED = 2**32 - 1

_EXAMPLES = """\
examples:
  gmm-bayes fit galaxy -k 1-4
      EM and scikit-learn estimates side by side for K = 1..4 (a bundled data set)
  gmm-bayes fit my.csv --column velocity -k 3
  gmm-bayes report my.csv --column velocity --components 1-5 --out reports/my
      posterior for each K, model comparison, figures: reports/my/index.html
  gmm-bayes report-bundled --out reports
      what `make report` runs

bundled data sets: {names}
--out is replaced only when it is missing, empty, or a previous report.
A bad file, column, cell, range, option or --out ends with one line on stderr and exit code 2;
Ctrl-C and SIGTERM end with 130 and 143, the previous report left as it was.
"""

#: the library's words -> the command line's (the library keeps its API's words)
_CLI_WORDS = (
    (r"pass column=NAME", "pass --column NAME"),
    (r"pass column=None for a one-column file", "leave out --column for a one-column file"),
    (
        r"all (\d+) values of x equal (\S+) a Gaussian mixture has no scale to fit; pass "
        r"reg_covar > 0 \(in squared units of x\) to fit components of that variance",
        r"all \1 values equal \2 a Gaussian mixture has no scale to fit; give data with at "
        "least two distinct values",
    ),
    (r"\bx has values from", "the values range from"),
    (r"\bx has a spread of", "the values have a spread of"),
    (
        r"rescale x \(e\.g\. x / (\S+)\) and map the estimates back",
        r"rescale the column in the file (e.g. divide it by \1) and scale the estimates back",
    ),
    (r"drop the outliers or fit them", "drop the outlying rows from the file or fit them"),
    (r"n_components=(\d+)", r"K=\1"),
    (r"the result marks them in `collapsed`\. ", ""),
    (r"at the reg_covar floor", "at the regularization floor"),
    (r"[Rr]educe n_components or increase reg_covar", "use a smaller --components"),
    (r"increase reg_covar or reduce n_components", "use a smaller --components"),
    (r"; reduce n_components", "; use a smaller --components"),
    (r"; increase max_iter or tol", "; the table shows its last iterate"),
)


class UsageError(Exception):
    """A user mistake reported as one line and exit code 2."""


def in_cli_words(message):
    """A library message in the words of the command line (its options, not its arguments).

    Examples
    --------
    >>> in_cli_words("f.csv: 2 columns ['a', 'b']; pass column=NAME to choose one")
    "f.csv: 2 columns ['a', 'b']; pass --column NAME to choose one"
    """
    for pattern, replacement in _CLI_WORDS:
        message = re.sub(pattern, replacement, message)
    return message


def parse_components(text):
    """Parse ``"3"``, ``"1-5"`` or ``"1,2,4"`` into a sorted tuple of distinct K.

    Every K lies in 1..``MAX_COMPONENTS``; a range's bounds are checked before it is built.

    Examples
    --------
    >>> parse_components("1-3,5")
    (1, 2, 3, 5)
    """
    ks = set()
    for part in text.split(","):
        lo, sep, hi = part.strip().partition("-")
        try:
            start = int(lo)
            stop = int(hi) if sep else start
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"--components must look like 3, 1-5 or 1,2,4, got {short_repr(text)}"
            ) from None
        if start < 1 or stop < start:
            raise argparse.ArgumentTypeError(
                f"--components needs 1 <= first <= last, got {short_repr(text)}"
            )
        if stop > MAX_COMPONENTS:
            raise argparse.ArgumentTypeError(
                f"--components allows K up to {MAX_COMPONENTS}, got {stop}; use a smaller range"
            )
        ks.update(range(start, stop + 1))
    return tuple(sorted(ks))


def _whole_number(low, high, why=""):
    """An argparse type: a whole number in ``low..high``."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"expected a whole number from {low} to {high}{why}, got {short_repr(text)}"
            )
        return value

    return parse


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (usage is one ``--help`` away)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def column_names(column=None, columns=None):
    """The columns asked for by ``--column A [B ...]`` and ``--columns A,B``: a list, or None.

    Examples
    --------
    >>> column_names(["eruptions", "waiting"]), column_names(None, "eruptions,waiting")
    (['eruptions', 'waiting'], ['eruptions', 'waiting'])
    >>> column_names(None, None) is None
    True
    """
    if column and columns:
        raise UsageError(f"give --column or --columns, not both (got {column} and {columns!r})")
    if columns is not None:
        names = [name.strip() for name in columns.split(",")]
        if not all(names):
            raise UsageError(f"--columns {columns!r} has an empty name; write --columns a,b")
        return names
    return list(column) if column else None


def _resolve_data(data, column, columns=None):
    """``(values, path, column, name)`` from a file path, or a bundled data set's name.

    ``values`` is (N,) for one column, (N, d) for several; ``column`` the name, or the names
    joined by commas. Every problem with the input becomes a :class:`UsageError` (one line,
    exit code 2); errors raised later, inside the analysis, are bugs and keep their traceback.
    """
    names = column_names(column, columns)
    name = None
    path = data
    # a file of that name comes first; os.path.lexists is False for a path the OS refuses
    bundled = data in DATASETS or data in MULTIVARIATE_DATASETS
    if bundled and not os.path.lexists(data):
        name = data
        path = dataset_path(data)
        if names is None:
            names = list(dataset_columns(data)) if data in MULTIVARIATE_DATASETS else None
            names = names or [dataset_column(data)]
    try:
        if names is not None and len(names) > 1:
            return read_data(path, columns=names), path, ",".join(names), name
        only = names[0] if names else None
        return read_data(path, column=only), path, only, name
    except (ValueError, TypeError) as err:
        raise UsageError(str(err)) from None


def _check_ks(ks, n):
    if ks[-1] > n:
        raise UsageError(
            f"K={ks[-1]} is larger than the number of observations ({n}); "
            "use a smaller --components range"
        )


def _check_posterior_size(n, args, label=""):
    numbers = n * args.chains * args.draws
    if numbers > MAX_POINTWISE:
        raise UsageError(
            f"{label}{n} observations x {args.chains} chains x {args.draws} draws = "
            f"{numbers:.3g} numbers per K in each pointwise array, more than the "
            f"{MAX_POINTWISE:.0e} a report holds in memory; lower --draws or --chains"
        )


def _check_out(out, names=None):
    """The --out rules, checked early (they are checked again under the lock)."""
    from gmm_bayes.report.atomic import check_target
    from gmm_bayes.report.files import bundled_refusal, report_refusal

    path = check_target(out)
    if path.is_dir():
        reason = report_refusal(path) if names is None else bundled_refusal(path, names)
        if reason:
            raise UsageError(reason)


def _parser():
    names = ", ".join([*DATASETS, *MULTIVARIATE_DATASETS])
    parser = _Parser(
        prog="gmm-bayes",
        description=(
            "Univariate Gaussian mixtures: a fast EM fit, scikit-learn beside it, and a PyMC "
            "posterior warm-started from EM, compared across the number of components K."
        ),
        epilog=_EXAMPLES.format(names=names),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    seed = dict(
        type=_whole_number(0, MAX_SEED),
        default=0,
        help=f"random seed of EM, scikit-learn and the sampler, 0 to {MAX_SEED} (0)",
    )

    def data_args(p):
        p.add_argument("data", help=f"a CSV or text file, or a bundled data set ({names})")
        p.add_argument(
            "--column",
            nargs="+",
            metavar="NAME",
            help="column name(s): one for a univariate mixture, several (--column eruptions "
            "waiting) for a multivariate one; needed when the file has several columns",
        )
        p.add_argument("--columns", metavar="A,B", help="several column names separated by commas")

    def sampling_args(p):
        p.add_argument(
            "--draws",
            type=_whole_number(MIN_DRAWS, MAX_DRAWS, " (PSIS-LOO needs 20 per chain)"),
            default=1000,
            help=f"draws kept per chain, {MIN_DRAWS} to {MAX_DRAWS} (1000)",
        )
        p.add_argument(
            "--tune",
            type=_whole_number(1, MAX_TUNE),
            default=1000,
            help=f"tuning steps per chain, 1 to {MAX_TUNE} (1000)",
        )
        p.add_argument(
            "--chains",
            type=_whole_number(MIN_CHAINS, MAX_CHAINS, " (R-hat needs two)"),
            default=4,
            help=f"chains, {MIN_CHAINS} to {MAX_CHAINS} (4)",
        )
        p.add_argument("--seed", **seed)
        p.add_argument(
            "--sampler",
            choices=SAMPLERS,
            default="auto",
            help="auto (default): NUTS (nutpie) from EM's maxima, tempered SMC for a K whose "
            "chains stay in separate modes or do not converge; nutpie or pymc: NUTS only; "
            "smc: tempered SMC only",
        )
        p.add_argument(
            "--evidence",
            action=argparse.BooleanOptionalAction,
            default=True,
            help="estimate each K's log evidence and p(K | y) by tempered SMC (default; a few "
            "seconds per K; reused from the posterior when SMC drew it); --no-evidence skips it",
        )
        p.add_argument(
            "--full-netcdf",
            action="store_true",
            help="keep every group of each posterior in its NetCDF file, float64 (pointwise "
            "log-likelihood and predictive draws: tens of MB per K); default: compact",
        )
        p.add_argument(
            "-q",
            "--quiet",
            action="store_true",
            help="no progress, only errors (progress: a bar on a terminal, plain lines otherwise)",
        )

    fit = sub.add_parser(
        "fit",
        help="print EM and scikit-learn estimates for K components",
        description="Fit K components by this package's EM and by scikit-learn's "
        "GaussianMixture (at its defaults) and print both side by side. BIC: lower is better.",
    )
    data_args(fit)
    fit.add_argument(
        "-k",
        "--components",
        type=parse_components,
        default=(2,),
        help=f"K, a range 1-5 or a list 1,2,4; K <= {MAX_COMPONENTS} (default 2)",
    )
    fit.add_argument("--seed", **{**seed, "help": f"random seed, 0 to {MAX_SEED} (default 0)"})

    report = sub.add_parser(
        "report",
        help="write an HTML/Markdown report for one data set",
        description="For each K: EM, scikit-learn and the posterior side by side with "
        "diagnostics; then PSIS-LOO, stacking, BIC and AIC across K. Writes index.html, "
        "summary.md, estimates.csv, comparison.csv, posterior_K<k>.nc and figures into --out, "
        "replacing it atomically (a failure or interruption leaves the previous report intact).",
    )
    data_args(report)
    report.add_argument(
        "--components",
        "-k",
        type=parse_components,
        default=(1, 2, 3, 4),
        help=f"K values, e.g. 1-5 or 2,3; K <= {MAX_COMPONENTS} (default 1-4)",
    )
    report.add_argument(
        "--out",
        required=True,
        help="output directory: missing, empty, or a previous report (replaced atomically); "
        "not a symbolic link",
    )
    sampling_args(report)

    bundled = sub.add_parser(
        "report-bundled",
        help="reports for the bundled data sets (what `make report` runs)",
        description="One report per bundled data set ("
        + "; ".join(f"{n}: K={ks.start}-{ks.stop - 1}" for n, ks in BUNDLED_REPORTS.items())
        + ") and an index.html linking them; all swapped in together at the end.",
    )
    bundled.add_argument(
        "--out",
        default="reports",
        help="parent directory (default reports): missing, empty, or holding only README.md "
        "(kept), index.html and the bundled reports",
    )
    bundled.add_argument(
        "--only",
        nargs="+",
        choices=list(BUNDLED_REPORTS),
        metavar="NAME",
        help="build only these data sets",
    )
    bundled.add_argument(
        "--workers",
        type=_whole_number(1, MAX_WORKERS),
        default=None,
        help="data sets built side by side, one process each (default: one per CPU, at most "
        "one per data set; 1: one after another in this process); the reports do not depend "
        "on it",
    )
    sampling_args(bundled)
    return parser


def _settings(args, ks):
    from gmm_bayes.report.provenance import ReportSettings

    return ReportSettings(
        ks=tuple(ks),
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        seed=args.seed,
        sampler=args.sampler,
        evidence=args.evidence,
        full_netcdf=args.full_netcdf,
    )


def _progress(line):
    print(line, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _report_progress(quiet):
    """The run's progress: a bar on a terminal, plain lines on stderr otherwise."""
    from gmm_bayes.report.progress import Progress

    progress = Progress(None if quiet else _progress, bar=not quiet and sys.stderr.isatty())
    try:
        yield progress
    finally:
        progress.close()


def _run(args, received):
    if args.command == "fit":
        _fit(args)
    elif args.command == "report":
        _report(args, received)
    else:
        _report_bundled(args, received)


def _stop_if_signalled(received):
    """Raise the interruption again if it was lost on its way (dropped in a finalizer).

    From here on :func:`gmm_bayes.report.atomic.claimed` watches for lost interruptions.
    """
    if received:
        raise KeyboardInterrupt(signal.Signals(received[-1]).name)


def _fit(args):
    from gmm_bayes.report.terminal import em_vs_sklearn, text_table

    x, _, _, _ = _resolve_data(args.data, args.column, args.columns)
    if x.ndim == 2:
        raise UsageError(
            f"gmm-bayes fit is univariate; for {x.shape[1]} columns run gmm-bayes report "
            "(EM for each covariance type beside scikit-learn and the posterior)"
        )
    _check_ks(args.components, x.size)
    results = em_vs_sklearn(x, args.components, random_state=args.seed)
    print(text_table(results))
    for k, _, _, messages in results:
        for m in messages:
            print(f"K={k}: {in_cli_words(m)}", file=sys.stderr)


def _report(args, received):
    from gmm_bayes.report.pipeline import write_report

    _check_out(args.out)
    x, path, column, name = _resolve_data(args.data, args.column, args.columns)
    _check_ks(args.components, len(x))
    _check_posterior_size(len(x), args)
    meta = DATASETS.get(name) or MULTIVARIATE_DATASETS.get(name)
    start = time.perf_counter()
    _stop_if_signalled(received)
    with _report_progress(args.quiet) as progress:
        write_report(
            x,
            args.out,
            source=path,
            column=column,
            settings=_settings(args, args.components),
            name=name,
            units=meta.units if meta else None,
            description=meta.description if meta else None,
            progress=progress,
        )
        progress.note(f"wrote {args.out}/index.html in {time.perf_counter() - start:.1f} s")


def _report_bundled(args, received):
    from gmm_bayes.data import load_dataset
    from gmm_bayes.report.pipeline import write_bundled

    names = args.only or list(BUNDLED_REPORTS)
    _check_out(args.out, names)
    for name in names:
        _check_posterior_size(len(load_dataset(name)), args, label=f"{name}: ")
    _stop_if_signalled(received)
    with _report_progress(args.quiet) as progress:
        write_bundled(
            args.out,
            {n: tuple(BUNDLED_REPORTS[n]) for n in names},
            _settings(args, ()),
            progress=progress,
            workers=args.workers,
        )


@contextlib.contextmanager
def _interrupting_signals():
    """SIGINT and SIGTERM raise ``KeyboardInterrupt`` (one clean-up for both).

    Yields the list of signals received, for the exit code. Signals ignored when the program
    started (``nohup``, a background job) stay ignored.
    """
    received = []

    def interrupt(signum, _frame):
        received.append(signum)
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(signum) != signal.SIG_IGN:
                previous[signum] = signal.signal(signum, interrupt)
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)


def _reader_gone():
    """The reader of stdout or stderr went away (``| head``): stop quietly, as if by SIGPIPE."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            os.dup2(devnull, stream.fileno())  # no second error when Python flushes at exit
    return 128 + signal.SIGPIPE


def main(argv=None):
    """Entry point of ``gmm-bayes``; returns the exit code."""
    from gmm_bayes.exceptions import DataError, FitError
    from gmm_bayes.report.atomic import OutputError

    args = _parser().parse_args(argv)
    with _interrupting_signals() as received:
        try:
            _run(args, received)
        except (DataError, FitError, OutputError, UsageError) as err:
            print(f"gmm-bayes: error: {in_cli_words(str(err))}", file=sys.stderr)
            return 2
        except BrokenPipeError:
            return _reader_gone()
        except BaseException as err:
            # after a signal, whatever broke (a compiler child killed by the same Ctrl-C) is it
            if not (isinstance(err, KeyboardInterrupt) or received):
                raise
            signum = received[-1] if received else signal.SIGINT
            print(
                f"gmm-bayes: interrupted ({signal.Signals(signum).name}); previous output left "
                "intact",
                file=sys.stderr,
            )
            return 128 + signum
    return 0
