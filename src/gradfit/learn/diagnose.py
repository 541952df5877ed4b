"""What is wrong with a learner's numbers: each exercise's result against its reference.

Every ``diagnose_*`` function takes what :mod:`gradfit.learn.runner` measured and returns None
when it is right, else a hint that says *what* is wrong, with numbers. The hints come from
comparing with the reference and with the references of typical mistakes: a constant ratio (a
factor, a flipped sign, the mean's 1/N), a different power of x, the run of a loop whose
gradients accumulate (no zero_grad) or are 1/N as large, and the stable learning rate.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import problem

RTOL = 1e-6  # float64 everywhere: the learner's numbers match to rounding, or they are wrong


def close(a: Any, b: Any, rtol: float = RTOL) -> bool:
    """Whether two arrays agree to ``rtol`` relative to the larger of their scales."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or not np.all(np.isfinite(a)):
        return False
    scale = max(float(np.max(np.abs(b), initial=0.0)), 1e-300)
    return bool(np.all(np.abs(a - b) <= rtol * scale + 1e-12 * scale))


def ratio(mine: Any, ref: Any) -> float | None:
    """The constant ``k`` with ``mine = k * ref`` everywhere, or None if there is none."""
    a, b = np.ravel(np.asarray(mine, dtype=np.float64)), np.ravel(np.asarray(ref, dtype=np.float64))
    if a.shape != b.shape or not np.all(np.isfinite(a)) or not np.any(b):
        return None
    k = float(a[np.argmax(np.abs(b))] / b[np.argmax(np.abs(b))])
    return k if k != 0 and close(a, k * b) else None


def factor_words(k: float) -> str:
    """A ratio as people say it: 'a factor of 2', 'a factor of 1/2000'."""
    if abs(k) < 1 and abs(1 / k - round(1 / k)) < 1e-6 * abs(1 / k):
        return f"a factor of 1/{round(1 / k)}"
    return f"a factor of {k:.4g}"


def shape_problem(name: str, mine: Any, n: int) -> str | None:
    """A hint if ``mine`` is not ``n`` numbers."""
    size = np.size(mine)
    if size != n:
        return f"{name} gave {size} number{'s' * (size != 1)}, not {n}"
    return None


# --- 1-4: the forward pass, the loss, the gradients, one update ------------------------------

_TERMS = ("a", "b x", "c x^2", "d x^3")


def _power(k: int) -> str:
    return {0: "1", 1: "x"}.get(k, f"x^{k}")


def diagnose_forward(result: dict[str, Any]) -> str | None:
    x, _ = problem.data()
    for p, mine in zip(problem.POINTS, result["values"], strict=False):
        if (bad := shape_problem("predict()", mine, x.size)) is not None:
            return bad + ": return one prediction per point (an array shaped like x)"
        ref = problem.predict(x, *p)
        if close(mine, ref):
            continue
        for j, name in enumerate("abcd"):
            term = p[j] * x**j
            if close(mine, ref - term):
                return f"the {_TERMS[j]} term is missing: y_pred = a + b x + c x^2 + d x^3"
            if close(mine, ref - 2 * term):
                return f"the {_TERMS[j]} term has the wrong sign: y_pred = a + b x + c x^2 + d x^3"
            for k in range(5):
                if k != j and close(mine, ref - term + p[j] * x**k):
                    return (
                        f"{name} multiplies {_power(k)} where the model has {_power(j)}: "
                        f"the term is {_TERMS[j]} (y_pred = a + b x + c x^2 + d x^3)"
                    )
        i = int(np.argmax(np.abs(np.asarray(mine) - ref)))
        return (
            f"at x = {x[i]:.6g} with (a, b, c, d) = {p}, your y_pred is {mine[i]:.6g}; "
            f"a + b x + c x^2 + d x^3 is {ref[i]:.6g}"
        )
    return None


def diagnose_loss(result: dict[str, Any]) -> str | None:
    x, y = problem.data()
    mine = np.asarray(result["values"], dtype=np.float64)
    if mine.shape != (len(problem.POINTS),):
        return "loss() must return one number (a float), the sum over all points"
    r = np.array([problem.predict(x, *p) - y for p in problem.POINTS])
    ref = np.square(r).sum(axis=1)
    if close(mine, ref):
        return None
    k = ratio(mine, ref)
    if k is not None and abs(k * x.size - 1) < 1e-6:
        return "your loss is the mean, the article's is the sum: drop the division by N (.sum())"
    if k is not None and abs(k - 0.5) < 1e-9:
        return "your loss is half the article's: the sum of squared errors has no 1/2"
    if k is not None:
        return f"your loss is off by {factor_words(k)}: the article's is sum (y_pred - y)^2"
    if close(mine, np.sqrt(ref)):
        return "your loss is the square root of the sum of squares: the article's has no root"
    if close(mine, np.abs(r).sum(axis=1)):
        return "your loss adds absolute errors: the article squares them, sum (y_pred - y)^2"
    if close(mine, r.sum(axis=1)):
        return "your loss adds the errors without squaring them: + and - errors cancel"
    return f"your loss is {mine[0]:.6g}, the sum of squared errors is {ref[0]:.6g}"


