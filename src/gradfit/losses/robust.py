"""Robust losses: sums that grow slower than the square for large residuals.

Convention (the same for huber, soft_l1 and cauchy): with ``c = --loss-scale`` (default 1) and
``z = r^2 / c^2``, the loss is ``L = sum c^2 rho(z)`` with the ``rho`` of
``scipy.optimize.least_squares``:

=========  ==================================  ===============================
loss       rho(z)                              dL/dr (one point)
=========  ==================================  ===============================
huber      z if z <= 1, else 2 sqrt(z) - 1     2 clip(r, -c, c)
soft_l1    2 (sqrt(1 + z) - 1)                 2 r / sqrt(1 + z)
cauchy     log(1 + z)                          2 r / (1 + z)
=========  ==================================  ===============================

Every ``rho`` has ``rho(z) ~ z`` near 0, so for residuals much smaller than ``c`` the loss is
the article's sum of squares; for larger ones it grows like ``|r|`` (huber, soft_l1) or like
``log |r|`` (cauchy), so a few outliers cannot pull the fit far. scipy's ``cost`` is half of
its sum, so gradfit's loss is exactly ``2 * cost`` for the same ``f_scale = c``.

``absolute`` is ``sum |r|`` (L1; its derivative ``sign(r)``, 0 at ``r == 0``: a subgradient);
it has no scale. None of these is a multiple of the sum of squares (``factor`` is None): no
gram statistics, no closed-form optimum. Their curvature in r is at most the square's 2
(huber: 2 or 0; soft_l1: ``2 / (1 + z)^1.5``; cauchy: ``2 (1 - z) / (1 + z)^2``), which is why
``--lr auto`` may use the sum of squares' rule for them (see :mod:`gradfit.plan`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..backends import namespace as _xp  # the array namespace of NumPy or torch arrays
from .base import loss_module, register


@dataclass(frozen=True)
class _Robust:
    """What the robust losses share: the rows, the scale ``c``, no ``factor``, the nn module."""

    n: int = 0  # rows (unused: a sum)
    scale: float = 1.0  # c: residuals much smaller than c are squared, larger ones damped

    scaled: ClassVar[bool] = True  # make_loss passes --loss-scale

    @property
    def factor(self) -> None:
        return None

    def torch_module(self) -> Any:
        return loss_module(self)


@register
@dataclass(frozen=True)
class Huber(_Robust):
    """Huber: ``r^2`` for ``|r| <= c``, ``2 c |r| - c^2`` beyond (``c^2 rho(r^2 / c^2)``,
    ``rho(z) = z`` if ``z <= 1`` else ``2 sqrt(z) - 1``)."""

    name: ClassVar[str] = "huber"
    description: ClassVar[str] = "Huber: squares up to --loss-scale, linear beyond"
    order: ClassVar[int] = 10

    def value(self, residual: Any) -> Any:
        # m = min(|r|, c): m (2 |r| - m) is r^2 below c and 2 c |r| - c^2 above, one formula
        a = abs(residual)
        m = abs(_xp(residual).clip(residual, -self.scale, self.scale))
        return (m * (2.0 * a - m)).sum()

    def grad(self, residual: Any) -> Any:
        return 2.0 * _xp(residual).clip(residual, -self.scale, self.scale)


@register
@dataclass(frozen=True)
class SoftL1(_Robust):
    """Smooth L1: ``2 c^2 (sqrt(1 + r^2 / c^2) - 1)``, written ``2 r^2 / (sqrt(1 + z) + 1)``
    so that small residuals lose no digits to the subtraction."""

    name: ClassVar[str] = "soft_l1"
    description: ClassVar[str] = "smooth L1: 2 c^2 (sqrt(1 + r^2/c^2) - 1), c = --loss-scale"
    order: ClassVar[int] = 11

    def value(self, residual: Any) -> Any:
        sq = residual * residual
        root = _xp(residual).sqrt(1.0 + sq / (self.scale * self.scale))
        return (2.0 * sq / (root + 1.0)).sum()

    def grad(self, residual: Any) -> Any:
        z = (residual * residual) / (self.scale * self.scale)
        return 2.0 * residual / _xp(residual).sqrt(1.0 + z)


@register
@dataclass(frozen=True)
class Cauchy(_Robust):
    """Cauchy (Lorentzian): ``c^2 log(1 + r^2 / c^2)``; far outliers count only logarithmically."""

    name: ClassVar[str] = "cauchy"
    description: ClassVar[str] = "Cauchy: c^2 log(1 + r^2/c^2), c = --loss-scale"
    order: ClassVar[int] = 12

    def value(self, residual: Any) -> Any:
        c2 = self.scale * self.scale
        return (c2 * _xp(residual).log1p(residual * residual / c2)).sum()

    def grad(self, residual: Any) -> Any:
        z = (residual * residual) / (self.scale * self.scale)
        return 2.0 * residual / (1.0 + z)


@register
@dataclass(frozen=True)
class Absolute:
    """The sum of absolute errors ``sum |r|`` (L1): the median's loss. Its derivative is
    ``sign(r)``, taken as 0 at ``r == 0`` (a subgradient). No scale, no curvature."""

    n: int = 0

    name: ClassVar[str] = "absolute"
    description: ClassVar[str] = "sum of absolute errors (L1); give --lr"
    order: ClassVar[int] = 9

    @property
    def factor(self) -> None:
        return None

    def value(self, residual: Any) -> Any:
        return abs(residual).sum()

    def grad(self, residual: Any) -> Any:
        return _xp(residual).sign(residual)

    def torch_module(self) -> Any:
        return loss_module(self)
