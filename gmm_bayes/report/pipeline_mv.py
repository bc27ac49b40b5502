"""The report of a multivariate (d >= 2) data set: EM for every covariance type and K,
scikit-learn beside it, one posterior per K, and K compared the Bayesian way.

:func:`analyse_mv` fits EM (:func:`gmm_bayes.fit_em`, ``EM_RESTARTS`` restarts) and
scikit-learn's ``GaussianMixture`` (at its defaults, as users run it) for each K and each of
the four covariance types. At each K it samples the posterior of the covariance type of lowest
EM BIC at that K (:func:`gmm_bayes.report.comparison_mv.lowest_bic`;
:func:`gmm_bayes.sample_posterior`, warm-started at EM's maxima, with the pointwise groups),
and compares the K by PSIS-LOO and stacking
(:func:`gmm_bayes.report.comparison_mv.compare_k_mv`), which recommends a K as the univariate
report does; EM's BIC over all (type, K) is shown beside it.

:func:`write_dataset_mv` writes the directory (the univariate report's file names):
``index.html``, ``summary.md``, ``estimates.csv`` (one row per K, method and component:
weight, per-column means and sds, correlations, and the posterior sd of each),
``comparison.csv`` (one row per K and covariance type: EM's log-likelihood, BIC and ICL,
scikit-learn's BIC, and for the model sampled at each K its posterior's status, elpd_loo,
difference to the best K with its se, and stacking weight), ``posterior_K<k>.nc`` per K and
``fig/*.png``.
"""

import time
import warnings
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from gmm_bayes.conventions import EM_RESTARTS
from gmm_bayes.report.comparison_mv import compare_k_mv, lowest_bic
from gmm_bayes.report.files import netcdf_tree, write_marker
from gmm_bayes.report.tables import write_csv

__all__ = [
    "COVARIANCE_TYPES",
    "MVAnalysis",
    "analyse_mv",
    "build_mv",
    "by_first_axis",
    "comparison_rows_mv",
    "estimate_rows",
    "mv_sampler",
    "mv_samplers",
    "posterior_summary",
    "sklearn_covariances",
    "write_dataset_mv",
]

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
    sampled : dict
        ``K -> covariance type`` whose posterior was sampled (lowest EM BIC at that K).
    trees : dict
        ``K -> xarray.DataTree``, the posterior of that model.
    comparison : xarray.Dataset
        :func:`~gmm_bayes.report.comparison_mv.compare_k_mv` of the trees.
    seconds : dict
        Wall seconds of ``"em"``, ``"sklearn"``, ``"posterior"`` (all K) and
        ``"comparison"``, and of each K's posterior (key K).
    """

    em: dict
    sklearn: dict
    sampled: dict
    trees: dict
    comparison: object
    seconds: dict

    @property
    def bic_best(self):
        """EM BIC's choice over every covariance type and K: ``(type, K)``."""
        return lowest_bic(self.em)

    @property
    def recommended(self):
        """The recommended K, or None when no posterior can be trusted."""
        k = int(self.comparison.attrs["recommended_k"])
        return k if k > 0 else None

    def bic_by_type(self):
        """``{covariance type: {K: EM BIC}}`` (mclust's BIC plot)."""
        return {
            t: {k: fit.bic() for (tt, k), fit in self.em.items() if tt == t}
            for t in COVARIANCE_TYPES
        }


def mv_samplers():
    """The samplers :func:`gmm_bayes.sample_posterior` offers for d >= 2: the names in
    :mod:`gmm_bayes.bayes.sampling_mv`'s ``MV_SAMPLERS`` (or the keys of its
    ``MV_SAMPLER_RUNS``), and "auto" (NUTS, then SMC when NUTS fails) once "smc" is among them.

    Examples
    --------
    >>> {"nutpie", "pymc"} <= mv_samplers()
    True
    """
    from gmm_bayes.bayes import sampling_mv

    offered = {
        *getattr(sampling_mv, "MV_SAMPLERS", ()),
        *getattr(sampling_mv, "MV_SAMPLER_RUNS", ()),
    }
    return offered | {"auto"} if "smc" in offered else offered


