"""An additive polynomial in several features, ``y = c0 + sum_j sum_p c[j, p] x_j^p``: one
polynomial per column of x, no cross terms, as scikit-learn's estimator fits it
(:class:`gradfit.sklearn.GDPolynomialRegressor`).

The library model behind the estimator's several-feature case, not a ``--model`` of the
command line (whose x is one column). Linear in its parameters, so everything exact about
least squares applies: the curvature, ``--lr auto``, the predicted path. It may have fewer rows
than coefficients, like a linear model: gradient descent then reaches one of the least-squares
solutions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..backends import Backend
from ..errors import UsageError
from .base import Cache, register
from .polynomial import Polynomial


@register
@dataclass(frozen=True)
class Additive(Polynomial):
    """``degree`` powers of each of ``features`` columns, and one intercept."""

    features: int = 1

    kind: ClassVar[str] = "additive"
    description: ClassVar[str] = "y = c0 + sum over features j of c[j, p] x_j^p (several columns)"
    order: ClassVar[int] = 3
    statistics: ClassVar[bool] = False
    listed: ClassVar[bool] = False
    needs_rows: ClassVar[bool] = False  # underdetermined fits are allowed

    @classmethod
    def from_options(cls, degree: int, basis: str, features: int = 1) -> Additive:
        if basis != "monomial":
            raise UsageError("the additive model is in powers of each feature (monomial basis)")
        return cls(degree, "monomial", features)

    @property
    def n_params(self) -> int:
        return 1 + self.features * self.degree

    @property
    def param_names(self) -> list[str]:
        names = ["c0"]
        for j in range(1, self.features + 1):
            names.extend(f"c{j}_{p}" for p in range(1, self.degree + 1))
        return names

    @property
    def reference_degree(self) -> int | None:  # type: ignore[override]
        return None  # no polynomial in one x to compare with

    def prepare(self, x: Any, backend: Backend, seed: int = 0) -> Cache:
        """The powers of every column, feature by feature: ``x_1, x_1^2, ..., x_2, ...``."""
        columns = [x[:, j] for j in range(self.features)] if len(x.shape) == 2 else [x]
        feats = [c if p == 1 else c**p for c in columns for p in range(1, self.degree + 1)]
        return Cache(backend.xp, backend.name == "torch", feats)

    def design(self, x: Any) -> np.ndarray:
        xs = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        columns = [np.ones(xs.shape[0])]
        for j in range(xs.shape[1]):
            columns.extend(xs[:, j] ** p for p in range(1, self.degree + 1))
        return np.column_stack(columns)

    def to_monomial(self, params: np.ndarray) -> np.ndarray:
        """The coefficients as fitted: intercept, then each feature's powers."""
        return np.asarray(params, dtype=np.float64).copy()

    def format(self, params: np.ndarray) -> str:
        values = np.asarray(params, dtype=np.float64).tolist()
        terms = [f"{values[0]}"]
        for j in range(self.features):
            for p in range(1, self.degree + 1):
                c = values[1 + j * self.degree + p - 1]
                terms.append(f"{c} x{j + 1}" + ("" if p == 1 else f"^{p}"))
        return "y = " + " + ".join(terms)

    def describe(self) -> str:
        return f"additive polynomial of degree {self.degree} in {self.features} features"
