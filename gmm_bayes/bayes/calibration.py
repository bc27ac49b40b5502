"""Simulation-based calibration (Talts et al. 2018) of the whole posterior pipeline.

For each of many data sets: draw the parameters from the model's prior, simulate data from
them, fit EM and sample the posterior exactly as :func:`gmm_bayes.sample_posterior` does, and
record the rank of every true value among ``n_ranks`` thinned posterior draws. When the
sampler draws from the posterior the model defines, each rank is uniform on ``0..n_ranks``
(Talts et al. 2018, Theorem 1); a U shape means too narrow posteriors, a hump too wide ones,
a slope a biased one.

- :func:`simulation_based_calibration` runs it (in a process pool if asked) and returns the
  ranks as an ``xarray.Dataset``;
- :func:`posterior_ranks` is the rank of a true value among draws;
- :func:`rank_uniformity` tests each rank's uniformity (chi-square on binned ranks, scipy;
  and ArviZ's ``pot_c`` ECDF test on randomized PIT values);
- :func:`plot_rank_histograms` draws one rank histogram per quantity with the band a uniform
  rank fills.

The prior must not depend on the data (the identity above needs the same prior for simulating
and fitting), while the default :class:`gmm_bayes.Priors` are anchored at the data's mean and
sd; calibration therefore uses the default family anchored at fixed numbers
(``Priors(loc=0.0, scale=1.0)`` by default), the same model the default priors give for data
of mean 0 and sd 1.
"""

import time
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import xarray as xr
from scipy import stats

from gmm_bayes._validation import as_int
from gmm_bayes.bayes.model import build_model
from gmm_bayes.bayes.priors import Priors
from gmm_bayes.bayes.sampling import sample_posterior
from gmm_bayes.conventions import PARAMS
from gmm_bayes.em import fit_em
from gmm_bayes.mixture import log_density, univariate

__all__ = [
    "CALIBRATION_PRIORS",
    "RANKED",
    "plot_rank_histograms",
    "posterior_ranks",
    "prior_draws",
    "rank_uniformity",
    "simulation_based_calibration",
]

#: the default prior family at fixed anchors: what the default priors are for data of mean 0, sd 1
CALIBRATION_PRIORS = Priors(loc=0.0, scale=1.0)
#: the ranked quantities, in the order of every table and figure
RANKED = (*PARAMS, "log_likelihood")


