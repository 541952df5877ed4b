"""What every loss is: the :class:`Loss` protocol, and the registry ``--loss`` chooses from.

A loss turns the residuals ``r = y_pred - y`` into one number and gives its gradient with
respect to the predictions, ``dL/dy_pred``; the model's hand-derived gradient (the manual
method) carries that on to the parameters, and torch's autograd differentiates ``value``
itself. A loss that is a multiple of the sum of squares, ``L = factor * |r|^2``, says so with
``factor``: then everything gradfit knows about least squares applies to it, scaled - the
sufficient statistics of the gram method, the exact curvature behind ``--lr auto`` and
``explain``, the closed-form optimum, the divergence guard's bound.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

REGISTRY: dict[str, Any] = {}  # --loss name -> loss class


def register(cls: Any) -> Any:
    """Class decorator: make ``cls`` available as ``--loss cls.name``."""
    REGISTRY[cls.name] = cls
    return cls


class Loss(Protocol):
    """The loss of a fit over ``n`` rows (all the ranks' rows in a distributed run)."""

    name: ClassVar[str]  # the --loss name
    description: ClassVar[str]  # one line for --help

    @property
    def factor(self) -> float | None:
        """``L = factor * sum(r^2)``: a scaled sum of squares (None: not one)."""
        ...

    def value(self, residual: Any) -> Any:
        """The loss of ``residual`` (NumPy or torch; differentiable by torch's autograd)."""
        ...

    def grad(self, residual: Any) -> Any:
        """``dL/dy_pred`` at each point: where the chain rule of the manual method starts."""
        ...

    def torch_module(self) -> Any:
        """The loss as a ``torch.nn`` module of ``(y_pred, y)``, for the nn method."""
        ...


def loss_module(loss: Any) -> Any:
    """``loss`` as a ``torch.nn`` module of ``(y_pred, y)``: ``loss.value(y_pred - y)``, for
    the nn method of a loss torch.nn has no module for."""
    from torch import nn

    class LossModule(nn.Module):
        def forward(self, y_pred: Any, y: Any) -> Any:
            return loss.value(y_pred - y)

    return LossModule()
