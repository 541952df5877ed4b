"""How results are shown to a person: the article's text lines, the failure record, the
Markdown report. (Writing files safely is :mod:`gradfit.outputs`.)"""

from __future__ import annotations

from typing import Any


def log_line(step: int, loss: float) -> str:
    """The article's ``print(t, loss)``: ``99 1273.537353515625``."""
    return f"{step} {float(loss)}"


def result_line(formula: str) -> str:
    """The article's last line, in English: ``Result: y = a + b x + c x^2 + d x^3``."""
    return f"Result: {formula}"


def uncertainty_lines(
    statistics: Any, values: dict[str, float], excess: float | None = None, width: int = 108
) -> list[str]:
    """The compact block ``gradfit fit`` prints under ``Result:``: each reported parameter with
    its standard error, then the goodness of fit in one line (none when not computed), and a
    note when the loss is more than 1% (``excess``, relative) above the least-squares optimum:
    the errors describe a converged fit::

          c0 = 0.0000 +/- 0.0087   c1 = 0.8737 +/- 0.0083   c2 = ...
          RMSE 0.0567  R^2 0.993787  AIC -565.9  BIC -555.4  (n=100, 4 parameters, 96 dof)
    """
    from .uncertainty import format_estimate

    if statistics is None:
        return []
    lines, line = [], ""
    for name, se in zip(statistics.names, statistics.standard_errors.tolist(), strict=True):
        item = f"{name} = {format_estimate(values[name], se)}"
        if line and len(line) + 3 + len(item) > width:
            lines.append(line)
            line = ""
        line = item if not line else f"{line}   {item}"
    lines.append(line)
    st = statistics
    fit = [f"RMSE {st.rmse:.4g}"]
    if st.r2 is not None:
        r2 = 0.0 if abs(st.r2) < 5e-7 else st.r2  # no "-0.000000"; nan stays nan
        fit.append(f"R^2 {r2:.6f}")
    if st.reduced_chi2 is not None:
        fit.append(f"chi^2/dof {st.reduced_chi2:.4g}")
    fit += [f"AIC {st.aic:.1f}", f"BIC {st.bic:.1f}"]
    plural = "" if st.n_params == 1 else "s"
    fit.append(f"(n={st.n}, {st.n_params} parameter{plural}, {st.dof} dof)")
    lines.append("  ".join(fit))
    if st.unidentified:
        lines.append(
            f"not identifiable from these data: {', '.join(st.unidentified)} "
            "(the data cannot tell them apart; their errors are nan)"
        )
    if excess is not None and excess > 0.01:
        lines.append(
            f"note: the loss is {100 * excess:.2g}% above the least-squares optimum; the errors "
            "assume a converged fit"
        )
    return ["  " + line for line in lines]


def failure_document(config: Any, error: Any) -> dict[str, Any]:
    """The JSON of a run that diverged: what was asked, where it failed, the losses seen."""
    from ..result import SCHEMA, _float

    return {
        "schema": SCHEMA,
        "status": "diverged",
        "error": str(error),
        "step": error.step,
        "loss": _float(error.loss),
        "bound": _float(error.bound),
        "config": config.to_dict(),
        "loss_history": [[t, _float(v)] for t, v in error.history],
    }


def markdown_report(result: Any, plot: str | None = None, where: str = ".") -> str:
    """A short Markdown summary of a run, to paste into notes: what ran, the result, how far
    from the optimum, and the figure when one was drawn."""
    import os

    c = result.config
    opt = result.optimum
    lines = [
        f"# gradfit fit: {result.problem}",
        "",
        f"- model: {result.model.describe()}; method {result.method}, optimizer "
        f"{result.schedule()}",
        f"- data: {result.n_points} points; backend {c.backend} {result.dtype} on {result.device}; "
        f"seed {result.seed}",
        "",
        f"**Result:** `{result.formula()}`",
        "",
        "| | loss (sum of squared errors) |",
        "| --- | ---: |",
        f"| first logged (step {result.loss_history[0][0]}) | {result.loss_history[0][1]:.8g} |"
        if result.loss_history
        else "| first logged | - |",
        f"| end | {result.final_loss:.8g} |",
    ]
    if opt is not None:
        gap = result.final_loss - opt.loss
        rel = gap / opt.loss if opt.loss else float("inf")
        lines += [
            f"| closed-form optimum | {opt.loss:.8g} |",
            f"| gap to the optimum | {gap:.3g} ({rel:.3g} relative) |",
            "",
            f"Optimum: `{format_optimum(opt.coef)}`",
        ]
    lines += uncertainty_section(result)
    if result.lr_auto is not None:
        lines += ["", f"lr auto: {result.lr_auto['lr']:.6g}, {result.lr_auto['rule']}."]
    if plot is not None:
        lines += ["", f"![data, fit and loss]({os.path.relpath(plot, where)})"]
    versions = ", ".join(f"{k} {v}" for k, v in result.versions.items() if v)
    lines += ["", f"<sub>{versions}; loop {result.timings['loop_s']:.3f} s</sub>", ""]
    return "\n".join(lines)


def uncertainty_section(result: Any) -> list[str]:
    """The report's "Uncertainty" section: each reported parameter, its standard error, and the
    goodness of fit (none when the run has no statistics)."""
    st = result.statistics
    if st is None:
        return []
    values = result.reported()
    lines = [
        "",
        "## Uncertainty",
        "",
        "| parameter | value | standard error |",
        "| --- | ---: | ---: |",
    ]
    for name, se in zip(st.names, st.standard_errors.tolist(), strict=True):
        lines.append(f"| {name} | {values[name]:.8g} | {se:.3g} |")
    fit = uncertainty_lines(st, values, result.excess_loss(), width=10**6)[1:]
    lines += [""] + [
        f"{line.strip()}" + ("" if i == len(fit) - 1 else "  ") for i, line in enumerate(fit)
    ]
    return lines


def format_optimum(coef: Any) -> str:
    from ..models import format_polynomial

    return format_polynomial(coef)
