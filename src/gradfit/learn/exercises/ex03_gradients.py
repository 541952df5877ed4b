"""Exercise 3: the four gradients (NumPy).

To improve a, b, c, d, gradient descent needs how fast the loss changes with each of them.
With r = y_pred - y at every point, the loss is sum r^2, and the chain rule gives
  d loss / d a = sum 2 r,   d loss / d b = sum 2 r x,
  d loss / d c = sum 2 r x^2,   d loss / d d = sum 2 r x^3.
Return (grad_a, grad_b, grad_c, grad_d) for the points x, y at the parameters a, b, c, d.

Check it with: gradfit learn check . 3
"""

import numpy as np


def gradients(x: np.ndarray, y: np.ndarray, a: float, b: float, c: float, d: float) -> tuple:
    """(grad_a, grad_b, grad_c, grad_d): the gradient of the sum of squared errors."""
    # SOLUTION: compute y_pred, then grad_y_pred = 2 (y_pred - y), then the four sums
    y_pred = a + b * x + c * x**2 + d * x**3
    grad_y_pred = 2.0 * (y_pred - y)
    grad_a = grad_y_pred.sum()
    grad_b = (grad_y_pred * x).sum()
    grad_c = (grad_y_pred * x**2).sum()
    grad_d = (grad_y_pred * x**3).sum()
    return grad_a, grad_b, grad_c, grad_d
    # END
