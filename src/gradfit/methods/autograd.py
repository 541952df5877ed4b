"""autograd: PyTorch computes the gradient. ``loss.backward()`` on a leaf tensor of parameters.

The forward pass and the loss are the model's and the loss's own (the same code the manual
method uses); only the backward pass changes hands. Parameters move with ``torch.optim``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backends import Backend
from ..data import Problem
from ..losses import NO_PENALTY, SQUARED, Loss, Penalty
from ..models import evaluation
from ..optim import OptimizerSpec
from .torch_base import TorchMethod


class AutogradMethod(TorchMethod):
    """Gradient by ``loss.backward()``; update by ``torch.optim`` (plain SGD: the tutorial's)."""

    name = "autograd"

    def __init__(
        self,
        model: Any,
        problem: Problem,
        backend: Backend,
        spec: OptimizerSpec,
        init: np.ndarray,
        seed: int = 0,
        loss: Loss = SQUARED,
        penalty: Penalty = NO_PENALTY,
    ) -> None:
        self._setup(model, problem, backend, seed, penalty)
        self.objective = loss
        self.w = backend.asarray(np.array(init, dtype=np.float64)).requires_grad_(True)
        self._start([self.w], spec)

    def _forward_loss(self) -> Any:
        # unbind: one view per weight in one op (and one op back), cheaper than w[k] each
        residual = self.model.forward(self.w.unbind(0), self.cache) - self.y
        return self.objective.value(self._weighted(residual))

    def _reduced(self, loss: Any, need_loss: bool) -> Any:
        if self.reduce is not None:  # one all_reduce of the gradient and the loss
            self.w.grad, loss = self.reduce(self.w.grad, loss.detach())
        return loss

    def _param_state(self) -> Any:
        return self.w.detach()

    def _load_param_state(self, state: Any) -> None:
        import torch

        with torch.no_grad():
            self.w.copy_(state)

    def loss(self) -> Any:
        import torch

        with torch.no_grad(), evaluation(self.cache):
            residual = self._weighted(self.model.forward(self.w, self.cache) - self.y)
            if self.penalty:
                return self.objective.value(residual) + self._penalty()
            return self.objective.value(residual)

    def params(self) -> np.ndarray:
        return self.backend.to_numpy(self.w).astype(np.float64)
