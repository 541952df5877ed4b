"""Methods: the ways of obtaining the loss gradient. Each plugs into the same training loop.

A method is built from a model and a problem and answers one question per step:
``loss_and_grad(w, need_loss) -> (loss or None, gradient)``. Arrays stay on the backend; the loss
is only computed (and later read back to the host) on steps that need it.
"""

from __future__ import annotations

from typing import Any

from ..backends import Backend
from ..errors import UsageError
from ..problem import Problem

METHODS = ("manual",)


def make_method(name: str, model: Any, problem: Problem, backend: Backend) -> Any:
    """Build the method called ``name`` for this model, problem and backend."""
    if name == "manual":
        from .manual import ManualMethod

        return ManualMethod(model, problem, backend)
    raise UsageError(f"unknown method {name!r}; choose one of: {', '.join(METHODS)}")
