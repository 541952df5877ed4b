"""Reading x and y from files: CSV/TSV/text, .npy, .npz and Parquet, validated at the edge.

Every problem with a file - missing, unreadable, empty, an unknown column, a cell that is not a
number, NaN or inf, mismatched lengths, too few rows, constant x - is a one-line
:class:`~gradfit.errors.UsageError` that names the file and, where it can, the line (text files,
1-based as an editor shows it) or row (binary files, 0-based as NumPy indexes it) and column.

Columns are chosen by name (a header, an .npz array name, a Parquet column) or by 0-based index.
Without a choice, a file with exactly two columns gives x then y, and a file with columns named
``x`` and ``y`` gives those.

Formats (by extension):

- ``.csv``, ``.tsv``, ``.txt``, ``.dat``: text tables. The delimiter is a tab for ``.tsv``, else
  the first of tab, ``;``, ``,`` found in the first row, else runs of whitespace. A first row with
  no number in it is a header. Blank lines and lines starting with ``#`` are skipped; empty
  cells and ``NA``/``N/A``/``null``/``none``/``nan`` are missing values (NaN).
- ``.npy``: a 2-D array (columns by index), a structured array (columns by field name), or, where
  only x is needed (``gradfit predict``), a 1-D array. Read memory-mapped: only the chosen
  columns are copied into memory, so large files are cheap to open.
- ``.npz``: named 1-D arrays (columns by name), or a single 2-D array (columns by index).
- ``.parquet``, ``.pq``: needs pyarrow (``pip install 'gradfit[parquet]'``); only the chosen
  columns are read.
"""

from __future__ import annotations

import csv
import math
import warnings
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import UsageError

TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".dat")
NUMPY_SUFFIXES = (".npy", ".npz")
PARQUET_SUFFIXES = (".parquet", ".pq")
SUPPORTED = TEXT_SUFFIXES + NUMPY_SUFFIXES + PARQUET_SUFFIXES
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none"})

Column = str | int | None


@dataclass(frozen=True)
class Data:
    """x and y read from a file, as float64 NumPy arrays of equal length, all finite."""

    x: np.ndarray
    y: np.ndarray
    path: str
    x_name: str
    y_name: str
    rows: int  # data rows in the file
    dropped: int = 0  # rows left out by drop_nonfinite

    @property
    def name(self) -> str:
        """How the problem is called in results: ``data.csv (y vs x)``."""
        return f"{Path(self.path).name} ({self.y_name} vs {self.x_name})"

    def info(self) -> dict[str, Any]:
        """A JSON-ready summary (for results and saved models)."""
        return {
            "path": self.path,
            "x": self.x_name,
            "y": self.y_name,
            "rows": self.rows,
            "dropped": self.dropped,
            "used": int(self.x.shape[0]),
        }


def load_data(
    path: str | Path,
    x: Column = None,
    y: Column = None,
    *,
    n_params: int | None = None,
    drop_nonfinite: bool = False,
) -> Data:
    """Read columns ``x`` and ``y`` of ``path`` and validate them for fitting.

    ``n_params`` (the number of coefficients to fit) adds the checks that need it: at least that
    many rows and, for two or more coefficients, enough distinct x values. ``drop_nonfinite``
    leaves out rows where x or y is NaN, missing or infinite instead of refusing the file.

    >>> import numpy as np, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
    >>> _ = p.write_text("time,temp\\n0,1.5\\n1,2.5\\n2,3.5\\n")
    >>> d = load_data(p)
    >>> d.x_name, d.y_name, d.y.tolist()
    ('time', 'temp', [1.5, 2.5, 3.5])
    """
    source = open_source(path)
    ix, iy = _choose_xy(source, x, y)
    xs, ys = source.columns([ix, iy])
    x_name, y_name = source.names[ix], source.names[iy]
    if xs.shape[0] != ys.shape[0]:
        raise UsageError(
            f"{source.label}: {_role('x', x_name)} has {xs.shape[0]} values but "
            f"{_role('y', y_name)} has {ys.shape[0]}; they must have the same length"
        )
    rows = int(xs.shape[0])
    if rows == 0:
        raise UsageError(f"{source.label} has no data rows")
    ok = np.isfinite(xs) & np.isfinite(ys)
    dropped = rows - int(ok.sum())
    if dropped and not drop_nonfinite:
        raise UsageError(
            f"{source.label}: {_describe_nonfinite(xs, x_name, ys, y_name)}, first at "
            f"{source.where(int(np.argmin(ok)))}; fix the file or pass --drop-nonfinite "
            "to leave those rows out"
        )
    if dropped:
        xs, ys = xs[ok], ys[ok]
    data = Data(xs, ys, str(path), x_name, y_name, rows, dropped)
    if n_params is not None:
        label = source.label + (f" (after dropping {dropped} row(s))" if dropped else "")
        check_fittable(xs, n_params, label, x_name)
    return data


