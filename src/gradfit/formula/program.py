"""A formula and its derivatives as one straight-line program: each distinct sub-expression
is computed once per evaluation, on NumPy or torch.

The trees of ``f`` and of every ``df/dp`` share most of their parts (``exp(-b2*x)`` appears in
``f`` and in ``df/db1`` and ``df/db2``). :class:`Program` numbers the distinct nodes of all the
trees in evaluation order - the formula's first, so that a forward pass is a prefix of the
program - and evaluates them into a list of registers. A gradient step runs the prefix for the
predictions and then the rest, reusing every value the prefix computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import nodes as n
from .nodes import Node

_BINARY_OPS = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "**": lambda a, b: a**b,
}


class Program:
    """Straight-line code for ``outputs`` (trees in ``x`` and the parameters ``params``).

    ``registers(xp, x, w)`` evaluates the first ``stop`` instructions (all by default), or
    continues a partial list; ``outputs[i]`` is then ``regs[self.out[i]]``: an array, a 0-d
    parameter expression, or a Python float for a constant.
    """

    def __init__(self, outputs: Sequence[Node], params: Sequence[str]) -> None:
        self.params = tuple(params)
        index = {name: k for k, name in enumerate(self.params)}
        self.code: list[tuple[str, Any]] = []  # (kind, payload) per register
        slot: dict[Node, int] = {}
        self.ends: list[int] = []  # after output i, len(code): the prefix that computes it

        def visit(root: Node) -> int:
            stack: list[tuple[Node, bool]] = [(root, False)]
            while stack:
                node, ready = stack.pop()
                if node in slot:
                    continue
                if isinstance(node, n.Op) and not ready:
                    stack.append((node, True))
                    stack.extend((a, False) for a in reversed(node.args))
                    continue
                if isinstance(node, n.Num):
                    self.code.append(("num", node.value))
                elif isinstance(node, n.Var):
                    if node.name == "x":
                        self.code.append(("x", None))
                    else:
                        self.code.append(("param", index[node.name]))
                else:
                    self.code.append(("op", (node.op, tuple(slot[a] for a in node.args))))
                slot[node] = len(self.code) - 1
            return slot[root]

        self.out = []
        for tree in outputs:
            self.out.append(visit(tree))
            self.ends.append(len(self.code))

    def registers(
        self, xp: Any, x: Any, w: Any, stop: int | None = None, regs: list[Any] | None = None
    ) -> list[Any]:
        """Evaluate instructions ``len(regs) .. stop - 1`` into ``regs`` (a new list if None)."""
        regs = [] if regs is None else regs
        end = len(self.code) if stop is None else stop
        for kind, payload in self.code[len(regs) : end]:
            if kind == "num":
                regs.append(payload)
            elif kind == "x":
                regs.append(x)
            elif kind == "param":
                regs.append(w[payload])
            else:
                op, args = payload
                values = [regs[i] for i in args]
                if op == "neg":
                    regs.append(-values[0])
                elif op in _BINARY_OPS:
                    regs.append(_BINARY_OPS[op](*values))
                elif len(values) == 1:
                    regs.append(getattr(xp, op)(values[0]))
                else:  # torch's two-argument functions want tensors, not floats
                    regs.append(getattr(xp, op)(*(_lift(xp, v, x) for v in values)))
        return regs


def _lift(xp: Any, value: Any, x: Any) -> Any:
    """A number as an array like ``x``."""
    if isinstance(value, float):
        return xp.zeros_like(x) + value
    return value