def mv_sampler(requested):
    """The sampler a multivariate posterior gets for the report's ``sampler`` setting: itself
    when :func:`mv_samplers` offers it, else nutpie (NUTS from EM's maxima).

    Examples
    --------
    >>> mv_sampler("pymc"), mv_sampler("nutpie"), mv_sampler("no such sampler")
    ('pymc', 'nutpie', 'nutpie')
    """
    return requested if requested in mv_samplers() else "nutpie"


def analyse_mv(x, settings, *, progress=None, label=""):
    """Fit every (covariance type, K), sample one posterior per K, compare the K.

    Parameters
    ----------
    x : ndarray, shape (N, d)
    settings : gmm_bayes.report.provenance.ReportSettings
        ``ks``, ``seed`` and the sampling settings (``sampler``: :func:`mv_sampler`).
    progress : Progress, optional
    label : str
        Prefix of the progress lines.

    Returns
    -------
    MVAnalysis
    """
    from gmm_bayes.em import fit_em

    note = progress.note if progress is not None else (lambda line: None)
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
    sampled = {k: lowest_bic({t: em[t, k] for t in COVARIANCE_TYPES}) for k in settings.ks}
    note(
        f"{label}EM and scikit-learn for K = {', '.join(map(str, settings.ks))} x 4 covariance "
        "types; sampling K = "
        + ", ".join(f"{k} ({t})" for k, t in sampled.items())
        + f" with {mv_sampler(settings.sampler)}"
    )
    trees = {}
    for k, covariance_type in sampled.items():
        t0 = time.perf_counter()
        trees[k] = _sample(x, k, em[covariance_type, k], settings)
        seconds[k] = time.perf_counter() - t0
        diag = trees[k]["diagnostics"].attrs
        note(f"{label}K={k} ({covariance_type}): {diag['status']} in {seconds[k]:.1f} s")
    seconds["posterior"] = sum(seconds[k] for k in sampled)
    t0 = time.perf_counter()
    comparison = compare_k_mv(trees, {k: em[t, k] for k, t in sampled.items()})
    seconds["comparison"] = time.perf_counter() - t0
    return MVAnalysis(em, sk, sampled, trees, comparison, seconds)


def _sample(x, k, em, settings):
    from gmm_bayes.bayes.sampling import sample_posterior

    with warnings.catch_warnings():
        # PyTensor's C backend (check_model's log density) says once that pip's install has no
        # BLAS; the draws come from nutpie's numba code, so it says nothing about this report
        warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")
        return sample_posterior(
            x,
            k,
            em=em,
            pointwise=True,  # PSIS-LOO and the predictive check read the pointwise groups
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            random_seed=settings.seed,
            sampler=mv_sampler(settings.sampler),
        )


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


def by_first_axis(means, x):
    """The components' order along the data's first principal axis (the model's order).

    Examples
    --------
    >>> x = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.1]])
    >>> by_first_axis([[3.0, 3.0], [0.0, 0.0]], x).tolist()
    [1, 0]
    """
    from gmm_bayes.em.multivariate import principal_axis

    return np.argsort(np.asarray(means) @ principal_axis(x), kind="stable")


def _component_rows(head, w, mu, cov, sd_of=None):
    """One row per component: ``head``'s columns, weight, per-column means and sds,
    correlations; and with ``sd_of`` the posterior sd of each (``<name>_sd``)."""
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
        row = {**head, "component": k + 1, **values}
        row.update({f"{name}_sd": np.nan if sd_of is None else sd_of[name][k] for name in values})
        rows.append(row)
    return rows


