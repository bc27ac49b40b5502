"""The methods paragraph of a multivariate (d >= 2) report: EM for every covariance structure,
the Bayesian model's priors with their numbers, the sampler, the criteria, with citations, to
paste into a paper.

The sentences that do not depend on d are :mod:`~gmm_bayes.report.methods`' (the K range, the
sampler, the convergence criteria); the priors' numbers are read from
:mod:`gmm_bayes.bayes.priors_mv`, the constants :func:`~gmm_bayes.bayes.model_mv.build_model_mv`
uses, so the paragraph cannot drift from the model.
"""

import numpy as np
from scipy import stats

from gmm_bayes.bayes.priors_mv import LKJ_ETA, MU_SCALE, SD_PRIOR
from gmm_bayes.conventions import EM_RESTARTS
from gmm_bayes.em.standardize import RELATIVE_REG_COVAR
from gmm_bayes.report.methods import (
    REFERENCES,
    convergence_sentence,
    k_range_text,
    sampler_text,
)

__all__ = ["MV_REFERENCES", "cited_references", "methods_paragraph_mv"]

#: the works only the multivariate paragraph cites, as (key, reference)
MV_REFERENCES = (
    ("Celeux & Govaert 1995", "Celeux & Govaert (1995), Pattern Recognition 28:781-793"),
    ("Verbeek et al. 2003", "Verbeek, Vlassis & Kröse (2003), Neural Computation 15:469-485"),
    ("Rousseeuw 1984", "Rousseeuw (1984), JASA 79:871-880"),
    ("Pedregosa et al. 2011", "Pedregosa et al. (2011), JMLR 12:2825-2830"),
    (
        "Lewandowski et al. 2009",
        "Lewandowski, Kurowicka & Joe (2009), Journal of Multivariate Analysis 100:1989-2001",
    ),
)

#: each covariance structure's mclust name
_MCLUST = {"full": "VVV", "tied": "EEE", "diag": "VVI", "spherical": "VII"}


def methods_paragraph_mv(x, settings, *, sampled, sampler, versions, columns):
    """One paragraph saying what a multivariate report did, with its numbers and citations.

    Parameters
    ----------
    x : ndarray, shape (N, d)
    settings : ReportSettings
        ``ks``, ``chains``, ``draws``, ``tune``, ``seed``.
    sampled : dict
        ``K -> covariance type`` whose posterior was sampled.
    sampler : {"auto", "nutpie", "pymc", "smc"}
        The sampler the posteriors got (:func:`gmm_bayes.report.pipeline_mv.mv_sampler`).
    versions : list of (str, str)
        :func:`gmm_bayes.report.provenance.package_versions`.
    columns : sequence of str

    Returns
    -------
    str

    Examples
    --------
    >>> from gmm_bayes.report.provenance import ReportSettings
    >>> x = np.random.default_rng(0).normal(size=(50, 2))
    >>> text = methods_paragraph_mv(x, ReportSettings(ks=(1, 2)), sampled={1: "full", 2: "tied"},
    ...                             sampler="nutpie", versions=[], columns=["a", "b"])
    >>> text.split(" (")[0]
    'Gaussian mixtures with K = 1 to 2 components were fitted to N = 50 rows of d = 2 columns'
    >>> "LKJ(eta = 2)" in text, "InverseGamma(6.7, 1.7)" in text
    (True, True)
    """
    v = dict(versions)
    n, d = np.shape(x)
    return " ".join(
        [
            f"Gaussian mixtures with {k_range_text(settings.ks)} components were fitted to "
            f"N = {n} rows of d = {d} columns ({', '.join(columns)}) under four covariance "
            "structures (full, tied, diag and spherical: mclust's VVV, EEE, VVI and VII; "
            "Celeux & Govaert 1995).",
            _em_sentence(v),
            _bayes_sentence(settings, sampled, sampler, v),
            convergence_sentence(),
            "K was compared by the PSIS-LOO expected log predictive density, with the standard "
            "error of each difference to the best K, and by stacking weights over the "
            "posteriors that passed these checks (Vehtari et al. 2017; Yao et al. 2018); EM's "
            "BIC (Schwarz 1978) and ICL (Biernacki et al. 2000) were computed for every K and "
            "structure, counting the weights, the means and the structure's free covariance "
            "entries.",
        ]
    )


