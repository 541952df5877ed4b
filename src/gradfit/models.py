"""Model families: a forward pass, the hand-derived gradient, and how to print the result.

Every model works the same way for every method:

- ``prepare(x, backend, seed)`` computes what depends only on the data (the powers of x, the
  basis functions) once per fit and returns a cache;
- ``forward(w, cache)`` computes the predictions from parameters ``w`` (a 1-D array, or any
  indexable of 0-d tensors such as an ``nn.ParameterList``), with backend operators only, so
  torch autograd can differentiate it;
- ``grad(w, cache, grad_y_pred)`` is the hand-derived gradient ``dL/dw`` given ``dL/dy_pred``
  (the manual method).

:class:`Polynomial` is the article's model for any degree; its forward pass and gradient follow
the article's lines term by term, so on the same data and initial weights gradfit reproduces the
article's numbers bit for bit. :class:`Legendre3` and :class:`Dynamic` are the PyTorch tutorial's
``a + b * P3(c + d x)`` and its dynamic, weight-sharing net.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.polynomial import chebyshev, legendre

from .backends import Backend
from .errors import UsageError

MODELS = ("poly", "legendre3", "dynamic")
BASES = ("monomial", "legendre", "chebyshev")
_BASIS_SYMBOL = {"legendre": "P", "chebyshev": "T"}
MODEL_DESCRIPTIONS = {
    "poly": "y = c0 + c1 x + ... + cn x^n (--degree, --basis)",
    "legendre3": "y = a + b * P3(c + d x), P3 the Legendre polynomial of degree 3",
    "dynamic": "y = a + b x + c x^2 + d x^3 + e x^4 ? + e x^5 ? (random orders, one weight e)",
}


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


@dataclass(frozen=True)
class Polynomial:
    """``y = c_0 B_0(x) + c_1 B_1(x) + ... + c_n B_n(x)`` in a monomial, Legendre or Chebyshev
    basis (``B_0 = 1`` in all three; monomial: ``B_k = x^k``, the article's cubic for n = 3)."""

    degree: int = 3
    basis: str = "monomial"

    kind = "poly"
    default_lr = 1e-6
    default_init: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.degree, bool) or not isinstance(self.degree, (int, np.integer)):
            raise UsageError(f"--degree must be an integer, got {self.degree!r}")
        if self.degree < 0:
            raise UsageError(f"--degree must be >= 0, got {self.degree}")
        if self.basis not in BASES:
            raise UsageError(f"unknown basis {self.basis!r}; choose one of: {', '.join(BASES)}")

    @property
    def n_params(self) -> int:
        return self.degree + 1

    @property
    def param_names(self) -> list[str]:
        return [f"c{k}" for k in range(self.n_params)]

    @property
    def reference_degree(self) -> int:
        """Degree of the least-squares polynomial this model can at best equal."""
        return self.degree

    def prepare(self, x: Any, backend: Backend, seed: int = 0) -> Cache:
        """The non-constant basis functions on the data, computed once per fit.

        Monomials are computed on the backend as ``x ** k``, exactly as the article does (it
        recomputes them every step; same numbers, higher cost). Legendre and Chebyshev
        values come from ``numpy.polynomial``'s Vandermonde matrices, in float64.
        """
        if self.basis == "monomial":
            feats = [x if k == 1 else x**k for k in range(1, self.degree + 1)]
        else:
            xs = backend.to_numpy(x).astype(np.float64)
            V = _vander(self, xs)
            feats = [backend.asarray(np.ascontiguousarray(V[:, k])) for k in range(1, V.shape[1])]
        return Cache(backend.xp, backend.name == "torch", feats)

    def forward(self, w: Any, cache: Cache) -> Any:
        """Predictions ``w_0 + w_1 B_1 + ...``, summed left to right as the article does."""
        y_pred = w[0]
        for k, f in enumerate(cache.feats, start=1):
            y_pred = y_pred + w[k] * f
        return y_pred

    def grad(self, w: Any, cache: Cache, grad_y_pred: Any) -> Any:
        """``dL/dw_k = sum(dL/dy_pred * B_k)``: the article's ``grad_a .. grad_d``."""
        xp = cache.xp
        parts = [xp.sum(grad_y_pred)]
        parts.extend(xp.sum(grad_y_pred * f) for f in cache.feats)
        return xp.stack(parts)

    def to_monomial(self, params: np.ndarray) -> np.ndarray:
        """Coefficients of the same polynomial in powers of x, lowest first."""
        params = np.asarray(params, dtype=np.float64)
        if self.basis == "monomial":
            return params.copy()
        out = np.zeros(self.n_params)
        conv = legendre.leg2poly if self.basis == "legendre" else chebyshev.cheb2poly
        mono = conv(params)
        out[: mono.size] = mono
        return out

    def format(self, params: np.ndarray) -> str:
        """The article's ``y = a + b x + c x^2 + d x^3``, or ``y = c0 + c1 P1(x) + ...``."""
        if self.basis == "monomial":
            return format_polynomial(params)
        sym = _BASIS_SYMBOL[self.basis]
        terms = [
            f"{c}" if k == 0 else f"{c} {sym}{k}(x)"
            for k, c in enumerate(np.asarray(params, dtype=np.float64).tolist())
        ]
        return "y = " + " + ".join(terms)

    def describe(self) -> str:
        basis = "" if self.basis == "monomial" else f", {self.basis} basis"
        return f"polynomial of degree {self.degree}{basis}"


