"""Load columns of numbers: a bundled data set by name, or a user's CSV / plain-text file.

All validation of raw data files lives here. Only numpy and the standard library are imported, so
``import gmm_bayes`` stays cheap.

File format accepted by :func:`read_data`
-----------------------------------------
- UTF-8 text (a byte-order mark is ignored), any line ends (LF, CRLF, CR).
- Comma-separated fields; surrounding whitespace and double quotes around a field are removed.
  Quoted fields may not span lines.
- Lines starting with ``#`` are comments **only at the top of the file**, before the header or the
  first data row (the provenance headers of the raw ``.txt`` sources use them). A ``#`` line
  further down is an error, so a corrupted or concatenated file is not read silently.
- Blank lines are skipped anywhere.
- Header row: optional. The first non-blank, non-comment row is data when all its non-empty fields
  are numbers, unless ``column=`` names one of its fields: then it is the header (a numeric header
  such as ``2020``). Any other first row is the header. A plain text file with one number per line
  is the simplest header-less file. Columns of a header-less file have no names, so ``column``
  must then be None and the file must have a single column. ``columns=[...]`` reads several
  named columns at once (an (N, d) array).
- Every data row must have exactly as many fields as the header (or as the first row), and every
  selected cell must be a finite number (``nan``, ``inf``, ``-Infinity`` ... are refused, and so is
  a number too large for float64).
- Only regular files are read: a directory, a device (``/dev/zero``), a FIFO or a socket is refused
  before it is opened, so reading never blocks.
"""

import csv
import os
import stat
from collections.abc import Sequence
from importlib import resources
from itertools import chain
from pathlib import Path
from typing import NamedTuple

import numpy as np

from gmm_bayes._validation import short_repr
from gmm_bayes.exceptions import DataError

__all__ = [
    "DATASETS",
    "MULTIVARIATE_DATASETS",
    "dataset_column",
    "dataset_columns",
    "dataset_path",
    "list_datasets",
    "load_dataset",
    "read_data",
]


class DatasetInfo(NamedTuple):
    """Registry entry of a bundled data set (``DATASETS[name]``).

    ``column`` is the header name of a one-column data set, or the names of the columns of a
    multivariate one, in order (a tuple).
    """

    file: str
    column: str | tuple[str, ...]
    description: str
    units: str


#: Bundled data sets: name -> (file in ``data/``, column(s), one-line description, units).
#: Provenance and citations: ``data/README.md``.
DATASETS: dict[str, DatasetInfo] = {
    "galaxy": DatasetInfo(
        "galaxy_rg1997.csv",
        "velocity",
        "Galaxy velocities, 82 values (Richardson & Green 1997 version, 78th sorted = 26.960)",
        "1000 km/s",
    ),
    "galaxy_mass": DatasetInfo(
        "galaxies_mass.csv",
        "velocity",
        "Galaxy velocities, 82 values (R MASS::galaxies, 78th sorted = 26690, a known typo)",
        "km/s",
    ),
    "faithful": DatasetInfo(
        "faithful.csv",
        "waiting",
        "Old Faithful waiting times between eruptions, 272 values (R datasets::faithful)",
        "minutes",
    ),
    "geyser_waiting": DatasetInfo(
        "geyser_1985.csv",
        "waiting",
        "Old Faithful waiting times, 299 consecutive eruptions, August 1985 (R MASS::geyser)",
        "minutes",
    ),
    "geyser_duration": DatasetInfo(
        "geyser_1985.csv",
        "duration",
        "Old Faithful eruption durations, 299 consecutive eruptions, August 1985 (R MASS::geyser)",
        "minutes",
    ),
    "seed_notebook": DatasetInfo(
        "seed_notebook.csv",
        "value",
        "The seed notebook's 15 raw observations (before its normalization)",
        "none",
    ),
}

#: Bundled multivariate data sets, kept apart from :data:`DATASETS` while the Bayesian layer,
#: the report and the command line take one column only: name -> (file, columns, ...).
MULTIVARIATE_DATASETS: dict[str, DatasetInfo] = {
    "faithful2d": DatasetInfo(
        "faithful_2d.csv",
        ("eruptions", "waiting"),
        "Old Faithful eruption lengths and waiting times, 272 eruptions (R datasets::faithful)",
        "minutes",
    ),
}

_RESOURCE_PACKAGE = "gmm_bayes.datasets"  # ``data/`` mapped in pyproject.toml
_SOURCE_DIR = Path(__file__).resolve().parent.parent / "data"  # source checkout / editable install


