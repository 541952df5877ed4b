"""Optimizers: how parameters move once the gradient is known.

:class:`OptimizerSpec` names an optimizer and its hyper-parameters. It builds either

- a gradfit optimizer for the array-API path (``make_array_optimizer``), used by the manual
  method on NumPy and PyTorch alike: small objects with ``init(w) -> state`` and
  ``step(w, grad, state)`` updating ``w`` in place (in the spirit of optax), whose formulas are
  ``torch.optim``'s, term for term, so the two give the same numbers; or
- the ``torch.optim`` optimizer itself (``make_torch_optimizer``), used by the torch methods.

Plain SGD is written ``w -= lr * grad``, the article's update, so the article's run stays
bit-for-bit identical to its script.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import UsageError

OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam", "lbfgs")
DESCRIPTIONS = {
    "sgd": "plain gradient descent, w -= lr * grad (the article)",
    "momentum": "SGD with heavy-ball momentum (torch.optim.SGD(momentum=...))",
    "nesterov": "SGD with Nesterov momentum (torch.optim.SGD(nesterov=True))",
    "rmsprop": "RMSprop: steps scaled by a running RMS of the gradient",
    "adam": "Adam: momentum plus per-parameter RMS scaling, bias-corrected",
    "lbfgs": "L-BFGS quasi-Newton with torch.optim.LBFGS (torch backend only)",
}


@dataclass(frozen=True)
class OptimizerSpec:
    """An optimizer by name with torch.optim's hyper-parameters (and its defaults).

    ``momentum`` applies to momentum/nesterov (default 0.9) and rmsprop (default 0);
    ``alpha`` is RMSprop's smoothing constant; ``betas`` and ``eps`` are Adam's (eps: RMSprop's
    too).
    """

    name: str = "sgd"
    lr: float = 1e-6
    momentum: float | None = None
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    alpha: float = 0.99

    def validated(self) -> OptimizerSpec:
        if self.name not in OPTIMIZERS:
            raise UsageError(
                f"unknown optimizer {self.name!r}; choose one of: {', '.join(OPTIMIZERS)}"
            )
        check_lr(self.lr)
        if self.momentum is not None and not 0 <= self.momentum < 1:
            raise UsageError(f"--momentum must be in [0, 1), got {self.momentum}")
        b1, b2 = self.betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise UsageError(f"--betas must both be in [0, 1), got {b1} {b2}")
        if not (self.eps > 0 and math.isfinite(self.eps)):
            raise UsageError(f"--eps must be positive, got {self.eps}")
        if not 0 <= self.alpha < 1:
            raise UsageError(f"--alpha must be in [0, 1), got {self.alpha}")
        return self

    @property
    def effective_momentum(self) -> float:
        if self.momentum is not None:
            return self.momentum
        return 0.9 if self.name in ("momentum", "nesterov") else 0.0

    def hyperparameters(self) -> dict[str, Any]:
        """The hyper-parameters that matter for this optimizer, for reports."""
        hp: dict[str, Any] = {"lr": self.lr}
        if self.name in ("momentum", "nesterov", "rmsprop"):
            hp["momentum"] = self.effective_momentum
        if self.name == "rmsprop":
            hp.update(alpha=self.alpha, eps=self.eps)
        if self.name == "adam":
            hp.update(betas=list(self.betas), eps=self.eps)
        return hp


def check_lr(lr: Any) -> float:
    try:
        value = float(lr)
    except (TypeError, ValueError):
        raise UsageError(f"--lr must be a number, got {lr!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"--lr must be a positive finite number, got {lr!r}")
    return value


# --- the array-API optimizers (NumPy or torch tensors, updated in place) -------------------


@dataclass(frozen=True)
class SGD:
    """Gradient descent, optionally with (Nesterov) momentum; torch.optim.SGD's formulas.

    With momentum ``mu``: ``b = g`` on the first step, then ``b = mu * b + g``; the step uses
    ``b`` (heavy ball) or ``g + mu * b`` (Nesterov). Without momentum: ``w -= lr * g``.
    """

    lr: float
    momentum: float = 0.0
    nesterov: bool = False

    def init(self, w: Any) -> dict[str, Any]:
        return {"buf": None}

    def step(self, w: Any, grad: Any, state: dict[str, Any]) -> Any:
        if self.momentum:
            buf = state["buf"]
            if buf is None:
                buf = state["buf"] = grad * 1.0  # a copy, as torch's clone()
            else:
                buf *= self.momentum
                buf += grad
            grad = grad + self.momentum * buf if self.nesterov else buf
        w -= self.lr * grad
        return w


@dataclass(frozen=True)
class RMSprop:
    """torch.optim.RMSprop (not centered): ``v = alpha v + (1 - alpha) g^2``,
    ``w -= lr g / (sqrt(v) + eps)``, with optional momentum on that step."""

    lr: float
    alpha: float = 0.99
    eps: float = 1e-8
    momentum: float = 0.0

    def init(self, w: Any) -> dict[str, Any]:
        return {"xp": _namespace(w), "square_avg": w * 0.0, "buf": w * 0.0}

    def step(self, w: Any, grad: Any, state: dict[str, Any]) -> Any:
        xp = state["xp"]
        sq = state["square_avg"]
        sq *= self.alpha
        sq += (1 - self.alpha) * (grad * grad)
        avg = xp.sqrt(sq) + self.eps
        if self.momentum:
            buf = state["buf"]
            buf *= self.momentum
            buf += grad / avg
            w -= self.lr * buf
        else:
            w -= self.lr * (grad / avg)
        return w


@dataclass(frozen=True)
class Adam:
    """torch.optim.Adam: bias-corrected first and second moments.

    ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2``,
    ``w -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``.
    """

    lr: float
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8

    def init(self, w: Any) -> dict[str, Any]:
        return {"xp": _namespace(w), "step": 0, "m": w * 0.0, "v": w * 0.0}

    def step(self, w: Any, grad: Any, state: dict[str, Any]) -> Any:
        xp = state["xp"]
        b1, b2 = self.betas
        state["step"] += 1
        t = state["step"]
        m, v = state["m"], state["v"]
        m += (1 - b1) * (grad - m)  # torch: exp_avg.lerp_(grad, 1 - beta1)
        v *= b2
        v += (1 - b2) * (grad * grad)
        step_size = self.lr / (1 - b1**t)
        denom = xp.sqrt(v) / math.sqrt(1 - b2**t) + self.eps
        w -= step_size * (m / denom)
        return w


def make_array_optimizer(spec: OptimizerSpec) -> SGD | RMSprop | Adam:
    """gradfit's own optimizer for ``spec`` (NumPy or torch arrays). No L-BFGS here."""
    if spec.name == "sgd":
        return SGD(spec.lr, spec.effective_momentum) if spec.momentum else SGD(spec.lr)
    if spec.name in ("momentum", "nesterov"):
        return SGD(spec.lr, spec.effective_momentum, nesterov=spec.name == "nesterov")
    if spec.name == "rmsprop":
        return RMSprop(spec.lr, spec.alpha, spec.eps, spec.effective_momentum)
    if spec.name == "adam":
        return Adam(spec.lr, spec.betas, spec.eps)
    raise UsageError(
        "the lbfgs optimizer is not available on the numpy backend (it is torch.optim.LBFGS); "
        "use --backend torch"
    )


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
        for p in self.params:
            p.grad = None

    def step(self, closure: Any = None) -> Any:
        import torch

        loss = closure() if closure is not None else None
        with torch.no_grad():
            for p in self.params:
                if p.grad is not None:
                    p -= self.lr * p.grad
        return loss

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
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
    return torch.optim.LBFGS(params, lr=spec.lr)


def _namespace(a: Any) -> Any:
    from array_api_compat import array_namespace

    return array_namespace(a)
