"""Formula models, how fast: gradfit's evaluation against hand-written NumPy, and its whole
Levenberg-Marquardt fit against ``scipy.optimize.least_squares``.

    python benchmarks/bench_formula.py              # text tables
    python benchmarks/bench_formula.py --markdown   # the tables of docs/models.md
    python benchmarks/bench_formula.py --json       # one JSON document
    python benchmarks/bench_formula.py --quick      # fewer repeats, no torch.compile

Three measurements (``measure(repeat)`` returns them as one dict):

1. **Per step.** For five models - an exponential decay, NIST's Misra1a, a rational (NIST's
   Thurber), a Gaussian peak (NIST's Eckerle4) and a logistic curve - the time of one
   evaluation of the predictions and the gradient of the sum of squares (what a first-order
   step needs: ``FormulaModel.forward`` + ``grad``), and of the predictions and the Jacobian
   (what a Levenberg-Marquardt step needs), against a NumPy function of the same model and
   gradient written by hand below (its common parts shared and its powers of x computed once,
   as a careful person would). On the problem's own points and on 10^4 points. The ratio is
   gradfit's time over the hand-written one (the goal: 1.5 or less).
2. **Whole fit.** ``gradfit.fit(x, y, model=FORMULA, init=..., optimizer="lm")`` - parsing,
   planning, the training loop, the statistics - against ``least_squares(method="lm")`` with
   the analytic Jacobian (sympy's, as in ``benchmarks/nonlinear.py``) on its 13 problems from
   both starts (26 rows). The ratio compares the fastest runs (goal: 2 or less).
3. **torch.** The same fused forward + gradient on torch (CPU, float64, one thread), eager and
   under ``torch.compile``: the compile time, the time per step, and what a short (100 steps)
   and a long (100 000 steps) fit would take with each. gradfit runs eager: see the result.

Timings are the minimum over ``repeat`` rounds in which the contenders take turns, so a burst
of load on a shared machine hits them alike; compare the ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import nist  # noqa: E402

from gradfit.backends import resolve_backend  # noqa: E402
from gradfit.models.formula import FormulaModel  # noqa: E402

LARGE = 10_000  # points of the second size in the per-step table


# --- hand-written NumPy: predictions and the gradient of sum((f - y)^2), and the Jacobian ------


def decay(x: np.ndarray, w: np.ndarray, pre: Any = None) -> tuple[np.ndarray, list[Any]]:
    """``b1*exp(-b2*x) + b3``: the predictions and the columns of the Jacobian."""
    b1, b2, _ = w
    e = np.exp(-b2 * x)
    return b1 * e + w[2], [e, -b1 * x * e, 1.0]


def misra1a(x: np.ndarray, w: np.ndarray, pre: Any = None) -> tuple[np.ndarray, list[Any]]:
    """``b1*(1-exp(-b2*x))``."""
    b1, b2 = w
    e = np.exp(-b2 * x)
    d1 = 1.0 - e
    return b1 * d1, [d1, b1 * x * e]


def thurber(x: np.ndarray, w: np.ndarray, pre: Any = None) -> tuple[np.ndarray, list[Any]]:
    """``(b1 + b2*x + b3*x**2 + b4*x**3) / (1 + b5*x + b6*x**2 + b7*x**3)``; ``pre`` is
    ``(x**2, x**3)``, computed once per data set (:func:`powers`)."""
    x2, x3 = pre if pre is not None else powers(x)
    num = w[0] + w[1] * x + w[2] * x2 + w[3] * x3
    den = 1.0 + w[4] * x + w[5] * x2 + w[6] * x3
    inv = 1.0 / den
    f = num * inv
    g = -f * inv
    return f, [inv, x * inv, x2 * inv, x3 * inv, x * g, x2 * g, x3 * g]


def powers(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What the rational needs of x alone: ``x**2`` and ``x**3``."""
    return x * x, x * x * x


def gaussian(x: np.ndarray, w: np.ndarray, pre: Any = None) -> tuple[np.ndarray, list[Any]]:
    """``(b1/b2) * exp(-0.5*((x-b3)/b2)**2)``."""
    b1, b2, b3 = w
    u = (x - b3) / b2
    e = np.exp(-0.5 * u * u)
    f = (b1 / b2) * e
    return f, [e / b2, f * (u * u - 1.0) / b2, f * u / b2]


def logistic(x: np.ndarray, w: np.ndarray, pre: Any = None) -> tuple[np.ndarray, list[Any]]:
    """``b1/(1+exp(-b2*(x-b3)))``."""
    b1, b2, b3 = w
    t = x - b3
    e = np.exp(-b2 * t)
    inv = 1.0 / (1.0 + e)
    f = b1 * inv
    s = f * inv * e  # b1 e / (1 + e)^2
    return f, [inv, s * t, -s * b2]


