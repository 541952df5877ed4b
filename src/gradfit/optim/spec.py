"""Which optimizer, with which hyper-parameters: :class:`OptimizerSpec`, validated at the edge.

A spec is plain data (a name and torch.optim's hyper-parameters); what runs it is built from it:
:func:`gradfit.optim.make_array_optimizer` (gradfit's pure optimizers, NumPy or torch arrays)
or :func:`gradfit.optim.make_torch_optimizer` (torch.optim, for the torch methods).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError

OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam", "lbfgs", "lm", "gauss-newton")
DESCRIPTIONS = {
    "sgd": "plain gradient descent, w -= lr * grad (the article)",
    "momentum": "SGD with heavy-ball momentum (torch.optim.SGD(momentum=...))",
    "nesterov": "SGD with Nesterov momentum (torch.optim.SGD(nesterov=True))",
    "rmsprop": "RMSprop: steps scaled by a running RMS of the gradient",
    "adam": "Adam: momentum plus per-parameter RMS scaling, bias-corrected",
    "lbfgs": "L-BFGS quasi-Newton with torch.optim.LBFGS (torch backend only)",
    "lm": "Levenberg-Marquardt: Gauss-Newton steps from the Jacobian, damped toward gradient "
    "descent; stops when converged (--steps is the maximum; no --lr)",
    "gauss-newton": "undamped Gauss-Newton steps: solve the linearised least squares each step "
    "(fast near a solution, may diverge far from one)",
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
    # --precondition: u = w / scales is what moves (see gradfit.optim.pure.Preconditioned)
    scales: tuple[float, ...] | None = None

    def validated(self) -> OptimizerSpec:
        """This spec, checked: a one-line :class:`UsageError` for the first bad value."""
        if self.name not in OPTIMIZERS:
            raise UsageError(
                f"unknown optimizer {self.name!r}; choose one of: {', '.join(OPTIMIZERS)}"
            )
        check_lr(self.lr)
        momentum = None if self.momentum is None else _real(self.momentum, "--momentum")
        if momentum is not None and not 0 <= momentum < 1:
            raise UsageError(f"--momentum must be in [0, 1), got {self.momentum}")
        try:
            b1, b2 = (_real(b, "--betas") for b in self.betas)
        except (TypeError, ValueError):
            raise UsageError(f"--betas needs two numbers, got {self.betas!r}") from None
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise UsageError(f"--betas must both be in [0, 1), got {b1} {b2}")
        eps, alpha = _real(self.eps, "--eps"), _real(self.alpha, "--alpha")
        if not (eps > 0 and math.isfinite(eps)):
            raise UsageError(f"--eps must be positive, got {self.eps}")
        if not 0 <= alpha < 1:
            raise UsageError(f"--alpha must be in [0, 1), got {self.alpha}")
        return self

    @property
    def effective_momentum(self) -> float:
        """The momentum that runs: the given one, else 0.9 for momentum/nesterov, else 0."""
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
        if self.scales is not None:
            hp["precondition"] = [float(s) for s in self.scales]
        return hp


def _real(value: Any, option: str) -> float:
    """A hyper-parameter as a float: a real number, not a string, a list or a bool (a crafted
    checkpoint may hold any of those)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UsageError(f"{option} must be a number, got {value!r}"[:200])
    return float(value)


def check_lr(lr: Any) -> float:
    """``lr`` as a positive finite float, or a one-line :class:`UsageError` saying why not."""
    try:
        value = float(lr)
    except (TypeError, ValueError):
        raise UsageError(f"--lr must be a number, got {lr!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"--lr must be a positive finite number, got {lr!r}")
    return value
