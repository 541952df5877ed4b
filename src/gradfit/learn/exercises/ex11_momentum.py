"""Exercise 11: momentum.

Plain gradient descent crawls along the flat directions of the loss. Momentum keeps a velocity
v, a running sum of past gradients, and moves along it (torch.optim.SGD's formula):
  v = momentum * v + grad,   w = w - lr * v.
w, v and grad are NumPy arrays (a, b, c, d and their velocities); return the new (w, v).
The check runs 60 steps from v = 0 with lr 1e-6 and momentum 0.9.

Check it with: gradfit learn check . 11
"""

import numpy as np


def momentum_step(
    w: np.ndarray, v: np.ndarray, grad: np.ndarray, lr: float, momentum: float
) -> tuple:
    """(w, v) after one step of SGD with momentum."""
    # SOLUTION: update v first, then w
    v = momentum * v + grad
    w = w - lr * v
    return w, v
    # END
