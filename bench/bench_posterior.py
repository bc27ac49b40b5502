"""Time to posterior: nutpie vs PyMC's NUTS, with vs without the EM warm start; large data.

Three tables (``make bench`` prints all three, about 8 minutes on 2 cores):

1. ``speed``: for galaxy, K=3..5, each sampler and start, the wall time from data to posterior
   draws (EM fit when warm-started, model build, compilation and sampling; 4 chains x 1000
   tuning + 1000 draws), the minimum bulk ESS over w, mu, sigma, min ESS per second,
   divergences and max R-hat. "Without warm start" is each sampler's own default start (PyMC's
   support point plus jitter).
2. ``large``: ``gb.sample_posterior`` (nutpie, warm-started, 4 chains x 1000 + 1000) at 82,
   272, 1e4, 1e5 and 1e6 points with the exact likelihood over every observation, the exact
   likelihood over distinct values with counts ("compressed": faithful's whole minutes, and
   synthetic data rounded to 0.01) and the binned likelihood; wall time, compile and sampling
   time, min bulk ESS per second. The exact likelihood over all of 1e6 distinct values is not
   run (about 15 minutes of sampling, extrapolated from 1e5: about 1.5 minutes).
   Then the binned likelihood's error: its posterior means against the exact posterior's, in
   exact posterior sds, directly (the two runs, same seed) and by importance weights
   ``p_binned / p_exact`` on the exact draws (no Monte Carlo error from a second run), and the
   relative error of its log-likelihood at EM's estimate (what ``check_model``'s
   ``BINNED_CHECK_RTOL`` of 1e-5 must allow).
3. ``compile``: compile vs sampling time per K = 1..6, galaxy first (each K compiled), then
   faithful (the same compiled models, new data swapped in).
4. ``smc``: galaxy K = 1..6, ``sampler="smc"`` (4 runs x 1000 particles) beside NUTS (nutpie,
   compiled first) in the same process: sampling seconds of each and their ratio (the number
   that depends least on the load), the SMC call's CPU and wall seconds (with EM check,
   pointwise groups and diagnostics), and the largest difference of a mode's weight between
   two seeds.
5. ``evidence``: ``gb.log_evidence(x, K, preset="fast")`` for every data set and K the report
   shows: value, se, wall and CPU seconds, and the total.

``--quality`` instead prints the diagnostics of ``gb.sample_posterior`` with default settings on
the issue's target data sets (faithful K=2, geyser_duration K=2 and 3, galaxy K=3..5), and
whether EM's estimate lies inside the posterior 94% interval of every parameter.

Measurements behind the Bayesian layer's defaults (recorded when they were chosen; the tables
above re-measure what they can):

- ``--only smc evidence`` (AMD EPYC, 2 cores, load average 8 to 13 from other jobs, so wall
  times are 2-5x the CPU times): SMC sampling 7-19 s wall, 2.3-6.9 CPU s per K = 1..6 (K=4:
  5.8 CPU s), 3-13x nutpie's sampling time in the same process; mode weights of two seeds
  (1, 1001) within 0.030 / 0.000 / 0.012 / 0.089 / 0.007 for K = 2..6 (K=5 is the hard case:
  0.031 with seeds 0, 1; its runs' own spread is about 0.1). 60 moves per stage, chosen over
  30: at 30 the K=5 and K=6 tables split one mode differently between seeds. PyMC's
  ``pm.sample_smc`` (IMH kernel) on K=4 put 0.89 and 0.53 on the heaviest mode with two seeds,
  at 11 CPU s against the own runs' 8. ``log_evidence(preset="fast")`` for the 17 K of the
  report's data sets: 32 CPU s in all (0.3-5 s per K), se 0.02-0.08 except geyser_duration
  K=4 (0.24, the heap at 4.000); galaxy K = 1, 2, 3 at -248.933, -235.234, -223.629 against
  the "precise" preset's -248.934, -235.257, -223.651 (se 0.014-0.039) and quadrature's
  -248.950 at K=1.

- Default priors (``gb.Priors()``): sampling the ``--quality`` data sets (4 chains x 1000
  draws from EM's estimate) gave no divergences in any run and bulk ESS of about 900 to 3700
  wherever the posterior has one mode. A half-normal prior on ``sigma`` gave divergences on
  galaxy K=4; a heavier-tailed inverse gamma (``alpha=1``) let galaxy K=4 mix worse (R-hat up
  to 1.6); a larger ``beta`` (0.3) brought divergences back. Their price, a small cluster's
  ``sigma`` pulled toward 0.2 sd(x): galaxy's 7-point cluster near 9.7 has EM sigma 0.42
  (0.09 sd(x)) and posterior median about 0.7.
- ``SoftplusOrdered`` (the means' ordered transform): on geyser_duration K=3 (4 chains x 1000
  draws) it gives the middle mean a bulk ESS of about 1100, where PyMC's ``ordered`` transform
  (``log`` of the gaps, coupling every mean to all the gaps below it) gives 200-500.
- ``choose_bin_width`` (a tenth of EM's smallest sd): measured against the exact posterior
  (three components, the binned posterior's means by importance weights on exact draws), such
  bins moved no posterior mean by as much as 1e-4 posterior sd at 1e4 or 1e5 points; bins of
  0.4 sd moved them by up to 6e-4 sd at 1e4 and 8.5e-3 sd at 1e5. Even if the shift grew in
  proportion to N, a tenth would stay within 0.05 posterior sd up to about 1e8 observations.
- ``BINNED_CHECK_RTOL``: at the default bin width the binned log-likelihood at EM's estimate
  was off by about 4e-9 (relative; 1e4 points, three components).
- Per-observation groups (``log_likelihood``, ``posterior_predictive``, ``membership``) on a
  4 x 1000-draw tree, K=3, 2 shared cores: N=272 distinct values 14 / 39 / 72 ms; N=1e4
  2.7 / 2.6 / 0.7 s (before they moved onto ``gmm_bayes.mixture``: 14 / 37 / 76 ms and
  3.6 / 2.6 / 0.7 s).

Run with ``make bench`` or
``python bench/bench_posterior.py [--quality] [--only speed large compile smc evidence]
[--seeds 1 2 3]``.
"""

