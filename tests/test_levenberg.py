"""The Levenberg-Marquardt / Gauss-Newton stepper (gradfit.optim.levenberg).

Oracles: ``scipy.optimize.least_squares(method="lm")`` (MINPACK) run to tight tolerances,
``numpy.linalg.lstsq`` for a linear problem, the closed-form standard errors of a straight
line, and NIST StRD's certified values for the stored benchmark problems.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from gradfit.optim import levenberg
from gradfit.optim.levenberg import (
    LMState,
    Tolerances,
    lm_init,
    lm_solve,
    lm_step,
    standard_errors,
)

least_squares = pytest.importorskip("scipy.optimize").least_squares

REPO = Path(__file__).resolve().parents[1]
RNG = np.random.default_rng(7)

# --- problems with hand-written Jacobians -------------------------------------------------

X_DECAY = np.linspace(0.0, 6.0, 40)
Y_DECAY = 4.0 * np.exp(-0.8 * X_DECAY) + RNG.normal(0.0, 0.05, X_DECAY.size)

X_MISRA = np.array([77.6, 114.9, 141.1, 190.8, 239.9, 289.0, 332.8, 378.4, 434.8, 477.3, 536.8])
X_MISRA = np.concatenate([X_MISRA, [593.1, 689.1, 760.0]])
Y_MISRA = np.array([10.07, 14.73, 17.94, 23.93, 29.61, 35.18, 40.02, 44.82, 50.76, 55.05])
Y_MISRA = np.concatenate([Y_MISRA, [61.01, 66.40, 75.47, 81.78]])

X_PEAK = np.linspace(-5.0, 5.0, 80)
Y_PEAK = 2.5 * np.exp(-((X_PEAK - 0.7) ** 2) / (2 * 1.3**2)) + RNG.normal(0.0, 0.02, 80)


def decay(w):
    return w[0] * np.exp(-w[1] * X_DECAY) - Y_DECAY


def decay_jac(w):
    e = np.exp(-w[1] * X_DECAY)
    return np.column_stack([e, -w[0] * X_DECAY * e])


def misra(w):
    return w[0] * (1.0 - np.exp(-w[1] * X_MISRA)) - Y_MISRA


def misra_jac(w):
    e = np.exp(-w[1] * X_MISRA)
    return np.column_stack([1.0 - e, w[0] * X_MISRA * e])


def peak(w):
    return w[0] * np.exp(-((X_PEAK - w[1]) ** 2) / (2 * w[2] ** 2)) - Y_PEAK


def peak_jac(w):
    a, m, s = w
    g = np.exp(-((X_PEAK - m) ** 2) / (2 * s**2))
    return np.column_stack([g, a * g * (X_PEAK - m) / s**2, a * g * (X_PEAK - m) ** 2 / s**3])


def rosenbrock(w):
    return np.array([10.0 * (w[1] - w[0] ** 2), 1.0 - w[0]])


def rosenbrock_jac(w):
    return np.array([[-20.0 * w[0], 10.0], [-1.0, 0.0]])


PROBLEMS = {
    "decay": (decay, decay_jac, [20.0, 5.0]),
    "misra1a": (misra, misra_jac, [500.0, 1e-4]),  # NIST's start I: b2 five times too small
    "peak": (peak, peak_jac, [1.0, -1.0, 3.0]),
    "rosenbrock": (rosenbrock, rosenbrock_jac, [-1.2, 1.0]),
}


@pytest.mark.parametrize("name", list(PROBLEMS))
def test_lm_equals_minpack_from_bad_starts(name):
    fun, jac, w0 = PROBLEMS[name]
    w, state, r = lm_solve(fun, jac, np.array(w0))
    ref = least_squares(fun, w0, jac=jac, method="lm", ftol=1e-15, xtol=1e-15, gtol=1e-15)
    assert state.stop.startswith("converged"), state.stop
    np.testing.assert_allclose(w, ref.x, rtol=1e-8)
    np.testing.assert_allclose(r, fun(w))  # the residuals returned are those at w
    assert float(r @ r) <= float(ref.fun @ ref.fun) * (1 + 1e-12) + 1e-300


def test_counts_are_the_calls_made():
    calls = {"fun": 0, "jac": 0}

    def fun(w):
        calls["fun"] += 1
        return misra(w)

    def jac(w):
        calls["jac"] += 1
        return misra_jac(w)

    _, state, _ = lm_solve(fun, jac, np.array([500.0, 1e-4]))
    assert (state.nfev, state.njev) == (calls["fun"], calls["jac"])
    assert state.nit >= state.njev - 1 > 0


# --- stop reasons -------------------------------------------------------------------------


def test_stop_reasons_name_the_test():
    w, state, _ = lm_solve(decay, decay_jac, np.array([20.0, 5.0]))
    assert state.stop == (
        "converged: relative reduction of the sum of squares below ftol=1e-10"
    ) or state.stop.startswith("converged: step below xtol")
    # At the optimum already: the first step sees a zero gradient and does not move.
    r, J = decay(w), decay_jac(w)
    st = lm_init(w, r, J, Tolerances(gtol=1e-6))
    w2, st, _, moved = lm_step(w, st, r, J, decay)
    assert not moved and st.stop == "converged: gradient below gtol=1e-06"
    assert np.array_equal(w2, w)
    # Only the step-size test enabled.
    _, state, _ = lm_solve(decay, decay_jac, np.array([20.0, 5.0]), Tolerances(0.0, 1e-6, 0.0))
    assert state.stop == "converged: step below xtol=1e-06"
    # No test can pass in two steps.
    _, state, _ = lm_solve(decay, decay_jac, np.array([20.0, 5.0]), max_steps=2)
    assert state.stop == "stopped: 2 steps done without converging"


def test_exact_fit_stops_at_once():
    y = 3.0 * np.exp(-0.5 * X_DECAY)
    w = np.array([3.0, 0.5])
    r = w[0] * np.exp(-w[1] * X_DECAY) - y
    state = lm_init(w, r, decay_jac(w))
    assert state.stop == "converged: the residuals are zero"


def test_no_step_reduces_the_loss():
    w = np.array([20.0, 5.0])
    r, J = decay(w), decay_jac(w)
    state = lm_init(w, r, J, Tolerances(0.0, 0.0, 0.0))
    for _ in range(2000):
        w2, state, r2, moved = lm_step(w, state, r, J, lambda t: np.full_like(r, np.nan))
        assert not moved and np.array_equal(w2, w) and np.array_equal(r2, r)
        if state.stop:
            break
    assert state.stop == "damping grew past 1e+32: no step reduces the loss"


def test_non_finite_trial_is_a_rejected_step():
    w = np.array([20.0, 5.0])
    r, J = decay(w), decay_jac(w)
    state = lm_init(w, r, J)
    w2, s2, r2, moved = lm_step(w, state, r, J, lambda t: np.full_like(r, np.inf))
    assert not moved and s2.stop is None and np.array_equal(w2, w)
    assert s2.radius < state.radius and s2.nfev == 2
    # The caller passes the same J again; the run then goes on to the answer.
    while s2.stop is None:
        w2, s2, r2, moved = lm_step(w2, s2, r2, J, decay)
        if moved:
            J = decay_jac(w2)
    w_ref, _, _ = lm_solve(decay, decay_jac, np.array([20.0, 5.0]))
    np.testing.assert_allclose(w2, w_ref, rtol=1e-8)


def test_stopped_state_is_left_alone():
    w = np.array([20.0, 5.0])
    r, J = decay(w), decay_jac(w)
    state = lm_init(w, r, J)._replace(stop="done")
    out = lm_step(w, state, r, J, decay)
    assert out[1] is state and out[3] is False


# --- Gauss-Newton -------------------------------------------------------------------------


def test_gauss_newton_solves_a_linear_problem_in_one_step():
    A = np.column_stack([np.ones(30), X_DECAY[:30], X_DECAY[:30] ** 2])
    y = np.sin(X_DECAY[:30])

    def fun(w):
        return A @ w - y

    w0 = np.array([5.0, -3.0, 2.0])
    state = lm_init(w0, fun(w0), A, gauss_newton=True)
    w1, state, r1, moved = lm_step(w0, state, fun(w0), A, fun)
    np.testing.assert_allclose(w1, np.linalg.lstsq(A, y, rcond=None)[0], rtol=1e-12)
    assert moved and state.lam == 0.0
    w2, state, _, _ = lm_step(w1, state, r1, A, fun)  # nothing left to reduce
    assert state.stop is not None and state.stop.startswith("converged")
    np.testing.assert_allclose(w2, w1, rtol=1e-12)


def test_gauss_newton_divergence_is_a_reason_not_a_crash():
    x = np.linspace(0.0, 60.0, 20)
    y = np.exp(0.05 * x)

    def fun(w):
        return np.exp(w[0] * x) - y

    def jac(w):
        return (x * np.exp(w[0] * x))[:, None]

    with np.errstate(all="ignore"):
        w, state, _ = lm_solve(fun, jac, np.array([-3.0]), gauss_newton=True)
        w_lm, state_lm, _ = lm_solve(fun, jac, np.array([-3.0]))
    assert state.stop == "diverged: the Gauss-Newton step gave non-finite residuals"
    assert np.all(np.isfinite(w))
    np.testing.assert_allclose(w_lm, [0.05], rtol=1e-10)  # the damped method gets there
    assert state_lm.stop.startswith("converged")


# --- the normal-equations path and the standard errors -------------------------------------


def test_normal_equations_path_agrees(monkeypatch):
    w_svd, _, _ = lm_solve(peak, peak_jac, np.array([1.0, -1.0, 3.0]))
    monkeypatch.setattr(levenberg, "NORMAL_EQUATIONS_SIZE", 0)
    w_ne, state, _ = lm_solve(peak, peak_jac, np.array([1.0, -1.0, 3.0]))
    assert state.stop.startswith("converged")
    np.testing.assert_allclose(w_ne, w_svd, rtol=1e-8)


def test_standard_errors_of_a_line_match_the_closed_form():
    x = X_DECAY
    y = 1.5 - 0.3 * x + RNG.normal(0.0, 0.1, x.size)
    A = np.column_stack([np.ones_like(x), x])
    w = np.linalg.lstsq(A, y, rcond=None)[0]
    r = A @ w - y
    s2 = float(r @ r) / (x.size - 2)
    sxx = float(((x - x.mean()) ** 2).sum())
    expected = np.sqrt([s2 * (1 / x.size + x.mean() ** 2 / sxx), s2 / sxx])
    np.testing.assert_allclose(standard_errors(r, A), expected, rtol=1e-12)
    assert np.all(np.isnan(standard_errors(r[:2], A[:2])))  # no degrees of freedom


def test_misra1a_certified_values():
    w, state, r = lm_solve(misra, misra_jac, np.array([500.0, 1e-4]))
    certified = np.array([2.3894212918e02, 5.5015643181e-04])
    certified_se = np.array([2.7070075241e00, 7.2668688436e-06])
    np.testing.assert_allclose(w, certified, rtol=1e-9)
    np.testing.assert_allclose(standard_errors(r, misra_jac(w)), certified_se, rtol=1e-9)
    assert math.isclose(state.ss, 1.2455138894e-01, rel_tol=1e-9)


def test_state_is_a_plain_record():
    w = np.array([20.0, 5.0])
    state = lm_init(w, decay(w), decay_jac(w))
    assert isinstance(state, LMState) and state.stop is None
    assert (state.nit, state.nfev, state.njev) == (0, 1, 1)
    assert Tolerances() == Tolerances(1e-10, 1e-10, 1e-10)


# --- the stored NIST problems (the benchmark's data) ---------------------------------------


def _benchmark_module(name, monkeypatch):
    """``benchmarks/NAME.py`` imported; sys.path and sys.modules put back afterwards."""
    pytest.importorskip("sympy")
    monkeypatch.setattr(sys, "path", [str(REPO / "benchmarks"), *sys.path])
    for mod in (name, "nist"):
        monkeypatch.delitem(sys.modules, mod, raising=False)
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


def test_nist_files_and_models_reproduce_the_certified_fit(monkeypatch):
    nonlinear = _benchmark_module("nonlinear", monkeypatch)
    for p in nonlinear.nist_problems():
        stored = nonlinear.nist.load(p.name)
        r = p.fun(p.reference)
        # the data and the formula give NIST's residual sum of squares at the certified values
        assert math.isclose(float(r @ r), stored.certified_rss, rel_tol=1e-8), p.name
        se = standard_errors(r, p.jac(p.reference))
        np.testing.assert_allclose(se, p.reference_se, rtol=1e-6, err_msg=p.name)
        with np.errstate(all="ignore"):
            w, state, _ = lm_solve(p.fun, p.jac, p.starts["II"])
        assert nonlinear.lre(w, p.reference) >= 5.0, (p.name, state.stop)
