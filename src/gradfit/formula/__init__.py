"""Formulas: ``--target sin(x)`` and ``--model 'b1*(1 - exp(-b2*x))'``, parsed safely,
differentiated symbolically, evaluated on NumPy or torch.

- :mod:`.parse` checks the text against a whitelist and builds a tree (nothing is evaluated as
  Python);
- :mod:`.nodes` holds the trees, the simplifying constructors and the printer;
- :mod:`.derive` differentiates a tree by the textbook rules (:mod:`.functions` has each
  function's derivative);
- :mod:`.program` evaluates a formula and its derivatives as one straight-line program, each
  shared sub-expression once.

>>> f = parse_formula("b1*(1 - exp(-b2*x))")
>>> f.params
('b1', 'b2')
>>> [str(d) for d in f.derivatives]
['1 - exp(-b2*x)', 'b1*exp(-b2*x)*x']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError
from .derive import derivative
from .functions import CONSTANTS, FUNCTIONS
from .nodes import Node, to_text
from .parse import MAX_LENGTH, MAX_NODES, clip, parse_tree
from .program import Program


@dataclass(frozen=True)
class Formula:
    """A checked formula in ``x`` and named parameters, with its symbolic derivatives.

    ``formula(xp, x, w)`` evaluates it (``w[k]`` is the value of ``params[k]``: a NumPy array,
    a tensor, or a list of 0-d tensors that torch's autograd follows); :meth:`with_gradient`
    also gives every ``d f / d params[k]`` from the same evaluation.
    """

    text: str
    tree: Node
    params: tuple[str, ...]
    derivatives: tuple[Node, ...]
    program: Program = field(repr=False, compare=False)

    def __call__(self, xp: Any, x: Any, w: Any = ()) -> Any:
        regs = self.program.registers(xp, x, w, stop=self.program.ends[0])
        return self._full(xp, regs, 0, x)

    def forward_registers(self, xp: Any, x: Any, w: Any) -> tuple[Any, list[Any]]:
        """The predictions and the registers that computed them (continue them with
        :meth:`columns` to get the derivatives without recomputing shared parts)."""
        regs = self.program.registers(xp, x, w, stop=self.program.ends[0])
        return self._full(xp, regs, 0, x), regs

    def columns(self, xp: Any, x: Any, w: Any, regs: list[Any] | None = None) -> list[Any]:
        """``d f / d p`` for every parameter: arrays like x, or scalars where the derivative
        does not depend on x (``d (a + b*x) / d a = 1``)."""
        regs = self.program.registers(xp, x, w, regs=regs)
        return [regs[i] for i in self.program.out[1:]]

    def jacobian(self, xp: Any, x: Any, w: Any, regs: list[Any] | None = None) -> Any:
        """The (N, p) matrix of ``d f(x_i) / d p_k``."""
        cols = self.columns(xp, x, w, regs)
        return xp.stack([_like(xp, c, x) for c in cols], axis=1)

    def _full(self, xp: Any, regs: list[Any], k: int, x: Any) -> Any:
        return _like(xp, regs[self.program.out[k]], x)

    def derivative_text(self) -> list[str]:
        """``d/dp = ...`` for every parameter, as :func:`gradfit.formula.nodes.to_text`
        prints it."""
        return [
            f"d/d{p} = {to_text(d)}" for p, d in zip(self.params, self.derivatives, strict=True)
        ]

    def __str__(self) -> str:
        return self.text


def _like(xp: Any, value: Any, x: Any) -> Any:
    """``value`` as an array of x's shape (a constant or a parameter-only value broadcast)."""
    shape = getattr(value, "shape", None)
    if shape is not None and tuple(shape) == tuple(x.shape):
        return value
    return xp.zeros_like(x) + value


def parse_formula(text: str, option: str = "--model") -> Formula:
    """Check ``text`` as a model formula (see :mod:`.parse`): every name other than x, a
    constant or a function is a parameter, in order of first appearance; at least one is
    needed. Raises :class:`UsageError` naming ``option``."""
    source, tree, params = parse_tree(text, option, parameters=True)
    if not params:
        raise UsageError(
            f"{option} {clip(source)!r} has no parameters to fit; name them, as in "
            "'a*exp(-b*x) + c' (x, pi, e and tau are not parameters)"
        )
    derivatives = tuple(derivative(tree, p) for p in params)
    return Formula(source, tree, params, derivatives, Program((tree, *derivatives), params))


__all__ = [
    "CONSTANTS",
    "FUNCTIONS",
    "MAX_LENGTH",
    "MAX_NODES",
    "Formula",
    "Program",
    "derivative",
    "parse_formula",
    "parse_tree",
    "to_text",
]
