"""Where `make report`'s time goes: the bundled reports, timed by phase.

Runs what ``gmm-bayes report-bundled`` runs (default settings: sampler auto, 4 chains x 1000
draws after 1000 tuning steps, seed 0) into a temporary directory and prints the wall time of
each phase: EM (fits and standard errors), compile (nutpie's numba compilation of each K's
model, once per K per process), sampling (NUTS, without its compilation), SMC (PyMC's
``sample_smc`` when ``sampler="auto"`` falls back to it), evidence (``--evidence``),
summaries (estimates, curves, membership, modes), comparison (PSIS-LOO, stacking, criteria),
figures, NetCDF and pages; then how many nutpie graphs were compiled and how many reused
(:mod:`gmm_bayes.bayes.model_cache`), and the size of each report directory.

Usage::

    python bench/bench_report.py                      # every bundled report
    python bench/bench_report.py --only galaxy        # one data set
    python bench/bench_report.py --evidence           # with log evidence per K

The machine is shared: the load average is printed before and after.
"""

import argparse
import contextlib
import os
import tempfile
import time
from pathlib import Path

import nutpie

from gmm_bayes.cli import BUNDLED_REPORTS
from gmm_bayes.report.pipeline import write_bundled
from gmm_bayes.report.progress import Progress
from gmm_bayes.report.provenance import ReportSettings

#: nutpie models compiled and taken from the cache (``gmm_bayes.bayes.model_cache``)
GRAPHS = {"compiled": 0, "reused": 0}


def _timed(real, progress, phase, inside):
    """``real``, whose time counts as ``phase`` and not as ``inside``; a call of
    ``compiled_nutpie`` also counts as a compiled or a reused graph."""

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            result = real(*args, **kwargs)
            if phase == "compile":
                GRAPHS["reused" if result[1] else "compiled"] += 1
            return result
        finally:
            spent = time.perf_counter() - start
            progress.phases[phase] = progress.phases.get(phase, 0.0) + spent
            progress.phases[inside] = progress.phases.get(inside, 0.0) - spent

    return wrapper


@contextlib.contextmanager
def _split_sampling(progress):
    """Count nutpie's compilation and SMC (``sampler="auto"``'s fallback) apart from NUTS."""
    import gmm_bayes.bayes.samplers as samplers

    compile_real, smc_real = samplers.compiled_nutpie, samplers.SAMPLER_RUNS["smc"]
    samplers.compiled_nutpie = _timed(compile_real, progress, "compile", "sampling")
    samplers.SAMPLER_RUNS["smc"] = _timed(smc_real, progress, "SMC", "sampling")
    try:
        yield
    finally:
        samplers.compiled_nutpie = compile_real
        samplers.SAMPLER_RUNS["smc"] = smc_real


def _size(directory):
    return sum(p.stat().st_size for p in Path(directory).rglob("*") if p.is_file())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", choices=list(BUNDLED_REPORTS))
    parser.add_argument("--evidence", action="store_true")
    parser.add_argument("--sampler", default="auto")
    args = parser.parse_args()
    names = args.only or list(BUNDLED_REPORTS)
    settings = ReportSettings(sampler=args.sampler, evidence=args.evidence)
    print(f"load average before: {os.getloadavg()[0]:.2f}; nutpie {nutpie.__version__}")
    progress = Progress(print)
    with tempfile.TemporaryDirectory() as tmp, _split_sampling(progress):
        start = time.perf_counter()
        write_bundled(
            Path(tmp) / "reports",
            {n: tuple(BUNDLED_REPORTS[n]) for n in names},
            settings,
            progress=progress,
        )
        wall = time.perf_counter() - start
        sizes = {n: _size(Path(tmp) / "reports" / n) for n in names}
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    print(f"\n{'phase':<12}{'seconds':>9}{'share':>8}")
    for name, seconds in sorted(progress.phases.items(), key=lambda item: -item[1]):
        print(f"{name:<12}{seconds:9.1f}{seconds / wall:8.0%}")
    print(f"{'wall':<12}{wall:9.1f}")
    print(f"\nnutpie graphs: {GRAPHS['compiled']} compiled, {GRAPHS['reused']} reused")
    print("\nreport sizes: " + ", ".join(f"{n} {s / 1e6:.1f} MB" for n, s in sizes.items()))


if __name__ == "__main__":
    main()
