"""explain: what gradient descent is doing on this problem, with this problem's numbers.

The article's author asks "what are these algorithms?". For least squares the answer is exact:
the loss is a quadratic in the parameters, its Hessian ``H = 2 X^T X`` is a constant matrix, and
gradient descent is a linear iteration whose every step can be predicted from ``H``'s
eigenvalues. :func:`explain` computes those numbers for a :class:`FitConfig`; :func:`render`
prints them for a person, :meth:`Explanation.to_dict` for a program.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..config import FitConfig
from ..models import format_polynomial
from ..optim import make_array_optimizer
from ..plan import plan
from .analysis import (
    QuadraticPath,
    Spectrum,
    budget_lr,
    closed_form,
    design_matrix,
    hessian_spectrum,
    quadratic_path,
)

SCHEMA = "gradfit.understand.explain/1"
CONVERGED = 1e-6  # "converged": loss within this relative distance of the optimum's


@dataclass
class Explanation:
    """Every number ``gradfit explain`` prints."""

    config: FitConfig
    scaled: bool
    n_points: int
    problem: str
    model_formula: str
    gradients: list[tuple[str, str]]
    method: str
    optimum_loss: float
    optimum_formula: str
    spectrum: Spectrum
    lr: float
    lr_auto: float | None
    seed_drawn: bool = False  # drawn for this analysis, and it shaped the start or the data
    predicted: list[tuple[int, float]] = field(default_factory=list)  # (logged step, loss)
    final_predicted: float | None = None
    scenarios: list[dict[str, Any]] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)

    def _repr_html_(self) -> str:
        """Jupyter's view: the text ``gradfit explain --plain`` prints, escaped."""
        from ..notebook import text_html
        from .glossary import render_plain

        text = render(self)
        return text_html(text + "\n" + render_plain(text))

    def to_dict(self) -> dict[str, Any]:
        s = self.spectrum
        return {
            "schema": SCHEMA,
            "config": self.config.to_dict(),
            "problem": {"name": self.problem, "points": self.n_points, "scaled": self.scaled},
            "model": self.model_formula,
            "loss": "sum of squared errors",
            "gradients": [{"parameter": p, "formula": f} for p, f in self.gradients],
            "method": self.method,
            "optimum": {"loss": self.optimum_loss, "formula": self.optimum_formula},
            "hessian": {
                "exact": s.exact,
                "eigenvalues": s.eigenvalues.tolist(),
                "condition_number": _num(s.condition),
                "stable_lr": s.stable_lr,
                "best_lr": s.best_lr,
            },
            "lr": self.lr,
            "lr_auto": self.lr_auto,
            "predicted_loss_history": [[t, v] for t, v in self.predicted],
            "predicted_final_loss": self.final_predicted,
            "scenarios": self.scenarios,
            "suggestions": self.suggestions,
        }


def explain(config: FitConfig) -> Explanation:
    """Analyse the run ``config`` describes, without running it."""
    planned = plan(config, host=True)  # NumPy float64: the numbers the analysis needs
    model, spec, domain, problem = planned.model, planned.spec, planned.domain, planned.trained
    x, y = problem.x, problem.y  # t, when scaled: the variable gradient descent works in
    w0 = planned.init
    lr_auto = None if planned.lr_auto is None else planned.lr_auto.lr
    # The run as asked (its backend, not the analysis's), with its seed and rate resolved.
    momentum = planned.config.momentum if planned.lr_auto is None else planned.lr_auto.momentum
    config = replace(planned.config, seed=planned.seed, lr=spec.lr, momentum=momentum)
    optimum = closed_form(x, y, model.reference_degree)
    optimum_formula = format_polynomial(
        optimum.coef if domain is None else domain.to_x(optimum.coef)
    )
    path = quadratic_path(model, x, y, w0)
    spectrum = path.spectrum if path is not None else hessian_spectrum(model, x, w0)

    out = Explanation(
        config=config,
        scaled=domain is not None,
        n_points=len(problem),
        problem=problem.name,
        model_formula=_model_formula(model),
        gradients=_gradients(model),
        method=_method_text(config, spec),
        optimum_loss=optimum.loss,
        optimum_formula=optimum_formula,
        spectrum=spectrum,
        lr=spec.lr,
        lr_auto=lr_auto,
        seed_drawn=planned.seed_drawn,
    )
    if path is not None:
        steps = [t for t in range(config.steps) if t % config.log_every == config.log_every - 1]
        losses = predict_losses(path, design_matrix(model, x), spec, [*steps, config.steps])
        out.predicted = list(zip(steps, losses[:-1], strict=True))
        out.final_predicted = losses[-1]
        out.scenarios = _scenarios(path, spec.lr, config.steps)
    out.suggestions = _suggestions(model, config, spectrum, path, spec)
    return out


