"""Losses: how the residuals of a fit become one number to minimise.

Each loss is one module of this package (see :class:`gradfit.losses.base.Loss`) that
registers its class with :func:`register`; the package finds the modules itself, so adding a
loss is adding one file. Built in: :mod:`.squared`, the article's sum of squared errors;
:mod:`.mean`; the robust losses of :mod:`.robust` (absolute, huber, soft_l1, cauchy). The
penalties on the parameters (``--l2``, ``--l1``) are :mod:`.penalty`.
"""

from __future__ import annotations

import importlib
import pkgutil

from ..errors import UsageError
from .base import REGISTRY, Loss, register
from .penalty import NO_PENALTY, Penalty

for _info in pkgutil.iter_modules(__path__):
    if not _info.name.startswith("_") and _info.name not in ("base", "penalty"):
        importlib.import_module(f"{__name__}.{_info.name}")

_ORDERED = sorted(REGISTRY.values(), key=lambda cls: (getattr(cls, "order", 100), cls.name))
LOSSES = tuple(cls.name for cls in _ORDERED)
LOSS_DESCRIPTIONS = {cls.name: cls.description for cls in _ORDERED}
# The losses --loss-scale applies to (the robust losses with a scale c).
ROBUST = tuple(cls.name for cls in _ORDERED if getattr(cls, "scaled", False))


def make_loss(name: str = "squared", n: int = 0, scale: float = 1.0) -> Loss:
    """The loss called ``name`` over ``n`` rows (all the rows of the fit); ``scale``: the
    robust losses' ``c`` (``--loss-scale``; the others take none)."""
    cls = REGISTRY.get(name)
    if cls is None:
        raise UsageError(f"unknown loss {name!r}; choose one of: {', '.join(LOSSES)}")
    return cls(n, float(scale)) if getattr(cls, "scaled", False) else cls(n)


SQUARED = make_loss("squared")
# The losses that are no multiple of the sum of squares: no gram method, no closed-form optimum.
NOT_SQUARES = tuple(name for name in LOSSES if make_loss(name).factor is None)

__all__ = [
    "LOSSES",
    "LOSS_DESCRIPTIONS",
    "NO_PENALTY",
    "ROBUST",
    "SQUARED",
    "Loss",
    "Penalty",
    "make_loss",
    "register",
]