import argparse
import os
import time
import warnings

import numpy as np

import gmm_bayes as gb

DATA = "galaxy"
KS = (3, 4, 5)
DRAWS = TUNE = 1000
CHAINS = 4
QUALITY_SETS = (
    ("faithful", 2),
    ("geyser_duration", 2),
    ("geyser_duration", 3),
    ("galaxy", 3),
    ("galaxy", 4),
    ("galaxy", 5),
)


def _quiet():
    import logging

    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
    logging.getLogger("pymc").setLevel(logging.ERROR)


def _summary(post, stats):
    import arviz_stats as azs

    post = post[["w", "mu", "sigma"]]
    ess = min(float(v.min()) for v in azs.ess(post, method="bulk").data_vars.values())
    rhat = max(float(v.max()) for v in azs.rhat(post).data_vars.values())
    return ess, rhat, int(stats["diverging"].sum())


def time_to_posterior(x, k, *, sampler, warm, seed, draws=DRAWS):
    """Wall time and ``(min bulk ESS, max R-hat, divergences)`` of one run."""
    import pymc as pm

    from gmm_bayes.bayes import clear_model_cache
    from gmm_bayes.bayes.maxima import chain_starts, distinct_maxima
    from gmm_bayes.bayes.samplers import SAMPLER_RUNS
    from gmm_bayes.conventions import EM_RESTARTS

    t0 = time.perf_counter()
    model = gb.build_model(x, k)
    opts = {
        "draws": draws,
        "tune": draws,
        "chains": CHAINS,
        "cores": None,
        "sampler": sampler,
        "target_accept": 0.9,
    }
    if warm:
        em = gb.fit_em(x, k, n_init=EM_RESTARTS, random_state=seed)
        maxima = distinct_maxima(em)
        plan = chain_starts(maxima, CHAINS)
        starts = [gb.initial_point(model, maxima[i]) for i in range(max(plan) + 1)]
        clear_model_cache()  # every row pays its compilation, as the cold-start rows do
        tree, _ = SAMPLER_RUNS[sampler](model, starts, plan, opts, seed, False)
    elif sampler == "nutpie":
        import nutpie

        compiled = nutpie.compile_pymc_model(model, backend="numba")
        tree = nutpie.sample(
            compiled,
            draws=draws,
            tune=draws,
            chains=CHAINS,
            seed=seed,
            progress_bar=False,
            save_warmup=False,
            target_accept=0.9,
        )
    else:
        tree = pm.sample(
            draws=draws,
            tune=draws,
            chains=CHAINS,
            random_seed=seed,
            nuts_sampler="pymc",
            target_accept=0.9,
            progressbar=False,
            quiet=True,
            compute_convergence_checks=False,
            model=model,
        )
    wall = time.perf_counter() - t0
    return wall, _summary(tree["posterior"].to_dataset(), tree["sample_stats"].to_dataset())


