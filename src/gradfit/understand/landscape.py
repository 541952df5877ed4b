"""The loss over two parameters, with the paths optimizers take across it (``gradfit landscape``).

Why does plain gradient descent crawl, why does it zigzag in a narrow valley, why does momentum
help, why does Levenberg-Marquardt jump? A picture answers faster than a table: the loss as a
contour map over two chosen parameters - the others held at the optimum - and, on top, the
path of each optimizer from one common start, each from a real gradfit run whose parameters
were recorded step by step (:class:`~gradfit.training.record.ParamRecorder`).

The runs and the map are NumPy float64 (lbfgs, which only torch has, runs on torch in float64),
whatever the options' backend, so the picture is the exact geometry. The paths move in every
parameter; what is drawn is their shadow on the plane of the two shown. :func:`landscape`
gathers the numbers (testable without pixels), :func:`format_summary` says them in a terminal
and :func:`save_landscape` draws them (matplotlib, Agg backend, imported only there).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import GradfitError, UsageError
from ..optim import OPTIMIZERS

DEFAULT_OPTIMIZERS = "sgd,momentum,lm"
SECOND_ORDER = ("lm", "gauss-newton")  # no learning rate; they stop when converged
GRID = 60
PATH_POINTS = 5000  # at most this many recorded points per path (every step up to 5000 steps)
REACHED = 1e-6  # a final loss within this fraction of the optimum's has reached it


@dataclass
class OptimizerPath:
    """One optimizer's run from the common start: its parameters at recorded steps (``params``,
    the start first and the final parameters last) and how it ended (``error``: why it did not
    finish, e.g. it diverged)."""

    optimizer: str
    lr: float | None  # None: a second-order method, or the run failed before it had one
    params: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    losses: np.ndarray = field(default_factory=lambda: np.zeros(0))  # the loss at each point
    final_loss: float = math.nan
    steps: int = 0
    error: str | None = None


@dataclass
class Landscape:
    """The loss on a grid over parameters ``names`` (indices ``index``), the other parameters at
    ``base``: ``loss[i, j]`` at ``a[j]`` (first parameter) and ``b[i]`` (second)."""

    names: tuple[str, str]
    index: tuple[int, int]
    a: np.ndarray
    b: np.ndarray
    loss: np.ndarray
    base: np.ndarray  # the point the slice goes through (the optimum)
    base_from: str  # how it was found, in words
    start: np.ndarray
    start_loss: float
    optimum_loss: float
    seed: int
    paths: list[OptimizerPath]
    title: str = ""
    seeded: bool = True  # the start was drawn from the seed (no --init)
    scaled: bool = False  # a polynomial trained on t, x mapped to [-1, 1]: its coefficients

    def reached(self, path: OptimizerPath) -> bool:
        """Whether ``path`` ended at the optimum: its final loss within REACHED (relative) of the
        optimum's (of the start's, times 1e-12, when the optimum's loss is 0)."""
        scale = max(abs(self.optimum_loss), 1e-12 * abs(self.start_loss))
        return math.isfinite(path.final_loss) and path.final_loss - self.optimum_loss <= (
            REACHED * scale
        )


def parse_optimizers(text: str) -> list[tuple[str, float | None]]:
    """``'sgd,momentum,adam:0.01,lm'`` as ``[(name, lr or None), ...]``: an optimizer may take
    its own learning rate after a colon (adam's steps are in parameter units, so it wants a
    larger rate than sgd's)."""
    chosen: list[tuple[str, float | None]] = []
    for part in (p for p in re.split(r"[,\s]+", text.strip()) if p):
        name, _, rate = part.partition(":")
        name = name.lower()
        if name not in OPTIMIZERS:
            raise UsageError(
                f"--optimizers: unknown optimizer {name[:40]!r}; choose from "
                f"{', '.join(OPTIMIZERS)}"
            )
        lr = None
        if rate:
            try:
                lr = float(rate)
            except ValueError:
                raise UsageError(
                    f"--optimizers: {part[:40]!r}: the rate after ':' is not a number"
                ) from None
            if not (math.isfinite(lr) and lr > 0):
                raise UsageError(f"--optimizers: {part[:40]!r}: the rate must be positive")
        chosen.append((name, lr))
    if not chosen:
        raise UsageError("--optimizers: give at least one optimizer, e.g. sgd,momentum,lm")
    return chosen