def simulation_based_calibration(
    n_components,
    n_datasets=200,
    n_obs=100,
    *,
    priors=None,
    draws=500,
    tune=1000,
    chains=2,
    n_ranks=99,
    n_jobs=1,
    random_seed=None,
    progress=False,
):
    """Ranks of prior draws among posterior draws, over ``n_datasets`` simulated data sets.

    Each data set: ``(w, mu, sigma)`` drawn from :func:`gmm_bayes.build_model`'s prior (means
    sorted, as the ordered model's components are), ``n_obs`` values drawn from that mixture,
    ``fit_em`` (default search) and ``sample_posterior`` with its default sampler warm-started
    by that fit, ``chains`` chains of ``draws`` draws on one core each. The pooled draws are
    thinned to ``n_ranks`` evenly spaced draws (near-independent when ``chains * draws /
    n_ranks`` is at least the autocorrelation time), and each true value is ranked among them.
    A data set whose fit raises keeps NaN ranks and its error; it is never dropped silently.

    Parameters
    ----------
    n_components : int
        K.
    n_datasets : int, default 200
    n_obs : int, default 100
        N per data set.
    priors : gmm_bayes.Priors, optional
        Prior used both to simulate and to fit (default :data:`CALIBRATION_PRIORS`). Its
        ``loc`` and ``scale`` must be numbers: data-anchored priors change with the data.
    draws, tune, chains : int
        Per fit: kept draws and tuning steps per chain, and chains.
    n_ranks : int, default 99
        L, the thinned draws each true value is ranked among: ranks are ``0..L``.
    n_jobs : int, default 1
        Worker processes (each keeps its own compiled model: one compilation per worker).
    random_seed : None, int or numpy.random.SeedSequence
        Seeds the prior draws, the data and every fit: the same seed gives the same ranks,
        whatever ``n_jobs``.
    progress : bool, default False
        One line per finished data set on stderr.

    Returns
    -------
    xarray.Dataset
        On dims ``dataset`` and ``component``: the ranks ``w``, ``mu``, ``sigma`` (dataset,
        component) and ``log_likelihood`` (dataset; the data's log-likelihood at the true
        parameters ranked among its values at the draws), floats with NaN for a failed fit;
        the truths ``true_w``, ``true_mu``, ``true_sigma``; per data set ``status`` (the
        diagnostics' status, or ``"ERROR"``), ``error`` (the exception, or ""),
        ``em_collapsed`` (EM's best fit had a collapsed component), ``seconds`` and
        ``cpu_seconds`` (wall and CPU time of EM and sampling, in its process). Attributes:
        ``n_ranks``, ``n_components``, ``n_obs``, ``draws``, ``tune``, ``chains``, ``n_failed``,
        ``sampler`` and ``priors``.

    Examples
    --------
    >>> calib = simulation_based_calibration(2, 4, random_seed=0)  # doctest: +SKIP
    >>> rank_uniformity(calib)["chi2_p"].sel(quantity="mu")  # doctest: +SKIP
    """
    k = as_int(n_components, "n_components", minimum=1)
    n_datasets = as_int(n_datasets, "n_datasets", minimum=1)
    n_obs = as_int(n_obs, "n_obs", minimum=2)
    n_ranks = as_int(n_ranks, "n_ranks", minimum=1)
    n_jobs = as_int(n_jobs, "n_jobs", minimum=1)
    priors = _fixed_priors(priors)
    if chains * draws < n_ranks:
        raise ValueError(
            f"chains * draws = {chains * draws} posterior draws cannot be thinned to "
            f"n_ranks={n_ranks}; raise draws or lower n_ranks"
        )
    seeds = np.random.SeedSequence(random_seed).spawn(2)
    truth = prior_draws(k, n_datasets, priors, int(seeds[0].generate_state(1)[0]))
    settings = {"draws": draws, "tune": tune, "chains": chains, "n_ranks": n_ranks}
    jobs = [
        (truth["w"][i], truth["mu"][i], truth["sigma"][i], n_obs, priors, settings, seed)
        for i, seed in enumerate(seeds[1].spawn(n_datasets))
    ]
    results = _run(jobs, n_jobs, progress)
    return _dataset(results, truth, priors, k, n_obs, draws, tune, chains, n_ranks)


def prior_draws(n_components, n_draws, priors, seed):
    """Draws of ``(w, mu, sigma)`` from the model's prior, means ascending.

    Drawn by ``pm.draw`` from :func:`gmm_bayes.build_model` (the priors have fixed anchors,
    so the placeholder data do not matter). The ordered model's prior is that of sorted
    exchangeable draws, which is what ``pm.draw`` gives; that is checked here, since a draw
    out of order would be ranked against the wrong component.

    Parameters
    ----------
    n_components : int
        K.
    n_draws : int
    priors : gmm_bayes.Priors
        With numeric ``loc`` and ``scale``.
    seed : int

    Returns
    -------
    dict
        ``"w"``, ``"mu"``, ``"sigma"``: arrays of shape (n_draws, K).

    Examples
    --------
    >>> draws = prior_draws(3, 5, CALIBRATION_PRIORS, seed=0)
    >>> draws["mu"].shape, bool((np.diff(draws["mu"], axis=1) > 0).all())
    ((5, 3), True)
    """
    import pymc as pm

    placeholder = np.linspace(-1.0, 1.0, max(n_components, 2))
    model = build_model(placeholder, n_components, priors=priors)
    with warnings.catch_warnings():  # numba's object mode for the custom random draws
        warnings.simplefilter("ignore", UserWarning)
        w, mu, sigma = pm.draw([model["w"], model["mu"], model["sigma"]], n_draws, random_seed=seed)
    w, mu, sigma = (np.asarray(a, dtype=np.float64).reshape(n_draws, -1) for a in (w, mu, sigma))
    if np.any(np.diff(mu, axis=1) <= 0):
        raise RuntimeError("prior draws of the ordered means are not ascending")
    return {"w": w, "mu": mu, "sigma": sigma}


