"""A progress bar while fitting: only on a terminal, never in pipes, CI or JSON output.

On a terminal, ``gradfit fit`` draws a bar with steps/s and the latest logged loss (rich), with
the article's ``t loss`` lines printed above it. Anywhere else the output is exactly the plain
lines. The bar is fed host-side step counts only, so it adds no device synchronisation.

The library (:func:`gradfit.fit`) prints nothing by default. In a Jupyter notebook a fit shows
a live loss display (:class:`gradfit.notebook.LiveLoss`) when asked (``progress=True``) or once it
has run for a while; :func:`library_progress` makes that choice.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any, TextIO


def progress_enabled(stream: TextIO, quiet: bool = False) -> bool:
    """A bar only when ``stream`` is a terminal and the user did not ask for quiet output."""
    isatty = getattr(stream, "isatty", None)
    return bool(not quiet and isatty is not None and isatty())


def library_progress(progress: bool | None, steps: int) -> Any:
    """What :func:`gradfit.fit` shows while it trains (None: nothing).

    In a Jupyter notebook: the live loss display, at once with ``progress=True``, after
    :data:`gradfit.notebook.LONG_FIT_S` seconds with ``progress=None`` (so short fits show
    nothing). Elsewhere: the terminal's bar on stderr with ``progress=True`` (when stderr is a
    terminal), nothing otherwise. ``progress=False``: nothing anywhere.
    """
    if progress is False:
        return None
    from .notebook import LONG_FIT_S, LiveLoss, in_notebook

    if in_notebook():
        return LiveLoss(steps, delay=0.0 if progress else LONG_FIT_S)
    if progress and progress_enabled(sys.stderr):
        return FitProgress(steps, sys.stderr)
    return None


class FitProgress:
    """Context manager: ``log(step, loss)`` prints a line, ``advance(step)`` moves the bar."""

    def __init__(self, steps: int, stream: TextIO | None = None) -> None:
        self.steps = steps
        self.stream = stream or sys.stdout
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> FitProgress:
        try:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )
        except ImportError:  # no rich: plain lines only
            return self
        console = Console(file=self.stream, highlight=False)
        self._progress = Progress(
            TextColumn("fitting"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TextColumn("loss {task.fields[loss]}"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self._task = self._progress.add_task("fit", total=self.steps, loss="-", rate="")
        self._progress.start()
        return self

    @property
    def stride(self) -> int:
        """How often (in steps) the loop should call :meth:`advance`."""
        return max(1, self.steps // 200) if self._progress is not None else 0

    def log(self, step: int, loss: float, line: str | None = None) -> None:
        """Print ``line`` (None: print nothing) and show ``loss`` on the bar."""
        if self._progress is None:
            if line is not None:
                self.stream.write(line + "\n")
            return
        if line is not None:
            self._progress.console.print(line, markup=False)
        self._progress.update(self._task, loss=f"{loss:.6g}")

    def advance(self, step: int) -> None:
        task = self._progress.tasks[0]
        speed = task.speed
        rate = f"{speed:,.0f} steps/s" if speed else ""
        self._progress.update(self._task, completed=step, rate=rate)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
