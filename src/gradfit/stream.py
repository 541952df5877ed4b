"""Problems too big to hold: x and y produced a chunk of rows at a time.

A :class:`ChunkedProblem` never holds more than one chunk of its data. The gram method
(:mod:`gradfit.methods.gram`) needs exactly one pass over it (two for a file fitted with
scaling: one more over x for its range), so a fit's peak memory is bounded by the chunk size,
not by N. Sources:

- a generated target (``--points`` evenly spaced x, ``y = target(x)``, optional noise): the
  chunks are the same numbers ``numpy.linspace`` and the target would give all at once;
- a ``.npy`` file: one block of rows at a time, read into a reused buffer;
- a Parquet file, one batch of rows at a time;
- a CSV/TSV/text table, one block of lines at a time (the header and delimiter as
  :mod:`gradfit.loaders` decides them).

Each source can also be opened as one part of K (``part=(rank, K)``, for a distributed run):
the part reads its own rows and nothing before them - rows ``[n r / K, n (r + 1) / K)`` of a
generated problem, a ``.npy`` or a Parquet file; of a text table, the lines that start in the
r-th of K equal byte ranges of its data (the parts' sizes then differ by a line or so).
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import UsageError
from .loaders import Source
from .stats import Chunk

STREAMABLE_SUFFIXES = (".npy", ".parquet", ".pq", ".csv", ".tsv", ".txt", ".dat")
TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".dat")


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
        for x, y in self.chunks(size):
            first = (-pos) % stride
            xs.append(np.array(x[first::stride], dtype=np.float64))
            ys.append(np.array(y[first::stride], dtype=np.float64))
            pos += x.size
        return np.concatenate(xs), np.concatenate(ys)

    def x_bounds(self, size: int) -> tuple[float, float]:
        """x's min and max (one pass over x, unless known)."""
        if self.bounds is None:
            lo, hi = np.inf, -np.inf
            for x, _ in self.chunks(size):
                if x.size:
                    lo, hi = min(lo, float(x.min())), max(hi, float(x.max()))
            self.bounds = (lo, hi)
        return self.bounds


def linspace_chunk(lo: float, hi: float, n: int, start: int, stop: int) -> np.ndarray:
    """``numpy.linspace(lo, hi, n)[start:stop]`` without building the rest: numpy computes
    ``i * step + lo`` and sets the last point to ``hi`` exactly; so does this, bit for bit."""
    i = np.arange(start, stop, dtype=np.float64)
    if n == 1:
        return i * 0.0 + lo
    step = (hi - lo) / (n - 1)
    x = i * step + lo
    if stop == n and stop > start:
        x[-1] = hi
    return x


def generated(
    target: str,
    points: int,
    x_range: tuple[float, float],
    noise: float = 0.0,
    seed: int = 0,
    dtype: str = "float64",
    part: tuple[int, int] | None = None,
) -> ChunkedProblem:
    """A generated problem (built-in target or formula) produced chunk by chunk in NumPy.

    x is ``numpy.linspace`` in float64, cast to ``dtype``; the target is evaluated in that
    dtype; the noise is drawn as :func:`gradfit.problem.add_noise` draws it (the same stream,
    consumed chunk by chunk). ``part=(rank, K)``: only that part's rows (see the module's
    documentation)."""
    from .backends import resolve_backend
    from .problem import TARGETS

    be = resolve_backend("numpy", "cpu", dtype)
    first, last = _part_rows(points, part)
    if target in TARGETS:
        formula, func = TARGETS[target]
    else:
        from .expr import parse_expression

        expression = parse_expression(target)
        formula, func = expression.text, expression
    lo, hi = x_range

    def read(size: int) -> Iterator[Chunk]:
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,)))
        if noise:  # a part's noise is its rows' numbers of the one stream: skip the others'
            for start in range(0, first, size):
                rng.standard_normal(min(size, first - start))
        for start in range(first, last, size):
            stop = min(start + size, last)
            x = be.asarray(linspace_chunk(lo, hi, points, start, stop))
            with np.errstate(all="ignore"):
                y = func(np, x)
            if not (_finite_sum(y) or np.all(np.isfinite(y))):
                raise UsageError(
                    f"--target {formula!r} is not finite at some points of --range "
                    f"[{lo:g}, {hi:g}]; choose a range where it is defined"
                )
            if noise:
                y = y + be.asarray(noise * rng.standard_normal(stop - start))
            yield x.astype(np.float64), np.asarray(y, dtype=np.float64)

    return ChunkedProblem(last - first, formula, read, bounds=(lo, hi))


