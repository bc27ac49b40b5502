"""Tests of gmm_bayes.data: bundled data sets and the validating CSV / text reader."""

import csv
import re
from pathlib import Path

import numpy as np
import pytest

from gmm_bayes.data import (
    DATASETS,
    MULTIVARIATE_DATASETS,
    dataset_column,
    dataset_columns,
    dataset_path,
    list_datasets,
    load_dataset,
    read_data,
)
from gmm_bayes.exceptions import DataError

# Raw sources with provenance headers (see data/README.md); optional, the checks below that need
# them are skipped when the directory is absent.
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"{SHARED} not available")

RAW_FILES = {
    "galaxy": "galaxy_RG1997_thousand_kms.txt",
    "galaxy_mass": "galaxies_MASS_kms.txt",
    "faithful": "faithful_waiting_272.txt",
    "geyser_waiting": "geyser_MASS_waiting_299.txt",
    "geyser_duration": "geyser_MASS_duration_299.txt",
    "seed_notebook": "seed_notebook_15.txt",
}
#: multivariate data sets: name -> raw CSV in ../shared/data/, copied verbatim
RAW_CSV = {"faithful2d": "faithful_2d_272.csv"}


def write(tmp_path, text, name="x.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def raw_lines(name):
    """Non-comment, non-blank lines of a raw shared file, as text."""
    lines = (SHARED / RAW_FILES[name]).read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]


# ---------------------------------------------------------------- bundled data sets


def test_registry_names():
    assert set(DATASETS) == set(RAW_FILES)
    assert set(MULTIVARIATE_DATASETS) == set(RAW_CSV)
    assert set(list_datasets()) == set(DATASETS)
    assert set(list_datasets(multivariate=True)) == set(MULTIVARIATE_DATASETS)
    assert all(isinstance(info.column, str) for info in DATASETS.values())
    assert all(isinstance(v, str) and v for v in list_datasets().values())


