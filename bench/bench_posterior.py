"""Time to posterior: nutpie vs PyMC's NUTS, with vs without the EM warm start (galaxy, K=3..5).

For each K, sampler and start it prints the wall time from data to posterior draws (EM fit when
warm-started, model build, compilation and sampling; 4 chains x 1000 tuning + 1000 draws), the
minimum bulk ESS over w, mu, sigma, min ESS per second, divergences and max R-hat.
"Without warm start" is each sampler's own default start (PyMC's support point plus jitter).

``--quality`` instead prints the diagnostics of ``gb.sample_posterior`` with default settings on
the issue's target data sets (faithful K=2, geyser_duration K=2 and 3, galaxy K=3..5), and
whether EM's estimate lies inside the posterior 94% interval of every parameter.

Run with ``make bench`` (a few minutes on 2 cores) or
``python bench/bench_posterior.py [--quality] [--seeds 1 2 3]``.
"""

import argparse
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

    from gmm_bayes import posterior as gp

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
        em = gb.fit_em(x, k, n_init=gp.EM_RESTARTS, random_state=seed)
        maxima = gp.distinct_maxima(em)
        plan = gp.chain_starts(maxima, CHAINS)
        starts = [gb.initial_point(model, maxima[i]) for i in range(max(plan) + 1)]
        run = gp._sample_nutpie if sampler == "nutpie" else gp._sample_pymc
        tree = run(model, starts, plan, opts, seed, False)
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


def bench_quality(seeds):
    header = (
        f"{'data':>15} {'K':>2} {'seed':>4} {'div':>4} {'max rhat':>8} {'bulk ESS':>8} "
        f"{'tail ESS':>8} {'BFMI':>5} {'EM in 94%':>9} {'wall s':>6}  verdict"
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
                f"{'yes' if inside else 'no':>9} {wall:6.1f}  {d.attrs['verdict'].split(':')[0]}",
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quality", action="store_true", help="diagnostics table instead")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    args = parser.parse_args(argv)
    _quiet()
    if args.quality:
        bench_quality(args.seeds)
    else:
        warm_up()
        for seed in args.seeds:
            bench_speed(seed)


if __name__ == "__main__":
    main()
