"""Problems too big to hold: x and y produced a chunk of rows at a time.

A :class:`ChunkedProblem` never holds more than one chunk of its data. The gram method
(:mod:`gradfit.methods.gram`) needs exactly one pass over it (two for a file fitted with
scaling: one more over x for its range), so a fit's peak memory is bounded by the chunk size,
not by N. Sources: a generated target (:func:`gradfit.data.generated`), or a ``.npy``, Parquet
or CSV/TSV/text file (:func:`open_file`), read by the same readers as
:func:`gradfit.data.load_data`, block by block.

Each source can also be opened as one part of K (``part=(rank, K)``, for a distributed run):
the part reads its own rows and nothing before them - rows ``[n r / K, n (r + 1) / K)`` of a
generated problem, a ``.npy`` or a Parquet file; of a text table, the lines that start in the
r-th of K equal byte ranges of its data (the parts' sizes then differ by a line or so).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import cannot_read, nonfinite_in_stream
from .formats import open_table
from .table import Block, Part, choose_xy
from .weights import check_column, weights_column

Chunk = Block


@dataclass
class ChunkedProblem:
    """``n`` rows of (x, y) read by ``reader(size)`` in chunks of at most ``size`` rows
    (float64 NumPy arrays), a name, and where the data came from."""

    n: int
    name: str
    reader: Callable[[int], Iterator[Chunk]]
    bounds: tuple[float, float] | None = None  # x's min and max when known without a pass
    source: dict[str, Any] | None = None
    dropped: int = field(default=0)  # rows left out (non-finite) during the last pass
    # A --sigma or --weight column: the chunks are (x, y, w), w the weights (1 / sigma^2 when
    # ``absolute``); ``positive`` counts the rows with w > 0 during the last pass.
    weighted: bool = False
    absolute: bool = False
    positive: int = field(default=0)

    def __len__(self) -> int:
        return self.n

    def chunks(self, size: int) -> Iterator[Chunk]:
        """The rows in order, ``size`` at a time. A chunk may live in a buffer that the next
        one reuses: copy it to keep it."""
        return self.reader(size)

    def sample(self, points: int, size: int = 1 << 16) -> tuple[np.ndarray, np.ndarray]:
        """About ``points`` rows spread evenly over the data (one pass), for plots."""
        stride = max(1, self.n // max(points, 1))
        xs, ys, pos = [], [], 0
        for x, y, *_ in self.chunks(size):
            first = (-pos) % stride
            xs.append(np.array(x[first::stride], dtype=np.float64))
            ys.append(np.array(y[first::stride], dtype=np.float64))
            pos += x.size
        return np.concatenate(xs), np.concatenate(ys)

    def x_bounds(self, size: int) -> tuple[float, float]:
        """x's min and max (one pass over x, unless known)."""
        if self.bounds is None:
            lo, hi = np.inf, -np.inf
            for x, *_ in self.chunks(size):
                if x.size:
                    lo, hi = min(lo, float(x.min())), max(hi, float(x.max()))
            self.bounds = (lo, hi)
        return self.bounds


def open_file(
    path: str,
    x: Any = None,
    y: Any = None,
    drop_nonfinite: bool = False,
    part: Part = None,
    sigma: Any = None,
    weight: Any = None,
) -> ChunkedProblem:
    """A .npy, Parquet or CSV/TSV/text file as a chunked problem (a block of rows at a time).

    Columns are chosen as :func:`gradfit.data.load_data` chooses them. Non-finite rows are
    refused (or left out with ``drop_nonfinite``) chunk by chunk. ``part=(rank, K)``: only that
    part of the rows, read without reading the others (see the module's documentation); a part
    may be empty. ``sigma`` or ``weight``: a third column, checked chunk by chunk as
    :func:`gradfit.data.load_data` checks it; the chunks are then ``(x, y, w)``."""
    table = open_table(path)
    ix, iy = choose_xy(table, x, y)
    x_name, y_name = table.names[ix], table.names[iy]
    kind, extra = weights_column(table, ix, iy, sigma, weight)
    n = table.count(ix, iy, part, extra)
    if n == 0 and part is None:
        raise table.no_rows()
    problem = ChunkedProblem(n, f"{Path(path).name} ({y_name} vs {x_name})", lambda s: iter(()))
    info = {"path": str(path), "x": x_name, "y": y_name, "rows": n, "streamed": True}
    if kind is not None:
        info[kind] = table.names[extra[0]]
        problem.weighted, problem.absolute = True, kind == "sigma"

    def checked(size: int) -> Iterator[Chunk]:
        """The table's blocks, non-finite rows refused (or left out and counted)."""
        row, dropped, positive = 0, 0, 0
        for block in table.blocks(ix, iy, size, part, extra):
            m = block[0].size
            # A NaN or inf makes a sum non-finite: cheap sums, a closer look only then.
            ok = True if finite_sum(*block) else np.logical_and.reduce(np.isfinite(block))
            kept = None
            if ok is not True and not ok.all():
                if not drop_nonfinite:
                    where = table.where(row + int(np.argmin(ok)), part)
                    raise nonfinite_in_stream(table.label, where)
                dropped += int(ok.size - ok.sum())
                kept = np.flatnonzero(ok)
                block = tuple(b[ok] for b in block)
            if kind is not None:
                w = check_column(
                    block[2],
                    kind,
                    table.label,
                    lambda i, first=row, rows=kept: table.where(
                        first + int(i if rows is None else rows[i]), part
                    ),
                    column=table.names[extra[0]],
                )
                positive += int(np.count_nonzero(w > 0))
                block = (block[0], block[1], w)
            row += m
            yield block
        problem.dropped, problem.positive = dropped, positive
        info.update(dropped=dropped, used=n - dropped)

    def read(size: int) -> Iterator[Chunk]:
        try:
            yield from checked(size)
        except OSError as exc:  # the file went away or failed while it was read
            raise cannot_read(table.label, exc) from None

    problem.reader = read
    problem.source = info
    return problem


def finite_sum(*arrays: np.ndarray) -> bool:
    """True when every array's sum is finite - then no value is NaN or infinite (a False may
    also be a sum that overflowed: look closer)."""
    with np.errstate(all="ignore"):
        return all(np.isfinite(a.sum()) for a in arrays)
