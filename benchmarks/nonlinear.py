"""Nonlinear least squares with known answers: gradfit's Levenberg-Marquardt against scipy.

    python benchmarks/nonlinear.py              # every problem, 7 timed repeats, a text table
    python benchmarks/nonlinear.py --quick      # 1 repeat
    python benchmarks/nonlinear.py --markdown   # the table of docs/models.md

The problems: NIST StRD nonlinear regression datasets (``benchmarks/nist/*.dat``, certified
parameters and standard errors to 11 digits) from both of NIST's starts, and synthetic ones
(exponential decay with noise, with outliers; a Michaelis-Menten curve whose parameters are
seven orders of magnitude apart) whose reference answer is the least-squares optimum polished
by Gauss-Newton from the parameters the data were made with. Each model is a formula in
gradfit's syntax; its NumPy function and Jacobian are derived from that formula by sympy
(a benchmark-only dependency), so both sides fit exactly the same model.

Per problem, start and solver: the log relative error (LRE: correct significant digits, the
minimum over the parameters, capped at 11) of the parameters and of their standard errors
(``s^2 (J^T J)^-1``, ``s^2 = SSR / (n - p)``), the function and Jacobian evaluations, and the
wall time (median of the repeats; the time ratio to scipy compares the fastest runs, the
least sensitive to other load on the machine). Solvers: gradfit's stepper
(``gradfit.optim.levenberg``) as Levenberg-Marquardt and as Gauss-Newton,
``scipy.optimize.least_squares`` with ``method="lm"`` (MINPACK) and ``"trf"``, all with
analytic Jacobians. ``gradfit_fit`` below is
where ``gradfit.fit`` (``--optimizer lm / gauss-newton / lbfgs / adam``) joins the table.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy
import sympy
from scipy.optimize import least_squares

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import nist  # noqa: E402

from gradfit.optim.levenberg import Tolerances, lm_solve, standard_errors  # noqa: E402

MAX_LRE = 11.0  # NIST certifies 11 significant digits

# NIST models as gradfit formulas (names x and b1..bn; Python operators).
NIST_MODELS = {
    "Misra1a": "b1*(1-exp(-b2*x))",
    "Chwirut2": "exp(-b1*x)/(b2+b3*x)",
    "DanWood": "b1*x**b2",
    "Roszman1": "b1 - b2*x - arctan(b3/(x-b4))/pi",
    "MGH09": "b1*(x**2+x*b2) / (x**2+x*b3+b4)",
    "MGH10": "b1*exp(b2/(x+b3))",
    "Thurber": "(b1 + b2*x + b3*x**2 + b4*x**3) / (1 + b5*x + b6*x**2 + b7*x**3)",
    "BoxBOD": "b1*(1-exp(-b2*x))",
    "Rat43": "b1 / (1+exp(b2-b3*x))**(1/b4)",
    "Eckerle4": "(b1/b2) * exp(-0.5*((x-b3)/b2)**2)",
}
_SYMPY_NAMES = {"arctan": sympy.atan, "exp": sympy.exp, "log": sympy.log, "pi": sympy.pi}


@dataclass
class Problem:
    """A model, data, starts and the reference answer."""

    name: str
    source: str  # "NIST lower/average/higher" or "synthetic"
    formula: str
    x: np.ndarray
    y: np.ndarray
    starts: dict[str, np.ndarray]
    reference: np.ndarray
    reference_se: np.ndarray
    fun: Callable[[np.ndarray], np.ndarray] = field(init=False, repr=False)
    jac: Callable[[np.ndarray], np.ndarray] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.fun, self.jac = residuals_and_jacobian(self.formula, self.x, self.y)


def residuals_and_jacobian(formula: str, x: np.ndarray, y: np.ndarray) -> tuple:
    """NumPy residuals ``f(b) - y`` and Jacobian ``df/db`` of a formula, derived by sympy."""
    xs = sympy.Symbol("x")
    expr = sympy.sympify(formula, locals={**_SYMPY_NAMES, "x": xs})
    params = sorted((s for s in expr.free_symbols if s.name != "x"), key=lambda s: int(s.name[1:]))
    f = sympy.lambdify([xs, *params], expr, "numpy")
    derivs = [sympy.lambdify([xs, *params], sympy.diff(expr, b), "numpy") for b in params]
    n = len(x)

    def fun(b: np.ndarray) -> np.ndarray:
        return np.broadcast_to(f(x, *b), (n,)) - y

    def jac(b: np.ndarray) -> np.ndarray:
        out = np.empty((n, len(params)))
        for j, d in enumerate(derivs):
            out[:, j] = d(x, *b)  # a constant derivative broadcasts
        return out

    return fun, jac


def nist_problems() -> list[Problem]:
    """The stored NIST StRD problems, in NIST's order of difficulty."""
    order = {"Lower": 0, "Average": 1, "Higher": 2}
    out = []
    for name in NIST_MODELS:
        p = nist.load(name)
        out.append(
            Problem(
                name,
                f"NIST {p.level.lower()}",
                NIST_MODELS[name],
                p.x,
                p.y,
                {"I": p.start1, "II": p.start2},
                p.certified,
                p.certified_se,
            )
        )
    return sorted(out, key=lambda q: order.get(q.source.split()[1].title(), 3))


