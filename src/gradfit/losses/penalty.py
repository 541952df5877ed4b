"""Penalties on the parameters (``--l2 ALPHA``, ``--l1 ALPHA``), added to the loss.

``P(w) = l2 * sum(w^2) + l1 * sum(|w|)`` over the parameters *as trained*: every one of them,
the constant term included, in the variable the model is trained on. For a scaled fit
(``--scale``, and data files by default) those are the coefficients in ``t`` (x mapped to
[-1, 1]), as scikit-learn's ``Ridge`` penalises the coefficients of scaled features (unlike
``Ridge``, the intercept is penalised too). Its gradient is ``2 l2 w + l1 sign(w)`` (``sign(0)``
= 0, a subgradient of ``|w|``, as torch's autograd takes it).

``--l2`` keeps the loss a quadratic for least squares (ridge regression): the gram method, the
closed-form optimum and ``--lr auto`` handle it exactly (the Hessian gains ``2 l2`` on its
diagonal). ``--l1`` (the lasso) is not smooth at 0: it pushes useless parameters to (about) 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Penalty:
    """``l2 * sum(w^2) + l1 * sum(|w|)`` (both >= 0; both 0: no penalty)."""

    l2: float = 0.0
    l1: float = 0.0

    def __bool__(self) -> bool:
        return self.l2 != 0.0 or self.l1 != 0.0

    def value(self, w: Any) -> Any:
        """The penalty of the parameter vector ``w`` (NumPy or torch; differentiable)."""
        total = 0.0
        if self.l2:
            total = self.l2 * (w * w).sum()
        if self.l1:
            total = total + self.l1 * abs(w).sum()
        return total

    def grad(self, w: Any) -> Any:
        """``dP/dw``: ``2 l2 w + l1 sign(w)``."""
        from ..backends import namespace

        out = (2.0 * self.l2) * w
        if self.l1:
            out = out + self.l1 * namespace(w).sign(w)
        return out

    def describe(self) -> str:
        """'l2 0.1, l1 0' for messages."""
        return f"l2 {self.l2:g}, l1 {self.l1:g}"


NO_PENALTY = Penalty()
