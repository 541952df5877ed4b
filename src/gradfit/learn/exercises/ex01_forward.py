"""Exercise 1: the forward pass (NumPy).

The article's model is a cubic: y_pred = a + b x + c x^2 + d x^3. Given the 2000 points x
(a NumPy array) and four numbers a, b, c, d, return the prediction at every point, an array
shaped like x.

Check it with: gradfit learn check . 1
"""

import numpy as np


def predict(x: np.ndarray, a: float, b: float, c: float, d: float) -> np.ndarray:
    """y_pred = a + b x + c x^2 + d x^3, at every point of x."""
    # SOLUTION: return a + b x + c x^2 + d x^3 (x ** 2 is x squared)
    return a + b * x + c * x**2 + d * x**3
    # END
