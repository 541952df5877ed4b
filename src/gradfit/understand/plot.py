"""Plots: the data with the fitted curve, and the loss on a log scale next to the optimum.

The figures are built in two steps: ``*_plot_data`` gathers exactly what will be drawn (plain
NumPy arrays, testable without looking at pixels), and ``save_*_plot`` draws it with matplotlib's
non-interactive Agg backend (no display needed) and writes the PNG atomically. matplotlib is
imported only here, only when a plot is asked for.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..data import as_float64
from ..errors import UsageError
from ..outputs import atomic_output

MAX_POINTS = 2000  # data points drawn; larger data sets are thinned evenly
STYLES = ("-", "--", ":", "-.")
Z = 1.96  # the band is +/- Z standard errors of the fitted curve: 95% for a normal error


@dataclass
class Curve:
    """One fitted run: its label, curve, and loss history."""

    label: str
    y_fit: np.ndarray
    steps: np.ndarray
    losses: np.ndarray


@dataclass
class PlotData:
    """Everything a fit or compare figure shows."""

    title: str
    x: np.ndarray  # data, thinned to at most MAX_POINTS
    y: np.ndarray
    x_fit: np.ndarray  # dense grid over the data's range
    curves: list[Curve] = field(default_factory=list)
    optimum_loss: float | None = None
    band: tuple[np.ndarray, np.ndarray] | None = None  # 95% band of the fit on x_fit (lo, hi)
    residuals: np.ndarray | None = None  # y - fit at x (the residual panel)


def fit_plot_data(result: Any, x: Any = None, y: Any = None) -> PlotData:
    """What ``gradfit fit --plot`` draws for ``result`` (default: its own data)."""
    if x is None and hasattr(result.dataset, "sample"):  # streamed data: a sample, one pass
        x, y = result.dataset.sample(MAX_POINTS)
    elif x is None:
        x, y = result.dataset.x, result.dataset.y
    xs, ys = _thin(as_float64(x), as_float64(y))
    grid = np.linspace(float(xs.min()), float(xs.max()), 400)
    steps, losses = _history(result.loss_history)
    opt = result.optimum.loss if result.optimum is not None else None
    title = f"{result.problem}: {result.model.describe()}, {result.method}, {result.schedule()}"
    y_fit = result.predict(grid)
    curve = Curve("fit", y_fit, steps, losses)
    se = fit_band(result, grid)
    band = None if se is None or not np.all(np.isfinite(se)) else (y_fit - Z * se, y_fit + Z * se)
    residuals = ys - result.predict(xs)
    return PlotData(title, xs, ys, grid, [curve], opt, band, residuals)


def fit_band(result: Any, x: Any) -> np.ndarray | None:
    """The standard error of the fitted curve at ``x``: ``sqrt(J cov J^T)`` with J the model's
    Jacobian there, in the trained parameters and variable (None: no statistics or no
    Jacobian, e.g. the dynamic net)."""
    st, model = result.statistics, result.model
    jacobian = getattr(model, "jacobian", None)
    if st is None or jacobian is None:
        return None
    from ..backends import resolve_backend

    xs = as_float64(x)
    t = xs if result.domain is None else result.domain.to_window(xs)
    cache = model.prepare(t, resolve_backend("numpy", "cpu", "float64"), result.seed)
    J = np.asarray(jacobian(np.asarray(result.params, dtype=np.float64), cache))
    return st.band(np.broadcast_to(J, (xs.size, J.shape[1])))


def compare_plot_data(comparison: Any, x: Any, y: Any) -> PlotData:
    """What ``gradfit compare --plot`` draws: one curve and one loss line per successful run."""
    xs, ys = _thin(as_float64(x), as_float64(y))
    grid = np.linspace(float(xs.min()), float(xs.max()), 400)
    curves = []
    for row in comparison.rows:
        if row.error is None:
            steps, losses = _history(row.history)
            y_fit = np.polynomial.polynomial.polyval(grid, np.asarray(row.coef))
            curves.append(Curve(row.label, y_fit, steps, losses))
    opt = comparison.optimum.loss if comparison.optimum is not None else None
    c = comparison.config
    return PlotData(f"compare: {c.steps} steps from one start", xs, ys, grid, curves, opt)


def agg_pyplot(needed_by: str) -> Any:
    """``matplotlib.pyplot`` on the non-interactive Agg backend (no display needed), imported
    now; without matplotlib, one error line saying that ``needed_by`` needs it."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError(f"{needed_by} needs matplotlib: pip install matplotlib") from None
    return plt


