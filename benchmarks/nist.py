"""Read a NIST StRD nonlinear regression file (``benchmarks/nist/NAME.dat``).

The format, as NIST publishes it: a free-text header (description, reference, model); a table
whose rows read ``b1 = START1 START2 CERTIFIED STANDARD_DEVIATION``; the certified residual
sum of squares; then ``Data:  y  x`` followed by one observation a line. Numbers may be
written ``12.5E0`` or ``.500E0``. Only the lines with that shape are read, so the header's
wording and its indentation do not matter.

>>> p = load("Misra1a")
>>> p.name, len(p.x), p.start1.tolist(), float(p.certified[0])
('Misra1a', 14, [500.0, 0.0001], 238.94212918)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent / "nist"
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_PARAM = re.compile(rf"^\s*b(\d+)\s*=\s*({_NUM})\s+({_NUM})\s+({_NUM})\s+({_NUM})\s*$")
_RSS = re.compile(rf"Residual Sum of Squares:\s*({_NUM})")
_LEVEL = re.compile(r"(Lower|Average|Higher) Level of Difficulty")


@dataclass(frozen=True)
class NistProblem:
    """One StRD problem: data, the two starts, the certified answer (11 significant digits)."""

    name: str
    level: str  # "Lower", "Average" or "Higher" difficulty, as NIST rates it
    x: np.ndarray
    y: np.ndarray
    start1: np.ndarray
    start2: np.ndarray
    certified: np.ndarray  # the parameters b1..bp
    certified_se: np.ndarray  # their standard deviations (standard errors)
    certified_rss: float  # the residual sum of squares at the certified parameters


def parse(text: str, name: str = "") -> NistProblem:
    """The problem in one file's text."""
    lines = text.splitlines()
    rows: dict[int, list[float]] = {}
    rss = None
    data_at = None
    for i, line in enumerate(lines):
        m = _PARAM.match(line)
        if m:
            rows[int(m.group(1))] = [float(v) for v in m.group(2, 3, 4, 5)]
        m = _RSS.search(line)
        if m:
            rss = float(m.group(1))
        if re.match(r"^\s*Data:\s+y\s+x\s*$", line):
            data_at = i + 1
    if not rows or rss is None or data_at is None:
        raise ValueError(f"{name or 'text'}: not a NIST StRD nonlinear regression file")
    if sorted(rows) != list(range(1, len(rows) + 1)):
        raise ValueError(f"{name}: parameters {sorted(rows)} are not b1..bp")
    table = np.array([rows[k] for k in sorted(rows)])
    data = np.array([[float(v) for v in ln.split()] for ln in lines[data_at:] if ln.strip()])
    level = _LEVEL.search(text)
    return NistProblem(
        name=name,
        level=level.group(1) if level else "",
        x=data[:, 1].copy(),
        y=data[:, 0].copy(),
        start1=table[:, 0].copy(),
        start2=table[:, 1].copy(),
        certified=table[:, 2].copy(),
        certified_se=table[:, 3].copy(),
        certified_rss=rss,
    )


def load(name: str, directory: Path = HERE) -> NistProblem:
    """``directory/NAME.dat``, parsed."""
    return parse((directory / f"{name}.dat").read_text(encoding="utf-8"), name)


def available(directory: Path = HERE) -> list[str]:
    """The names of the stored problems."""
    return sorted(p.stem for p in directory.glob("*.dat"))
