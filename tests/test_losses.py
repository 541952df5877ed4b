"""Losses: the article's sum of squares, the mean squared error as its scaled twin, the robust
losses, and the --l2/--l1 penalties.

Oracles: the sum-of-squares run (the mean's iterates at n times the rate are the sum's), every
method against the others from the same start, the closed-form optimum (ridge: the penalised
normal equations), scipy.optimize.least_squares's cost, finite differences and torch's autograd.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import gradfit
from gradfit.losses import LOSSES, NOT_SQUARES, ROBUST, Penalty, make_loss


def run(**options: object) -> gradfit.FitResult:
    base = dict(backend="numpy", seed=3, steps=300, log_every=50)
    return gradfit.run(gradfit.FitConfig(**(base | options)))


def test_the_registry_offers_the_article_loss_first() -> None:
    assert LOSSES[0] == "squared"
    assert "mean" in LOSSES
    residual = np.array([1.0, -2.0, 3.0])
    mean = make_loss("mean", 3)
    assert mean.value(residual) == pytest.approx(14.0 / 3)
    np.testing.assert_allclose(mean.grad(residual), 2 * residual / 3)


@pytest.mark.parametrize("method", ["manual", "gram"])
def test_mean_at_n_times_the_rate_takes_the_sums_path(method: str) -> None:
    n = 2000
    total = run(method=method, lr=1e-6)
    mean = run(method=method, lr=1e-6 * n, loss="mean")
    np.testing.assert_allclose(mean.coef, total.coef, rtol=1e-9, atol=1e-12)
    sums = [v for _, v in total.loss_history]
    means = [v * n for _, v in mean.loss_history]
    np.testing.assert_allclose(means, sums, rtol=1e-9)
    assert mean.optimum.loss * n == pytest.approx(total.optimum.loss, rel=1e-12)


def test_every_method_agrees_on_the_mean_loss() -> None:
    runs = {
        m: run(method=m, lr=3e-3, loss="mean", backend="torch", dtype="float64")
        for m in ("manual", "autograd", "nn", "module", "gram")
    }
    first = runs["manual"]
    for r in runs.values():
        np.testing.assert_allclose(r.coef, first.coef, rtol=1e-9, atol=1e-12)


def test_lr_auto_on_the_mean_is_n_times_the_sums() -> None:
    total = run(lr="auto")
    mean = run(lr="auto", loss="mean")
    assert mean.config.lr == pytest.approx(2000 * total.config.lr, rel=1e-3)  # 4 digits each
    # the mean's run is the sum's run at 1/n of its rate, loss for loss
    twin = run(lr=mean.config.lr / 2000)
    assert mean.final_loss * 2000 == pytest.approx(twin.final_loss, rel=1e-9)


def test_an_unknown_loss_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from gradfit.cli import main

    assert main(["fit", "--loss", "huberish"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "huberish" in err and "squared" in err


# --- robust losses ----------------------------------------------------------------------------

SCALES = (0.3, 1.0, 2.5)


def residuals(scale: float) -> np.ndarray:
    """Residuals that probe every branch: 0, tiny, either side of the Huber kink, outliers."""
    rng = np.random.default_rng(0)
    kink = scale * np.array([1 - 1e-6, 1 + 1e-6, 1 - 1e-3, 1 + 1e-3])
    special = np.array([0.0, 1e-12, -1e-9, 1e-4, 1e3, -5e3])
    return np.concatenate([special, kink, -kink, rng.normal(0, 3 * scale, 40)])


def test_the_robust_losses_are_registered_without_a_factor() -> None:
    assert set(ROBUST) == {"huber", "soft_l1", "cauchy"}
    assert set(NOT_SQUARES) == {"absolute", "huber", "soft_l1", "cauchy"}
    assert all(make_loss(name).factor is None for name in NOT_SQUARES)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("name", ["huber", "soft_l1", "cauchy"])
def test_a_robust_loss_is_twice_scipys_cost(name: str, scale: float) -> None:
    from scipy.optimize import least_squares

    r = residuals(scale)
    # fun does not depend on p: the solver stops at once, and cost is the cost of r
    fit = least_squares(lambda p: r + 0.0 * p[0], [0.0], loss=name, f_scale=scale)
    loss = make_loss(name, len(r), scale)
    assert loss.value(r) == pytest.approx(2.0 * fit.cost, rel=1e-13)


@pytest.mark.parametrize("name", ["huber", "soft_l1", "cauchy"])
def test_a_robust_loss_is_the_sum_of_squares_for_small_residuals(name: str) -> None:
    r = np.array([1e-5, -3e-5, 2e-6])
    assert make_loss(name, 3, 2.0).value(r) == pytest.approx(float(r @ r), rel=1e-9)
    big = np.array([1e3])  # and grows much slower for large ones
    assert make_loss(name, 1, 1.0).value(big) < 2.1e3


def test_absolute_is_the_sum_of_absolute_errors() -> None:
    r = np.array([1.5, -2.0, 0.0, 3.0])
    loss = make_loss("absolute", 4)
    assert loss.value(r) == 6.5
    np.testing.assert_array_equal(loss.grad(r), [1.0, -1.0, 0.0, 1.0])  # 0 at 0: subgradient


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("name", ["absolute", "huber", "soft_l1", "cauchy"])
def test_robust_grad_is_the_derivative_on_both_backends(name: str, scale: float) -> None:
    import torch

    loss = make_loss(name, 0, scale)
    r = residuals(scale)
    grad = loss.grad(r)
    # finite differences of the per-point loss, away from absolute's kink at 0
    h = 1e-6 * np.maximum(1.0, np.abs(r))
    fd = np.array(
        [
            (loss.value(np.array([v + d])) - loss.value(np.array([v - d]))) / (2 * d)
            for v, d in zip(r, h, strict=True)
        ]
    )
    smooth = np.abs(r) > 1e-3 if name == "absolute" else np.abs(np.abs(r) - scale) > 1e-5
    np.testing.assert_allclose(grad[smooth], fd[smooth], rtol=1e-6, atol=1e-8)
    # torch: the same value, the same grad, and autograd of value agrees with grad
    t = torch.tensor(r, requires_grad=True)
    value = loss.value(t)
    value.backward()
    assert float(value.detach()) == pytest.approx(float(loss.value(r)), rel=1e-14)
    np.testing.assert_allclose(t.grad.numpy(), grad, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(loss.grad(t.detach()).numpy(), grad, rtol=1e-14, atol=1e-300)
    module = loss.torch_module()
    y = torch.tensor(r[::-1].copy())
    assert float(module(t.detach() + y, y)) == pytest.approx(float(loss.value(r)), rel=1e-12)


def outlier_line() -> tuple[np.ndarray, np.ndarray]:
    """y = 0.5 + 2 x with a little noise, and 10% of the points thrown 20 above the line."""
    rng = np.random.default_rng(1)
    x = np.linspace(-1.0, 1.0, 200)
    y = 0.5 + 2.0 * x + rng.normal(0.0, 0.05, x.size)
    y[::10] += 20.0
    return x, y


@pytest.mark.parametrize("name", ["huber", "soft_l1", "cauchy"])
def test_robust_losses_ignore_outliers_that_pull_the_squares_off(name: str) -> None:
    x, y = outlier_line()
    common = dict(degree=1, backend="numpy", lr=2e-3, steps=4000, init=[0.0, 0.0])
    squared = gradfit.fit(x, y, **common)
    robust = gradfit.fit(x, y, loss=name, **common)
    assert abs(squared.coef[0] - 0.5) > 1.5  # the outliers lift the squares' line by ~2
    np.testing.assert_allclose(robust.coef, [0.5, 2.0], atol=0.15)
    assert robust.optimum is None  # the least-squares optimum is not this loss's
    doc = json.loads(json.dumps(robust.to_dict()))
    assert doc["optimum"] is None


def test_absolute_fits_the_median_line() -> None:
    x, y = outlier_line()
    fit = gradfit.fit(x, y, degree=1, backend="numpy", lr=1e-3, steps=6000, loss="absolute")
    np.testing.assert_allclose(fit.coef, [0.5, 2.0], atol=0.15)


@pytest.mark.parametrize("name", ["huber", "absolute"])
def test_every_method_agrees_on_a_robust_loss(name: str) -> None:
    runs = {
        m: run(method=m, lr=1e-5, loss=name, backend="torch", dtype="float64", loss_scale=1.0)
        if name == "huber"
        else run(method=m, lr=1e-5, loss=name, backend="torch", dtype="float64")
        for m in ("manual", "autograd", "nn", "module")
    }
    first = runs["manual"]
    for r in runs.values():
        np.testing.assert_allclose(r.coef, first.coef, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(r.final_loss, first.final_loss, rtol=1e-9)


def test_auto_does_not_pick_gram_for_a_robust_loss() -> None:
    from gradfit.methods import resolve_method
    from gradfit.models import make_model

    model = make_model("poly", 3, "monomial")
    args = ("auto", model, 10**6, "float64", "sgd", None)
    assert resolve_method(*args)[0] == "gram"
    name, why = resolve_method(*args, make_loss("cauchy"))
    assert name == "manual" and "cauchy" in why
    name, why = resolve_method(*args, None, Penalty(l1=0.1))
    assert name == "manual" and "--l1" in why
    assert resolve_method(*args, None, Penalty(l2=0.1))[0] == "gram"  # ridge: exact


def test_lr_auto_for_a_robust_loss_is_the_squares_rate_and_says_why() -> None:
    squared = run(lr="auto", optimizer="momentum")
    huber = run(lr="auto", optimizer="momentum", loss="huber", loss_scale=0.1)
    assert huber.config.lr == squared.config.lr
    assert "upper bound of the huber loss's" in huber.lr_auto["rule"]
    assert np.isfinite(huber.final_loss) and huber.final_loss < huber.loss_history[0][1]


def test_the_guard_stops_a_diverging_robust_run() -> None:
    with pytest.raises(gradfit.errors.DivergenceError):
        run(loss="soft_l1", lr=1.0)


# --- penalties --------------------------------------------------------------------------------


def ridge_problem() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A degree-3 fit of sin on [-1, 1] (200 points): design matrix, x, y."""
    x = np.linspace(-1.0, 1.0, 200)
    return np.vander(x, 4, increasing=True), x, np.sin(x)