@dataclass
class Case:
    """A model, its data, a point to evaluate at, and the hand-written NumPy version."""

    name: str
    formula: str
    x: np.ndarray
    y: np.ndarray
    w: np.ndarray
    hand: Callable[..., tuple[np.ndarray, list[Any]]]  # (x, w, pre) -> (f, Jacobian columns)
    prepare: Callable[[np.ndarray], Any] = lambda x: None  # what depends on x alone, once

    def resized(self, n: int) -> Case:
        """The same model on ``n`` points over the same range (y: the model at w, plus noise)."""
        x = np.linspace(float(self.x.min()), float(self.x.max()), n)
        rng = np.random.default_rng(3)
        y0, _ = self.hand(x, self.w, self.prepare(x))
        y = y0 + 0.01 * np.std(y0) * rng.standard_normal(n)
        return Case(self.name, self.formula, x, y, self.w, self.hand, self.prepare)


def cases() -> list[Case]:
    """The five models of the per-step table, at NIST's certified values (the synthetic ones
    at the parameters their data were made with)."""
    x = np.linspace(0.0, 5.0, 60)
    rng = np.random.default_rng(12)
    w_decay = np.array([5.0, 1.3, 0.5])
    w_logistic = np.array([2.0, 3.0, 2.5])
    out = [
        Case("decay", "b1*exp(-b2*x) + b3", x, decay(x, w_decay)[0] + 0.02 * rng.normal(size=60),
             w_decay, decay),
        Case("logistic", "b1/(1+exp(-b2*(x-b3)))", x,
             logistic(x, w_logistic)[0] + 0.02 * rng.normal(size=60), w_logistic, logistic),
    ]  # fmt: skip
    rational = "(b1 + b2*x + b3*x**2 + b4*x**3) / (1 + b5*x + b6*x**2 + b7*x**3)"
    for name, formula, hand, prepare in (
        ("Misra1a", "b1*(1-exp(-b2*x))", misra1a, None),
        ("Eckerle4", "(b1/b2) * exp(-0.5*((x-b3)/b2)**2)", gaussian, None),
        ("Thurber", rational, thurber, powers),  # x's powers once per data set, as gradfit's
    ):
        p = nist.load(name)
        case = Case(name, formula, p.x, p.y, p.certified, hand)
        if prepare is not None:
            case.prepare = prepare
        out.append(case)
    return out


# --- per-step timing -------------------------------------------------------------------------


def _best(fns: dict[str, Callable[[], Any]], repeat: int, budget: float = 2e-3) -> dict:
    """Seconds per call of each function: the minimum over ``repeat`` rounds, the functions
    taking turns; each round calls a function enough times to last about ``budget``."""
    for f in fns.values():
        f()
    inner = {}
    for k, f in fns.items():
        t0 = time.perf_counter()
        f()
        inner[k] = max(1, int(budget / max(time.perf_counter() - t0, 1e-7)))
    best = dict.fromkeys(fns, float("inf"))
    gc.disable()
    try:
        for _ in range(repeat):
            for k, f in fns.items():
                t0 = time.perf_counter()
                for _ in range(inner[k]):
                    f()
                best[k] = min(best[k], (time.perf_counter() - t0) / inner[k])
    finally:
        gc.enable()
    return best


def per_step(case: Case, repeat: int) -> dict:
    """gradfit's forward + gradient (and forward + Jacobian) against the hand-written one."""
    model = FormulaModel.from_text(case.formula)
    be = resolve_backend("numpy", "cpu", "float64")
    cache = model.prepare(case.x, be)
    x, y, w = case.x, case.y, case.w.copy()
    n, p = x.size, w.size
    pre = case.prepare(x)

    def gf_grad() -> np.ndarray:
        y_pred = model.forward(w, cache)
        return model.grad(w, cache, 2.0 * (y_pred - y))

    def hand_grad() -> np.ndarray:
        f, cols = case.hand(x, w, pre)
        g = 2.0 * (f - y)
        return np.array([(g * c).sum() for c in cols])

    def gf_jac() -> tuple:
        return model.forward(w, cache) - y, model.jacobian(w, cache)

    def hand_jac() -> tuple:
        f, cols = case.hand(x, w, pre)
        J = np.empty((n, p))
        for k, c in enumerate(cols):
            J[:, k] = c
        return f - y, J

    # Both compute the same numbers (to rounding: the hand-written forms multiply in other
    # orders), or the comparison would mean nothing.
    g1, g2 = gf_grad(), hand_grad()
    (r1, J1), (r2, J2) = gf_jac(), hand_jac()
    scale = np.abs(J2).max(axis=0)
    size = np.abs(2.0 * r2) @ np.abs(J2)  # the gradient's terms' size (it is ~0 at an optimum)
    if not (np.all(np.abs(g1 - g2) <= 1e-9 * size)
            and np.allclose(r1, r2, rtol=1e-12, atol=1e-12 * np.abs(r2).max())
            and np.allclose(J1 / scale, J2 / scale, rtol=1e-9, atol=1e-12)):  # fmt: skip
        raise AssertionError(f"{case.name}: gradfit and the hand-written NumPy disagree")
    t = _best({"gf_grad": gf_grad, "hand_grad": hand_grad, "gf_jac": gf_jac,
               "hand_jac": hand_jac}, repeat)  # fmt: skip
    return {
        "model": case.name,
        "formula": case.formula,
        "n": n,
        "params": p,
        "grad_us": 1e6 * t["gf_grad"],
        "hand_grad_us": 1e6 * t["hand_grad"],
        "grad_ratio": t["gf_grad"] / t["hand_grad"],
        "jac_us": 1e6 * t["gf_jac"],
        "hand_jac_us": 1e6 * t["hand_jac"],
        "jac_ratio": t["gf_jac"] / t["hand_jac"],
    }


