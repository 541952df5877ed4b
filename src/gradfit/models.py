"""Model families: a forward pass, the hand-derived gradient, and how to print the result.

The article's model is the cubic ``y = a + b x + c x^2 + d x^3``. :class:`Polynomial` is that
model for any degree: ``y = w_0 + w_1 x + ... + w_n x^n``. Its forward pass and gradient are
written term by term exactly as the article writes them, so on the same data and initial weights
gradfit reproduces the article's numbers bit for bit, not just approximately.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import UsageError


@dataclass(frozen=True)
class Polynomial:
    """``y = w_0 + w_1 x + ... + w_n x^n`` with ``n = degree`` (monomial basis of x)."""

    degree: int = 3

    def __post_init__(self) -> None:
        if isinstance(self.degree, bool) or not isinstance(self.degree, (int, np.integer)):
            raise UsageError(f"--degree must be an integer, got {self.degree!r}")
        if self.degree < 0:
            raise UsageError(f"--degree must be >= 0, got {self.degree}")

    @property
    def n_params(self) -> int:
        return self.degree + 1

    def features(self, x: Any) -> list[Any]:
        """The non-constant basis functions on the data: ``[x, x**2, ..., x**n]``.

        Computed once per fit; the article recomputes ``x ** k`` every step, which gives the same
        numbers at a higher cost.
        """
        return [x if k == 1 else x**k for k in range(1, self.degree + 1)]

    def forward(self, w: Any, feats: list[Any]) -> Any:
        """Predictions ``w_0 + w_1 x + ...``, summed left to right as the article does."""
        y_pred = w[0]
        for k, f in enumerate(feats, start=1):
            y_pred = y_pred + w[k] * f
        return y_pred

    def grad(self, w: Any, feats: list[Any], grad_y_pred: Any, xp: Any) -> Any:
        """Hand-derived gradient: ``dL/dw_k = sum(dL/dy_pred * x**k)`` (the article's grad_a..d).

        Linear in the parameters, so ``w`` is not needed; it is part of the signature because
        nonlinear models need it.
        """
        parts = [xp.sum(grad_y_pred)]
        parts.extend(xp.sum(grad_y_pred * f) for f in feats)
        return xp.stack(parts)

    def to_monomial(self, coef: np.ndarray) -> np.ndarray:
        """Coefficients in the monomial basis of x, lowest power first (already monomial here)."""
        return np.asarray(coef, dtype=np.float64)

    def format(self, coef: np.ndarray) -> str:
        """The article's format: ``y = a + b x + c x^2 + d x^3`` (Python float reprs)."""
        return format_polynomial(self.to_monomial(coef))


def format_polynomial(coef: np.ndarray) -> str:
    """``y = c0 + c1 x + c2 x^2 ...`` with each coefficient as Python prints a float."""
    terms = []
    for k, c in enumerate(np.asarray(coef, dtype=np.float64).tolist()):
        terms.append(f"{c}" if k == 0 else f"{c} x" if k == 1 else f"{c} x^{k}")
    return "y = " + " + ".join(terms)


def make_model(kind: str = "poly", degree: int = 3) -> Polynomial:
    """Build a model by name. Only ``poly`` exists so far."""
    if kind != "poly":
        raise UsageError(f"unknown model {kind!r}; choose one of: poly")
    return Polynomial(degree)