# n, first, last, sum: hard-coded from the raw files in ../shared/data/ (RAW_FILES above).
EXPECTED = {
    "galaxy": (82, 9.172, 34.279, 1708.18),
    "galaxy_mass": (82, 9172.0, 34279.0, 1707910.0),
    "faithful": (272, 79.0, 74.0, 19284.0),
    "geyser_waiting": (299, 80.0, 79.0, 21622.0),
    "geyser_duration": (299, 4.0166667, 2.0, 1034.7833337),
    "seed_notebook": (15, -67.0, 75.0, 314.0),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_load_dataset_values(name):
    n, first, last, total = EXPECTED[name]
    x = load_dataset(name)
    assert x.dtype == np.float64 and x.shape == (n,)
    assert x[0] == first and x[-1] == last
    assert x.sum() == pytest.approx(total, rel=1e-12)
    assert dataset_path(name).is_file()
    assert dataset_column(name) == DATASETS[name].column


def test_seed_notebook_raw_values():
    # seed_notebook_15.txt: the 15 raw observations, before the notebook's normalization
    expected = [-67, -48, 6, 8, 14, 16, 23, 24, 28, 29, 41, 49, 56, 60, 75]
    np.testing.assert_array_equal(load_dataset("seed_notebook"), expected)


def test_galaxy_versions_differ_only_in_78th_value():
    # galaxy_RG1997_thousand_kms.txt: 78th sorted value 26.960; galaxies_MASS_kms.txt: 26690
    rg, mass = np.sort(load_dataset("galaxy")), np.sort(load_dataset("galaxy_mass"))
    assert rg[77] == 26.960 and mass[77] == 26690.0
    differ = np.flatnonzero(~np.isclose(rg * 1000, mass, rtol=0, atol=1e-6))
    np.testing.assert_array_equal(differ, [77])


def test_geyser_columns_share_one_file():
    assert dataset_path("geyser_waiting") == dataset_path("geyser_duration")
    with dataset_path("geyser_waiting").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["waiting", "duration"]
    assert rows[1] == ["80", "4.0166667"] and rows[-1] == ["79", "2.0"]
    assert len(rows) == 300


def test_unknown_dataset_lists_names():
    with pytest.raises(ValueError, match="unknown data set name 'nope'.*faithful.*galaxy"):
        load_dataset("nope")
    with pytest.raises(ValueError, match="available"):
        dataset_path("Galaxy")
    with pytest.raises(TypeError, match="name"):
        load_dataset(3)


@needs_shared
@pytest.mark.parametrize("name", sorted(RAW_FILES))
def test_bundled_text_is_verbatim(name):
    """The CSV cell text equals the raw file's text (no reformatting), row by row."""
    with dataset_path(name).open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [row[dataset_column(name)] for row in rows] == raw_lines(name)


@needs_shared
@pytest.mark.parametrize("name", sorted(RAW_FILES))
def test_raw_shared_files_read_with_comments(name):
    x = read_data(SHARED / RAW_FILES[name])
    np.testing.assert_array_equal(x, load_dataset(name))
    np.testing.assert_array_equal(x, [float(v) for v in raw_lines(name)])


@needs_shared
def test_geyser_rows_aligned_with_shared_files():
    waiting, duration = raw_lines("geyser_waiting"), raw_lines("geyser_duration")
    assert len(waiting) == len(duration) == 299
    with dataset_path("geyser_waiting").open(encoding="utf-8", newline="") as fh:
        rows = [(r["waiting"], r["duration"]) for r in csv.DictReader(fh)]
    assert rows == list(zip(waiting, duration, strict=True))


def test_faithful2d_values():
    # faithful_2d_272.csv (R datasets::faithful): 272 rows, first (3.6, 79), last (4.467, 74);
    # column sums 948.677 and 19284 (R: mean(faithful$eruptions) = 3.487783, x 272 = 948.677;
    # 19284 is also the sum of faithful_waiting_272.txt)
    x = load_dataset("faithful2d")
    assert x.dtype == np.float64 and x.shape == (272, 2)
    assert x[0].tolist() == [3.6, 79.0] and x[-1].tolist() == [4.467, 74.0]
    np.testing.assert_allclose(x.sum(axis=0), [948.677, 19284.0], rtol=1e-12)
    np.testing.assert_array_equal(x[:, 1], load_dataset("faithful"))
    assert dataset_columns("faithful2d") == ("eruptions", "waiting")
    assert "faithful2d" in list_datasets(multivariate=True)


def test_dataset_column_of_a_multivariate_set_points_to_dataset_columns():
    with pytest.raises(ValueError, match=r"'faithful2d' has 2 columns.*dataset_columns"):
        dataset_column("faithful2d")
    assert dataset_columns("galaxy") == ("velocity",)


@needs_shared
@pytest.mark.parametrize("name", sorted(RAW_CSV))
def test_bundled_csv_is_the_shared_file(name):
    assert dataset_path(name).read_bytes() == (SHARED / RAW_CSV[name]).read_bytes()


# ---------------------------------------------------------------- read_data: accepted input


def test_plain_text_without_header(tmp_path):
    path = write(tmp_path, "1\n2.5\n-3e2\n", "x.txt")
    np.testing.assert_array_equal(read_data(path), [1.0, 2.5, -300.0])


def test_named_column_and_pathlike_and_str(tmp_path):
    path = write(tmp_path, "a,b\n1,10\n2,20\n")
    np.testing.assert_array_equal(read_data(path, column="b"), [10.0, 20.0])
    np.testing.assert_array_equal(read_data(str(path), "a"), [1.0, 2.0])


def test_several_columns_in_the_order_asked(tmp_path):
    path = write(tmp_path, "a,b,c\n1,10,100\n2,20,200\n")
    x = read_data(path, columns=["c", "a"])
    assert x.shape == (2, 2)
    np.testing.assert_array_equal(x, [[100.0, 1.0], [200.0, 2.0]])
    np.testing.assert_array_equal(read_data(path, columns=("b",)), [[10.0], [20.0]])


def test_several_columns_of_a_quoted_header(tmp_path):
    path = write(tmp_path, '"eruptions","waiting"\n3.6,79\n1.8,54\n')
    np.testing.assert_array_equal(read_data(path, columns=["waiting", "eruptions"])[1], [54, 1.8])


def test_bom_crlf_blank_lines_whitespace_quotes(tmp_path):
    text = '\r\n"x" , " y"\r\n\r\n 1 , 2\r\n   \r\n3,4\r\n\r\n'
    path = write(tmp_path, "\ufeff" + text)
    np.testing.assert_array_equal(read_data(path, "x"), [1.0, 3.0])
    np.testing.assert_array_equal(read_data(path, "y"), [2.0, 4.0])


def test_bom_single_column_header(tmp_path):
    path = write(tmp_path, "\ufeffvelocity\n9.172\n")
    np.testing.assert_array_equal(read_data(path, "velocity"), [9.172])
    np.testing.assert_array_equal(read_data(path), [9.172])


def test_cr_only_line_ends(tmp_path):
    path = write(tmp_path, "v\r1\r2\r")
    np.testing.assert_array_equal(read_data(path), [1.0, 2.0])


def test_leading_comments_skipped(tmp_path):
    path = write(tmp_path, '# source: "somewhere\n#  more\n\nv\n1\n2\n')
    np.testing.assert_array_equal(read_data(path, "v"), [1.0, 2.0])


def test_exact_values_kept(tmp_path):
    path = write(tmp_path, "d\n4.0166667\n2.15\n")
    x = read_data(path)
    assert x[0] == 4.0166667 and x[1] == 2.15 and x.dtype == np.float64


# ---------------------------------------------------------------- read_data: refusals


def test_missing_file(tmp_path):
    path = tmp_path / "absent.csv"
    with pytest.raises(DataError, match=r"absent\.csv: no such file"):
        read_data(path)


def test_directory(tmp_path):
    with pytest.raises(DataError, match="is a directory"):
        read_data(tmp_path)


@pytest.mark.parametrize("text", ["", "\n\n  \n", "# only a comment\n\n"])
def test_empty_file(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(DataError, match=r"x\.csv: empty file"):
        read_data(path)


def test_header_only(tmp_path):
    path = write(tmp_path, "velocity\n\n")
    with pytest.raises(DataError, match=r"x\.csv: column 'velocity': header row \(line 1\)"):
        read_data(path, "velocity")


def test_missing_column_lists_available(tmp_path):
    path = write(tmp_path, "a,b\n1,2\n")
    with pytest.raises(DataError, match=r"x\.csv: no column 'c'.*available columns: \['a', 'b'\]"):
        read_data(path, "c")


def test_several_columns_need_a_name(tmp_path):
    path = write(tmp_path, "a,b\n1,2\n")
    with pytest.raises(DataError, match=r"x\.csv: 2 columns \['a', 'b'\].*column=NAME"):
        read_data(path)


def test_column_name_on_headerless_file(tmp_path):
    path = write(tmp_path, "1\n2\n", "x.txt")
    with pytest.raises(DataError, match=r"x\.txt: column 'v' requested but .* no header row"):
        read_data(path, "v")


def test_headerless_several_columns(tmp_path):
    path = write(tmp_path, "1,2\n3,4\n")
    with pytest.raises(DataError, match="no header row and 2 columns"):
        read_data(path)


def test_non_numeric_cell(tmp_path):
    path = write(tmp_path, "# note\nv\n1\n\n2\nabc\n3\n")
    with pytest.raises(DataError, match=r"x\.csv: column 'v', line 6: not a number: 'abc'"):
        read_data(path)


def test_non_numeric_in_headerless_text(tmp_path):
    path = write(tmp_path, "1\n2\n3,5x\n", "x.txt")
    # 1 field in the first row, 2 here: reported as a field-count error on line 3
    with pytest.raises(DataError, match=r"x\.txt: column 1 \(no header\), line 3: 2 fields"):
        read_data(path)
    path = write(tmp_path, "1\n2\nseven\n", "y.txt")
    with pytest.raises(DataError, match=r"y\.txt: column 1 \(no header\), line 3: .*'seven'"):
        read_data(path)


@pytest.mark.parametrize("bad", ["nan", "NaN", "inf", "-inf", "-Infinity", "+infinity"])
def test_non_finite(tmp_path, bad):
    path = write(tmp_path, f"w,v\n0,1\n0,{bad}\n")
    pattern = rf"x\.csv: column 'v', line 3: non-finite value '{re.escape(bad)}'"
    with pytest.raises(DataError, match=pattern):
        read_data(path, "v")


def test_non_finite_first_row_of_headerless_file(tmp_path):
    path = write(tmp_path, "nan\n1\n", "x.txt")
    with pytest.raises(DataError, match=r"x\.txt: column 1 \(no header\), line 1: non-finite"):
        read_data(path)


def test_underscored_number_refused(tmp_path):
    path = write(tmp_path, "v\n1_000\n")
    with pytest.raises(DataError, match="line 2: not a number: '1_000'"):
        read_data(path)


def test_row_with_more_fields(tmp_path):
    path = write(tmp_path, "a,b\n1,2\n3,4,5\n")
    with pytest.raises(
        DataError, match=r"x\.csv: column 'a', line 3: 3 fields but the header has 2"
    ):
        read_data(path, "a")


def test_row_with_fewer_fields(tmp_path):
    path = write(tmp_path, "a,b\n1,2\n3\n")
    with pytest.raises(
        DataError, match=r"x\.csv: column 'b', line 3: 1 fields but the header has 2"
    ):
        read_data(path, "b")


def test_empty_cell(tmp_path):
    path = write(tmp_path, "a,b\n1,2\n3,\n")
    with pytest.raises(DataError, match=r"x\.csv: column 'b', line 3: empty cell"):
        read_data(path, "b")


def test_comment_after_data_refused(tmp_path):
    path = write(tmp_path, "v\n1\n# late comment\n2\n")
    with pytest.raises(DataError, match=r"line 3: not a number.*only at the top"):
        read_data(path)


def test_duplicate_column_name(tmp_path):
    path = write(tmp_path, "a,a\n1,2\n")
    with pytest.raises(DataError, match="'a' appears more than once"):
        read_data(path, "a")


def test_not_utf8(tmp_path):
    path = write(tmp_path, "v\n1\n\xe9\n", encoding="latin-1")
    with pytest.raises(DataError, match=r"x\.csv: not UTF-8"):
        read_data(path)


def test_data_error_is_value_error(tmp_path):
    with pytest.raises(ValueError):
        read_data(tmp_path / "absent.csv")


@pytest.mark.parametrize("column", [0, 1.5, b"v", ["v"]])
def test_bad_column_type(tmp_path, column):
    path = write(tmp_path, "v\n1\n")
    with pytest.raises(TypeError, match="column must be"):
        read_data(path, column)


def test_bad_path_type():
    with pytest.raises(TypeError, match="path must be"):
        read_data(42)


# ---------------------------------------------------------------- read_data: several columns


def test_bad_cell_named_by_its_own_column(tmp_path):
    path = write(tmp_path, "a,b\n1,2\n3,x\n")
    with pytest.raises(DataError, match=r"x\.csv: column 'b', line 3: not a number: 'x'"):
        read_data(path, columns=["a", "b"])
    with pytest.raises(DataError, match=r"column 'a', line 3: non-finite value 'nan'"):
        read_data(write(tmp_path, "a,b\n1,2\nnan,4\n", "y.csv"), columns=["b", "a"])


def test_wrong_width_row_names_the_columns_and_line(tmp_path):
    path = write(tmp_path, "a,b\n1,2\n3\n")
    with pytest.raises(DataError, match=r"column 'a', column 'b', line 3: 1 fields but the header"):
        read_data(path, columns=["a", "b"])


def test_missing_one_of_several_columns(tmp_path):
    path = write(tmp_path, "a,b\n1,2\n")
    with pytest.raises(DataError, match=r"no column 'z' in the header \(line 1\).*\['a', 'b'\]"):
        read_data(path, columns=["a", "z"])


def test_several_columns_need_a_header(tmp_path):
    path = write(tmp_path, "1,2\n3,4\n")
    with pytest.raises(DataError, match=r"column 'a', 'b' requested but the file has no header"):
        read_data(path, columns=["a", "b"])


def test_several_columns_without_a_name_suggest_columns(tmp_path):
    with pytest.raises(DataError, match=r"2 columns.*columns=\[NAME, \.\.\.\] for several"):
        read_data(write(tmp_path, "a,b\n1,2\n"))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"column": "a", "columns": ["b"]}, TypeError, "not both"),
        ({"columns": "ab"}, TypeError, "columns must be a list of header names"),
        ({"columns": ["a", 2]}, TypeError, "columns must be a list of header names"),
        ({"columns": 3}, TypeError, "columns must be a list of header names"),
        ({"columns": []}, ValueError, "columns is empty"),
        ({"columns": ["a", "b", "a"]}, ValueError, r"names \['a'\] more than once"),
    ],
)
def test_bad_columns_argument(tmp_path, kwargs, error, message):
    path = write(tmp_path, "a,b\n1,2\n")
    with pytest.raises(error, match=message):
        read_data(path, **kwargs)
