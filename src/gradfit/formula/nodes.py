"""Formula syntax trees: three kinds of node, constructors that simplify, and printing.

A formula such as ``b1*(1 - exp(-b2*x))`` is a tree of

- :class:`Num` - a float64 number;
- :class:`Var` - the variable ``x`` or a parameter (``b1``);
- :class:`Op` - an operator (``+ - * / ** neg``) or a function (``exp``, ``atan2`` ...) applied
  to its arguments.

Nodes are immutable and compare by structure; their hash is computed once, so a dictionary of
nodes finds a shared sub-expression in constant time (the evaluator and the differentiator rely
on that). The constructors :func:`add`, :func:`mul` ... simplify as they build - numbers are
folded, ``0 + u`` is ``u``, ``1 * u`` is ``u``, ``-(-u)`` is ``u`` - so that derivatives read
like a person would write them: ``d/db2 (b1*(1 - exp(-b2*x)))`` prints as
``b1*x*exp(-b2*x)``.

>>> print(mul(Num(2.0), add(Var("a"), Num(0.0))))
2*a
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Union

import numpy as np

Node = Union["Num", "Var", "Op"]

# Binary operators and the unary minus, with their precedence for printing.
BINARY = ("+", "-", "*", "/", "**")
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3, "**": 4}
_ATOM = 5


class Num:
    """A number (float64)."""

    __slots__ = ("_hash", "value")

    def __init__(self, value: float) -> None:
        self.value = float(value)
        self._hash = hash(("num", self.value))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Num) and other.value == self.value

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"Num({self.value!r})"

    def __str__(self) -> str:
        return to_text(self)


class Var:
    """The variable ``x`` or a parameter, by name."""

    __slots__ = ("_hash", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._hash = hash(("var", name))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Var) and other.name == self.name

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"Var({self.name!r})"

    def __str__(self) -> str:
        return self.name


class Op:
    """An operator or a function applied to ``args``: ``Op("exp", (u,))``, ``Op("*", (u, v))``."""

    __slots__ = ("_hash", "args", "op")

    def __init__(self, op: str, args: tuple[Node, ...]) -> None:
        self.op = op
        self.args = args
        self._hash = hash((op, args))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Op)
            and other._hash == self._hash
            and other.op == self.op
            and other.args == self.args
        )

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"Op({self.op!r}, {self.args!r})"

    def __str__(self) -> str:
        return to_text(self)


ZERO, ONE, TWO = Num(0.0), Num(1.0), Num(2.0)


def is_num(node: Node, value: float | None = None) -> bool:
    """Whether ``node`` is a number (equal to ``value`` when given)."""
    return isinstance(node, Num) and (value is None or node.value == value)


def variables(node: Node) -> set[str]:
    """The names of the variables (x and parameters) in ``node``."""
    seen: set[str] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Var):
            seen.add(n.name)
        elif isinstance(n, Op):
            stack.extend(n.args)
    return seen


# Array API names whose NumPy spelling differs.
_NUMPY_NAMES = {
    "asin": "arcsin",
    "acos": "arccos",
    "atan": "arctan",
    "asinh": "arcsinh",
    "acosh": "arccosh",
    "atanh": "arctanh",
    "atan2": "arctan2",
    "pow": "power",
}


def numpy_function(api_name: str) -> Callable[..., float]:
    """NumPy's function for an Array API name (folding numbers while parsing)."""
    return getattr(np, _NUMPY_NAMES.get(api_name, api_name))


# --- constructors that simplify ----------------------------------------------------------------


def fold_value(op: str, *values: float) -> float:
    """``op`` applied to numbers in float64 (inf or nan when it overflows or is undefined)."""
    a = [np.float64(v) for v in values]
    with np.errstate(all="ignore"):
        if op == "neg":
            return float(-a[0])
        if op in _ARITHMETIC:
            return float(_ARITHMETIC[op](*a))
        return float(numpy_function(op)(*a))


_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "**": lambda a, b: a**b,
}


def apply(op: str, *args: Node) -> Node:
    """``op`` applied to ``args``, folded to a number when all of them are numbers."""
    if all(isinstance(a, Num) for a in args):
        value = fold_value(op, *(a.value for a in args))  # type: ignore[union-attr]
        if math.isfinite(value):  # inf or nan stays a node: evaluating it says so
            return Num(value)
    return Op(op, tuple(args))


def neg(u: Node) -> Node:
    if isinstance(u, Num):
        return Num(-u.value)
    if isinstance(u, Op) and u.op == "neg":
        return u.args[0]
    if isinstance(u, Op) and u.op == "-":  # -(a - b) = b - a
        return Op("-", (u.args[1], u.args[0]))
    return Op("neg", (u,))


