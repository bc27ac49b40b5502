"""Command line: argument parsing only; the work is done by the library.

Errors a user can fix (missing file, bad column, non-numeric cell, bad range) end with one line on
stderr and exit code 2, without a traceback.
"""

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from gmm_bayes.data import DATASETS, dataset_column, dataset_path, read_data

#: data sets `make report` builds, with their K ranges
BUNDLED_REPORTS = {
    "seed_notebook": range(1, 4),
    "galaxy": range(1, 7),
    "faithful": range(1, 5),
    "geyser_duration": range(1, 5),
}


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


def _resolve_data(data, column):
    """``(values, path, column)`` from a file path, or a bundled data set's name."""
    path = Path(data)
    if not path.exists() and data in DATASETS:
        path, column = dataset_path(data), column or dataset_column(data)
    return read_data(path, column=column), path, column


def _parser():
    parser = argparse.ArgumentParser(
        prog="gmm-bayes",
        description="Fit univariate Gaussian mixtures by EM and compare with scikit-learn.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def data_args(p):
        p.add_argument(
            "data", help="CSV or text file, or a bundled data set: " + ", ".join(DATASETS)
        )
        p.add_argument("--column", help="column name (needed when the file has several)")
        p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")

    fit = sub.add_parser("fit", help="print EM and scikit-learn estimates for K components")
    data_args(fit)
    fit.add_argument(
        "-k",
        "--components",
        type=parse_components,
        default=(2,),
        help="K, a range 1-5 or a list 1,2,4 (default 2)",
    )

    report = sub.add_parser("report", help="write a report for one data set")
    data_args(report)
    report.add_argument(
        "--components",
        type=parse_components,
        default=(1, 2, 3, 4),
        help="K range, e.g. 1-5 (default 1-4)",
    )
    report.add_argument("--out", required=True, help="output directory (replaced atomically)")

    bundled = sub.add_parser("report-bundled", help="reports for the bundled data sets")
    bundled.add_argument("--out", default="reports", help="parent directory (default reports)")
    bundled.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    return parser


def _sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_report(x, path, column, ks, out, *, seed, title=None):
    """Write ``out/summary.md`` (EM vs scikit-learn for each K), replacing ``out`` atomically."""
    from gmm_bayes.tables import em_vs_sklearn, markdown_table

    start = time.perf_counter()
    results = em_vs_sklearn(x, ks, random_state=seed)
    notes = [f"- K={k}: {m}" for k, _, _, messages in results for m in messages]
    text = "\n".join(
        [
            f"# {title or Path(path).stem}: EM and scikit-learn, K = {ks[0]}..{ks[-1]}",
            "",
            f"- data: `{path}` (sha256 `{_sha256(path)}`), column `{column or '(the only one)'}`,"
            f" N = {x.size}",
            f"- settings: gmm_bayes `fit_em` defaults (k-means++ starts, n_init=5, tol=1e-6 per "
            f"observation, reg_covar = 1e-6 x robust variance); scikit-learn `GaussianMixture` "
            f"at its defaults; random seed {seed}",
            "- BIC = -2 log L + p log N, lower is better; p = 3K - 1",
            "",
            markdown_table(results),
            "",
            "## Warnings",
            "",
            *(notes or ["- none"]),
            "",
            f"_Written in {time.perf_counter() - start:.2f} s._",
            "",
        ]
    )
    _replace_dir(out, {"summary.md": text})


def _replace_dir(out, files):
    """Build ``files`` in a temporary directory beside ``out``, then swap it in.

    A failure leaves the previous ``out`` untouched and no half-written files.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8")
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}.old.{os.getpid()}")
            out.rename(old)
        tmp.rename(out)
        if old is not None:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _run(args):
    if args.command == "fit":
        from gmm_bayes.tables import em_vs_sklearn, text_table

        x, _, _ = _resolve_data(args.data, args.column)
        results = em_vs_sklearn(x, args.components, random_state=args.seed)
        print(text_table(results))
        for k, _, _, messages in results:
            for m in messages:
                print(f"K={k}: {m}", file=sys.stderr)
    elif args.command == "report":
        x, path, column = _resolve_data(args.data, args.column)
        write_report(x, path, column, args.components, args.out, seed=args.seed)
        print(f"wrote {args.out}/summary.md")
    else:
        for name, ks in BUNDLED_REPORTS.items():
            x, path, column = _resolve_data(name, None)
            out = Path(args.out) / name
            write_report(x, path, column, tuple(ks), out, seed=args.seed, title=name)
            print(f"wrote {out}/summary.md")


def main(argv=None):
    """Entry point of ``gmm-bayes``; returns the exit code."""
    from gmm_bayes.exceptions import DataError

    args = _parser().parse_args(argv)
    try:
        _run(args)
    except (DataError, UsageError, ValueError, TypeError) as err:
        print(f"gmm-bayes: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gmm-bayes: interrupted; previous output left intact", file=sys.stderr)
        return 130
    return 0
