"""The report of a multivariate (d >= 2) data set: EM for every covariance type and K, scikit-learn
beside it, and the posterior at the recommended model.

:func:`analyse_mv` fits EM (:func:`gmm_bayes.fit_em`, ``EM_RESTARTS`` restarts) and scikit-learn's
``GaussianMixture`` (at its defaults, as users run it) for each K and each of the four covariance
types, recommends the (K, type) of lowest EM BIC (mclust's rule), and samples that model's
posterior (:func:`gmm_bayes.sample_posterior`, warm-started at EM's maxima). Only the recommended
model is sampled: one posterior of Old Faithful's two columns costs about as much as the whole
EM and scikit-learn grid, and the BIC grid is what chooses among the 4 x len(K) models.

:func:`write_dataset_mv` writes the directory (the univariate report's file names):
``index.html``, ``summary.md``, ``estimates.csv`` (one row per method and component: weight,
per-column means and sds, correlations), ``comparison.csv`` (one row per K and covariance type:
log-likelihood, BIC, ICL of EM, BIC of scikit-learn), ``posterior_K<k>.nc`` and ``fig/*.png``.
"""

import time
import warnings
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from gmm_bayes.conventions import EM_RESTARTS
from gmm_bayes.report.files import netcdf_tree, write_marker
from gmm_bayes.report.tables import rounded, write_csv

__all__ = ["COVARIANCE_TYPES", "MVAnalysis", "analyse_mv", "build_mv", "write_dataset_mv"]

_STATUS_CSS = {"OK": "good", "CAUTION": "warn", "NOT CONVERGED": "warn"}
#: the covariance types compared (scikit-learn's names; mclust's VVV, EEE, VVI, VII)
COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


@dataclass(frozen=True)
class MVAnalysis:
    """Everything a multivariate report holds.

    Attributes
    ----------
    em : dict
        ``(covariance type, K) -> EMResult``.
    sklearn : dict
        ``(covariance type, K) -> fitted sklearn GaussianMixture`` (None where it failed).
    best : (str, int)
        The recommended (covariance type, K): lowest EM BIC.
    tree : xarray.DataTree
        The posterior of the recommended model.
    seconds : dict
        Wall seconds of ``"em"``, ``"sklearn"``, ``"posterior"``.
    """

    em: dict
    sklearn: dict
    best: tuple
    tree: object
    seconds: dict

    @property
    def best_em(self):
        """The recommended model's EM fit."""
        return self.em[self.best]


