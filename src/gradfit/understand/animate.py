"""A run as a moving picture: the fitted curve at every logged step, and the loss falling
toward the optimum (``gradfit fit --animate run.gif``).

Like :mod:`gradfit.understand.plot`, in two steps: :func:`animation_data` gathers what each
frame shows (plain NumPy arrays, one curve per logged step, testable without pixels), from a
result and the :class:`~gradfit.training.record.ParamRecorder` that watched its run;
:func:`save_animation` draws it with matplotlib's animation module on the Agg backend and
writes a GIF (Pillow's writer), an MP4 (ffmpeg) or an HTML page with a slider, atomically.
matplotlib is imported only here, only when an animation is asked for.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data import as_float64
from ..errors import UsageError
from ..outputs import atomic_output, write_text_atomic
from .plot import MAX_POINTS, _thin, agg_pyplot

FORMATS = (".gif", ".mp4", ".html")
SIZE_PX = (640, 320)  # small pictures: the README shows one
DPI = 80
FPS = 4


@dataclass
class AnimationData:
    """Everything the frames show: frame k is logged step ``steps[k]``, the curve
    ``curves[k]`` on ``x_fit`` at the parameters its loss ``losses[k]`` was computed at."""

    title: str
    x: np.ndarray  # data, thinned to at most MAX_POINTS
    y: np.ndarray
    x_fit: np.ndarray  # dense grid over the data's range
    steps: np.ndarray
    losses: np.ndarray
    curves: np.ndarray  # (frames, len(x_fit))
    optimum_loss: float | None = None


def curve_at(result: Any, params: Any, x: Any) -> np.ndarray:
    """The model of ``result`` at ``x`` with the parameters ``params`` (as trained: a basis's
    coefficients, in t when scaled), float64: what :meth:`FitResult.predict` gives for its
    final parameters, for any step's."""
    w = np.asarray(params, dtype=np.float64)
    model = result.model
    if hasattr(model, "predict"):  # a formula or a Python function
        return np.asarray(model.predict(w, x), dtype=np.float64)
    coef = model.to_monomial(w)  # powers of the variable trained on
    xs = as_float64(x)
    if result.domain is not None:
        xs = result.domain.to_window(xs)
    return np.polynomial.polynomial.polyval(xs, coef)


def animation_data(result: Any, recorder: Any) -> AnimationData:
    """One frame per logged step of ``result``'s run, from the parameters ``recorder`` kept."""
    if not recorder.steps:
        raise UsageError("--animate: the run logged no step to draw; give --log-every N")
    if hasattr(result.dataset, "sample"):  # streamed data: a sample, one pass
        x, y = result.dataset.sample(MAX_POINTS)
    else:
        x, y = result.dataset.x, result.dataset.y
    xs, ys = _thin(as_float64(x), as_float64(y))
    grid = np.linspace(float(xs.min()), float(xs.max()), 300)
    curves = np.stack([curve_at(result, p, grid) for p in recorder.params])
    opt = result.optimum.loss if result.optimum is not None else None
    title = f"{result.problem}: {result.model.describe()}, {result.method}, {result.schedule()}"
    return AnimationData(
        title,
        xs,
        ys,
        grid,
        np.asarray(recorder.steps, dtype=float),
        np.asarray(recorder.losses, dtype=float),
        curves,
        opt,
    )