def _vander(model: Polynomial, xs: np.ndarray) -> np.ndarray:
    fn = legendre.legvander if model.basis == "legendre" else chebyshev.chebvander
    return fn(xs, model.degree)


@dataclass(frozen=True)
class Legendre3:
    """``y = a + b * P3(c + d x)`` with ``P3(z) = (5 z^3 - 3 z) / 2`` (the PyTorch tutorial).

    On torch, ``P3`` is a custom ``torch.autograd.Function`` with a hand-written backward
    (:class:`gradfit.autograd_functions.LegendreP3`); the manual method uses the chain rule
    by hand: ``dP3/dz = 3 (5 z^2 - 1) / 2``.
    """

    kind = "legendre3"
    degree = 3
    n_params = 4
    param_names = ("a", "b", "c", "d")
    default_lr = 5e-6
    default_init: tuple[float, ...] | None = (0.0, -1.0, 0.0, 0.3)
    reference_degree = 3

    def prepare(self, x: Any, backend: Backend, seed: int = 0) -> Cache:
        return Cache(backend.xp, backend.name == "torch", [x])

    def forward(self, w: Any, cache: Cache) -> Any:
        z = w[2] + w[3] * cache.feats[0]
        cache.last = z
        if cache.is_torch:
            from .autograd_functions import LegendreP3

            p3 = LegendreP3.apply(z)
        else:
            p3 = 0.5 * (5 * z**3 - 3 * z)
        return w[0] + w[1] * p3

    def grad(self, w: Any, cache: Cache, grad_y_pred: Any) -> Any:
        """Chain rule: da = sum(g), db = sum(g P3(z)), dc = sum(g b P3'(z)), dd = dc with x."""
        xp, x, z = cache.xp, cache.feats[0], cache.last
        p3 = 0.5 * (5 * z**3 - 3 * z)
        g_z = grad_y_pred * w[1] * (1.5 * (5 * z**2 - 1))
        return xp.stack(
            [xp.sum(grad_y_pred), xp.sum(grad_y_pred * p3), xp.sum(g_z), xp.sum(g_z * x)]
        )

    def to_monomial(self, params: np.ndarray) -> np.ndarray:
        """Expand ``a + b P3(c + d x)`` into powers of x with numpy.polynomial."""
        a, b, c, d = np.asarray(params, dtype=np.float64).tolist()
        p3 = np.polynomial.Polynomial(legendre.leg2poly([0, 0, 0, 1]))
        expanded = a + b * p3(np.polynomial.Polynomial([c, d]))
        out = np.zeros(4)
        out[: expanded.coef.size] = expanded.coef
        return out

    def format(self, params: np.ndarray) -> str:
        a, b, c, d = np.asarray(params, dtype=np.float64).tolist()
        return f"y = {a} + {b} * P3({c} + {d} x)"

    def describe(self) -> str:
        return "a + b * P3(c + d x), Legendre P3"


