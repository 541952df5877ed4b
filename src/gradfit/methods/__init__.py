"""Methods: the ways of obtaining the gradient. Each plugs into the same training loop.

A method is built from a model, a problem, an optimizer spec and initial parameters, and the
loop asks it for one thing per step: ``step(need_loss) -> loss or None`` - compute the gradient
and let the optimizer move the parameters. The loss (before the update, as the article prints
it) stays on the device; the loop reads it back only on logged steps.

========  ============================================================  ==================
method    how the gradient is obtained                                  optimizer
========  ============================================================  ==================
manual    the model's hand-derived gradient (the article)               gradfit.optim
autograd  ``loss.backward()`` on a leaf tensor of parameters             torch.optim
nn        ``torch.nn.Linear`` + ``nn.MSELoss(reduction='sum')``          torch.optim
module    a custom ``nn.Module`` with one ``nn.Parameter`` per weight    torch.optim
========  ============================================================  ==================
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from ..backends import Backend
from ..errors import UsageError
from ..optim import OptimizerSpec
from ..problem import Problem

METHODS = ("manual", "autograd", "nn", "module")
TORCH_ONLY = ("autograd", "nn", "module")
DESCRIPTIONS = {
    "manual": "hand-derived gradient, hand-written update (the article); numpy or torch",
    "autograd": "loss.backward() computes the gradient; torch.optim updates (torch)",
    "nn": "torch.nn.Linear layer + nn.MSELoss(reduction='sum') + torch.optim (torch)",
    "module": "a custom torch.nn.Module with one nn.Parameter per weight + torch.optim (torch)",
}


class Method(Protocol):
    """What the training loop needs from a method."""

    name: str

    def step(self, need_loss: bool) -> Any | None: ...

    def loss(self) -> Any: ...

    def params(self) -> np.ndarray: ...

    def snapshot(self) -> Any: ...  # the state a replay needs (device copies, no host sync)

    def restore(self, snap: Any) -> None: ...


def make_method(
    name: str,
    model: Any,
    problem: Problem,
    backend: Backend,
    spec: OptimizerSpec,
    init: np.ndarray,
    seed: int = 0,
) -> Method:
    """Build the method called ``name``, starting from parameters ``init`` (float64)."""
    if name not in METHODS:
        raise UsageError(f"unknown method {name!r}; choose one of: {', '.join(METHODS)}")
    if name in TORCH_ONLY and backend.name != "torch":
        raise UsageError(f"the {name} method needs the torch backend; use --backend torch")
    if name == "manual":
        from .manual import ManualMethod

        return ManualMethod(model, problem, backend, spec, init, seed)
    if name == "autograd":
        from .autograd import AutogradMethod

        return AutogradMethod(model, problem, backend, spec, init, seed)
    from .nn import NNMethod

    return NNMethod(name, model, problem, backend, spec, init, seed)
