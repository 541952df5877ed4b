"""Reading x and y from a file into memory: a reader's blocks concatenated, then validated.

Every problem with a file - missing, unreadable, empty, an unknown column, a cell that is not a
number, NaN or inf, mismatched lengths, too few rows, constant x - is a one-line
:class:`~gradfit.errors.UsageError` that names the file and, where it can, the line (text files,
1-based as an editor shows it) or row (binary files, 0-based as NumPy indexes it) and column.

Columns are chosen by name (a header, an .npz array name, a Parquet column) or by 0-based index.
Without a choice, a file with exactly two columns gives x then y, and a file with columns named
``x`` and ``y`` gives those.

Formats (by extension), one reader each:

- ``.csv``, ``.tsv``, ``.txt``, ``.dat``: text tables (:mod:`gradfit.data.text`; the delimiter,
  header and missing values as :mod:`gradfit.data.sniff` decides them). Blank lines and lines
  starting with ``#`` are skipped.
- ``.npy``: a 2-D array (columns by index), a structured array (columns by field name), or, where
  only x is needed (``gradfit predict``), a 1-D array; ``.npz``: named 1-D arrays (columns by
  name), or a single 2-D array (columns by index) (:mod:`gradfit.data.npy`).
- ``.parquet``, ``.pq``: needs pyarrow (``pip install 'gradfit[parquet]'``); only the chosen
  columns are read (:mod:`gradfit.data.parquet`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import UsageError, cannot_read, describe_nonfinite, role
from .formats import open_table
from .table import Column, Table, choose_xy
from .weights import check_column, weights_column

LOAD_BLOCK = 1 << 16  # rows a block while reading a whole file


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
    weights: np.ndarray | None = None  # per-point weights w_i (1 / sigma^2 for --sigma)
    weight_name: str | None = None  # the column they came from
    absolute: bool = False  # True: from --sigma (the chi-square form)

    @property
    def name(self) -> str:
        """How the problem is called in results: ``data.csv (y vs x)``."""
        return f"{Path(self.path).name} ({self.y_name} vs {self.x_name})"

    def info(self) -> dict[str, Any]:
        """A JSON-ready summary (for results and saved models)."""
        return source_info(self, self.y_name)


def source_info(data: Any, y_name: str | None = None) -> dict[str, Any]:
    """Where rows read from a file came from, JSON-ready: its path, the x (and y) column, the
    rows read, dropped and used, and the sigma or weight column. ``data``: a :class:`Data`, or
    the several-y :class:`gradfit.data.columns.Columns`."""
    info: dict[str, Any] = {"path": data.path, "x": data.x_name}
    if y_name is not None:
        info["y"] = y_name
    info |= {"rows": data.rows, "dropped": data.dropped, "used": int(data.x.shape[0])}
    if data.weight_name is not None:
        info["sigma" if data.absolute else "weight"] = data.weight_name
    return info


def load_data(
    path: str | Path,
    x: Column = None,
    y: Column = None,
    *,
    n_params: int | None = None,
    drop_nonfinite: bool = False,
    sigma: Column = None,
    weight: Column = None,
) -> Data:
    """Read columns ``x`` and ``y`` of ``path`` and validate them for fitting.

    ``n_params`` (the number of coefficients to fit) adds the checks that need it: at least that
    many rows and, for two or more coefficients, enough distinct x values. ``drop_nonfinite``
    leaves out rows where x or y is NaN, missing or infinite instead of refusing the file.
    ``sigma`` or ``weight``: a third column, each point's standard deviation (> 0) or weight
    (>= 0), read and checked like y (see :mod:`gradfit.data.weights`); its rows are dropped
    with the others'.

    >>> import numpy as np, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
    >>> _ = p.write_text("time,temp\\n0,1.5\\n1,2.5\\n2,3.5\\n")
    >>> d = load_data(p)
    >>> d.x_name, d.y_name, d.y.tolist()
    ('time', 'temp', [1.5, 2.5, 3.5])
    """
    table = open_table(path)
    ix, iy = choose_xy(table, x, y)
    x_name, y_name = table.names[ix], table.names[iy]
    kind, extra = weights_column(table, ix, iy, sigma, weight)
    xs, ys, *third = read_whole(table, ix, iy, extra)
    more = [(values, table.names[j]) for values, j in zip(third, extra, strict=True)]
    rows = int(xs.shape[0])
    if rows == 0:
        raise table.no_rows()
    ok = np.isfinite(xs) & np.isfinite(ys)
    for values, _ in more:
        ok &= np.isfinite(values)
    dropped = rows - int(ok.sum())
    if dropped and not drop_nonfinite:
        raise UsageError(
            f"{table.label}: {describe_nonfinite(xs, x_name, ys, y_name, *more)}, first at "
            f"{table.where(int(np.argmin(ok)))}; fix the file or pass --drop-nonfinite "
            "to leave those rows out"
        )
    if dropped:
        xs, ys = xs[ok], ys[ok]
    weights, w_name = None, None
    if kind is not None:
        values, w_name = more[0]
        kept = np.flatnonzero(ok) if dropped else None
        weights = check_column(
            values[ok] if dropped else values,
            kind,
            table.label,
            lambda i: table.where(int(i if kept is None else kept[i])),
            n_params,
            w_name,
        )
    data = Data(xs, ys, str(path), x_name, y_name, rows, dropped, weights, w_name, kind == "sigma")
    if n_params is not None:
        label = table.label + (f" (after dropping {dropped} row(s))" if dropped else "")
        check_fittable(xs, n_params, label, x_name)
    return data


def read_whole(
    table: Table, ix: int, iy: int, extra: tuple[int, ...] = ()
) -> tuple[np.ndarray, ...]:
    """Columns ``ix`` and ``iy`` (then ``extra``) of all the table's rows: its blocks, copied
    and concatenated."""
    parts: list[list[np.ndarray]] = [[np.empty(0)] for _ in range(2 + len(extra))]
    try:
        for block in table.blocks(ix, iy, LOAD_BLOCK, extra=extra):
            for part, values in zip(parts, block, strict=True):
                part.append(np.array(values, dtype=np.float64))
    except OSError as exc:  # the file went away or failed while it was read
        raise cannot_read(table.label, exc) from None
    return tuple(np.concatenate(part) for part in parts)


def load_column(path: str | Path, column: Column = None, prefer: str | None = None) -> np.ndarray:
    """One column of ``path`` as float64 (for predictions; NaN passes through).

    Without ``column``: the column named ``prefer`` if there is one, else the only column, else
    the first.
    """
    table = open_table(path)
    if column is not None:
        index = table.resolve(column, "--column")
    elif prefer is not None and prefer in table.names:
        index = table.names.index(prefer)
    else:
        index = 0
    values, _ = read_whole(table, index, index)
    if values.shape[0] == 0:
        raise table.no_rows()
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
            f"{label}: {role('x', x_name)} is constant (every value is {lo!r}), so a "
            f"degree-{degree} polynomial is not determined; use --degree 0 or data where x varies"
        )
    # A strided sample with enough distinct values settles it without sorting all of x.
    if int(np.unique(xs[:: max(1, n // 4096)]).size) >= n_params:
        return
    distinct = int(np.unique(xs).size)
    if distinct < n_params:
        raise UsageError(
            f"{label}: {role('x', x_name)} takes only {distinct} distinct values but a "
            f"degree-{degree} "
            f"polynomial needs at least {n_params}; use a lower --degree"
        )