# --- the whole Levenberg-Marquardt fit against scipy -------------------------------------------


def lm_fits(repeat: int) -> dict:
    """``gradfit.fit(optimizer="lm")`` and ``least_squares(method="lm")`` on the problems of
    ``benchmarks/nonlinear.py``, both starts; the minimum of ``repeat`` paired runs each."""
    import nonlinear
    from scipy.optimize import least_squares

    import gradfit

    rows = []
    for prob in nonlinear.nist_problems() + nonlinear.synthetic_problems():
        for start, b0 in prob.starts.items():
            init = {f"b{k + 1}": float(v) for k, v in enumerate(b0)}

            def fit(prob: Any = prob, init: dict = init) -> Any:
                return gradfit.fit(
                    prob.x, prob.y, model=prob.formula, init=init, optimizer="lm", steps=1000,
                    backend="numpy", dtype="float64", reference=False,
                )  # fmt: skip

            def scipy_lm(prob: Any = prob, b0: np.ndarray = b0) -> Any:
                return least_squares(prob.fun, b0.copy(), jac=prob.jac, method="lm")

            with np.errstate(all="ignore"):
                result = fit()
                t = _best({"fit": fit, "scipy": scipy_lm}, repeat, budget=0.0)
            rows.append(
                {
                    "problem": prob.name,
                    "start": start,
                    "steps": result.steps_done,
                    "fit_ms": 1e3 * t["fit"],
                    "scipy_ms": 1e3 * t["scipy"],
                    "ratio": t["fit"] / t["scipy"],
                }
            )
    ratios = [r["ratio"] for r in rows]
    return {
        "rows": rows,
        "median_ratio": statistics.median(ratios),
        "max_ratio": max(ratios),
        "within_2x": sum(r <= 2.0 for r in ratios),
    }


# --- torch: eager against torch.compile ----------------------------------------------------------


