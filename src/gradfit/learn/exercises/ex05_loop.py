"""Exercise 5: the training loop (NumPy).

Put exercises 1-4 together, as the article does: for each of `steps` steps, predict, compute
the loss (record it in a list BEFORE updating), compute the four gradients and update a, b, c,
d with learning rate lr. Return (losses, (a, b, c, d)): the list of `steps` losses and the
final parameters. The check calls train(..., lr=LEARNING_RATE, steps=2000).

Before you run it: a learning rate that is too large makes the loss explode. Exercise 6
computes where "too large" starts; try LEARNING_RATE = 1e-5 and see what the check says.

Check it with: gradfit learn check . 5
"""

import numpy as np

LEARNING_RATE = 1e-6


def train(
    x: np.ndarray, y: np.ndarray, a: float, b: float, c: float, d: float, lr: float, steps: int
) -> tuple:
    """(losses, (a, b, c, d)): the article's loop from the start a, b, c, d."""
    # SOLUTION: loop `steps` times: y_pred, loss (append it), the gradients, the update
    losses = []
    for _ in range(steps):
        y_pred = a + b * x + c * x**2 + d * x**3
        losses.append(float(np.square(y_pred - y).sum()))
        grad_y_pred = 2.0 * (y_pred - y)
        a -= lr * grad_y_pred.sum()
        b -= lr * (grad_y_pred * x).sum()
        c -= lr * (grad_y_pred * x**2).sum()
        d -= lr * (grad_y_pred * x**3).sum()
    return losses, (a, b, c, d)
    # END