@pytest.mark.parametrize("loss", ["squared", "mean"])
def test_ridge_by_gram_and_manual_is_the_closed_form(loss: str) -> None:
    X, x, y = ridge_problem()
    alpha, factor = 5.0, (1.0 if loss == "squared" else 1.0 / len(x))
    # stable and fast: the Hessian's eigenvalues lie in [2 alpha, 2 factor 225 + 2 alpha]
    lr = 0.004 if loss == "squared" else 0.08
    common = dict(backend="numpy", points=200, x_range=(-1.0, 1.0), init=(0.0,) * 4)
    runs = {
        m: run(method=m, lr=lr, steps=3000, l2=alpha, loss=loss, **common)
        for m in ("manual", "gram")
    }
    np.testing.assert_allclose(runs["gram"].coef, runs["manual"].coef, rtol=1e-9, atol=1e-12)
    w = np.linalg.solve(factor * X.T @ X + alpha * np.eye(4), factor * X.T @ y)
    best = factor * float((X @ w - y) @ (X @ w - y)) + alpha * float(w @ w)
    for r in runs.values():
        np.testing.assert_allclose(r.optimum.coef, w, rtol=1e-9, atol=1e-12)
        assert r.optimum.loss == pytest.approx(best, rel=1e-9)
        np.testing.assert_allclose(r.coef, w, atol=1e-8)
        assert r.final_loss == pytest.approx(best, rel=1e-9)


