"""EM speed and scale: gmm_bayes.fit_em against scikit-learn, measured side by side in one run.

First the default fit (the search for the best maximum, :mod:`gmm_bayes.em.search`) on the
bundled data sets, K = 1..6: its time and log-likelihood beside scikit-learn's default
``GaussianMixture`` fit and, with ``--before PATH`` (a checkout of the package before the
search, e.g. ``git archive <commit> gmm_bayes | tar -x -C PATH``), the previous default.
``--defaults`` runs that table only (about a minute).

Same data, same start (weights, means, precisions), same number of iterations (tol=0, fixed
max_iter), K=3. For each N it prints the time of one EM iteration (from fits of 1 and of I
iterations: (t_I - t_1) / (I - 1)) and of the whole fit of I iterations, which includes all the
O(N) set-up (validation, median and quartiles, standardization), and the ratios. Then the peak
memory of fit_em at 1e7 points, and EM on a dask array on a 2-worker LocalCluster.

Run with `make bench` (about 2 minutes). scikit-learn's BLAS is slower while OPENBLAS_CORETYPE
is set (see the note printed); the README's numbers come from
`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE make bench`. Past results, and the measurements
behind the EM kernel's design: bench/README.md.
"""

import functools
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings

import numpy as np

import gmm_bayes as gb

ITERATIONS = 20
#: scikit-learn takes seconds per iteration at 1e7: fewer iterations there, total extrapolated
SKLEARN_ITERATIONS_1E7 = 3
#: best of this many fits (one fewer at 1e7); ours are cheap, so more of them against the noise
REPEATS = {"ours": 5, "sklearn": 3}
SIZES = (10**4, 10**5, 10**6, 10**7)
K = 3
#: bundled data sets of the default-fit table (galaxy_mass is galaxy in other units)
DEFAULT_FIT_DATA = ("galaxy", "faithful", "geyser_duration", "geyser_waiting", "seed_notebook")
DEFAULT_FIT_KS = range(1, 7)
DEFAULT_FIT_REPEATS = 3


