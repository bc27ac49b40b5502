"""Posterior sampling of a multivariate mixture (d >= 2), warm-started by EM.

:func:`sample_posterior_mv` is what :func:`gmm_bayes.sample_posterior` runs on (N, d) data: the
model is :func:`~gmm_bayes.bayes.model_mv.build_model_mv`'s (its priors are fixed on the
standardized columns, so ``priors`` is refused), checked against EM's log-likelihood
(:func:`gmm_bayes.check_model`, which runs :func:`~gmm_bayes.bayes.model_mv.check_model_mv`)
before sampling, every NUTS chain starting at one of EM's distinct maxima
(:mod:`~gmm_bayes.bayes.maxima`). The tree has the univariate groups, with ``mu`` and ``sigma``
(per-column sds) on (component, dim) and ``cov`` on (component, dim, dim_bis); ``membership``,
``diagnostics`` and :func:`gmm_bayes.posterior_modes` work the same way (modes are told apart
in per-column units).

``sampler="smc"`` runs tempered SMC from the prior (:mod:`~gmm_bayes.bayes.smc_mv`: PyMC's
``pm.sample_smc`` on the same model), which weighs the modes; ``sampler="auto"`` is the
univariate rule: nutpie first, then SMC when :func:`~gmm_bayes.bayes.diagnostics.diagnose` says
MULTIMODAL or NOT CONVERGED, with one guard more: SMC's draws replace NUTS's only when they
reach EM's best maximum (:func:`best_draw_log_likelihood`), as PyMC's SMC does not always at
d = 5. The univariate model's options that have no multivariate
counterpart (binned or compressed likelihood, recording resolution) are refused by name.
"""

import numpy as np
import xarray as xr

from gmm_bayes._validation import as_n_components
from gmm_bayes.bayes.diagnostics import diagnose
from gmm_bayes.bayes.maxima import chain_starts, distinct_maxima, maxima_dataset
from gmm_bayes.bayes.model import ONE_OFF_MODE, check_model, to_value_space
from gmm_bayes.bayes.model_mv import build_model_mv, em_point_mv
from gmm_bayes.bayes.pointwise_mv import (
    log_likelihood_group_mv,
    membership_mv,
    posterior_predictive_group_mv,
)
from gmm_bayes.bayes.samplers import sample_nutpie, sample_pymc
from gmm_bayes.bayes.sampling import (
    POINTWISE_MAX,
    _int_seed,
    _netcdf_ready,
    _sampling_options,
    _seed_sequence,
    smc_fallback_reason,
)
from gmm_bayes.bayes.smc_mv import sample_smc_mv
from gmm_bayes.conventions import EM_RESTARTS
from gmm_bayes.em import EMResult, fit_em
from gmm_bayes.em.multivariate import as_matrix_data
from gmm_bayes.exceptions import ModelMismatchError
from gmm_bayes.mixture import log_density

__all__ = [
    "MV_SAMPLER_RUNS",
    "best_draw_log_likelihood",
    "initial_point_mv",
    "sample_posterior_mv",
]

#: sampler name (``gmm_bayes.conventions.SAMPLERS`` but "auto") -> its run on the (N, d) model
MV_SAMPLER_RUNS = {"nutpie": sample_nutpie, "pymc": sample_pymc, "smc": sample_smc_mv}
#: the posterior variables kept (the model's free variables live in standardized coordinates)
_KEPT = ("w", "mu", "cov")


def initial_point_mv(model, fit):
    """An EM fit as a finite constrained start of :func:`build_model_mv`'s model.

    Weights are floored as by ``EMResult.to_initvals`` and tilted by 1e-6 relative (equal
    weights put the simplex coordinate's gradient at exactly 0, which nutpie rejects).

    Parameters
    ----------
    model : pymc.Model
    fit : EMResult
        With (K, d) means.

    Returns
    -------
    dict
        Constrained values of the model's free variables.

    Raises
    ------
    ModelMismatchError
        The model's log density there is not finite.

    Examples
    --------
    >>> import gmm_bayes as gb
    >>> x = gb.load_dataset("faithful2d")
    >>> start = initial_point_mv(build_model_mv(x, 2), gb.fit_em(x, 2, random_state=0))
    >>> sorted(start)
    ['chol_0', 'chol_1', 'mu_axis', 'mu_rest', 'w']
    """
    init = fit.to_initvals()
    w = init["w"] * (1 + 1e-6 * np.arange(1, init["w"].size + 1))
    start = em_point_mv(model, w / w.sum(), init["mu"], init["cov"])
    logp = float(model.compile_logp(mode=ONE_OFF_MODE)(to_value_space(model, start)))
    if not np.isfinite(logp):
        raise ModelMismatchError(
            f"EM's estimate is not a valid start: the model's log density there is {logp} "
            f"(w={fit.weights.tolist()}, means={fit.means.tolist()})"
        )
    return start