def predict_losses(
    path: QuadraticPath, X: np.ndarray, spec: Any, at_steps: list[int]
) -> list[float]:
    """Loss after each of ``at_steps`` updates, exactly, for least squares.

    Plain SGD uses the closed form in the eigenbasis; other optimizers are run on the quadratic
    itself (gradient ``H (w - w*)``, O(n^2) a step), with the same update code a fit uses.
    """
    if spec.name == "sgd" and not spec.momentum:
        return path.loss_after(np.asarray(at_steps), spec.lr).tolist()
    if spec.name == "lbfgs":
        return []
    H = 2.0 * (X.T @ X)
    # Work with d = w - w*: the gradient is H d, and every update depends on gradients only.
    d = path.spectrum.eigenvectors @ path.initial_error
    opt = make_array_optimizer(spec)
    state = opt.init(d)
    wanted = set(at_steps)
    found: dict[int, float] = {}
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(max(at_steps) + 1):
            if t in wanted:
                found[t] = path.optimum_loss + 0.5 * float(d @ H @ d)
            d, state = opt.update(H @ d, state, d)
    return [found[t] for t in at_steps]


def _scenarios(path: QuadraticPath, lr: float, steps: int) -> list[dict[str, Any]]:
    """Plain gradient descent at the run's rate, the best rate, and a few telling others."""
    s = path.spectrum
    rows = [
        ("your lr", lr),
        ("best lr", s.best_lr),
        ("0.9 x stable", 0.9 * s.stable_lr),
        ("10 x your lr", 10 * lr),
    ]
    out = []
    for label, rate in rows:
        factor = s.rate(rate)
        stable = factor < 1.0
        final = float(path.loss_after(steps, rate)) if stable else math.inf
        out.append(
            {
                "label": label,
                "lr": rate,
                "factor_per_step": factor,
                "stable": stable,
                "loss_after_steps": _num(final),
                "steps_to_converge": path.steps_to(rate, CONVERGED) if stable else None,
            }
        )
    return out


def _suggestions(
    model: Any, config: FitConfig, spectrum: Spectrum, path: QuadraticPath | None, spec: Any
) -> list[str]:
    tips = []
    if path is not None and spectrum.lambda_min > 0:
        now = path.steps_to(spec.lr, CONVERGED) if spectrum.rate(spec.lr) < 1 else None
        best = path.steps_to(spectrum.best_lr, CONVERGED)
        now_text = f"{now} steps" if now is not None else "never, at your lr"
        auto = budget_lr(path, config.steps)
        tips.append(
            f"--lr auto picks {auto:.4g}, the rate with the lowest predicted loss after "
            f"{config.steps} steps ({float(path.loss_after(config.steps, auto)):.8g}). For "
            f"longer runs the best constant rate is {spectrum.best_lr:.4g}: within "
            f"{CONVERGED:g} of the optimum's loss in {best} steps ({now_text} now)."
        )
        root = math.sqrt(spectrum.condition)
        rate = (root - 1) / (root + 1)
        excess0 = float(path.loss_after(0, spec.lr)) - path.optimum_loss
        if 0 < rate < 1 and excess0 > 0:
            hb = math.ceil(math.log(CONVERGED * path.optimum_loss / excess0) / (2 * math.log(rate)))
            tips.append(
                "Momentum (each step keeps part of the last, like a heavy ball rolling "
                f"downhill): --optimizer momentum --lr auto (Polyak's rule) contracts by "
                f"about {rate:.4f} a step instead of {spectrum.rate(spectrum.best_lr):.4f}: "
                f"roughly {max(hb, 1)} steps."
            )
    if model.kind == "poly":
        scaled = _scaled_condition(config, model)
        if scaled is not None and spectrum.condition > 10 * scaled:
            tips.append(
                f"Conditioning: the Hessian's condition number is {spectrum.condition:.4g}. With x "
                f"mapped to [-1, 1] and an orthogonal basis (--scale --basis legendre) it is "
                f"{scaled:.3g}, and plain gradient descent needs far fewer steps."
            )
    tips.append(
        "Adam (--optimizer adam --lr 1e-2) scales each parameter's step by its own gradient "
        "history, which helps when the parameters live on very different scales."
    )
    return tips