@dataclass(frozen=True)
class Dynamic:
    """The tutorial's dynamic net: ``a + b x + c x^2 + d x^3``, then on each forward pass
    ``e x^4`` and ``e x^5`` added for ``exp in range(4, randint(4, 6))`` - zero, one or two
    extra orders, all sharing the one weight ``e``.

    The random choice comes from ``random.Random(seed)``, so a run is reproducible and every
    method (manual, autograd, nn) sees the same sequence of choices. Reported monomial
    coefficients are those of the expected prediction (``e`` times 2/3 at x^4, 1/3 at x^5).
    """

    kind = "dynamic"
    degree = 5
    n_params = 5
    param_names = ("a", "b", "c", "d", "e")
    default_lr = 1e-8
    default_init: tuple[float, ...] | None = None
    reference_degree = 5

    def prepare(self, x: Any, backend: Backend, seed: int = 0) -> Cache:
        feats = [x if k == 1 else x**k for k in range(1, 6)]
        return Cache(backend.xp, backend.name == "torch", feats, rng=random.Random(seed))

    def forward(self, w: Any, cache: Cache) -> Any:
        x, x2, x3 = cache.feats[:3]
        y_pred = w[0] + w[1] * x + w[2] * x2 + w[3] * x3
        top = cache.rng.randint(4, 6)
        cache.last = top
        for exp in range(4, top):
            y_pred = y_pred + w[4] * cache.feats[exp - 1]
        return y_pred

    def grad(self, w: Any, cache: Cache, grad_y_pred: Any) -> Any:
        xp, g = cache.xp, grad_y_pred
        parts = [xp.sum(g)] + [xp.sum(g * f) for f in cache.feats[:3]]
        shared = [xp.sum(g * cache.feats[exp - 1]) for exp in range(4, cache.last)]
        e_grad = parts[0] * 0.0
        for term in shared:  # e is used once per extra order: its gradient adds up
            e_grad = e_grad + term
        return xp.stack([*parts, e_grad])

    def to_monomial(self, params: np.ndarray) -> np.ndarray:
        a, b, c, d, e = np.asarray(params, dtype=np.float64).tolist()
        return np.array([a, b, c, d, e * 2 / 3, e / 3])

    def format(self, params: np.ndarray) -> str:
        a, b, c, d, e = np.asarray(params, dtype=np.float64).tolist()
        return f"y = {a} + {b} x + {c} x^2 + {d} x^3 + {e} x^4 ? + {e} x^5 ?"

    def describe(self) -> str:
        return "dynamic net: cubic plus e x^4, e x^5 on random passes"


Model = Polynomial | Legendre3 | Dynamic


def format_polynomial(coef: np.ndarray) -> str:
    """``y = c0 + c1 x + c2 x^2 ...`` with each coefficient as Python prints a float."""
    terms = []
    for k, c in enumerate(np.asarray(coef, dtype=np.float64).tolist()):
        terms.append(f"{c}" if k == 0 else f"{c} x" if k == 1 else f"{c} x^{k}")
    return "y = " + " + ".join(terms)


def make_model(kind: str = "poly", degree: int = 3, basis: str = "monomial") -> Model:
    """Build a model by name (``--degree`` and ``--basis`` apply to ``poly`` only)."""
    if kind == "poly":
        return Polynomial(degree, basis)
    if kind == "legendre3":
        return Legendre3()
    if kind == "dynamic":
        return Dynamic()
    raise UsageError(f"unknown model {kind!r}; choose one of: {', '.join(MODELS)}")