def diagnose_gradients(result: dict[str, Any]) -> str | None:
    x, y = problem.data()
    mine = result["values"]
    for m in mine:
        if (bad := shape_problem("gradients()", m, 4)) is not None:
            return bad + ": return (grad_a, grad_b, grad_c, grad_d)"
    mine = np.asarray(mine, dtype=np.float64)
    r2 = np.array([2.0 * (problem.predict(x, *p) - y) for p in problem.POINTS])
    terms = np.array([[(row * x**k).sum() for k in range(5)] for row in r2])  # point, power
    for j, name in enumerate("abcd"):
        rule = f"d/d{name} (y_pred - y)^2 = 2 (y_pred - y){_times(j)}"
        hint = _compare(f"grad_{name}", mine[:, j], terms[:, j], rule, x.size)
        if hint is None:
            continue
        for k in range(5):
            if k != j and (kk := ratio(mine[:, j], terms[:, k])) is not None:
                off = "" if abs(kk - 1) < 1e-9 else f" (and is off by {factor_words(kk)})"
                return f"grad_{name} uses {_power(k)} where it needs {_power(j)}{off}: {rule}"
        return hint
    return None


def _times(power: int) -> str:
    return "" if power == 0 else f" {_power(power)}"


def _compare(name: str, mine: Any, ref: Any, rule: str, n: int) -> str | None:
    """None if ``mine`` matches ``ref``; else a hint naming a constant factor if there is one."""
    if close(mine, ref):
        return None
    k = ratio(mine, ref)
    if k is None:
        yours, right = float(np.ravel(mine)[0]), float(np.ravel(ref)[0])
        return f"{name} is {yours:.6g} where it should be {right:.6g}: {rule}"
    if abs(k + 1) < 1e-9:
        return f"{name} has the wrong sign at every point tried: {rule}"
    if abs(k * n - 1) < 1e-6:
        return (
            f"{name} is the gradient of the mean (1/{n} of the sum's); "
            f"the article's loss is the sum: {rule}"
        )
    return f"{name} is off by {factor_words(k)} at every point tried: {rule}"


def diagnose_update(result: dict[str, Any]) -> str | None:
    mine = result["values"]
    if (bad := shape_problem("update()", mine, 4)) is not None:
        return bad + ": return the four new parameters (a, b, c, d)"
    p, g, lr = np.array(result["params"]), np.array(result["grads"]), 1e-4
    if close(mine, p - lr * g):
        return None
    if close(mine, p + lr * g):
        return "you moved up the gradient (p + lr * g): descent subtracts, new = p - lr * g"
    if close(mine, p - g):
        return "the learning rate is missing: new = p - lr * g, not p - g"
    if close(mine, -lr * g) or close(mine, lr * g):
        return "you returned the step, not the new parameters: new = p - lr * g"
    right = tuple(float(v) for v in p - lr * g)
    return f"with p = {tuple(p)}, g = {tuple(g)} and lr = {lr:g}, new = p - lr * g is {right}"


# --- 5-9: loops ------------------------------------------------------------------------------

_LOOP_FIX = {
    "loop": "",
    "torch_loop": "",
    "autograd": "set each p.grad = None (or p.grad.zero_()) after the update",
    "nn_optim": "call optimizer.zero_grad() before loss.backward()",
}
_CHECKED = 60  # the steps a loop's mistakes are told apart on (cheap, and plenty)


def divergence_step(losses: Sequence[float]) -> int | None:
    """The first step whose loss is above the starting loss or not finite, or None."""
    for t, value in enumerate(losses):
        if not math.isfinite(value) or value > losses[0] * (1 + 1e-9):
            return t
    return None


