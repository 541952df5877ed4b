"""The fast evaluation of formula models: a program bound to x once per fit
(:meth:`gradfit.formula.program.Program.bind`) must give what the plain program gives, for every
function a formula may call, on NumPy and torch, and its gradient must match finite differences;
the Levenberg-Marquardt method's reuse of the trial point's forward pass must not change a step.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradfit
from gradfit.backends import resolve_backend
from gradfit.formula import FUNCTIONS, parse_formula
from gradfit.formula.functions import STEPS
from gradfit.methods.second_order import SecondOrderMethod
from gradfit.models import FormulaModel
from gradfit.optim import OptimizerSpec

POSITIVE = {"log", "log2", "log10", "sqrt", "acosh"}
APIS = sorted({api for api, _ in FUNCTIONS.values()})
X = np.linspace(-0.9, 0.9, 41) + 0.013  # no exact zero: abs and sign have a kink there


def _cases(api: str) -> list[tuple[str, np.ndarray]]:
    """Formulas calling ``api``: of x and parameters; of parameters only (a 0-d value
    broadcast); with a constant argument (lifted to an array for two-argument functions)."""
    if FUNCTIONS[api][1] == 2:
        return [
            (f"{api}(a*x + 2.5, b*x + c)", np.array([0.7, 0.4, 1.3])),
            (f"a*x + {api}(b + 1.5, c)", np.array([0.7, 0.4, 1.3])),
            (f"a*{api}(1.5, b*x + 2) + c*{api}(x + 2, 0.5)", np.array([0.7, 0.4, 1.3])),
        ]
    shift = 1.6 if api in POSITIVE else 0.05
    return [
        (f"a*{api}(b*x + c)", np.array([1.3, 0.45, shift])),
        (f"a*x + {api}(b*c + {shift})", np.array([1.3, 0.45, 0.2])),
        (f"a*{api}(0.5*x + {shift}) + b*x**2 + c", np.array([1.3, 0.45, 0.2])),
    ]


def _plain(formula: str, w: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The predictions and the Jacobian from the program evaluated from scratch (no binding)."""
    f = parse_formula(formula)
    with np.errstate(all="ignore"):
        y, regs = f.forward_registers(np, x, w)
        return y, f.jacobian(np, x, w, regs)


@pytest.mark.parametrize("api", APIS)
def test_bound_program_equals_the_plain_one_for_every_function(api: str) -> None:
    be = resolve_backend("numpy", "cpu", "float64")
    for formula, w in _cases(api):
        model = FormulaModel.from_text(formula)
        cache = model.prepare(X, be)
        y_plain, J_plain = _plain(formula, w, X)
        y = model.forward(w, cache)
        grad = model.grad(w, cache, 2.0 * (y - 0.3 * X))
        J = model.jacobian(w, cache)
        np.testing.assert_allclose(y, y_plain, rtol=1e-13, atol=0, err_msg=formula)
        np.testing.assert_allclose(J, J_plain, rtol=1e-13, atol=0, err_msg=formula)
        plain_grad = np.array([np.sum(2.0 * (y_plain - 0.3 * X) * c) for c in J_plain.T])
        np.testing.assert_allclose(grad, plain_grad, rtol=1e-13, atol=1e-300, err_msg=formula)
        # A second evaluation at other parameters reuses the binding and is still right.
        w2 = w * 1.01
        y2_plain, J2_plain = _plain(formula, w2, X)
        np.testing.assert_allclose(model.forward(w2, cache), y2_plain, rtol=1e-13, atol=0)
        np.testing.assert_allclose(model.jacobian(w2, cache), J2_plain, rtol=1e-13, atol=0)
        if api in STEPS:
            continue
        # The gradient of the sum of squares against central differences of the loss.
        fd = np.zeros_like(w)
        for k in range(w.size):
            h = 1e-6 * max(1.0, abs(w[k]))
            up, down = w.copy(), w.copy()
            up[k] += h
            down[k] -= h
            loss_up = np.sum((model.predict(up, X) - 0.3 * X) ** 2)
            loss_down = np.sum((model.predict(down, X) - 0.3 * X) ** 2)
            fd[k] = (loss_up - loss_down) / (2 * h)
        np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-6, err_msg=formula)


