"""Input never gives a silent wrong answer or a traceback: arrays (``as_data``) and files
(``read_data``).

Every public function that takes observations validates them with the same rule, so the array
cases run through several entry points. The file cases cover numeric headers, file-system errors,
non-regular files and the wording of messages; two property tests feed ``read_data`` random bytes
and random CSV-like text.
"""

import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gmm_bayes as gb
from gmm_bayes import DataError, read_data

X = np.array([0.9, 1.0, 1.1, 4.9, 5.0, 5.1])
FIT = gb.fit_em(X, 2, random_state=0)

# Every public entry point that checks observations with the shared validator (numpy-only ones;
# the PyMC model builder is covered by the slow test at the end).
ENTRY_POINTS = {
    "fit_em": lambda x: gb.fit_em(x, 2, random_state=0),
    "fit_sklearn": lambda x: gb.fit_sklearn(x, 2, random_state=0),
    "EMResult.logpdf": FIT.logpdf,
    "Priors.anchors": lambda x: gb.Priors().anchors(x),
}


def entry_points(test):
    return pytest.mark.parametrize("call", ENTRY_POINTS.values(), ids=list(ENTRY_POINTS))(test)


# ---------------------------------------------------------------- arrays: masked values (1)


@entry_points
def test_masked_values_are_refused_not_used(call):
    x = np.ma.masked_array([*X, 1e6], mask=[False] * X.size + [True])
    with pytest.raises(
        DataError, match=r"x has 1 masked value \(first at index 6\).*x\.compressed"
    ):
        call(x)


@entry_points
@pytest.mark.parametrize("mask", [np.ma.nomask, np.zeros(X.size, dtype=bool)], ids=["nomask", "0"])
def test_masked_array_without_masked_values_is_its_data(call, mask):
    expected = call(X)
    got = call(np.ma.masked_array(X, mask=mask))
    if isinstance(expected, gb.EMResult):
        expected, got = expected.means, got.means
    np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))
    assert not isinstance(got, np.ma.MaskedArray)


def test_masked_column_vector_is_refused():
    x = np.ma.masked_array(X[:, None], mask=np.arange(X.size)[:, None] == 2)
    with pytest.raises(DataError, match=r"x has 1 masked value \(first at index 2\)"):
        gb.fit_em(x, 2)


# ---------------------------------------------------------------- arrays: not numbers (2)

NOT_NUMBERS = {
    "datetime64": (np.arange(6).astype("datetime64[D]"), r"datetime64\[D\]"),
    "timedelta64": (np.arange(6).astype("timedelta64[s]"), r"timedelta64\[s\]"),
    "object bools": (np.array([True, 1.0, 2.0, 3.0, 4.0, 5.0], dtype=object), r"bool True"),
    "object numpy bool": (np.array([1.0, np.True_, 2.0, 3.0], dtype=object), r"bool True"),
    "list with a bool": ([1.0, 2.0, False, 3.0, 4.0, 5.0], r"bool False at index 2"),
    "object strings": (np.array([1.0, "2.5", 3.0, 4.0], dtype=object), r"'2\.5' at index 1"),
    "object timedelta": (np.array([1, np.timedelta64(2, "s"), 3], dtype=object), "timedelta64"),
}


@entry_points
@pytest.mark.parametrize(("x", "found"), NOT_NUMBERS.values(), ids=list(NOT_NUMBERS))
def test_non_numbers_are_refused_naming_what_was_found(call, x, found):
    with pytest.raises(TypeError, match=rf"^x must .*{found}"):
        call(x)


def test_object_array_of_real_numbers_is_accepted():
    x = np.array([0.9, 1, Fraction(11, 10), np.float32(4.9), 5, np.int64(5)], dtype=object)
    np.testing.assert_array_equal(FIT.logpdf(x), FIT.logpdf([0.9, 1.0, 1.1, np.float32(4.9), 5, 5]))


def test_missing_value_in_object_array_named():
    with pytest.raises(DataError, match=r"x has a missing value \(None\) at index 1"):
        gb.fit_em(np.array([1.0, None, 2.0, 3.0], dtype=object), 2)


@pytest.mark.parametrize(
    "x",
    [[1.0, 2.0, 10**400], np.array([1.0, 2.0, 10**400], dtype=object)],
    ids=["list", "object array"],
)
def test_finite_value_too_large_for_float64(x):
    with pytest.raises(DataError, match=r"x has a value too large for float64 at index 2"):
        gb.fit_em(x, 2)


