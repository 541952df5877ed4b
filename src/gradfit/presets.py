"""Presets: each rung of the ladder from the article to PyTorch's nn + optim, as one command.

The article's two scripts, then the rungs of PyTorch's "Learning PyTorch with Examples" on the
same sin(x) problem, with that tutorial's published settings. ``gradfit fit --preset NAME`` runs
one; options given on the command line override the preset's values.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from .config import FitConfig
from .errors import UsageError

PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "article-torch": (
        "the article's PyTorch script: hand-written gradient on float32 tensors",
        {"backend": "torch", "method": "manual"},
    ),
    "article-numpy": (
        "the article's NumPy script: hand-written gradient on float64 arrays",
        {"backend": "numpy", "method": "manual"},
    ),
    "autograd": (
        "autograd: loss.backward() computes the gradient of the same cubic",
        {"method": "autograd"},
    ),
    "custom-function": (
        "y = a + b * P3(c + d x), P3 a custom autograd Function; init 0,-1,0,0.3, lr 5e-6",
        {"model": "legendre3", "method": "autograd", "lr": 5e-6},
    ),
    "nn": (
        "torch.nn: Linear(3, 1) on (x, x^2, x^3), MSELoss(reduction='sum'), SGD lr 1e-6",
        {"method": "nn"},
    ),
    "optim": (
        "torch.optim: the nn model trained with RMSprop, lr 1e-3",
        {"method": "nn", "optimizer": "rmsprop", "lr": 1e-3},
    ),
    "module": (
        "a custom nn.Module with one nn.Parameter per coefficient, SGD lr 1e-6",
        {"method": "module"},
    ),
    "dynamic": (
        "the dynamic net (orders 4 and 5 at random, one shared weight); "
        "SGD momentum 0.9, lr 1e-8, 30000 steps",
        {
            "model": "dynamic",
            "method": "module",
            "optimizer": "momentum",
            "momentum": 0.9,
            "lr": 1e-8,
            "steps": 30000,
            "log_every": 2000,
        },
    ),
}

_FIELDS = {f.name for f in fields(FitConfig)}


def preset_values(name: str) -> dict[str, Any]:
    """The FitConfig fields preset ``name`` sets (a one-line error for an unknown name)."""
    if name not in PRESETS:
        raise UsageError(f"unknown preset {name!r}; run 'gradfit presets' to list them")
    return dict(PRESETS[name][1])


def preset_config(name: str | None = None, **overrides: Any) -> FitConfig:
    """A FitConfig from preset ``name`` (None: the plain defaults) with ``overrides`` on top.

    Overrides whose value is None are ignored, so unset command-line options keep the preset's.
    """
    values = {} if name is None else preset_values(name)
    unknown = set(overrides) - _FIELDS
    if unknown:
        raise TypeError(f"unknown FitConfig fields: {sorted(unknown)}")
    values.update({k: v for k, v in overrides.items() if v is not None})
    return FitConfig(**values)