def _polished(formula: str, x: np.ndarray, y: np.ndarray, truth: np.ndarray) -> tuple:
    """The least-squares optimum near ``truth``: Gauss-Newton steps (SVD) until they stall."""
    fun, jac = residuals_and_jacobian(formula, x, y)
    b = truth.astype(np.float64)
    for _ in range(100):
        step = np.linalg.lstsq(jac(b), -fun(b), rcond=None)[0]
        b = b + step
        if np.all(np.abs(step) <= 1e-15 * np.abs(b)):
            break
    return b, standard_errors(fun(b), jac(b))


def synthetic_problems() -> list[Problem]:
    """Made from known parameters; the reference is the least-squares optimum near them."""
    rng = np.random.default_rng(12)
    out = []
    x = np.linspace(0.0, 5.0, 60)
    decay = "b1*exp(-b2*x) + b3"
    truth = np.array([5.0, 1.3, 0.5])
    clean = 5.0 * np.exp(-1.3 * x) + 0.5
    noisy = clean + rng.normal(0.0, 0.02, x.size)
    outliers = noisy.copy()
    outliers[[7, 23, 41]] += np.array([1.5, -2.0, 2.5])
    starts = {"I": np.array([1.0, 0.1, 0.0]), "II": np.array([20.0, 8.0, -3.0])}
    for name, y in (("decay+noise", noisy), ("decay+outliers", outliers)):
        ref, se = _polished(decay, x, y, truth)
        out.append(Problem(name, "synthetic", decay, x, y, starts, ref, se))
    # Michaelis-Menten with Vmax ~ 3e-4 and Km ~ 2.5e3: parameters 7 orders of magnitude apart.
    xm = np.geomspace(1e2, 1e5, 40)
    mm = "b1*x/(b2+x)"
    truth = np.array([3e-4, 2.5e3])
    y = truth[0] * xm / (truth[1] + xm) * (1 + rng.normal(0.0, 0.01, xm.size))
    ref, se = _polished(mm, xm, y, truth)
    starts = {"I": np.array([1e-3, 1e4]), "II": np.array([1e-4, 1e2])}
    out.append(Problem("scaled (Michaelis-Menten)", "synthetic", mm, xm, y, starts, ref, se))
    return out


def lre(estimate: np.ndarray, reference: np.ndarray) -> float:
    """Correct significant digits, the minimum over the parameters (0 .. MAX_LRE)."""
    est = np.asarray(estimate, dtype=np.float64)
    if est.shape != reference.shape or not np.all(np.isfinite(est)):
        return 0.0
    with np.errstate(divide="ignore"):
        digits = -np.log10(np.abs(est - reference) / np.abs(reference))
    return float(np.clip(np.min(digits), 0.0, MAX_LRE))


@dataclass
class Outcome:
    """One solver on one problem and start."""

    b: np.ndarray
    nfev: int
    njev: int
    note: str = ""


def run_gradfit(p: Problem, b0: np.ndarray, gauss_newton: bool = False) -> Outcome:
    """gradfit's stepper, driven the way the training loop drives it (``lm_solve``)."""
    w, state, _ = lm_solve(p.fun, p.jac, b0, Tolerances(), 1000, gauss_newton)
    return Outcome(w, state.nfev, state.njev, state.stop or "")


def run_scipy(p: Problem, b0: np.ndarray, method: str) -> Outcome:
    """``scipy.optimize.least_squares`` with its default tolerances (1e-8)."""
    res = least_squares(p.fun, b0, jac=p.jac, method=method)
    return Outcome(res.x, res.nfev, res.njev or 0, res.message)


# How gradfit.fit runs each optimizer here: the whole pipeline - the formula parsed, its
# Jacobian derived symbolically by gradfit, THE training loop. lm and gauss-newton stop when
# converged (at most 1000 steps); lbfgs is torch.optim.LBFGS on the hand-derived gradient
# (float64); adam runs on parameters scaled by the Jacobian's column norms (--precondition),
# since without that one learning rate cannot suit parameters 1e7 apart.
FIT_SETTINGS: dict[str, dict] = {
    "lm": {"optimizer": "lm", "steps": 1000, "backend": "numpy"},
    "gauss-newton": {"optimizer": "gauss-newton", "steps": 1000, "backend": "numpy"},
    "lbfgs": {"optimizer": "lbfgs", "steps": 100, "backend": "torch", "lr": 1.0},
    "adam": {"optimizer": "adam", "steps": 5000, "lr": 0.05, "precondition": True},
}
GRADFIT_FIT_OPTIMIZERS = tuple(FIT_SETTINGS)
ONCE = {"fit lbfgs", "fit adam"}  # thousands of steps: timed from one run, not repeated


