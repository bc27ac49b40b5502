"""The public contract: names, laziness of heavy imports."""

import subprocess
import sys

import gmm_bayes

PUBLIC = {
    "ConvergenceWarning",
    "DataError",
    "DegenerateFitWarning",
    "EMResult",
    "FitError",
    "GMMBayesError",
    "HeapingWarning",
    "ModelMismatchError",
    "em",
    "fit_em",
    "fit_sklearn",
    "list_datasets",
    "load_dataset",
    "read_data",
}


def test_public_names_are_pinned():
    names = {n for n in dir(gmm_bayes) if not n.startswith("_")}
    assert PUBLIC <= names
    assert names - PUBLIC == set(gmm_bayes._LAZY)  # the rest are lazily imported names


def test_import_and_fit_em_do_not_import_heavy_packages():
    code = (
        "import sys, gmm_bayes as gb; gb.fit_em(gb.load_dataset('galaxy'), 3, random_state=0);"
        "heavy = [m for m in ('pymc', 'pytensor', 'arviz', 'matplotlib', 'xarray') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_estimator_is_lazy_and_multivariate_fit_em_stays_light():
    code = (
        "import sys, gmm_bayes as gb; light = 'sklearn' not in sys.modules;"
        "gb.fit_em(gb.load_dataset('faithful2d'), 2, random_state=0);"
        "heavy = [m for m in ('pymc', 'pytensor', 'arviz', 'matplotlib', 'xarray') "
        "if m in sys.modules]; print(light, ','.join(heavy), gb.GaussianMixtureEM.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "GaussianMixtureEM"]


def test_emresult_fields():
    fit = gmm_bayes.fit_em([1.0, 2.0, 3.0, 10.0, 11.0, 12.0], 2, init="quantile")
    for name in (
        "weights",
        "means",
        "variances",
        "sigmas",
        "log_likelihood",
        "n_iter",
        "converged",
        "history",
        "n_obs",
    ):
        assert hasattr(fit, name)
    for method in ("bic", "aic", "responsibilities", "logpdf", "to_initvals", "to_dataset"):
        assert callable(getattr(fit, method))
