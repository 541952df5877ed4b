"""Generated problems: ``points`` evenly spaced x on a range and ``y = target(x)``, plus noise.

A target is a built-in name (:data:`TARGETS`) or a formula in x parsed safely by
:mod:`gradfit.expr` (never evaluated as Python). :func:`make_problem` builds the arrays on a
backend, as the article does; :func:`generated` produces the same numbers (on NumPy) a chunk
at a time, or one rank's part of them, for problems too big to hold.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import UsageError
from .problem import Backend, Problem, check_points, check_range
from .stream import Chunk, ChunkedProblem, finite_sum
from .table import Part, part_rows

# Built-in targets: name -> (formula for humans, function of (xp, x)). Evaluated on the backend,
# as the article does (torch.sin on float32 tensors gives the article's exact y values).
TARGETS: dict[str, tuple[str, Callable[[Any, Any], Any]]] = {
    "sin": ("sin(x)", lambda xp, x: xp.sin(x)),
}


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


def formula_problem(
    backend: Backend, formula: str, points: int, x_range: tuple[float, float]
) -> Problem:
    """``points`` evenly spaced x on ``x_range`` and ``y = formula(x)``, computed on the backend.

    The formula is parsed safely (never evaluated as Python); it must be finite at every x.
    """
    from ..expr import parse_expression

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
    part: Part = None,
) -> ChunkedProblem:
    """A generated problem (built-in target or formula) produced chunk by chunk in NumPy.

    x is ``numpy.linspace`` in float64, cast to ``dtype``; the target is evaluated in that
    dtype; the noise is drawn as :func:`add_noise` draws it (the same stream,
    consumed chunk by chunk). ``part=(rank, K)``: only that part's rows (see the module's
    documentation)."""
    if dtype not in ("float32", "float64"):
        raise UsageError(f"unknown dtype {dtype!r}; choose one of: float32, float64")
    np_dtype = np.dtype(dtype)
    first, last = part_rows(points, part)
    if target in TARGETS:
        formula, func = TARGETS[target]
    else:
        from ..expr import parse_expression

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
            x = np.asarray(linspace_chunk(lo, hi, points, start, stop), dtype=np_dtype)
            with np.errstate(all="ignore"):
                y = func(np, x)
            if not (finite_sum(y) or np.all(np.isfinite(y))):
                raise UsageError(
                    f"--target {formula!r} is not finite at some points of --range "
                    f"[{lo:g}, {hi:g}]; choose a range where it is defined"
                )
            if noise:
                y = y + np.asarray(noise * rng.standard_normal(stop - start), dtype=np_dtype)
            yield x.astype(np.float64), np.asarray(y, dtype=np.float64)

    return ChunkedProblem(last - first, formula, read, bounds=(lo, hi))