def load_column(path: str | Path, column: Column = None, prefer: str | None = None) -> np.ndarray:
    """One column of ``path`` as float64 (for predictions; NaN passes through).

    Without ``column``: the column named ``prefer`` if there is one, else the only column, else
    the first.
    """
    source = open_source(path)
    if column is not None:
        index = source.resolve(column, "--column")
    elif prefer is not None and prefer in source.names:
        index = source.names.index(prefer)
    else:
        index = 0
    (values,) = source.columns([index])
    if values.shape[0] == 0:
        raise UsageError(f"{source.label} has no data rows")
    return values


def check_fittable(x: Any, n_params: int, label: str = "the data", x_name: str = "x") -> None:
    """Refuse data that cannot determine ``n_params`` polynomial coefficients.

    Needs at least ``n_params`` points and, for a degree >= 1, at least ``n_params`` distinct
    x values (with fewer, least squares has no unique answer: constant x, for example).
    """
    xs = np.asarray(x, dtype=np.float64).reshape(-1)
    n = int(xs.shape[0])
    degree = n_params - 1
    if n < n_params:
        raise UsageError(
            f"{label} has {n} row(s) but a degree-{degree} polynomial has {n_params} "
            "coefficients; use more data or a lower --degree"
        )
    if degree < 1:
        return
    lo, hi = float(xs.min()), float(xs.max())
    if lo == hi:
        raise UsageError(
            f"{label}: {_role('x', x_name)} is constant (every value is {lo!r}), so a "
            f"degree-{degree} polynomial is not determined; use --degree 0 or data where x varies"
        )
    # A strided sample with enough distinct values settles it without sorting all of x.
    if int(np.unique(xs[:: max(1, n // 4096)]).size) >= n_params:
        return
    distinct = int(np.unique(xs).size)
    if distinct < n_params:
        raise UsageError(
            f"{label}: {_role('x', x_name)} takes only {distinct} distinct values but a "
            f"degree-{degree} "
            f"polynomial needs at least {n_params}; use a lower --degree"
        )


# ---------------------------------------------------------------------------------------------
# Sources: one per format, all with names, resolve(), columns() and where().


class Source:
    """An opened table: column ``names``, and float64 ``columns`` read on demand."""

    label: str
    names: list[str]

    def columns(self, indices: Sequence[int]) -> list[np.ndarray]:  # pragma: no cover
        raise NotImplementedError

    def where(self, row: int) -> str:
        """Where data row ``row`` (0-based) is, in words a user can find."""
        return f"row {row} (0-based)"

    def resolve(self, spec: Column, option: str) -> int:
        """A column name or 0-based index -> index; an unknown one is a UsageError."""
        if isinstance(spec, str) and spec in self.names:
            return self.names.index(spec)
        index = _as_index(spec)
        if index is not None and 0 <= index < len(self.names):
            return index
        raise UsageError(
            f"{self.label} has no column {spec!r} ({option}); its columns are "
            f"{_list_names(self.names)}"
        )


def open_source(path: str | Path) -> Source:
    """Open ``path`` by its extension; refuse missing, unreadable and unsupported files."""
    p = Path(path)
    label = str(path)
    suffix = p.suffix.lower()
    if suffix not in SUPPORTED:
        what = f"extension {p.suffix!r}" if p.suffix else "no extension"
        raise UsageError(
            f"{label}: unsupported file type ({what}); use one of {', '.join(SUPPORTED)}"
        )
    if not p.exists():
        raise UsageError(f"{label}: no such file")
    if p.is_dir():
        raise UsageError(f"{label} is a directory, not a data file")
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise UsageError(f"cannot read {label}: {exc.strerror}") from None
    if size == 0:
        raise UsageError(f"{label} is empty")
    try:
        if suffix in TEXT_SUFFIXES:
            return _TextSource(p, label)
        if suffix == ".npy":
            return _open_npy(p, label)
        if suffix == ".npz":
            return _open_npz(p, label)
        return _ParquetSource(p, label)
    except OSError as exc:
        raise UsageError(f"cannot read {label}: {exc.strerror or exc}") from None


def _choose_xy(source: Source, x: Column, y: Column) -> tuple[int, int]:
    """Indices of the x and y columns: as given, else by the names x and y, else by position
    in a two-column file."""
    names = source.names
    lowered = [name.lower() for name in names]
    ix = None if x is None else source.resolve(x, "--x")
    iy = None if y is None else source.resolve(y, "--y")
    if ix is None and "x" in lowered and lowered.index("x") != iy:
        ix = lowered.index("x")
    if iy is None and "y" in lowered and lowered.index("y") != ix:
        iy = lowered.index("y")
    if len(names) == 2:
        if ix is None and iy is None:
            ix, iy = 0, 1
        elif ix is None:
            ix = 1 - iy  # type: ignore[operator]
        elif iy is None:
            iy = 1 - ix
    if ix is None or iy is None:
        if len(names) < 2:
            raise UsageError(
                f"{source.label} has one column ({_list_names(names)}); fitting needs two, x and y"
            )
        missing = " and ".join(o for o, i in (("--x COL", ix), ("--y COL", iy)) if i is None)
        raise UsageError(
            f"{source.label} has {len(names)} columns ({_list_names(names)}); choose with "
            f"{missing} (a name or a 0-based index)"
        )
    return ix, iy


# --- text ------------------------------------------------------------------------------------


class _TextSource(Source):
    """A delimited text table; parsed once, only the chosen columns converted to numbers."""

    def __init__(self, path: Path, label: str) -> None:
        self.label = label
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise UsageError(
                f"{label} is not a UTF-8 text table (is it a binary file with the wrong extension?)"
            ) from None
        if "\x00" in text:
            raise UsageError(f"{label} is not a text table (it holds NUL bytes)")
        numbered = [
            (i, line)
            for i, line in enumerate(text.splitlines(), start=1)
            if line.strip() and not line.lstrip().startswith("#")
        ]
        if not numbered:
            raise UsageError(f"{label} is empty (no data, only blank or # comment lines)")
        self.delimiter = _sniff(numbered[0][1], path.suffix.lower())
        first = self._split([numbered[0][1]])[0]
        width = len(first)
        has_header = not any(_is_number(cell) for cell in first)
        if has_header:
            self.names = [cell or f"column {j}" for j, cell in enumerate(first)]
            numbered = numbered[1:]
            if not numbered:
                raise UsageError(
                    f"{label} has a header ({_list_names(self.names)}) but no data rows"
                )
        else:
            self.names = [str(j) for j in range(width)]
        self.lines = np.array([lineno for lineno, _ in numbered], dtype=np.int64)
        body = [line for _, line in numbered]
        # Fast path: NumPy's C parser, when every cell is a plain number. Anything else (a
        # missing value, a word, a ragged row) is parsed below, cell by cell, to say where.
        self.matrix = self._parse_numbers(body, width)
        self.rows: list[list[str]] = []
        if self.matrix is not None:
            return
        self.rows = self._split(body)
        for lineno, row in zip(self.lines.tolist(), self.rows, strict=True):
            if len(row) != width:
                raise UsageError(
                    f"{label}: line {lineno} has {len(row)} field(s) but the "
                    f"{'header' if has_header else 'first row'} has {width}; every row needs "
                    "the same number of columns"
                )

    def _parse_numbers(self, body: list[str], width: int) -> np.ndarray | None:
        quote = {} if self.delimiter is None else {"quotechar": '"'}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                matrix = np.loadtxt(
                    body, delimiter=self.delimiter, comments=None, ndmin=2, dtype=np.float64,
                    **quote,
                )  # fmt: skip
        except ValueError:
            return None
        return matrix if matrix.shape == (len(body), width) else None

    def _split(self, lines: list[str]) -> list[list[str]]:
        if self.delimiter is None:
            return [line.split() for line in lines]
        reader = csv.reader(lines, delimiter=self.delimiter, skipinitialspace=True)
        return [[cell.strip() for cell in row] for row in reader]

    def columns(self, indices: Sequence[int]) -> list[np.ndarray]:
        if self.matrix is not None:
            return [self.matrix[:, j].copy() for j in indices]
        return [self._column(j) for j in indices]

    def _column(self, j: int) -> np.ndarray:
        cells = [row[j] for row in self.rows]
        try:
            return np.array(cells, dtype=np.float64)
        except ValueError:
            pass
        out = np.empty(len(cells))
        for i, cell in enumerate(cells):
            try:
                out[i] = float(cell)
            except ValueError:
                if cell.lower() not in MISSING:
                    hint = " (decimal commas are not supported)" if "," in cell else ""
                    raise UsageError(
                        f"{self.label}: line {self.lines[i]}, column {self.names[j]!r}: "
                        f"{cell!r} is not a number{hint}"
                    ) from None
                out[i] = math.nan
        return out

    def where(self, row: int) -> str:
        return f"line {self.lines[row]}"


def _sniff(line: str, suffix: str) -> str | None:
    if suffix == ".tsv":
        return "\t"
    for delimiter in ("\t", ";", ","):
        if delimiter in line:
            return delimiter
    return None


def _is_number(cell: str) -> bool:
    if cell.lower() in MISSING:
        return False
    try:
        float(cell)
    except ValueError:
        return False
    return True


# --- numpy -----------------------------------------------------------------------------------


class _ArraySource(Source):
    """Columns of a 2-D array, of a structured array's fields, or of separate 1-D arrays."""

    def __init__(self, label: str, names: list[str], getters: list[Any]) -> None:
        self.label = label
        self.names = names
        self._getters = getters

    def columns(self, indices: Sequence[int]) -> list[np.ndarray]:
        return [self._numeric(self._getters[j](), self.names[j]) for j in indices]

    def raw_column(self, j: int) -> Any:
        """Column ``j`` as stored, not copied (a memory-mapped view for .npy): for streaming."""
        a = self._getters[j]()
        if a.ndim == 2 and a.shape[1] == 1:
            a = a[:, 0]
        if a.ndim != 1 or a.dtype.kind not in "biuf":
            self._numeric(a, self.names[j])  # raises the loader's one-line error
        return a

    def _numeric(self, a: Any, name: str) -> np.ndarray:
        a = np.asarray(a)
        if a.ndim == 2 and a.shape[1] == 1:
            a = a[:, 0]
        if a.ndim != 1:
            raise UsageError(
                f"{self.label}: column {name!r} has shape {a.shape}; it must be one-dimensional"
            )
        if a.dtype.kind not in "biuf":
            raise UsageError(
                f"{self.label}: column {name!r} holds {a.dtype} values, not real numbers"
            )
        return np.array(a, dtype=np.float64)  # a copy: the file's memory map is not kept


def _open_npy(path: Path, label: str) -> Source:
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, EOFError) as exc:
        if "Python objects" in str(exc) or "pickle" in str(exc):
            raise UsageError(
                f"{label} holds Python objects (pickled data), which gradfit never loads; "
                "save a numeric array"
            ) from None
        raise UsageError(f"cannot read {label} as a .npy array: {_short(exc)}") from None
    return _array_source(arr, label)


def _array_source(arr: Any, label: str, prefix: str = "") -> Source:
    if arr.dtype.names:  # structured: one column per field
        names = list(arr.dtype.names)
        if arr.ndim != 1:
            raise UsageError(f"{label}: a structured array must be one-dimensional")
        return _ArraySource(label, names, [lambda n=n: arr[n] for n in names])
    if arr.ndim == 1:
        return _ArraySource(label, [prefix or "0"], [lambda: arr])
    if arr.ndim == 2:
        names = [f"{prefix}{j}" if not prefix else f"{prefix}[{j}]" for j in range(arr.shape[1])]
        return _ArraySource(label, names, [lambda j=j: arr[:, j] for j in range(arr.shape[1])])
    raise UsageError(
        f"{label}: an array of shape {arr.shape} is not a table; save x and y as "
        "columns of a 2-D array"
    )


def _open_npz(path: Path, label: str) -> Source:
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise UsageError(f"cannot read {label} as an .npz archive: {_short(exc)}") from None
    names = list(archive.files)
    if not names:
        raise UsageError(f"{label} is an empty .npz archive (no arrays)")

    def getter(name: str) -> Any:
        def get() -> Any:
            try:
                return archive[name]
            except (ValueError, EOFError, zipfile.BadZipFile, OSError) as exc:
                raise UsageError(f"cannot read array {name!r} of {label}: {_short(exc)}") from None

        return get

    if len(names) == 1:
        only = getter(names[0])()
        if only.ndim == 2 and only.shape[1] > 1:
            return _array_source(only, label, prefix=names[0])
    return _ArraySource(label, names, [getter(n) for n in names])


# --- parquet ---------------------------------------------------------------------------------


class _ParquetSource(Source):
    """A Parquet file read with pyarrow, one requested column at a time."""

    def __init__(self, path: Path, label: str) -> None:
        self.label = label
        self.path = path
        pq = _import_pyarrow(label)
        try:
            self._file = pq.ParquetFile(path)
        except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...
            raise UsageError(f"cannot read {label} as Parquet: {_short(exc)}") from None
        self.names = list(self._file.schema_arrow.names)

    def columns(self, indices: Sequence[int]) -> list[np.ndarray]:
        import pyarrow as pa
        import pyarrow.compute as pc

        names = [self.names[j] for j in indices]
        try:
            table = self._file.read(columns=list(dict.fromkeys(names)))
        except Exception as exc:
            raise UsageError(f"cannot read {self.label} as Parquet: {_short(exc)}") from None
        out = []
        for name in names:
            column = table.column(name)
            if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
                out.append(self._parse_strings(column.to_pylist(), name))
                continue
            if not (
                pa.types.is_integer(column.type)
                or pa.types.is_floating(column.type)
                or pa.types.is_boolean(column.type)
                or pa.types.is_decimal(column.type)
            ):
                raise UsageError(
                    f"{self.label}: column {name!r} holds {column.type} values, not numbers"
                )
            values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
            out.append(np.array(values, dtype=np.float64))
        return out

    def _parse_strings(self, cells: list[str | None], name: str) -> np.ndarray:
        out = np.empty(len(cells))
        for i, cell in enumerate(cells):
            if cell is None or cell.strip().lower() in MISSING:
                out[i] = math.nan
                continue
            try:
                out[i] = float(cell)
            except ValueError:
                raise UsageError(
                    f"{self.label}: {self.where(i)}, column {name!r}: {cell!r} is not a number"
                ) from None
        return out


def _import_pyarrow(label: str) -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise UsageError(
            f"reading {label} needs pyarrow, which is not installed; "
            "install it with: pip install 'gradfit[parquet]'"
        ) from None
    return pq


# --- helpers ---------------------------------------------------------------------------------


def _role(role: str, name: str) -> str:
    """``x`` for a column named x, else ``x (time)``."""
    return role if name == role else f"{role} ({name})"


def _as_index(spec: Column) -> int | None:
    if isinstance(spec, bool):
        return None
    if isinstance(spec, (int, np.integer)):
        return int(spec)
    if isinstance(spec, str) and spec.strip().isdigit():
        return int(spec.strip())
    return None


def _list_names(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def _describe_nonfinite(x: np.ndarray, x_name: str, y: np.ndarray, y_name: str) -> str:
    parts = []
    for values, name in ((x, x_name), (y, y_name)):
        nan = int(np.isnan(values).sum())
        inf = int(np.isinf(values).sum())
        if nan:
            parts.append(f"{nan} NaN or missing value(s) in {name!r}")
        if inf:
            parts.append(f"{inf} infinite value(s) in {name!r}")
    return " and ".join(parts)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
