"""Optimizers for the array-API path: how parameters move once the gradient is known.

Each optimizer is a small object with ``init(w) -> state`` and ``step(w, grad, state) -> w``
(in the spirit of optax), updating ``w`` in place on its backend. Their formulas follow
``torch.optim`` exactly, so NumPy and PyTorch runs give the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .errors import UsageError

OPTIMIZERS = ("sgd",)


@dataclass(frozen=True)
class SGD:
    """Plain gradient descent, the article's ``a -= learning_rate * grad_a``."""

    lr: float

    def init(self, w: Any) -> dict[str, Any]:
        return {}

    def step(self, w: Any, grad: Any, state: dict[str, Any]) -> Any:
        w -= self.lr * grad
        return w


def check_lr(lr: Any) -> float:
    try:
        value = float(lr)
    except (TypeError, ValueError):
        raise UsageError(f"--lr must be a number, got {lr!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"--lr must be a positive finite number, got {lr!r}")
    return value


def make_optimizer(name: str, lr: float) -> SGD:
    """Build the optimizer called ``name``. Only ``sgd`` exists so far."""
    if name != "sgd":
        raise UsageError(f"unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}")
    return SGD(check_lr(lr))
