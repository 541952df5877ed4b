"""CSV/TSV/text tables (``.csv``, ``.tsv``, ``.txt``, ``.dat``), read a block of lines at a time.

The first line that is not blank and not a ``#`` comment decides the delimiter and whether there
is a header (:mod:`.sniff`); the data lines after it are parsed a block at a time: NumPy's C
parser when every cell is a plain number, else cell by cell, to say which line and column is
wrong. A part ``(rank, K)`` is the lines that start in the rank-th of K equal byte ranges of the
data (a line belongs to the range it starts in; the parts' sizes differ by a line or so): a part
reads nothing before its range but the end of the line it starts in.
"""

from __future__ import annotations

import codecs
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .errors import UsageError, not_a_number, not_text
from .sniff import MISSING, SplitError, header_names, sniff_delimiter, split_cells
from .table import Block, Part, Table

SUFFIXES = (".csv", ".tsv", ".txt", ".dat")


class TextTable(Table):
    """A delimited text table: its header and delimiter from the first line, then blocks."""

    def __init__(self, path: Path, label: str) -> None:
        self.path, self.label = path, label
        first, lineno = None, 0
        with open(path, "rb") as f:  # OSError: reported by open_table
            for raw in f:
                lineno += 1
                if b"\r" in raw.rstrip(b"\r\n"):
                    raise UsageError(
                        f"{label} has CR-only line endings (classic Mac OS); save it with "
                        "LF or CRLF line endings"
                    )
                bom = lineno == 1 and raw.startswith(codecs.BOM_UTF8)
                line = _decode(raw[len(codecs.BOM_UTF8) :] if bom else raw, label)
                if line.strip() and not line.lstrip().startswith("#"):
                    first = line.rstrip("\r\n")
                    break
            self.data_start = f.tell()  # the byte after the first line
        if first is None:
            raise UsageError(f"{label} is empty (no data, only blank or # comment lines)")
        self.delimiter = sniff_delimiter(first, path.suffix.lower())
        try:
            cells = split_cells([first], self.delimiter)[0]
        except SplitError as exc:
            raise UsageError(f"{label}: line {lineno}: {exc.reason}") from None
        self.width = len(cells)
        self.header = header_names(cells)
        self.names = self.header or [str(j) for j in range(self.width)]
        if self.header is None:  # the first line is data
            self.data_start -= len(raw)

    def byte_range(self, part: Part) -> tuple[int, int]:
        """The bytes whose lines are part ``rank`` of ``K`` of the data (all without a part):
        K equal ranges of the bytes after the header; a line belongs to the range it starts in."""
        size = self.path.stat().st_size
        if part is None:
            return self.data_start, size
        rank, world = part
        span = size - self.data_start
        return self.data_start + span * rank // world, self.data_start + span * (rank + 1) // world

    def count(self, ix: int, iy: int, part: Part = None, extra: tuple[int, ...] = ()) -> int:
        """Data lines of ``part``, counted without parsing them."""
        return sum(len(lines) for lines, _ in self._raw_blocks(part, 1 << 16))

    def blocks(
        self, ix: int, iy: int, size: int, part: Part = None, extra: tuple[int, ...] = ()
    ) -> Iterator[Block]:
        for raw, offsets in self._raw_blocks(part, size):
            data = b"".join(raw)
            try:
                if b"\x00" in data:
                    raise ValueError
                text = data.decode("utf-8")
            except ValueError:  # UnicodeDecodeError too: name the first bad line
                bad = next(i for i, r in enumerate(raw) if not _utf8_text(r))
                raise not_text(self.label, self.line_number(offsets[bad])) from None
            lines = text.replace("\r\n", "\n").split("\n")
            if lines[-1] == "":  # after the last newline
                lines.pop()
            yield self._parse(lines, offsets, (ix, iy, *extra))

    def where(self, row: int, part: Part = None) -> str:
        """The file line of data row ``row`` of ``part`` (found by reading up to it)."""
        for _, offsets in self._raw_blocks(part, 1 << 16):
            if row < len(offsets):
                return f"line {self.line_number(offsets[row])}"
            row -= len(offsets)
        raise IndexError(row)  # pragma: no cover - a row the part does not have

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

    def _raw_blocks(self, part: Part, size: int) -> Iterator[tuple[list[bytes], list[int]]]:
        """The data lines (not blank, not comments) of ``part``, as bytes, with their byte
        offsets, ``size`` at a time."""
        lo, hi = self.byte_range(part)
        lines: list[bytes] = []
        offsets: list[int] = []
        with open(self.path, "rb") as f:
            pos = lo
            if lo > self.data_start:  # the line that ``lo`` falls in is the previous part's
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

    def _parse(self, lines: list[str], offsets: list[int], columns: tuple[int, ...]) -> Block:
        quote = {} if self.delimiter is None else {"quotechar": '"'}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                m = np.loadtxt(lines, delimiter=self.delimiter, comments=None, ndmin=2,
                               dtype=np.float64, **quote)  # fmt: skip
            if m.shape == (len(lines), self.width):
                return tuple(m[:, j] for j in columns)
        except ValueError:
            pass
        # Not all plain numbers (a missing value, a word, a ragged row): cell by cell.
        try:
            rows = split_cells(lines, self.delimiter)
        except SplitError as exc:
            line = self.line_number(offsets[exc.index])
            raise UsageError(f"{self.label}: line {line}: {exc.reason}") from None
        out = np.empty((len(lines), len(columns)))
        for i, row in enumerate(rows):
            if len(row) != self.width:
                raise UsageError(
                    f"{self.label}: line {self.line_number(offsets[i])} has {len(row)} field(s) "
                    f"but the {'header' if self.header else 'first row'} has {self.width}; "
                    "every row needs the same number of columns"
                )
            for k, j in enumerate(columns):
                cell = row[j]
                try:
                    out[i, k] = float(cell)
                except ValueError:
                    if cell.lower() not in MISSING:
                        where = f"line {self.line_number(offsets[i])}"
                        raise not_a_number(self.label, where, self.names[j], cell) from None
                    out[i, k] = np.nan
        return tuple(out[:, k] for k in range(len(columns)))


def _decode(raw: bytes, label: str) -> str:
    """A line before the data (comments, header) as text; binary bytes are refused."""
    try:
        if b"\x00" in raw:
            raise ValueError
        return raw.decode("utf-8")
    except ValueError:
        raise not_text(label) from None


def _utf8_text(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in raw