def warm_up():
    """One small run of every path first, so that no row pays for first-import JIT work."""
    x = gb.load_dataset(DATA)
    for sampler in ("nutpie", "pymc"):
        for warm in (True, False):
            time_to_posterior(x, 2, sampler=sampler, warm=warm, seed=0, draws=50)


def bench_speed(seed):
    x = gb.load_dataset(DATA)
    print(f"# {DATA} (N={x.size}): {CHAINS} chains x ({TUNE} tune + {DRAWS} draws), seed {seed}")
    header = (
        f"{'K':>2} {'sampler':>7} {'start':>8} {'wall s':>7} {'min ESS':>8} "
        f"{'ESS/s':>7} {'div':>4} {'max rhat':>8}"
    )
    print(header)
    print("-" * len(header))
    for k in KS:
        for sampler in ("nutpie", "pymc"):
            for warm in (True, False):
                wall, (ess, rhat, div) = time_to_posterior(
                    x, k, sampler=sampler, warm=warm, seed=seed
                )
                start = "EM" if warm else "default"
                print(
                    f"{k:>2} {sampler:>7} {start:>8} {wall:7.1f} {ess:8.0f} {ess / wall:7.1f} "
                    f"{div:4d} {rhat:8.3f}",
                    flush=True,
                )


TRUE = {"w": [0.3, 0.3, 0.4], "mu": [-5.0, 0.0, 6.0], "sigma": [1.0, 0.5, 1.5]}


def synthetic(n, seed=0, decimals=None):
    """``n`` draws from the three-component mixture TRUE, optionally rounded."""
    rng = np.random.default_rng(seed)
    label = rng.choice(3, p=TRUE["w"], size=n)
    x = rng.normal(np.array(TRUE["mu"])[label], np.array(TRUE["sigma"])[label])
    return x if decimals is None else np.round(x, decimals)


def _large_cases():
    """(label, data, K, sample_posterior keyword arguments) of the large-data table."""
    galaxy, faithful = gb.load_dataset("galaxy"), gb.load_dataset("faithful")
    x4, x5, x6 = synthetic(10_000), synthetic(100_000), synthetic(1_000_000)
    r4, r6 = synthetic(10_000, decimals=2), synthetic(1_000_000, decimals=2)
    return [
        ("galaxy", galaxy, 3, {}),
        ("galaxy", galaxy, 3, {"likelihood": "binned"}),
        ("faithful", faithful, 2, {"compress": False}),
        ("faithful", faithful, 2, {}),
        ("synthetic", x4, 3, {}),
        ("synthetic", x4, 3, {"likelihood": "binned"}),
        ("rounded 0.01", r4, 3, {}),
        ("synthetic", x5, 3, {}),
        ("synthetic", x5, 3, {"likelihood": "binned"}),
        ("synthetic", x6, 3, {"likelihood": "binned"}),
        ("rounded 0.01", r6, 3, {}),
        ("rounded 0.01", r6, 3, {"likelihood": "binned"}),
    ]


def _kind(tree):
    if tree.attrs["likelihood"] == "binned":
        return "binned"
    return "compressed" if tree.attrs["compressed"] else "exact"


