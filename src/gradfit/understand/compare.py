"""compare: several methods, backends and optimizers on one problem, from one start, one table.

Every run starts from the same initial parameters (drawn once from the seed, or ``init``), on
the same problem, so the columns answer "do these ways of computing agree, and if not, by how
much?": final loss, distance to the closed-form optimum, largest coefficient difference from
the first run, and time per step. A formula model has no closed form: the reference is then the
best run of the table (lowest final loss), so the columns say how far each run stopped from the
best anyone found - and in how many steps (Levenberg-Marquardt stops when converged).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..api import run
from ..config import SECOND_ORDER, FitConfig
from ..errors import FitFailedError, UsageError
from ..methods import TORCH_ONLY
from ..plan import plan
from .analysis import Optimum, closed_form

SCHEMA = "gradfit.understand.compare/1"


@dataclass
class CompareRow:
    """One run of the comparison (``error`` set when it failed, e.g. diverged)."""

    method: str
    backend: str
    optimizer: str
    dtype: str = ""
    final_loss: float = math.nan
    coef: list[float] = field(default_factory=list)
    excess_loss: float = math.nan  # final_loss - optimum loss
    optimum_distance: float = math.nan  # max |coef - optimum coef|
    first_difference: float = math.nan  # max |coef - coef of the first successful run|
    step_seconds: float = math.nan
    steps: int = 0  # steps run (fewer than asked when the optimizer converged and stopped)
    error: str | None = None
    history: list[tuple[int, float]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.method}/{self.backend}/{self.optimizer}"


@dataclass
class Comparison:
    """The table: the shared config and start, the optimum, one row per run, skipped combos."""

    config: FitConfig
    init: np.ndarray
    optimum: Optimum | None
    rows: list[CompareRow]
    skipped: list[str]
    data: Any = field(default=None, repr=False)  # the problem (numpy float64), for plots
    best_found: bool = False  # the optimum is the best run's (no closed form: a formula)
    seeded: bool = True  # the seed drew the start or the noise (else it is not shown)

    def to_dict(self) -> dict[str, Any]:
        def num(v: float) -> float | None:
            return float(v) if math.isfinite(v) else None

        return {
            "schema": SCHEMA,
            "config": self.config.to_dict(),
            "init_params": self.init.tolist(),
            "optimum": None
            if self.optimum is None
            else {
                "coef": self.optimum.coef.tolist(),
                "loss": num(self.optimum.loss),
                "kind": "best run" if self.best_found else "closed form",
            },
            "runs": [
                {
                    "method": r.method,
                    "backend": r.backend,
                    "optimizer": r.optimizer,
                    "dtype": r.dtype,
                    "final_loss": num(r.final_loss),
                    "coef": r.coef,
                    "excess_loss": num(r.excess_loss),
                    "optimum_distance": num(r.optimum_distance),
                    "first_difference": num(r.first_difference),
                    "step_seconds": num(r.step_seconds),
                    "steps": r.steps,
                    "error": r.error,
                }
                for r in self.rows
            ],
            "skipped": self.skipped,
        }


def compare(
    config: FitConfig,
    methods: list[str],
    backends: list[str],
    optimizers: list[str],
) -> Comparison:
    """Run every valid (method, backend, optimizer) combination of ``config``'s problem.

    ``config.dtype=None`` means float64 on every backend, so that agreement is judged at
    float64 precision. Combinations that cannot run (a torch-only method on numpy, L-BFGS on
    numpy) are skipped and listed.
    """
    # One plan for the shared start and the reference problem (NumPy float64); every
    # combination then runs that start.
    reference = plan(replace(config, dtype=config.dtype or "float64"), host=True)
    if reference.loss.factor is None:  # its "loss - optimum" would mix two losses
        raise UsageError(
            f"compare measures runs against the least-squares optimum; the {config.loss} loss "
            "is not a sum of squares: compare its runs with gradfit fit"
        )
    init = reference.init
    # The seed matters when it drew the start or the noise (a formula's start is 1s or --init).
    seeded = config.seed is not None or reference.seed_drawn
    config = replace(reference.config, seed=reference.seed, init=tuple(init.tolist()))

    combos, skipped = [], []
    for method, backend, optimizer in itertools.product(methods, backends, optimizers):
        if method in TORCH_ONLY and backend == "numpy":
            skipped.append(f"{method}/{backend}/{optimizer} ({method} needs torch)")
        elif optimizer == "lbfgs" and backend == "numpy":
            skipped.append(f"{method}/{backend}/{optimizer} (lbfgs needs torch)")
        elif optimizer in SECOND_ORDER and method not in ("manual", "autograd"):
            skipped.append(f"{method}/{backend}/{optimizer} ({optimizer} needs a Jacobian)")
        else:
            combos.append((method, backend, optimizer))
    if not combos:
        raise UsageError("no runnable combination: " + "; ".join(skipped))

    problem, model = reference.problem, reference.model
    best_found = model.reference_degree is None
    optimum = (
        None
        if best_found
        else closed_form(problem.x, problem.y, model.reference_degree, problem.weights)
    )

    rows: list[CompareRow] = []
    first: np.ndarray | None = None
    for method, backend, optimizer in combos:
        row = CompareRow(method, backend, optimizer)
        cfg = replace(config, method=method, backend=backend, optimizer=optimizer)
        try:
            cfg = cfg.validated()
        except UsageError as exc:  # options that do not go with this optimizer or method
            skipped.append(f"{row.label} ({exc})")
            continue
        try:
            result = run(cfg, reference=False)
        except (FitFailedError, UsageError) as exc:  # diverged, or no rule (adam, lr auto)
            row.error = str(exc)
            row.history = getattr(exc, "history", [])
            rows.append(row)
            continue
        coef = result.coef
        row.dtype = result.dtype
        row.final_loss = result.final_loss
        row.coef = coef.tolist()
        if first is None:
            first = coef
        row.first_difference = float(np.max(np.abs(coef - first)))
        row.steps = result.steps_done or cfg.steps
        row.step_seconds = result.timings["loop_s"] / row.steps
        row.history = result.loss_history
        rows.append(row)
    if best_found:
        done = [r for r in rows if r.error is None and math.isfinite(r.final_loss)]
        if done:
            best = min(done, key=lambda r: r.final_loss)
            optimum = Optimum(np.array(best.coef), best.final_loss)
    if optimum is not None:
        for row in rows:
            if row.error is None:
                _distances(row, optimum)
    return Comparison(config, init, optimum, rows, skipped, problem, best_found, seeded)


def _distances(row: CompareRow, optimum: Optimum) -> None:
    """The row's excess loss and largest coefficient distance from ``optimum``."""
    coef = np.array(row.coef)
    row.excess_loss = row.final_loss - optimum.loss
    opt = np.zeros(max(coef.size, optimum.coef.size))
    opt[: optimum.coef.size] = optimum.coef
    padded = np.zeros_like(opt)
    padded[: coef.size] = coef
    row.optimum_distance = float(np.max(np.abs(padded - opt)))


