"""Scope of the multivariate posterior: sampling time and ESS for d columns and N rows.

For each d and N: simulated two-cluster data (:func:`two_clusters`), EM (``fit_em``, full
covariances, K = 2, seed 0), then ``gb.sample_posterior(X, 2, em=em)`` with nutpie, 4 chains x
1000 tuning + 1000 draws, seed 0, pointwise groups not stored. One row per run: compile and
sampling seconds (the tree's ``compile_seconds`` and ``sampling_seconds``), the whole call's
wall seconds, min bulk ESS, max R-hat, divergences and the status of ``gb.diagnose``, with the
load average before and after (the machine is shared: times move with the load, ESS does not).
``--sampler smc`` times ``sampler="smc"`` instead (4 runs x 1000 particles).

Run ``python bench/bench_posterior_mv.py [--d 2 3 5] [--n 272 2000 10000] [--sampler nutpie]``
(the defaults; at N = 10^4 and d = 5 one run takes about a quarter of an hour on 2 cores).
"""

import argparse
import logging
import os
import platform
import time
import warnings

import numpy as np

import gmm_bayes as gb

K = 2
CHAINS = 4
DRAWS = TUNE = 1000
SEED = 0


def two_clusters(n, d, seed=SEED):
    """Two Gaussian clusters of 40% and 60% of ``n`` rows in ``d`` columns: means 4 units apart
    along the diagonal, covariances ``A A^T / d + I / 2`` with ``A`` standard normal (correlated
    columns, sds about 1).

    Returns
    -------
    ndarray, shape (n, d)
    """
    rng = np.random.default_rng(seed)
    sizes = (int(0.4 * n), n - int(0.4 * n))
    shift = 2.0 * np.ones(d) / np.sqrt(d)
    parts = []
    for sign, size in zip((-1.0, 1.0), sizes, strict=True):
        a = rng.normal(size=(d, d))
        cov = a @ a.T / d + 0.5 * np.eye(d)
        parts.append(rng.multivariate_normal(sign * shift, cov, size=size))
    return rng.permutation(np.vstack(parts))


def run(n, d, sampler):
    """One row of the table: ``(d, N, compile s, sampling s, wall s, min bulk ESS, max R-hat,
    divergences, status, load before, load after)``."""
    x = two_clusters(n, d)
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    em = gb.fit_em(x, K, random_state=SEED)
    tree = gb.sample_posterior(
        x,
        K,
        em=em,
        draws=DRAWS,
        tune=TUNE,
        chains=CHAINS,
        random_seed=SEED,
        sampler=sampler,
        pointwise=False,
    )
    wall = time.perf_counter() - t0
    diagnostics = tree["diagnostics"]
    return (
        d,
        n,
        float(tree.attrs.get("compile_seconds", float("nan"))),
        float(tree.attrs["sampling_seconds"]),
        wall,
        float(diagnostics["min_ess_bulk"]),
        float(diagnostics["max_rhat"]),
        int(diagnostics["n_divergent"]),
        diagnostics.attrs["status"],
        load_before,
        os.getloadavg()[0],
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--d", type=int, nargs="+", default=[2, 3, 5])
    parser.add_argument("--n", type=int, nargs="+", default=[272, 2000, 10_000])
    parser.add_argument("--sampler", choices=["nutpie", "smc"], default="nutpie")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)
    logging.getLogger("pymc").setLevel(logging.ERROR)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {args.sampler}")
    print(
        "| d | N | compile s | sampling s | wall s | min bulk ESS | max R-hat | divergent "
        "| status | load before, after |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in args.n:
        for d in args.d:
            row = run(n, d, args.sampler)
            print(
                "| {} | {} | {:.0f} | {:.0f} | {:.0f} | {:.0f} | {:.3f} | {} | {} | "
                "{:.1f}, {:.1f} |".format(*row),
                flush=True,
            )


if __name__ == "__main__":
    main()
