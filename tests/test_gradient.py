"""The hand-derived gradient against two oracles: central finite differences and autograd."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gradfit.backends import resolve_backend
from gradfit.data import as_problem
from gradfit.methods import make_method
from gradfit.models import Polynomial
from gradfit.optim import OptimizerSpec


def manual_loss_and_grad(degree: int, x: np.ndarray, y: np.ndarray, w: np.ndarray):
    be = resolve_backend("numpy", "cpu", "float64")
    model = Polynomial(degree)
    spec = OptimizerSpec("sgd", 1e-6)
    method = make_method("manual", model, as_problem(x, y, be, degree + 1), be, spec, w)
    loss, grad = method.loss_and_grad(True)
    return float(loss), np.asarray(grad), method


@pytest.mark.parametrize("degree", range(7))
def test_manual_gradient_matches_central_finite_differences(degree: int) -> None:
    rng = np.random.default_rng(degree)
    x = np.linspace(-1.5, 1.5, 301)
    y = np.sin(2 * x) + 0.1 * rng.standard_normal(x.size)
    w = rng.standard_normal(degree + 1)
    _, grad, method = manual_loss_and_grad(degree, x, y, w)
    fd = np.empty_like(w)
    for k in range(w.size):
        h = 1e-6 * max(1.0, abs(w[k]))
        up, down = w.copy(), w.copy()
        up[k] += h
        down[k] -= h
        method.w[:] = up
        loss_up = float(method.loss())
        method.w[:] = down
        fd[k] = (loss_up - float(method.loss())) / (2 * h)
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-6 * np.abs(grad).max())


@pytest.mark.parametrize("degree", range(7))
def test_manual_gradient_matches_torch_autograd(degree: int) -> None:
    rng = np.random.default_rng(100 + degree)
    x = np.linspace(-2.0, 2.0, 500)
    y = np.exp(-x * x) + 0.05 * rng.standard_normal(x.size)
    w = rng.standard_normal(degree + 1)
    loss, grad, _ = manual_loss_and_grad(degree, x, y, w)

    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    xt = torch.tensor(x, dtype=torch.float64)
    y_pred = sum(wt[k] * xt**k for k in range(degree + 1))
    loss_t = ((y_pred - torch.tensor(y)) ** 2).sum()
    loss_t.backward()
    assert loss == pytest.approx(loss_t.item(), rel=1e-12)
    np.testing.assert_allclose(grad, wt.grad.numpy(), rtol=1e-10, atol=1e-12)