def sample_posterior_mv(
    x,
    n_components=2,
    *,
    em=None,
    draws=1000,
    tune=1000,
    chains=4,
    cores=None,
    random_seed=None,
    sampler="nutpie",
    target_accept=0.9,
    progressbar=False,
    pointwise=None,
    options=None,
):
    """Sample a multivariate mixture's posterior, every chain starting at an EM maximum.

    Parameters
    ----------
    x : array_like, shape (N, d), d >= 2
    n_components : int
    em : EMResult, optional
        EM fit of ``x`` with K components; its ``covariance_type`` is the model's. None:
        ``fit_em(x, K, n_init=EM_RESTARTS)`` (full covariances) seeded from ``random_seed``.
    draws, tune, chains, cores, random_seed, target_accept, progressbar, pointwise
        As :func:`gmm_bayes.sample_posterior`.
    sampler : {"nutpie", "pymc", "smc", "auto"}
        As :func:`gmm_bayes.sample_posterior`: "smc" is
        :func:`~gmm_bayes.bayes.smc_mv.sample_smc_mv` (``chains`` runs of ``draws`` particles
        from the prior; ``tune`` and ``target_accept`` unused), "auto" nutpie then SMC when
        the NUTS chains sit in different modes or do not converge, unless SMC's best draw
        misses EM's best maximum (:func:`best_draw_log_likelihood`; root attribute
        ``sampler_note`` says which and why).
    options : dict, optional
        The univariate-only arguments :func:`gmm_bayes.sample_posterior` received (``priors``,
        ``likelihood``, ``compress``, ``bin_width``); any other than their defaults is refused.

    Returns
    -------
    xarray.DataTree
        As :func:`gmm_bayes.sample_posterior`: ``posterior`` (``w`` on component, ``mu`` and
        ``sigma`` on (component, dim), ``cov`` on (component, dim, dim_bis)), ``sample_stats``,
        ``log_likelihood`` (chain, draw, obs), ``posterior_predictive`` (chain, draw, obs,
        dim), ``observed_data`` (``y`` on obs, dim), ``em``, ``membership``, ``diagnostics``.

    Examples
    --------
    >>> import gmm_bayes as gb
    >>> x = gb.load_dataset("faithful2d")
    >>> tree = gb.sample_posterior(x, 2, random_seed=0)  # doctest: +SKIP
    >>> tree["posterior"]["cov"].dims  # doctest: +SKIP
    ('chain', 'draw', 'component', 'dim', 'dim_bis')
    """
    _refuse_univariate_options(options or {})
    x = as_matrix_data(x)
    k = as_n_components(n_components, x.shape[0])
    opts = _sampling_options(draws, tune, chains, cores, sampler, target_accept)
    seeds = _seed_sequence(random_seed).spawn(3)
    if em is None:
        em = fit_em(x, k, n_init=EM_RESTARTS, random_state=np.random.default_rng(seeds[0]))
    _check_em_mv(em, x, k)
    model = build_model_mv(x, k, covariance_type=em.covariance_type)
    check_model(model, em)
    maxima = distinct_maxima(em)
    plan = chain_starts(maxima, opts["chains"])
    starts = [initial_point_mv(model, maxima[i]) for i in range(max(plan) + 1)]
    n_numbers = opts["chains"] * opts["draws"] * x.size
    keep_pointwise = n_numbers <= POINTWISE_MAX if pointwise is None else bool(pointwise)
    em_group = maxima_dataset(em, maxima, plan)

    def draw(name, note=""):
        run = MV_SAMPLER_RUNS[name]
        tree, timing = run(model, starts, plan, opts, _int_seed(seeds[1]), progressbar)
        tree.attrs.update(
            n_components=int(k),
            n_dims=int(x.shape[1]),
            covariance_type=em.covariance_type,
            sampler=name,
            sampler_note=note,
            target_accept=opts["target_accept"],
            random_seed=int(random_seed) if isinstance(random_seed, int) else -1,
            priors="model_mv defaults (standardized columns)",
            likelihood="exact",
            n_obs=int(x.shape[0]),
            pointwise="stored" if keep_pointwise else "not stored",
            **timing,
        )
        return _assemble_mv(tree, x, em_group, keep_pointwise, seeds[2])

    if opts["sampler"] != "auto":
        return draw(opts["sampler"])
    tree = draw("nutpie", "Draws from NUTS (nutpie), started at EM's maxima.")
    why = smc_fallback_reason(tree["diagnostics"])
    if why is None:
        return tree
    smc = draw("smc", f"{why}; draws from SMC.")
    shortfall = em.log_likelihood - best_draw_log_likelihood(smc["posterior"], x)
    if shortfall <= em.n_parameters:
        return smc
    tree.attrs["sampler_note"] = (
        f"{why}; SMC's best draw lies {shortfall:.0f} below EM's maximum log-likelihood "
        f"(more than the {em.n_parameters} parameters allow): its runs missed EM's best mode, "
        "so these are NUTS's draws."
    )
    tree["diagnostics"] = xr.DataTree(diagnose(tree).to_dataset())
    return tree