def diagnose_loop(result: dict[str, Any], exercise: str = "loop") -> str | None:
    """A loop's losses and final parameters against the reference run from the same start."""
    lr, losses = float(result["lr"]), [float(v) for v in result["losses"]]
    x, _ = problem.data()
    stable = problem.stable_lr(x)
    if lr >= stable:
        t = divergence_step(losses)
        if t is None:
            t = divergence_step(problem.loop(lr, steps=min(problem.STEPS, 200))[0])
        at = "" if t is None else f" at step {t}"
        return (
            f"your loop diverges{at}: lr {lr:g} is {lr / stable:.2g}x the stable rate "
            f"{stable:.4g} (2 / lambda_max of the loss Hessian 2 X^T X, exercise 6): "
            f"use a smaller learning rate, e.g. the article's {problem.LR:g}"
        )
    if len(losses) != problem.STEPS:
        return (
            f"train() returned {len(losses)} losses for {problem.STEPS} steps: "
            "append one loss per step, before the update"
        )
    ref_losses, ref_params = problem.loop(lr)
    if close(losses, ref_losses) and close(result["params"], ref_params):
        return None
    n = _CHECKED
    head, short = losses[:n], problem.loop(lr, steps=n + 1)[0]
    if close(head, short[1:]):
        return "your losses are one step late: record the loss before the update, not after"
    if close(head, problem.loop(lr, steps=n, accumulate=True)[0]):
        fix = _LOOP_FIX.get(exercise) or "compute each step's gradient afresh"
        return (
            "your gradients accumulate: each step's gradient is added to all the earlier ones, "
            f"so the update grows step after step (missing zero_grad): {fix}"
        )
    mean = 1 / x.size
    mean_run = problem.loop(lr, steps=n, scale=mean)[0]
    if close(head, mean_run) or close(head, [v * mean for v in mean_run]):
        return (
            "your loss is the mean, the article's is the sum: the gradients are "
            f"1/{x.size} as large and the loop barely moves"
            + (' (use nn.MSELoss(reduction="sum"))' if exercise == "nn_optim" else "")
        )
    if close(head, [v * mean for v in short[:n]]):
        return "the losses you record are the mean, the article's are the sum (the run is right)"
    for k in (-1.0, 2.0, 0.5):
        if close(head, problem.loop(lr, steps=n, scale=k)[0]):
            if k == -1.0:
                return "your loop climbs the loss: it adds lr * grad; descent subtracts it"
            return f"your gradients are off by {factor_words(k)}: each step moves {k:g}x as far"
    t = divergence_step(losses)
    if t is not None:
        return (
            f"your loss grows from step {t} on, though lr {lr:g} is below the stable rate "
            f"{stable:.4g}: check the gradients' signs and powers (exercise 3)"
        )
    t = next(
        (i for i, (a, b) in enumerate(zip(losses, ref_losses, strict=False)) if not close(a, b)),
        None,
    )
    if t is None:
        return (
            f"your losses are right but the final parameters are {tuple(result['params'])}, "
            f"not {tuple(round(v, 6) for v in ref_params)}: return the updated a, b, c, d"
        )
    return (
        f"at step {t} your loss is {losses[t]:.6g}; the reference run from the same start "
        f"(lr {lr:g}) has {ref_losses[t]:.6g}"
    )


# --- 6, 10, 11, 12 -----------------------------------------------------------------------------


def diagnose_stable_rate(result: dict[str, Any]) -> str | None:
    mine = np.asarray(result["values"], dtype=np.float64)
    if mine.shape != (2,):
        return "stable_learning_rate() must return one number"
    Xs = [np.vander(x, 4, increasing=True) for x in problem.rate_inputs()]
    eig = [np.linalg.eigvalsh(2.0 * X.T @ X) for X in Xs]
    ref = np.array([2.0 / e[-1] for e in eig])
    if close(mine, ref):
        return None
    k = ratio(mine, ref)
    if k is not None and abs(k - 0.5) < 1e-6:
        return (
            f"yours is half the stable rate {ref[0]:.4g}: gradient descent is stable up to "
            "2 / lambda_max, not 1 / lambda_max"
        )
    if k is not None and abs(k - 2) < 1e-6:
        return (
            f"yours is twice the stable rate {ref[0]:.4g}: the Hessian of sum (X w - y)^2 "
            "is 2 X^T X, not X^T X"
        )
    if close(mine, [2.0 / e[0] for e in eig]):
        return "you used the smallest eigenvalue: the largest one, lambda_max, limits the rate"
    return f"for the article's x, 2 / lambda_max is {ref[0]:.4g}; yours is {mine[0]:.4g}"


