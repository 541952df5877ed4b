"""Parquet files (``.parquet``, ``.pq``), read a batch of rows at a time with pyarrow.

pyarrow is imported only when a Parquet file is opened (``pip install 'gradfit[parquet]'``).
Only the chosen columns are read. Numbers (integers, floats, booleans, decimals) are cast to
float64; text columns are parsed cell by cell (missing values as in text tables). A part
``(rank, K)`` is rows ``[n r / K, n (r + 1) / K)``: only the row groups that hold them are read.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .errors import UsageError, cannot_read, excerpt, not_a_number, not_numbers, short
from .sniff import MISSING
from .table import Block, Part, Table, part_rows

SUFFIXES = (".parquet", ".pq")


class ParquetTable(Table):
    """A Parquet file: its chosen columns read a batch of rows at a time."""

    def __init__(self, path: Path, label: str) -> None:
        self.label = label
        pq = _import_pyarrow(label)
        try:
            self.file = _open(pq, path)
        except Exception as exc:  # pyarrow raises ArrowInvalid, ArrowIOError, ...
            if isinstance(exc, OSError) and exc.errno is not None:
                raise  # the system's refusal (permissions): open_table says "cannot read"
            raise UsageError(f"cannot read {label} as Parquet: {_why(exc)}") from None
        self.names = list(self.file.schema_arrow.names)

    def rows_in_file(self) -> int:
        return int(self.file.metadata.num_rows)

    def count(self, ix: int, iy: int, part: Part = None, extra: tuple[int, ...] = ()) -> int:
        import pyarrow as pa

        for j in (ix, iy, *extra):
            name = self.names[j]
            if self.names.count(name) > 1:
                raise UsageError(
                    f"{self.label} has {self.names.count(name)} columns named {excerpt(name)}; "
                    "Parquet columns are read by name, so rename all but one"
                )
            kind = self.file.schema_arrow.field(j).type
            if not (
                pa.types.is_integer(kind)
                or pa.types.is_floating(kind)
                or pa.types.is_boolean(kind)
                or pa.types.is_decimal(kind)
                or pa.types.is_string(kind)
                or pa.types.is_large_string(kind)
            ):
                raise not_numbers(self.label, name, kind)
        first, last = part_rows(self.rows_in_file(), part)
        return last - first

    def blocks(
        self, ix: int, iy: int, size: int, part: Part = None, extra: tuple[int, ...] = ()
    ) -> Iterator[Block]:
        self.count(ix, iy, extra=extra)
        first, last = part_rows(self.rows_in_file(), part)
        chosen = [self.names[j] for j in (ix, iy, *extra)]
        names = list(dict.fromkeys(chosen))
        row = first
        try:
            for batch in _batches(self.file, names, size, first, last):
                yield tuple(self._floats(batch.column(name), name, row) for name in chosen)
                row += batch.num_rows
        except UsageError:
            raise
        except Exception as exc:  # a corrupt page (OSError without errno, ArrowInvalid), ...
            if isinstance(exc, OSError) and exc.errno is not None:
                raise cannot_read(self.label, exc) from None
            rows = f"rows {row} to {min(row + size, last) - 1}"  # the batch being read
            raise UsageError(
                f"cannot read {self.label} as Parquet ({rows}, 0-based): {_why(exc)}"
            ) from None

    def _floats(self, column: Any, name: str, row: int) -> np.ndarray:
        """A batch's column as float64; text parsed cell by cell (``row``: its first row)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            cells = column.to_pylist()
            out = np.empty(len(cells))
            for i, cell in enumerate(cells):
                if cell is None or cell.strip().lower() in MISSING:
                    out[i] = math.nan
                    continue
                try:
                    out[i] = float(cell)
                except ValueError:
                    where = f"row {row + i} (0-based)"
                    raise not_a_number(self.label, where, name, cell) from None
            return out
        values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
        return np.asarray(values, dtype=np.float64)


def _batches(pf: Any, names: list[str], size: int, first: int, last: int) -> Iterator[Any]:
    """Record batches of rows ``[first, last)`` of a Parquet file: only the row groups that
    hold them are read."""
    groups, pos, row = [], 0, None
    for g in range(pf.metadata.num_row_groups):
        m = pf.metadata.row_group(g).num_rows
        if pos < last and pos + m > first:
            groups.append(g)
            row = pos if row is None else row
        pos += m
    if not groups:
        return
    for batch in pf.iter_batches(batch_size=size, row_groups=groups, columns=names):
        a, b = max(first - row, 0), min(last - row, batch.num_rows)
        row += batch.num_rows
        if b > a:
            yield batch.slice(a, b - a)


def _open(pq: Any, path: Path) -> Any:
    """The file's footer read; each page read later is checked against its CRC when the file
    has one (pyarrow >= 15), so that a damaged page is an error, not wrong numbers."""
    try:
        return pq.ParquetFile(path, page_checksum_verification=True)
    except TypeError:  # pyarrow 14 has no such option: pages are read unchecked
        return pq.ParquetFile(path)


def _why(exc: BaseException) -> str:
    """pyarrow's message, its first line, with control characters escaped (a corrupt page's
    message can quote the raw bytes it choked on)."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in short(exc)).strip()


def _import_pyarrow(label: str) -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise UsageError(
            f"reading {label} needs pyarrow, which is not installed; "
            "install it with: pip install 'gradfit[parquet]'"
        ) from None
    return pq