def gradfit_fit(p: Problem, b0: np.ndarray, optimizer: str) -> Outcome | None:
    """``gradfit.fit(x, y, model=p.formula, init={b1: ..}, optimizer=...)`` (float64)."""
    import gradfit

    init = {f"b{k + 1}": float(v) for k, v in enumerate(b0)}
    settings = dict(FIT_SETTINGS[optimizer])
    try:
        r = gradfit.fit(
            p.x, p.y, model=p.formula, init=init, dtype="float64", reference=False, **settings
        )
    except gradfit.FitFailedError as exc:  # diverged: a row that says so
        return Outcome(np.full_like(b0, np.nan), 0, 0, f"failed: {str(exc)[:60]}")
    steps = r.steps_done or settings["steps"]
    return Outcome(np.asarray(r.params), steps, steps, r.stop_reason or "")


SOLVERS: dict[str, Callable[[Problem, np.ndarray], Outcome | None]] = {
    "gradfit lm": lambda p, b0: run_gradfit(p, b0),
    "gradfit gauss-newton": lambda p, b0: run_gradfit(p, b0, gauss_newton=True),
    "scipy lm": lambda p, b0: run_scipy(p, b0, "lm"),
    "scipy trf": lambda p, b0: run_scipy(p, b0, "trf"),
}
for _opt in GRADFIT_FIT_OPTIMIZERS:
    SOLVERS[f"fit {_opt}"] = lambda p, b0, _o=_opt: gradfit_fit(p, b0, _o)


def _timed(p: Problem, b0: np.ndarray, solve: Callable) -> tuple[Outcome | None, float]:
    """One run of a solver and its wall time (garbage collection held off while it runs);
    an exception is an outcome that says so."""
    gc.collect()
    gc.disable()
    t0 = time.perf_counter()
    with np.errstate(all="ignore"):
        try:
            out = solve(p, b0.copy())
        except Exception as exc:  # a solver that fails is a row that says so
            out = Outcome(np.full_like(b0, np.nan), 0, 0, f"error: {exc}")
    elapsed = time.perf_counter() - t0
    gc.enable()
    return out, elapsed


def measure(p: Problem, b0: np.ndarray, repeats: int) -> dict[str, dict]:
    """Every solver on one problem and start: LREs, evaluations, median wall time.

    One untimed run each first (sympy's functions and scipy warm up), then ``repeats`` rounds
    in which the solvers take turns, so a burst of load on the machine hits them alike. A
    solver that returns None (``gradfit_fit`` until it is wired) is left out.
    """
    outcomes, times = {}, {}
    for name, solve in SOLVERS.items():
        out, seconds = _timed(p, b0, solve)
        if out is not None:  # the long first-order runs keep this one timing (ONCE)
            outcomes[name], times[name] = out, [seconds] if name in ONCE else []
    for _ in range(repeats):
        for name in outcomes:
            if name not in ONCE:
                times[name].append(_timed(p, b0, SOLVERS[name])[1])
    results = {}
    for name, out in outcomes.items():
        se = None
        if np.all(np.isfinite(out.b)):
            with np.errstate(all="ignore"):
                se = standard_errors(p.fun(out.b), p.jac(out.b))
        results[name] = {
            "lre_b": lre(out.b, p.reference),
            "lre_se": lre(se, p.reference_se) if se is not None else 0.0,
            "nfev": out.nfev,
            "njev": out.njev,
            "ms": 1e3 * statistics.median(times[name]),
            "min_ms": 1e3 * min(times[name]),
            "note": out.note,
        }
    return results


def run_all(repeats: int) -> list[dict]:
    """Every problem, start and solver."""
    rows = []
    for p in nist_problems() + synthetic_problems():
        for start, b0 in p.starts.items():
            results = measure(p, b0, repeats)
            rows.append({"problem": p.name, "source": p.source, "start": start, "results": results})
    return rows


