"""Symbolic differentiation of a formula tree, the rules a textbook states.

``derivative(tree, "b2")`` is the tree of d tree / d b2, built with the simplifying constructors
of :mod:`gradfit.formula.nodes` so it reads like a hand-derived gradient (the article's
``grad_c = (grad_y_pred * x ** 2).sum()`` comes from ``d/dc (c*x**2) = x**2``). Shared
sub-trees are differentiated once.
"""

from __future__ import annotations

from . import nodes as n
from .functions import chain, power_rule
from .nodes import Node


def derivative(tree: Node, name: str) -> Node:
    """d ``tree`` / d ``name`` (``name``: a parameter, or ``x``)."""
    memo: dict[Node, Node] = {}

    def d(node: Node) -> Node:
        if isinstance(node, n.Num):
            return n.ZERO
        if isinstance(node, n.Var):
            return n.ONE if node.name == name else n.ZERO
        if name not in n.variables(node):
            return n.ZERO
        done = memo.get(node)
        if done is not None:
            return done
        args = node.args
        op = node.op
        if op == "neg":
            out = n.neg(d(args[0]))
        elif op == "+":
            out = n.add(d(args[0]), d(args[1]))
        elif op == "-":
            out = n.sub(d(args[0]), d(args[1]))
        elif op == "*":  # product rule
            a, b = args
            out = n.add(n.mul(d(a), b), n.mul(a, d(b)))
        elif op == "/":  # quotient rule: da / b - a db / b^2
            a, b = args
            da, db = d(a), d(b)
            left = n.div(da, b)
            right = n.ZERO if n.is_num(db, 0.0) else n.div(n.mul(a, db), n.power(b, n.TWO))
            out = n.sub(left, right)
        elif op == "**":
            a, b = args
            out = power_rule(a, b, d(a), d(b))
        else:  # a function: the chain rule
            out = chain(op, args, tuple(d(a) for a in args))
        memo[node] = out
        return out

    return d(tree)