def bench_large(seed):
    print(f"\n# large data: gb.sample_posterior, nutpie, {CHAINS} chains x ({TUNE} + {DRAWS})")
    header = (
        f"{'data':>12} {'N':>8} {'K':>2} {'likelihood':>10} {'terms':>7} {'wall s':>7} "
        f"{'compile':>8} {'sample s':>8} {'min ESS':>7} {'ESS/s':>7} {'ESS/wall s':>10} "
        f"{'div':>3} {'rhat':>5}"
    )
    print(header)
    print("-" * len(header))
    runs = {}
    for label, x, k, kwargs in _large_cases():
        t0 = time.perf_counter()
        tree = gb.sample_posterior(x, k, random_seed=seed, **kwargs)
        wall = time.perf_counter() - t0
        d, a = tree["diagnostics"], tree.attrs
        ess = float(d["min_ess_bulk"])
        cached = " (c)" if a["compile_cache_hit"] else ""
        print(
            f"{label:>12} {x.size:>8.0e} {k:>2} {_kind(tree):>10} {a['n_likelihood_terms']:>7} "
            f"{wall:7.1f} {a['compile_seconds']:>4.1f}{cached:<4} {a['sampling_seconds']:8.1f} "
            f"{ess:7.0f} {ess / a['sampling_seconds']:7.0f} {ess / wall:10.1f} "
            f"{int(d['n_divergent']):3d} {float(d['max_rhat']):5.3f}",
            flush=True,
        )
        runs[(label, x.size, _kind(tree))] = (x, k, tree)
    exact_1e5 = runs[("synthetic", 100_000, "exact")][2].attrs["sampling_seconds"]
    print(
        f"{'synthetic':>12} {1e6:>8.0e}  3 {'exact':>10} {1_000_000:>7}  not run: each leapfrog "
        f"step evaluates all 1e6 points, about {10 * exact_1e5 / 60:.0f} min of sampling "
        "(10 x the 1e5 row)"
    )
    print(
        "\n# binned vs exact posterior means, max over w, mu, sigma, in exact posterior sds\n"
        "# direct: the two runs above (same seed: while the two densities are this close the\n"
        "# chains stay coupled, so the Monte Carlo error is usually far below 'indep s.e.', that\n"
        "# of two independent runs); IS: importance weights p_binned / p_exact on exact draws;\n"
        "# loglik err: relative error of the binned log-likelihood at EM's estimate"
    )
    header = (
        f"{'data':>12} {'N':>8} {'bin width':>9} {'direct':>7} {'indep s.e.':>10} {'IS':>8} "
        f"{'loglik err':>10}"
    )
    print(header)
    print("-" * len(header))
    for label, n, reference in (
        ("synthetic", 10_000, "exact"),
        ("synthetic", 100_000, "exact"),
        ("rounded 0.01", 1_000_000, "compressed"),
    ):
        x, k, exact = runs[(label, n, reference)]
        binned = runs[(label, n, "binned")][2]
        direct, se = _direct_shift(exact, binned)
        width = binned.attrs["bin_width"]
        print(
            f"{label:>12} {n:>8.0e} {width:9.4f} {direct:7.3f} {se:10.3f} "
            f"{_is_shift(x, k, exact, width):8.1e} {_loglik_error(x, k, exact, width):10.1e}",
            flush=True,
        )


def _direct_shift(exact, binned):
    """``max |mean_binned - mean_exact| / sd_exact`` and its Monte Carlo s.e. (same units)."""
    worst = 0.0
    for name in ("w", "mu", "sigma"):
        a, b = exact["posterior"][name], binned["posterior"][name]
        sd = a.std(("chain", "draw")).values
        shift = np.abs(b.mean(("chain", "draw")).values - a.mean(("chain", "draw")).values) / sd
        worst = max(worst, float(shift.max()))
    ess = min(
        float(exact["diagnostics"]["min_ess_bulk"]), float(binned["diagnostics"]["min_ess_bulk"])
    )
    return worst, float(np.sqrt(2.0 / ess))


def _is_shift(x, k, exact, width, n_draws=1000):
    """The binned posterior's means from the exact draws by importance weights
    ``p_binned / p_exact``: max shift over w, mu, sigma, in exact posterior sds."""
    from gmm_bayes.bayes.model import build_model, to_value_space

    models = [build_model(x, k), build_model(x, k, likelihood="binned", bin_width=width)]
    logps = [m.compile_logp() for m in models]
    post = exact["posterior"]
    draws = {name: _flat(post[name]) for name in ("w", "mu", "sigma")}
    pick = np.linspace(0, len(draws["w"]) - 1, n_draws).round().astype(int)
    log_ratio = np.empty(pick.size)
    for i, j in enumerate(pick):
        point = {name: values[j] for name, values in draws.items()}
        exact_, binned = (
            float(f(to_value_space(m, point))) for f, m in zip(logps, models, strict=True)
        )
        log_ratio[i] = binned - exact_
    weights = np.exp(log_ratio - log_ratio.max())
    weights /= weights.sum()
    worst = 0.0
    for values in draws.values():
        values = values[pick]
        shift = np.abs(weights @ values - values.mean(axis=0)) / values.std(axis=0)
        worst = max(worst, float(shift.max()))
    return worst


