"""Exercise 9: torch.nn and torch.optim.

The tutorial's nn version: xx holds the columns x, x^2, x^3, and `model` is
nn.Sequential(nn.Linear(3, 1), nn.Flatten(0, 1)) (its bias is a; its weights b, c, d).
Train it for `steps` steps with the loss nn.MSELoss(reduction="sum") (the article's sum, not
the default mean) and torch.optim.SGD(model.parameters(), lr=lr). Each step: forward, loss
(record loss.item()), optimizer.zero_grad(), loss.backward(), optimizer.step().
Return the list of losses.

Check it with: gradfit learn check . 9
"""

import torch


def train(model: torch.nn.Module, xx: torch.Tensor, y: torch.Tensor, lr: float, steps: int) -> list:
    """The losses of `steps` steps of torch.optim.SGD on the sum of squared errors."""
    # SOLUTION: loss_fn, optimizer; each step: model(xx), loss, zero_grad, backward, step
    loss_fn = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss = loss_fn(model(xx), y)
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return losses
    # END
