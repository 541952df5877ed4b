"""explain for a formula model: why gradient descent is slow on it, and what LM does instead.

A model that is not linear in its parameters has no closed-form optimum and no constant
Hessian, but near any point its least-squares loss looks like the quadratic of its Jacobian
``J = d y_pred / d w``: the Gauss-Newton curvature ``2 J^T J``. Its eigenvalues say how fast
gradient descent can go there (it is stable only below ``2 / lambda_max``, and the flattest
direction then shrinks by ``1 - 2 lambda_min / lambda_max`` a step), and its eigenvectors say
which parameters are stiff and which are slack. Levenberg-Marquardt solves the linearised
problem in every direction at once, so it does not care how far apart those scales are.

:func:`explain_formula` computes those numbers at the start and at the solution (found by
Levenberg-Marquardt from the same start); :func:`render_formula` prints them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..config import FitConfig

SCHEMA = "gradfit.understand.explain-formula/1"
MAX_LM_STEPS = 500


@dataclass(frozen=True)
class Curvature:
    """The Gauss-Newton picture at one point: ``2 J^T J``'s eigen-decomposition."""

    params: np.ndarray
    loss: float
    singular_values: np.ndarray  # of J, descending
    eigenvalues: np.ndarray  # of 2 J^T J, ascending
    eigenvectors: np.ndarray  # columns, in the order of eigenvalues
    scaled_condition: float  # of J with each column divided by its norm (inf: singular)

    @property
    def condition(self) -> float:
        """The condition number of J (the square root of the curvature's)."""
        s = self.singular_values
        return math.inf if s[-1] <= 0 else float(s[0] / s[-1])

    @property
    def stable_lr(self) -> float:
        top = float(self.eigenvalues[-1])
        return math.inf if top <= 0 else 2.0 / top


@dataclass
class FormulaExplanation:
    """Every number ``gradfit explain --model FORMULA`` prints."""

    config: FitConfig
    formula: str
    param_names: tuple[str, ...]
    gradients: list[tuple[str, str]]
    n_points: int
    problem: str
    start: Curvature
    solution: Curvature | None
    lm_steps: int | None
    lm_stop: str | None
    lr: float | None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        def point(c: Curvature | None) -> dict[str, Any] | None:
            if c is None:
                return None
            return {
                "params": dict(zip(self.param_names, c.params.tolist(), strict=True)),
                "loss": _num(c.loss),
                "jacobian_condition": _num(c.condition),
                "scaled_jacobian_condition": _num(c.scaled_condition),
                "curvature_eigenvalues": c.eigenvalues.tolist(),
                "stable_lr": _num(c.stable_lr),
            }

        return {
            "schema": SCHEMA,
            "config": self.config.to_dict(),
            "problem": {"name": self.problem, "points": self.n_points},
            "model": self.formula,
            "loss": "sum of squared errors",
            "gradients": [{"parameter": p, "formula": f} for p, f in self.gradients],
            "start": point(self.start),
            "solution": point(self.solution),
            "lm": {"steps": self.lm_steps, "stop": self.lm_stop},
            "lr": self.lr,
            "notes": self.notes,
        }


def curvature(jac: np.ndarray, params: np.ndarray, loss: float) -> Curvature:
    """The Gauss-Newton curvature ``2 J^T J`` at ``params`` (``jac``: the Jacobian there)."""
    s = np.linalg.svd(jac, compute_uv=False)
    vals, vecs = np.linalg.eigh(2.0 * (jac.T @ jac))
    norms = np.linalg.norm(jac, axis=0)
    scaled = math.inf
    if np.all(norms > 0) and np.all(np.isfinite(jac)):
        t = np.linalg.svd(jac / norms, compute_uv=False)
        scaled = math.inf if t[-1] <= 1e-15 * t[0] else float(t[0] / t[-1])
    return Curvature(params.copy(), loss, s, np.clip(vals, 0.0, None), vecs, scaled)


PATH_WHERE = "at the start and at the lm solution, the larger"


