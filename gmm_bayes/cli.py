"""Command line: argument parsing only; the work is done by the library.

Errors a user can fix (missing file, bad column, non-numeric cell, bad range or option) end with
one line on stderr and exit code 2, without a traceback; they are all detected before any
fitting starts. Anything that fails later is a bug and keeps its traceback (exit code 1). Ctrl-C
exits with 130. Either way the previous report is left as it was.
"""

import argparse
import sys
import time
from pathlib import Path

from gmm_bayes.conventions import SAMPLERS
from gmm_bayes.data import DATASETS, dataset_column, dataset_path, read_data

#: data sets `make report` builds, with their K ranges
BUNDLED_REPORTS = {
    "seed_notebook": range(1, 4),
    "galaxy": range(1, 7),
    "faithful": range(1, 5),
    "geyser_duration": range(1, 5),
}

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
A bad file, column, cell or range ends with one line on stderr and exit code 2.
"""


class UsageError(Exception):
    """A user mistake reported as one line and exit code 2."""


def parse_components(text):
    """Parse ``"3"``, ``"1-5"`` or ``"1,2,4"`` into a sorted tuple of distinct K >= 1."""
    ks = set()
    for part in text.split(","):
        lo, sep, hi = part.strip().partition("-")
        try:
            start = int(lo)
            stop = int(hi) if sep else start
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"--components must look like 3, 1-5 or 1,2,4, got {text!r}"
            ) from None
        if start < 1 or stop < start:
            raise argparse.ArgumentTypeError(f"--components needs 1 <= first <= last, got {text!r}")
        ks.update(range(start, stop + 1))
    return tuple(sorted(ks))


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _resolve_data(data, column):
    """``(values, path, column, name)`` from a file path, or a bundled data set's name.

    Every problem with the input becomes a :class:`UsageError` (one line, exit code 2); errors
    raised later, inside the analysis, are bugs and keep their traceback.
    """
    path = Path(data)
    name = None
    if not path.exists() and data in DATASETS:
        name = data
        path, column = dataset_path(data), column or dataset_column(data)
    try:
        return read_data(path, column=column), path, column, name
    except (ValueError, TypeError) as err:
        raise UsageError(str(err)) from None


def _check_ks(ks, n):
    if ks[-1] > n:
        raise UsageError(
            f"n_components={ks[-1]} is larger than the number of observations ({n}); "
            "use a smaller --components range"
        )


def _parser():
    names = ", ".join(DATASETS)
    parser = argparse.ArgumentParser(
        prog="gmm-bayes",
        description=(
            "Univariate Gaussian mixtures: a fast EM fit, scikit-learn beside it, and a PyMC "
            "posterior warm-started from EM, compared across the number of components K."
        ),
        epilog=_EXAMPLES.format(names=names),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def data_args(p):
        p.add_argument("data", help=f"a CSV or text file, or a bundled data set ({names})")
        p.add_argument(
            "--column", help="column name (needed when the file has several; default: the only one)"
        )

    def sampling_args(p, default_seed=0):
        p.add_argument(
            "--draws", type=_positive_int, default=1000, help="draws kept per chain (1000)"
        )
        p.add_argument(
            "--tune", type=_positive_int, default=1000, help="tuning steps per chain (1000)"
        )
        p.add_argument("--chains", type=_positive_int, default=4, help="chains (4)")
        p.add_argument(
            "--seed",
            type=int,
            default=default_seed,
            help="random seed of EM, scikit-learn and the sampler (0)",
        )
        p.add_argument(
            "--sampler",
            choices=SAMPLERS,
            default=SAMPLERS[0],
            help=f"NUTS implementation ({SAMPLERS[0]})",
        )
        p.add_argument("-q", "--quiet", action="store_true", help="no progress lines, only errors")

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
        help="K, a range 1-5 or a list 1,2,4 (default 2)",
    )
    fit.add_argument("--seed", type=int, default=0, help="random seed (default 0)")

    report = sub.add_parser(
        "report",
        help="write an HTML/Markdown report for one data set",
        description="For each K: EM, scikit-learn and the posterior side by side with "
        "diagnostics; then PSIS-LOO, stacking, BIC and AIC across K. Writes index.html, "
        "summary.md, estimates.csv, comparison.csv, posterior_K<k>.nc and figures into --out, "
        "replacing it atomically (a failure leaves the previous report intact).",
    )
    data_args(report)
    report.add_argument(
        "--components",
        "-k",
        type=parse_components,
        default=(1, 2, 3, 4),
        help="K values, e.g. 1-5 or 2,3 (default 1-4)",
    )
    report.add_argument("--out", required=True, help="output directory (replaced atomically)")
    sampling_args(report)

    bundled = sub.add_parser(
        "report-bundled",
        help="reports for the bundled data sets (what `make report` runs)",
        description="One report per bundled data set ("
        + "; ".join(f"{n}: K={ks.start}-{ks.stop - 1}" for n, ks in BUNDLED_REPORTS.items())
        + ") and an index.html linking them; all swapped in together at the end.",
    )
    bundled.add_argument("--out", default="reports", help="parent directory (default reports)")
    bundled.add_argument(
        "--only",
        nargs="+",
        choices=list(BUNDLED_REPORTS),
        metavar="NAME",
        help="build only these data sets",
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
    )


def _progress(line):
    print(line, file=sys.stderr, flush=True)


def _run(args):
    if args.command == "fit":
        from gmm_bayes.report.terminal import em_vs_sklearn, text_table

        x, _, _, _ = _resolve_data(args.data, args.column)
        _check_ks(args.components, x.size)
        results = em_vs_sklearn(x, args.components, random_state=args.seed)
        print(text_table(results))
        for k, _, _, messages in results:
            for m in messages:
                print(f"K={k}: {m}", file=sys.stderr)
    elif args.command == "report":
        from gmm_bayes.data import DATASETS as info
        from gmm_bayes.report.pipeline import write_report

        x, path, column, name = _resolve_data(args.data, args.column)
        _check_ks(args.components, x.size)
        meta = info.get(name)
        start = time.perf_counter()
        write_report(
            x,
            args.out,
            source=path,
            column=column,
            settings=_settings(args, args.components),
            name=name,
            units=meta.units if meta else None,
            description=meta.description if meta else None,
            progress=_progress,
            quiet=args.quiet,
        )
        if not args.quiet:
            _progress(f"wrote {args.out}/index.html in {time.perf_counter() - start:.1f} s")
    else:
        from gmm_bayes.report.pipeline import write_bundled

        names = args.only or list(BUNDLED_REPORTS)
        write_bundled(
            args.out,
            {n: tuple(BUNDLED_REPORTS[n]) for n in names},
            _settings(args, ()),
            progress=_progress,
            quiet=args.quiet,
        )


def main(argv=None):
    """Entry point of ``gmm-bayes``; returns the exit code."""
    from gmm_bayes.exceptions import DataError

    args = _parser().parse_args(argv)
    try:
        _run(args)
    except (DataError, UsageError) as err:
        print(f"gmm-bayes: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gmm-bayes: interrupted; previous output left intact", file=sys.stderr)
        return 130
    return 0
