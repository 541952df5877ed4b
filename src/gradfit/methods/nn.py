"""nn and module: the model as a ``torch.nn.Module``, ``nn.MSELoss(reduction='sum')`` as the
loss, and ``torch.optim`` to move the parameters - the PyTorch tutorial's last rungs.

- ``nn``: for polynomials, ``nn.Sequential(nn.Linear(n, 1), nn.Flatten(0, 1))`` on the matrix
  of basis functions (bias = c0, weights = c1..cn), as the tutorial writes it;
- ``module``: a custom ``nn.Module`` holding one ``nn.Parameter`` per weight, whose ``forward``
  is the model's own. Models without a linear-layer form (``legendre3``, ``dynamic``) use it
  for ``nn`` too.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np
import torch
from torch import nn

from ..backends import Backend
from ..models import evaluation
from ..optim import OptimizerSpec, make_torch_optimizer
from ..problem import Problem


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


class NNMethod:
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
    ) -> None:
        self.name = name
        self.backend = backend
        self.y = problem.y
        cache = model.prepare(problem.x, backend, seed)
        self._rng = cache.rng
        self._cache = cache
        w0 = backend.asarray(np.array(init, dtype=np.float64))
        if name == "nn" and model.kind == "poly":
            n = len(cache.feats)
            feats = (
                torch.stack(cache.feats, dim=-1) if n else problem.x.new_empty((len(problem), 0))
            )
            self.module: Any = LinearModule(feats, w0)
        else:
            self.module = ModelModule(model, cache, w0)
        self.loss_fn = nn.MSELoss(reduction="sum")
        # What computes the predictions: the module itself, or (distributed) the module wrapped
        # in DistributedDataParallel, which sums the gradients over the ranks.
        self.net: Any = self.module
        self.reduce: Any = None  # distributed: sums the loss over the ranks, when it is read
        self._params = list(self.module.parameters())
        self.optimizer = make_torch_optimizer(spec, self._params)
        self._lbfgs = spec.name == "lbfgs"

    def _closure(self, need_loss: bool = True) -> torch.Tensor:
        for p in self._params:  # what optimizer.zero_grad() does, without its overhead
            p.grad = None
        loss = self.loss_fn(self.net(), self.y)
        loss.backward()
        if self.reduce is not None and need_loss:
            _, loss = self.reduce(None, loss.detach())
        return loss

    def step(self, need_loss: bool) -> Any | None:
        if self._lbfgs:  # evaluates the closure several times; returns the first loss
            return self.optimizer.step(self._closure).detach()
        loss = self._closure(need_loss)
        self.optimizer.step()
        return loss.detach() if need_loss else None

    def snapshot(self) -> Any:
        rng = self._rng.getstate() if self._rng is not None else None
        return copy.deepcopy((self.module.state_dict(), self.optimizer.state_dict(), rng))

    def restore(self, snap: Any) -> None:
        params, opt, rng = copy.deepcopy(snap)
        self.module.load_state_dict(params)
        self.optimizer.load_state_dict(opt)
        if rng is not None:
            self._rng.setstate(rng)

    def select(self, rows: Any) -> None:
        """Use only data rows ``rows`` (None: all) for the next steps (mini-batches)."""
        if not hasattr(self, "_all"):
            features = getattr(self.module, "features", None)
            self._all = (self._cache.feats, self.y, features)
        feats, y, features = self._all
        self._cache.feats = feats if rows is None else [f[rows] for f in feats]
        self.y = y if rows is None else y[rows]
        if features is not None:
            self.module.features = features if rows is None else features[rows]

    def loss(self) -> Any:
        with torch.no_grad(), evaluation(self._cache):
            return self.loss_fn(self.module(), self.y)

    def params(self) -> np.ndarray:
        return self.backend.to_numpy(self.module.vector()).astype(np.float64)