def _scaled_condition(config: FitConfig, model: Any) -> float | None:
    """The Hessian's condition number with x mapped to [-1, 1] and a Legendre basis."""
    t = np.linspace(-1.0, 1.0, config.points)
    X = np.polynomial.legendre.legvander(t, model.degree)
    vals = np.linalg.eigvalsh(X.T @ X)
    return float(vals[-1] / vals[0]) if vals[0] > 0 else None


def _model_formula(model: Any) -> str:
    if model.kind == "poly":
        if model.basis == "monomial":
            return "y_pred = " + " + ".join(_term(k, "x") for k in range(model.n_params))
        sym = "P" if model.basis == "legendre" else "T"
        name = "Legendre" if model.basis == "legendre" else "Chebyshev"
        terms = ["c0"] + [f"c{k} {sym}{k}(x)" for k in range(1, model.n_params)]
        return "y_pred = " + " + ".join(terms) + f"   ({sym}k: the {name} polynomials)"
    if model.kind == "legendre3":
        return "y_pred = a + b * P3(c + d x),   P3(z) = (5 z^3 - 3 z) / 2"
    return "y_pred = a + b x + c x^2 + d x^3 [+ e x^4 [+ e x^5]]   (orders drawn at random)"


def _term(k: int, x: str) -> str:
    return f"c{k}" if k == 0 else f"c{k} {x}" if k == 1 else f"c{k} {x}^{k}"


def _gradients(model: Any) -> list[tuple[str, str]]:
    r = "2 (y_pred - y)"
    if model.kind == "poly":
        out = []
        for k in range(model.n_params):
            if k == 0:
                basis = ""
            elif model.basis == "monomial":
                basis = " * x" if k == 1 else f" * x^{k}"
            else:
                basis = f" * {'P' if model.basis == 'legendre' else 'T'}{k}(x)"
            out.append((f"c{k}", f"sum {r}{basis}"))
        return out
    if model.kind == "legendre3":
        return [
            ("a", f"sum {r}"),
            ("b", f"sum {r} * P3(c + d x)"),
            ("c", f"sum {r} * b * P3'(c + d x),   P3'(z) = 3 (5 z^2 - 1) / 2"),
            ("d", f"sum {r} * b * P3'(c + d x) * x"),
        ]
    return [
        ("a", f"sum {r}"),
        ("b", f"sum {r} * x"),
        ("c", f"sum {r} * x^2"),
        ("d", f"sum {r} * x^3"),
        ("e", f"sum {r} * (x^4 [+ x^5]), the orders used"),
    ]


def _method_text(config: FitConfig, spec: Any) -> str:
    who = {
        "manual": "the hand-derived gradient above",
        "autograd": "torch autograd (loss.backward()), which computes the same gradient",
        "nn": "torch.nn (nn.Linear + nn.MSELoss(reduction='sum')) and autograd",
        "module": "a custom nn.Module and autograd",
        "gram": "2 (G w - b) with G = X^T X, b = X^T y summed in one pass over the data",
        "auto": "the hand-derived gradient above, or the same from X^T X, X^T y (--method auto)",
    }[config.method]
    update = {
        "sgd": "w <- w - lr * grad",
        "momentum": f"heavy-ball momentum {spec.effective_momentum:g}",
        "nesterov": f"Nesterov momentum {spec.effective_momentum:g}",
        "rmsprop": "RMSprop (steps divided by a running RMS of the gradient)",
        "adam": "Adam (momentum and per-parameter RMS scaling)",
        "lbfgs": "L-BFGS (a quasi-Newton method)",
    }[spec.name]
    return (
        f"full-batch gradient descent on least squares: every step uses all points; gradient "
        f"from {who}; update {update}; lr {spec.lr:.4g}, {config.steps} steps"
    )


