"""Formula text to a checked syntax tree, by a whitelist; nothing in the text ever runs.

The text is parsed with :func:`ast.parse` (which only builds Python's syntax tree) and that tree
is checked node by node: numbers, the names ``x``, ``pi``, ``e``, ``tau``, parameter names (when
the formula may have parameters), calls of the functions in
:data:`gradfit.formula.functions.FUNCTIONS` by name, the operators ``+ - * / **`` and unary
``+ -``. Anything else - attributes, subscripts, lambdas, comprehensions, keywords, strings,
comparisons - is refused with one :class:`~gradfit.errors.UsageError` line before anything is
evaluated. Nothing is passed to ``eval``, ``exec`` or ``compile``.

Blow-ups are bounded: at most :data:`MAX_LENGTH` characters and :data:`MAX_NODES` syntax nodes,
and all arithmetic is floating point (``9**9**9`` is an overflow to inf, reported as "not
finite", never a huge integer). Sub-expressions of numbers alone are folded to one float64.
"""

from __future__ import annotations

import ast
import keyword
import math

from ..errors import UsageError
from . import nodes as n
from .functions import CONSTANTS, FUNCTIONS
from .nodes import Node

MAX_LENGTH = 1000
MAX_NODES = 300

_BINARY: dict[type, str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Pow: "**",
}

# How a refused construct is named in the error message.
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


def parse_tree(
    text: str, option: str = "--target", parameters: bool = False
) -> tuple[str, Node, tuple[str, ...]]:
    """Check ``text``; return (the text stripped, its tree, the parameter names in order of
    first appearance). Raise :class:`UsageError` naming ``option`` for anything not allowed.

    ``parameters=False``: a formula in x alone (``--target``); every other name is an error.
    ``parameters=True``: every name that is not x, a constant or a function is a parameter.
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
            f"{option} {clip(source)!r} is not a valid formula ({exc.msg}{where}); "
            "write it as in Python, e.g. 'exp(-x**2) * cos(3*x)'"
        ) from None
    except (ValueError, RecursionError, MemoryError):  # null bytes, absurd nesting
        raise UsageError(f"{option} {clip(source)!r} is not a valid formula") from None
    for count, _ in enumerate(ast.walk(tree), start=1):  # iterative: safe on deep trees
        if count > MAX_NODES:
            raise UsageError(f"{option} is too complex (more than {MAX_NODES} syntax nodes)")
    builder = _Builder(option, source, parameters)
    try:
        node = builder.build(tree.body)
    except RecursionError:  # pragma: no cover - MAX_NODES keeps trees shallow
        raise UsageError(f"{option} {clip(source)!r} is nested too deeply") from None
    return source, node, tuple(builder.params)


class _Builder:
    """Turns a whitelisted Python syntax tree into formula nodes (never into code)."""

    def __init__(self, option: str, source: str, parameters: bool) -> None:
        self.option = option
        self.source = source
        self.parameters = parameters
        self.params: list[str] = []  # in order of first appearance (a left-to-right walk)

    def fail(self, what: str) -> UsageError:
        return UsageError(f"{self.option} {clip(self.source)!r}: {what}")

    def build(self, node: ast.AST) -> Node:
        if isinstance(node, ast.Constant):
            return n.Num(self._constant(node))
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
            operand = self.build(node.operand)
            if isinstance(node.op, ast.UAdd):
                return operand
            return self._checked(n.Op("neg", (operand,)), node)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = self.build(node.left), self.build(node.right)
            return self._checked(n.Op(_BINARY[type(node.op)], (left, right)), node)
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
            raise self.fail(f"the number {clip(literal)} is too large for a float")
        return number

    def _name(self, node: ast.Name) -> Node:
        name = node.id
        if name == "x":
            return n.Var("x")
        if name in CONSTANTS:
            return n.Num(CONSTANTS[name])
        if name in FUNCTIONS:
            raise self.fail(f"{name} is a function; call it, as in {name}(x)")
        if self.parameters:
            if name.startswith("_") or keyword.iskeyword(name) or not name.isidentifier():
                raise self.fail(f"{name!r} cannot be a parameter name; use letters and digits")
            if name not in self.params:
                self.params.append(name)
            return n.Var(name)
        raise self.fail(
            f"unknown name {name!r}; use x, pi, e, tau, numbers and functions such as "
            f"{', '.join(list(FUNCTIONS)[:6])}, ... (see 'gradfit fit --help')"
        )

    def _call(self, node: ast.Call) -> Node:
        if isinstance(node.func, ast.Attribute):
            raise self.fail("attribute access (.) is not allowed; call functions by name: sin(x)")
        if not isinstance(node.func, ast.Name):
            raise self.fail("only functions called by name, such as sin(x), are allowed")
        name = node.func.id
        if name not in FUNCTIONS:
            if name == "x" or name in CONSTANTS:
                raise self.fail(f"{name} is not a function; write {name} * (...) to multiply")
            if self.parameters:
                raise self.fail(
                    f"unknown function {name!r} (a parameter cannot be called: write "
                    f"{name}*(...) to multiply); allowed: {', '.join(sorted(FUNCTIONS))}"
                )
            raise self.fail(f"unknown function {name!r}; allowed: {', '.join(sorted(FUNCTIONS))}")
        if node.keywords:
            raise self.fail(f"{name}() takes no keyword arguments")
        api_name, arity = FUNCTIONS[name]
        if len(node.args) != arity:
            raise self.fail(f"{name}() takes {arity} argument(s), got {len(node.args)}")
        args = tuple(self.build(a) for a in node.args)
        return self._checked(n.Op(api_name, args), node)

    def _checked(self, op: n.Op, node: ast.AST) -> Node:
        """``op``, folded to one number when its arguments are all numbers; that number must
        be finite."""
        if not all(isinstance(a, n.Num) for a in op.args):
            return op
        value = n.fold_value(op.op, *(a.value for a in op.args))  # type: ignore[union-attr]
        if math.isfinite(value):
            return n.Num(value)
        part = ast.get_source_segment(self.source, node) or self.source
        raise self.fail(f"{clip(part)!r} is not finite (it evaluates to {value})")


def clip(text: str, limit: int = 60) -> str:
    """Long user text shortened for a one-line message."""
    return text if len(text) <= limit else text[: limit - 3] + "..."
