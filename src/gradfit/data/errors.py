"""The data package's one error vocabulary: every way a file is refused, worded once.

Each function returns a :class:`~gradfit.errors.UsageError` (one line, exit status 2) that
names the file and, where it can, the line (text files, 1-based as an editor shows it) or row
(binary files, 0-based as NumPy indexes it) and column. Text from the file is quoted as a short
:func:`excerpt`, so that a huge cell or header never makes a huge error line.
"""

from __future__ import annotations

import numpy as np

from ..errors import UsageError

EXCERPT = 60  # characters of the file's own text an error line quotes at most


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """``repr(text)``, cut to its first ``limit`` characters (``...`` and its length if cut)."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"


def role(name: str, column: str) -> str:
    """``x`` for a column named x, else ``x (time)`` (a long name cut to an excerpt)."""
    if column == name:
        return name
    return f"{name} ({column if len(column) <= EXCERPT else column[:EXCERPT] + '...'})"


def list_names(names: list[str], limit: int = 8) -> str:
    """The first ``limit`` column names, quoted (each as an excerpt), and how many in all."""
    shown = ", ".join(excerpt(n) for n in names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def short(exc: BaseException) -> str:
    """The first line of a library's exception, at most 200 characters."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def no_data_rows(label: str, header: list[str] | None = None) -> UsageError:
    """A file with no data rows (after its header, when it has one)."""
    if header is not None:
        return UsageError(f"{label} has a header ({list_names(header)}) but no data rows")
    return UsageError(f"{label} has no data rows")


def not_text(label: str, line: int | None = None) -> UsageError:
    """Bytes that are not UTF-8 text (or NULs) where a text table was expected."""
    if line is None:
        return UsageError(
            f"{label} is not a UTF-8 text table (is it a binary file with the wrong extension?)"
        )
    return UsageError(f"{label} is not a UTF-8 text table (line {line}: binary or non-UTF-8 bytes)")


def not_a_number(label: str, where: str, column: str, cell: str) -> UsageError:
    """A cell of a chosen column that is neither a number nor a missing value."""
    hint = " (decimal commas are not supported)" if "," in cell else ""
    return UsageError(
        f"{label}: {where}, column {excerpt(column)}: {excerpt(cell)} is not a number{hint}"
    )


def not_numbers(label: str, column: str, kind: object) -> UsageError:
    """A whole column of a type that is not numbers (a Parquet timestamp, a .npy string)."""
    return UsageError(f"{label}: column {excerpt(column)} holds {kind} values, not numbers")


def cannot_read(label: str, exc: OSError) -> UsageError:
    """The operating system refused the file (permissions, a vanished file, an I/O error)."""
    return UsageError(f"cannot read {label}: {exc.strerror or short(exc)}")


def nonfinite_in_stream(label: str, where: str) -> UsageError:
    """A NaN, missing or infinite value met while streaming (the counts are not known yet)."""
    return UsageError(
        f"{label}: NaN, missing or infinite values, first at {where}; fix the file or pass "
        "--drop-nonfinite to leave those rows out"
    )


def describe_nonfinite(
    x: np.ndarray, x_name: str, y: np.ndarray, y_name: str, *more: tuple[np.ndarray, str]
) -> str:
    """``2 NaN or missing value(s) in 'y' and 1 infinite value(s) in 'y'`` (``more``: other
    columns read with them, as ``(values, name)``: a sigma or weight column)."""
    parts = []
    for values, name in ((x, x_name), (y, y_name), *more):
        nan = int(np.isnan(values).sum())
        inf = int(np.isinf(values).sum())
        if nan:
            parts.append(f"{nan} NaN or missing value(s) in {excerpt(name)}")
        if inf:
            parts.append(f"{inf} infinite value(s) in {excerpt(name)}")
    return " and ".join(parts)