def posterior_ranks(truth, draws):
    """How many draws lie below the true value: the rank of Talts et al. (2018).

    Parameters
    ----------
    truth : array_like, shape (...)
    draws : array_like, shape (L, ...)
        Posterior draws (near-independent), on the first axis.

    Returns
    -------
    ndarray of int, shape (...)
        In ``0..L``; uniform on it when ``truth`` is a prior draw and ``draws`` exact
        posterior draws given data simulated from it.

    Examples
    --------
    >>> posterior_ranks([0.5, 2.0], [[0.0, 1.0], [1.0, 3.0], [2.0, 1.5]]).tolist()
    [1, 2]
    """
    return np.sum(np.asarray(draws) < np.asarray(truth), axis=0)


def rank_uniformity(calibration, *, n_bins=20, random_seed=0):
    """Uniformity tests of every rank of :func:`simulation_based_calibration`.

    ``chi2_p``: Pearson's chi-square test of the ranks' counts in ``n_bins`` equal bins of
    ``0..L`` (``scipy.stats.chisquare``; needs ``L + 1`` divisible by ``n_bins``).
    ``pot_p``: ArviZ's ``pot_c`` test (pointwise order-statistic tests combined by the Cauchy
    rule; Tesso et al. 2026, successor of the ECDF test of Säilynoja, Bürkner & Vehtari 2022)
    on the randomized PIT values ``(rank + U) / (L + 1)``, ``U`` uniform, which are exactly
    uniform on (0, 1) when the ranks are uniform on ``0..L``. Failed fits (NaN ranks) are
    left out and counted.

    Parameters
    ----------
    calibration : xarray.Dataset
        With the rank variables of :data:`RANKED` on ``dataset`` (and ``component``) and
        attribute ``n_ranks``.
    n_bins : int, default 20
    random_seed : int, default 0
        Seeds the PIT randomization.

    Returns
    -------
    xarray.Dataset
        On dim ``quantity`` (``w[0]``, ..., ``mu[0]``, ..., ``log_likelihood``): ``chi2_p``,
        ``pot_p``, ``n`` (ranks tested).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ranks = xr.Dataset({"mu": (("dataset", "component"), rng.integers(0, 100, (400, 2)))},
    ...                    attrs={"n_ranks": 99})
    >>> bool((rank_uniformity(ranks)["chi2_p"] > 0.001).all())  # uniform ranks pass
    True
    """
    import arviz_stats  # noqa: F401  (registers the .azstats accessor)

    n_ranks = int(calibration.attrs["n_ranks"])
    if (n_ranks + 1) % n_bins:
        raise ValueError(
            f"n_bins={n_bins} does not divide the {n_ranks + 1} rank values 0..{n_ranks}; "
            f"pick a divisor of {n_ranks + 1}"
        )
    rng = np.random.default_rng(random_seed)
    rows = {}
    for name, ranks in _rank_columns(calibration).items():
        ranks = ranks[np.isfinite(ranks)].astype(np.int64)
        counts = np.bincount(ranks * n_bins // (n_ranks + 1), minlength=n_bins)
        pit = (ranks + rng.uniform(size=ranks.size)) / (n_ranks + 1)
        pot_p, _, _ = xr.DataArray(pit, dims="dataset").azstats.uniformity_test(dim="dataset")
        rows[name] = (float(stats.chisquare(counts).pvalue), float(pot_p), ranks.size)
    chi2_p, pot_p, n = (list(col) for col in zip(*rows.values(), strict=True))
    return xr.Dataset(
        {"chi2_p": ("quantity", chi2_p), "pot_p": ("quantity", pot_p), "n": ("quantity", n)},
        coords={"quantity": list(rows)},
    )


def plot_rank_histograms(calibration, *, n_bins=20, band=0.99, path=None, title=None):
    """One rank histogram per quantity, with the band a uniform rank's bin counts fill.

    The grey band is the central ``band`` interval of one bin's count under uniformity,
    ``Binomial(n, 1 / n_bins)`` (pointwise, as in Talts et al. 2018, Fig. 3).

    Parameters
    ----------
    calibration : xarray.Dataset
        From :func:`simulation_based_calibration`.
    n_bins : int, default 20
    band : float, default 0.99
    path : str or os.PathLike, optional
        Where to write the figure (PNG at 160 dpi); None: only return it.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ranks = xr.Dataset(
    ...     {name: (("dataset", "component"), rng.integers(0, 100, (40, 2))) for name in PARAMS},
    ...     attrs={"n_ranks": 99},
    ... )
    >>> fig = plot_rank_histograms(ranks, title="uniform ranks")  # 3 rows of 2 panels
    >>> [ax.get_title().split(":")[0] for ax in fig.axes][:3]
    ['w[0]', 'w[1]', 'mu[0]']
    """
    import matplotlib.pyplot as plt

    n_ranks = int(calibration.attrs["n_ranks"])
    columns = _rank_columns(calibration)
    tests = rank_uniformity(calibration, n_bins=n_bins)
    rows = [name for name in RANKED if name in calibration]  # one row per variable
    n_cols = max(calibration[name].sizes.get("component", 1) for name in rows)
    fig, axes = plt.subplots(
        len(rows), n_cols, figsize=(3.2 * n_cols, 2.2 * len(rows)), squeeze=False, sharex=True
    )
    for ax in axes.ravel():
        ax.set_visible(False)
    edges = np.linspace(-0.5, n_ranks + 0.5, n_bins + 1)
    for name in columns:
        row, _, col = name.rstrip("]").partition("[")
        ax = axes[rows.index(row), int(col or 0)]
        ax.set_visible(True)
        ranks = columns[name][np.isfinite(columns[name])]
        low, high = stats.binom.interval(band, ranks.size, 1 / n_bins)
        ax.axhspan(low, high, color="0.85", lw=0)
        ax.axhline(ranks.size / n_bins, color="0.5", lw=0.8)
        ax.hist(ranks, bins=edges, color="C0", alpha=0.85)
        test = tests.sel(quantity=name)
        ax.set_title(
            f"{name}: chi2 p={float(test['chi2_p']):.2g}, pot p={float(test['pot_p']):.2g}",
            fontsize=8,
        )
        ax.tick_params(labelsize=7)
    for ax in axes[-1]:
        ax.set_xlabel(f"rank among {n_ranks} draws", fontsize=8)
    fig.suptitle(title or _default_title(calibration), fontsize=9)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=160)
    return fig