@pytest.mark.parametrize("api", APIS)
def test_bound_program_on_torch_equals_numpy(api: str) -> None:
    torch = pytest.importorskip("torch")
    be = resolve_backend("torch", "cpu", "float64")
    xt = torch.tensor(X)
    for formula, w in _cases(api):
        model = FormulaModel.from_text(formula)
        cache = model.prepare(xt, be)
        wt = torch.tensor(w)
        y = model.forward(wt, cache)
        J = model.jacobian(wt, cache)
        y_plain, J_plain = _plain(formula, w, X)
        np.testing.assert_allclose(y.numpy(), y_plain, rtol=1e-13, atol=1e-15, err_msg=formula)
        np.testing.assert_allclose(J.numpy(), J_plain, rtol=1e-12, atol=1e-14, err_msg=formula)


def test_x_only_parts_are_computed_once_per_fit() -> None:
    f = parse_formula("(a + b*x + c*x**2)/(1 + d*x**3)")
    bound = f.program.bind(np, X)
    # Every per-step instruction involves a parameter; x**2 and x**3 are bound registers.
    assert all(f.program.depends_on_params(i) for i, *_ in bound.steps)
    assert len(bound.steps) < len(f.program.code) - 4
    powers = [r for r in bound.base if isinstance(r, np.ndarray) and r is not X]
    assert any(np.array_equal(r, X**3) for r in powers)


def test_a_new_x_is_bound_again() -> None:
    """Mini-batches change the cache's x: the binding follows it."""
    model = FormulaModel.from_text("a*exp(-b*x**2)")
    be = resolve_backend("numpy", "cpu", "float64")
    cache = model.prepare(X, be)
    w = np.array([1.5, 0.8])
    model.forward(w, cache)
    part = X[::3].copy()
    cache.feats = [part]
    np.testing.assert_array_equal(model.forward(w, cache), 1.5 * np.exp(-0.8 * part**2))
    assert model.jacobian(w, cache).shape == (part.size, 2)


def test_constant_formula_parts_broadcast() -> None:
    model = FormulaModel.from_text("a + b")  # no x at all: the predictions still have N values
    be = resolve_backend("numpy", "cpu", "float64")
    cache = model.prepare(X, be)
    w = np.array([0.5, 0.25])
    np.testing.assert_array_equal(model.forward(w, cache), np.full(X.size, 0.75))
    np.testing.assert_array_equal(model.jacobian(w, cache), np.ones((X.size, 2)))
    grad = model.grad(w, cache, np.ones(X.size))
    np.testing.assert_array_equal(grad, [X.size, X.size])


def test_lm_method_reuses_the_forward_pass_without_changing_a_number() -> None:
    """The Jacobian at a point LM moved to continues that point's forward pass; it equals the
    Jacobian evaluated from scratch, and the whole fit equals a stepper fed fresh Jacobians."""
    from gradfit.data import Problem
    from gradfit.optim.levenberg import lm_solve

    formula = "b1*(1 - exp(-b2*x))"
    model = FormulaModel.from_text(formula)
    x = np.linspace(0.5, 8.0, 30)
    y = 2.5 * (1 - np.exp(-0.4 * x)) + 0.01 * np.sin(7 * x)
    be = resolve_backend("numpy", "cpu", "float64")
    lm = SecondOrderMethod("manual", model, Problem(x, y, "t"), be, OptimizerSpec("lm"), [1, 1])
    for _ in range(100):
        if lm.stop_reason is not None:
            break
        lm.step(False)
        if lm.J is None:
            J = lm._jacobian(lm.w)
            np.testing.assert_array_equal(J, _plain(formula, lm.w, x)[1])
            lm.J = J

    def fun(w: np.ndarray) -> np.ndarray:
        return _plain(formula, w, x)[0] - y

    w, state, _ = lm_solve(fun, lambda w: _plain(formula, w, x)[1], np.array([1.0, 1.0]))
    result = gradfit.fit(x, y, model=formula, init=[1, 1], optimizer="lm", steps=200)
    np.testing.assert_array_equal(result.params, w)
    assert result.steps_done == state.nit
