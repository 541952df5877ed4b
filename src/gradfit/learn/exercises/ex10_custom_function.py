"""Exercise 10: a custom autograd Function.

The tutorial's model y = a + b P3(c + d x) uses the Legendre polynomial
P3(t) = (5 t^3 - 3 t) / 2 as a new autograd operation. Write its forward (save the input with
ctx.save_for_backward) and its backward: given grad_output = d loss / d P3(t), return
d loss / d t = grad_output * P3'(t), where P3'(t) = 1.5 (5 t^2 - 1).

Check it with: gradfit learn check . 10
"""

import torch


class LegendrePolynomial3(torch.autograd.Function):
    """P3(t) = (5 t^3 - 3 t) / 2, with the hand-written derivative."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, t: torch.Tensor) -> torch.Tensor:
        # SOLUTION: ctx.save_for_backward(t), then return P3(t)
        ctx.save_for_backward(t)
        return 0.5 * (5 * t**3 - 3 * t)
        # END

    @staticmethod
    def backward(
        ctx: torch.autograd.function.FunctionCtx, grad_output: torch.Tensor
    ) -> torch.Tensor:
        # SOLUTION: (t,) = ctx.saved_tensors; return grad_output times P3'(t)
        (t,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * t**2 - 1)
        # END
