"""Per-point weights: ``--sigma COL`` (measurement errors) and ``--weight COL``, checked once.

A weighted fit minimises ``sum w_i r_i^2``. With ``--sigma`` the weights are ``1 / sigma_i^2``,
so the loss is the chi-square and the statistics take the absolute (known-error) form; with
``--weight`` they are given as they are, relative (the residual variance is estimated). The
weights travel with the rows as float64 host values (:attr:`gradfit.data.Problem.weights`);
every method scales the residuals by ``sqrt(w_i)`` before the loss, so every loss and method
sees the same weighted residuals.

The checks: a sigma is finite and > 0; a weight is finite and >= 0, and at least as many
points as the model has parameters have a positive weight. A file's bad value is named by its
line (text) or row (binary) and column; an array's by its index.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import UsageError
from .errors import excerpt

KINDS = ("sigma", "weight")  # --sigma (1 / sigma^2, absolute) and --weight (relative)


def weights_of(values: np.ndarray, kind: str) -> np.ndarray:
    """The weights ``w_i`` from a checked column: ``1 / sigma^2`` for sigma, else the values."""
    values = np.asarray(values, dtype=np.float64)
    return 1.0 / (values * values) if kind == "sigma" else values


def check_column(
    values: np.ndarray,
    kind: str,
    label: str,
    where: Callable[[int], str],
    n_params: int | None = None,
    column: str | None = None,
) -> np.ndarray:
    """Check a column of sigmas or weights (all finite already) and return the weights.

    ``label``: the file (or the argument) in messages; ``where(i)``: where value ``i`` is, in
    words a user can find (a file's line or row, an array's index); ``column``: its name.
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    named = "" if column is None else f", column {excerpt(column)}"

    def at(i: int) -> str:
        return f"{label}: {where(i)}{named}"

    if kind == "sigma":
        bad = ~(values > 0)
        if bad.any():
            i = int(np.argmax(bad))
            raise UsageError(
                f"{at(i)}: sigma {values[i]:g} is not > 0; --sigma gives each "
                "point's standard deviation (use --weight for weights that may be 0)"
            )
        with np.errstate(over="ignore"):
            weights = weights_of(values, kind)
        if not np.all(np.isfinite(weights)):
            i = int(np.argmax(~np.isfinite(weights)))
            raise UsageError(f"{at(i)}: sigma {values[i]:g} is too small (1 / sigma^2 overflows)")
        return weights
    bad = values < 0
    if bad.any():
        i = int(np.argmax(bad))
        raise UsageError(f"{at(i)}: weight {values[i]:g} is negative; weights are >= 0")
    positive = int(np.count_nonzero(values > 0))
    if n_params is not None and positive < n_params:
        raise UsageError(
            f"{label}{named}: only {positive} point(s) have a positive weight but the model has "
            f"{n_params} parameters; give more points a weight > 0"
        )
    return values


def weights_column(
    table: Any, ix: int, iy: int, sigma: Any, weight: Any
) -> tuple[str | None, tuple[int, ...]]:
    """The kind (``sigma``, ``weight`` or None) and the index of the weights column of a
    :class:`gradfit.data.Table` (``()`` without one); it may be neither x nor y."""
    if sigma is None and weight is None:
        return None, ()
    kind = "sigma" if sigma is not None else "weight"
    iw = table.resolve(sigma if kind == "sigma" else weight, f"--{kind}")
    if iw in (ix, iy):
        raise UsageError(
            f"{table.label}: --{kind} {table.names[iw]!r} is the "
            f"{'x' if iw == ix else 'y'} column; choose a column of its own"
        )
    return kind, (iw,)


def user_weights(sigma: Any, weights: Any, n: int, n_params: int) -> tuple[np.ndarray | None, bool]:
    """The library's ``sigma=`` (a number, or one per point) or ``weights=`` (one per point)
    as ``(w, absolute)``: float64 weights of length ``n`` (None: unweighted) and whether they
    are ``1 / sigma^2`` (the chi-square form)."""
    if sigma is not None and weights is not None:
        raise UsageError("give sigma (measurement errors) or weights, not both")
    if sigma is None and weights is None:
        return None, False
    kind, given = ("sigma", sigma) if sigma is not None else ("weight", weights)
    if hasattr(given, "detach"):  # a torch tensor
        given = given.detach().cpu().numpy()
    try:
        values = np.asarray(given, dtype=np.float64)
    except (TypeError, ValueError):
        raise UsageError(f"{kind} must be numbers") from None
    if kind == "sigma" and values.ndim == 0:
        values = np.full(n, float(values))
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1 or values.shape[0] != n:
        raise UsageError(
            f"{kind} must be {'a number or ' if kind == 'sigma' else ''}one value per point "
            f"({n}), got shape {tuple(values.shape)}"
        )
    if not np.all(np.isfinite(values)):
        i = int(np.argmax(~np.isfinite(values)))
        raise UsageError(f"{kind}[{i}] is {float(values[i])!r}; {kind} values must be finite")
    w = check_column(values, kind, kind, lambda i: f"index {i}", n_params)
    return w, kind == "sigma"