def _fixed_priors(priors):
    priors = CALIBRATION_PRIORS if priors is None else priors
    if not isinstance(priors, Priors):
        raise TypeError(f"priors must be a gmm_bayes.Priors, got {type(priors).__name__}")
    if isinstance(priors.loc, str) or isinstance(priors.scale, str):
        raise ValueError(
            f"priors anchored at the data (loc={priors.loc!r}, scale={priors.scale!r}) change "
            "with every simulated data set, so ranks are not uniform even for exact draws; "
            "pass numbers, e.g. Priors(loc=0.0, scale=1.0)"
        )
    return priors


def _run(jobs, n_jobs, progress):
    if n_jobs == 1:
        results = map(_calibrate_one, jobs)
    else:
        import multiprocessing

        pool = ProcessPoolExecutor(n_jobs, mp_context=multiprocessing.get_context("spawn"))
        results = pool.map(_calibrate_one, jobs)
    collected = []
    for i, result in enumerate(results):
        collected.append(result)
        if progress:
            import sys

            print(
                f"data set {i + 1}/{len(jobs)}: {result['status']} in {result['seconds']:.1f} s",
                file=sys.stderr,
                flush=True,
            )
    if n_jobs > 1:
        pool.shutdown()
    return collected


def _calibrate_one(job):
    """Simulate one data set from its true parameters, fit it, rank the truth (a dict)."""
    w, mu, sigma, n_obs, priors, settings, seed = job
    data_seed, em_seed, sampler_seed = seed.spawn(3)
    y = _simulate(np.random.default_rng(data_seed), w, mu, sigma, n_obs)
    k = w.size
    t0, cpu0 = time.perf_counter(), time.process_time()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            em = fit_em(y, k, random_state=np.random.default_rng(em_seed))
            tree = sample_posterior(
                y,
                k,
                em=em,
                priors=priors,
                draws=settings["draws"],
                tune=settings["tune"],
                chains=settings["chains"],
                cores=1,
                random_seed=sampler_seed,
                pointwise=False,
            )
    except Exception as error:  # noqa: BLE001  (every failure is counted, see the Returns)
        nan = np.full(k, np.nan)
        return {
            "ranks": {"w": nan, "mu": nan, "sigma": nan, "log_likelihood": np.nan},
            "status": "ERROR",
            "error": f"{type(error).__name__}: {error}",
            "em_collapsed": False,
            "seconds": time.perf_counter() - t0,
            "cpu_seconds": time.process_time() - cpu0,
            "sampler": "",
        }
    thinned = _thinned(tree["posterior"].to_dataset(), settings["n_ranks"])
    ranks = {
        name: posterior_ranks(truth, thinned[name])
        for name, truth in zip(PARAMS, (w, mu, sigma), strict=True)
    }
    ranks["log_likelihood"] = posterior_ranks(
        _log_likelihood(y, w, mu, sigma), _log_likelihood(y, *(thinned[p] for p in PARAMS))
    )
    return {
        "ranks": ranks,
        "status": tree["diagnostics"].attrs["status"],
        "error": "",
        "em_collapsed": bool(np.any(em.collapsed)),
        "seconds": time.perf_counter() - t0,
        "cpu_seconds": time.process_time() - cpu0,
        "sampler": tree.attrs.get("sampler", ""),
    }


