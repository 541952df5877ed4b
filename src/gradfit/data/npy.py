"""NumPy files: ``.npy`` read a block of rows at a time, ``.npz`` archives read whole.

A ``.npy`` table is a 2-D array (columns by index), a structured array (columns by field name)
or, where only x is needed (``gradfit predict``), a 1-D array. Opening one reads its header only
(a memory map gives shape, dtype and layout); rows are then read with ``readinto`` into one
reused buffer, never through the map: the pages of a map that have been read stay in the
process's resident set (RSS grows to the file's size), a read into a buffer leaves them in the
page cache only. A part ``(rank, K)`` is rows ``[n r / K, n (r + 1) / K)``, found by byte offset.

An ``.npz`` holds named 1-D arrays (columns by name) or a single 2-D array (columns by index);
its columns are read whole, and a part is a slice of them.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from tokenize import TokenError
from typing import Any

import numpy as np

from .errors import UsageError, role, short
from .table import Block, Part, Table, part_rows

# What NumPy raises on a damaged .npy header, besides ValueError and EOFError: a header its
# Python 2 fallback re-tokenizes (tokenize.TokenError: an unclosed bracket) or cannot parse.
BAD_HEADER = (ValueError, EOFError, SyntaxError, TokenError)
# And on a damaged .npz: what zipfile raises for a broken archive, or for one whose version or
# compression method it does not support (NotImplementedError).
BAD_ARCHIVE = (*BAD_HEADER, zipfile.BadZipFile, NotImplementedError)


class NpyTable(Table):
    """A ``.npy`` array: its columns read a block of rows at a time."""

    def __init__(self, path: Path, label: str) -> None:
        self.path, self.label = path, label
        try:
            self.array = np.load(path, mmap_mode="r", allow_pickle=False)  # the header only
        except BAD_HEADER as exc:
            if "Python objects" in str(exc) or "pickle" in str(exc):
                raise UsageError(
                    f"{label} holds Python objects (pickled data), which gradfit never loads; "
                    "save a numeric array"
                ) from None
            raise UsageError(f"cannot read {label} as a .npy array: {short(exc)}") from None
        arr = self.array
        if arr.dtype.names:  # structured: one column per field
            if arr.ndim != 1:
                raise UsageError(f"{label}: a structured array must be one-dimensional")
            self.names = list(arr.dtype.names)
        elif arr.ndim in (1, 2):
            self.names = [str(j) for j in range(1 if arr.ndim == 1 else arr.shape[1])]
        else:
            raise _not_a_table(label, arr.shape)

    def _view(self, j: int) -> Any:
        """Column ``j`` as a view of the map (nothing read), for its shape and dtype."""
        arr = self.array
        if arr.dtype.names:
            return arr[arr.dtype.names[j]]
        return arr if arr.ndim == 1 else arr[:, j]

    def rows_in_file(self) -> int:
        return int(self.array.shape[0])

    def count(self, ix: int, iy: int, part: Part = None, extra: tuple[int, ...] = ()) -> int:
        for j in (ix, iy, *extra):
            _check_numeric(self._view(j), self.label, self.names[j])
        first, last = part_rows(self.rows_in_file(), part)
        return last - first

    def blocks(
        self, ix: int, iy: int, size: int, part: Part = None, extra: tuple[int, ...] = ()
    ) -> Iterator[Block]:
        """Row-major tables (2-D C order, or structured) are read one block of whole rows at a
        time; column-major ones one column range at a time."""
        columns = (ix, iy, *extra)
        self.count(ix, iy, extra=extra)
        arr = self.array
        n = self.rows_in_file()
        first, last = part_rows(n, part)
        structured = arr.dtype.names is not None
        offset, itemsize = int(arr.offset), arr.dtype.itemsize
        width = 1 if structured or arr.ndim == 1 else int(arr.shape[1])
        names = arr.dtype.names

        def column(block: np.ndarray, j: int) -> np.ndarray:
            if structured:
                return np.asarray(block[names[j]], dtype=np.float64)
            return np.asarray(block if block.ndim == 1 else block[:, j], dtype=np.float64)

        with open(self.path, "rb") as f:
            if structured or arr.flags["C_CONTIGUOUS"]:
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
                    yield tuple(column(block, j) for j in columns)
            else:  # Fortran order: column j is rows [j n, (j + 1) n) of the file
                bufs = [bytearray(itemsize * max(min(size, last - first), 0)) for _ in columns]
                for start in range(first, last, size):
                    m = min(size, last - start)
                    out = []
                    for j, buf in zip(columns, bufs, strict=True):
                        f.seek(offset + (j * n + start) * itemsize)
                        view = memoryview(buf)[: m * itemsize]
                        f.readinto(view)
                        out.append(np.asarray(np.frombuffer(view, dtype=arr.dtype), np.float64))
                    yield tuple(out)


def oversized_member(path: Path) -> str | None:
    """The first ``.npy`` member of the zip archive ``path`` whose header claims more data than
    the member holds, or None. Checked from the headers alone, before numpy allocates what a
    header claims (10^12 rows would otherwise be allocated, then fail). Raises ValueError (or
    ``zipfile.BadZipFile``) for a member that is not a readable ``.npy`` array."""
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            with archive.open(info) as fh:
                version = np.lib.format.read_magic(fh)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
                else:
                    shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
            if dtype.hasobject:
                raise ValueError(f"{info.filename} holds Python objects")
            count = 1
            for n in shape:
                count *= int(n)
            if count * dtype.itemsize > info.file_size:
                return info.filename.removesuffix(".npy")
    return None


class NpzTable(Table):
    """An ``.npz`` archive: each column read whole (as float64) when it is asked for."""

    def __init__(self, path: Path, label: str) -> None:
        self.label = label
        try:
            oversized = oversized_member(path)
            archive = np.load(path, allow_pickle=False)
        except BAD_ARCHIVE as exc:
            raise UsageError(f"cannot read {label} as an .npz archive: {short(exc)}") from None
        if oversized is not None:
            raise UsageError(
                f"cannot read array {oversized!r} of {label}: its header claims more values than "
                "the archive holds (a corrupt or crafted file)"
            )
        files = list(archive.files)
        if not files:
            raise UsageError(f"{label} is an empty .npz archive (no arrays)")

        def getter(name: str) -> Callable[[], Any]:
            def get() -> Any:
                try:
                    value = archive[name]
                except (*BAD_ARCHIVE, OSError) as exc:
                    raise UsageError(
                        f"cannot read array {name!r} of {label}: {short(exc)}"
                    ) from None
                if not isinstance(value, np.ndarray):  # NumPy gives a member not .npy as bytes
                    raise UsageError(f"{label}: member {name!r} is not a .npy array")
                return value

            return get

        self.names, self._getters = files, [getter(n) for n in files]
        if len(files) == 1:
            only = self._getters[0]()
            if only.ndim == 2 and only.shape[1] > 1:  # one table: its columns by index
                prefix = files[0]
                self.names = [f"{prefix}[{j}]" for j in range(only.shape[1])]
                self._getters = [lambda j=j: only[:, j] for j in range(only.shape[1])]
        self._rows: int | None = None

    def column(self, j: int) -> np.ndarray:
        """Column ``j`` as a float64 copy (checked: one-dimensional, real numbers)."""
        return np.array(_check_numeric(self._getters[j](), self.label, self.names[j]), np.float64)

    def _pair(self, ix: int, iy: int, extra: tuple[int, ...] = ()) -> Block:
        xs, ys = self.column(ix), self.column(iy)
        if xs.shape[0] != ys.shape[0]:
            raise UsageError(
                f"{self.label}: {role('x', self.names[ix])} has {xs.shape[0]} values but "
                f"{role('y', self.names[iy])} has {ys.shape[0]}; they must have the same length"
            )
        more = tuple(self.column(j) for j in extra)
        for j, values in zip(extra, more, strict=True):
            if values.shape[0] != xs.shape[0]:
                raise UsageError(
                    f"{self.label}: column {self.names[j]!r} has {values.shape[0]} values but "
                    f"{role('x', self.names[ix])} has {xs.shape[0]}; they must have the same "
                    "length"
                )
        self._rows = int(xs.shape[0])
        return (xs, ys, *more)

    def rows_in_file(self) -> int:
        if self._rows is None:
            self._rows = int(self.column(0).shape[0])
        return self._rows

    def count(self, ix: int, iy: int, part: Part = None, extra: tuple[int, ...] = ()) -> int:
        first, last = part_rows(int(self._pair(ix, iy, extra)[0].shape[0]), part)
        return last - first

    def blocks(
        self, ix: int, iy: int, size: int, part: Part = None, extra: tuple[int, ...] = ()
    ) -> Iterator[Block]:
        columns = self._pair(ix, iy, extra)
        first, last = part_rows(columns[0].shape[0], part)
        for start in range(first, last, size):
            stop = min(start + size, last)
            yield tuple(c[start:stop] for c in columns)


def _check_numeric(a: Any, label: str, name: str) -> Any:
    """A column as stored, checked: one-dimensional (or one column) and of real numbers."""
    a = np.asarray(a)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise UsageError(
            f"{label}: column {name!r} has shape {a.shape}; it must be one-dimensional"
        )
    if a.dtype.kind not in "biuf":
        raise UsageError(f"{label}: column {name!r} holds {a.dtype} values, not real numbers")
    return a


def _not_a_table(label: str, shape: tuple[int, ...]) -> UsageError:
    return UsageError(
        f"{label}: an array of shape {shape} is not a table; save x and y as columns of a 2-D array"
    )