def format_table(comparison: Comparison) -> str:
    """The comparison as an aligned plain-text table with a short legend."""
    head = [
        "run",
        "dtype",
        "final loss",
        "loss - optimum",
        "|coef - optimum|",
        "|coef - first|",
        "steps",
        "us/step",
    ]
    lines = []
    for r in comparison.rows:
        if r.error:
            short = r.error.split(" (")[0].split(";")[0]  # the whole message is in the JSON
            short = short if len(short) <= 40 else short[:37] + "..."
            lines.append([r.label, r.dtype or "-", "failed: " + short, "", "", "", "", ""])
            continue
        lines.append(
            [
                r.label,
                r.dtype,
                f"{r.final_loss:.10g}",
                f"{r.excess_loss:.3e}",
                f"{r.optimum_distance:.3e}",
                f"{r.first_difference:.3e}",
                str(r.steps),
                f"{r.step_seconds * 1e6:.1f}",
            ]
        )
    widths = [max(len(str(row[i])) for row in [head, *lines]) for i in range(len(head))]

    def fmt(row: list[str]) -> str:
        cells = [
            str(c).ljust(w) if i < 2 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    out = [fmt(head), fmt(["-" * w for w in widths])]
    out.extend(fmt(row) for row in lines)
    c = comparison.config
    opt = comparison.optimum
    out.append("")
    out.append(
        f"same start for every run: {', '.join(f'{v:.6g}' for v in comparison.init)}"
        + (f" (seed {c.seed}); " if comparison.seeded else "; ")
        + f"{c.steps} steps, lr {c.lr}"
    )
    if opt is not None and comparison.best_found:
        out.append(f"optimum: the best run's, loss {opt.loss:.10g} (a formula has no closed form)")
    elif opt is not None:
        out.append(f"closed-form least-squares optimum: loss {opt.loss:.10g}")
    out.append("loss - optimum: how far above the optimum's loss the run ended")
    what = "parameters" if comparison.best_found else "monomial coefficients"
    out.append(
        f"|coef - optimum|, |coef - first|: largest absolute difference of the {what} "
        "from the optimum's and from the first run's"
    )
    out.append("steps: steps run (lm and gauss-newton stop when converged)")
    out.append("us/step: microseconds per training step")
    for s in comparison.skipped:
        out.append(f"skipped: {s}")
    return "\n".join(out)
