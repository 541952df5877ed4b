"""A formula and its derivatives as one straight-line program: each distinct sub-expression
is computed once per evaluation, on NumPy or torch.

The trees of ``f`` and of every ``df/dp`` share most of their parts (``exp(-b2*x)`` appears in
``f`` and in ``df/db1`` and ``df/db2``). :class:`Program` numbers the distinct nodes of all the
trees in evaluation order - the formula's first, so that a forward pass is a prefix of the
program - and evaluates them into a list of registers. A gradient step runs the prefix for the
predictions and then the rest, reusing every value the prefix computed.

A fit evaluates the program at many parameters on the same x, so :meth:`Program.bind` splits
it once per x (:class:`Bound`): the registers that depend on x alone (``x**2``, ``x**3`` of a
rational, ``log(x)``) and the constants are computed once, and each step runs only the
instructions that involve a parameter, each already resolved to the function it calls (no
per-step dispatch on names). The values are the same operations on the same numbers, so a
bound evaluation gives exactly what :meth:`Program.registers` gives.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

from . import nodes as n
from .nodes import Node

_BINARY_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
}

# What a register depends on (bits): nothing (a number), x, the parameters.
_CONST, _DATA, _PARAM = 0, 1, 2


class Program:
    """Straight-line code for ``outputs`` (trees in ``x`` and the parameters ``params``).

    ``registers(xp, x, w)`` evaluates the first ``stop`` instructions (all by default), or
    continues a partial list; ``outputs[i]`` is then ``regs[self.out[i]]``: an array, a 0-d
    parameter expression, or a Python float for a constant. ``bind(xp, x)`` prepares the same
    evaluation for many parameter values on one x (see :class:`Bound`).
    """

    def __init__(self, outputs: Sequence[Node], params: Sequence[str]) -> None:
        self.params = tuple(params)
        index = {name: k for k, name in enumerate(self.params)}
        self.code: list[tuple[str, Any]] = []  # (kind, payload) per register
        self.deps: list[int] = []  # per register: _CONST | _DATA | _PARAM bits
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
                    self.deps.append(_CONST)
                elif isinstance(node, n.Var):
                    if node.name == "x":
                        self.code.append(("x", None))
                        self.deps.append(_DATA)
                    else:
                        self.code.append(("param", index[node.name]))
                        self.deps.append(_PARAM)
                else:
                    args = tuple(slot[a] for a in node.args)
                    self.code.append(("op", (node.op, args)))
                    dep = _CONST
                    for a in args:
                        dep |= self.deps[a]
                    self.deps.append(dep)
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
                regs.append(_apply(xp, op, values, x))
        return regs

    def depends_on_x(self, register: int) -> bool:
        """Whether the value of ``register`` involves x (an array of x's shape, then)."""
        return bool(self.deps[register] & _DATA)

    def depends_on_params(self, register: int) -> bool:
        """Whether the value of ``register`` involves a parameter (it changes every step)."""
        return bool(self.deps[register] & _PARAM)

    def signed_derivatives(self) -> tuple[list[tuple[int, bool]], frozenset[int]]:
        """Where each derivative (``outputs[1:]``) is read: ``(register, negate)``, and the
        negations that then need not run.

        A derivative that is ``-(u)`` of an array ``u`` (``d/db5`` of a rational, ``d/db2`` of a
        decay) is read as ``u`` and negated where it is used - ``-sum(g*u)`` in a gradient, a
        negating copy into a Jacobian's column - which saves a pass over the data; the values
        are the same (negation is exact). Only where nothing else reads the negation.
        """
        used = {a for kind, payload in self.code if kind == "op" for a in payload[1]}
        used.add(self.out[0])
        columns: list[tuple[int, bool]] = []
        skip: set[int] = set()
        for reg in self.out[1:]:
            kind, payload = self.code[reg]
            if kind == "op" and payload[0] == "neg" and reg not in used and self.deps[reg] & _DATA:
                columns.append((payload[1][0], True))
                skip.add(reg)
            else:
                columns.append((reg, False))
        return columns, frozenset(skip)

    def bind(self, xp: Any, x: Any, skip: frozenset[int] = frozenset()) -> Bound:
        """This program on the data ``x``, ready to run at any parameters (see :class:`Bound`);
        the instructions in ``skip`` are left out (their registers stay None)."""
        return Bound(self, xp, x, skip)


def _apply(xp: Any, op: str, values: list[Any], x: Any) -> Any:
    """One instruction: an operator or a function of the namespace ``xp``."""
    if op == "neg":
        return -values[0]
    if op in _BINARY_OPS:
        return _BINARY_OPS[op](*values)
    if len(values) == 1:
        return getattr(xp, op)(values[0])
    # torch's two-argument functions want tensors, not floats
    return getattr(xp, op)(*(_lift(xp, v, x) for v in values))


class Bound:
    """A :class:`Program` bound to one x: what depends on x alone is computed here, once.

    ``run(w, stop)`` evaluates the program at parameters ``w`` up to instruction ``stop`` (all
    by default), or continues a list it returned before (``regs``), and returns the registers:
    the same values, in the same places, as ``program.registers(xp, x, w, stop, regs)``. The
    per-step instructions are the parameters' loads (``loads``: register, index into w) and
    ``steps``: ``(register, function, first argument, second argument or -1)``, the function
    already looked up (``operator.mul``, ``numpy.exp``); a constant argument of a two-argument
    function is lifted to an array of x's shape here, once.
    """

    def __init__(
        self, program: Program, xp: Any, x: Any, skip: frozenset[int] = frozenset()
    ) -> None:
        self.program = program
        self.xp = xp
        self.x = x
        code = program.code
        base: list[Any] = [None] * len(code)
        steps: list[tuple[int, Callable[..., Any], int, int]] = []
        extra: list[Any] = []  # lifted constants, in registers after the program's own
        loads: list[tuple[int, int]] = []  # (register, parameter index)

        def lifted(i: int) -> int:
            if isinstance(base[i], float) and program.deps[i] == _CONST:
                extra.append(_lift(xp, base[i], x))
                return len(code) + len(extra) - 1
            return i

        for i, (kind, payload) in enumerate(code):
            dep = program.deps[i]
            if kind == "num":
                base[i] = payload
            elif kind == "x":
                base[i] = x
            elif kind == "param":
                loads.append((i, payload))
            elif i in skip:
                continue
            elif not dep & _PARAM:  # x and numbers only: computed now, once per fit
                op, args = payload
                base[i] = _apply(xp, op, [base[a] for a in args], x)
            else:
                op, args = payload
                if op == "neg":
                    steps.append((i, operator.neg, args[0], -1))
                elif op in _BINARY_OPS:
                    steps.append((i, _BINARY_OPS[op], args[0], args[1]))
                elif len(args) == 1:
                    steps.append((i, getattr(xp, op), args[0], -1))
                else:
                    steps.append((i, getattr(xp, op), lifted(args[0]), lifted(args[1])))
        self.base = base + extra
        self.loads = loads
        self.steps = steps
        # Where each prefix of the program ends among the steps.
        self._step_ends = {len(code): len(steps)}
        for end in program.ends:
            self._step_ends[end] = sum(1 for s in steps if s[0] < end)

    def run(self, w: Any, stop: int | None = None, regs: Registers | None = None) -> Registers:
        """The registers at parameters ``w``, instructions up to ``stop`` (all by default);
        continuing ``regs`` in place, a list this method returned for the same ``w``."""
        end = self._step_ends[len(self.program.code) if stop is None else stop]
        if regs is None:
            regs = Registers(self.base)
            for i, k in self.loads:  # the parameters, in their registers
                regs[i] = w[k]
        for i, f, a, b in self.steps[regs.done : end]:
            if b < 0:
                regs[i] = f(regs[a])
            else:
                regs[i] = f(regs[a], regs[b])
        if end > regs.done:
            regs.done = end
        return regs


class Registers(list):
    """The registers of a :class:`Bound` run, and how many of its steps have run (``done``)."""

    __slots__ = ("done",)

    def __init__(self, values: list[Any]) -> None:
        super().__init__(values)
        self.done = 0


def _lift(xp: Any, value: Any, x: Any) -> Any:
    """A number as an array like ``x``."""
    if isinstance(value, float):
        return xp.zeros_like(x) + value
    return value
