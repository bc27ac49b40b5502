"""The report on a tiny data set: files, HTML, escaping, NetCDF, atomic replacement, figures."""

import csv
import functools
import hashlib
import html.parser
import os
import re

import numpy as np
import pytest

from gmm_bayes.bayes import Status
from gmm_bayes.report import files
from gmm_bayes.report import pipeline as report
from gmm_bayes.report.atomic import OutputError, atomic_directory
from gmm_bayes.report.pages import STATUS_CLASS
from gmm_bayes.report.pipeline import write_report
from gmm_bayes.report.provenance import ReportSettings, package_versions, sha256
from gmm_bayes.report.tables import ESTIMATE_COLUMNS

EVIL = "<script>alert(1)</script>"
SETTINGS = ReportSettings(ks=(1, 2), draws=150, tune=150, chains=2, seed=3)


class _Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.open, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in {"meta", "img", "br", "link", "input", "hr"}:
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1:]}>"
        self.open.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(path):
    parser = _Tags()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    assert parser.open == [], f"unclosed tags {parser.open}"
    return parser


def snapshot(directory):
    return {
        p.relative_to(directory): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Data file with a hostile column name, and one report built from it (sampled once)."""
    base = tmp_path_factory.mktemp("tiny")
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(0, 1, 16), rng.normal(8, 1, 24)])
    source = base / "tiny data $_\\.csv"
    with open(source, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["other", EVIL])
        for i, v in enumerate(values):
            writer.writerow([i, repr(v)])
    out = base / "reports" / "tiny"
    lines = []
    results, comparison = report.analyse(values, SETTINGS, quiet=True)
    cached = {"results": results, "comparison": comparison}
    write_report(
        values,
        out,
        source=source,
        column=EVIL,
        settings=SETTINGS,
        progress=lines.append,
        quiet=False,
        units="$x_1\\alpha",
    )
    return {"x": values, "source": source, "out": out, "lines": lines, "cached": cached}


@pytest.fixture
def reuse_analysis(tiny, monkeypatch):
    """Make later write_report calls reuse the module's sampling (fast)."""
    monkeypatch.setattr(
        report,
        "analyse",
        lambda *a, **k: (tiny["cached"]["results"], tiny["cached"]["comparison"]),
    )


@pytest.mark.slow
def test_files_present(tiny):
    out = tiny["out"]
    names = {p.name for p in out.iterdir()}
    assert {
        "index.html",
        "summary.md",
        "estimates.csv",
        "comparison.csv",
        "posterior_K1.nc",
        "posterior_K2.nc",
        "fig",
    } <= names
    figs = {p.name for p in (out / "fig").iterdir()}
    # every figure drawn is on the page, with its alt text, and every image shown exists
    shown = {a["src"]: a.get("alt", "") for t, a in parse(out / "index.html").tags if t == "img"}
    assert {f"fig/{f}" for f in figs} == set(shown)
    assert all(shown.values())
    for k in (1, 2):
        assert f"density_K{k}.png" in figs
    for f in figs:
        assert (out / "fig" / f).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no leftovers
    assert sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) < 10e6
    assert oct((out).stat().st_mode & 0o777) != oct(0o700)  # an ordinary directory


@pytest.mark.slow
def test_html_parses_escapes_and_states_provenance(tiny):
    page = tiny["out"] / "index.html"
    parsed = parse(page)
    assert not [t for t, _ in parsed.tags if t == "script"]
    text = page.read_text(encoding="utf-8")
    assert EVIL not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    body = "".join(parsed.text)
    assert sha256(tiny["source"]) in body
    assert str(tiny["source"]) in body
    for word in ("random seed", "pymc", "nutpie", "arviz", "sampler", "draws kept per chain"):
        assert word in body
    assert "Recommended: K = " in body or "No K can be recommended" in body
    # every image referenced exists
    for tag, attrs in parsed.tags:
        if tag == "img":
            assert (tiny["out"] / attrs["src"]).is_file()