def torch_compile(n: int = LARGE, compile_too: bool = True) -> dict | None:
    """The fused forward + gradient of the decay model on torch (CPU, float64, one thread),
    eager and compiled: compile seconds, microseconds per step, and short / long fit totals.
    None without torch."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is optional
        return None
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a shared machine: threads that wait on each other measure load
    try:
        case = cases()[0].resized(n)
        model = FormulaModel.from_text(case.formula)
        be = resolve_backend("torch", "cpu", "float64")
        x = torch.tensor(case.x)
        y = torch.tensor(case.y)
        program = model.formula.program
        bound = program.bind(be.xp, x)
        out = program.out

        def fused(w: Any) -> Any:
            regs = bound.run(w)
            g = 2.0 * (regs[out[0]] - y)
            return torch.stack([torch.sum(g * regs[i]) for i in out[1:]])

        w = torch.tensor(case.w)
        eager = _best({"eager": lambda: fused(w)}, 5)["eager"]
        result: dict[str, Any] = {"model": case.name, "n": n, "eager_us": 1e6 * eager}
        if compile_too:
            t0 = time.perf_counter()
            compiled = torch.compile(fused, fullgraph=True)
            g = compiled(w)
            compile_s = time.perf_counter() - t0
            step = _best({"compiled": lambda: compiled(w)}, 5)["compiled"]
            diff = float((g - fused(w)).abs().max() / fused(w).abs().max())
            result.update(compile_s=compile_s, compiled_us=1e6 * step, relative_difference=diff)
            saved = eager - step
            result["break_even_steps"] = int(compile_s / saved) if saved > 0 else None
            for label, steps in (("short", 100), ("long", 100_000)):
                result[f"{label}_eager_s"] = steps * eager
                result[f"{label}_compiled_s"] = compile_s + steps * step
        return result
    finally:
        torch.set_num_threads(threads)


def measure(repeat: int = 7, compile_too: bool = True) -> dict:
    """Every measurement of the module docstring, as one dict."""
    import nonlinear

    steps = []
    for case in cases():
        steps.append(per_step(case, repeat))
        steps.append(per_step(case.resized(LARGE), repeat))
    return {
        "per_step": steps,
        "per_step_median_grad_ratio": statistics.median(r["grad_ratio"] for r in steps),
        "per_step_median_jac_ratio": statistics.median(r["jac_ratio"] for r in steps),
        "lm_fit": lm_fits(repeat),
        "torch": torch_compile(LARGE, compile_too),
        "machine": nonlinear.machine(),
        "repeat": repeat,
    }


# --- printing ------------------------------------------------------------------------------------


def _table(head: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]

    def line(cells: list[str]) -> str:
        pairs = enumerate(zip(cells, widths, strict=True))
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in pairs)

    return "\n".join(line(r) for r in [head, *rows])


def report(m: dict, markdown: bool = False) -> str:
    """The tables and summary lines of a :func:`measure` result."""
    out = []
    head = ["model", "points", "params", "gradfit grad us", "numpy grad us", "ratio"]
    head += ["gradfit jac us", "numpy jac us", "ratio"]
    rows = [
        [r["model"], str(r["n"]), str(r["params"]), f"{r['grad_us']:.1f}",
         f"{r['hand_grad_us']:.1f}", f"{r['grad_ratio']:.2f}", f"{r['jac_us']:.1f}",
         f"{r['hand_jac_us']:.1f}", f"{r['jac_ratio']:.2f}"]
        for r in m["per_step"]
    ]  # fmt: skip
    out += [_table(head, rows, markdown), ""]
    steps = m["per_step"]
    out.append(
        f"Per step, gradfit / hand-written NumPy: forward + gradient median "
        f"{m['per_step_median_grad_ratio']:.2f} (max {max(r['grad_ratio'] for r in steps):.2f}, "
        f"{sum(r['grad_ratio'] <= 1.5 for r in steps)}/{len(steps)} within 1.5x); forward + "
        f"Jacobian median {m['per_step_median_jac_ratio']:.2f} (max "
        f"{max(r['jac_ratio'] for r in steps):.2f}, "
        f"{sum(r['jac_ratio'] <= 1.5 for r in steps)}/{len(steps)} within 1.5x)."
    )
    out.append("")
    lm = m["lm_fit"]
    head = ["problem", "start", "steps", "gradfit.fit lm ms", "scipy lm ms", "ratio"]
    rows = [
        [r["problem"], r["start"], str(r["steps"]), f"{r['fit_ms']:.2f}", f"{r['scipy_ms']:.2f}",
         f"{r['ratio']:.2f}"]
        for r in lm["rows"]
    ]  # fmt: skip
    out += [_table(head, rows, markdown), ""]
    out.append(
        f"Whole fit, gradfit.fit(optimizer='lm') / least_squares(method='lm'): median "
        f"{lm['median_ratio']:.2f}, max {lm['max_ratio']:.2f}, {lm['within_2x']}/"
        f"{len(lm['rows'])} within 2x."
    )
    tc = m.get("torch")
    if tc is not None:
        line = f"torch ({tc['model']}, {tc['n']} points, CPU, 1 thread): eager "
        line += f"{tc['eager_us']:.1f} us/step"
        if "compile_s" in tc:
            line += (
                f"; torch.compile {tc['compiled_us']:.1f} us/step after {tc['compile_s']:.1f} s of "
                f"compiling (break-even after {tc['break_even_steps']} steps; 100 steps: "
                f"{tc['short_eager_s']:.3f} s eager, {tc['short_compiled_s']:.2f} s compiled; "
                f"100 000 steps: {tc['long_eager_s']:.1f} s eager, {tc['long_compiled_s']:.1f} s "
                f"compiled; relative difference of the gradients {tc['relative_difference']:.1e})"
            )
        out += ["", line + "."]
    out += ["", m["machine"]]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7, help="timed rounds (default 7)")
    ap.add_argument("--quick", action="store_true", help="3 rounds and no torch.compile")
    ap.add_argument("--markdown", action="store_true", help="Markdown tables")
    ap.add_argument("--json", action="store_true", help="one JSON document")
    args = ap.parse_args(argv)
    m = measure(3 if args.quick else args.repeat, compile_too=not args.quick)
    print(json.dumps(m, indent=2) if args.json else report(m, args.markdown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
