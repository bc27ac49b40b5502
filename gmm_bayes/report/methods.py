"""The methods paragraph of a report: what was done, with its numbers and citations, to paste
into a paper.

:func:`methods_paragraph` writes the univariate report's; its sentences that do not depend on
d (:func:`k_range_text`, :func:`sampler_text`, :func:`convergence_sentence`) are public so
that the multivariate paragraph (:mod:`~gmm_bayes.report.methods_mv`) says the same things in
the same words."""

import numpy as np

from gmm_bayes.conventions import EM_RESTARTS

__all__ = [
    "REFERENCES",
    "convergence_sentence",
    "k_range_text",
    "methods_paragraph",
    "sampler_text",
]

#: the works the paragraph cites, as (key, reference)
REFERENCES = (
    ("Dempster et al. 1977", "Dempster, Laird & Rubin (1977), JRSS-B 39:1-38"),
    ("Vlassis & Likas 2002", "Vlassis & Likas (2002), Neural Processing Letters 15:77-87"),
    ("Biernacki et al. 2003", "Biernacki, Celeux & Govaert (2003), CSDA 41:561-575"),
    ("Louis 1982", "Louis (1982), JRSS-B 44:226-233"),
    ("Hoffman & Gelman 2014", "Hoffman & Gelman (2014), JMLR 15:1593-1623"),
    ("Del Moral et al. 2006", "Del Moral, Doucet & Jasra (2006), JRSS-B 68:411-436"),
    (
        "Vehtari et al. 2021",
        "Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021), Bayesian Analysis 16:667-718",
    ),
    ("Betancourt 2016", "Betancourt (2016), arXiv:1604.00695"),
    (
        "Vehtari et al. 2017",
        "Vehtari, Gelman & Gabry (2017), Statistics and Computing 27:1413-1432",
    ),
    ("Yao et al. 2018", "Yao, Vehtari, Simpson & Gelman (2018), Bayesian Analysis 13:917-1007"),
    ("Schwarz 1978", "Schwarz (1978), Annals of Statistics 6:461-464"),
    ("Biernacki et al. 2000", "Biernacki, Celeux & Govaert (2000), IEEE TPAMI 22:719-725"),
)


def methods_paragraph(x, settings, *, versions, priors, resolution=None, units=None):
    """One paragraph saying what the report did, with its numbers and citations.

    Parameters
    ----------
    x : ndarray, shape (N,)
    settings : ReportSettings
    versions : list of (str, str)
        :func:`gmm_bayes.report.provenance.package_versions`.
    priors : ResolvedPriors
        ``Priors().resolve(x, K)`` of the report's model (its numbers are stated).
    resolution : float, optional
        The recording resolution EM's interval likelihood used.
    units : str, optional

    Returns
    -------
    str

    Examples
    --------
    >>> import gmm_bayes as gb
    >>> from gmm_bayes.report.provenance import ReportSettings
    >>> x = gb.load_dataset("faithful")
    >>> text = methods_paragraph(x, ReportSettings(ks=(1, 2)), versions=[("gmm_bayes", "1")],
    ...                          priors=gb.Priors().resolve(x, 2), units="minutes")
    >>> text.split(". ")[0]
    'Gaussian mixtures with K = 1 to 2 components were fitted to N = 272 observations'
    """
    v = dict(versions)
    unit = f" {units}" if units and units != "none" else ""
    k_text = k_range_text(settings.ks)
    grid = (
        f"; values recorded at a resolution of {resolution:g}{unit} entered through the "
        "probability of their rounding interval, not the density"
        if resolution
        else ""
    )
    return " ".join(
        [
            f"Gaussian mixtures with {k_text} components were fitted to N = {np.size(x)} "
            "observations. Maximum-likelihood estimates came from the EM algorithm "
            f"(Dempster et al. 1977; gmm_bayes {v.get('gmm_bayes', '')}), with a search that "
            "grows K by greedy insertion (Vlassis & Likas 2002) beside "
            f"{EM_RESTARTS} screened k-means++ and random restarts (Biernacki et al. 2003), "
            "stopping when the mean log-likelihood per observation changed by less than 1e-6, "
            f"and a variance floor of 1e-6 times the squared robust scale{grid}; their standard "
            "errors come from the observed information (Louis 1982) by the delta method.",
            _bayes_sentence(settings, v, priors, unit),
            convergence_sentence(),
            "K was compared by PSIS-LOO expected log predictive density and stacking weights "
            "(Vehtari et al. 2017; Yao et al. 2018), and by BIC (Schwarz 1978), AIC and ICL "
            "(Biernacki et al. 2000) over fits without collapsed components"
            + (", and by the log evidence of each K." if settings.evidence else "."),
        ]
    )