def landscape(
    config: Any,
    optimizers: str | list[tuple[str, float | None]] = DEFAULT_OPTIMIZERS,
    params: str | None = None,
    grid: int = GRID,
    box: tuple[float, float, float, float] | None = None,
) -> Landscape:
    """Run each optimizer from the same start (``config``'s problem, model, seed, init and
    options, in float64) recording its path, find the optimum, and compute the loss on a
    ``grid`` x ``grid`` map over two parameters through it.

    ``params``: two parameter names or indices, ``'c1,c3'`` or ``'1,3'``; None: the pair whose
    2 x 2 block of the Gauss-Newton curvature ``J^T J`` at the optimum is worst conditioned (the
    narrowest valley: where plain gradient descent struggles most), the first two when the model
    has no Jacobian. ``box``: ``(lo1, hi1, lo2, hi2)``; None: the box around the optimum that
    holds every path, with a margin.
    """
    from ..plan import plan

    chosen = parse_optimizers(optimizers) if isinstance(optimizers, str) else list(optimizers)
    if grid < 2:
        raise UsageError(f"--grid {grid}: give at least 2 points a side")
    base_config = replace(
        config, backend="numpy", device="cpu", dtype="float64", method="auto", log_every=1
    )
    planned = plan(base_config.validated(), host=True)
    seed, model = planned.seed, planned.model
    if model.kind == "dynamic":
        raise UsageError(
            "landscape: the dynamic net's loss changes from step to step (its depth is drawn "
            "each step), so it has no landscape to draw; use poly, legendre3 or a formula"
        )
    if model.n_params < 2:
        raise UsageError(
            f"landscape needs a model with two parameters or more; this one has {model.n_params}"
        )
    given = None if params is None else _given_pair(params, model)  # refused before any run
    every = max(1, config.steps // PATH_POINTS)
    runs = [_config(base_config, seed, name, lr, every) for name, lr in chosen]
    paths = [_run(run, name) for run, (name, _) in zip(runs, chosen, strict=True)]

    surface = _Surface(planned)
    start = np.asarray(planned.init, dtype=np.float64)
    base, base_from = _optimum(base_config, seed, chosen, paths, surface)
    optimum_loss = surface(base)
    for path in paths:  # the paths may pass lower than the optimum found (a poor optimum)
        if path.error is None:
            optimum_loss = min(optimum_loss, path.final_loss)
    index = given if given is not None else _worst_pair(model, surface, base)
    names = (model.param_names[index[0]], model.param_names[index[1]])
    lo1, hi1, lo2, hi2 = box if box is not None else _box(index, base, start, surface(start), paths)
    if not (lo1 < hi1 and lo2 < hi2):
        raise UsageError("--box LO1 HI1 LO2 HI2: each range needs LO < HI")
    a, b = np.linspace(lo1, hi1, grid), np.linspace(lo2, hi2, grid)
    loss = np.empty((grid, grid))
    w = base.copy()
    for i, bv in enumerate(b):
        for j, av in enumerate(a):
            w[index[0]], w[index[1]] = av, bv
            loss[i, j] = surface(w)
    title = f"{planned.problem.name}: {model.describe()}"
    if planned.domain is not None:
        title += ", in t = x mapped to [-1, 1]"
    return Landscape(
        names, index, a, b, loss, base, base_from, start, surface(start), optimum_loss, seed,
        paths, title, config.init is None, planned.domain is not None,
    )  # fmt: skip


def _config(config: Any, seed: int, name: str, lr: float | None, every: int) -> Any:
    """One optimizer's run: the same problem and start; its own rate (a second-order method
    none); lbfgs on torch (NumPy has none), in float64 too."""
    rate = None if name in SECOND_ORDER else (lr if lr is not None else config.lr)
    backend = "torch" if name == "lbfgs" else "numpy"
    return replace(
        config, optimizer=name, lr=rate, seed=seed, log_every=every, backend=backend
    ).validated()


def _run(config: Any, name: str) -> OptimizerPath:
    """Run ``config`` recording its parameters; a run that fails (diverges) is a path with
    its error, not the end of the picture."""
    from ..api import run
    from ..training.record import ParamRecorder

    recorder = ParamRecorder()
    try:
        result = run(config, on_log=recorder, reference=False)
    except GradfitError as exc:
        if isinstance(exc, UsageError):
            raise
        return OptimizerPath(name, None, error=str(exc))
    points = [np.asarray(result.init_params, dtype=np.float64), *recorder.params]
    points.append(np.asarray(result.params, dtype=np.float64))
    losses = [math.nan, *recorder.losses, float(result.final_loss)]  # the start's: see _box
    lr = None if name in SECOND_ORDER else float(result.config.lr)
    steps = result.steps_done if result.steps_done is not None else config.steps
    final = float(result.final_loss)
    return OptimizerPath(name, lr, np.stack(points), np.asarray(losses), final, steps)


class _Surface:
    """The run's loss at any parameters, in float64 on the data as trained: the loss function
    the optimizers descend (the plan's loss, weights and penalty)."""

    def __init__(self, planned: Any) -> None:
        trained, be = planned.trained, planned.backend
        self.model, self.loss, self.penalty = planned.model, planned.loss, planned.penalty
        self.cache = self.model.prepare(trained.x, be, planned.seed)
        self.y = np.asarray(trained.y, dtype=np.float64)
        sw = trained.sqrt_weights(be)
        self.sw = None if sw is None else np.asarray(sw, dtype=np.float64)

    def residual(self, w: np.ndarray) -> np.ndarray:
        r = np.asarray(self.model.forward(w, self.cache), dtype=np.float64) - self.y
        return r if self.sw is None else self.sw * r

    def __call__(self, w: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            value = float(self.loss.value(self.residual(w)))
            if self.penalty:
                value += float(self.penalty.value(w))
        return value if math.isfinite(value) else math.inf

    def jtj(self, w: np.ndarray) -> np.ndarray | None:
        jacobian = getattr(self.model, "jacobian", None)
        if jacobian is None:
            return None
        J = np.asarray(jacobian(w, self.cache), dtype=np.float64)
        J = np.broadcast_to(J, (self.y.size, self.model.n_params))
        if self.sw is not None:
            J = self.sw[:, None] * J
        return J.T @ J


def _optimum(
    config: Any, seed: int, chosen: list[Any], paths: list[OptimizerPath], surface: _Surface
) -> tuple[np.ndarray, str]:
    """Where the slice goes through: the end of Levenberg-Marquardt from the same start (the
    listed lm run, else one run for this), or the lowest end of the paths when lm cannot run."""
    for (name, _), path in zip(chosen, paths, strict=True):
        if name == "lm" and path.error is None:
            return path.params[-1].copy(), "the optimum, where lm ends"
    try:
        extra = _run(_config(config, seed, "lm", None, max(1, config.steps)), "lm")
    except GradfitError:
        extra = OptimizerPath("lm", None, error="cannot run")
    if extra.error is None:
        return extra.params[-1].copy(), "the optimum, found by lm"
    ended = [p for p in paths if p.error is None and math.isfinite(p.final_loss)]
    if not ended:
        raise UsageError("landscape: no optimizer finished its run; see --lr and --steps")
    best = min(ended, key=lambda p: p.final_loss)
    return best.params[-1].copy(), f"the lowest end of the paths ({best.optimizer})"


def _given_pair(text: str, model: Any) -> tuple[int, int]:
    """The two parameters ``--params`` names (names or indices), as indices."""
    names = list(model.param_names)
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    if len(parts) != 2:
        raise UsageError(
            f"--params takes two parameters, e.g. {names[0]},{names[1]}; got {text[:40]!r}"
        )
    index = []
    for part in parts:
        if part in names:
            index.append(names.index(part))
        elif part.isdigit() and int(part) < len(names):
            index.append(int(part))
        else:
            raise UsageError(
                f"--params: unknown parameter {part[:40]!r}; this model's are {', '.join(names)}"
            )
    if index[0] == index[1]:
        raise UsageError("--params: give two different parameters")
    return index[0], index[1]


def _worst_pair(model: Any, surface: _Surface, base: np.ndarray) -> tuple[int, int]:
    """The pair whose 2 x 2 block of ``J^T J`` at ``base`` is worst conditioned (the first two
    when the model has no Jacobian)."""
    names = list(model.param_names)
    jtj = surface.jtj(base)
    if jtj is None or not np.all(np.isfinite(jtj)):
        return 0, 1
    worst, pair = -1.0, (0, 1)
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            eig = np.linalg.eigvalsh(jtj[np.ix_([i, j], [i, j])])
            cond = math.inf if eig[0] <= 0 else eig[1] / eig[0]
            if cond > worst:
                worst, pair = cond, (i, j)
    return pair


def _box(
    index: tuple[int, int],
    base: np.ndarray,
    start: np.ndarray,
    start_loss: float,
    paths: list[OptimizerPath],
) -> tuple[float, float, float, float]:
    """The box around the optimum and the start that holds every path, plus 10%: the points
    of a path whose loss is not above the start's (an excursion higher than the start, an
    overshoot on the way to diverging, would shrink the valley to a line)."""
    limits = []
    for k in index:
        values = [base[k], start[k]]
        for path in paths:
            if path.error is None:
                below = np.isfinite(path.params[:, k]) & ~(path.losses > start_loss)
                values.extend(path.params[below, k].tolist())
        lo, hi = min(values), max(values)
        pad = 0.1 * (hi - lo) or 0.1 * abs(base[k]) or 0.1
        limits.extend([lo - pad, hi + pad])
    return limits[0], limits[1], limits[2], limits[3]


def format_summary(land: Landscape) -> str:
    """The landscape in a few lines: which parameters, the range, where each optimizer ended."""
    n1, n2 = land.names
    i, j = land.index

    def at(w: np.ndarray) -> str:
        return f"{n1} = {w[i]:.6g}, {n2} = {w[j]:.6g}"

    lines = [
        f"Landscape  loss over {n1} and {n2}, the other parameters at {land.base_from}",
        *(["           (coefficients of t, x mapped to [-1, 1]: --scale)"] if land.scaled else []),
        f"           {n1} in [{land.a[0]:.6g}, {land.a[-1]:.6g}], {n2} in "
        f"[{land.b[0]:.6g}, {land.b[-1]:.6g}], {land.a.size} x {land.b.size} grid",
        f"Start      {at(land.start)}   loss {land.start_loss:.8g}"
        + (f"   (seed {land.seed})" if land.seeded else ""),
        f"Optimum    {at(land.base)}   loss {land.optimum_loss:.8g}",
        "",
        f"{'optimizer':<12} {'lr':<9} {'steps':>6}  {'final loss':<14} reached the optimum?",
    ]
    for p in land.paths:
        if p.error is not None:
            lines.append(f"{p.optimizer:<12} {'':<9} {'':>6}  {'-':<14} failed: {p.error}")
            continue
        lr = "-" if p.lr is None else f"{p.lr:.3g}"
        if land.reached(p):
            verdict = "yes"
        else:
            excess = (p.final_loss - land.optimum_loss) / max(abs(land.optimum_loss), 1e-300)
            verdict = (
                f"no: {excess:.3g} x above" if excess >= 10 else f"no: {100 * excess:.3g}% above"
            )
        lines.append(f"{p.optimizer:<12} {lr:<9} {p.steps:>6}  {p.final_loss:<14.8g} {verdict}")
    return "\n".join(lines)


def save_landscape(land: Landscape, path: str | os.PathLike[str]) -> None:
    """Draw ``land`` into a PNG at ``path`` (a temporary file renamed into place): the loss
    above its lowest value on the grid, log-spaced contours, and each optimizer's path."""
    from .plot import agg_pyplot, write_png

    if Path(path).suffix.lower() != ".png":
        raise UsageError(
            f"landscape writes a PNG image; give a file name ending in .png, not {path}"
        )
    plt = agg_pyplot("landscape")
    from matplotlib.colors import LogNorm

    finite = np.isfinite(land.loss)
    low = min(float(land.loss[finite].min()), land.optimum_loss) if finite.any() else 0.0
    excess = np.where(finite, land.loss - low, np.nan)
    top = float(np.nanmax(excess)) if finite.any() else 1.0
    floor = max(top * 1e-6, 1e-300)
    levels = np.geomspace(floor, max(top, floor * 10), 25)

    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=80)
    filled = ax.contourf(
        land.a, land.b, np.clip(excess, floor, None), levels=levels, norm=LogNorm(), cmap="Blues_r"
    )
    ax.contour(land.a, land.b, np.clip(excess, floor, None), levels=levels[::3], colors="0.4",
               linewidths=0.5, norm=LogNorm())  # fmt: skip
    bar = fig.colorbar(filled, ax=ax, format="%.0e")
    bar.set_label(f"loss - {low:.6g} (log-spaced levels)", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    i, j = land.index
    markers = ("o", "s", "^", "D", "v", "P")
    for k, p in enumerate(land.paths):
        if p.error is not None:
            continue
        lr = "" if p.lr is None else f", lr {p.lr:.3g}"
        label = f"{p.optimizer}{lr}: {p.steps} steps, loss {p.final_loss:.4g}"
        color = f"C{(k + 1) % 10}"
        z = 10 - k  # the first listed on top
        ax.plot(p.params[:, i], p.params[:, j], "-", lw=1.2, color=color, label=label, zorder=z)
        ax.plot(p.params[-1, i], p.params[-1, j], markers[k % 6], ms=5, color=color, zorder=z)
    ax.plot(land.start[i], land.start[j], "o", ms=6, mfc="white", mec="k", label="start", zorder=20)
    ax.plot(
        land.base[i], land.base[j], "*", ms=11, color="gold", mec="k", label="optimum", zorder=20
    )
    ax.set_xlim(land.a[0], land.a[-1])
    ax.set_ylim(land.b[0], land.b[-1])
    ax.set(xlabel=land.names[0], ylabel=land.names[1])
    ax.set_title(
        f"{land.title}\nloss over {land.names[0]}, {land.names[1]}; the others at the optimum",
        fontsize=9,
    )
    ax.legend(fontsize=7, loc="best", framealpha=0.85)
    fig.tight_layout()
    write_png(fig, path)
