"""Gradient descent on least squares: monotone at a stable rate, and it reaches the optimum."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import hessian_eigs, losses

import gradfit


def stable_lr(x: np.ndarray, degree: int) -> float:
    """1 / lambda_max of the Hessian 2 X^T X (half the largest stable rate 2 / lambda_max)."""
    return float(1.0 / hessian_eigs(x, degree)[-1])


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_loss_never_increases_at_a_stable_rate(backend: str) -> None:
    x = np.linspace(-math.pi, math.pi, 2000)
    lr = stable_lr(x, 3)
    r = gradfit.fit(
        x,
        np.sin(x),
        backend=backend,
        dtype="float64",
        lr=lr,
        steps=500,
        log_every=1,
        seed=7,
        reference=False,
    )
    logged = np.array(losses(r))
    assert len(logged) == 500
    assert np.all(np.diff(logged) <= 1e-12 * logged[:-1])
    assert logged[-1] < 0.01 * logged[0]


def test_degree_one_reaches_the_closed_form_optimum() -> None:
    x = np.linspace(-math.pi, math.pi, 2000)
    y = np.sin(x)
    r = gradfit.fit(x, y, degree=1, backend="numpy", lr=stable_lr(x, 1), steps=200, seed=3)
    opt = gradfit.closed_form(x, y, 1)
    assert r.optimum is not None and r.optimum.loss == pytest.approx(opt.loss, rel=1e-12)
    assert r.final_loss == pytest.approx(opt.loss, rel=1e-6)
    np.testing.assert_allclose(r.coef, opt.coef, rtol=1e-6, atol=1e-9)


def test_the_articles_cubic_reaches_the_optimum_with_enough_steps() -> None:
    x = np.linspace(-math.pi, math.pi, 2000)
    y = np.sin(x)
    r = gradfit.fit(
        x, y, degree=3, backend="numpy", lr=stable_lr(x, 3), steps=20000, log_every=1000, seed=11
    )
    assert r.optimum is not None
    assert r.final_loss == pytest.approx(r.optimum.loss, rel=1e-6)
    np.testing.assert_allclose(r.coef, r.optimum.coef, rtol=1e-4, atol=1e-6)


def test_closed_form_matches_numpy_lstsq() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 3, 400)
    y = 1.5 - 2 * x + 0.5 * x**3 + 0.01 * rng.standard_normal(400)
    opt = gradfit.closed_form(x, y, 3)
    coef, *_ = np.linalg.lstsq(np.vander(x, 4, increasing=True), y, rcond=None)
    np.testing.assert_allclose(opt.coef, coef, rtol=1e-9)
    assert opt.loss == pytest.approx(
        float(np.sum((np.vander(x, 4, increasing=True) @ coef - y) ** 2)), rel=1e-9
    )