def _loglik_error(x, k, exact, width):
    """Relative error of the binned log-likelihood at the EM estimate stored in ``exact``."""
    from gmm_bayes.bayes.model import build_model, to_value_space

    em = exact["em"]
    model = build_model(x, k, likelihood="binned", bin_width=width)
    logp = model.compile_logp(vars=[model["y"]], jacobian=False)
    point = {name: em[name].values for name in ("w", "mu", "sigma")}
    exact_ll = em.attrs["log_likelihood"]
    return abs(float(logp(to_value_space(model, point))) - exact_ll) / abs(exact_ll)


def _flat(da):
    values = da.transpose("chain", "draw", ...).values
    return values.reshape(-1, *values.shape[2:])


def bench_compile(seed, ks=range(1, 7)):
    """Compile vs sampling time per K: galaxy compiles each K, faithful reuses them."""
    from gmm_bayes.bayes import clear_model_cache

    print(f"\n# compile vs sample per K (gb.sample_posterior, {CHAINS} x ({TUNE} + {DRAWS}))")
    header = (
        f"{'data':>9} {'K':>2} {'compile s':>9} {'cached':>6} {'sample s':>8} {'other s':>7} "
        f"{'wall s':>6}"
    )
    print(header)
    print("-" * len(header))
    clear_model_cache()
    totals = {}
    for name in ("galaxy", "faithful"):
        x = gb.load_dataset(name)
        for k in ks:
            t0 = time.perf_counter()
            tree = gb.sample_posterior(x, k, random_seed=seed)
            wall = time.perf_counter() - t0
            a = tree.attrs
            other = wall - a["compile_seconds"] - a["sampling_seconds"]
            totals[name] = totals.get(name, 0.0) + wall
            print(
                f"{name:>9} {k:>2} {a['compile_seconds']:9.2f} "
                f"{'yes' if a['compile_cache_hit'] else 'no':>6} {a['sampling_seconds']:8.2f} "
                f"{other:7.2f} {wall:6.1f}",
                flush=True,
            )
    print("totals: " + ", ".join(f"{n} K=1..{max(ks)} {t:.1f} s" for n, t in totals.items()))


def bench_quality(seeds):
    header = (
        f"{'data':>15} {'K':>2} {'seed':>4} {'div':>4} {'max rhat':>8} {'bulk ESS':>8} "
        f"{'tail ESS':>8} {'BFMI':>5} {'EM in 94%':>9} {'wall s':>6}  status"
    )
    print(header)
    print("-" * len(header))
    for name, k in QUALITY_SETS:
        x = gb.load_dataset(name)
        for seed in seeds:
            t0 = time.perf_counter()
            tree = gb.sample_posterior(x, k, random_seed=seed)
            wall = time.perf_counter() - t0
            d = tree["diagnostics"]
            inside = _em_inside(tree)
            print(
                f"{name:>15} {k:>2} {seed:>4} {int(d['n_divergent']):4d} "
                f"{float(d['max_rhat']):8.3f} {float(d['min_ess_bulk']):8.0f} "
                f"{float(d['min_ess_tail']):8.0f} {float(d['bfmi'].min()):5.2f} "
                f"{'yes' if inside else 'no':>9} {wall:6.1f}  {d.attrs['status']}",
                flush=True,
            )


