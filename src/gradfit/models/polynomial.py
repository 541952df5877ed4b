"""The article's model for any degree: ``y = c0 + c1 x + ... + cn x^n``, in a monomial,
Legendre or Chebyshev basis (bases, conversions and Vandermonde matrices from
``numpy.polynomial``).

Its forward pass and gradient follow the article's lines term by term, so on the same data and
initial weights gradfit reproduces the article's numbers bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.polynomial import chebyshev, legendre

from ..backends import Backend
from ..errors import UsageError
from .base import Cache, format_polynomial, register

BASES = ("monomial", "legendre", "chebyshev")
_BASIS_SYMBOL = {"legendre": "P", "chebyshev": "T"}


@register
@dataclass(frozen=True)
class Polynomial:
    """``y = c_0 B_0(x) + c_1 B_1(x) + ... + c_n B_n(x)`` in a monomial, Legendre or Chebyshev
    basis (``B_0 = 1`` in all three; monomial: ``B_k = x^k``, the article's cubic for n = 3)."""

    degree: int = 3
    basis: str = "monomial"

    kind: ClassVar[str] = "poly"
    statistics: ClassVar[bool] = True  # the gram method's sufficient statistics apply
    listed: ClassVar[bool] = True  # offered by --model
    description: ClassVar[str] = "y = c0 + c1 x + ... + cn x^n (--degree, --basis)"
    order: ClassVar[int] = 0  # first in --model's choices
    linear: ClassVar[bool] = True
    default_lr: ClassVar[float] = 1e-6
    default_init: ClassVar[tuple[float, ...] | None] = None

    @classmethod
    def from_options(cls, degree: int, basis: str) -> Polynomial:
        return cls(degree, basis)

    def __post_init__(self) -> None:
        if isinstance(self.degree, bool) or not isinstance(self.degree, (int, np.integer)):
            raise UsageError(f"--degree must be an integer, got {self.degree!r}")
        if self.degree < 0:
            raise UsageError(f"--degree must be >= 0, got {self.degree}")
        if self.basis not in BASES:
            raise UsageError(f"unknown basis {self.basis!r}; choose one of: {', '.join(BASES)}")

    @property
    def n_params(self) -> int:
        return self.degree + 1

    @property
    def param_names(self) -> list[str]:
        return [f"c{k}" for k in range(self.n_params)]

    @property
    def reference_degree(self) -> int:
        """Degree of the least-squares polynomial this model can at best equal."""
        return self.degree

    def prepare(self, x: Any, backend: Backend, seed: int = 0) -> Cache:
        """The non-constant basis functions on the data, computed once per fit.

        Monomials are computed on the backend as ``x ** k``, exactly as the article does (it
        recomputes them every step; same numbers, higher cost). Legendre and Chebyshev
        values come from ``numpy.polynomial``'s Vandermonde matrices, in float64.
        """
        if self.basis == "monomial":
            feats = [x if k == 1 else x**k for k in range(1, self.degree + 1)]
        else:
            xs = backend.to_numpy(x).astype(np.float64)
            V = _vander(self, xs)
            feats = [backend.asarray(np.ascontiguousarray(V[:, k])) for k in range(1, V.shape[1])]
        return Cache(backend.xp, backend.name == "torch", feats)

    def forward(self, w: Any, cache: Cache) -> Any:
        """Predictions ``w_0 + w_1 B_1 + ...``, summed left to right as the article does."""
        y_pred = w[0]
        for k, f in enumerate(cache.feats, start=1):
            y_pred = y_pred + w[k] * f
        return y_pred

    def grad(self, w: Any, cache: Cache, grad_y_pred: Any) -> Any:
        """``dL/dw_k = sum(dL/dy_pred * B_k)``: the article's ``grad_a .. grad_d``."""
        xp = cache.xp
        parts = [xp.sum(grad_y_pred)]
        parts.extend(xp.sum(grad_y_pred * f) for f in cache.feats)
        return xp.stack(parts)

    def jacobian(self, w: Any, cache: Cache) -> Any:
        """``d y_pred / d w``, an (N, p) backend array: the columns ``1, B_1, ..., B_n`` (the
        design matrix: the predictions are linear in w). Degree 0 keeps no basis function, so
        its Jacobian is the one row ``[[1]]``, the same at every point."""
        xp = cache.xp
        if not cache.feats:
            return xp.ones((1, 1), dtype=xp.float64)
        return xp.stack([xp.ones_like(cache.feats[0]), *cache.feats], axis=1)

    def design(self, x: Any) -> np.ndarray:
        """The design matrix ``X`` (float64) with ``y_pred = X @ w``: the basis's Vandermonde."""
        xs = np.asarray(x, dtype=np.float64)
        if self.basis == "monomial":
            return np.polynomial.polynomial.polyvander(xs, self.degree)
        return _vander(self, xs)

    def to_monomial(self, params: np.ndarray) -> np.ndarray:
        """Coefficients of the same polynomial in powers of x, lowest first."""
        params = np.asarray(params, dtype=np.float64)
        if self.basis == "monomial":
            return params.copy()
        out = np.zeros(self.n_params)
        conv = legendre.leg2poly if self.basis == "legendre" else chebyshev.cheb2poly
        mono = conv(params)
        out[: mono.size] = mono
        return out

    def format(self, params: np.ndarray) -> str:
        """The article's ``y = a + b x + c x^2 + d x^3``, or ``y = c0 + c1 P1(x) + ...``."""
        if self.basis == "monomial":
            return format_polynomial(params)
        sym = _BASIS_SYMBOL[self.basis]
        terms = [
            f"{c}" if k == 0 else f"{c} {sym}{k}(x)"
            for k, c in enumerate(np.asarray(params, dtype=np.float64).tolist())
        ]
        return "y = " + " + ".join(terms)

    def describe(self) -> str:
        basis = "" if self.basis == "monomial" else f", {self.basis} basis"
        return f"polynomial of degree {self.degree}{basis}"


def _vander(model: Polynomial, xs: np.ndarray) -> np.ndarray:
    fn = legendre.legvander if model.basis == "legendre" else chebyshev.chebvander
    return fn(xs, model.degree)
