"""--precondition: first-order steps on u = w / s with s from the Jacobian's column norms."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import run_cli

import gradfit
from gradfit.optim import OptimizerSpec, make_array_optimizer


def test_preconditioned_sgd_is_sgd_on_the_scaled_parameters() -> None:
    s = np.array([2.0, 1e-3, 5.0])
    opt = make_array_optimizer(OptimizerSpec("sgd", lr=0.1, scales=tuple(s)))
    w, g = np.array([1.0, -2.0, 0.5]), np.array([0.3, 40.0, -1.0])
    new, _ = opt.update(g, opt.init(w), w)
    np.testing.assert_allclose(new, w - 0.1 * s**2 * g, rtol=1e-15)


def test_preconditioned_adam_moves_each_parameter_on_its_own_scale() -> None:
    """Adam on u = w / s: the first step moves u by lr in every coordinate, so w moves by
    lr * s - a parameter of size 1e-3 by a thousandth of one of size 1."""
    s = np.array([1.0, 1e-3])
    opt = make_array_optimizer(OptimizerSpec("adam", lr=0.01, scales=tuple(s)))
    w = np.array([1.0, 1e-3])
    new, _ = opt.update(np.array([5.0, -7.0]), opt.init(w), w)
    np.testing.assert_allclose(new - w, [-0.01, 0.01 * 1e-3], rtol=1e-5)  # eps aside


def test_badly_scaled_decay_is_reached_only_with_preconditioning() -> None:
    """a ~ 1000 and b ~ 0.001: one learning rate cannot suit both, until each is measured by
    its effect on the predictions."""
    x = np.linspace(0, 2000, 300)
    y = 1000 * np.exp(-0.001 * x)
    start = {"a": 800, "b": 0.0015}
    scaled = gradfit.fit(x, y, model="a*exp(-b*x)", init=start, lr=0.1, precondition=True)
    np.testing.assert_allclose(scaled.params, [1000.0, 0.001], rtol=1e-6)
    plain = gradfit.fit(x, y, model="a*exp(-b*x)", init=start, lr="auto")
    assert abs(plain.params[1] - 0.001) > 1e-4  # still far off after the same 2000 steps


def test_gram_and_manual_agree_with_preconditioning() -> None:
    x = np.linspace(0, 50, 20_000)
    y = np.sin(x / 10)
    runs = [
        gradfit.fit(x, y, method=m, precondition=True, lr="auto", init=[0, 0, 0, 0], steps=300)
        for m in ("gram", "manual")
    ]
    assert runs[0].method == "gram" and runs[1].method == "manual"
    np.testing.assert_allclose(runs[0].coef, runs[1].coef, rtol=1e-9, atol=1e-12)
    scales = [r.optimizer["precondition"] for r in runs]  # from X^T X, summed in other orders
    np.testing.assert_allclose(scales[0], scales[1], rtol=1e-13)


@pytest.mark.parametrize(
    "args, words",
    [
        (["--method", "autograd"], "--precondition scales gradfit's own optimizers"),
        (["--optimizer", "lm"], "lm does not need it"),
        (["--workers", "2"], "--precondition runs in one process"),
    ],
)
def test_refused_combinations(capsys: pytest.CaptureFixture[str], args: list[str], words: str):
    proc = run_cli(capsys, "fit", "--precondition", *args)
    assert proc.returncode == 2
    assert words in proc.stderr.strip().splitlines()[-1]


def test_formula_scales_are_the_exact_jacobian_column_norms_at_the_start() -> None:
    """A formula's scales come from its symbolic Jacobian at the start (the exact ``J^T J``
    that --lr auto's curvature also uses), not from finite differences."""
    from gradfit.config import FitConfig
    from gradfit.plan import plan

    x = np.linspace(0, 2000, 300)
    y = 1000 * np.exp(-0.001 * x)
    config = FitConfig(
        backend="numpy", dtype="float64", model="a*exp(-b*x)", init={"a": 800, "b": 0.0015},
        optimizer="adam", lr=0.1, precondition=True, target=None, points=x.size,
    )  # fmt: skip
    planned = plan(config, data=(x, y, None, None))
    start = np.array([800.0, 0.0015])
    e = np.exp(-start[1] * x)
    J = np.column_stack([e, -start[0] * e * x])  # the Jacobian by hand
    exact = 1.0 / np.sqrt(np.diag(J.T @ J))
    np.testing.assert_allclose(planned.spec.scales, exact, rtol=1e-14)