def _em_inside(tree, prob=0.94):
    """Whether EM's estimate lies inside the equal-tailed ``prob`` interval of every parameter."""
    post, em = tree["posterior"], tree["em"]
    tail = (1 - prob) / 2
    for name in ("w", "mu", "sigma"):
        lo, hi = post[name].quantile([tail, 1 - tail], dim=("chain", "draw")).values
        value = em[name].values
        if np.any(value < lo) or np.any(value > hi):
            return False
    return True


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            names = [line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")]
    except OSError:
        names = []
    return f"{names[0] if names else 'unknown CPU'} x {os.cpu_count()} logical CPUs"


def _matched_weights(table):
    """Mode weight keyed by the EM maximum it matches, or by its rounded means (a mode EM did
    not find), so that two runs' tables can be compared."""
    keys = [
        f"em{int(e)}" if e >= 0 else "mu" + ",".join(f"{v:.0f}" for v in mu)
        for e, mu in zip(table["em_maximum"].values, table["mu"].values, strict=True)
    ]
    out = {}
    for key, weight in zip(keys, table["weight"].values, strict=True):
        out[key] = out.get(key, 0.0) + float(weight)
    return out


def bench_smc(seed, ks=range(1, 7)):
    """SMC (``sampler="smc"``) beside NUTS per K on galaxy, and the seed agreement of the mode
    weights (the issue's target: within 0.05 between two seeds)."""
    from gmm_bayes.bayes import posterior_modes

    x = gb.load_dataset(DATA)
    print(
        f"\nSMC vs NUTS on {DATA} (4 runs x 1000 particles; 4 chains x 1000 + 1000), {_cpu_model()}"
    )
    print(
        f"{'K':>2} {'NUTS s':>7} {'SMC s':>7} {'SMC cpu':>8} {'ratio':>6} {'total s':>8} "
        f"{'max |dw|':>9}  status"
    )
    for k in ks:
        em = gb.fit_em(x, k, random_state=seed)
        gb.sample_posterior(x, k, em=em, draws=50, tune=50, random_seed=seed)  # compile
        nuts = gb.sample_posterior(x, k, em=em, random_seed=seed)
        t0, c0 = time.perf_counter(), time.process_time()
        first = gb.sample_posterior(x, k, em=em, sampler="smc", random_seed=seed)
        total, cpu = time.perf_counter() - t0, time.process_time() - c0
        second = gb.sample_posterior(x, k, em=em, sampler="smc", random_seed=seed + 1000)
        a, b = (_matched_weights(posterior_modes(t)) for t in (first, second))
        diff = max(abs(a.get(key, 0.0) - b.get(key, 0.0)) for key in set(a) | set(b))
        smc_s, nuts_s = first.attrs["sampling_seconds"], nuts.attrs["sampling_seconds"]
        print(
            f"{k:>2} {nuts_s:>7.1f} {smc_s:>7.1f} {cpu:>8.1f} {smc_s / nuts_s:>6.1f} "
            f"{total:>8.1f} {diff:>9.3f}  {first['diagnostics'].attrs['status']} / "
            f"{second['diagnostics'].attrs['status']}",
            flush=True,
        )


EVIDENCE_SETS = (("galaxy", 6), ("faithful", 4), ("geyser_duration", 4), ("seed_notebook", 3))


def bench_evidence(seed):
    """``log_evidence(preset="fast")`` for every K the report shows: value, se, time."""
    print(f"\nlog_evidence(preset='fast') per K, {_cpu_model()}")
    print(f"{'data':<16} {'K':>2} {'log p(y|K)':>11} {'se':>6} {'wall s':>7} {'cpu s':>6}")
    total_wall = total_cpu = 0.0
    for name, max_k in EVIDENCE_SETS:
        x = gb.load_dataset(name)
        for k in range(1, max_k + 1):
            t0, c0 = time.perf_counter(), time.process_time()
            ev = gb.log_evidence(x, k, random_seed=seed, preset="fast")
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            total_wall, total_cpu = total_wall + wall, total_cpu + cpu
            print(
                f"{name:<16} {k:>2} {ev.log_ml:>11.3f} {ev.se:>6.3f} {wall:>7.1f} {cpu:>6.1f}",
                flush=True,
            )
    print(f"total: {total_wall:.0f} s wall, {total_cpu:.0f} s CPU")


PARTS = ("speed", "large", "compile", "smc", "evidence")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quality", action="store_true", help="diagnostics table instead")
    parser.add_argument("--only", nargs="+", choices=PARTS, default=PARTS, help="tables to print")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    args = parser.parse_args(argv)
    _quiet()
    if args.quality:
        bench_quality(args.seeds)
        return
    print(f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
    t0 = time.perf_counter()
    warm_up()
    for seed in args.seeds:
        if "speed" in args.only:
            bench_speed(seed)
        if "large" in args.only:
            bench_large(seed)
        if "compile" in args.only:
            bench_compile(seed)
        if "smc" in args.only:
            bench_smc(seed)
        if "evidence" in args.only:
            bench_evidence(seed)
    print(
        f"\nload average after: {os.getloadavg()[0]:.2f}; "
        f"posterior benchmark took {time.perf_counter() - t0:.0f} s"
    )


if __name__ == "__main__":
    main()
