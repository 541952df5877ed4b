"""Exercise 7: the same loop with PyTorch tensors.

The article's second script: exercise 5 again, but x and y are torch tensors and a, b, c, d are
0-dimensional tensors. The arithmetic is the same (x ** 2, (...).sum()); only the types change.
Record loss.item() BEFORE each update and return (losses, (a, b, c, d)).

Check it with: gradfit learn check . 7
"""

import torch


def train(
    x: torch.Tensor,
    y: torch.Tensor,
    a: torch.Tensor,
    b: torch.Tensor,
    c: torch.Tensor,
    d: torch.Tensor,
    lr: float,
    steps: int,
) -> tuple:
    """(losses, (a, b, c, d)): the article's loop on tensors."""
    # SOLUTION: the loop of exercise 5, with (y_pred - y).pow(2).sum().item() as the loss
    losses = []
    for _ in range(steps):
        y_pred = a + b * x + c * x**2 + d * x**3
        losses.append((y_pred - y).pow(2).sum().item())
        grad_y_pred = 2.0 * (y_pred - y)
        a = a - lr * grad_y_pred.sum()
        b = b - lr * (grad_y_pred * x).sum()
        c = c - lr * (grad_y_pred * x**2).sum()
        d = d - lr * (grad_y_pred * x**3).sum()
    return losses, (a, b, c, d)
    # END
