"""The mean squared error, ``L = sum((y_pred - y)^2) / n``: ``nn.MSELoss()``'s default.

It is the article's loss divided by the number of points, so every exact result for least
squares carries over scaled by ``1 / n`` (``factor``): the same optimum, a curvature n times
smaller, hence learning rates n times larger for the same path. Handy when the number of
points changes (a rate tuned on 2000 points stays sound on 10^8).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .base import register


@register
@dataclass(frozen=True)
class MeanSquared:
    """Mean of the squared errors over all ``n`` rows of the fit."""

    n: int = 1

    name: ClassVar[str] = "mean"
    description: ClassVar[str] = "mean squared error: the sum divided by the number of points"
    order: ClassVar[int] = 1

    @property
    def factor(self) -> float:
        return 1.0 / max(self.n, 1)

    def value(self, residual: Any) -> Any:
        return self.factor * (residual * residual).sum()

    def grad(self, residual: Any) -> Any:
        return (2.0 * self.factor) * residual

    def torch_module(self) -> Any:
        from torch import nn

        return nn.MSELoss(reduction="mean")