def posterior_summary(tree):
    """Posterior means of ``w`` (K,), ``mu`` (K, d), ``cov`` (K, d, d), and the posterior sd
    of each estimate row's quantity (``w``, ``mean_<j>``, ``sd_<j>``, ``corr_<i><j>``: (K,))."""
    post = tree["posterior"]
    dims = ("chain", "draw")
    w, mu, cov = (post[n].mean(dims).values for n in ("w", "mu", "cov"))
    draws = {n: post[n].stack(sample=dims).transpose("sample", ...).values
             for n in ("w", "mu", "cov")}  # fmt: skip
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
    """``estimates.csv``'s rows: for each K, the posterior mean (with sds), EM and
    scikit-learn of the covariance type sampled there, components in the model's order (along
    the first principal axis). ``trustworthy``: the posterior passed its diagnostics and its EM
    fit is healthy (posterior rows), the fit did not collapse (EM rows); True on scikit-learn's
    rows, which have no collapse check."""
    trusted = analysis.comparison["trustworthy"]
    rows = []
    for k, covariance_type in analysis.sampled.items():
        head = {"K": k, "covariance_type": covariance_type}
        w, mu, cov, spread = posterior_summary(analysis.trees[k])
        ok = bool(trusted.sel(K=k))
        rows += _component_rows(
            {**head, "method": "posterior_mean", "trustworthy": ok}, w, mu, cov, spread
        )
        em = analysis.em[covariance_type, k]
        rows += _component_rows(
            {**head, "method": "em", "trustworthy": not em.degenerate},
            em.weights, em.means, em.covariances,
        )  # fmt: skip
        gm = analysis.sklearn[covariance_type, k]
        if gm is not None:
            order = by_first_axis(gm.means_, x)
            cov = sklearn_covariances(gm, x.shape[1])[order]
            rows += _component_rows(
                {**head, "method": "sklearn", "trustworthy": True},
                gm.weights_[order], gm.means_[order], cov,
            )  # fmt: skip
    return rows


#: comparison.csv's posterior columns, empty on the rows of models not sampled
_POSTERIOR_COLUMNS = (
    "status", "trustworthy", "elpd_loo", "elpd_loo_se", "elpd_diff", "elpd_diff_se",
    "stacking_weight",
)  # fmt: skip


def comparison_rows_mv(analysis, x):
    """``comparison.csv``'s rows: per K and covariance type, EM's log-likelihood, number of
    parameters, BIC and ICL, scikit-learn's BIC (the same formula, lower is better),
    ``em_bic_best`` (EM BIC's choice over every row), ``sampled`` and, on the sampled rows,
    the posterior's status and PSIS-LOO comparison (``recommended``: the recommended K's)."""
    cmp = analysis.comparison
    rows = []
    for (covariance_type, k), fit in analysis.em.items():
        gm = analysis.sklearn[covariance_type, k]
        sampled = analysis.sampled.get(k) == covariance_type
        row = {
            "K": k,
            "covariance_type": covariance_type,
            "em_log_likelihood": float(fit.log_likelihood),
            "n_parameters": int(fit.n_parameters),
            "em_bic": float(fit.bic()),
            "em_icl": float(fit.icl()),
            "sklearn_bic": float("nan") if gm is None else float(gm.bic(x)),
            "em_bic_best": (covariance_type, k) == analysis.bic_best,
            "sampled": sampled,
        }
        for name in _POSTERIOR_COLUMNS:
            row[name] = cmp[name].sel(K=k).item() if sampled else ""
        row["recommended"] = sampled and k == analysis.recommended
        rows.append(row)
    return rows


def write_dataset_mv(directory, x, analysis, meta, settings, elapsed):
    """Write the report files into ``directory`` (see the module docstring).

    Returns
    -------
    dict
        The page context (:func:`gmm_bayes.report.pages_mv.page_context_mv`; also what the
        bundled index row reads).
    """
    from gmm_bayes.report.figure_set_mv import write_figures_mv
    from gmm_bayes.report.pages import render
    from gmm_bayes.report.pages_mv import page_context_mv

    columns = meta["columns"]
    if len(columns) != x.shape[1]:
        columns = [f"column {j + 1}" for j in range(x.shape[1])]
    rows = estimate_rows(analysis, x)
    write_csv(directory / "estimates.csv", rows)
    comparison = comparison_rows_mv(analysis, x)
    write_csv(directory / "comparison.csv", comparison)
    for k, tree in analysis.trees.items():
        stored, encoding = netcdf_tree(tree, full=settings.full_netcdf)
        stored.to_netcdf(directory / f"posterior_K{k}.nc", engine="h5netcdf", encoding=encoding)
    figs = write_figures_mv(directory / "fig", x, analysis, columns)
    ctx = page_context_mv(
        x, analysis, {**meta, "columns": columns}, settings, figs, rows, comparison
    )
    ctx["elapsed"] = f"{elapsed():.1f} s"
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