def check_animation_path(path: str) -> None:
    """Refuse, before the run, a file name gradfit cannot write an animation to: another
    extension, or ``.mp4`` where matplotlib finds no ffmpeg."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(
            f"--animate writes a .gif, .mp4 or .html file; give a file name ending in one of "
            f"them, not {path}"
        )
    if suffix == ".mp4":
        animation = _animation_module()
        if not animation.writers.is_available("ffmpeg"):
            raise UsageError(
                f"--animate {path} needs ffmpeg, which matplotlib cannot find; install it, or "
                "write a .gif or .html instead"
            )


def save_animation(data: AnimationData, path: str | os.PathLike[str], fps: int = FPS) -> None:
    """Draw ``data``, one frame per logged step, into ``path`` (.gif, .mp4 or .html with a
    slider), written to a temporary file and renamed into place."""
    check_animation_path(str(path))
    animation = _animation_module()
    import matplotlib.pyplot as plt

    fig, anim = _figure(data, animation, plt, fps)
    suffix = Path(path).suffix.lower()
    try:
        if suffix == ".html":
            write_text_atomic(path, anim.to_jshtml(fps=fps, default_mode="once"))
            return
        writer = (
            animation.PillowWriter(fps=fps)
            if suffix == ".gif"
            else animation.FFMpegWriter(fps=fps, codec="h264", extra_args=["-pix_fmt", "yuv420p"])
        )
        # The writers choose the format by the file's extension: draw to a file named like
        # the target, then copy it into the temporary file that replaces the target.
        with tempfile.TemporaryDirectory(prefix="gradfit-") as scratch, atomic_output(path) as tmp:
            drawn = Path(scratch) / f"animation{suffix}"
            anim.save(str(drawn), writer=writer, dpi=DPI)
            shutil.copyfile(drawn, tmp)
    finally:
        plt.close(fig)


def _figure(data: AnimationData, animation: Any, plt: Any, fps: int) -> tuple[Any, Any]:
    """The two panels and the animation that moves them: data and the curve of the frame's
    step; the loss so far on a log scale, the optimum's loss dashed."""
    width, height = SIZE_PX
    fig, (ax_fit, ax_loss) = plt.subplots(1, 2, figsize=(width / DPI, height / DPI), dpi=DPI)
    ax_fit.plot(data.x, data.y, ".", ms=2, color="0.6", label="data")
    (curve,) = ax_fit.plot(data.x_fit, data.curves[0], lw=1.8, color="C0", label="fit")
    span = float(data.y.max() - data.y.min()) or 1.0  # keep the data in view
    ax_fit.set_ylim(float(data.y.min()) - 0.5 * span, float(data.y.max()) + 0.5 * span)
    ax_fit.set(xlabel="x", ylabel="y")
    ax_fit.legend(fontsize=7, loc="upper left")
    ax_fit.grid(alpha=0.3)

    good = np.isfinite(data.losses) & (data.losses > 0)
    (past,) = ax_loss.plot([], [], lw=1.5, color="C1", label="loss")
    (now,) = ax_loss.plot([], [], "o", ms=4, color="C1")
    values = list(data.losses[good])
    if data.optimum_loss is not None and data.optimum_loss > 0:
        ax_loss.axhline(
            data.optimum_loss, ls="--", color="k", lw=1, label=f"optimum {data.optimum_loss:.6g}"
        )
        values.append(data.optimum_loss)
    ax_loss.set_yscale("log")
    if values:
        ax_loss.set_ylim(min(values) / 1.5, max(values) * 1.5)
    last = float(data.steps[-1]) if data.steps.size else 1.0
    ax_loss.set_xlim(-0.02 * last, 1.02 * last + 1)
    ax_loss.set(xlabel="step", ylabel="loss")
    ax_loss.legend(fontsize=7, loc="upper right")
    ax_loss.grid(alpha=0.3)
    fig.suptitle(data.title, fontsize=8)
    heading = ax_fit.set_title(" ", fontsize=8)  # the step and its loss, redrawn each frame
    fig.tight_layout(rect=(0, 0, 1, 0.95))

    def draw(k: int) -> tuple[Any, ...]:
        curve.set_ydata(data.curves[k])
        shown = good[: k + 1]
        past.set_data(data.steps[: k + 1][shown], data.losses[: k + 1][shown])
        now.set_data(data.steps[k : k + 1], data.losses[k : k + 1])
        heading.set_text(f"step {int(data.steps[k])}: loss {data.losses[k]:.6g}")
        return curve, past, now, heading

    anim = animation.FuncAnimation(
        fig, draw, frames=len(data.steps), interval=1000 / fps, blit=True, repeat=False
    )
    return fig, anim


def _animation_module() -> Any:
    """matplotlib's animation module, on the Agg backend (one error line without matplotlib)."""
    agg_pyplot("--animate")
    from matplotlib import animation

    return animation