def best_draw_log_likelihood(posterior, x, *, block=100):
    """The largest log-likelihood of the data over the posterior draws.

    ``sampler="auto"`` keeps SMC's draws only when this is within the number of free
    parameters ``p`` of EM's maximum: near a maximum ``2 (max log L - log L)`` of posterior
    draws is about chi-square with ``p`` degrees of freedom (mean ``p``), so the best of many
    draws lies well within ``p`` of it; PyMC's SMC runs that ended in a one-component
    solution (d = 5, README "Scope, measured") lie hundreds below.

    Parameters
    ----------
    posterior : xarray.Dataset or DataTree node
        ``w``, ``mu`` (component, dim), ``cov`` (component, dim, dim_bis) on (chain, draw).
    x : ndarray, shape (N, d)
    block : int
        Draws evaluated at once (memory ``block x N`` per component).

    Returns
    -------
    float

    Examples
    --------
    >>> post = xr.Dataset({"w": (("chain", "draw", "component"), np.ones((1, 2, 1))),
    ...     "mu": (("chain", "draw", "component", "dim"), [[[[0.0, 0.0]], [[1.0, 0.0]]]]),
    ...     "cov": (("chain", "draw", "component", "dim", "dim_bis"), np.ones((1, 2, 1, 1, 1))
    ...             * np.eye(2))})
    >>> round(best_draw_log_likelihood(post, np.zeros((1, 2))), 6)  # -log 2 pi, at mu = 0
    -1.837877
    """
    w, mu, cov = (
        np.asarray(posterior[name].transpose("chain", "draw", ...).values) for name in _KEPT
    )
    w, mu, cov = (a.reshape(-1, *a.shape[2:]) for a in (w, mu, cov))
    return max(
        float(log_density(x, w[i : i + block], mu[i : i + block], cov[i : i + block]).sum(-1).max())
        for i in range(0, w.shape[0], block)
    )


def _assemble_mv(tree, x, em_group, keep_pointwise, seed):
    post = tree["posterior"].to_dataset()[list(_KEPT)]
    sd = np.sqrt(np.diagonal(post["cov"].values, axis1=-2, axis2=-1))
    post = post.assign(sigma=(post["mu"].dims, sd))
    tree["posterior"] = xr.DataTree(post)
    coords = {"obs": np.arange(x.shape[0]), "dim": np.arange(x.shape[1])}
    tree["observed_data"] = xr.DataTree(xr.Dataset({"y": (("obs", "dim"), x)}, coords=coords))
    if keep_pointwise:
        tree["log_likelihood"] = xr.DataTree(log_likelihood_group_mv(post, x))
        rng = np.random.default_rng(seed)
        tree["posterior_predictive"] = xr.DataTree(
            posterior_predictive_group_mv(post, x.shape[0], rng)
        )
    if tree.attrs["sampler"] == "smc":  # SMC runs start from the prior, not from EM maxima
        em_group = em_group.drop_vars(["chain_start", "chain"])
    tree["em"] = xr.DataTree(em_group)
    tree["membership"] = xr.DataTree(membership_mv(tree))
    tree["diagnostics"] = xr.DataTree(diagnose(tree).to_dataset())
    return _netcdf_ready(tree)


def _refuse_univariate_options(options):
    defaults = {"priors": None, "likelihood": "exact", "compress": "auto", "bin_width": None}
    for name, value in options.items():
        if value is not defaults[name] and value != defaults[name]:
            raise ValueError(
                f"{name}={value!r} is univariate only: the multivariate model "
                "(gmm_bayes.bayes.model_mv) has fixed priors on the standardized columns and an "
                f"exact likelihood; leave {name} at its default for d >= 2"
            )


def _check_em_mv(em, x, k):
    if not isinstance(em, EMResult):
        raise TypeError(f"em must be a gmm_bayes.EMResult or None, got {type(em).__name__}")
    if (em.n_components, em.n_obs, em.n_dims) != (k, *x.shape):
        raise ValueError(
            f"em was fitted with K={em.n_components} to {em.n_obs} rows of {em.n_dims} "
            f"columns, but n_components={k} and x has shape {x.shape}: fit EM to the same data "
            "and K"
        )
