"""Problems: the x and y a model is fitted to, as one record, and the checks of user input.

Input is validated here, once, at the edge; everything downstream can trust it. Problems are
built from a target (:mod:`gradfit.data.generated`), read from a file
(:mod:`gradfit.data.load`) or given as arrays (:func:`as_problem`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..errors import UsageError


class Backend(Protocol):
    """What the data package needs of a :class:`gradfit.backends.Backend` (declared here, so
    that data imports nothing above it): its array namespace and how to make its arrays."""

    xp: Any

    def asarray(self, values: Any) -> Any: ...

    def linspace(self, start: float, stop: float, num: int) -> Any: ...

    def to_numpy(self, a: Any) -> np.ndarray: ...


@dataclass(frozen=True)
class Problem:
    """Data to fit: 1-D arrays ``x`` and ``y`` of equal length on one backend, and a name;
    optionally per-point ``weights`` (see :mod:`gradfit.data.weights`)."""

    x: Any
    y: Any
    name: str = "data"
    source: dict[str, Any] | None = None  # where the data came from (a file's path, columns)
    # The loss is sum(w_i r_i^2): float64 host weights (None: all 1), and whether they are
    # 1 / sigma^2 (--sigma: the chi-square, errors known) rather than relative (--weight).
    weights: np.ndarray | None = None
    absolute: bool = False

    def sqrt_weights(self, backend: Backend) -> Any:
        """``sqrt(w)`` on ``backend`` in its dtype (None when unweighted): the factor every
        method scales the residuals by."""
        return None if self.weights is None else backend.asarray(np.sqrt(self.weights))

    def __len__(self) -> int:
        return int(self.x.shape[0])


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


def as_problem(
    x: Any, y: Any, backend: Backend, n_params: int, name: str = "data", columns: bool = False
) -> Problem:
    """Validate user arrays and move them to ``backend``.

    Checks: 1-D (or a single column; ``columns=True``: x may have several), equal lengths, all
    finite, at least ``n_params`` points.
    """
    xs = backend.asarray(_column(x, "x", columns))
    ys = backend.asarray(_column(y, "y"))
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


def _column(a: Any, label: str, columns: bool = False) -> Any:
    if not hasattr(a, "shape"):
        try:
            a = np.asarray(a, dtype=np.float64)
        except (TypeError, ValueError):
            raise UsageError(f"{label} must be numbers") from None
    if columns and len(a.shape) == 2:
        return a
    if len(a.shape) == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if len(a.shape) != 1:
        raise UsageError(f"{label} must be one-dimensional, got shape {tuple(a.shape)}")
    return a


# Bounds that keep a generated problem representable in float64.
MAX_POINTS = 2**53  # every index exact in float64
MAX_NOISE = 1e100
MAX_CURVATURE = 1e300  # sum of x^(2 degree) over the points: the Hessian's scale


def check_generated(
    points: int, x_range: tuple[float, float], model: Any, noise: float, scale: bool | None
) -> None:
    """Refuse, before anything is allocated, a generated problem float64 cannot hold: more
    points than it can index, a range too narrow for distinct x or so wide that the powers of x
    overflow (unless x is scaled), noise that swamps every value."""
    lo, hi = x_range
    if points > MAX_POINTS:
        raise UsageError(f"--points must be at most 2^53 = {MAX_POINTS}, got {points}")
    if noise > MAX_NOISE:
        raise UsageError(f"--noise must be at most {MAX_NOISE:g}, got {noise:g}")
    reach = max(abs(lo), abs(hi))
    if not math.isfinite(hi - lo):
        raise UsageError(
            f"--range {lo:g} {hi:g} is too wide: its length overflows float64; give a narrower "
            "range"
        )
    if points > 1 and not (hi - lo > 1e-12 * reach and hi - lo > 1e-150):
        raise UsageError(
            f"--range {lo:g} {hi:g} is too narrow: {points} evenly spaced float64 values "
            "in it are not distinct; give a wider range"
        )
    if not scale and model.linear and reach > 1:
        # log10 of points * reach^(2 degree), without overflowing on the way
        size = math.log10(points) + 2 * model.degree * math.log10(reach)
        if size > math.log10(MAX_CURVATURE):
            raise UsageError(
                f"--range {lo:g} {hi:g} is too wide for a degree-{model.degree} fit: x^"
                f"{2 * model.degree} summed over {points} points overflows float64; give a "
                "narrower range, or --scale to fit on x mapped to [-1, 1]"
            )