def _num(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def render(ex: Explanation) -> str:
    """The explanation as plain text for a terminal (80 columns)."""
    s = ex.spectrum
    c = ex.config
    where = f"from {c.data}" if c.data else f"on [{c.x_range[0]:.6g}, {c.x_range[1]:.6g}]"
    lines = [
        f"Problem     {ex.problem}: {ex.n_points} points {where}"
        + (
            ", x mapped to t in [-1, 1] (the model and all numbers below are in t)"
            if ex.scaled
            else ""
        ),
        f"Model       {ex.model_formula}",
        "Loss        L = sum over the points of (y_pred - y)^2   (sum of squared errors)",
        "Gradient    what the training loop computes every step:",
    ]
    article = c.model == "poly" and c.basis == "monomial" and c.degree == 3
    names = "abcd"
    for i, (p, f) in enumerate(ex.gradients):
        note = f"   (the article's grad_{names[i]})" if article else ""
        lines.append(f"              dL/d{p} = {f}{note}")
    lines += [
        "Method      " + _wrap(ex.method, 12),
        f"Optimum     least squares (numpy.polynomial): loss {ex.optimum_loss:.8g}",
        f"              {ex.optimum_formula}",
    ]
    kind = "exact, constant" if s.exact else "Gauss-Newton at the start, approximate"
    eig = ", ".join(f"{v:.4g}" for v in s.eigenvalues)
    lines += [
        f"Curvature   Hessian of L ({kind}): " + ("2 X^T X" if s.exact else "2 J^T J"),
        "              (how sharply the loss bends as the parameters move; its eigenvalues",
        "              are the bend along each independent direction, steepest last)",
        f"              eigenvalues {eig}",
        f"              condition number lambda_max / lambda_min = {s.condition:.4g}",
        "              (steepest over flattest: the larger, the more steps plain gradient",
        "              descent needs, since one lr must suit both)",
        f"Step size   largest stable lr  2 / lambda_max               = {s.stable_lr:.4g}",
        f"            best constant lr   2 / (lambda_min + lambda_max) = {s.best_lr:.4g}",
    ]
    auto = " (--lr auto)" if ex.lr_auto is not None else ""
    ratio = ex.lr / s.stable_lr
    verdict = "stable" if ratio < 1 else "UNSTABLE: the loss will blow up"
    lines.append(
        f"            your lr {ex.lr:.4g}{auto} is {ratio:.3g} x the stable limit: {verdict}"
    )
    if ex.final_predicted is not None and math.isfinite(ex.final_predicted):
        lines.append(
            f"Prediction  loss after {c.steps} steps: {ex.final_predicted:.8g} "
            f"(optimum {ex.optimum_loss:.8g}; exact for least squares, no run needed)"
        )
    elif ex.final_predicted is not None:
        lines.append("Prediction  the loss grows without bound: the run diverges (exit 1)")
    if ex.scenarios:
        lines.append(f"            plain gradient descent, {c.steps} steps:")
        lines.append("              lr          per-step factor  loss after     steps to converge")
        for sc in ex.scenarios:
            loss = "diverges" if not sc["stable"] else f"{sc['loss_after_steps']:.8g}"
            conv = sc["steps_to_converge"]
            conv_text = "never" if conv is None else str(conv)
            lines.append(
                f"              {sc['lr']:<10.4g}  {sc['factor_per_step']:<15.6g}  {loss:<13}"
                f"{conv_text}   {sc['label']}"
            )
        lines.append(
            f"              (converge: loss within {CONVERGED:g} of the optimum's; factor >= 1 "
            "means the slowest error grows)"
        )
    if ex.suggestions:
        lines.append("Faster      " + _wrap("- " + ex.suggestions[0], 12))
        lines.extend("            " + _wrap("- " + tip, 12) for tip in ex.suggestions[1:])
    lines.append("Words       each term above in plain language: docs/glossary.md, or add --plain")
    return "\n".join(lines)


def _wrap(text: str, indent: int, width: int = 92) -> str:
    import textwrap

    return ("\n" + " " * (indent + 2)).join(textwrap.wrap(text, width - indent - 2))