def test_the_penalty_is_added_the_same_way_by_every_method() -> None:
    common = dict(backend="torch", dtype="float64", lr=2e-6, l2=3.0, l1=2.0)
    runs = {m: run(method=m, **common) for m in ("manual", "autograd", "nn", "module")}
    first = runs["manual"]
    for r in runs.values():
        np.testing.assert_allclose(r.coef, first.coef, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(
            [v for _, v in r.loss_history], [v for _, v in first.loss_history], rtol=1e-9
        )
    w = first.params
    x = np.linspace(-np.pi, np.pi, 2000)  # the article's problem
    residual = np.vander(x, 4, increasing=True) @ w - np.sin(x)
    penalty = 3.0 * float(w @ w) + 2.0 * float(np.abs(w).sum())
    assert first.final_loss == pytest.approx(float(residual @ residual) + penalty, rel=1e-9)
    assert first.optimum is None  # no closed form with --l1


def test_l1_pushes_a_useless_coefficient_to_zero() -> None:
    rng = np.random.default_rng(0)
    x = np.linspace(-1.0, 1.0, 100)
    y = 1.0 + 2.0 * x + rng.normal(0.0, 0.3, x.size)  # no x^2 term
    common = dict(degree=2, backend="numpy", lr=2e-3, steps=5000, init=[0.0, 0.0, 0.0])
    plain = gradfit.fit(x, y, **common)
    lasso = gradfit.fit(x, y, l1=5.0, **common)
    assert abs(plain.coef[2]) > 0.1
    assert abs(lasso.coef[2]) < 2e-2  # it hovers within a few lr * l1 of 0
    assert lasso.coef[1] == pytest.approx(2.0, abs=0.3)


def test_the_ridge_path_is_gradient_descent_on_the_penalised_loss() -> None:
    from gradfit.models import make_model
    from gradfit.understand.analysis import quadratic_path

    X, x, y = ridge_problem()
    w0, alpha, lr = np.array([1.0, -2.0, 0.5, 3.0]), 0.7, 0.05
    path = quadratic_path(make_model("poly", 3, "monomial"), x, y, w0).ridge(alpha, w0)
    w, losses = w0.copy(), []
    for _ in range(50):
        losses.append(float((X @ w - y) @ (X @ w - y)) + alpha * float(w @ w))
        w = w - lr * (2 * X.T @ (X @ w - y) + 2 * alpha * w)
    np.testing.assert_allclose(path.loss_after(np.arange(50), lr), losses, rtol=1e-10)


def test_lr_auto_with_l2_lands_where_the_ridge_path_says() -> None:
    r = run(lr="auto", l2=50.0, target="sin", steps=400)
    assert "--l2 adds 2 * l2 to the curvature" in r.lr_auto["rule"]
    assert r.final_loss >= r.optimum.loss
    twin = run(lr=r.config.lr, l2=50.0, steps=400, method="gram")
    assert twin.final_loss == pytest.approx(r.final_loss, rel=1e-9)


BAD = [
    (["--l2", "-1"], "--l2 must be a finite number >= 0"),
    (["--l1", "nan"], "--l1 must be a finite number >= 0"),
    (["--loss", "huber", "--loss-scale", "0"], "--loss-scale must be a finite number > 0"),
    (["--loss", "huber", "--loss-scale", "inf"], "--loss-scale must be a finite number > 0"),
    (["--loss", "huber", "--method", "gram"], "the gram method needs a sum of squares"),
    (["--loss-scale", "2"], "--loss-scale applies to the huber, soft_l1 and cauchy"),
    (["--loss", "absolute", "--loss-scale", "2"], "not to absolute"),
    (["--l1", "0.1", "--method", "gram"], "the gram method has no --l1"),
    (["--loss", "absolute", "--lr", "auto"], "give --lr"),
]


@pytest.mark.parametrize(("args", "message"), BAD)
def test_bad_loss_options_are_one_line_and_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from gradfit.cli import main

    assert main(["fit", "--backend", "numpy", "--steps", "1", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("gradfit: error:") and message in err


def test_compare_refuses_a_robust_loss_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from gradfit.cli import main

    assert main(["compare", "--loss", "cauchy", "--steps", "2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a sum of squares" in err


@pytest.mark.parametrize("name", ["huber", "soft_l1", "cauchy"])
def test_a_robust_loss_bends_no_more_than_the_square(name: str) -> None:
    # --lr auto rests on it: each point's curvature d2L/dr2 is at most the square's 2
    loss = make_loss(name, 0, 0.8)
    r = np.linspace(-10.0, 10.0, 4001)
    h = 1e-5
    curvature = (loss.grad(r + h) - loss.grad(r - h)) / (2 * h)
    assert curvature.max() <= 2.0 + 1e-6
    assert curvature[np.abs(r) < 0.05].min() > 1.9  # and is the square's near 0


def test_the_penalty_is_on_the_scaled_coefficients_when_x_is_scaled() -> None:
    rng = np.random.default_rng(2)
    x = np.linspace(0.0, 20.0, 300)
    y = 1.5 - 2.0 * x + 0.3 * x**2 + rng.normal(0.0, 0.5, x.size)
    alpha = 2.0
    fit = gradfit.fit(x, y, degree=2, backend="numpy", scale=True, lr="auto", steps=3000, l2=alpha)
    t = fit.domain.to_window(x)  # x mapped to [-1, 1]: the variable trained on
    T = np.vander(t, 3, increasing=True)
    w = np.linalg.solve(T.T @ T + alpha * np.eye(3), T.T @ y)
    np.testing.assert_allclose(fit.scaled_coef, w, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(fit.coef, fit.domain.to_x(w), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(fit.optimum.coef, fit.domain.to_x(w), rtol=1e-9, atol=1e-10)
