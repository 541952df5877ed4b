"""Which reader reads a file: by its extension, after the checks every format shares.

A missing, unreadable, empty, unsupported or directory path is refused here, one line each;
the reader then refuses what is wrong inside the file.
"""

from __future__ import annotations

from pathlib import Path

from . import npy, parquet, text
from .errors import UsageError, cannot_read
from .table import Table

TEXT_SUFFIXES = text.SUFFIXES
NUMPY_SUFFIXES = (".npy", ".npz")
PARQUET_SUFFIXES = parquet.SUFFIXES
SUPPORTED = TEXT_SUFFIXES + NUMPY_SUFFIXES + PARQUET_SUFFIXES
# Read a block at a time without holding the file (an .npz is read whole).
STREAMABLE_SUFFIXES = (".npy", *PARQUET_SUFFIXES, *TEXT_SUFFIXES)


def open_table(path: str | Path) -> Table:
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
        if p.stat().st_size == 0:
            raise UsageError(f"{label} is empty")
        if suffix in TEXT_SUFFIXES:
            return text.TextTable(p, label)
        if suffix == ".npy":
            return npy.NpyTable(p, label)
        if suffix == ".npz":
            return npy.NpzTable(p, label)
        return parquet.ParquetTable(p, label)
    except OSError as exc:
        raise cannot_read(label, exc) from None


def can_stream(path: str | Path) -> bool:
    """True for a format read a block at a time (.npy, Parquet, text), not whole (.npz)."""
    return Path(path).suffix.lower() in STREAMABLE_SUFFIXES
