"""Model families: a forward pass, the hand-derived gradient, and how to print the result.

Each model is one module of this package (see :class:`gradfit.models.base.Model` for what it
provides) that registers its class with :func:`register`; the package finds the modules
itself, so adding a model is adding one file. Built in:

- :mod:`.polynomial`: the article's model for any degree and basis;
- :mod:`.legendre3`: the PyTorch tutorial's ``a + b * P3(c + d x)``;
- :mod:`.dynamic`: the tutorial's dynamic, weight-sharing net;
- :mod:`.formula`: any formula in x and named parameters (``--model 'a*exp(-b*x) + c'``);
- :mod:`.pyfunc`: a Python function ``f(x, params)`` on torch tensors (the library's).
"""

from __future__ import annotations

import importlib
import pkgutil

from ..errors import UsageError
from .base import REGISTRY, Cache, Model, evaluation, format_polynomial, register

# Every public module of the package defines a model (torch-only helpers are private: _name).
for _info in pkgutil.iter_modules(__path__):
    if not _info.name.startswith("_") and _info.name != "base":
        importlib.import_module(f"{__name__}.{_info.name}")

_ORDERED = sorted(REGISTRY.values(), key=lambda cls: (getattr(cls, "order", 100), cls.kind))
_LISTED = [cls for cls in _ORDERED if getattr(cls, "listed", True)]
MODELS = tuple(cls.kind for cls in _LISTED)  # what --model offers
MODEL_DESCRIPTIONS = {cls.kind: cls.description for cls in _LISTED}

from .additive import Additive  # noqa: E402  (registered above; re-exported)
from .dynamic import Dynamic  # noqa: E402
from .formula import FormulaModel  # noqa: E402
from .legendre3 import Legendre3  # noqa: E402
from .polynomial import BASES, Polynomial  # noqa: E402
from .pyfunc import CallableModel  # noqa: E402


def is_formula(kind: object) -> bool:
    """Whether a --model value is a formula rather than a model's name."""
    return isinstance(kind, str) and kind not in REGISTRY and not kind.strip().isidentifier()


def make_model(
    kind: str = "poly", degree: int = 3, basis: str = "monomial", features: int = 1
) -> Model:
    """Build a model by name (``--degree`` and ``--basis`` apply to ``poly`` only;
    ``features``: the columns of x, for the models that take several), or from a formula in x
    and named parameters (anything that is not a plain name)."""
    if is_formula(kind):
        return FormulaModel.from_text(kind)
    if isinstance(kind, CallableModel):  # a validated config holds the wrapped function
        return kind
    cls = REGISTRY.get(kind) if kind != FormulaModel.kind else None
    if cls is None:
        raise UsageError(
            f"unknown model {kind!r}; choose one of: {', '.join(MODELS)}, or write a formula "
            "in x and named parameters, such as 'a*exp(-b*x) + c'"
        )
    if features != 1 and hasattr(cls, "features"):  # a model of several columns of x
        return cls.from_options(degree, basis, features)
    return cls.from_options(degree, basis)


__all__ = [
    "BASES",
    "MODELS",
    "MODEL_DESCRIPTIONS",
    "Additive",
    "Cache",
    "CallableModel",
    "Dynamic",
    "FormulaModel",
    "Legendre3",
    "Model",
    "Polynomial",
    "evaluation",
    "format_polynomial",
    "is_formula",
    "make_model",
    "register",
]
