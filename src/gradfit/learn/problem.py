"""The fixed inputs every exercise is checked on, and the reference computations (NumPy only).

The article's problem: 2000 points of ``sin(x)`` on [-pi, pi], the cubic
``y = a + b x + c x^2 + d x^3``, the sum of squared errors, learning rate 1e-6. The start is
fixed (not drawn) so that the learner's run and the reference run begin at the same point and
can be compared number for number. Both the runner (in the learner's subprocess) and the checks
import this module; it never imports torch.
"""

from __future__ import annotations

import math

import numpy as np

N = 2000
LR = 1e-6
STEPS = 2000
START = (0.1, -0.4, 0.3, 0.05)  # (a, b, c, d): where every loop starts
# Parameter points the gradient exercises are evaluated at: three, so a constant factor can
# be told from a coincidence.
POINTS = ((0.1, -0.4, 0.3, 0.05), (-0.7, 1.2, -0.2, 0.3), (0.5, 0.25, 0.9, -0.6))
POWERS = {"a": 0, "b": 1, "c": 2, "d": 3}
MOMENTUM = 0.9
MOMENTUM_STEPS = 60
# The formula model y = b1 (1 - exp(-b2 x)) (NIST's Misra1a shape) on points of its own.
FORMULA_X = np.linspace(0.5, 10.0, 40)
FORMULA_Y = 2.0 * (1.0 - np.exp(-0.3 * FORMULA_X)) + 0.05 * np.sin(3.0 * FORMULA_X)
FORMULA_POINTS = ((1.5, 0.2), (2.5, 0.5), (1.0, 0.05))


def data() -> tuple[np.ndarray, np.ndarray]:
    """The article's x and y (float64)."""
    x = np.linspace(-math.pi, math.pi, N)
    return x, np.sin(x)


def predict(x: np.ndarray, a: float, b: float, c: float, d: float) -> np.ndarray:
    return a + b * x + c * x**2 + d * x**3


def gradients(x: np.ndarray, y: np.ndarray, *params: float) -> np.ndarray:
    """The four gradients of the sum of squared errors, in the order a, b, c, d."""
    r2 = 2.0 * (predict(x, *params) - y)
    return np.array([(r2 * x**k).sum() for k in range(4)])


def stable_lr(x: np.ndarray) -> float:
    """The largest stable learning rate ``2 / lambda_max`` of the Hessian ``2 X^T X``."""
    from ..understand.analysis import gram_spectrum

    X = np.vander(np.asarray(x, dtype=np.float64), 4, increasing=True)
    return gram_spectrum(X.T @ X).stable_lr


def rate_inputs() -> list[np.ndarray]:
    """The points the stable-rate exercise is called with: the article's, and 50 in [-1, 2]."""
    return [data()[0], np.linspace(-1.0, 2.0, 50)]


def loop(
    lr: float = LR,
    steps: int = STEPS,
    start: tuple[float, ...] = START,
    scale: float = 1.0,
    accumulate: bool = False,
) -> tuple[list[float], list[float]]:
    """The article's loop from ``start``: the loss before each step and the final parameters.

    ``scale`` multiplies the gradient (``1 / N``: the gradient of the mean) and ``accumulate``
    adds each step's gradient to the last ones (``zero_grad`` forgotten): the two mistakes whose
    runs the checks compare a learner's run against.
    """
    x, y = data()
    X = np.vander(x, 4, increasing=True)  # y_pred = X @ w: the same numbers, far fewer passes
    w = np.array(start, dtype=np.float64)
    total = np.zeros(4)
    losses = []
    with np.errstate(all="ignore"):
        for _ in range(steps):
            r = X @ w - y
            losses.append(float(r @ r))
            g = scale * 2.0 * (r @ X)
            total = total + g if accumulate else g
            w = w - lr * total
    return losses, [float(v) for v in w]


def momentum_path(
    steps: int = MOMENTUM_STEPS, dampening: float = 0.0, momentum: float = MOMENTUM
) -> list[list[float]]:
    """Parameters after each step of SGD with momentum (torch.optim.SGD's formula) from START:
    ``v = momentum v + (1 - dampening) g``, ``w = w - lr v``."""
    x, y = data()
    X = np.vander(x, 4, increasing=True)
    w, v = np.array(START), np.zeros(4)
    path = []
    for _ in range(steps):
        g = 2.0 * ((X @ w - y) @ X)
        v = momentum * v + (1.0 - dampening) * g
        w = w - LR * v
        path.append([float(t) for t in w])
    return path


def p3(x: np.ndarray) -> np.ndarray:
    """Legendre P3(x) = (5 x^3 - 3 x) / 2 and, below, its derivative 1.5 (5 x^2 - 1)."""
    return 0.5 * (5 * x**3 - 3 * x)


def p3_grad(x: np.ndarray) -> np.ndarray:
    return 1.5 * (5 * x**2 - 1)


def p3_inputs() -> tuple[np.ndarray, np.ndarray]:
    """Points to evaluate P3 at, and the upstream gradient ``grad_output`` (not all ones)."""
    x = np.linspace(-1.5, 1.5, 13)
    return x, np.cos(3.0 * x) + 0.5


def formula_gradients(b1: float, b2: float) -> np.ndarray:
    """d/db1 and d/db2 of sum (b1 (1 - exp(-b2 x)) - y)^2."""
    x, y = FORMULA_X, FORMULA_Y
    e = np.exp(-b2 * x)
    r2 = 2.0 * (b1 * (1.0 - e) - y)
    return np.array([(r2 * (1.0 - e)).sum(), (r2 * b1 * x * e).sum()])


def formula_loss(b1: float, b2: float) -> float:
    return float(np.square(b1 * (1.0 - np.exp(-b2 * FORMULA_X)) - FORMULA_Y).sum())
