"""A model given as a Python function on torch tensors: ``gradfit.fit(x, y, model=f, init=...)``.

``f(x, params)`` returns the predictions for the tensor ``x`` and the parameters ``params``
(indexable: ``params[0]``, ``params[1]``, ...). It is the library's door for models no formula
can say (a loop, a lookup, a neural net's forward pass); torch's autograd differentiates it, so
it runs with ``method="autograd"`` on the torch backend (``method="auto"`` picks that), and
``optimizer="lm"`` takes its Jacobian from torch as well. It has no hand-derived gradient, no
symbolic form to print or save, and no starting point of its own: ``init`` is required and
says how many parameters there are (a list, or ``{name: value}`` to name them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..backends import Backend
from ..errors import UsageError
from .base import Cache, register
from .formula import named_values


@register
@dataclass(frozen=True)
class CallableModel:
    """``y = f(x, params)`` for a Python function ``f`` on torch tensors."""

    fn: Callable[[Any, Any], Any]
    names: tuple[str, ...]

    kind: ClassVar[str] = "callable"
    listed: ClassVar[bool] = False  # the library's, not --model's
    description: ClassVar[str] = "a Python function f(x, params) on torch tensors"
    order: ClassVar[int] = 60
    linear: ClassVar[bool] = False
    statistics: ClassVar[bool] = False
    scalable: ClassVar[bool] = False  # fitted in the user's x
    default_lr: ClassVar[float] = 1e-3
    default_init: ClassVar[None] = None  # init is required
    degree = None
    reference_degree = None

    @classmethod
    def from_options(cls, degree: int, basis: str) -> CallableModel:  # pragma: no cover
        raise TypeError("a callable model is made from the function: CallableModel.wrap")

    @classmethod
    def wrap(cls, fn: Callable[[Any, Any], Any], init: Any) -> CallableModel:
        """The model of ``fn`` with as many parameters as ``init`` has values (named by its
        keys when it is a mapping, else ``p0``, ``p1``, ...)."""
        if init is None:
            raise UsageError(
                "a model given as a Python function needs init=: its starting parameters "
                "(a list, or {name: value}), which also say how many there are"
            )
        if isinstance(init, dict):
            names = tuple(str(k) for k in init)
        else:
            names = tuple(f"p{k}" for k in range(len(tuple(init))))
        if not names:
            raise UsageError("init= is empty: a model needs at least one parameter")
        return cls(fn, names)

    @property
    def n_params(self) -> int:
        return len(self.names)

    @property
    def param_names(self) -> tuple[str, ...]:
        return self.names

    def prepare(self, x: Any, backend: Backend, seed: int = 0) -> Cache:
        return Cache(backend.xp, backend.name == "torch", [x])

    def forward(self, w: Any, cache: Cache) -> Any:
        if not cache.is_torch:  # a host analysis (statistics): through torch, back to NumPy
            return self.predict(np.asarray(w), cache.feats[0])
        return self.fn(cache.feats[0], w)

    def grad(self, w: Any, cache: Cache, grad_y_pred: Any) -> Any:
        raise UsageError(
            "a model given as a Python function has no hand-derived gradient: use "
            "method='autograd' (the default picks it)"
        )

    def jacobian(self, w: Any, cache: Cache) -> np.ndarray:
        """``d f(x_i) / d p_k`` from torch's autograd, float64 (any backend's arrays in)."""
        import torch

        x = torch.as_tensor(np.asarray(_host(cache.feats[0]), dtype=np.float64))
        w0 = torch.as_tensor(np.asarray(_host(w), dtype=np.float64))
        jac = torch.autograd.functional.jacobian(lambda v: self.fn(x, v) + 0 * x, w0)
        return jac.detach().numpy().reshape(x.shape[0], self.n_params)

    def predict(self, params: np.ndarray, x: Any) -> np.ndarray:
        """``f`` at ``x`` with ``params``, float64 NumPy."""
        import torch

        xs = torch.as_tensor(np.asarray(x, dtype=np.float64))
        ws = torch.as_tensor(np.asarray(params, dtype=np.float64))
        with torch.no_grad():
            out = self.fn(xs, ws) + 0 * xs
        return out.numpy()

    def to_monomial(self, params: np.ndarray) -> np.ndarray:
        """No powers of x to report: the parameters themselves."""
        return np.array(params, dtype=np.float64)

    def format(self, params: np.ndarray) -> str:
        return f"y = {self.describe()}(x, params) with {named_values(self.names, params)}"

    def describe(self) -> str:
        return getattr(self.fn, "__name__", "f")


def _host(a: Any) -> Any:
    """A tensor (or list of 0-d tensors) as host values NumPy can read."""
    if isinstance(a, (list, tuple)):
        return [float(v) for v in a]
    detach = getattr(a, "detach", None)
    return detach().cpu().numpy() if detach is not None else a
