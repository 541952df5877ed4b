"""Losses: how the residuals of a fit become one number to minimise.

Each loss is one module of this package (see :class:`gradfit.losses.base.Loss`) that
registers its class with :func:`register`; the package finds the modules itself, so adding a
loss is adding one file. Built in: :mod:`.squared`, the article's sum of squared errors.
"""

from __future__ import annotations

import importlib
import pkgutil

from ..errors import UsageError
from .base import REGISTRY, Loss, register

for _info in pkgutil.iter_modules(__path__):
    if not _info.name.startswith("_") and _info.name != "base":
        importlib.import_module(f"{__name__}.{_info.name}")

_ORDERED = sorted(REGISTRY.values(), key=lambda cls: (getattr(cls, "order", 100), cls.name))
LOSSES = tuple(cls.name for cls in _ORDERED)
LOSS_DESCRIPTIONS = {cls.name: cls.description for cls in _ORDERED}


def make_loss(name: str = "squared", n: int = 0) -> Loss:
    """The loss called ``name`` over ``n`` rows (all the rows of the fit)."""
    cls = REGISTRY.get(name)
    if cls is None:
        raise UsageError(f"unknown loss {name!r}; choose one of: {', '.join(LOSSES)}")
    return cls(n)


SQUARED = make_loss("squared")

__all__ = ["LOSSES", "LOSS_DESCRIPTIONS", "SQUARED", "Loss", "make_loss", "register"]
