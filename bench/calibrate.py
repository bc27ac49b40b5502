"""`make calibrate`: simulation-based calibration of the default model at K = 2 and K = 3.

For each K: ``--datasets`` data sets of N = ``--obs`` values drawn from the prior, each fitted by
EM and ``sample_posterior``'s default sampler (2 chains x ``--draws`` draws on one core each,
thinned to 99), in ``--jobs`` worker processes; then the uniformity tests of the ranks, the
rank histograms (``docs/calibration_K{k}.png``), the ranks themselves
(``bench/results/calibration_K{k}.csv``) and a Markdown table (on stdout and in
``bench/results/calibration_K{k}.md``).

Usage: ``python bench/calibrate.py [--components 2 3] [--datasets 200] [--jobs 2] [--seed 0]``
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np

from gmm_bayes.bayes.calibration import (
    plot_rank_histograms,
    rank_uniformity,
    simulation_based_calibration,
)

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "docs"
RESULTS = ROOT / "bench" / "results"


def main():
    args = _parse()
    FIGURES.mkdir(exist_ok=True)
    RESULTS.mkdir(exist_ok=True)
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for k in args.components:
        t0 = time.perf_counter()
        calib = simulation_based_calibration(
            k,
            args.datasets,
            args.obs,
            draws=args.draws,
            n_jobs=args.jobs,
            random_seed=args.seed + k,
            progress=args.progress,
        )
        wall = time.perf_counter() - t0
        calib.attrs["wall_seconds"] = round(wall, 1)
        calib.to_dataframe().to_csv(RESULTS / f"calibration_K{k}.csv")
        figure = FIGURES / f"calibration_K{k}.png"
        plot_rank_histograms(calib, path=figure)
        report = _report(calib, wall, args.jobs, figure)
        (RESULTS / f"calibration_K{k}.md").write_text(report + "\n")
        print(report)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


def _report(calib, wall, jobs, figure):
    """The run's numbers and the p-value table, in Markdown."""
    a = calib.attrs
    seconds = calib["seconds"].values
    statuses, counts = np.unique(calib["status"].values, return_counts=True)
    lines = [
        f"## K = {a['n_components']}: {calib.sizes['dataset']} data sets of N = {a['n_obs']}",
        f"sampler {a['sampler']}, {a['chains']} chains x {a['draws']} draws after {a['tune']} "
        f"tuning steps, thinned to {a['n_ranks']}; {jobs} worker processes; load average "
        f"{os.getloadavg()[0]:.1f} at the end",
        f"wall {wall:.0f} s; per data set (EM + sampling, one worker): median "
        f"{np.median(seconds):.2f} s wall, {np.median(calib['cpu_seconds']):.2f} s CPU; max "
        f"{seconds.max():.1f} s (the first in each worker compiles the model)",
        f"failed fits: {a['n_failed']}; EM fit with a collapsed component: "
        f"{int(calib['em_collapsed'].sum())}; diagnostics: "
        + ", ".join(f"{s} {c}" for s, c in zip(statuses, counts, strict=True)),
        f"figure: {figure.relative_to(ROOT)}",
        "",
        "| quantity | chi-square p (20 bins) | pot_c p (ECDF) | ranks |",
        "|---|---|---|---|",
    ]
    tests = rank_uniformity(calib)
    for q in tests["quantity"].values:
        row = tests.sel(quantity=q)
        lines.append(
            f"| {q} | {float(row['chi2_p']):.3f} | {float(row['pot_p']):.3f} | {int(row['n'])} |"
        )
    return "\n".join(lines)


def _parse():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--components", type=int, nargs="+", default=[2, 3])
    parser.add_argument("--datasets", type=int, default=200)
    parser.add_argument("--obs", type=int, default=100)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--progress", action="store_true", help="one line per data set")
    return parser.parse_args()


if __name__ == "__main__":
    main()