def list_datasets(multivariate: bool = False) -> dict[str, str]:
    """Return the bundled data sets.

    Parameters
    ----------
    multivariate : bool
        False: the one-column data sets (:data:`DATASETS`); True: the multivariate ones
        (:data:`MULTIVARIATE_DATASETS`).

    Returns
    -------
    dict of str to str
        Data set name -> one-line description (units in brackets).

    Examples
    --------
    >>> list_datasets()["faithful"]
    'Old Faithful waiting times between eruptions, 272 values (R datasets::faithful) [minutes]'
    >>> list(list_datasets(multivariate=True))
    ['faithful2d']
    """
    registry = MULTIVARIATE_DATASETS if multivariate else DATASETS
    return {name: f"{info.description} [{info.units}]" for name, info in registry.items()}


def _info(name) -> DatasetInfo:
    if not isinstance(name, str):
        raise TypeError(f"name must be a data set name (str), got {short_repr(name)}")
    try:
        return DATASETS[name] if name in DATASETS else MULTIVARIATE_DATASETS[name]
    except KeyError:
        names = ", ".join(sorted(DATASETS) + sorted(MULTIVARIATE_DATASETS))
        raise ValueError(f"unknown data set name {name!r}; available: {names}") from None


def dataset_path(name: str) -> Path:
    """Return the path of a bundled data set's CSV file.

    Parameters
    ----------
    name : str
        A key of :data:`DATASETS` or :data:`MULTIVARIATE_DATASETS`.

    Returns
    -------
    pathlib.Path
        Existing file: inside the installed package (``gmm_bayes/datasets/``) for a wheel install,
        or the repository's ``data/`` directory for a source checkout or editable install.

    Examples
    --------
    >>> dataset_path("geyser_waiting").name
    'geyser_1985.csv'
    """
    file = _info(name).file
    for candidate in (_installed_file(file), _SOURCE_DIR / file):
        if candidate is not None and candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"bundled data file {file!r} for data set {name!r} not found in the installed package "
        f"({_RESOURCE_PACKAGE}) nor in {_SOURCE_DIR}; reinstall gmm_bayes"
    )


def _installed_file(file) -> Path | None:
    try:
        resource = resources.files(_RESOURCE_PACKAGE).joinpath(file)
    except (ModuleNotFoundError, ValueError):
        return None
    return resource if isinstance(resource, Path) else None


def dataset_column(name: str) -> str:
    """Return the CSV column holding a one-column bundled data set.

    Raises
    ------
    ValueError
        The data set has several columns: use :func:`dataset_columns`.

    Examples
    --------
    >>> dataset_column("galaxy")
    'velocity'
    """
    column = _info(name).column
    if not isinstance(column, str):
        raise ValueError(
            f"data set {name!r} has {len(column)} columns {list(column)}, not one; "
            "use dataset_columns(name) and read_data(path, columns=...)"
        )
    return column


def dataset_columns(name: str) -> tuple[str, ...]:
    """Return the CSV columns of a bundled data set, in order (one name for univariate sets).

    Examples
    --------
    >>> dataset_columns("faithful2d"), dataset_columns("galaxy")
    (('eruptions', 'waiting'), ('velocity',))
    """
    column = _info(name).column
    return (column,) if isinstance(column, str) else column


def load_dataset(name: str) -> np.ndarray:
    """Load a bundled data set.

    Parameters
    ----------
    name : str
        One of ``list_datasets()``: ``"galaxy"``, ``"galaxy_mass"``, ``"faithful"``,
        ``"geyser_waiting"``, ``"geyser_duration"``, ``"seed_notebook"``, and the bivariate
        ``"faithful2d"`` (``eruptions``, ``waiting``).

    Returns
    -------
    ndarray of float64, shape (N,) or (N, d)
        The values in file order: shape (N,) for a one-column data set, (N, d) for a
        multivariate one (columns as :func:`dataset_columns`).

    Raises
    ------
    ValueError
        Unknown name (the message lists the available ones).

    Examples
    --------
    >>> x = load_dataset("galaxy")
    >>> x.shape, x[:3]
    ((82,), array([9.172, 9.35 , 9.483]))
    >>> load_dataset("faithful2d")[:2]
    array([[ 3.6, 79. ],
           [ 1.8, 54. ]])
    """
    column = _info(name).column
    if isinstance(column, str):
        return read_data(dataset_path(name), column=column)
    return read_data(dataset_path(name), columns=column)