def path_gram(model: Any, x: Any, y: Any, init: np.ndarray, steps: int = 100) -> np.ndarray:
    """The Gauss-Newton matrix ``J^T J`` that bounds the curvature along the way: at the start
    and at the solution Levenberg-Marquardt finds from it, whichever has the larger top
    eigenvalue. A rate stable at the start alone can make gradient descent oscillate nearer the
    solution, where a formula's Jacobian is often larger (--lr auto for a formula)."""
    return path_grams(model, x, y, init, steps)[1]


def path_grams(
    model: Any, x: Any, y: Any, init: np.ndarray, steps: int = 100
) -> tuple[np.ndarray, np.ndarray]:
    """``(J^T J at the start, path_gram(...))``: the exact Gauss-Newton matrix at ``init`` (from
    the model's symbolic Jacobian; --precondition's scales) and the one :func:`path_gram`
    chooses, from one Levenberg-Marquardt run."""
    from ..backends import resolve_backend
    from ..data import Problem, as_float64
    from ..methods.second_order import SecondOrderMethod
    from ..optim import OptimizerSpec

    be = resolve_backend("numpy", "cpu", "float64")
    host = Problem(as_float64(x), as_float64(y), "curvature")
    lm = SecondOrderMethod("manual", model, host, be, OptimizerSpec("lm"), init)
    start = lm.J.T @ lm.J
    with np.errstate(all="ignore"):
        for _ in range(steps):
            if lm.stop_reason is not None:
                break
            lm.step(False)
        end = lm._jacobian(lm.w)
    best = end.T @ end
    if not (np.all(np.isfinite(best)) and math.isfinite(lm.loss())):
        return start, start
    top = [float(np.linalg.eigvalsh(g)[-1]) for g in (start, best)]
    return start, best if top[1] > top[0] else start


def explain_formula(config: FitConfig) -> FormulaExplanation:
    """Analyse the fit of a formula model that ``config`` describes (no first-order run)."""
    from ..methods.second_order import SecondOrderMethod
    from ..optim import OptimizerSpec
    from ..plan import plan

    planned = plan(config, host=True)
    model, problem, be = planned.model, planned.trained, planned.backend
    lm = SecondOrderMethod(
        "manual", model, problem, be, OptimizerSpec("lm"), planned.init, loss=planned.loss
    )
    start = curvature(lm.J, lm.params(), lm.loss())
    steps = 0
    with np.errstate(all="ignore"):
        while lm.stop_reason is None and steps < MAX_LM_STEPS:
            lm.step(False)
            steps += 1
    solution = None
    if math.isfinite(lm.loss()):
        solution = curvature(lm._jacobian(lm.w), lm.params(), lm.loss())
    spec = planned.spec
    first_order = spec.name in ("sgd", "momentum", "nesterov", "rmsprop", "adam")
    momentum = planned.config.momentum if planned.lr_auto is None else planned.lr_auto.momentum
    shown = replace(planned.config, seed=planned.seed, lr=spec.lr, momentum=momentum)
    out = FormulaExplanation(
        config=shown,
        formula=model.text,
        param_names=tuple(model.param_names),
        gradients=[
            (f"grad_{p}", f"sum(2 * (y_pred - y) * ({d.split(' = ', 1)[1]}))")
            for p, d in zip(model.param_names, model.formula.derivative_text(), strict=True)
        ],
        n_points=len(problem),
        problem=problem.name,
        start=start,
        solution=solution,
        lm_steps=steps,
        lm_stop=lm.stop_reason or f"not converged in {MAX_LM_STEPS} steps",
        lr=spec.lr if first_order else None,
    )
    out.notes = _notes(out, spec.name)
    return out


def _direction(vec: np.ndarray, names: tuple[str, ...]) -> str:
    """'mostly b2' or 'b1 and b2 together': the parameters an eigenvector moves."""
    weights = vec**2
    order = np.argsort(weights)[::-1]
    main = [names[i] for i in order if weights[i] >= 0.1][:3]
    if len(main) == 1:
        return f"mostly {main[0]}"
    return " and ".join(main) + " together"


