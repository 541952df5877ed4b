"""Problems: the x and y a model is fitted to, built from a target or given by the user.

Input is validated here, once, at the edge; everything downstream can trust it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
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
    source: dict[str, Any] | None = None  # where the data came from (a file's path, columns)

    def __len__(self) -> int:
        return int(self.x.shape[0])


def make_problem(
    backend: Backend,
    target: str = "sin",
    points: int = 2000,
    x_range: tuple[float, float] = (-math.pi, math.pi),
) -> Problem:
    """The article's data: ``points`` evenly spaced x on ``x_range`` and ``y = target(x)``.

    ``target`` is a built-in name (``sin``) or a formula in x such as ``exp(-x**2) * cos(3*x)``
    (see :mod:`gradfit.expr`), evaluated on the backend.
    """
    if target not in TARGETS:
        return formula_problem(backend, target, points, x_range)
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


def formula_problem(
    backend: Backend, formula: str, points: int, x_range: tuple[float, float]
) -> Problem:
    """``points`` evenly spaced x on ``x_range`` and ``y = formula(x)``, computed on the backend.

    The formula is parsed safely (never evaluated as Python); it must be finite at every x.
    """
    from .expr import parse_expression

    expression = parse_expression(formula)
    check_points(points)
    lo, hi = check_range(x_range)
    x = backend.linspace(lo, hi, points)
    xp = backend.xp
    with np.errstate(all="ignore"):  # reported below, as one line
        try:
            y = expression(xp, x)
        except (ArithmeticError, TypeError, ValueError, RuntimeError) as exc:
            raise UsageError(f"--target {formula!r} cannot be evaluated: {exc}") from None
    finite = xp.isfinite(y)
    bad = int(xp.sum(~finite))
    if bad:
        where = backend.to_numpy(x)[~backend.to_numpy(finite)]
        raise UsageError(
            f"--target {formula!r} is not finite at {bad} of {points} points of --range "
            f"[{lo:g}, {hi:g}] (first at x={float(where[0]):g}); choose a range where it is "
            "defined"
        )
    return Problem(x, y, expression.text)


def add_noise(problem: Problem, backend: Backend, sigma: float, seed: int) -> Problem:
    """``y + sigma * N(0, 1)``, drawn in float64 from ``seed`` (its own stream, so the initial
    coefficients drawn from the same seed do not change), then cast to the backend's dtype."""
    if not sigma:
        return problem
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,)))
    noise = sigma * rng.standard_normal(len(problem))
    return replace(problem, y=problem.y + backend.asarray(noise))