def problem(n, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.choice(K, size=n, p=[0.5, 0.3, 0.2])
    x = rng.normal(np.array([-2.0, 1.0, 5.0])[labels], np.array([1.0, 0.5, 2.0])[labels])
    start = {"weights": np.full(K, 1 / K), "means": np.array([-1.0, 0.0, 3.0]), "vars": np.ones(K)}
    return x, start


def best_time(fn, repeats):
    """Best wall time of ``repeats`` calls, and the last result."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def fit_ours(x, s, iterations):
    return gb.fit_em(
        x,
        K,
        weights_init=s["weights"],
        means_init=s["means"],
        variances_init=s["vars"],
        tol=0.0,
        max_iter=iterations,
        reg_covar=1e-6,
    )


def fit_theirs(x, s, iterations):
    """scikit-learn's GaussianMixture as gb.fit_sklearn runs it; sorted (w, mu, var)."""
    from sklearn.mixture import GaussianMixture

    gm = GaussianMixture(
        K,
        covariance_type="full",
        weights_init=s["weights"],
        means_init=s["means"][:, None],
        precisions_init=(1 / s["vars"])[:, None, None],
        tol=0.0,
        max_iter=iterations,
        reg_covar=1e-6,
    ).fit(x[:, None])
    order = np.argsort(gm.means_[:, 0])
    return gm.weights_[order], gm.means_[order, 0], gm.covariances_[order, 0, 0]


def max_difference(ours, theirs):
    return max(np.max(np.abs(a - b)) for a, b in zip(ours, theirs, strict=True))


def per_iteration(fit, x, s, iterations, repeats):
    """``(seconds per iteration, seconds for the whole fit, result)``."""
    t1, _ = best_time(lambda: fit(x, s, 1), repeats)
    t_all, result = best_time(lambda: fit(x, s, iterations), repeats)
    return (t_all - t1) / (iterations - 1), t_all, result


def measure(library, n):
    """One library at one N, in this process: per-iteration and fit times, the estimates."""
    x, s = problem(n)
    big = n >= 10**7
    iterations = SKLEARN_ITERATIONS_1E7 if big and library == "sklearn" else ITERATIONS
    fit = fit_ours if library == "ours" else fit_theirs
    repeats = REPEATS[library] - (1 if big else 0)
    per_iter, total, _ = per_iteration(fit, x, s, iterations, repeats)
    total += (ITERATIONS - iterations) * per_iter  # extrapolated (scikit-learn at 1e7 only)
    result = fit(x, s, SKLEARN_ITERATIONS_1E7 if big else ITERATIONS)
    if library == "ours":
        result = (result.weights, result.means, result.variances)
    return {"per_iter": per_iter, "total": total, "params": [list(p) for p in result]}


def measure_apart(library, n):
    """:func:`measure` in a fresh process: neither library's idle threads (OpenBLAS and OpenMP
    spin for a while after each call) steal the 2 cores from the other's timing."""
    out = subprocess.run(
        [sys.executable, __file__, "--measure", library, str(n)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def em_table():
    ours, theirs = REPEATS["ours"], REPEATS["sklearn"]
    print(f"\nEM, K={K}, from the same start, tol=0; each library in its own process; best of")
    print(f"{ours} (ours) and {theirs} (scikit-learn) fits, one fewer at 1e7; ms")
    print(
        f"{'N':>9} | {'ours/iter':>9} {'sklearn/iter':>12} {'ratio':>6} | "
        f"{'ours fit':>8} {'sklearn fit':>11} {'ratio':>6} | max|diff|"
    )
    for n in SIZES:
        ours, theirs = measure_apart("ours", n), measure_apart("sklearn", n)
        diff = max_difference(
            [np.array(p) for p in ours["params"]], [np.array(p) for p in theirs["params"]]
        )
        mark = "*" if n >= 10**7 else " "
        print(
            f"{n:>9.0e} | {1e3 * ours['per_iter']:>9.1f} {1e3 * theirs['per_iter']:>12.1f} "
            f"{theirs['per_iter'] / ours['per_iter']:>5.0f}x | {1e3 * ours['total']:>8.0f} "
            f"{1e3 * theirs['total']:>10.0f}{mark} {theirs['total'] / ours['total']:>5.0f}x | "
            f"{diff:.1e}"
        )
    print(
        f"fit = {ITERATIONS} iterations with all set-up. * scikit-learn ran "
        f"{SKLEARN_ITERATIONS_1E7} iterations at 1e7 (its fit time extrapolated to "
        f"{ITERATIONS}); max|diff| of weights, means, variances after the same iterations "
        f"({SKLEARN_ITERATIONS_1E7} at 1e7)."
    )


def peak_memory(n=10**7):
    x, s = problem(n)
    fit_ours(x[:100_000], s, 2)  # imports and compiled code loaded before measuring
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gb.fit_em(x[:300_000], K, n_init=1, max_iter=2, random_state=0)
    print(f"\nPeak memory of fit_em at N={n:.0e} (data {x.nbytes / 2**20:.0f} MiB), numpy via")
    print("tracemalloc: data plus everything fit_em allocates at its peak, in units of the data")
    for label, fn in [
        ("same start, 20 iterations", lambda: fit_ours(x, s, ITERATIONS)),
        ("k-means++ start, n_init=1", lambda: gb.fit_em(x, K, n_init=1, random_state=0)),
    ]:
        tracemalloc.start()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"  {label:<28} {1 + peak / x.nbytes:.2f}x")


def dask_rows(n=10**7, chunk=10**6):
    import dask.array as da
    import distributed
    import zarr

    x, s = problem(n)
    in_memory_iter, in_memory_total, ref = per_iteration(fit_ours, x, s, ITERATIONS, 2)
    print(f"\nEM on a dask array, N={n:.0e} in {n // chunk} chunks, {ITERATIONS} iterations; ms")
    print(f"{'where':<44} {'per iter':>8} {'fit':>7}  max|diff| vs in memory")
    label = "in memory (numpy array)"
    print(f"{label:<44} {1e3 * in_memory_iter:>8.1f} {1e3 * in_memory_total:>7.0f}")

    def row(label, darr):
        per_iter, total, fit = per_iteration(fit_ours, darr, s, ITERATIONS, 2)
        diff = max_difference(
            (fit.weights, fit.means, fit.variances), (ref.weights, ref.means, ref.variances)
        )
        print(f"{label:<44} {1e3 * per_iter:>8.1f} {1e3 * total:>7.0f}  {diff:.1e}")

    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=False,
            protocol="tcp://",
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster),
    ):
        darr = da.from_array(x, chunks=chunk).persist()
        distributed.wait(darr)
        row("LocalCluster 2 workers x 1 thread, persisted", darr)
        del darr
    with tempfile.TemporaryDirectory() as tmp:
        store = zarr.create_array(f"{tmp}/x.zarr", shape=x.shape, chunks=(chunk,), dtype="f8")
        store[:] = x
        row("Zarr on local disk, threaded scheduler", da.from_zarr(f"{tmp}/x.zarr"))


