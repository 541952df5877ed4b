"""Exercise 4: one step of gradient descent.

Move every parameter a small step against its gradient: new = old - learning_rate * gradient.
params and grads are tuples of four numbers (a, b, c, d) and (grad_a, ..., grad_d); return the
four new parameters as a tuple.

Check it with: gradfit learn check . 4
"""


def update(params: tuple, grads: tuple, lr: float) -> tuple:
    """The parameters after one gradient descent step with learning rate lr."""
    # SOLUTION: return a tuple of p - lr * g for each parameter p and its gradient g
    return tuple(p - lr * g for p, g in zip(params, grads, strict=True))
    # END
