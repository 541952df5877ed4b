"""The torch methods' optimizers: ``torch.optim`` itself, and the tutorial's plain SGD.

torch is imported only when one of these is built (a torch run).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .spec import OptimizerSpec


class TutorialSGD:
    """Plain gradient descent on torch parameters, written as the PyTorch tutorial writes it::

        with torch.no_grad():
            p -= learning_rate * p.grad

    The formula of ``torch.optim.SGD`` without momentum, without its per-call machinery, which
    costs about 45 us a step on a CPU - more than the arithmetic of the article's whole problem.
    Same interface as a ``torch.optim`` optimizer for what the torch methods use.
    """

    def __init__(self, params: Sequence[Any], lr: float) -> None:
        self.params = list(params)
        self.lr = lr

    def zero_grad(self) -> None:
        """Drop the gradients, as ``torch.optim``'s ``zero_grad()`` (set to None)."""
        for p in self.params:
            p.grad = None

    def step(self, closure: Any = None) -> Any:
        """``p -= lr * p.grad`` for every parameter with a gradient; the closure's loss."""
        import torch

        loss = closure() if closure is not None else None
        with torch.no_grad():
            for p in self.params:
                if p.grad is not None:
                    p -= self.lr * p.grad
        return loss

    def state_dict(self) -> dict[str, Any]:
        """Plain SGD keeps no state."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Nothing to load (see :meth:`state_dict`)."""
        return None


def make_torch_optimizer(spec: OptimizerSpec, params: Sequence[Any]) -> Any:
    """The optimizer the torch methods use: ``torch.optim``'s for ``spec`` over ``params``,
    except plain SGD, which is the tutorial's hand-written update (:class:`TutorialSGD`)."""
    import torch

    params = list(params)
    if spec.name == "sgd" and not spec.effective_momentum:
        return TutorialSGD(params, spec.lr)
    if spec.name in ("sgd", "momentum", "nesterov"):
        return torch.optim.SGD(
            params, lr=spec.lr, momentum=spec.effective_momentum, nesterov=spec.name == "nesterov"
        )
    if spec.name == "rmsprop":
        return torch.optim.RMSprop(
            params, lr=spec.lr, alpha=spec.alpha, eps=spec.eps, momentum=spec.effective_momentum
        )
    if spec.name == "adam":
        return torch.optim.Adam(params, lr=spec.lr, betas=spec.betas, eps=spec.eps)
    # With a strong-Wolfe line search, as quasi-Newton methods are meant to run: without one,
    # torch's L-BFGS takes fixed steps of lr along its direction and wanders off on badly
    # scaled problems (a formula's parameters 1e7 apart).
    return torch.optim.LBFGS(params, lr=spec.lr, line_search_fn="strong_wolfe")
