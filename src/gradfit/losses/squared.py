"""The article's loss: the sum of squared errors, ``L = sum((y_pred - y)^2)``.

Its gradient is the article's ``grad_y_pred = 2.0 * (y_pred - y)``; the nn method uses the
tutorial's ``nn.MSELoss(reduction='sum')``. The same arithmetic, in the same order, as the
article's lines, so the printed losses stay bit for bit the article's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .base import register


@register
@dataclass(frozen=True)
class SquaredSum:
    """Sum of squared errors (the default)."""

    n: int = 0  # rows (unused: a sum does not depend on how many there are)

    name: ClassVar[str] = "squared"
    description: ClassVar[str] = "sum of squared errors, the article's (default)"
    order: ClassVar[int] = 0

    @property
    def factor(self) -> float:
        return 1.0

    def value(self, residual: Any) -> Any:
        return (residual * residual).sum()

    def grad(self, residual: Any) -> Any:
        return 2.0 * residual

    def torch_module(self) -> Any:
        from torch import nn

        return nn.MSELoss(reduction="sum")
