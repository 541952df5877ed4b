"""The article's method: the gradient derived by hand, on any backend.

Forward, loss and backward are the article's lines, generalised to the model's parameters::

    y_pred = a + b * x + c * x ** 2 + d * x ** 3     # model.forward
    loss = (y_pred - y).pow(2).sum()                  # only on logged steps
    grad_y_pred = 2.0 * (y_pred - y)
    grad_a = grad_y_pred.sum(); grad_b = (grad_y_pred * x).sum(); ...   # model.grad
"""

from __future__ import annotations

from typing import Any

from ..backends import Backend
from ..problem import Problem


class ManualMethod:
    """Sum of squared errors with the model's hand-derived gradient."""

    name = "manual"

    def __init__(self, model: Any, problem: Problem, backend: Backend) -> None:
        self.model = model
        self.xp = backend.xp
        self.y = problem.y
        self.feats = model.features(problem.x)

    def loss_and_grad(self, w: Any, need_loss: bool = True) -> tuple[Any | None, Any]:
        """The loss (when asked: it costs a reduction) and the gradient at ``w``."""
        residual = self.model.forward(w, self.feats) - self.y
        loss = self.xp.sum(residual * residual) if need_loss else None
        grad = self.model.grad(w, self.feats, 2.0 * residual, self.xp)
        return loss, grad

    def loss(self, w: Any) -> Any:
        """The loss at ``w`` as a 0-d array on the backend."""
        residual = self.model.forward(w, self.feats) - self.y
        return self.xp.sum(residual * residual)