def diagnose_custom_function(result: dict[str, Any]) -> str | None:
    t, g = problem.p3_inputs()
    if not close(result["forward"], problem.p3(t)):
        yours = np.ravel(result["forward"])[0]
        return (
            f"forward: at t = {t[0]:g}, P3(t) = (5 t^3 - 3 t) / 2 is {problem.p3(t)[0]:.6g}; "
            f"yours gives {yours:.6g}"
        )
    back = result["backward"]
    if back is None:
        return "backward gave no gradient for t: return grad_output * P3'(t)"
    ref, rule = g * problem.p3_grad(t), "d/dt P3(t) = 1.5 (5 t^2 - 1), times grad_output"
    if close(back, ref):
        return None
    if close(back, problem.p3_grad(t)):
        return f"backward ignores grad_output: the chain rule multiplies by it ({rule})"
    if close(back, g * problem.p3(t)):
        return f"backward returns grad_output * P3(t), the function, not its derivative: {rule}"
    k = ratio(back, ref)
    if k is not None and abs(k + 1) < 1e-9:
        return f"backward has the wrong sign: {rule}"
    if k is not None:
        return f"backward is off by {factor_words(k)}: {rule}"
    return f"backward at t = {t[0]:g} gives {back[0]:.6g}; grad_output * P3'(t) is {ref[0]:.6g}"


def diagnose_momentum(result: dict[str, Any]) -> str | None:
    path = result["path"]
    ref = problem.momentum_path()
    if close(path, ref):
        return None
    if close(path, problem.momentum_path(dampening=problem.MOMENTUM)):
        return (
            "you scale the gradient by (1 - momentum): torch's SGD adds it whole, "
            "v = momentum * v + grad"
        )
    if close(path, problem.momentum_path(momentum=0.0)):
        return "your velocity forgets the last steps: v = momentum * v + grad"
    t = next(i for i, (a, b) in enumerate(zip(path, ref, strict=True)) if not close(a, b))
    yours, right = tuple(round(v, 8) for v in path[t]), tuple(round(v, 8) for v in ref[t])
    return f"after step {t + 1} your (a, b, c, d) is {yours}, expected {right}"


def diagnose_formula(result: dict[str, Any]) -> str | None:
    mine = result["values"]
    for m in mine:
        if (bad := shape_problem("gradients()", m, 2)) is not None:
            return bad + ": return (grad_b1, grad_b2)"
    mine = np.asarray(mine, dtype=np.float64)
    fd = np.array([finite_difference(problem.formula_loss, p) for p in problem.FORMULA_POINTS])
    x, y = problem.FORMULA_X, problem.FORMULA_Y
    rules = (
        "d/db1 (y_pred - y)^2 = 2 (y_pred - y) (1 - exp(-b2 x))",
        "d/db2 (y_pred - y)^2 = 2 (y_pred - y) b1 x exp(-b2 x)",
    )
    for j, name in enumerate(("b1", "b2")):
        if close(mine[:, j], fd[:, j], rtol=1e-5):
            continue
        if j == 1:
            no_x = [
                (2.0 * (b1 * (1 - np.exp(-b2 * x)) - y) * b1 * np.exp(-b2 * x)).sum()
                for b1, b2 in problem.FORMULA_POINTS
            ]
            if close(mine[:, 1], no_x):
                return f"grad_b2 misses the factor x of the inner -b2 x (chain rule): {rules[1]}"
        exact = [problem.formula_gradients(*p)[j] for p in problem.FORMULA_POINTS]
        return _compare(f"grad_{name}", mine[:, j], exact, rules[j], x.size)
    return None


def finite_difference(f: Callable[..., float], point: Sequence[float]) -> np.ndarray:
    """Central differences of ``f`` at ``point``, one parameter at a time: the oracle."""
    out = []
    for i, v in enumerate(point):
        h = 1e-6 * max(abs(v), 1.0)
        up, down = list(point), list(point)
        up[i], down[i] = v + h, v - h
        out.append((f(*up) - f(*down)) / (2 * h))
    return np.array(out)


DIAGNOSES: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "forward": diagnose_forward,
    "loss": diagnose_loss,
    "gradients": diagnose_gradients,
    "update": diagnose_update,
    "loop": diagnose_loop,
    "stable_rate": diagnose_stable_rate,
    "torch_loop": lambda r: diagnose_loop(r, "torch_loop"),
    "autograd": lambda r: diagnose_loop(r, "autograd"),
    "nn_optim": lambda r: diagnose_loop(r, "nn_optim"),
    "custom_function": diagnose_custom_function,
    "momentum": diagnose_momentum,
    "formula": diagnose_formula,
}
