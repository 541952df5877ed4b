"""The PyTorch tutorial's dynamic, weight-sharing net: a cubic plus ``e x^4`` and ``e x^5`` on
randomly chosen forward passes, one shared weight ``e``."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..backends import Backend
from .base import Cache, register


@register
@dataclass(frozen=True)
class Dynamic:
    """The tutorial's dynamic net: ``a + b x + c x^2 + d x^3``, then on each forward pass
    ``e x^4`` and ``e x^5`` added for ``exp in range(4, randint(4, 6))`` - zero, one or two
    extra orders, all sharing the one weight ``e``.

    The random choice comes from ``random.Random(seed)``, so a run is reproducible and every
    method (manual, autograd, nn) sees the same sequence of choices. Reported monomial
    coefficients are those of the expected prediction (``e`` times 2/3 at x^4, 1/3 at x^5).
    """

    kind: ClassVar[str] = "dynamic"
    description: ClassVar[str] = (
        "y = a + b x + c x^2 + d x^3 + e x^4 ? + e x^5 ? (random orders, one weight e)"
    )
    order: ClassVar[int] = 2
    linear: ClassVar[bool] = False  # the random orders make each pass a different model
    degree = 5
    n_params = 5
    param_names = ("a", "b", "c", "d", "e")
    default_lr: ClassVar[float] = 1e-8
    default_init: ClassVar[tuple[float, ...] | None] = None
    reference_degree = 5

    @classmethod
    def from_options(cls, degree: int, basis: str) -> Dynamic:
        return cls()

    def prepare(self, x: Any, backend: Backend, seed: int = 0) -> Cache:
        feats = [x if k == 1 else x**k for k in range(1, 6)]
        return Cache(backend.xp, backend.name == "torch", feats, rng=random.Random(seed))

    def forward(self, w: Any, cache: Cache) -> Any:
        x, x2, x3 = cache.feats[:3]
        y_pred = w[0] + w[1] * x + w[2] * x2 + w[3] * x3
        top = cache.rng.randint(4, 6)
        cache.last = top
        for exp in range(4, top):
            y_pred = y_pred + w[4] * cache.feats[exp - 1]
        return y_pred

    def grad(self, w: Any, cache: Cache, grad_y_pred: Any) -> Any:
        xp, g = cache.xp, grad_y_pred
        parts = [xp.sum(g)] + [xp.sum(g * f) for f in cache.feats[:3]]
        shared = [xp.sum(g * cache.feats[exp - 1]) for exp in range(4, cache.last)]
        e_grad = parts[0] * 0.0
        for term in shared:  # e is used once per extra order: its gradient adds up
            e_grad = e_grad + term
        return xp.stack([*parts, e_grad])

    def to_monomial(self, params: np.ndarray) -> np.ndarray:
        a, b, c, d, e = np.asarray(params, dtype=np.float64).tolist()
        return np.array([a, b, c, d, e * 2 / 3, e / 3])

    def format(self, params: np.ndarray) -> str:
        a, b, c, d, e = np.asarray(params, dtype=np.float64).tolist()
        return f"y = {a} + {b} x + {c} x^2 + {d} x^3 + {e} x^4 ? + {e} x^5 ?"

    def describe(self) -> str:
        return "dynamic net: cubic plus e x^4, e x^5 on random passes"
