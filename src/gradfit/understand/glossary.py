"""The words gradfit's explanations use, each with a one-line definition in plain language.

This table is the one place the definitions live: ``gradfit explain --plain`` prints the ones an
explanation actually used (:func:`plain_words`), and ``docs/glossary.md`` lists every one of them
word for word under "In one line" (``tests/test_glossary.py`` fails if the two drift apart).
Each entry also says how to recognise the term in printed text (a regular expression), so that
only the words a reader has just seen are defined.

>>> [term for term, _ in plain_words("your lr 1e-06 is 0.281 x the stable limit")]
['learning rate', 'stable rate']
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    """A word, its one-line definition, and the pattern that finds it in an explanation."""

    term: str
    definition: str
    pattern: str  # case-insensitive regular expression


TERMS: tuple[Term, ...] = (
    Term(
        "loss",
        "one number that says how badly the model fits the data; training makes it smaller",
        r"\bloss\b",
    ),
    Term(
        "sum of squared errors",
        "add up (prediction - data)^2 over all the points: the article's loss",
        r"squared errors|sum\(\(y_pred - y\)\^2\)",
    ),
    Term(
        "residual",
        "the gap between the data and the model's prediction at one point",
        r"residual|y_pred - y",
    ),
    Term(
        "gradient",
        "how fast the loss changes when each parameter moves a little; it points uphill",
        r"gradient|\bgrad_|dL/d",
    ),
    Term(
        "chain rule",
        "the calculus rule for the derivative of a function inside another function",
        r"chain rule",
    ),
    Term(
        "gradient descent",
        "repeat: compute the gradient, move every parameter a small step against it",
        r"gradient descent",
    ),
    Term(
        "full-batch",
        "every step's gradient uses all the data points, not a sample of them",
        r"full-batch",
    ),
    Term(
        "mini-batch",
        "each step's gradient uses a sample of the points: cheaper steps, a noisier path",
        r"mini-batch|--batch-size",
    ),
    Term(
        "autograd",
        "PyTorch works out the gradient itself (loss.backward()), no hand-made formulas",
        r"autograd|backward\(\)",
    ),
    Term(
        "forward pass",
        "computing the model's predictions (and the loss) from the inputs and parameters",
        r"forward pass|\bforward\b",
    ),
    Term(
        "backward pass",
        "computing the gradients by going back through the forward pass with the chain rule",
        r"backward pass|\bbackward\b",
    ),
    Term(
        "zero_grad",
        "clearing the stored gradients before the next backward pass; else PyTorch adds to them",
        r"zero_grad",
    ),
    Term(
        "finite differences",
        "a gradient estimated by nudging one parameter a tiny amount and watching the loss",
        r"finite difference",
    ),
    Term(
        "learning rate",
        "the size of each step (lr): too small is slow, too large blows up",
        r"\blr\b|learning rate",
    ),
    Term(
        "least squares",
        "fitting by making the sum of squared errors as small as possible",
        r"least[- ]squares",
    ),
    Term(
        "optimum",
        "the best parameters there are: the lowest loss any run could reach",
        r"\boptimum",
    ),
    Term(
        "closed form",
        "an answer computed directly by solving equations, with no steps of training",
        r"closed[- ]form|numpy\.polynomial",
    ),
    Term(
        "design matrix",
        "X: a row per point, a column per power of x; X^T X sums their products",
        r"X\^T X",
    ),
    Term(
        "Hessian",
        "how sharply the loss bends as the parameters move: the gradient of the gradient",
        r"Hessian",
    ),
    Term(
        "curvature",
        "how sharply the loss bends, like the floor of a valley (the Hessian's numbers)",
        r"curvature",
    ),
    Term(
        "eigenvalue",
        "how sharply the loss bends along one of its independent directions (lambda)",
        r"eigenvalue|lambda_m",
    ),
    Term(
        "condition number",
        "the steepest bend over the flattest: the larger, the more steps needed",
        r"condition(ing| number)",
    ),
    Term(
        "stiffest direction",
        "the mix of parameters the loss reacts to most (largest eigenvalue)",
        r"stiff",
    ),
    Term(
        "flattest direction",
        "the slack mix of parameters the loss barely notices (smallest eigenvalue)",
        r"flattest|slack",
    ),
    Term(
        "stable rate",
        "the largest learning rate, 2 / lambda_max, at which the steps do not blow up",
        r"stable (lr|rate|limit)|stable below",
    ),
    Term(
        "best constant rate",
        "2 / (lambda_min + lambda_max), the fixed rate that is fastest",
        r"best (constant )?(lr|rate)",
    ),
    Term(
        "per-step factor",
        "what each step multiplies the slowest error by: below 1 it shrinks",
        r"per-step factor|contracts by",
    ),
    Term(
        "converge",
        "come as close to the optimum as asked, and stay there",
        r"converge",
    ),
    Term(
        "diverge",
        "the loss grows without bound instead of shrinking; the run stops with an error",
        r"diverge|blow up",
    ),
    Term(
        "lr auto",
        "gradfit picks the learning rate from the curvature of this problem's loss",
        r"--lr auto",
    ),
    Term(
        "momentum",
        "each step keeps part of the previous one, like a heavy ball rolling downhill",
        r"momentum",
    ),
    Term(
        "Nesterov",
        "momentum that looks one step ahead before it computes the gradient",
        r"Nesterov",
    ),
    Term(
        "Adam",
        "an optimizer that scales each parameter's step by the history of its own gradients",
        r"\bAdam\b",
    ),
    Term(
        "RMSprop",
        "divides each parameter's step by the typical size (RMS) of its recent gradients",
        r"RMSprop",
    ),
    Term(
        "L-BFGS",
        "a quasi-Newton method: it estimates the curvature from recent gradients to aim steps",
        r"L-BFGS|lbfgs",
    ),
    Term(
        "scaling",
        "mapping x to [-1, 1] before fitting, so that the powers of x have similar sizes",
        r"--scale|mapped to",
    ),
    Term(
        "orthogonal basis",
        "polynomials (Legendre, Chebyshev) that hardly overlap on [-1, 1]",
        r"orthogonal|Legendre|Chebyshev",
    ),
    Term(
        "Jacobian",
        "the table of how much each prediction moves when each parameter moves a little (J)",
        r"Jacobian|\bJ\b",
    ),
    Term(
        "Gauss-Newton",
        "solve the model's straight-line approximation for the whole step at once",
        r"Gauss-Newton|linearised",
    ),
    Term(
        "Levenberg-Marquardt",
        "Gauss-Newton with a brake that leans toward gradient descent",
        r"Levenberg|--optimizer lm",
    ),
    Term(
        "preconditioning",
        "measuring each parameter in its own units, so one learning rate suits all",
        r"precondition|scaled to each parameter",
    ),
    Term(
        "not identifiable",
        "the data cannot tell these parameters apart: they move, the fit does not",
        r"identifiable",
    ),
    Term(
        "standard error",
        "how much a fitted value would vary if the data were measured again, same noise",
        r"standard error|\+/-",
    ),
    Term(
        "R^2",
        "the share of the variation in y that the fit explains: 1 is perfect",
        r"\bR\^2",
    ),
    Term(
        "float32, float64",
        "single and double precision numbers: about 7 and 16 significant digits",
        r"float(32|64)",
    ),
)

GLOSSARY: dict[str, str] = {t.term: t.definition for t in TERMS}


def plain_words(text: str) -> list[tuple[str, str]]:
    """``(term, definition)`` for every glossary term that ``text`` uses, in the order the text
    first uses them."""
    found = []
    for t in TERMS:
        match = re.search(t.pattern, text, flags=re.IGNORECASE)
        if match is not None:
            found.append((match.start(), t.term, t.definition))
    found.sort(key=lambda item: item[0])
    return [(term, definition) for _, term, definition in found]


def render_plain(text: str) -> str:
    """``In plain words:`` and one ``term: definition`` line per term ``text`` used."""
    return "\n".join(["In plain words:", *(f"  {t}: {d}" for t, d in plain_words(text))])


__all__ = ["GLOSSARY", "TERMS", "Term", "plain_words", "render_plain"]
