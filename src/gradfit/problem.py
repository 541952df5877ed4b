"""Problems: the x and y a model is fitted to, built from a target or given by the user.

Input is validated here, once, at the edge; everything downstream can trust it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .backends import Backend
from .errors import UsageError

# Built-in targets: name -> (formula for humans, function of (xp, x)). Evaluated on the backend,
# as the article does (torch.sin on float32 tensors gives the article's exact y values).
TARGETS: dict[str, tuple[str, Callable[[Any, Any], Any]]] = {
    "sin": ("sin(x)", lambda xp, x: xp.sin(x)),
}


@dataclass(frozen=True)
class Problem:
    """Data to fit: 1-D arrays ``x`` and ``y`` of equal length on one backend, and a name."""

    x: Any
    y: Any
    name: str = "data"

    def __len__(self) -> int:
        return int(self.x.shape[0])


def make_problem(
    backend: Backend,
    target: str = "sin",
    points: int = 2000,
    x_range: tuple[float, float] = (-math.pi, math.pi),
) -> Problem:
    """The article's data: ``points`` evenly spaced x on ``x_range`` and ``y = target(x)``."""
    if target not in TARGETS:
        raise UsageError(f"unknown target {target!r}; choose one of: {', '.join(TARGETS)}")
    check_points(points)
    lo, hi = check_range(x_range)
    formula, func = TARGETS[target]
    x = backend.linspace(lo, hi, points)
    return Problem(x, func(backend.xp, x), formula)


def check_points(points: Any) -> int:
    if isinstance(points, bool) or not isinstance(points, (int, np.integer)) or points <= 0:
        raise UsageError(f"--points must be a positive integer, got {points!r}")
    return int(points)


def check_range(x_range: Any) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in x_range)
    except (TypeError, ValueError):
        raise UsageError(f"--range needs two numbers A B, got {x_range!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
        raise UsageError(f"--range A B needs finite A < B, got {lo} {hi}")
    return lo, hi


def as_problem(x: Any, y: Any, backend: Backend, n_params: int, name: str = "data") -> Problem:
    """Validate user arrays and move them to ``backend``.

    Checks: 1-D (or a single column), equal lengths, all finite, at least ``n_params`` points.
    """
    xs, ys = backend.asarray(_column(x, "x")), backend.asarray(_column(y, "y"))
    if xs.shape[0] != ys.shape[0]:
        raise UsageError(f"x and y have different lengths ({xs.shape[0]} and {ys.shape[0]})")
    if xs.shape[0] < n_params:
        raise UsageError(
            f"{xs.shape[0]} points cannot determine {n_params} coefficients; "
            f"use more points or a lower degree"
        )
    xp = backend.xp
    bad = int(xp.sum(~xp.isfinite(xs))) + int(xp.sum(~xp.isfinite(ys)))
    if bad:
        raise UsageError(f"the data holds {bad} NaN or infinite value(s)")
    return Problem(xs, ys, name)


def _column(a: Any, label: str) -> Any:
    if not hasattr(a, "shape"):
        try:
            a = np.asarray(a, dtype=np.float64)
        except (TypeError, ValueError):
            raise UsageError(f"{label} must be numbers") from None
    if len(a.shape) == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if len(a.shape) != 1:
        raise UsageError(f"{label} must be one-dimensional, got shape {tuple(a.shape)}")
    return a