def cited_references(text):
    """The references whose key ``text`` cites, in :data:`~gmm_bayes.report.methods.REFERENCES`
    then :data:`MV_REFERENCES` order.

    Examples
    --------
    >>> cited_references("as shown (Schwarz 1978; Rousseeuw 1984)")
    ['Schwarz (1978), Annals of Statistics 6:461-464', 'Rousseeuw (1984), JASA 79:871-880']
    """
    return [reference for key, reference in (*REFERENCES, *MV_REFERENCES) if key in text]


def _em_sentence(v):
    regularization = np.format_float_scientific(RELATIVE_REG_COVAR, trim="-", exp_digits=1)
    return (
        "Maximum-likelihood estimates (no prior) came from the EM algorithm (Dempster et al. "
        f"1977; gmm_bayes {v.get('gmm_bayes', '')}), with a search started in the data's "
        "whitened coordinates from k-means++ centres, random rows and equal-count groups along "
        "the first principal axis, growing K by greedy insertion (Verbeek et al. 2003) beside "
        f"{EM_RESTARTS} screened restarts (Biernacki et al. 2003), stopping when the mean "
        "log-likelihood per observation changed by less than 1e-6; "
        f"{regularization} times the data's robust covariance (minimum covariance "
        "determinant, Rousseeuw 1984), with the structure's constraints, was added to every "
        "covariance, so that the fit follows any affine map of the data, and components are "
        "ordered by their mean's projection on the data's first principal axis. scikit-learn's "
        f"GaussianMixture (Pedregosa et al. 2011; scikit-learn {v.get('scikit-learn', '')}) "
        "was run beside it at its defaults."
    )


def _bayes_sentence(settings, sampled, sampler, v):
    by_k = "; ".join(f"K = {k}: {t}, {_MCLUST[t]}" for k, t in sampled.items())
    return (
        "At each K the structure of lowest EM BIC "
        f"({by_k}) was given a Bayesian model (PyMC {v.get('pymc', '')}) that marginalizes the "
        "component labels, its priors on the columns standardized by their means and sds: "
        f"w ~ Dirichlet(1, ..., 1); standardized means ~ Normal(0, {MU_SCALE:g}^2 I_d), "
        "ordered by their projection on the first principal axis (one labelling of the "
        f"exchangeable prior); {_covariance_priors(set(sampled.values()))}. The "
        f"posteriors were sampled by {sampler_text(sampler, v)}, {settings.chains} chains of "
        f"{settings.draws} draws after {settings.tune} tuning steps (seed {settings.seed})."
    )


def _covariance_priors(types):
    """The covariance priors of the structures sampled, each constant stated once."""
    alpha, beta = SD_PRIOR
    low, high = stats.invgamma(alpha, scale=beta).ppf([0.025, 0.975])
    correlations = {"full": "one per component (full)", "tied": "one shared (tied)"}
    sds = {
        "full": "one per component and column (full)",
        "tied": "one per column, shared (tied)",
        "diag": "one per component and column (diag)",
        "spherical": "one per component, in units of the pooled column sd (spherical)",
    }
    clauses = []
    lkj = [text for t, text in correlations.items() if t in types]
    if lkj:
        clauses.append(
            f"correlation matrices ~ LKJ(eta = {LKJ_ETA:g}) (Lewandowski et al. 2009; PyMC's "
            f"LKJCholeskyCov), {' or '.join(lkj)}"
        )
    clauses.append(
        f"sds ~ InverseGamma({alpha:g}, {beta:g}) in units of their column's sd (central 95% "
        f"from {low:.3g} to {high:.3g} column sds), "
        + " or ".join(text for t, text in sds.items() if t in types)
    )
    return "; ".join(clauses)