def analyse_mv(x, settings, *, progress=None, label=""):
    """Fit every (covariance type, K), recommend one by BIC, sample its posterior.

    Parameters
    ----------
    x : ndarray, shape (N, d)
    settings : gmm_bayes.report.provenance.ReportSettings
        ``ks``, ``seed`` and the sampling settings (``sampler`` "auto" is nutpie here).
    progress : Progress, optional
    label : str
        Prefix of the progress lines.

    Returns
    -------
    MVAnalysis
    """
    from gmm_bayes.bayes.sampling import sample_posterior
    from gmm_bayes.em import fit_em

    seconds, em, sk = {}, {}, {}
    t0 = time.perf_counter()
    for covariance_type in COVARIANCE_TYPES:
        for k in settings.ks:
            em[covariance_type, k] = fit_em(
                x, k, covariance_type=covariance_type, n_init=EM_RESTARTS,
                random_state=settings.seed,
            )  # fmt: skip
    seconds["em"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    for key in em:
        sk[key] = _sklearn(x, *key, settings.seed)
    seconds["sklearn"] = time.perf_counter() - t0
    best = min(em, key=lambda key: em[key].bic())
    if progress is not None:
        progress.note(
            f"{label}EM and scikit-learn for K = {', '.join(map(str, settings.ks))} x 4 "
            f"covariance types; sampling K = {best[1]} ({best[0]})"
        )
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        # PyTensor's C backend (check_model's log density) says once that pip's install has no
        # BLAS; the draws come from nutpie's numba code, so it says nothing about this report
        warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")
        tree = sample_posterior(
            x,
            best[1],
            em=em[best],
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            random_seed=settings.seed,
            sampler="nutpie" if settings.sampler in ("auto", "smc") else settings.sampler,
        )
    seconds["posterior"] = time.perf_counter() - t0
    return MVAnalysis(em, sk, best, tree, seconds)


def _sklearn(x, covariance_type, k, seed):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            return GaussianMixture(k, covariance_type=covariance_type, random_state=seed).fit(x)
        except ValueError:  # a covariance that is not positive definite
            return None


def sklearn_covariances(gm, d):
    """scikit-learn's ``covariances_`` as (K, d, d) whatever its covariance type.

    Examples
    --------
    >>> from sklearn.mixture import GaussianMixture
    >>> x = np.random.default_rng(0).normal(size=(50, 2))
    >>> sklearn_covariances(GaussianMixture(2, covariance_type="spherical").fit(x), 2).shape
    (2, 2, 2)
    """
    cov = np.asarray(gm.covariances_, dtype=np.float64)
    k = gm.n_components
    if gm.covariance_type == "tied":
        return np.broadcast_to(cov, (k, d, d)).copy()
    if gm.covariance_type == "diag":
        return cov[:, :, None] * np.eye(d)
    if gm.covariance_type == "spherical":
        return cov[:, None, None] * np.eye(d)
    return cov


def _by_first_axis(means, x):
    """The components' order along the data's first principal axis (the model's order)."""
    from gmm_bayes.em.multivariate import principal_axis

    return np.argsort(np.asarray(means) @ principal_axis(x), kind="stable")


def _component_rows(method, w, mu, cov, sd_of=None):
    """One row per component: weight, per-column means and sds, correlations; with ``sd_of``
    (posterior sds of the same quantities) the text columns are rounded to them."""
    rows = []
    d = mu.shape[1]
    for k in range(len(w)):
        sds = np.sqrt(np.diag(cov[k]))
        values = {"w": w[k]}
        values.update({f"mean_{j}": mu[k, j] for j in range(d)})
        values.update({f"sd_{j}": sds[j] for j in range(d)})
        values.update(
            {f"corr_{i}{j}": cov[k, i, j] / (sds[i] * sds[j]) for i, j in combinations(range(d), 2)}
        )
        row = {"method": method, "component": k + 1, **values}
        if sd_of is not None:
            row.update({f"{name}_sd": sd_of[name][k] for name in values})
        rows.append(row)
    return rows


def _posterior_summary(tree):
    """Posterior means of w, mu, cov and the posterior sds of each row quantity."""
    post = tree["posterior"]
    dims = ("chain", "draw")
    w, mu, cov = (post[n].mean(dims).values for n in ("w", "mu", "cov"))
    draws = {n: post[n].stack(sample=dims).transpose("sample", ...).values for n in ("w", "cov")}
    draws["mu"] = post["mu"].stack(sample=dims).transpose("sample", ...).values
    sd = np.sqrt(np.diagonal(draws["cov"], axis1=-2, axis2=-1))  # (S, K, d)
    d = mu.shape[1]
    spread = {"w": draws["w"].std(axis=0)}
    spread.update({f"mean_{j}": draws["mu"][:, :, j].std(axis=0) for j in range(d)})
    spread.update({f"sd_{j}": sd[:, :, j].std(axis=0) for j in range(d)})
    for i, j in combinations(range(d), 2):
        corr = draws["cov"][:, :, i, j] / (sd[:, :, i] * sd[:, :, j])
        spread[f"corr_{i}{j}"] = corr.std(axis=0)
    return w, mu, cov, spread


def estimate_rows(analysis, x):
    """``estimates.csv``'s rows: the posterior mean (with sds), EM and scikit-learn at the
    recommended (type, K), components in the model's order (along the first principal axis)."""
    covariance_type, k = analysis.best
    w, mu, cov, spread = _posterior_summary(analysis.tree)
    rows = _component_rows("posterior_mean", w, mu, cov, spread)
    em = analysis.best_em
    rows += _component_rows("em", em.weights, em.means, em.covariances)
    gm = analysis.sklearn[analysis.best]
    if gm is not None:
        order = _by_first_axis(gm.means_, x)
        cov = sklearn_covariances(gm, x.shape[1])[order]
        rows += _component_rows("sklearn", gm.weights_[order], gm.means_[order], cov)
    return rows


def comparison_rows_mv(analysis, x):
    """``comparison.csv``'s rows: per K and covariance type, EM's log-likelihood, number of
    parameters, BIC and ICL, and scikit-learn's BIC (the same formula, lower is better)."""
    rows = []
    for (covariance_type, k), fit in analysis.em.items():
        gm = analysis.sklearn[covariance_type, k]
        rows.append(
            {
                "K": k,
                "covariance_type": covariance_type,
                "em_log_likelihood": float(fit.log_likelihood),
                "n_parameters": int(fit.n_parameters),
                "em_bic": float(fit.bic()),
                "em_icl": float(fit.icl()),
                "sklearn_bic": float("nan") if gm is None else float(gm.bic(x)),
                "recommended": (covariance_type, k) == analysis.best,
            }
        )
    return rows


def _table_cells(rows, columns):
    """The page's estimate table: each number rounded to its posterior sd (posterior rows) or
    to the posterior row's sd of the same quantity (EM, scikit-learn rows)."""
    posterior = {row["component"]: row for row in rows if row["method"] == "posterior_mean"}
    cells = []
    for row in rows:
        sds = posterior.get(row["component"], {})
        cells.append(
            {
                "method": row["method"],
                "component": row["component"],
                "values": [rounded(row[c], sds.get(f"{c}_sd")) for c in columns],
                "sds": [rounded(row[f"{c}_sd"], row[f"{c}_sd"]) if f"{c}_sd" in row else ""
                        for c in columns],
            }
        )  # fmt: skip
    return cells


def write_figures_mv(figdir, x, analysis, columns):
    """The three figures: BIC per K and type, ellipses, classification/uncertainty.

    Returns
    -------
    list of (str, str)
        ``(file name in fig/, caption)``.
    """
    import matplotlib.pyplot as plt

    from gmm_bayes.report.figure_set import save_png
    from gmm_bayes.report.figures_mv import plot_bic_types, plot_ellipses, plot_uncertainty

    figdir.mkdir(exist_ok=True)
    covariance_type, k = analysis.best
    shown = []
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    bic = {t: {kk: fit.bic() for (tt, kk), fit in analysis.em.items() if tt == t}
           for t in COVARIANCE_TYPES}  # fmt: skip
    plot_bic_types(ax, bic)
    save_png(fig, figdir / "bic_types.png")
    shown.append(
        (
            "bic_types.png",
            "EM's BIC per K and covariance type (mclust's BIC plot, "
            "sign flipped: lower is better), from the best BIC up to 10% above it; the "
            "table below has every value. The recommended model is the lowest point.",
        )
    )
    post = analysis.tree["posterior"]
    w, mu, cov, _ = _posterior_summary(analysis.tree)
    fits = {
        "posterior_mean": (mu, cov),
        "em": (analysis.best_em.means, analysis.best_em.covariances),
    }
    gm = analysis.sklearn[analysis.best]
    if gm is not None:
        order = _by_first_axis(gm.means_, x)
        fits["sklearn"] = (gm.means_[order], sklearn_covariances(gm, x.shape[1])[order])
    stacked = [post[n].stack(sample=("chain", "draw")).transpose("sample", ...).values
               for n in ("mu", "cov")]  # fmt: skip
    membership = analysis.tree["membership"]["mean"].values
    for i, j in combinations(range(x.shape[1]), 2):
        suffix = "" if x.shape[1] == 2 else f"_{i + 1}_{j + 1}"
        fig, ax = plt.subplots(figsize=(6, 5), layout="constrained")
        plot_ellipses(ax, x, fits, columns=columns, pair=(i, j), draws=stacked)
        save_png(fig, figdir / f"ellipses{suffix}.png")
        shown.append(
            (
                f"ellipses{suffix}.png",
                f"K = {k} ({covariance_type}): each component's "
                "95% ellipse (one colour per component) for the posterior mean (solid; its "
                "50% ellipse thinner), EM (dashed) and scikit-learn (dotted); faint: 95% "
                "ellipses of 30 posterior draws.",
            )
        )
        fig, ax = plt.subplots(figsize=(6, 5), layout="constrained")
        plot_uncertainty(ax, x, membership, columns=columns, pair=(i, j))
        save_png(fig, figdir / f"uncertainty{suffix}.png")
        shown.append(
            (
                f"uncertainty{suffix}.png",
                "Classification by the posterior mean "
                "membership probability; point size grows with the uncertainty 1 - max_k "
                "P(component k | row), as mclust's uncertainty plot.",
            )
        )
    return shown


def write_dataset_mv(directory, x, analysis, meta, settings, elapsed):
    """Write the report files into ``directory`` (see the module docstring).

    Returns
    -------
    dict
        The page context (also what the bundled index row reads).
    """
    from gmm_bayes.report.pages import render
    from gmm_bayes.report.provenance import package_versions, utc_now

    columns = meta["columns"]
    if len(columns) != x.shape[1]:
        columns = [f"column {j + 1}" for j in range(x.shape[1])]
    covariance_type, k = analysis.best
    rows = estimate_rows(analysis, x)
    write_csv(directory / "estimates.csv", rows, list(rows[0]) if rows else None)
    comparison = comparison_rows_mv(analysis, x)
    write_csv(directory / "comparison.csv", comparison)
    tree, encoding = netcdf_tree(analysis.tree, full=settings.full_netcdf)
    tree.to_netcdf(directory / f"posterior_K{k}.nc", engine="h5netcdf", encoding=encoding)
    figs = write_figures_mv(directory / "fig", x, analysis, columns)
    d = x.shape[1]
    names = ["w", *(f"mean_{j}" for j in range(d)), *(f"sd_{j}" for j in range(d))]
    names += [f"corr_{i}{j}" for i, j in combinations(range(d), 2)]
    headers = ["weight", *(f"mean {c}" for c in columns), *(f"sd {c}" for c in columns)]
    headers += [f"corr({columns[i]}, {columns[j]})" for i, j in combinations(range(d), 2)]
    diagnostics = analysis.tree["diagnostics"].attrs
    ctx = {
        **meta,
        "n": int(x.shape[0]),
        "d": d,
        "best_k": k,
        "best_type": covariance_type,
        "status": diagnostics["status"],
        "css": _STATUS_CSS.get(diagnostics["status"], "bad"),
        "verdict": diagnostics["verdict"],
        "headers": headers,
        "estimates": _table_cells(rows, names),
        "comparison": comparison,
        "ks": list(settings.ks),
        "types": COVARIANCE_TYPES,
        "figs": figs,
        "settings": settings.describe(),
        "seconds": {name: f"{s:.1f}" for name, s in analysis.seconds.items()},
        "versions": package_versions(),
        "written": utc_now(),
        "elapsed": f"{elapsed():.1f} s",
    }
    (directory / "index.html").write_text(render("dataset_mv.html", **ctx), encoding="utf-8")
    (directory / "summary.md").write_text(render("summary_mv.md", **ctx), encoding="utf-8")
    write_marker(directory, "report")
    return ctx


def build_mv(directory, x, meta, settings, progress, start):
    """Analyse and write one multivariate report into ``directory`` (the pipeline's step)."""
    label = f"[{meta['name']}] "
    progress.note(f"{label}{x.shape[0]} rows of {x.shape[1]} columns from {meta['source']}")
    analysis = analyse_mv(x, settings, progress=progress, label=label)
    progress.note(f"{label}writing figures, tables, NetCDF")
    columns = meta["column"].split(",")
    meta = {**meta, "columns": columns}
    if meta["title"] == f"{meta['name']}: {meta['column']}":  # the default title
        meta["title"] = f"{meta['name']}: {', '.join(columns)}"
    return write_dataset_mv(
        directory, x, analysis, meta, settings, lambda: time.perf_counter() - start
    )
