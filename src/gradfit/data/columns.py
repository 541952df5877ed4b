"""Several y columns of one file: ``--y a,b,c`` or ``--y 'sensor_*'`` (a glob over the names).

:func:`several_columns` says whether a ``--y`` asks for several columns (a comma or a glob
character, and not simply the name of a column); :func:`load_columns` reads x and those
columns (and a ``--sigma``/``--weight`` column, shared by all) and checks them as
:func:`gradfit.data.load_data` checks one y: every problem is one line naming the file, the
column and the line or row.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import UsageError, excerpt, list_names
from .formats import open_table
from .load import check_fittable, read_whole, source_info
from .table import Column, Table
from .weights import check_column

GLOB = "*?["


def several_columns(spec: Column) -> bool:
    """Whether ``--y spec`` may name several columns: a comma-separated list or a glob."""
    return isinstance(spec, str) and any(c in spec for c in "," + GLOB)


@dataclass(frozen=True)
class Columns:
    """x and K y columns read from a file, float64, all finite; ``Y`` has shape (N, K)."""

    x: np.ndarray
    Y: np.ndarray
    path: str
    x_name: str
    y_names: list[str]
    rows: int  # data rows in the file
    dropped: int = 0  # rows left out by drop_nonfinite
    weights: np.ndarray | None = None
    raw_weights: np.ndarray | None = None  # the column as read (sigmas, or weights)
    weight_name: str | None = None
    absolute: bool = False  # True: the weights are 1 / sigma^2 (--sigma)

    def info(self) -> dict[str, Any]:
        """Where the data came from, as each column's result reports it (``y`` added there)."""
        return {"name": Path(self.path).name} | source_info(self)


def choose_columns(table: Table, x: Column, spec: str, skip: tuple[int, ...] = ()) -> list[int]:
    """The columns ``spec`` names, in its order, each once: names or 0-based indices separated
    by commas, each of which may be a glob (``sensor_*``) matching names other than x's and
    ``skip``'s. The exact name of a column is that column, commas or not."""
    if spec in table.names:
        return [table.names.index(spec)]
    chosen: list[int] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        if part not in table.names and any(c in part for c in GLOB):
            found = [
                i
                for i, name in enumerate(table.names)
                if fnmatch.fnmatchcase(name, part) and i != x and i not in skip
            ]
            if not found:
                raise UsageError(
                    f"{table.label}: no column matches {excerpt(part)} (--y); its columns are "
                    f"{list_names(table.names)}"
                )
        else:
            found = [table.resolve(part, "--y")]
        chosen.extend(i for i in found if i not in chosen)
    if not chosen:
        raise UsageError(f"--y {excerpt(spec)} names no column; give names, indices or a glob")
    return chosen


def load_columns(
    path: str | Path,
    x: Column,
    y: str,
    *,
    n_params: int | None = None,
    drop_nonfinite: bool = False,
    sigma: Column = None,
    weight: Column = None,
) -> Columns:
    """Read x and the y columns ``y`` names (see :func:`choose_columns`) of ``path``, and a
    sigma or weight column shared by them, checked for fitting (see
    :func:`gradfit.data.load_data`); a row with a NaN or infinite value in any of them is an
    error, or left out with ``drop_nonfinite``."""
    table = open_table(path)
    ix = _x_index(table, x)
    kind = None if sigma is None and weight is None else "sigma" if sigma is not None else "weight"
    iw = () if kind is None else (table.resolve(sigma if kind == "sigma" else weight, f"--{kind}"),)
    if iw and iw[0] == ix:
        raise UsageError(f"{table.label}: --{kind} {table.names[ix]!r} is the x column")
    ys = choose_columns(table, ix, y, iw)
    for i in ys:
        if i == ix or i in iw:
            role = "x" if i == ix else f"--{kind}"
            raise UsageError(
                f"{table.label}: --y names {table.names[i]!r}, the {role} column; "
                "give y columns of their own"
            )
    xs, *values = read_whole(table, ix, ys[0], (*ys[1:], *iw))
    Y = np.column_stack(values[: len(ys)])
    rows = int(xs.shape[0])
    if rows == 0:
        raise table.no_rows()
    ok = np.isfinite(xs) & np.isfinite(Y).all(axis=1)
    if iw:
        ok &= np.isfinite(values[-1])
    dropped = rows - int(ok.sum())
    if dropped and not drop_nonfinite:
        first = int(np.argmin(ok))
        names = [table.names[ix], *(table.names[i] for i in ys), *(table.names[i] for i in iw)]
        bad = [xs[first], *Y[first], *(values[-1][first : first + 1] if iw else [])]
        column = next(n for n, v in zip(names, bad, strict=True) if not np.isfinite(v))
        raise UsageError(
            f"{table.label}: {rows - int(ok.sum())} row(s) with NaN, missing or infinite values, "
            f"first at {table.where(first)}, column {excerpt(column)}; fix the file or pass "
            "--drop-nonfinite to leave those rows out"
        )
    if dropped:
        xs, Y = xs[ok], Y[ok]
    weights = None
    if iw:
        kept = np.flatnonzero(ok)
        weights = check_column(
            values[-1][ok],
            kind,  # type: ignore[arg-type]
            table.label,
            lambda i: table.where(int(kept[i])),
            n_params,
            table.names[iw[0]],
        )
    if n_params is not None:
        label = table.label + (f" (after dropping {dropped} row(s))" if dropped else "")
        check_fittable(xs, n_params, label, table.names[ix])
    return Columns(
        xs,
        Y,
        str(path),
        table.names[ix],
        [table.names[i] for i in ys],
        rows,
        dropped,
        weights,
        None if not iw else values[-1][ok],
        None if not iw else table.names[iw[0]],
        kind == "sigma",
    )


def _x_index(table: Table, x: Column) -> int:
    """x's column: as given, else the one named x."""
    if x is not None:
        return table.resolve(x, "--x")
    lowered = [name.lower() for name in table.names]
    if "x" in lowered:
        return lowered.index("x")
    raise UsageError(
        f"{table.label} has no column named x ({list_names(table.names)}); choose it with --x COL"
    )
