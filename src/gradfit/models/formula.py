"""A model written as a formula: ``--model 'b1*(1 - exp(-b2*x))'``.

Every name in the formula that is not ``x``, a constant (``pi``, ``e``, ``tau``) or a function is
a parameter, in order of first appearance. The manual method's gradient is the formula's own
symbolic derivative (:mod:`gradfit.formula`), evaluated together with the predictions so that
shared parts (``exp(-b2*x)``) are computed once per step, and the parts that depend on x alone
(``x**2``) once per fit (:meth:`gradfit.formula.program.Program.bind`); torch's autograd
differentiates the same predictions for the autograd method. A formula is fitted in the user's
x: no domain scaling (its parameters mean what the formula says).

Parameters without an initial value start at 1.0, as ``scipy.optimize.curve_fit`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..backends import Backend
from .base import Cache, register

if TYPE_CHECKING:  # the formula package is loaded with the first formula, not for --help
    from ..formula import Formula
    from ..formula.program import Bound

DEFAULT_START = 1.0  # a parameter --init does not name starts here (curve_fit's p0 default)


@register
@dataclass(frozen=True)
class FormulaModel:
    """``y = f(x; p1, p2, ...)`` for a formula ``f`` (see the module docstring)."""

    formula: Formula

    kind: ClassVar[str] = "formula"
    listed: ClassVar[bool] = False  # --model takes the formula itself, not the word "formula"
    description: ClassVar[str] = "a formula in x and named parameters, e.g. 'a*exp(-b*x) + c'"
    order: ClassVar[int] = 50
    linear: ClassVar[bool] = False
    statistics: ClassVar[bool] = False
    scalable: ClassVar[bool] = False  # fitted in the user's x
    default_lr: ClassVar[float] = 1e-3
    degree = None  # not a polynomial
    reference_degree = None  # no polynomial to compare with

    @classmethod
    def from_options(cls, degree: int, basis: str) -> FormulaModel:  # pragma: no cover
        raise TypeError("a formula model is made from its text: FormulaModel.from_text")

    @classmethod
    def from_text(cls, text: str, option: str = "--model") -> FormulaModel:
        """Parse ``text`` (one line :class:`~gradfit.errors.UsageError` if it is not a formula
        with parameters); the same text gives the same model."""
        return _parsed(text, option)

    @property
    def text(self) -> str:
        return self.formula.text

    @property
    def n_params(self) -> int:
        return len(self.formula.params)

    @property
    def param_names(self) -> tuple[str, ...]:
        return self.formula.params

    @property
    def default_init(self) -> tuple[float, ...]:
        return (DEFAULT_START,) * self.n_params

    def prepare(self, x: Any, backend: Backend, seed: int = 0) -> Cache:
        return FormulaCache(backend.xp, backend.name == "torch", [x])

    @cached_property
    def _outputs(self) -> tuple[int, list[tuple[int, bool]], int, bool, frozenset[int]]:
        """The predictions' register, each derivative's ``(register, negate)`` (see
        :meth:`~gradfit.formula.program.Program.signed_derivatives`), the forward prefix's end,
        whether the predictions depend on x (then they have x's shape already), and the
        negations the bound program leaves out."""
        program = self.formula.program
        out = program.out[0]
        columns, skip = program.signed_derivatives()
        return out, columns, program.ends[0], program.depends_on_x(out), skip

    def _bound(self, cache: Cache) -> Bound:
        """The program bound to the cache's x (bound again when a mini-batch changes x)."""
        x = cache.feats[0]
        bound = getattr(cache, "bound", None)
        if bound is None or bound.x is not x:
            bound = self.formula.program.bind(cache.xp, x, self._outputs[4])
            cache.bound = bound  # type: ignore[attr-defined]
        return bound

    def forward(self, w: Any, cache: Cache) -> Any:
        """The predictions; the values computed on the way are kept for :meth:`grad`."""
        bound = self._bound(cache)
        out, _, prefix, shaped, _ = self._outputs
        regs = bound.run(w, prefix)
        cache.last = (w, regs)
        return regs[out] if shaped else _like(cache.xp, regs[out], bound.x)

    def _columns(self, w: Any, cache: Cache) -> list[tuple[Any, bool]]:
        """``(u, negate)`` for every parameter, ``d f / d p_k = -u if negate else u``:
        continuing the forward pass's registers when they were computed at these parameters
        (on this x), else from the start."""
        bound = self._bound(cache)
        last = cache.last
        regs = None
        from ..formula.program import Registers  # loaded with the formula already

        if last is not None and last[0] is w and isinstance(last[1], Registers):
            regs = last[1]
        regs = bound.run(w, None, regs)
        return [(regs[i], neg) for i, neg in self._outputs[1]]

    def grad(self, w: Any, cache: Cache, grad_y_pred: Any) -> Any:
        """``dL/dp_k = sum(dL/dy_pred * d f / d p_k)``: the symbolic derivatives, evaluated."""
        cols = self._columns(w, cache)
        if not cache.is_torch:  # NumPy's own sums (the namespace's wrappers cost per call)
            sums = [(grad_y_pred * c).sum() for c, _ in cols]
            return np.array([-s if neg else s for s, (_, neg) in zip(sums, cols, strict=True)])
        xp = cache.xp
        return xp.stack([-xp.sum(grad_y_pred * c) if neg else xp.sum(grad_y_pred * c)
                         for c, neg in cols])  # fmt: skip

    def jacobian(self, w: Any, cache: Cache) -> Any:
        """The (N, p) matrix ``d f(x_i) / d p_k`` at ``w``."""
        xp, x = cache.xp, cache.feats[0]
        cols = self._columns(w, cache)
        if isinstance(x, np.ndarray) and x.dtype == np.float64:  # filled in place
            J = np.empty((x.shape[0], len(cols)))
            for k, (c, neg) in enumerate(cols):
                if neg:
                    np.negative(c, out=J[:, k])  # an array of x's shape (signed_derivatives)
                else:
                    J[:, k] = c
            return J
        return xp.stack([_like(xp, -c if neg else c, x) for c, neg in cols], axis=1)

    def predict(self, params: np.ndarray, x: Any) -> np.ndarray:
        """The formula at ``x`` with ``params`` (float64 NumPy)."""
        xs = np.asarray(x, dtype=np.float64)
        with np.errstate(all="ignore"):
            return np.asarray(self.formula(np, xs, np.asarray(params, dtype=np.float64)))

    def to_monomial(self, params: np.ndarray) -> np.ndarray:
        """A formula has no powers of x to report: its "coefficients" are its parameters."""
        return np.array(params, dtype=np.float64)

    def format(self, params: np.ndarray) -> str:
        """``y = b1*(1 - exp(-b2*x)) with b1 = 238.9, b2 = 0.00055``."""
        return f"y = {self.text} with {named_values(self.param_names, params)}"

    def describe(self) -> str:
        return f"formula {self.text}"


def named_values(names: Sequence[str], params: Any) -> str:
    """``b1 = 238.9, b2 = 0.00055``: each parameter with its value as Python prints it."""
    values = np.asarray(params, dtype=np.float64).tolist()
    return ", ".join(f"{p} = {v}" for p, v in zip(names, values, strict=True))


@dataclass
class FormulaCache(Cache):
    """A formula model's cache: also the program bound to x (see :meth:`FormulaModel._bound`)."""

    bound: Bound | None = None


def _like(xp: Any, value: Any, x: Any) -> Any:
    """``value`` as an array of x's shape (a constant or a parameter-only value broadcast)."""
    shape = getattr(value, "shape", None)
    if shape is not None and tuple(shape) == tuple(x.shape):
        return value
    return xp.zeros_like(x) + value


@lru_cache(maxsize=64)
def _parsed(text: str, option: str) -> FormulaModel:
    from ..formula import parse_formula

    return FormulaModel(parse_formula(text, option))