def _simulate(rng, w, mu, sigma, n_obs):
    """``n_obs`` draws from the mixture, shape (n_obs,)."""
    labels = rng.choice(w.size, size=n_obs, p=w / w.sum())
    return rng.normal(mu[labels], sigma[labels])


def _thinned(posterior, n_ranks):
    """``n_ranks`` evenly spaced draws of each parameter from the pooled chains, (L, K)."""
    pooled = {
        name: posterior[name].stack(sample=("chain", "draw")).transpose("sample", ...).values
        for name in PARAMS
    }
    n_total = next(iter(pooled.values())).shape[0]
    keep = np.linspace(0, n_total - 1, n_ranks).round().astype(int)
    return {name: values[keep] for name, values in pooled.items()}


def _log_likelihood(y, w, mu, sigma):
    """Mixture log-likelihood of ``y`` at each parameter set, shape (...) of ``w[..., 0]``."""
    x, means, cov = univariate(y, mu, np.asarray(sigma) ** 2)
    return log_density(x, np.asarray(w), means, cov).sum(axis=-1)


def _dataset(results, truth, priors, k, n_obs, draws, tune, chains, n_ranks):
    dims = ("dataset", "component")
    data = {
        name: (dims, np.array([r["ranks"][name] for r in results], dtype=np.float64))
        for name in PARAMS
    }
    data["log_likelihood"] = (
        "dataset",
        np.array([r["ranks"]["log_likelihood"] for r in results], dtype=np.float64),
    )
    data.update({f"true_{name}": (dims, truth[name]) for name in PARAMS})
    for field in ("status", "error", "em_collapsed", "seconds", "cpu_seconds"):
        data[field] = ("dataset", np.array([r[field] for r in results]))
    samplers = sorted({r["sampler"] for r in results} - {""})
    return xr.Dataset(
        data,
        coords={"dataset": np.arange(len(results)), "component": np.arange(k)},
        attrs={
            "n_ranks": n_ranks,
            "n_components": k,
            "n_obs": n_obs,
            "draws": draws,
            "tune": tune,
            "chains": chains,
            "n_failed": sum(r["status"] == "ERROR" for r in results),
            "sampler": ",".join(samplers),
            "priors": repr(priors),
        },
    )


def _rank_columns(calibration):
    """``{"w[0]": ranks (dataset,), ..., "log_likelihood": ...}`` for every ranked variable."""
    columns = {}
    for name in RANKED:
        if name not in calibration:
            continue
        ranks = calibration[name]
        if "component" in ranks.dims:
            for c in ranks["component"].values:
                columns[f"{name}[{c}]"] = np.asarray(ranks.sel(component=c), dtype=np.float64)
        else:
            columns[name] = np.asarray(ranks, dtype=np.float64)
    return columns


def _default_title(calibration):
    a = calibration.attrs
    return (
        f"SBC, K={a['n_components']}, N={a['n_obs']}: {calibration.sizes['dataset']} data sets "
        f"({a['n_failed']} failed), {a['chains']} x {a['draws']} draws thinned to {a['n_ranks']}"
    )
