"""What every reader is: a :class:`Table` of named columns whose rows come in blocks.

One reader per format (:mod:`.text`, :mod:`.npy`, :mod:`.parquet`) implements :class:`Table`;
:func:`gradfit.data.load_data` concatenates its blocks, :func:`gradfit.data.open_file` streams
them, and a rank of a distributed run reads its ``part=(rank, K)`` of them. Columns are chosen
here, once, for all formats (:func:`choose_xy`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .errors import UsageError, excerpt, list_names, no_data_rows

Block = tuple[np.ndarray, ...]  # x and y rows (and any extra columns), float64, equal lengths
Column = str | int | None  # a column chosen by name or 0-based index (None: not chosen)
Part = tuple[int, int] | None  # (rank, K): the rank-th of K parts of the rows; None: all


def part_rows(n: int, part: Part) -> tuple[int, int]:
    """Rows ``[first, last)`` of part ``rank`` of ``K`` of ``n`` rows (all without a part)."""
    if part is None:
        return 0, n
    rank, world = part
    return n * rank // world, n * (rank + 1) // world


class Table:
    """An opened data file: column ``names``, rows read on demand a block at a time."""

    label: str  # the path as the user wrote it, for messages
    names: list[str]
    header: list[str] | None = None  # a text table's header, for "no data rows"

    def count(self, ix: int, iy: int, part: Part = None, extra: tuple[int, ...] = ()) -> int:
        """The number of rows in ``part`` (all rows without one), after checking that columns
        ``ix``, ``iy`` (and ``extra``) can be read as numbers."""
        raise NotImplementedError  # pragma: no cover

    def blocks(
        self, ix: int, iy: int, size: int, part: Part = None, extra: tuple[int, ...] = ()
    ) -> Iterator[Block]:
        """Columns ``ix`` and ``iy`` (then ``extra``: a sigma or weight column) of the rows of
        ``part``, at most ``size`` rows a block, as float64 (missing values NaN). A block may
        live in a buffer the next one reuses."""
        raise NotImplementedError  # pragma: no cover

    def where(self, row: int, part: Part = None) -> str:
        """Where row ``row`` of ``part`` (0-based) is, in words a user can find."""
        first, _ = part_rows(self.rows_in_file(), part)
        return f"row {first + row} (0-based)"

    def rows_in_file(self) -> int:
        """All the data rows of the file (binary formats know it from their header)."""
        raise NotImplementedError  # pragma: no cover

    def no_rows(self) -> UsageError:
        """The error for a file without data rows."""
        return no_data_rows(self.label, self.header)

    def resolve(self, spec: Column, option: str) -> int:
        """A column name or 0-based index -> index; an unknown one is a UsageError."""
        if isinstance(spec, str) and spec in self.names:
            return self.names.index(spec)
        index = _as_index(spec)
        if index is not None and 0 <= index < len(self.names):
            return index
        shown = excerpt(spec) if isinstance(spec, str) else repr(spec)
        raise UsageError(
            f"{self.label} has no column {shown} ({option}); its columns are "
            f"{list_names(self.names)}"
        )


def choose_xy(table: Table, x: Column, y: Column) -> tuple[int, int]:
    """Indices of the x and y columns: as given, else by the names x and y, else by position
    in a two-column file."""
    names = table.names
    lowered = [name.lower() for name in names]
    ix = None if x is None else table.resolve(x, "--x")
    iy = None if y is None else table.resolve(y, "--y")
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
                f"{table.label} has one column ({list_names(names)}); fitting needs two, x and y"
            )
        missing = " and ".join(o for o, i in (("--x COL", ix), ("--y COL", iy)) if i is None)
        raise UsageError(
            f"{table.label} has {len(names)} columns ({list_names(names)}); choose with "
            f"{missing} (a name or a 0-based index)"
        )
    return ix, iy


def _as_index(spec: Any) -> int | None:
    if isinstance(spec, bool):
        return None
    if isinstance(spec, (int, np.integer)):
        return int(spec)
    if isinstance(spec, str) and spec.strip().isdigit():
        return int(spec.strip())
    return None