def add(u: Node, v: Node) -> Node:
    if is_num(u, 0.0):
        return v
    if is_num(v, 0.0):
        return u
    if isinstance(v, Op) and v.op == "neg":
        return sub(u, v.args[0])
    if isinstance(v, Num) and v.value < 0:
        return sub(u, Num(-v.value))
    if isinstance(v, Op) and v.op == "*" and isinstance(v.args[0], Num) and v.args[0].value < 0:
        return sub(u, mul(Num(-v.args[0].value), v.args[1]))  # u + -2*w = u - 2*w
    if isinstance(u, Op) and u.op == "neg":
        return sub(v, u.args[0])
    return apply("+", u, v)


def sub(u: Node, v: Node) -> Node:
    if is_num(v, 0.0):
        return u
    if is_num(u, 0.0):
        return neg(v)
    if u == v:
        return ZERO
    if isinstance(v, Op) and v.op == "neg":
        return add(u, v.args[0])
    return apply("-", u, v)


def mul(u: Node, v: Node) -> Node:
    if is_num(u, 0.0) or is_num(v, 0.0):
        return ZERO
    if is_num(u, 1.0):
        return v
    if is_num(v, 1.0):
        return u
    if is_num(u, -1.0):
        return neg(v)
    if is_num(v, -1.0):
        return neg(u)
    if isinstance(u, Op) and u.op == "neg":
        return neg(mul(u.args[0], v))
    if isinstance(v, Op) and v.op == "neg":
        return neg(mul(u, v.args[0]))
    if isinstance(v, Num) and not isinstance(u, Num):  # numbers first: 2*u, not u*2
        u, v = v, u
    if isinstance(u, Num) and isinstance(v, Op) and v.op == "*" and isinstance(v.args[0], Num):
        return mul(apply("*", u, v.args[0]), v.args[1])  # 2*(3*u) = 6*u
    if isinstance(u, Num) and isinstance(v, Op) and v.op == "/" and isinstance(v.args[0], Num):
        return div(apply("*", u, v.args[0]), v.args[1])  # 2*(3/u) = 6/u
    if u == v:
        return power(u, TWO)
    return apply("*", u, v)


def div(u: Node, v: Node) -> Node:
    if is_num(u, 0.0):
        return ZERO
    if is_num(v, 1.0):
        return u
    if is_num(v, -1.0):
        return neg(u)
    if u == v:
        return ONE
    if isinstance(u, Op) and u.op == "neg":
        return neg(div(u.args[0], v))
    if isinstance(v, Op) and v.op == "neg":
        return neg(div(u, v.args[0]))
    return apply("/", u, v)


def power(u: Node, v: Node) -> Node:
    if is_num(v, 1.0):
        return u
    if is_num(v, 0.0):
        return ONE
    return apply("**", u, v)


def call(name: str, *args: Node) -> Node:
    """The function ``name`` (an Array API name) of ``args``."""
    return apply(name, *args)


# --- printing ------------------------------------------------------------------------------------


def number_text(value: float) -> str:
    """A number as a person writes it: ``2``, ``0.5``, ``1e-06``."""
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def to_text(node: Node) -> str:
    """The formula in Python's syntax with as few parentheses as its meaning allows. The text
    parses back to a formula of the same value (``-(a*b)`` is printed ``-a*b``, which Python
    reads as ``(-a)*b``: negation is exact, so the numbers are the same)."""
    return _text(node)[0]


def _text(node: Node) -> tuple[str, int]:
    """(text, precedence of its outermost operator)."""
    if isinstance(node, Num):
        text = number_text(node.value)
        return text, _PRECEDENCE["neg"] if node.value < 0 else _ATOM
    if isinstance(node, Var):
        return node.name, _ATOM
    op, args = node.op, node.args
    if op == "neg":
        inner, p = _text(args[0])
        product = isinstance(args[0], Op) and args[0].op in ("*", "/")
        if product and not inner.startswith("-"):  # a product's rank: u/(-a*b) keeps its ()
            return "-" + inner, _PRECEDENCE["*"]
        return "-" + (inner if p > _PRECEDENCE["neg"] else f"({inner})"), _PRECEDENCE["neg"]
    if op in BINARY:
        prec = _PRECEDENCE[op]
        (left, lp), (right, rp) = _text(args[0]), _text(args[1])
        if op == "**":  # right-associative, and binds tighter than unary minus on its left
            left = left if lp > prec else f"({left})"
            right = right if rp >= prec else f"({right})"
            return f"{left}**{right}", prec
        left = left if lp >= prec else f"({left})"
        # a - (b + c), a / (b * c): the right operand of - and / needs more than equal rank
        tight = op in ("-", "/")
        right = right if (rp > prec or (rp == prec and not tight)) else f"({right})"
        sep = " " if op in ("+", "-") else ""
        return f"{left}{sep}{op}{sep}{right}", prec
    return f"{op}({', '.join(_text(a)[0] for a in args)})", _ATOM