def measure_defaults(library):
    """Best-of-``DEFAULT_FIT_REPEATS`` seconds and the log-likelihood of the default fit (ours:
    ``fit_em(x, K, random_state=0)``; scikit-learn: ``fit_sklearn(x, K, random_state=0)``)."""
    fit = gb.fit_em if library == "ours" else gb.fit_sklearn
    fit(gb.load_dataset("galaxy"), 2, random_state=0)  # imports before timing
    rows = {}
    for name in DEFAULT_FIT_DATA:
        x = gb.load_dataset(name)
        for k in DEFAULT_FIT_KS:
            seconds, result = best_time(
                functools.partial(fit, x, k, random_state=0), DEFAULT_FIT_REPEATS
            )
            rows[f"{name}/{k}"] = {
                "seconds": seconds,
                "ll": float(result.log_likelihood),
                "collapsed": bool(result.degenerate),
            }
    return rows


def measure_defaults_apart(library, tree=None):
    """:func:`measure_defaults` in a fresh process, importing gmm_bayes from ``tree`` if given."""
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = os.pathsep.join([tree, env.get("PYTHONPATH", "")])
    out = subprocess.run(
        [sys.executable, __file__, "--measure-defaults", library],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=tree or os.getcwd(),
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def default_fit_table(before=None):
    ours, sklearn = measure_defaults_apart("ours"), measure_defaults_apart("sklearn")
    old = measure_defaults_apart("ours", before) if before else None
    print(f"\nDefault fit, K = 1..6 on the bundled data; best of {DEFAULT_FIT_REPEATS}, ms;")
    print("log-likelihood (* a collapsed fit)")
    head = f"{'data':<16} {'K':>1} | {'ours':>6} {'sklearn':>7}"
    head += f" {'before':>6} |" if old else " |"
    head += f" {'ll ours':>10} {'ll sklearn':>11}" + (f" {'ll before':>10}" if old else "")
    print(head)
    totals = {"ours": 0.0, "sklearn": 0.0, "before": 0.0}
    for key in ours:
        name, k = key.split("/")
        tables = {"ours": ours, "sklearn": sklearn, **({"before": old} if old else {})}
        times = {label: 1e3 * t[key]["seconds"] for label, t in tables.items()}
        lls = {
            label: f"{t[key]['ll']:.3f}{'*' if t[key]['collapsed'] else ' '}"
            for label, t in tables.items()
        }
        for label, ms in times.items():
            totals[label] += ms
        line = f"{name:<16} {k:>1} | {times['ours']:>6.0f} {times['sklearn']:>7.0f}"
        line += f" {times['before']:>6.0f} |" if old else " |"
        line += f" {lls['ours']:>10} {lls['sklearn']:>11}" + (
            f" {lls['before']:>10}" if old else ""
        )
        print(line)
    summary = f"total ms: ours {totals['ours']:.0f}, scikit-learn {totals['sklearn']:.0f}"
    print(summary + (f", before {totals['before']:.0f}" if old else ""))


def load_average():
    one, five, fifteen = os.getloadavg()
    print(f"load average (1, 5, 15 min): {one:.2f} {five:.2f} {fifteen:.2f}")


def environment():
    import numba
    from threadpoolctl import threadpool_info

    blas = [(i.get("internal_api"), i.get("architecture")) for i in threadpool_info()]
    print(f"{os.cpu_count()} cores; numba {numba.__version__}, {numba.get_num_threads()} threads")
    print(f"BLAS for scikit-learn: {blas}")
    if os.environ.get("OPENBLAS_CORETYPE"):
        print(
            f"note: OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']} is set, which slows "
            "scikit-learn here; for the README's numbers run "
            "`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE make bench`"
        )


def main():
    warnings.simplefilter("ignore")  # tol=0 never "converges": expected here
    if sys.argv[1:2] == ["--measure"]:
        print(json.dumps(measure(sys.argv[2], int(sys.argv[3]))))
        return
    if sys.argv[1:2] == ["--measure-defaults"]:
        print(json.dumps(measure_defaults(sys.argv[2])))
        return
    before = sys.argv[sys.argv.index("--before") + 1] if "--before" in sys.argv else None
    # on a shared machine other processes' load distorts every number: shown before and after
    load_average()
    t0 = time.perf_counter()
    default_fit_table(before)
    if "--defaults" in sys.argv:
        load_average()
        return
    em_table()
    peak_memory()
    dask_rows()
    environment()  # after the fits: numba and the BLAS are loaded by then
    load_average()
    print(f"\nbench_em: {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