@pytest.mark.slow
def test_tables_markdown_and_netcdf(tiny):
    import xarray as xr

    out = tiny["out"]
    with open(out / "estimates.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    results = tiny["cached"]["results"]
    # one row per method, parameter and component
    assert len(rows) == sum(r.estimates.sizes["method"] * 3 * r.k for r in results)
    assert tuple(rows[0]) == ESTIMATE_COLUMNS
    with open(out / "comparison.csv", newline="") as fh:
        comp = list(csv.DictReader(fh))
    assert [r["K"] for r in comp] == ["1", "2"]
    assert {
        "em_bic",
        "sklearn_bic",
        "elpd_loo",
        "elpd_loo_se",
        "stacking_weight",
        "verdict",
    } <= set(comp[0])
    md = (out / "summary.md").read_text(encoding="utf-8")
    assert sha256(tiny["source"]) in md and "## K = 2" in md
    # Markdown renderers pass raw HTML: the column name is only ever inside a code span
    assert md.count(EVIL) == md.count(f"`{EVIL}`") >= 1
    assert "\\<script>" in md  # ...or escaped (the title): no "<" starts markup
    for k in (1, 2):
        tree = xr.open_datatree(out / f"posterior_K{k}.nc", engine="h5netcdf")
        # compact by default: the pointwise groups are recomputable and left out
        assert {"posterior", "sample_stats", "diagnostics"} <= set(tree.children)
        assert "log_likelihood" not in tree.children
        assert tree["posterior"]["mu"].sizes["component"] == k
        original = tiny["cached"]["results"][k - 1].tree
        np.testing.assert_array_equal(
            tree["posterior"]["mu"].values, original["posterior"]["mu"].values
        )
        tree.close()


@pytest.mark.slow
def test_progress_one_line_per_step(tiny):
    lines = tiny["lines"]
    assert all("\n" not in line for line in lines)
    # numbered steps against the planned total: K = 1 and 2 (each sampled, then its log
    # evidence: the report's default), the comparison, the writing
    steps = [line.split("]")[0] for line in lines if re.match(r"\[\d+/\d+\]", line)]
    assert steps == [f"[{i}/6" for i in range(1, 7)]
    assert sum("log evidence" in line for line in lines) == 2
    assert any("K=1" in line for line in lines) and any("K=2" in line for line in lines)
    assert any("done" in line for line in lines)


@pytest.mark.slow
@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_failure_leaves_previous_report_byte_identical(tiny, reuse_analysis, monkeypatch, error):
    out = tiny["out"]
    before = snapshot(out)
    real = files.write_figures

    def fail_midway(directory, *args, **kwargs):
        real(directory, *args, **kwargs)  # figures and NetCDF written, then the failure
        raise error("boom")

    monkeypatch.setattr(files, "write_figures", fail_midway)
    with pytest.raises(error):
        write_report(
            tiny["x"], out, source=tiny["source"], column=EVIL, settings=SETTINGS, quiet=True
        )
    assert snapshot(out) == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["tiny"]


@pytest.mark.slow
def test_rewrite_replaces_a_previous_report_and_refuses_foreign_files(
    tiny, reuse_analysis, tmp_path
):
    out = tmp_path / "again"
    write = functools.partial(
        write_report, tiny["x"], source=tiny["source"], column="plain", settings=SETTINGS
    )
    write(out, quiet=True)
    (out / "index.html").write_text("an older report")
    write(out, quiet=True)  # a previous report (its marker) is replaced
    assert "an older report" not in (out / "index.html").read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again"]

    foreign = tmp_path / "thesis"
    (foreign / "stale").mkdir(parents=True)
    (foreign / "stale" / "old.txt").write_text("old")
    with pytest.raises(OutputError, match="holds stale"):
        write(foreign, quiet=True)
    assert (foreign / "stale" / "old.txt").read_text() == "old"  # never deleted


def test_atomic_directory(tmp_path):
    out = tmp_path / "r"
    with atomic_directory(out) as tmp:
        (tmp / "a.txt").write_text("one")
    assert (out / "a.txt").read_text() == "one"
    assert out.stat().st_mode & 0o777 == 0o777 & ~_umask()
    with pytest.raises(KeyboardInterrupt), atomic_directory(out) as tmp:
        (tmp / "a.txt").write_text("two")
        raise KeyboardInterrupt
    assert (out / "a.txt").read_text() == "one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_figures_accept_hostile_labels(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import gmm_bayes as gb
    from gmm_bayes.compare import compare_estimates, density_curves
    from gmm_bayes.report import figures as plots

    x = gb.load_dataset("galaxy")
    est = compare_estimates(x, {"em": gb.fit_em(x, 2), "sklearn": gb.fit_sklearn(x, 2)})
    curves = density_curves(x, est)
    for label in ("$x_1", "a_b\\c $$", r"\frac{1}{2}", "$100 & 50%_", EVIL):
        fig, ax = plt.subplots()
        plots.plot_data_density(ax, x, curves, column=label, units="$/h", methods=("em", "sklearn"))
        ax.set_title(plots.plain_text(label))
        fig.savefig(tmp_path / "f.png")
        assert ax.get_xlabel().startswith(plots.plain_text(label))
        plt.close(fig)
    assert plots.plain_text("$a_b$") == r"\$a_b\$"


@pytest.mark.slow
def test_bundled_index_and_all_or_nothing(tiny, reuse_analysis, monkeypatch, tmp_path):
    out = tmp_path / "reports"
    out.mkdir()
    (out / "README.md").write_text("kept")
    # one worker: the fixtures' monkeypatches live in this process
    bundled = {"seed_notebook": (1, 2), "galaxy": (1, 2)}
    report.write_bundled(out, bundled, SETTINGS, quiet=True, workers=1)
    assert sorted(p.name for p in out.iterdir()) == [
        files.MARKER,
        "README.md",
        "galaxy",
        "index.html",
        "seed_notebook",
    ]
    index = parse(out / "index.html")
    links = {a["href"] for t, a in index.tags if t == "a"}
    assert links == {"seed_notebook/index.html", "galaxy/index.html"}
    page = (out / "seed_notebook" / "index.html").read_text(encoding="utf-8")
    assert "seed notebook" in page and "(o - sum(o)) / var(o)" in page
    assert "all reports" in page
    before = snapshot(out)

    calls = []
    real = report.write_dataset

    def second_fails(directory, **kwargs):
        calls.append(directory)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(directory, **kwargs)

    monkeypatch.setattr(report, "write_dataset", second_fails)
    with pytest.raises(KeyboardInterrupt):
        report.write_bundled(out, bundled, SETTINGS, quiet=True, workers=1)
    assert snapshot(out) == before
    assert sorted(p.name for p in out.iterdir()) == [
        files.MARKER,
        "README.md",
        "galaxy",
        "index.html",
        "seed_notebook",
    ]


@pytest.mark.slow
def test_report_keeps_pointwise_groups_for_loo_at_any_size(tiny, monkeypatch):
    """sample_posterior drops pointwise groups above POINTWISE_MAX; the report needs them."""
    import gmm_bayes.bayes.sampling

    monkeypatch.setattr(gmm_bayes.bayes.sampling, "POINTWISE_MAX", 10)
    results, comparison = report.analyse(tiny["x"], SETTINGS, progress=lambda _: None, quiet=True)
    assert all("log_likelihood" in r.tree.children for r in results)
    assert np.isfinite(comparison["elpd_loo"].values).all()


def test_sha256_and_versions(tmp_path):
    path = tmp_path / "f.bin"
    data = bytes(range(256)) * 5000  # several of hashlib.file_digest's blocks
    path.write_bytes(data)
    assert sha256(path) == hashlib.sha256(data).hexdigest()
    versions = dict(package_versions())
    assert versions["numpy"] == np.__version__ and versions["python"]


@pytest.mark.slow
def test_badges_and_csv_status_follow_each_posteriors_status(tiny):
    """The page's badge of each K is comparison.csv's status: the posterior's, or CAUTION."""
    import xarray as xr

    out = tiny["out"]
    with open(out / "comparison.csv", newline="") as fh:
        statuses = {int(r["K"]): Status(r["status"]) for r in csv.DictReader(fh)}
    page = (out / "index.html").read_text(encoding="utf-8")
    badges = re.findall(r'<summary>K = (\d+) <span class="badge (\w+)">([A-Z ]+)</span>', page)
    assert [(int(k), css, word) for k, css, word in badges] == [
        (k, STATUS_CLASS[s], s.value) for k, s in statuses.items()
    ]
    md = (out / "summary.md").read_text(encoding="utf-8")
    for k, status in statuses.items():
        assert f"## K = {k}: {status.value}" in md
        with xr.open_datatree(out / f"posterior_K{k}.nc", engine="h5netcdf") as tree:
            own = Status(tree["diagnostics"].attrs["status"])
        assert status is own or (own is Status.OK and status is Status.CAUTION)
