"""What every model is: the :class:`Model` protocol, its per-fit :class:`Cache`, and the
article's way of printing a polynomial.

Every model works the same way for every method:

- ``prepare(x, backend, seed)`` computes what depends only on the data (the powers of x, the
  basis functions) once per fit and returns a cache;
- ``forward(w, cache)`` computes the predictions from parameters ``w`` (a 1-D array, or any
  indexable of 0-d tensors such as an ``nn.ParameterList``), with backend operators only, so
  torch autograd can differentiate it;
- ``grad(w, cache, grad_y_pred)`` is the hand-derived gradient ``dL/dw`` given ``dL/dy_pred``
  (the manual method): the chain rule's last link, whatever the loss.

A new model is one module in this package that defines a class following :class:`Model` and
registers it with :func:`gradfit.models.register`.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np

from ..backends import Backend


@dataclass
class Cache:
    """What a model keeps between steps: data-only arrays, the namespace, per-run state."""

    xp: Any
    is_torch: bool
    feats: list[Any]
    rng: random.Random | None = None  # per-run randomness (the dynamic net)
    last: Any = None  # per-step intermediate shared by forward and grad


@contextmanager
def evaluation(cache: Cache) -> Iterator[Cache]:
    """Evaluate without consuming the run's randomness: a loss read for a log or a check must
    not change which random orders the dynamic net's training steps draw."""
    state = cache.rng.getstate() if cache.rng is not None else None
    try:
        yield cache
    finally:
        if state is not None:
            cache.rng.setstate(state)


REGISTRY: dict[str, Any] = {}  # --model name -> model class


def register(cls: Any) -> Any:
    """Class decorator: make ``cls`` available as ``--model cls.kind``."""
    REGISTRY[cls.kind] = cls
    return cls


class Model(Protocol):
    """A parameterised curve ``y = f(x; w)`` that every method can fit.

    ``linear`` says the predictions are linear in ``w`` (a design matrix times ``w``): then the
    squared loss is a quadratic whose curvature is exact, and the gram method applies.
    """

    kind: ClassVar[str]  # the --model name
    description: ClassVar[str]  # one line for --help and `gradfit presets`
    linear: ClassVar[bool]
    degree: int  # the polynomial degree it is reported in (monomials of x)
    default_lr: ClassVar[float]
    default_init: ClassVar[tuple[float, ...] | None]  # None: a seeded standard normal draw

    @property
    def n_params(self) -> int: ...

    @property
    def param_names(self) -> Sequence[str]: ...

    @property
    def reference_degree(self) -> int:
        """The degree of the least-squares polynomial this model can at best equal."""
        ...

    def prepare(self, x: Any, backend: Backend, seed: int = 0) -> Cache: ...

    def forward(self, w: Any, cache: Cache) -> Any: ...

    def grad(self, w: Any, cache: Cache, grad_y_pred: Any) -> Any: ...

    def to_monomial(self, params: np.ndarray) -> np.ndarray:
        """The fitted curve as coefficients of powers of x, lowest first."""
        ...

    def format(self, params: np.ndarray) -> str:
        """The fitted model as the article prints it: ``y = ...``."""
        ...

    def describe(self) -> str: ...


def format_polynomial(coef: np.ndarray) -> str:
    """``y = c0 + c1 x + c2 x^2 ...`` with each coefficient as Python prints a float."""
    terms = []
    for k, c in enumerate(np.asarray(coef, dtype=np.float64).tolist()):
        terms.append(f"{c}" if k == 0 else f"{c} x" if k == 1 else f"{c} x^{k}")
    return "y = " + " + ".join(terms)