def _notes(ex: FormulaExplanation, optimizer: str) -> list[str]:
    """Plain-words findings: stiff and slack directions, what descent and LM do here."""
    notes = []
    where = ex.solution if ex.solution is not None else ex.start
    vals, vecs = where.eigenvalues, where.eigenvectors
    at = "at the solution" if ex.solution is not None else "at the start"
    if not where.scaled_condition < 1e8:  # relative to float64's 1e-16: no information
        slack = _direction(vecs[:, 0], ex.param_names)
        notes.append(
            f"The curvature {at} is singular: {slack} can change without changing the fit "
            "(not identifiable from these data). Fix one of them, or give more varied x."
        )
        return notes
    kappa = float(vals[-1] / vals[0])
    notes.append(
        f"Stiffest direction {at}: {_direction(vecs[:, -1], ex.param_names)} (curvature "
        f"{vals[-1]:.3g}); flattest: {_direction(vecs[:, 0], ex.param_names)} (curvature "
        f"{vals[0]:.3g}). Their ratio, {kappa:.3g}, is the condition number of the curvature."
    )
    if ex.lr is not None and optimizer in ("sgd", "momentum", "nesterov"):
        stable = where.stable_lr
        shrink = ex.lr * float(vals[0])  # the error along the flattest direction: x (1 - shrink)
        if ex.lr >= stable:
            notes.append(
                f"Your lr {ex.lr:.4g} is above the largest stable rate {at}, {stable:.4g}: "
                "gradient descent would oscillate and grow there."
            )
        elif shrink > 0:
            notes.append(
                f"At your lr {ex.lr:.4g} (stable below {stable:.4g}) plain gradient descent "
                f"multiplies the error along the flattest direction by 1 - {shrink:.3g} a step: "
                f"about {1.0 / shrink:.3g} steps to shrink it by a factor e."
            )
    elif optimizer in ("adam", "rmsprop"):
        notes.append(
            f"{optimizer} scales each parameter's step by its own gradient history, which helps "
            "when the stiff and slack directions are single parameters, not when they mix them."
        )
    if where.condition > 10 * where.scaled_condition:
        notes.append(
            f"Much of that is units: measured in steps scaled to each parameter's effect (J's "
            f"columns divided by their norms), the condition number of J is "
            f"{where.scaled_condition:.3g} instead of {where.condition:.3g}."
        )
    if ex.lm_steps is not None:
        notes.append(
            f"Levenberg-Marquardt solves the linearised problem (J^T J + lambda D) d = -J^T r in "
            f"every direction at once: from this start it took {ex.lm_steps} steps "
            f"({ex.lm_stop}). Try --optimizer lm."
        )
    return notes


def _num(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def render_formula(ex: FormulaExplanation) -> str:
    """The explanation as text for a person."""
    names = ex.param_names
    lines = [
        f"Problem: {ex.problem}, {ex.n_points} points (x as given: formulas are not scaled)",
        f"Model:   y_pred = {ex.formula}",
        "Loss:    L = sum((y_pred - y)^2)",
        "Gradient (the chain rule, derived symbolically):",
    ]
    lines += [f"  {p} = {f}" for p, f in ex.gradients]
    for label, c in (("At the start", ex.start), ("At the solution", ex.solution)):
        if c is None:
            lines.append(f"{label}: not reached (the loss is not finite)")
            continue
        values = ", ".join(f"{p} = {v:.8g}" for p, v in zip(names, c.params, strict=True))
        lines.append(f"{label}: {values}")
        lines.append(
            f"  loss {c.loss:.8g}; condition number of J {c.condition:.3g}; "
            f"largest stable lr {c.stable_lr:.4g}"
        )
    lines.append("Why:")
    lines += [f"  - {note}" for note in ex.notes]
    return "\n".join(lines)
