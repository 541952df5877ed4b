"""Safe formulas in x, such as ``exp(-x**2) * cos(3*x)``, for ``--target``.

The text is checked by the whitelist parser of :mod:`gradfit.formula.parse` (numbers, the names
``x``, ``pi``, ``e``, ``tau``, calls of the functions in :data:`FUNCTIONS` by name, the operators
``+ - * / **`` and unary ``+ -``; anything else is a one-line
:class:`~gradfit.errors.UsageError` before anything runs) and evaluated by
:class:`gradfit.formula.Program` with the backend's array functions (``xp.sin`` ...), so
``sin(x)`` on torch float32 gives exactly the values ``torch.sin(x)`` gives. Nothing is ever
passed to ``eval``, ``exec`` or ``compile``.

Blow-ups are bounded: the text is at most :data:`MAX_LENGTH` characters and :data:`MAX_NODES`
syntax nodes, and all arithmetic is floating point (integer literals become floats), so
``9**9**9`` is an overflow to ``inf`` - reported as "not finite" - and never a huge integer.
Sub-expressions without ``x`` are folded to one float64 number when parsed.

>>> f = parse_expression("exp(-x**2) * cos(3*x)")
>>> import numpy as np
>>> float(f(np, np.array([0.0]))[0])
1.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .formula import CONSTANTS, FUNCTIONS, MAX_LENGTH, MAX_NODES, Program, parse_tree

__all__ = ["CONSTANTS", "FUNCTIONS", "MAX_LENGTH", "MAX_NODES", "Expression", "parse_expression"]


@dataclass(frozen=True)
class Expression:
    """A checked formula in ``x``. Call it as ``expr(xp, x)`` with an array namespace ``xp``.

    ``text`` is the formula as given. The result has the shape of ``x`` (a formula without
    ``x``, such as ``pi``, is broadcast to it).
    """

    text: str
    _program: Program

    def __call__(self, xp: Any, x: Any) -> Any:
        kind, _ = self._program.code[self._program.out[0]]
        value = self._program.registers(xp, x, ())[self._program.out[0]]
        if kind == "num":  # no x in the formula: a constant
            value = xp.zeros_like(x) + value
        return value

    def __str__(self) -> str:
        return self.text


def parse_expression(text: str, option: str = "--target") -> Expression:
    """Parse and check ``text``; raise :class:`UsageError` naming ``option`` if it is not allowed.

    Nothing in ``text`` is executed: see the module docstring for what is allowed.
    """
    source, tree, _ = parse_tree(text, option, parameters=False)
    return Expression(source, Program((tree,), ()))
