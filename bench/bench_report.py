"""Where `make report`'s time goes: the bundled reports, timed by phase.

Runs what ``gmm-bayes report-bundled`` runs (default settings: sampler auto, 4 chains x 1000
draws after 1000 tuning steps, seed 0, log evidence per K, data sets side by side in one worker
process per CPU) into a temporary directory and prints the wall time, then the time of each
phase summed over the workers (with two workers the phases add up to about twice the wall):
EM (fits and standard errors), compile (nutpie's compilation of each model, once per K and
likelihood per worker process, NUTS attempts that fell back to SMC included), sampling (NUTS
and the pointwise groups), SMC (``sampler="auto"``'s fallback), evidence, summaries
(estimates, curves, membership, modes), comparison (PSIS-LOO, stacking, criteria), figures,
NetCDF and pages; then how many nutpie models were compiled and reused
(:mod:`gmm_bayes.bayes.model_cache`), and the size of each report directory.

Usage::

    python bench/bench_report.py                      # every bundled report
    python bench/bench_report.py --only galaxy        # one data set
    python bench/bench_report.py --no-evidence        # what the report did before evidence
    python bench/bench_report.py --workers 1          # one data set after another
    python bench/bench_report.py --cold               # empty numba and PyTensor caches

The machine is shared: the load average is printed before and after.
"""

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nutpie

from gmm_bayes.cli import BUNDLED_REPORTS
from gmm_bayes.report.parallel import default_workers
from gmm_bayes.report.pipeline import write_bundled
from gmm_bayes.report.progress import Progress
from gmm_bayes.report.provenance import ReportSettings

#: issue #13's wall-time targets on a 2-core machine, warm: what the report did before SMC and
#: the evidence (NUTS only), and with them (120 s more)
TARGETS = {"nuts_only": 90, "default": 210}


def _cpu_model():
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown CPU"
    names = [line.split(":", 1)[1].strip() for line in text.splitlines() if "model name" in line]
    return f"{names[0]} x {len(names)}" if names else "unknown CPU"


def _size(directory):
    return sum(p.stat().st_size for p in Path(directory).rglob("*") if p.is_file())


def _run_cold(argv):
    """This benchmark again in a new process whose numba and PyTensor caches start empty."""
    with tempfile.TemporaryDirectory() as caches:
        env = {
            **os.environ,
            "NUMBA_CACHE_DIR": str(Path(caches) / "numba"),
            "PYTENSOR_FLAGS": f"base_compiledir={Path(caches) / 'pytensor'}",
        }
        print("cold: numba and PyTensor caches in an empty directory", flush=True)
        subprocess.run([sys.executable, __file__, *argv], env=env, check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", choices=list(BUNDLED_REPORTS))
    parser.add_argument("--no-evidence", dest="evidence", action="store_false")
    parser.add_argument("--sampler", default="auto")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument(
        "--cold",
        action="store_true",
        help="run in a fresh process with empty numba and PyTensor caches (a fresh machine)",
    )
    args = parser.parse_args()
    if args.cold:
        _run_cold([a for a in sys.argv[1:] if a != "--cold"])
        return
    names = args.only or list(BUNDLED_REPORTS)
    workers = default_workers(len(names)) if args.workers is None else args.workers
    settings = ReportSettings(sampler=args.sampler, evidence=args.evidence)
    print(f"{_cpu_model()}; load average before: {os.getloadavg()[0]:.2f}")
    print(f"nutpie {nutpie.__version__}; {workers} worker(s); evidence {args.evidence}")
    progress = Progress(print)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        write_bundled(
            Path(tmp) / "reports",
            {n: tuple(BUNDLED_REPORTS[n]) for n in names},
            settings,
            progress=progress,
            workers=workers,
        )
        wall = time.perf_counter() - start
        sizes = {n: _size(Path(tmp) / "reports" / n) for n in names}
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    print(f"\n{'phase':<12}{'seconds':>9}  (summed over {workers} worker(s))")
    for name, seconds in sorted(progress.phases.items(), key=lambda item: -item[1]):
        print(f"{name:<12}{seconds:9.1f}")
    print(f"{'wall':<12}{wall:9.1f}")
    if set(names) == set(BUNDLED_REPORTS):
        nuts_only = args.sampler == "nutpie" and not args.evidence
        target = TARGETS["nuts_only" if nuts_only else "default"]
        print(f"issue #13's target for this run, warm: <= {target} s (cold: <= 180 s, NUTS only)")
    counts = progress.counts
    print(
        f"\nnutpie models: {counts.get('models compiled', 0)} compiled, "
        f"{counts.get('models reused', 0)} reused"
    )
    print("\nreport sizes: " + ", ".join(f"{n} {s / 1e6:.1f} MB" for n, s in sizes.items()))


if __name__ == "__main__":
    main()
