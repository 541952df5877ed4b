"""Custom ``torch.autograd.Function``s: forward and backward both written by hand.

Imported only on torch runs (this module imports torch).
"""

from __future__ import annotations

from typing import Any

import torch


class LegendreP3(torch.autograd.Function):
    """``P3(z) = (5 z^3 - 3 z) / 2``, the Legendre polynomial of degree 3.

    ``forward`` saves its input; ``backward`` returns ``grad_output * P3'(z)`` with
    ``P3'(z) = 3 (5 z^2 - 1) / 2``, the derivative worked out by hand, as in the PyTorch
    tutorial. ``torch.autograd.gradcheck`` verifies it against finite differences (tests).
    """

    @staticmethod
    def forward(ctx: Any, z: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(z)
        return 0.5 * (5 * z**3 - 3 * z)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> torch.Tensor:
        (z,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * z**2 - 1)