def _part_rows(n: int, part: tuple[int, int] | None) -> tuple[int, int]:
    """Rows ``[first, last)`` of part ``rank`` of ``world`` (all of them without a part)."""
    if part is None:
        return 0, n
    rank, world = part
    return n * rank // world, n * (rank + 1) // world


def open_file(
    path: str,
    x: Any = None,
    y: Any = None,
    drop_nonfinite: bool = False,
    part: tuple[int, int] | None = None,
) -> ChunkedProblem:
    """A .npy, Parquet or CSV/TSV/text file as a chunked problem (a block of rows at a time).

    Columns are chosen as :func:`gradfit.loaders.load_data` chooses them. Non-finite rows are
    refused (or left out with ``drop_nonfinite``) chunk by chunk. ``part=(rank, K)``: only that
    part of the rows, read without reading the others (see the module's documentation); a part
    may be empty."""
    from .loaders import _choose_xy, open_source

    suffix = Path(path).suffix.lower()
    source = _TextHeader(path) if suffix in TEXT_SUFFIXES else open_source(path)
    ix, iy = _choose_xy(source, x, y)
    x_name, y_name = source.names[ix], source.names[iy]
    if suffix == ".npy":
        cx = source.raw_column(ix)  # a memory-mapped view: checks the column, gives N
        source.raw_column(iy)
        first, last = _part_rows(int(cx.shape[0]), part)
        n = last - first

        def blocks(size: int) -> Iterator[Chunk]:
            return _npy_blocks(path, source, ix, iy, size, first, last)

    elif suffix in TEXT_SUFFIXES:
        lo, hi = source.byte_range(part)
        n = source.count_rows(lo, hi)
        if n == 0 and part is None:
            from .loaders import _list_names

            raise UsageError(
                f"{source.label} has a header ({_list_names(source.names)}) but no data rows"
            )

        def blocks(size: int) -> Iterator[Chunk]:
            return source.blocks(ix, iy, size, lo, hi)

    else:
        pf = source._file  # pyarrow.parquet.ParquetFile: read a batch of rows at a time
        first, last = _part_rows(int(pf.metadata.num_rows), part)
        n = last - first
        names = list(dict.fromkeys([x_name, y_name]))

        def blocks(size: int) -> Iterator[Chunk]:
            for batch in _parquet_batches(pf, names, size, first, last):
                bx = _parquet_floats(batch.column(x_name), source.label, x_name)
                by = _parquet_floats(batch.column(y_name), source.label, y_name)
                yield bx, by

    if n == 0 and part is None:
        raise UsageError(f"{source.label} has no data rows")
    problem = ChunkedProblem(n, f"{Path(path).name} ({y_name} vs {x_name})", lambda s: iter(()))
    info = {"path": str(path), "x": x_name, "y": y_name, "rows": n, "streamed": True}

    def read(size: int) -> Iterator[Chunk]:
        row, dropped = 0, 0
        for bx, by in blocks(size):
            bx = np.asarray(bx, dtype=np.float64)
            by = np.asarray(by, dtype=np.float64)
            # A NaN or inf makes a sum non-finite: two cheap sums, a closer look only then.
            ok = True if _finite_sum(bx, by) else np.isfinite(bx) & np.isfinite(by)
            if ok is not True and not ok.all():
                if not drop_nonfinite:
                    raise UsageError(
                        f"{source.label}: NaN, missing or infinite values, first at "
                        f"{source.where(row + int(np.argmin(ok)))}; fix the file or pass "
                        "--drop-nonfinite to leave those rows out"
                    )
                dropped += int(ok.size - ok.sum())
                bx, by = bx[ok], by[ok]
            row += bx.size if ok is True else ok.size
            yield bx, by
        problem.dropped = dropped
        info.update(dropped=dropped, used=n - dropped)

    problem.reader = read
    problem.source = info
    return problem


