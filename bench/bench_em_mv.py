"""Multivariate EM speed: gmm_bayes.em.multivariate.run_em_mv against scikit-learn, one run.

1e6 rows, d = 2 and d = 5, K = 3, full covariances. Both libraries start from the same weights,
means and covariances (scikit-learn's ``precisions_init`` = their inverses), run the same number
of iterations (tol = 0, fixed max_iter) with the same ``reg_covar``. Per iteration = (fit of I
iterations - fit of 1) / (I - 1), so the set-up (validation, the final log-likelihood, ordering)
cancels; best of ``REPEATS``. The answer: the largest difference of weights, means (relative to
the data's spread) and covariances (relative to the largest entry) after the I iterations.

Second table: the whole default fit, ``gmm_bayes.fit_em(x, K)`` (the search: screened
k-means++ and random starts, insertion from K-1 components, tol 1e-6, equivariant
regularization) against scikit-learn's default ``GaussianMixture(K).fit(x)`` (one k-means
start, tol 1e-3), on Old Faithful 2-D (272 x 2) and on ``WHOLE_N`` x d = 3 rows: wall time,
ratio, and the log-likelihood per row each reaches (the search does more work, for a better
maximum). Best of ``WHOLE_REPEATS``.

Run with ``make bench`` (about a minute). The machine is shared: the load average is printed
before and after, and the ratios are from this one run. scikit-learn's BLAS is slower while
OPENBLAS_CORETYPE is set; ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE`` removes that.
"""

import functools
import os
import platform
import subprocess
import time
import warnings

import numpy as np
from sklearn.mixture import GaussianMixture

import gmm_bayes as gb
from gmm_bayes.em.multivariate import order_components, run_em_mv

N = 10**6
K = 3
DIMENSIONS = (2, 5)
ITERATIONS = 6
REPEATS = {"ours": 3, "sklearn": 1}
REG_COVAR = 1e-6
WHOLE_N = 10**5
WHOLE_REPEATS = 3


def problem(d, seed=0):
    """Rows of a 3-component mixture with correlated components, and a start near it."""
    rng = np.random.default_rng(seed)
    centres = 3 * rng.normal(size=(K, d))
    mix = rng.normal(size=(K, d, d)) * 0.5 + np.eye(d)
    labels = rng.choice(K, size=N, p=[0.5, 0.3, 0.2])
    x = centres[labels] + np.einsum("nd,nde->ne", rng.normal(size=(N, d)), mix[labels])
    start = (np.full(K, 1 / K), centres + 0.5, np.stack([np.cov(x[:1000], rowvar=False)] * K))
    return x, start


def ours(x, start, iterations):
    return run_em_mv(x, *start, tol=0.0, max_iter=iterations, reg_covar=REG_COVAR)


def sklearn(x, start, iterations):
    weights, means, covariances = start
    gm = GaussianMixture(
        K,
        covariance_type="full",
        weights_init=weights,
        means_init=means,
        precisions_init=np.linalg.inv(covariances),
        tol=0.0,
        max_iter=iterations,
        reg_covar=REG_COVAR,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: tol = 0 never converges
        gm.fit(x)
    order = order_components(x, gm.means_)
    return gm.weights_[order], gm.means_[order], gm.covariances_[order]


def best_time(fn, repeats):
    """Best wall time of ``repeats`` calls, and the last result."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def per_iteration(fit, x, start, repeats):
    """ms per iteration, ms of the whole fit of ITERATIONS, and the fit's result."""
    one, _ = best_time(lambda: fit(x, start, 1), repeats)
    whole, result = best_time(lambda: fit(x, start, ITERATIONS), repeats)
    return 1e3 * (whole - one) / (ITERATIONS - 1), 1e3 * whole, result


def whole_fits():
    """Both libraries' default fits: ``(data, K, seconds ours, seconds sklearn, log L per row
    ours, log L per row sklearn)`` per problem."""
    problems = [("faithful2d", np.asarray(gb.load_dataset("faithful2d")), k) for k in (2, 3)]
    big, _ = problem(3)
    problems.append((f"{WHOLE_N:.0e} x 3", big[:WHOLE_N], K))
    rows = []
    for name, x, k in problems:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit_em = functools.partial(gb.fit_em, x, k, random_state=0)
            sk_fit = functools.partial(GaussianMixture(k, random_state=0).fit, x)
            our_time, fit = best_time(fit_em, WHOLE_REPEATS)
            sk_time, gm = best_time(sk_fit, WHOLE_REPEATS)
        rows.append((name, k, our_time, sk_time, fit.log_likelihood / len(x), gm.score(x)))
    return rows


def cpu_model():
    for line in open("/proc/cpuinfo", encoding="utf-8"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def load():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main():
    import numba

    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; numba threads {numba.get_num_threads()}")
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    if coretype:
        print(f"note: OPENBLAS_CORETYPE={coretype} is set (scikit-learn's BLAS is slower)")
    print(f"load before: {load()}")
    x, start = problem(2)
    ours(x[:20000], start, 2)  # compile, or load numba's cache, outside the timings
    print(
        f"N = {N:.0e}, K = {K}, full covariances, {ITERATIONS} iterations from the same start\n"
        "| d | ours ms/iter | scikit-learn ms/iter | ratio | ours fit ms | scikit-learn fit ms "
        "| ratio | max diff (w, mu/sd, cov/max) |\n|---|---|---|---|---|---|---|---|"
    )
    for d in DIMENSIONS:
        x, start = problem(d)
        our_iter, our_fit, run = per_iteration(ours, x, start, REPEATS["ours"])
        sk_iter, sk_fit, (w, mu, cov) = per_iteration(sklearn, x, start, REPEATS["sklearn"])
        sd = x.std(axis=0).max()
        diff = max(
            np.abs(run.weights - w).max(),
            np.abs(run.means - mu).max() / sd,
            np.abs(run.covariances - cov).max() / np.abs(cov).max(),
        )
        print(
            f"| {d} | {our_iter:.1f} | {sk_iter:.0f} | {sk_iter / our_iter:.0f}x | "
            f"{our_fit:.0f} | {sk_fit:.0f} | {sk_fit / our_fit:.0f}x | {diff:.1e} |"
        )
    print(
        "\nWhole default fits: gmm_bayes.fit_em(x, K) vs GaussianMixture(K).fit(x)\n"
        "| data | K | fit_em s | scikit-learn s | time ratio | fit_em log L/row "
        "| scikit-learn log L/row |\n|---|---|---|---|---|---|---|"
    )
    for name, k, our_time, sk_time, our_ll, sk_ll in whole_fits():
        print(
            f"| {name} | {k} | {our_time:.3f} | {sk_time:.3f} | {our_time / sk_time:.1f}x "
            f"| {our_ll:.6f} | {sk_ll:.6f} |"
        )
    print(f"load after: {load()}")


if __name__ == "__main__":
    main()
