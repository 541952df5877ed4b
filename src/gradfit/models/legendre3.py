"""The PyTorch tutorial's ``y = a + b * P3(c + d x)``: a model not linear in its parameters,
whose P3 is a custom autograd Function on torch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.polynomial import legendre

from ..backends import Backend
from .base import Cache, register


@register
@dataclass(frozen=True)
class Legendre3:
    """``y = a + b * P3(c + d x)`` with ``P3(z) = (5 z^3 - 3 z) / 2`` (the PyTorch tutorial).

    On torch, ``P3`` is a custom ``torch.autograd.Function`` with a hand-written backward
    (:class:`gradfit.models._p3_function.LegendreP3`); the manual method uses the chain rule
    by hand: ``dP3/dz = 3 (5 z^2 - 1) / 2``.
    """

    kind: ClassVar[str] = "legendre3"
    description: ClassVar[str] = "y = a + b * P3(c + d x), P3 the Legendre polynomial of degree 3"
    order: ClassVar[int] = 1
    linear: ClassVar[bool] = False
    degree = 3
    n_params = 4
    param_names = ("a", "b", "c", "d")
    default_lr: ClassVar[float] = 5e-6
    default_init: ClassVar[tuple[float, ...] | None] = (0.0, -1.0, 0.0, 0.3)
    reference_degree = 3

    @classmethod
    def from_options(cls, degree: int, basis: str) -> Legendre3:
        return cls()

    def prepare(self, x: Any, backend: Backend, seed: int = 0) -> Cache:
        return Cache(backend.xp, backend.name == "torch", [x])

    def forward(self, w: Any, cache: Cache) -> Any:
        z = w[2] + w[3] * cache.feats[0]
        cache.last = z
        if cache.is_torch:
            from ._p3_function import LegendreP3

            p3 = LegendreP3.apply(z)
        else:
            p3 = 0.5 * (5 * z**3 - 3 * z)
        return w[0] + w[1] * p3

    def grad(self, w: Any, cache: Cache, grad_y_pred: Any) -> Any:
        """Chain rule: da = sum(g), db = sum(g P3(z)), dc = sum(g b P3'(z)), dd = dc with x."""
        xp, x, z = cache.xp, cache.feats[0], cache.last
        p3 = 0.5 * (5 * z**3 - 3 * z)
        g_z = grad_y_pred * w[1] * (1.5 * (5 * z**2 - 1))
        return xp.stack(
            [xp.sum(grad_y_pred), xp.sum(grad_y_pred * p3), xp.sum(g_z), xp.sum(g_z * x)]
        )

    def jacobian(self, w: Any, cache: Cache) -> Any:
        """``d y_pred / d w`` at each point, (N, 4): ``1, P3(z), b P3'(z), b P3'(z) x`` with
        ``z = c + d x`` (the chain rule of :meth:`grad`, one column per parameter)."""
        xp, x = cache.xp, cache.feats[0]
        z = w[2] + w[3] * x
        p3 = 0.5 * (5 * z**3 - 3 * z)
        dz = w[1] * (1.5 * (5 * z**2 - 1))
        return xp.stack([xp.ones_like(x), p3, dz, dz * x], axis=1)

    def to_monomial(self, params: np.ndarray) -> np.ndarray:
        """Expand ``a + b P3(c + d x)`` into powers of x with numpy.polynomial."""
        a, b, c, d = np.asarray(params, dtype=np.float64).tolist()
        p3 = np.polynomial.Polynomial(legendre.leg2poly([0, 0, 0, 1]))
        expanded = a + b * p3(np.polynomial.Polynomial([c, d]))
        out = np.zeros(4)
        out[: expanded.coef.size] = expanded.coef
        return out

    def format(self, params: np.ndarray) -> str:
        a, b, c, d = np.asarray(params, dtype=np.float64).tolist()
        return f"y = {a} + {b} * P3({c} + {d} x)"

    def describe(self) -> str:
        return "a + b * P3(c + d x), Legendre P3"
