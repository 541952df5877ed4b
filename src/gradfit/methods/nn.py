"""nn and module: the model as a ``torch.nn.Module``, ``nn.MSELoss(reduction='sum')`` as the
loss, and ``torch.optim`` to move the parameters - the PyTorch tutorial's last rungs.

- ``nn``: for polynomials, ``nn.Sequential(nn.Linear(n, 1), nn.Flatten(0, 1))`` on the matrix
  of basis functions (bias = c0, weights = c1..cn), as the tutorial writes it;
- ``module``: a custom ``nn.Module`` holding one ``nn.Parameter`` per weight, whose ``forward``
  is the model's own. Models without a linear-layer form (``legendre3``, ``dynamic``) use it
  for ``nn`` too.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from torch import nn

from ..backends import Backend
from ..data import Problem
from ..losses import NO_PENALTY, SQUARED, Loss, Penalty
from ..models import evaluation
from ..optim import OptimizerSpec
from .torch_base import TorchMethod


class ModelModule(nn.Module):
    """A custom ``nn.Module``: one 0-d ``nn.Parameter`` per model weight, forward = the model's."""

    def __init__(self, model: Any, cache: Any, init: torch.Tensor) -> None:
        super().__init__()
        self.model = model
        self.cache = cache
        self.weights = nn.ParameterList(nn.Parameter(v.clone()) for v in init)

    def forward(self) -> torch.Tensor:
        return self.model.forward(self.weights, self.cache)

    def vector(self) -> torch.Tensor:
        return torch.stack([p.detach() for p in self.weights])


class LinearModule(nn.Module):
    """The tutorial's ``nn.Sequential(nn.Linear(n, 1), nn.Flatten(0, 1))`` over the features."""

    def __init__(self, features: torch.Tensor, init: torch.Tensor) -> None:
        super().__init__()
        self.features = features
        with warnings.catch_warnings():  # degree 0: a Linear(0, 1) layer, bias only
            warnings.simplefilter("ignore", UserWarning)
            self.net = nn.Sequential(nn.Linear(features.shape[1], 1), nn.Flatten(0, 1))
        self.net.to(device=init.device, dtype=init.dtype)
        with torch.no_grad():
            self.net[0].bias.copy_(init[:1])
            self.net[0].weight.copy_(init[1:].reshape(1, -1))

    def forward(self) -> torch.Tensor:
        return self.net(self.features)

    def vector(self) -> torch.Tensor:
        linear = self.net[0]
        return torch.cat([linear.bias.detach(), linear.weight.detach().reshape(-1)])


class NNMethod(TorchMethod):
    """Loss ``nn.MSELoss(reduction='sum')`` on a module's output; ``torch.optim`` step."""

    def __init__(
        self,
        name: str,
        model: Any,
        problem: Problem,
        backend: Backend,
        spec: OptimizerSpec,
        init: np.ndarray,
        seed: int = 0,
        loss: Loss = SQUARED,
        penalty: Penalty = NO_PENALTY,
    ) -> None:
        self.name = name
        self._setup(model, problem, backend, seed, penalty)
        self._rng = self.cache.rng  # distributed.attach asks: does a pass skip a weight?
        w0 = backend.asarray(np.array(init, dtype=np.float64))
        if name == "nn" and model.kind == "poly":  # the tutorial's Linear layer
            feats = self.cache.feats
            matrix = torch.stack(feats, dim=-1) if feats else problem.x.new_empty((len(problem), 0))
            self.module: Any = LinearModule(matrix, w0)
        else:
            self.module = ModelModule(model, self.cache, w0)
        self.loss_fn = loss.torch_module()  # the article's loss: nn.MSELoss(reduction="sum")
        # What computes the predictions: the module itself, or (distributed) the module wrapped
        # in DistributedDataParallel, which sums the gradients over the ranks.
        self.net: Any = self.module
        self._start(self.module.parameters(), spec)

    def _forward_loss(self) -> Any:
        return self._loss_of(self.net())

    def _loss_of(self, y_pred: Any) -> Any:
        """The loss module on the predictions; weighted: on ``sqrt(w) y_pred`` and
        ``sqrt(w) y``, whose difference is the weighted residual."""
        if self.sw is None:
            return self.loss_fn(y_pred, self.y)
        return self.loss_fn(self.sw * y_pred, self.sw * self.y)

    def _reduced(self, loss: Any, need_loss: bool) -> Any:
        if self.reduce is not None and need_loss:  # DDP sums the gradients; the loss, here
            _, loss = self.reduce(None, loss.detach())
        return loss

    def _param_state(self) -> Any:
        return self.module.state_dict()

    def _load_param_state(self, state: Any) -> None:
        self.module.load_state_dict(state)

    def select(self, rows: Any) -> None:
        """Use only data rows ``rows`` (None: all) for the next steps (mini-batches)."""
        features = getattr(self.module, "features", None)
        if not hasattr(self, "_all_features"):
            self._all_features = features
        super().select(rows)
        if features is not None:
            full = self._all_features
            self.module.features = full if rows is None else full[rows]

    def loss(self) -> Any:
        with torch.no_grad(), evaluation(self.cache):
            if self.penalty:
                return self._loss_of(self.module()) + self._penalty()
            return self._loss_of(self.module())

    def params(self) -> np.ndarray:
        return self.backend.to_numpy(self.module.vector()).astype(np.float64)
