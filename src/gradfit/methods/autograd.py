"""autograd: PyTorch computes the gradient. ``loss.backward()`` on a leaf tensor of parameters.

The forward pass is the model's own (the same code the manual method uses); only the backward
pass changes hands. Parameters move with ``torch.optim``.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ..backends import Backend
from ..models import evaluation
from ..optim import OptimizerSpec, make_torch_optimizer
from ..problem import Problem


class AutogradMethod:
    """Gradient by ``loss.backward()``; update by ``torch.optim``."""

    name = "autograd"
    reduce: Any = None  # distributed: sums (grad, loss) over the ranks (gradfit.distributed)

    def __init__(
        self,
        model: Any,
        problem: Problem,
        backend: Backend,
        spec: OptimizerSpec,
        init: np.ndarray,
        seed: int = 0,
    ) -> None:
        self.model = model
        self.backend = backend
        self.y = problem.y
        self.cache = model.prepare(problem.x, backend, seed)
        self.w = backend.asarray(np.array(init, dtype=np.float64)).requires_grad_(True)
        self.optimizer = make_torch_optimizer(spec, [self.w])
        self._lbfgs = spec.name == "lbfgs"

    def _closure(self) -> Any:
        self.w.grad = None  # what optimizer.zero_grad() does, without its overhead
        # unbind: one view per weight in one op (and one op back), cheaper than w[k] each
        residual = self.model.forward(self.w.unbind(0), self.cache) - self.y
        loss = (residual * residual).sum()
        loss.backward()
        if self.reduce is not None:  # one all_reduce of the gradient and the loss
            self.w.grad, loss = self.reduce(self.w.grad, loss.detach())
        return loss

    def step(self, need_loss: bool) -> Any | None:
        if self._lbfgs:  # evaluates the closure several times; returns the first loss
            return self.optimizer.step(self._closure).detach()
        loss = self._closure()
        self.optimizer.step()
        return loss.detach() if need_loss else None

    def snapshot(self) -> Any:
        rng = self.cache.rng.getstate() if self.cache.rng is not None else None
        return copy.deepcopy((self.w.detach(), self.optimizer.state_dict(), rng))

    def restore(self, snap: Any) -> None:
        import torch

        w, opt, rng = copy.deepcopy(snap)
        with torch.no_grad():
            self.w.copy_(w)
        self.optimizer.load_state_dict(opt)
        if rng is not None:
            self.cache.rng.setstate(rng)

    def select(self, rows: Any) -> None:
        """Use only data rows ``rows`` (None: all) for the next steps (mini-batches)."""
        if not hasattr(self, "_all"):
            self._all = (self.cache.feats, self.y)
        feats, y = self._all
        self.cache.feats = feats if rows is None else [f[rows] for f in feats]
        self.y = y if rows is None else y[rows]

    def loss(self) -> Any:
        import torch

        with torch.no_grad(), evaluation(self.cache):
            residual = self.model.forward(self.w, self.cache) - self.y
            return (residual * residual).sum()

    def params(self) -> np.ndarray:
        return self.backend.to_numpy(self.w).astype(np.float64)
