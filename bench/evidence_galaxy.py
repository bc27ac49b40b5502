"""Galaxy velocities: p(K | y) from log_evidence beside Richardson & Green (1997), Table 1.

Priors.richardson_green() (their hierarchical prior), a uniform prior on K over the K compared.
RG1997's numbers are RJMCMC estimates with a uniform prior on k in 1..30, renormalized here to
the same K range, so expect agreement in shape, not to the digit.

Run: ``python bench/evidence_galaxy.py [max K] [n_runs]`` (defaults 8 and 4). Prints one row per
K (log evidence, its Monte Carlo se, the runs' sd, wall and CPU seconds) and the table of
p(K | y); the Monte Carlo error of p(K | y) propagates the se of every K's evidence (normal
draws of the log evidences).
"""

import sys
import time

import numpy as np
from scipy.special import softmax

import gmm_bayes as gb
from gmm_bayes.bayes import Priors
from gmm_bayes.bayes.evidence import log_evidence

#: Richardson & Green (1997, JRSS-B 59:731), Table 1, galaxy data: p(k | y), k = 1..8
RG1997 = {1: 0.000, 2: 0.000, 3: 0.061, 4: 0.128, 5: 0.182, 6: 0.199, 7: 0.160, 8: 0.109}


def main(max_k=8, n_runs=4):
    x = gb.load_dataset("galaxy")
    ks = list(range(1, max_k + 1))
    results = []
    print(f"{'K':>2} {'log p(y|K)':>11} {'se':>6} {'runs sd':>7} {'wall s':>7} {'cpu s':>7}")
    for k in ks:
        start, cpu = time.perf_counter(), time.process_time()
        ev = log_evidence(x, k, priors=Priors.richardson_green(), random_seed=k, n_runs=n_runs)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        results.append(ev)
        print(
            f"{k:>2} {ev.log_ml:>11.3f} {ev.se:>6.3f} {np.std(ev.runs, ddof=1):>7.3f} "
            f"{seconds:>7.1f} {cpu:>7.1f}",
            flush=True,
        )
    log_ml = np.array([ev.log_ml for ev in results])
    se = np.array([ev.se for ev in results])
    probs = softmax(log_ml)
    noisy = softmax(log_ml + se * np.random.default_rng(0).standard_normal((4000, len(ks))), 1)
    rg = np.array([RG1997[k] for k in ks])
    rg = rg / rg.sum()
    print(f"\n{'K':>2} {'p(K|y)':>7} {'+-':>6} {'RG1997':>7}")
    for k, p, e, r in zip(ks, probs, noisy.std(axis=0), rg, strict=True):
        print(f"{k:>2} {p:>7.3f} {e:>6.3f} {r:>7.3f}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