class _TextHeader(Source):
    """A CSV/TSV/text table read a block of lines at a time: the header and delimiter from its
    first line (as :mod:`gradfit.loaders` decides them), then ``blocks`` of parsed rows."""

    def __init__(self, path: str) -> None:
        from .loaders import _is_number, _sniff

        self.path, self.label = path, str(path)
        p = Path(path)
        if not p.exists():
            raise UsageError(f"{path}: no such file")
        if p.is_dir():
            raise UsageError(f"{path} is a directory, not a data file")
        if p.stat().st_size == 0:
            raise UsageError(f"{path} is empty")
        first = None
        self.skip = 0  # lines before the first data row (blank, comments, header)
        try:
            with open(path, encoding="utf-8-sig") as f:
                for line in f:
                    self.skip += 1
                    if line.strip() and not line.lstrip().startswith("#"):
                        first = line
                        break
        except UnicodeDecodeError:
            raise UsageError(
                f"{self.label} is not a UTF-8 text table (is it a binary file with the wrong "
                "extension?)"
            ) from None
        if first is None:
            raise UsageError(f"{self.label} is empty (no data, only blank or # comment lines)")
        self.delimiter = _sniff(first, p.suffix.lower())
        cells = self._split([first])[0]
        self.width = len(cells)
        self.header = not any(_is_number(cell) for cell in cells)
        if self.header:
            self.names = [cell or f"column {j}" for j, cell in enumerate(cells)]
        else:
            self.names = [str(j) for j in range(self.width)]
            self.skip -= 1  # the first line is data
        with open(path, "rb") as f:  # the byte where the data lines start
            for _ in range(self.skip):
                f.readline()
            self.data_start = f.tell()
        self.offsets: list[int] = []  # byte offset of each row of the current block
        self.block_start = 0  # row index of the current block's first row

    def byte_range(self, part: tuple[int, int] | None) -> tuple[int, int]:
        """The bytes whose lines are part ``rank`` of ``K`` of the data (all without a part):
        K equal ranges of the bytes after the header; a line belongs to the range it starts in."""
        size = Path(self.path).stat().st_size
        if part is None:
            return self.data_start, size
        rank, world = part
        span = size - self.data_start
        return self.data_start + span * rank // world, self.data_start + span * (rank + 1) // world

    def _raw_blocks(self, lo: int, hi: int, size: int) -> Iterator[tuple[list[bytes], list[int]]]:
        """The data lines (not blank, not comments) that start in ``[lo, hi)``, as bytes, with
        their byte offsets, ``size`` at a time. Nothing before ``lo`` is read but the end of
        the line it falls in (that line is the previous part's)."""
        lines: list[bytes] = []
        offsets: list[int] = []
        with open(self.path, "rb") as f:
            pos = lo
            if lo > self.data_start:
                f.seek(lo - 1)
                pos = lo - 1 + len(f.readline())
            else:
                f.seek(lo)
            for line in f:
                if pos >= hi:
                    break
                if pos == 0 and line.startswith(codecs.BOM_UTF8):
                    line = line[len(codecs.BOM_UTF8) :]
                    pos += len(codecs.BOM_UTF8)
                first = line[:1]
                if first.isspace() or first == b"#":  # rare: look closer
                    stripped = line.lstrip()
                    if not stripped or stripped.startswith(b"#"):
                        pos += len(line)
                        continue
                lines.append(line)
                offsets.append(pos)
                pos += len(line)
                if len(lines) == size:
                    yield lines, offsets
                    lines, offsets = [], []
        if lines:
            yield lines, offsets

    def count_rows(self, lo: int, hi: int) -> int:
        """Data lines starting in ``[lo, hi)``, counted without parsing."""
        return sum(len(lines) for lines, _ in self._raw_blocks(lo, hi, 1 << 16))

    def _split(self, lines: list[str]) -> list[list[str]]:
        import csv

        if self.delimiter is None:
            return [line.split() for line in lines]
        reader = csv.reader(lines, delimiter=self.delimiter, skipinitialspace=True)
        return [[cell.strip() for cell in row] for row in reader]

    def blocks(self, ix: int, iy: int, size: int, lo: int, hi: int) -> Iterator[Chunk]:
        """Columns ``ix``, ``iy`` of the data lines starting in ``[lo, hi)``, ``size`` rows at a
        time (each block decoded at once)."""
        self.block_start = 0
        for raw, offsets in self._raw_blocks(lo, hi, size):
            data = b"".join(raw)
            try:
                if b"\x00" in data:
                    raise ValueError
                text = data.decode("utf-8")
            except ValueError:  # UnicodeDecodeError too: name the first bad line
                bad = next(i for i, r in enumerate(raw) if not _utf8_text(r))
                raise UsageError(
                    f"{self.label} is not a UTF-8 text table (line "
                    f"{self.line_number(offsets[bad])}: binary or non-UTF-8 bytes)"
                ) from None
            lines = text.replace("\r\n", "\n").split("\n")
            if lines[-1] == "":  # after the last newline
                lines.pop()
            yield self._parse(lines, offsets, ix, iy)
            self.block_start += len(lines)

    def line_number(self, offset: int) -> int:
        """The file line (from 1) that starts at byte ``offset``: counted when an error names
        it, so that a part need not read the lines before it."""
        count, done = 1, 0
        with open(self.path, "rb") as f:
            while done < offset:
                block = f.read(min(1 << 20, offset - done))
                if not block:
                    break
                count += block.count(b"\n")
                done += len(block)
        return count

    def _parse(self, lines: list[str], offsets: list[int], ix: int, iy: int) -> Chunk:
        import warnings

        from .loaders import MISSING

        self.offsets = offsets
        quote = {} if self.delimiter is None else {"quotechar": '"'}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                m = np.loadtxt(lines, delimiter=self.delimiter, comments=None, ndmin=2, **quote)
            if m.shape == (len(lines), self.width):
                return m[:, ix], m[:, iy]
        except ValueError:
            pass
        out = np.empty((len(lines), 2))
        for i, row in enumerate(self._split(lines)):
            if len(row) != self.width:
                raise UsageError(
                    f"{self.label}: line {self.line_number(offsets[i])} has {len(row)} field(s) "
                    f"but the {'header' if self.header else 'first row'} has {self.width}; "
                    "every row needs the same number of columns"
                )
            for k, j in enumerate((ix, iy)):
                cell = row[j]
                try:
                    out[i, k] = float(cell)
                except ValueError:
                    if cell.lower() not in MISSING:
                        raise UsageError(
                            f"{self.label}: line {self.line_number(offsets[i])}, column "
                            f"{self.names[j]!r}: {cell!r} is not a number"
                        ) from None
                    out[i, k] = np.nan
        return out[:, 0], out[:, 1]

    def where(self, row: int) -> str:
        """The file line of data row ``row`` (in the block being read)."""
        return f"line {self.line_number(self.offsets[row - self.block_start])}"


