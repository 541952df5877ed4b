"""Safe formulas in x, such as ``exp(-x**2) * cos(3*x)``, for ``--target``.

The text is parsed with :func:`ast.parse` (which only builds a syntax tree) and the tree is
checked against a whitelist: numbers, the names ``x``, ``pi``, ``e``, ``tau``, calls of the
functions in :data:`FUNCTIONS` by name, the operators ``+ - * / **`` and unary ``+ -``. Anything
else (attributes, subscripts, lambdas, comprehensions, keywords, strings, comparisons, any other
name) is rejected with a one-line :class:`~gradfit.errors.UsageError` before anything runs.
Nothing is ever passed to ``eval``, ``exec`` or ``compile``: the checked tree is turned into a
tree of small Python closures that call the backend's array functions (``xp.sin`` ...), so
``sin(x)`` on torch float32 gives exactly the values ``torch.sin(x)`` gives.

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

import ast
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import UsageError

MAX_LENGTH = 1000
MAX_NODES = 300

CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}

# Function name in expressions -> (name in the Array API namespace, number of arguments).
# NumPy's spellings (arcsin, power, ...) are accepted as aliases of the Array API ones.
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

_BINARY: dict[type, tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("+", lambda a, b: a + b),
    ast.Sub: ("-", lambda a, b: a - b),
    ast.Mult: ("*", lambda a, b: a * b),
    ast.Div: ("/", lambda a, b: a / b),
    ast.Pow: ("**", lambda a, b: a**b),
}

# How a rejected construct is named in the error message.
_NODE_WORDS: dict[type, str] = {
    ast.Attribute: "attribute access (.) is",
    ast.Subscript: "indexing ([]) is",
    ast.Lambda: "lambda is",
    ast.ListComp: "comprehensions are",
    ast.SetComp: "comprehensions are",
    ast.DictComp: "comprehensions are",
    ast.GeneratorExp: "comprehensions are",
    ast.Compare: "comparisons are",
    ast.BoolOp: "and/or are",
    ast.IfExp: "if/else is",
    ast.NamedExpr: "assignment (:=) is",
    ast.Starred: "* unpacking is",
    ast.JoinedStr: "strings are",
    ast.List: "lists are",
    ast.Tuple: "tuples are",
    ast.Dict: "dicts are",
    ast.Set: "sets are",
    ast.Await: "await is",
    ast.Yield: "yield is",
    ast.YieldFrom: "yield is",
}

Evaluator = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class Expression:
    """A checked formula in ``x``. Call it as ``expr(xp, x)`` with an array namespace ``xp``.

    ``text`` is the formula as given. The result has the shape of ``x`` (a formula without
    ``x``, such as ``pi``, is broadcast to it).
    """

    text: str
    _evaluate: Evaluator

    def __call__(self, xp: Any, x: Any) -> Any:
        value = self._evaluate(xp, x)
        if isinstance(value, float):  # no x in the formula: a constant
            value = xp.zeros_like(x) + value
        return value

    def __str__(self) -> str:
        return self.text


def parse_expression(text: str, option: str = "--target") -> Expression:
    """Parse and check ``text``; raise :class:`UsageError` naming ``option`` if it is not allowed.

    Nothing in ``text`` is executed: see the module docstring for what is allowed.
    """
    if not isinstance(text, str):
        raise UsageError(f"{option} must be a formula in x such as 'sin(x)', got {text!r}")
    source = text.strip()
    if not source:
        raise UsageError(f"{option} is empty; give a formula in x such as 'sin(x)'")
    if len(source) > MAX_LENGTH:
        raise UsageError(
            f"{option} is {len(source)} characters long; formulas are limited to {MAX_LENGTH}"
        )
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        where = f" at column {exc.offset}" if exc.offset else ""
        raise UsageError(
            f"{option} {_clip(source)!r} is not a valid formula ({exc.msg}{where}); "
            "write it as in Python, e.g. 'exp(-x**2) * cos(3*x)'"
        ) from None
    except (ValueError, RecursionError, MemoryError):  # null bytes, absurd nesting
        raise UsageError(f"{option} {_clip(source)!r} is not a valid formula") from None
    for count, _ in enumerate(ast.walk(tree), start=1):  # iterative: safe on deep trees
        if count > MAX_NODES:
            raise UsageError(f"{option} is too complex (more than {MAX_NODES} syntax nodes)")
    try:
        evaluate = _Compiler(option, source).build(tree.body)
    except RecursionError:  # pragma: no cover - MAX_NODES keeps trees shallow
        raise UsageError(f"{option} {_clip(source)!r} is nested too deeply") from None
    if isinstance(evaluate, float):  # no x at all, e.g. "pi"
        constant = evaluate
        return Expression(source, lambda xp, x: constant)
    return Expression(source, evaluate)


class _Compiler:
    """Turns a whitelisted syntax tree into nested closures (never into Python code)."""

    def __init__(self, option: str, source: str) -> None:
        self.option = option
        self.source = source

    def fail(self, what: str) -> UsageError:
        return UsageError(f"{self.option} {_clip(self.source)!r}: {what}")

    def build(self, node: ast.AST) -> Evaluator | float:
        """A closure ``(xp, x) -> value``, or a float when ``node`` does not involve x."""
        if isinstance(node, ast.Constant):
            return self._constant(node)
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
            operand = self.build(node.operand)
            if isinstance(node.op, ast.UAdd):
                return operand
            if isinstance(operand, float):
                return self._fold(lambda: -np.float64(operand), node)
            return lambda xp, x: -operand(xp, x)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return self._binary(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.UnaryOp):
            raise self.fail("only unary + and - are allowed")
        if isinstance(node, ast.BinOp):
            raise self.fail("only the operators + - * / ** are allowed")
        what = _NODE_WORDS.get(type(node), f"{type(node).__name__} is")
        raise self.fail(f"{what} not allowed; use numbers, x, pi, e and functions like sin(x)")

    def _constant(self, node: ast.Constant) -> float:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(f"{value!r} is not a number; only numbers and x are allowed")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            literal = ast.get_source_segment(self.source, node) or repr(value)
            raise self.fail(f"the number {_clip(literal)} is too large for a float")
        return number

    def _name(self, node: ast.Name) -> Evaluator | float:
        name = node.id
        if name == "x":
            return lambda xp, x: x
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in FUNCTIONS:
            raise self.fail(f"{name} is a function; call it, as in {name}(x)")
        raise self.fail(
            f"unknown name {name!r}; use x, pi, e, tau, numbers and functions such as "
            f"{', '.join(list(FUNCTIONS)[:6])}, ... (see 'gradfit fit --help')"
        )

    def _binary(self, node: ast.BinOp) -> Evaluator | float:
        _, op = _BINARY[type(node.op)]
        left, right = self.build(node.left), self.build(node.right)
        if isinstance(left, float) and isinstance(right, float):
            a, b = left, right
            return self._fold(lambda: op(np.float64(a), np.float64(b)), node)
        if isinstance(left, float):
            a, g = left, right
            return lambda xp, x: op(a, g(xp, x))
        if isinstance(right, float):
            f, b = left, right
            return lambda xp, x: op(f(xp, x), b)
        f, g = left, right
        return lambda xp, x: op(f(xp, x), g(xp, x))

    def _call(self, node: ast.Call) -> Evaluator | float:
        if isinstance(node.func, ast.Attribute):
            raise self.fail("attribute access (.) is not allowed; call functions by name: sin(x)")
        if not isinstance(node.func, ast.Name):
            raise self.fail("only functions called by name, such as sin(x), are allowed")
        name = node.func.id
        if name not in FUNCTIONS:
            if name == "x" or name in CONSTANTS:
                raise self.fail(f"{name} is not a function; write {name} * (...) to multiply")
            raise self.fail(f"unknown function {name!r}; allowed: {', '.join(sorted(FUNCTIONS))}")
        if node.keywords:
            raise self.fail(f"{name}() takes no keyword arguments")
        api_name, arity = FUNCTIONS[name]
        if len(node.args) != arity:
            raise self.fail(f"{name}() takes {arity} argument(s), got {len(node.args)}")
        args = [self.build(a) for a in node.args]
        if all(isinstance(a, float) for a in args):
            np_func = getattr(np, _NUMPY_NAMES.get(api_name, api_name))
            return self._fold(lambda: np_func(*(np.float64(a) for a in args)), node)
        if arity == 1:
            (f,) = args
            return lambda xp, x: getattr(xp, api_name)(f(xp, x))
        return lambda xp, x: getattr(xp, api_name)(*(_lift(xp, a, x) for a in args))

    def _fold(self, compute: Callable[[], Any], node: ast.AST) -> float:
        """Evaluate a sub-expression without x once, in float64; it must be finite."""
        with np.errstate(all="ignore"):
            value = float(compute())
        if not math.isfinite(value):
            part = ast.get_source_segment(self.source, node) or self.source
            raise self.fail(f"{_clip(part)!r} is not finite (it evaluates to {value})")
        return value


# Array API names whose NumPy spelling differs (used only when folding constants).
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


def _lift(xp: Any, arg: Evaluator | float, x: Any) -> Any:
    """An argument of a two-argument function as an array like x (torch wants tensors)."""
    if isinstance(arg, float):
        return xp.zeros_like(x) + arg
    return arg(xp, x)


def _clip(text: str, limit: int = 60) -> str:
    """Long user text shortened for a one-line message."""
    return text if len(text) <= limit else text[: limit - 3] + "..."
