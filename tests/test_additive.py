"""The additive model (several columns of x, the estimator's case) goes through the same plan
and loop as any model: checked against the least-squares solution of its design matrix and
against autograd from the same start."""

from __future__ import annotations

import numpy as np
import pytest

import gradfit
from gradfit.models import MODELS, Additive


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (300, 3))
    return X, 1 + X[:, 0] - 2 * X[:, 1] ** 2 + 0.5 * X[:, 2] ** 3 + 0.01 * rng.normal(size=300)


def test_it_reaches_the_least_squares_solution_of_its_design() -> None:
    X, y = data()
    r = gradfit.fit(X, y, model="additive", degree=3, lr="auto", steps=4000, seed=0)
    design = Additive(3, "monomial", 3).design(X)
    best, *_ = np.linalg.lstsq(design, y, rcond=None)
    np.testing.assert_allclose(r.params, best, atol=1e-6)
    np.testing.assert_allclose(r.optimum.coef, best, rtol=1e-12)  # the reported reference
    assert r.final_loss == pytest.approx(r.optimum.loss, rel=1e-9)
    assert "lowest predicted loss" in r.lr_auto["rule"]


def test_manual_and_autograd_agree_from_the_same_start() -> None:
    X, y = data()
    common = dict(model="additive", degree=2, lr=1e-3, steps=200, seed=4, reference=False)
    manual = gradfit.fit(X, y, method="manual", **common)
    auto = gradfit.fit(X, y, method="autograd", backend="torch", dtype="float64", **common)
    np.testing.assert_allclose(manual.params, auto.params, rtol=1e-12, atol=1e-14)


def test_it_is_not_a_command_line_model() -> None:
    assert "additive" not in MODELS