def write_png(fig: Any, path: str | os.PathLike[str]) -> None:
    """Write ``fig`` as a PNG at ``path`` (a temporary file renamed into place), then close it
    (also when writing fails)."""
    import matplotlib.pyplot as plt

    try:
        with atomic_output(path) as tmp:
            fig.savefig(tmp, format="png")
    finally:
        plt.close(fig)


def save_plot(data: PlotData, path: str | os.PathLike[str]) -> None:
    """Draw ``data`` into a PNG at ``path`` (written to a temporary file, then renamed)."""
    target = Path(path)
    if target.suffix.lower() != ".png":
        raise UsageError(f"--plot writes a PNG image; give a file name ending in .png, not {path}")
    plt = agg_pyplot("--plot")

    panels = 2 if data.residuals is None else 3
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 4.2), dpi=110)
    ax_fit, ax_loss = axes[0], axes[-1]
    ax_fit.plot(data.x, data.y, ".", ms=2.5, color="0.55", label="data")
    if data.band is not None:
        ax_fit.fill_between(
            data.x_fit, *data.band, color="C0", alpha=0.25, lw=0, label="95% band of the fit"
        )
    if data.residuals is not None:
        ax_res = axes[1]
        ax_res.plot(data.x, data.residuals, ".", ms=2.5, color="C3")
        ax_res.axhline(0.0, color="k", lw=0.8)
        ax_res.set(xlabel="x", ylabel="y - fit", title="residuals")
        ax_res.grid(alpha=0.3)
    for i, curve in enumerate(data.curves):  # agreeing runs overlap: vary the line style
        ax_fit.plot(data.x_fit, curve.y_fit, lw=1.8, ls=STYLES[i % 4], label=curve.label)
    span = float(data.y.max() - data.y.min()) or 1.0  # keep the data in view
    ax_fit.set_ylim(float(data.y.min()) - 0.5 * span, float(data.y.max()) + 0.5 * span)
    ax_fit.set(xlabel="x", ylabel="y", title="data and fitted curve")
    ax_fit.legend(fontsize=8, loc="best")
    ax_fit.grid(alpha=0.3)

    for i, curve in enumerate(data.curves):
        finite = np.isfinite(curve.losses) & (curve.losses > 0)
        ax_loss.plot(
            curve.steps[finite], curve.losses[finite], lw=1.6, ls=STYLES[i % 4], label=curve.label
        )
    if data.optimum_loss is not None and data.optimum_loss > 0:
        ax_loss.axhline(
            data.optimum_loss, ls="--", color="k", lw=1, label=f"optimum {data.optimum_loss:.6g}"
        )
    ax_loss.set_yscale("log")
    ax_loss.set(xlabel="step", ylabel="loss (sum of squared errors)", title="loss, log scale")
    ax_loss.legend(fontsize=8, loc="best")
    ax_loss.grid(alpha=0.3, which="both")
    fig.suptitle(data.title, fontsize=10)
    fig.tight_layout()
    write_png(fig, target)


def _thin(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if x.size <= MAX_POINTS:
        return x, y
    idx = np.linspace(0, x.size - 1, MAX_POINTS).round().astype(int)
    return x[idx], y[idx]


def _history(history: list[tuple[int, float]]) -> tuple[np.ndarray, np.ndarray]:
    if not history:
        return np.zeros(0), np.zeros(0)
    steps, losses = zip(*history, strict=True)
    return np.asarray(steps, dtype=float), np.asarray(losses, dtype=float)
