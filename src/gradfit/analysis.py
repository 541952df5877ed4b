"""Reference answers every run is compared against (the closed-form least-squares optimum)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.polynomial import Polynomial as NpPolynomial


@dataclass(frozen=True)
class Optimum:
    """The least-squares optimum: monomial coefficients (lowest power first) and its SSE."""

    coef: np.ndarray
    loss: float


def closed_form(x: Any, y: Any, degree: int = 3) -> Optimum:
    """The exact least-squares polynomial of ``degree`` through ``(x, y)``, in float64.

    Uses ``numpy.polynomial.Polynomial.fit`` (a scaled, well-conditioned lstsq), converted back to
    monomial coefficients of x. This is what gradient descent on the sum of squared errors walks
    toward; the loss is the sum of squared residuals, the article's loss.
    """
    xs = _as_float64(x)
    ys = _as_float64(y)
    fitted = NpPolynomial.fit(xs, ys, degree)
    poly = fitted.convert()
    coef = np.zeros(degree + 1)
    coef[: poly.coef.size] = poly.coef
    # The loss from the scaled form: monomial coefficients lose digits to cancellation when x
    # is far from 0 (x in [1e6, 1e6 + 10] would give a loss 30 times too large).
    residual = fitted(xs) - ys
    return Optimum(coef, float(residual @ residual))


def _as_float64(a: Any) -> np.ndarray:
    if hasattr(a, "detach"):  # a torch tensor, possibly on a GPU
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64).reshape(-1)
