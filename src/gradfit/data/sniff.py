"""The one header sniffer of text tables: delimiter, header or not, missing values, cells.

Used by the text reader for the first line and for every row, whichever path reads the file
(in memory, streamed, or one rank's part), so that a file is understood the same way by all.

- The delimiter is a tab for ``.tsv``, else the first of tab, ``;``, ``,`` found in the first
  row, else runs of whitespace.
- A first row with no number in it is a header.
- Empty cells and ``NA``/``N/A``/``null``/``none``/``nan`` are missing values (NaN).
"""

from __future__ import annotations

import csv

MISSING = frozenset({"", "na", "n/a", "nan", "null", "none"})


class SplitError(ValueError):
    """A line that cannot be split into cells: ``index`` is its place in the lines given."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(reason)
        self.index = index
        self.reason = reason


def sniff_delimiter(line: str, suffix: str) -> str | None:
    """The delimiter of a table whose first row is ``line`` (None: runs of whitespace)."""
    if suffix == ".tsv":
        return "\t"
    for delimiter in ("\t", ";", ","):
        if delimiter in line:
            return delimiter
    return None


def is_number(cell: str) -> bool:
    """True for a cell that reads as a number (a missing value does not)."""
    if cell.lower() in MISSING:
        return False
    try:
        float(cell)
    except ValueError:
        return False
    return True


def header_names(cells: list[str]) -> list[str] | None:
    """The column names when ``cells`` (a first row) is a header, else None."""
    if any(is_number(cell) for cell in cells):
        return None
    return [cell or f"column {j}" for j, cell in enumerate(cells)]


def split_cells(lines: list[str], delimiter: str | None) -> list[list[str]]:
    """Each line's cells, stripped: one row per line, or a :class:`SplitError` naming the line
    (a field over the csv module's size limit, a quoted field not closed on its line)."""
    if delimiter is None:
        return [line.split() for line in lines]
    reader = csv.reader(lines, delimiter=delimiter, skipinitialspace=True)
    rows: list[list[str]] = []
    try:
        for row in reader:
            if reader.line_num != len(rows) + 1:
                raise SplitError(len(rows), "a quoted field is not closed on its line")
            rows.append([cell.strip() for cell in row])
    except csv.Error as exc:
        raise SplitError(len(rows), str(exc)) from None
    return rows
