"""EM speed: gmm_bayes.fit_em against scikit-learn's GaussianMixture, measured in the same run.

Same data, same start (weights, means, precisions), same number of iterations (tol=0, fixed
max_iter), so the ratio compares the cost of one EM iteration. Run with `make bench`.
"""

import time
import warnings

import numpy as np

import gmm_bayes as gb

ITERATIONS = 20
REPEATS = 3


def problem(n, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    x = rng.normal(np.array([-2.0, 1.0, 5.0])[labels], np.array([1.0, 0.5, 2.0])[labels])
    start = {"weights": np.full(3, 1 / 3), "means": np.array([-1.0, 0.0, 3.0]), "vars": np.ones(3)}
    return x, start


def best_time(fn):
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def main():
    common = {"tol": 0.0, "max_iter": ITERATIONS, "reg_covar": 1e-6}
    print(f"EM, K=3, {ITERATIONS} iterations from the same start, best of {REPEATS}")
    print(
        f"{'N':>9}  {'gmm_bayes ms/iter':>17}  {'sklearn ms/iter':>15}  {'speed-up':>8}  max|dmu|"
    )
    for n in (10**5, 10**6):
        x, s = problem(n)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tol=0 never "converges": expected here
            t_ours, ours = best_time(
                lambda x=x, s=s: gb.fit_em(
                    x,
                    3,
                    weights_init=s["weights"],
                    means_init=s["means"],
                    variances_init=s["vars"],
                    **common,
                )
            )
            t_sk, sk = best_time(
                lambda x=x, s=s: gb.fit_sklearn(
                    x,
                    3,
                    weights_init=s["weights"],
                    means_init=s["means"],
                    precisions_init=1 / s["vars"],
                    **common,
                )
            )
        diff = np.max(np.abs(ours.means - sk.means))
        print(
            f"{n:>9}  {1e3 * t_ours / ITERATIONS:>17.1f}  {1e3 * t_sk / ITERATIONS:>15.1f}  "
            f"{t_sk / t_ours:>7.1f}x  {diff:.1e}"
        )


if __name__ == "__main__":
    main()