def machine() -> str:
    """Python, NumPy, SciPy and the CPU."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"Python {platform.python_version()}, NumPy {np.__version__}, SciPy {scipy.__version__}, "
        f"{cpu}, {os.cpu_count()} CPUs"
    )


def _cell(r: dict | None, times: bool = True) -> list[str]:
    if r is None:
        return ["-"] * (4 if times else 2)
    cells = [f"{r['lre_b']:.1f}", f"{r['lre_se']:.1f}"]
    if times:
        cells += [f"{r['nfev']}/{r['njev']}", f"{r['ms']:.2f}"]
    return cells


def table(rows: list[dict], markdown: bool) -> str:
    """One line per problem and start; the solvers side by side."""
    fit_cols = [k for k in rows[0]["results"] if k.startswith("fit ")] if rows else []
    head = ["problem", "start", "lm b", "lm se", "lm fev/jev", "lm ms"]
    head += ["GN b", "GN se", "scipy lm b", "scipy lm se", "scipy fev/jev", "scipy ms"]
    head += ["trf b", "trf ms", "lm / scipy time (min)"] + [f"{c} b" for c in fit_cols]
    timed_fit = "fit lm" in fit_cols
    if timed_fit:  # the whole pipeline's time: parsing, planning, statistics, the loop
        head += ["fit lm ms", "fit lm / scipy time (min)"]
    lines = []
    for row in rows:
        res = row["results"]
        lm, sp = res.get("gradfit lm"), res.get("scipy lm")
        trf = res.get("scipy trf")
        ratio = f"{lm['min_ms'] / sp['min_ms']:.2f}" if lm and sp else "-"
        cells = [
            row["problem"],
            row["start"],
            *_cell(lm),
            *_cell(res.get("gradfit gauss-newton"), False),
        ]
        cells += [
            *_cell(sp),
            f"{trf['lre_b']:.1f}" if trf else "-",
            f"{trf['ms']:.2f}" if trf else "-",
        ]
        cells += [ratio] + [f"{res[c]['lre_b']:.1f}" for c in fit_cols]
        if timed_fit:
            fit = res["fit lm"]
            cells += [f"{fit['ms']:.2f}", f"{fit['min_ms'] / sp['min_ms']:.2f}" if sp else "-"]
        lines.append(cells)
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(c) + " |" for c in lines]
        return "\n".join(out)
    widths = [max(len(h), *(len(c[i]) for c in lines)) for i, h in enumerate(head)]

    def fmt(cs: list[str]) -> str:
        pairs = enumerate(zip(cs, widths, strict=True))
        return "  ".join(c.rjust(w) if i > 1 else c.ljust(w) for i, (c, w) in pairs)

    return "\n".join([fmt(head)] + [fmt(c) for c in lines])


def summary(rows: list[dict], solver: str = "gradfit lm") -> str:
    """The goals: LM at least as accurate as scipy's lm everywhere, and within 2x of its time
    (``solver``: the stepper alone, or ``fit lm``, the whole pipeline)."""
    pairs = [(r["results"][solver], r["results"]["scipy lm"]) for r in rows]
    as_good = sum(lm["lre_b"] >= sp["lre_b"] - 0.05 for lm, sp in pairs)
    as_good_se = sum(lm["lre_se"] >= sp["lre_se"] - 0.05 for lm, sp in pairs)
    ratios = [lm["min_ms"] / sp["min_ms"] for lm, sp in pairs]
    worse = [
        f"{r['problem']} {r['start']}"
        for r, (lm, sp) in zip(rows, pairs, strict=True)
        if lm["lre_b"] < sp["lre_b"] - 0.05
    ]
    return (
        f"{solver} at least as accurate as scipy lm (parameters, within 0.05 digit): "
        f"{as_good}/{len(pairs)}"
        + (f" (not: {', '.join(worse)})" if worse else "")
        + f"; standard errors: {as_good_se}/{len(pairs)}. Time {solver} / scipy lm (fastest "
        f"runs): median {statistics.median(ratios):.2f}, max {max(ratios):.2f}, "
        f"{sum(x <= 2.0 for x in ratios)}/{len(ratios)} within 2x."
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one timed repeat instead of --repeat")
    ap.add_argument("--repeat", type=int, default=7, help="timed runs per solver (default 7)")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    ap.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write JSON")
    args = ap.parse_args(argv)
    repeats = 1 if args.quick else args.repeat
    rows = run_all(repeats)
    print(table(rows, args.markdown))
    print()
    summaries = {"gradfit lm": summary(rows)}
    print(summaries["gradfit lm"])
    if rows and "fit lm" in rows[0]["results"]:
        summaries["fit lm"] = summary(rows, "fit lm")
        print(summaries["fit lm"])
    print(machine())
    if args.json is not None:
        doc = {"repeat": repeats, "machine": machine(), "rows": rows, "summaries": summaries}
        tmp = args.json.with_name(args.json.name + ".tmp")
        tmp.write_text(json.dumps(doc, indent=2, default=_json_default) + "\n", encoding="utf-8")
        tmp.replace(args.json)
    return 0


def _json_default(obj: object) -> object:
    """NumPy scalars as Python numbers; non-finite floats stay as JSON's NaN/Infinity."""
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


if __name__ == "__main__":
    raise SystemExit(main())