def read_data(
    path: str | os.PathLike, column: str | None = None, *, columns: Sequence[str] | None = None
) -> np.ndarray:
    """Read one or several columns of finite numbers from a CSV or plain-text file.

    See the module docstring for the accepted format (header optional, ``#`` comments at the top,
    blank lines, BOM and CRLF tolerated, regular files only).

    Header rule: a first row that parses as numbers is data, unless ``column=`` names one of its
    fields; then it is a header. So a one-column file starting ``2020`` is read whole with
    ``column=None``, and from its second row on with ``column="2020"``.

    Parameters
    ----------
    path : str or os.PathLike
        The file to read.
    column : str or None
        Header name of the column to read. None (and no ``columns``): the file must have
        exactly one column.
    columns : sequence of str, optional
        Header names of several columns to read, in this order (distinct, at least one);
        exclusive with ``column``. A header row is then required.

    Returns
    -------
    ndarray of float64, shape (N,) or (N, d)
        The values in file order, N >= 1: shape (N,) with ``column``, (N, d) with ``columns``
        (d = ``len(columns)``, also for a single name).

    Raises
    ------
    TypeError
        ``path`` is not a path, ``column`` is neither a str nor None, ``columns`` is not a
        sequence of str, or both ``column`` and ``columns`` are given.
    DataError
        The file is missing, unreadable or not a regular file, empty, has no such column, or a
        row is malformed (wrong number of fields, non-numeric, non-finite or too large cell). The
        message names the file, the column and the first bad line (1-based line number in the
        file, offending text).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder, "counts.csv")
    ...     _ = path.write_text("2020\\n15\\n17\\n", encoding="utf-8")
    ...     read_data(path), read_data(path, column="2020")
    (array([2020.,   15.,   17.]), array([15., 17.]))
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder, "geyser.csv")
    ...     _ = path.write_text("waiting,duration\\n80,4.0\\n71,2.2\\n", encoding="utf-8")
    ...     read_data(path, columns=["duration", "waiting"])
    array([[ 4. , 80. ],
           [ 2.2, 71. ]])
    """
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a str or os.PathLike, got {short_repr(path)}")
    wanted = _wanted_columns(column, columns)
    path = Path(path)
    _require_regular_file(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            values = _parse(fh, path, wanted)
    except UnicodeDecodeError as err:
        raise DataError(
            f"{path}: not UTF-8 text (undecodable byte at offset {err.start})"
        ) from None
    except OSError as err:
        raise DataError(f"{path}: cannot be read ({err.strerror or err})") from None
    return values if columns is not None else values[:, 0]


def _wanted_columns(column, columns) -> list[str] | None:
    """The header names to read (None: the file's only column), after checking the arguments."""
    if column is not None and not isinstance(column, str):
        raise TypeError(f"column must be a header name (str) or None, got {short_repr(column)}")
    if columns is None:
        return None if column is None else [column]
    if column is not None:
        raise TypeError(
            f"pass column={column!r} or columns={short_repr(columns)}, not both "
            "(column reads one column, columns several)"
        )
    if isinstance(columns, str) or not all(isinstance(c, str) for c in _as_list(columns)):
        raise TypeError(
            f"columns must be a list of header names (str), got {short_repr(columns)}; "
            "for one column pass column=NAME"
        )
    wanted = list(columns)
    if not wanted:
        raise ValueError("columns is empty; name at least one column")
    repeated = sorted({c for c in wanted if wanted.count(c) > 1})
    if repeated:
        raise ValueError(f"columns {wanted} names {repeated} more than once; name each once")
    return wanted


def _as_list(columns) -> list:
    try:
        return list(columns)
    except TypeError:
        raise TypeError(
            f"columns must be a list of header names (str), got {short_repr(columns)}"
        ) from None


_NOT_REGULAR = (
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
)


def _require_regular_file(path):
    """Raise DataError unless ``path`` is a regular file; never opens it (a FIFO would block)."""
    try:
        mode = path.stat().st_mode
    except ValueError:
        raise DataError(f"{str(path)!r}: not a valid path (it contains a NUL character)") from None
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except NotADirectoryError:
        raise DataError(f"{path}: no such file ({_file_in_path(path)})") from None
    except OSError as err:
        raise DataError(f"{path}: cannot be read ({err.strerror or err})") from None
    if stat.S_ISDIR(mode):
        raise DataError(f"{path}: is a directory, expected a CSV or text file")
    if not stat.S_ISREG(mode):
        kind = next((kind for is_kind, kind in _NOT_REGULAR if is_kind(mode)), "a special file")
        raise DataError(f"{path}: not a regular file ({kind}); save the data to a file")


def _file_in_path(path) -> str:
    file = next((p for p in reversed(path.parents) if os.path.isfile(p)), None)
    if file is None:
        return "a component of the path is not a directory"
    return f"{file} is a file, not a directory"


def _parse(fh, path, wanted) -> np.ndarray:
    """The selected columns, shape (N, len(wanted)); ``wanted=None``: a one-column file."""
    rows = _records(fh, path)
    first = next(rows, None)
    if first is None:
        raise DataError(f"{path}: empty file (no header and no data rows)")
    header_line, fields = first
    if _is_header(fields, wanted):
        names, data = fields, []
        indices = _column_indices(path, names, wanted, header_line)
        labels = [f"column {names[i]!r}" for i in indices]
    else:
        names, labels = None, ["column 1 (no header)"]
        indices, data = [_headerless_index(path, wanted, first)], [first]
    width = len(fields)
    values = [_cells(path, labels, names, width, indices, rec) for rec in chain(data, rows)]
    if not values:
        raise DataError(
            f"{path}: {', '.join(labels)}: header row (line {header_line}) but no data rows"
        )
    return np.asarray(values, dtype=np.float64).reshape(len(values), len(indices))


def _records(fh, path):
    """Yield ``(line_number, fields)`` for each non-blank row, skipping comments at the top."""
    preamble = True
    for lineno, line in enumerate(fh, start=1):
        text = line.strip()
        if not text or (preamble and text.startswith("#")):
            continue
        preamble = False
        if '"' in line:
            try:
                fields = next(csv.reader([line], skipinitialspace=True))
            except csv.Error as err:
                raise DataError(f"{path}: line {lineno}: {err}") from None
        else:
            fields = line.split(",")
        yield lineno, [f.strip() for f in fields]


def _is_header(fields, wanted) -> bool:
    """The header rule of :func:`read_data` for the first row."""
    if wanted is not None and any(name in fields for name in wanted):
        return True
    return not all(_is_number(f) for f in fields if f)


def _headerless_index(path, wanted, first) -> int:
    line, fields = first
    if wanted is not None:
        asked = ", ".join(map(repr, wanted))
        raise DataError(
            f"{path}: column {asked} requested but the file has no header row (its first row, "
            f"line {line}, is all numbers, none of them {asked}); pass column=None for a "
            "one-column file"
        )
    if len(fields) != 1:
        found = f"line {line} has {'numbers' if any(fields) else 'empty fields'} only"
        remedy = "add a header row and pass column=NAME"
        if fields[-1] == "":
            found += " and ends with a comma, which makes an empty last column"
            remedy = f"remove the trailing commas, or {remedy}"
        raise DataError(f"{path}: no header row and {len(fields)} columns ({found}); {remedy}")
    return 0


def _column_indices(path, names, wanted, line) -> list[int]:
    if wanted is None:
        if len(names) != 1:
            raise DataError(
                f"{path}: {len(names)} columns {names} (header on line {line}); "
                "pass column=NAME to choose one, or columns=[NAME, ...] for several"
            )
        return [0]
    return [_column_index(path, names, column, line) for column in wanted]


def _column_index(path, names, column, line) -> int:
    if names.count(column) == 0:
        raise DataError(
            f"{path}: no column {column!r} in the header (line {line}); available columns: {names}"
        )
    if names.count(column) > 1:
        raise DataError(f"{path}: column {column!r} appears more than once in the header {names}")
    return names.index(column)


def _cells(path, labels, names, width, indices, record) -> list[float]:
    lineno, fields = record
    if len(fields) != width:
        where = f"{path}: {', '.join(labels)}, line {lineno}"
        expected = f"the header has {width}" if names is not None else f"the first row has {width}"
        raise DataError(
            f"{where}: {len(fields)} fields but {expected}: {short_repr(','.join(fields))}"
            + _comment_hint(fields)
        )
    cells = zip(labels, indices, strict=True)
    return [_cell(f"{path}: {label}, line {lineno}", fields, i) for label, i in cells]


def _cell(where, fields, index) -> float:
    text = fields[index]
    try:
        value = float(text) if "_" not in text else None
    except ValueError:
        value = None
    if value is None and not text:
        raise DataError(f"{where}: empty cell")
    if value is None:
        raise DataError(f"{where}: not a number: {short_repr(text)}" + _comment_hint(fields))
    if not np.isfinite(value) and any(ch.isdigit() for ch in text):
        raise DataError(
            f"{where}: {short_repr(text)} is too large for float64 (the largest is "
            f"{np.finfo(np.float64).max:.3g}); rescale the column first"
        )
    if not np.isfinite(value):
        raise DataError(f"{where}: non-finite value {short_repr(text)}; drop or impute it first")
    return value


def _comment_hint(fields) -> str:
    if fields and fields[0].startswith("#"):
        return " (# comment lines are allowed only at the top of the file)"
    return ""


def _is_number(text) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return "_" not in text
