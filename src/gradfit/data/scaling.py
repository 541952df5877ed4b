"""Domain scaling: fit on ``t`` in [-1, 1] instead of x, report coefficients in x.

Gradient descent on raw monomials is hopeless when x is large: on x in [1e5, 3e6] the Hessian
of the cubic's loss has a condition number of about 3e39, so any stable learning rate leaves the
low-order coefficients where they started. ``numpy.polynomial`` solves this with a *domain* and a
*window*: ``t = off + scl * x`` maps the data's interval [lo, hi] onto [-1, 1], where the powers
of t are of similar size and the problem is well conditioned. gradfit does the same, outside the
model: the model is trained on (t, y), and the coefficients are converted back to the monomial
basis of x with ``numpy.polynomial`` afterwards. Predictions evaluate the polynomial in t, the
well-conditioned form (the monomial coefficients in x can lose digits to cancellation far from 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.polynomial import Polynomial as NpPolynomial
from numpy.polynomial import polyutils

WINDOW = (-1.0, 1.0)


@dataclass(frozen=True)
class Domain:
    """The x interval ``[lo, hi]`` mapped onto the window [-1, 1] by ``t = off + scl * x``."""

    lo: float
    hi: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lo) and math.isfinite(self.hi) and self.lo < self.hi):
            raise ValueError(f"a domain needs finite lo < hi, got [{self.lo}, {self.hi}]")

    @classmethod
    def of(cls, x: Any) -> Domain:
        """The domain numpy.polynomial's ``fit`` would use: ``[min(x), max(x)]``."""
        xs = as_float64(x)
        return cls(float(xs.min()), float(xs.max()))

    @property
    def window(self) -> tuple[float, float]:
        return WINDOW

    @property
    def mapping(self) -> tuple[float, float]:
        """``(off, scl)`` with ``t = off + scl * x`` (``numpy.polynomial.polyutils.mapparms``)."""
        off, scl = polyutils.mapparms([self.lo, self.hi], list(WINDOW))
        return float(off), float(scl)

    def to_window(self, x: Any) -> np.ndarray:
        """``t = off + scl * x`` in float64, of the same shape as x."""
        off, scl = self.mapping
        return off + scl * host_float64(x)

    def polynomial(self, coef_t: Any) -> NpPolynomial:
        """The fitted function of x: ``sum(coef_t[k] * t**k)`` with t mapped from x."""
        return NpPolynomial(
            np.asarray(coef_t, dtype=np.float64), domain=self.as_list(), window=WINDOW
        )

    def to_x(self, coef_t: Any) -> np.ndarray:
        """Monomial coefficients in x (lowest power first) of the polynomial ``coef_t`` in t."""
        coef_t = np.asarray(coef_t, dtype=np.float64)
        return _padded(self.polynomial(coef_t).convert().coef, coef_t.size)

    def from_x(self, coef_x: Any) -> np.ndarray:
        """The inverse of :meth:`to_x`: coefficients in t of a monomial polynomial in x."""
        coef_x = np.asarray(coef_x, dtype=np.float64)
        converted = NpPolynomial(coef_x).convert(domain=self.as_list(), window=WINDOW)
        return _padded(converted.coef, coef_x.size)

    def as_list(self) -> list[float]:
        return [self.lo, self.hi]


def evaluate(x: Any, coef: Any, domain: Domain | None = None, scaled_coef: Any = None) -> Any:
    """A polynomial at ``x`` in float64: in t when it was fitted scaled, else in x.

    One function for every ``predict`` (a fit result, a loaded model, the scikit-learn estimator),
    so they agree to the last bit.
    """
    xs = np.asarray(x, dtype=np.float64)
    if domain is not None and scaled_coef is not None:
        return np.polynomial.polynomial.polyval(domain.to_window(xs), scaled_coef)
    return np.polynomial.polynomial.polyval(xs, np.asarray(coef, dtype=np.float64))


def as_float64(a: Any) -> np.ndarray:
    """A flat float64 NumPy array of an array from any backend (torch tensors included)."""
    return host_float64(a).reshape(-1)


def host_float64(a: Any) -> np.ndarray:
    """A float64 NumPy array of an array from any backend, its shape kept (several columns of
    x stay columns)."""
    if hasattr(a, "detach"):  # a torch tensor, possibly on a GPU
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def _padded(coef: np.ndarray, size: int) -> np.ndarray:
    """numpy.polynomial trims trailing zeros; keep one coefficient per power."""
    out = np.zeros(size)
    out[: min(size, coef.size)] = coef[:size]
    return out
