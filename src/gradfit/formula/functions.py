"""The functions a formula may call, and the derivative of each.

Names are the Array API's (``asin``, ``atan2``, ``pow``), so one evaluator calls the same
function on NumPy and on torch; NumPy's spellings (``arcsin``, ``arctan2``, ``power``) are
accepted as aliases. Each derivative is written with the node constructors, so it simplifies
as it is built and prints readably.
"""

from __future__ import annotations

import math

from . import nodes as n
from .nodes import Node, numpy_function  # noqa: F401  (re-exported)

CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}

# Function name in formulas -> (name in the Array API namespace, number of arguments).
FUNCTIONS: dict[str, tuple[str, int]] = {
    "sin": ("sin", 1),
    "cos": ("cos", 1),
    "tan": ("tan", 1),
    "asin": ("asin", 1),
    "acos": ("acos", 1),
    "atan": ("atan", 1),
    "arcsin": ("asin", 1),
    "arccos": ("acos", 1),
    "arctan": ("atan", 1),
    "sinh": ("sinh", 1),
    "cosh": ("cosh", 1),
    "tanh": ("tanh", 1),
    "asinh": ("asinh", 1),
    "acosh": ("acosh", 1),
    "atanh": ("atanh", 1),
    "arcsinh": ("asinh", 1),
    "arccosh": ("acosh", 1),
    "arctanh": ("atanh", 1),
    "exp": ("exp", 1),
    "expm1": ("expm1", 1),
    "log": ("log", 1),
    "log1p": ("log1p", 1),
    "log2": ("log2", 1),
    "log10": ("log10", 1),
    "sqrt": ("sqrt", 1),
    "square": ("square", 1),
    "abs": ("abs", 1),
    "sign": ("sign", 1),
    "floor": ("floor", 1),
    "ceil": ("ceil", 1),
    "trunc": ("trunc", 1),
    "round": ("round", 1),
    "atan2": ("atan2", 2),
    "arctan2": ("atan2", 2),
    "hypot": ("hypot", 2),
    "maximum": ("maximum", 2),
    "minimum": ("minimum", 2),
    "pow": ("pow", 2),
    "power": ("pow", 2),
}

# Functions whose derivative is zero wherever it exists (steps): torch's autograd agrees.
STEPS = frozenset({"sign", "floor", "ceil", "trunc", "round"})

_HALF = n.Num(0.5)
_LN2, _LN10 = n.Num(math.log(2.0)), n.Num(math.log(10.0))


def _one_arg(name: str, u: Node) -> Node:
    """d name(u) / du, for a function of one argument."""
    if name == "sin":
        return n.call("cos", u)
    if name == "cos":
        return n.neg(n.call("sin", u))
    if name == "tan":
        return n.add(n.ONE, n.power(n.call("tan", u), n.TWO))
    if name in ("asin", "acos"):
        d = n.div(n.ONE, n.call("sqrt", n.sub(n.ONE, n.power(u, n.TWO))))
        return d if name == "asin" else n.neg(d)
    if name == "atan":
        return n.div(n.ONE, n.add(n.ONE, n.power(u, n.TWO)))
    if name == "sinh":
        return n.call("cosh", u)
    if name == "cosh":
        return n.call("sinh", u)
    if name == "tanh":
        return n.sub(n.ONE, n.power(n.call("tanh", u), n.TWO))
    if name == "asinh":
        return n.div(n.ONE, n.call("sqrt", n.add(n.power(u, n.TWO), n.ONE)))
    if name == "acosh":
        return n.div(n.ONE, n.call("sqrt", n.sub(n.power(u, n.TWO), n.ONE)))
    if name == "atanh":
        return n.div(n.ONE, n.sub(n.ONE, n.power(u, n.TWO)))
    if name in ("exp", "expm1"):
        return n.call("exp", u)
    if name == "log":
        return n.div(n.ONE, u)
    if name == "log1p":
        return n.div(n.ONE, n.add(n.ONE, u))
    if name == "log2":
        return n.div(n.ONE, n.mul(_LN2, u))
    if name == "log10":
        return n.div(n.ONE, n.mul(_LN10, u))
    if name == "sqrt":
        return n.div(_HALF, n.call("sqrt", u))
    if name == "square":
        return n.mul(n.TWO, u)
    if name == "abs":
        return n.call("sign", u)
    if name in STEPS:
        return n.ZERO
    raise KeyError(name)  # pragma: no cover - every function in FUNCTIONS is handled


def chain(name: str, args: tuple[Node, ...], dargs: tuple[Node, ...]) -> Node:
    """The derivative of ``name(*args)`` given the derivatives ``dargs`` of its arguments."""
    if len(args) == 1:
        if n.is_num(dargs[0], 0.0):
            return n.ZERO
        return n.mul(_one_arg(name, args[0]), dargs[0])
    (a, b), (da, db) = args, dargs
    if name == "atan2":  # d atan2(a, b) = (b da - a db) / (a^2 + b^2)
        top = n.sub(n.mul(b, da), n.mul(a, db))
        return n.div(top, n.add(n.power(a, n.TWO), n.power(b, n.TWO)))
    if name == "hypot":  # (a da + b db) / hypot(a, b)
        return n.div(n.add(n.mul(a, da), n.mul(b, db)), n.call("hypot", a, b))
    if name in ("maximum", "minimum"):
        # The larger (smaller) argument's derivative; half of each at a tie, as torch does.
        mean = n.mul(_HALF, n.add(da, db))
        half_gap = n.mul(_HALF, n.sub(da, db))
        side = n.call("sign", n.sub(a, b) if name == "maximum" else n.sub(b, a))
        return n.add(mean, n.mul(side, half_gap))
    if name == "pow":
        return power_rule(a, b, da, db)
    raise KeyError(name)  # pragma: no cover


def power_rule(a: Node, b: Node, da: Node, db: Node) -> Node:
    """d (a ** b): ``b a**(b-1) da`` for a number b, else ``a**b (db log a + b da / a)``."""
    if n.is_num(db, 0.0):
        if isinstance(b, n.Num):
            return n.mul(n.mul(b, n.power(a, n.Num(b.value - 1.0))), da)
        return n.mul(n.mul(b, n.power(a, n.sub(b, n.ONE))), da)
    first = n.mul(db, n.call("log", a))
    second = n.ZERO if n.is_num(da, 0.0) else n.div(n.mul(b, da), a)
    return n.mul(n.power(a, b), n.add(first, second))