def _bayes_sentence(settings, v, priors, unit):
    sigma = priors.sigma
    alpha = f"{priors.alpha[0]:g}"
    units_text = f" (data in{unit})" if unit else ""
    sigma_text = (
        f"sigma_k^2 ~ InverseGamma(shape {sigma.alpha:g}, scale {sigma.beta:.4g})"
        if getattr(sigma, "beta", None) is not None
        else f"sigma_k ~ {sigma!r}"
    )
    sampler = sampler_text(settings.sampler, v)
    return (
        f"The Bayesian model (PyMC {v.get('pymc', '')}) marginalizes the component labels, "
        f"with w ~ Dirichlet({alpha}, ..., {alpha}), mu_k ~ Normal(mean {priors.mu_loc:.4g}, "
        f"sd {priors.mu_sd:.4g}) with ordered means, and {sigma_text}{units_text}; its "
        "posterior was "
        f"sampled by {sampler}, {settings.chains} chains of {settings.draws} draws after "
        f"{settings.tune} tuning steps (seed {settings.seed})."
    )


def k_range_text(ks):
    """``"K = 1 to 3"`` (or ``"K = 2"``) for the K a report fitted.

    Examples
    --------
    >>> k_range_text((1, 2, 3)), k_range_text((2,))
    ('K = 1 to 3', 'K = 2')
    """
    return f"K = {ks[0]} to {ks[-1]}" if len(ks) > 1 else f"K = {ks[0]}"


def sampler_text(sampler, versions):
    """How the posterior was sampled, with citations, for a report's ``sampler`` setting.

    Parameters
    ----------
    sampler : {"auto", "nutpie", "pymc", "smc"}
    versions : dict
        Package name -> version (:func:`gmm_bayes.report.provenance.package_versions`).

    Examples
    --------
    >>> sampler_text("nutpie", {"nutpie": "0.16"})
    'NUTS (Hoffman & Gelman 2014; nutpie 0.16) from the EM local maxima'
    """
    return {
        "auto": "NUTS (Hoffman & Gelman 2014; nutpie "
        f"{versions.get('nutpie', '')}) from the EM local maxima, replaced by tempered "
        "sequential Monte Carlo (Del Moral et al. 2006; PyMC's sample_smc, one independent run "
        "per chain) for any K whose NUTS chains stayed in separate modes or did not converge",
        "nutpie": f"NUTS (Hoffman & Gelman 2014; nutpie {versions.get('nutpie', '')}) from the "
        "EM local maxima",
        "pymc": "NUTS (Hoffman & Gelman 2014; PyMC) from the EM local maxima",
        "smc": "tempered sequential Monte Carlo (Del Moral et al. 2006; PyMC's sample_smc)",
    }[sampler]


def convergence_sentence():
    """The convergence criteria every posterior of a report was checked against.

    Examples
    --------
    >>> convergence_sentence().startswith("Convergence was checked by rank-normalized split")
    True
    """
    return (
        "Convergence was checked by rank-normalized split R-hat <= 1.01 and bulk and tail "
        "effective sample sizes >= 100 per chain (Vehtari et al. 2021), no divergent "
        "transitions and E-BFMI >= 0.3 (Betancourt 2016)."
    )