def _utf8_text(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in raw


def _npy_blocks(
    path: str, source: Any, ix: int, iy: int, size: int, first: int = 0, last: int | None = None
) -> Iterator[Chunk]:
    """Columns ``ix`` and ``iy`` of rows ``[first, last)`` of a .npy table, ``size`` rows at a
    time, read with ``readinto`` into one reused buffer.

    Not through one memory map of the whole file: the pages of a map that have been read stay
    in the process's resident set (RSS grows to the file's size); a read into a buffer leaves
    them in the page cache only. Row-major tables (2-D C order, or structured) are read one
    block of whole rows at a time; column-major ones one column range at a time."""
    arr = np.load(path, mmap_mode="r")
    n = int(arr.shape[0])
    last = n if last is None else last
    structured = arr.dtype.names is not None
    row_major = structured or arr.flags["C_CONTIGUOUS"]
    offset, itemsize = int(arr.offset), arr.dtype.itemsize
    width = 1 if structured or arr.ndim == 1 else int(arr.shape[1])
    names = arr.dtype.names

    def column(block: np.ndarray, j: int) -> np.ndarray:
        if structured:
            return block[names[j]]
        return block if block.ndim == 1 else block[:, j]

    with open(path, "rb") as f:
        if row_major:
            row_bytes = itemsize * width
            buf = bytearray(row_bytes * max(min(size, last - first), 0))
            for start in range(first, last, size):
                m = min(size, last - start)
                f.seek(offset + start * row_bytes)
                view = memoryview(buf)[: m * row_bytes]
                f.readinto(view)
                block = np.frombuffer(view, dtype=arr.dtype)
                if not structured and arr.ndim == 2:
                    block = block.reshape(m, width)
                yield column(block, ix), column(block, iy)
        else:  # Fortran order: column j is rows [j n, (j + 1) n) of the file
            bufs = [bytearray(itemsize * max(min(size, last - first), 0)) for _ in range(2)]
            for start in range(first, last, size):
                m = min(size, last - start)
                out = []
                for j, buf in zip((ix, iy), bufs, strict=True):
                    f.seek(offset + (j * n + start) * itemsize)
                    view = memoryview(buf)[: m * itemsize]
                    f.readinto(view)
                    out.append(np.frombuffer(view, dtype=arr.dtype))
                yield out[0], out[1]


def _finite_sum(*arrays: np.ndarray) -> bool:
    """True when every array's sum is finite - then no value is NaN or infinite (a False may
    also be a sum that overflowed: look closer)."""
    with np.errstate(all="ignore"):
        return all(np.isfinite(a.sum()) for a in arrays)


def can_stream(path: str) -> bool:
    return Path(path).suffix.lower() in STREAMABLE_SUFFIXES


def _parquet_batches(pf: Any, names: list[str], size: int, first: int, last: int) -> Iterator[Any]:
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


def _parquet_floats(column: Any, label: str, name: str) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        values = pc.cast(column, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise UsageError(
            f"{label}: column {name!r} holds {column.type} values, not numbers"
        ) from None
    return values.to_numpy(zero_copy_only=False)
