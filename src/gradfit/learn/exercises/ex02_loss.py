"""Exercise 2: the loss (NumPy).

How wrong is a prediction? The article adds up the squared errors over all points:
loss = sum over i of (y_pred[i] - y[i])^2. Return that number (a float).

Check it with: gradfit learn check . 2
"""

import numpy as np


def loss(y_pred: np.ndarray, y: np.ndarray) -> float:
    """The sum of squared errors between y_pred and y."""
    # SOLUTION: return the sum of (y_pred - y) ** 2 over all points
    return float(np.square(y_pred - y).sum())
    # END