@pytest.mark.skipif(
    np.finfo(np.longdouble).max <= np.finfo(np.float64).max, reason="longdouble is float64 here"
)
def test_long_double_too_large_for_float64_is_not_called_non_finite():
    x = np.array([1.0, 2.0, 3.0], dtype=np.longdouble)
    x[1] = np.longdouble("1e400")
    with pytest.raises(DataError, match=r"too large for float64 at index 1"):
        gb.fit_em(x, 2)


def test_ragged_list_names_the_argument():
    with pytest.raises(ValueError, match=r"^x must be .*\(N,\)"):
        gb.fit_em([[1.0], [2.0, 3.0]], 1)


# ---------------------------------------------------------------- files: numeric headers (3)


def write(tmp_path, text, name="x.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_numeric_header_named_by_column_is_a_header(tmp_path):
    path = write(tmp_path, "2020\n1.5\n2.5\n")
    np.testing.assert_array_equal(read_data(path, column="2020"), [1.5, 2.5])


def test_numeric_first_row_without_column_is_data(tmp_path):
    path = write(tmp_path, "2020\n1.5\n2.5\n")
    np.testing.assert_array_equal(read_data(path), [2020.0, 1.5, 2.5])


def test_numeric_header_of_several_columns(tmp_path):
    path = write(tmp_path, "2020,2021\n1,2\n3,4\n")
    np.testing.assert_array_equal(read_data(path, column="2021"), [2.0, 4.0])
    with pytest.raises(DataError, match="column '2022' requested but the file has no header row"):
        read_data(path, column="2022")


# ---------------------------------------------------------------- files: file-system errors (4)


def symlink_loop(tmp_path):
    os.symlink(tmp_path / "b.csv", tmp_path / "a.csv")
    os.symlink(tmp_path / "a.csv", tmp_path / "b.csv")
    return tmp_path / "a.csv"


def through_a_file(tmp_path):
    return write(tmp_path, "v\n1\n", "good.csv") / "x"


def long_name(tmp_path):
    return tmp_path / ("n" * 300 + ".csv")


def dangling_symlink(tmp_path):
    os.symlink(tmp_path / "gone.csv", tmp_path / "link.csv")
    return tmp_path / "link.csv"


FS_ERRORS = {
    "symlink loop": (symlink_loop, "too many levels of symbolic links"),
    "path through a file": (through_a_file, "good.csv is a file, not a directory"),
    "300-character name": (long_name, "file name too long"),
    "directory": (lambda tmp_path: tmp_path, "is a directory"),
    "dangling symlink": (dangling_symlink, "no such file"),
}


@pytest.mark.parametrize(("make", "reason"), FS_ERRORS.values(), ids=list(FS_ERRORS))
def test_file_system_errors_become_one_data_error(tmp_path, make, reason):
    path = make(tmp_path)
    with pytest.raises(DataError, match=f"(?i){reason}") as caught:
        read_data(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None or caught.value.__suppress_context__


def test_nul_in_path_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="NUL"):
        read_data(f"{tmp_path}/a\0b.csv")


def read_in_child(path):
    """``read_data(path)`` in a child process with 1 GiB of memory: ``(exit code, output)``.

    A reader that opens a FIFO blocks and one that reads ``/dev/zero`` fills memory; the child
    keeps either from hanging or starving the test run (the timeout only detects a block).
    """
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
        "from gmm_bayes import DataError, read_data\n"
        "try:\n"
        "    read_data(sys.argv[1])\n"
        "except DataError as err:\n"
        "    print(err)\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"read_data({str(path)!r}) blocked")
    return done.returncode, done.stdout + done.stderr


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_character_device_refused(device):
    returncode, output = read_in_child(device)
    assert returncode == 0, output
    assert output == f"{device}: not a regular file (a character device); save the data to a file\n"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    returncode, output = read_in_child(fifo)
    assert returncode == 0, output
    assert output == f"{fifo}: not a regular file (a FIFO); save the data to a file\n"


# ---------------------------------------------------------------- files: messages (5)


def test_headerless_file_with_trailing_commas_not_called_a_header(tmp_path):
    path = write(tmp_path, "1,\n2,\n3,\n")
    with pytest.raises(DataError) as caught:
        read_data(path)
    message = str(caught.value)
    assert "header on line" not in message and "(header" not in message
    assert "no header row" in message and "trailing comma" in message


@pytest.mark.parametrize("big", ["9" * 400, "1e400", "-1" + "0" * 399])
def test_finite_cell_too_large_for_float64(tmp_path, big):
    path = write(tmp_path, f"v\n1\n{big}\n")
    with pytest.raises(DataError, match=r"column 'v', line 3: .* is too large for float64"):
        read_data(path)


def test_field_over_csv_limit_is_a_data_error(tmp_path):
    path = write(tmp_path, 'v\n"' + "1" * 200_000 + '"\n')
    with pytest.raises(DataError, match=r"line 2: "):
        read_data(path)


# ---------------------------------------------------------------- files: random input (6)


class Blocked(Exception):
    """Raised by :func:`watchdog` when the guarded call has not returned."""


@contextmanager
def watchdog(seconds):
    """Turn a hang into a test failure: raise :class:`Blocked` after ``seconds``."""

    def alarm(signum, frame):
        raise Blocked(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def read_or_data_error(path, column):
    """``read_data``'s answer: a finite float64 vector, or ``None`` for a DataError."""
    with watchdog(60):
        try:
            x = read_data(path, column)
        except DataError:
            return None
    assert x.dtype == np.float64 and x.ndim == 1 and x.size >= 1
    assert np.isfinite(x).all()
    return x


COLUMNS = st.one_of(st.none(), st.sampled_from(["v", "a", "2020", "1", ""]), st.text(max_size=3))
CELLS = st.one_of(
    st.from_regex(r"[-+]?\d{1,4}(\.\d{0,3})?([eE][-+]?\d{1,3})?", fullmatch=True),
    st.sampled_from(["", " ", "v", "a", "2020", "nan", "-inf", "1_0", '"1"', '"', "#", "9" * 400]),
    st.just('"' + "1" * 131_073 + '"'),  # one more character than the csv module's field limit
    st.text(max_size=4),
)
ROWS = st.lists(CELLS, min_size=1, max_size=4).map(",".join)
TEXT = st.tuples(st.lists(ROWS, max_size=8), st.sampled_from(["\n", "\r\n", "\r"])).map(
    lambda rows_end: rows_end[1].join(rows_end[0])
)
PROPERTY = settings(derandomize=True, database=None, deadline=None, max_examples=300)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("random") / "data.csv"


@PROPERTY
@given(data=st.binary(max_size=400), column=COLUMNS)
def test_random_bytes_give_numbers_or_a_data_error(scratch, data, column):
    scratch.write_bytes(data)
    read_or_data_error(scratch, column)


@PROPERTY
@given(text=TEXT, column=COLUMNS)
def test_random_csv_text_gives_numbers_or_a_data_error(scratch, text, column):
    scratch.write_text(text, encoding="utf-8")
    read_or_data_error(scratch, column)


PAIRS = st.lists(st.sampled_from(["v", "a", "2020", "1", "b"]), min_size=1, max_size=3, unique=True)


@PROPERTY
@given(text=TEXT, columns=PAIRS)
def test_several_columns_are_the_single_columns_side_by_side(scratch, text, columns):
    """``columns=[a, b]`` reads what ``column=a`` and ``column=b`` read, or refuses with a
    DataError exactly when one of them does."""
    scratch.write_text(text, encoding="utf-8")
    singles = [read_or_data_error(scratch, column) for column in columns]
    with watchdog(60):
        try:
            x = read_data(scratch, columns=columns)
        except DataError:
            x = None
    if any(single is None for single in singles):
        assert x is None
    else:
        assert x.dtype == np.float64 and x.shape == (singles[0].size, len(columns))
        np.testing.assert_array_equal(x, np.column_stack(singles))


# ---------------------------------------------------------------- the PyMC model builder


@pytest.mark.slow
@pytest.mark.parametrize(
    ("x", "error"),
    [
        (np.ma.masked_array([*X, 1e6], mask=[False] * X.size + [True]), DataError),
        (np.arange(6).astype("datetime64[D]"), TypeError),
        (np.array([True, 1.0, 2.0, 3.0], dtype=object), TypeError),
    ],
    ids=["masked", "datetime64", "object bools"],
)
def test_build_model_uses_the_same_rule(x, error):
    with pytest.raises(error, match="^x "):
        gb.build_model(x, 2)
