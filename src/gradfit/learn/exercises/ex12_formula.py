"""Exercise 12: the gradient of a formula model.

Not every model is a polynomial. NIST's Misra1a data follow y = b1 (1 - exp(-b2 x)). With
r = y_pred - y and loss = sum r^2, the chain rule gives
  d loss / d b1 = sum 2 r (1 - exp(-b2 x)),
  d loss / d b2 = sum 2 r b1 x exp(-b2 x)   (the x comes from the inner -b2 x).
Return (grad_b1, grad_b2). The check compares them with finite differences of the loss.

Check it with: gradfit learn check . 12
"""

import numpy as np


def gradients(x: np.ndarray, y: np.ndarray, b1: float, b2: float) -> tuple:
    """(grad_b1, grad_b2) of the sum of squared errors of y_pred = b1 (1 - exp(-b2 x))."""
    # SOLUTION: e = np.exp(-b2 * x); r = b1 * (1 - e) - y; then the two sums
    e = np.exp(-b2 * x)
    r = b1 * (1.0 - e) - y
    return (2.0 * r * (1.0 - e)).sum(), (2.0 * r * b1 * x * e).sum()
    # END
