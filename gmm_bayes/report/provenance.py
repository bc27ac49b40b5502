"""What every page states about how it was made: the data file and its sha256, the settings,
the package versions and the time of writing."""

import datetime as _dt
import hashlib
import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from gmm_bayes.conventions import EM_RESTARTS, INTERVAL_PROB, SAMPLERS

__all__ = ["VERSIONED", "ReportSettings", "package_versions", "sha256", "source_meta", "utc_now"]

#: packages whose versions every page states
VERSIONED = (
    "gmm_bayes",
    "numpy",
    "scipy",
    "scikit-learn",
    "pymc",
    "pytensor",
    "nutpie",
    "arviz",
    "arviz-base",
    "arviz-stats",
    "arviz-plots",
    "xarray",
    "matplotlib",
    "jinja2",
    "h5netcdf",
)


#: how each sampler setting is described
_SAMPLER_TEXT = {
    "auto": "auto: NUTS (nutpie) from EM's maxima; tempered SMC when its chains stay in "
    "separate modes or do not converge",
    "nutpie": "NUTS (nutpie)",
    "pymc": "NUTS (PyMC)",
    "smc": "tempered SMC (PyMC sample_smc)",
}


@dataclass(frozen=True)
class ReportSettings:
    """What a report samples and how.

    Attributes
    ----------
    ks : tuple of int
        Numbers of components compared (each sampled once).
    draws, tune, chains : int
        Posterior draws kept per chain, tuning steps per chain, chains.
    seed : int
        Seed of EM, scikit-learn and the sampler (the whole report is reproducible from it).
    sampler : str
        One of :data:`gmm_bayes.conventions.SAMPLERS`; ``"auto"`` (default): NUTS from EM's
        maxima, tempered SMC when NUTS's chains stay in separate modes or do not converge.
    hdi_prob : float
        Mass of every interval reported (:data:`gmm_bayes.conventions.INTERVAL_PROB`).
    evidence : bool
        Also estimate each K's log evidence and p(K | y) (:func:`gmm_bayes.log_evidence`,
        minutes per K).
    full_netcdf : bool
        Keep every group of each posterior tree in its NetCDF file (pointwise log-likelihood
        and posterior predictive draws too: tens of MB per K), in float64.

    Examples
    --------
    >>> dict(ReportSettings(ks=(1, 2)).describe())["K compared"]
    '1, 2'
    """

    ks: tuple = (1, 2, 3, 4)
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    seed: int = 0
    sampler: str = "auto"
    hdi_prob: float = INTERVAL_PROB
    evidence: bool = True
    full_netcdf: bool = False

    def __post_init__(self):
        if self.sampler not in SAMPLERS:
            raise ValueError(f"sampler={self.sampler!r}; use one of {SAMPLERS}")

    def describe(self):
        """The settings as (name, value) pairs for the page."""
        return [
            ("K compared", ", ".join(map(str, self.ks))),
            ("sampler", _SAMPLER_TEXT.get(self.sampler, self.sampler)),
            ("chains", str(self.chains)),
            ("tuning steps per chain", str(self.tune)),
            ("draws kept per chain", str(self.draws)),
            (
                "why this run length",
                f"{self.chains} x {self.draws} = {self.chains * self.draws} draws: the "
                "verdict asks for bulk and tail ESS >= 100 per chain and r_hat <= 1.01; a "
                "well-mixing posterior reaches that with room to spare, and more draws do not "
                "rescue a multimodal one. Compiling each K's model costs more than sampling it.",
            ),
            ("log evidence per K", "yes (tempered SMC)" if self.evidence else "not computed"),
            (
                "NetCDF files",
                "every group, float64"
                if self.full_netcdf
                else "compact: draws, sampler statistics, diagnostics, EM and membership "
                "(pointwise log-likelihood and predictive draws left out: recomputable)",
            ),
            ("interval mass (HDI)", f"{self.hdi_prob:.0%}"),
            ("random seed", str(self.seed)),
            (
                "EM",
                f"gmm_bayes fit_em: default search (greedy insertion from the K-1 maxima and "
                f"screened k-means++/random restarts), n_init={EM_RESTARTS}, tol=1e-6 per "
                "observation, reg_covar = 1e-6 x robust variance; every chain starts at an EM "
                "local maximum",
            ),
            (
                "scikit-learn",
                "GaussianMixture at its defaults (k-means init, n_init=1, tol=1e-3, absolute "
                "reg_covar=1e-6), and again started from EM's estimate",
            ),
        ]


def _shown_path(source, bundled):
    """A path without the machine's directories (see :func:`source_meta`).

    Examples
    --------
    >>> _shown_path(Path("/opt/data/g.csv"), True), _shown_path(Path("/elsewhere/f.csv"), False)
    ('data/g.csv', 'f.csv')
    """
    if bundled:
        return f"data/{source.name}"
    try:
        return str(source.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return source.name


def sha256(path):
    """Hex sha256 of a file's bytes.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile() as fh:
    ...     print(sha256(fh.name)[:12])  # the digest of no bytes
    e3b0c44298fc
    """
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def package_versions():
    """``[(name, version)]`` of Python and the packages a report depends on.

    Examples
    --------
    >>> [name for name, _ in package_versions()][:3]
    ['python', 'gmm_bayes', 'numpy']
    """
    out = [("python", platform.python_version())]
    for name in VERSIONED:
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            out.append((name, "not installed"))
    return out


def utc_now():
    """The time of writing, as the pages show it (``2026-01-31 12:00:00 UTC``)."""
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def source_meta(
    source,
    column,
    *,
    name=None,
    title=None,
    units=None,
    description=None,
    notebook=False,
    bundled=False,
):
    """What a page says about its data: file, sha256, column, title, units, description.

    Parameters
    ----------
    source : path
        The data file.
    column : str or None
        Its column (None: the file's only one).
    name, title, units, description : str, optional
        ``name`` defaults to the file's stem, ``title`` to ``"<name>: <column>"``.
    notebook : bool
        Add the seed notebook's replay.
    bundled : bool
        The page is one of ``report-bundled``'s (it links back to their index).

    Returns
    -------
    dict
        ``source`` is the file's path as given; ``source_shown`` the one summary.md shows:
        ``data/<file>`` for a bundled data set, else the path relative to the working
        directory when the file lies below it, else the file's name.
    """
    source = Path(source)
    return {
        "name": name or source.stem,
        "title": title or f"{name or source.stem}: {column or 'value'}",
        "source": str(source),
        "source_shown": _shown_path(source, bundled),
        "sha256": sha256(source),
        "column": column or "(the only column)",
        "units": units,
        "description": description,
        "notebook": notebook,
        "bundled": bundled,
    }
