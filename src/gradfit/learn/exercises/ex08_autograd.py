"""Exercise 8: let autograd find the gradients.

a, b, c, d now have requires_grad=True. Each step: compute y_pred and the loss (a tensor),
record loss.item(), call loss.backward() (it fills a.grad, b.grad, ...), then update the
parameters inside `with torch.no_grad():` and set each .grad back to None (or call
.grad.zero_()): backward() ADDS to .grad, so old gradients would pile up.
Return (losses, (a, b, c, d)).

Check it with: gradfit learn check . 8
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
    """(losses, (a, b, c, d)): gradient descent with loss.backward()."""
    # SOLUTION: loss.backward(), then in torch.no_grad(): p -= lr * p.grad; p.grad = None
    losses = []
    for _ in range(steps):
        y_pred = a + b * x + c * x**2 + d * x**3
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            for p in (a, b, c, d):
                p -= lr * p.grad
                p.grad = None
    return losses, (a, b, c, d)
    # END
