"""Jupyter: results that display themselves, and a live loss display while a long fit runs.

* :func:`result_html` / :func:`result_png` are what a :class:`~gradfit.result.FitResult` shows as
  the last value of a notebook cell: the ``Result:`` line the CLI prints, the logged losses,
  the standard errors, and the ``--plot`` figure (drawn by :mod:`gradfit.understand.plot`, only
  when matplotlib is installed).
* :class:`LiveLoss` is what ``gradfit.fit(..., progress=True)`` (or any fit that runs longer
  than :data:`LONG_FIT_S`) shows in a notebook: step, loss, speed and a sparkline of the loss,
  in one output that updates in place at most twice a second.

Nothing here imports IPython: :func:`in_notebook` looks only at an IPython that is already
imported (a Jupyter kernel has imported it before running any cell), so plain scripts and the
command line never load it. All text put into HTML is escaped.
"""

from __future__ import annotations

import base64
import html
import importlib.util
import math
import sys
import tempfile
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

LONG_FIT_S = 2.0  # without progress=True, a notebook fit shows the live display after this long
INTERVAL_S = 0.5  # at most two updates a second: each one is a message to the browser
MAX_ROWS = 24  # loss-table rows shown; longer histories keep their first and last rows


def in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython's ZMQ shell), False in a terminal IPython, a plain
    script or the command line. Never imports IPython."""
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    if get_ipython is None:
        return False
    shell = get_ipython()
    return shell is not None and any(
        cls.__name__ == "ZMQInteractiveShell" for cls in type(shell).__mro__
    )


# ----------------------------------------------------------------------------- results


def result_text(result: Any) -> str:
    """A one-line ``repr``: what was fitted, the result, the loss, how it ran."""
    backend = f"{result.config.backend} {result.device} {result.dtype}"
    return (
        f"FitResult(problem={result.problem!r}, formula={result.formula()!r}, "
        f"final_loss={result.final_loss:.8g}, method={result.method!r}, "
        f"schedule={result.schedule()!r}, backend={backend!r})"
    )


def result_html(result: Any, image: bool = True) -> str:
    """The HTML a notebook shows for ``result``; ``image=False`` leaves the figure out."""
    e = html.escape
    c = result.config
    backend = f"{c.backend} {result.device} {result.dtype}"
    head = (
        f"<b>gradfit</b> &middot; {e(result.problem)}: {result.n_points} points &middot; "
        f"{e(result.model.describe())} &middot; method {e(result.method)} &middot; "
        f"{e(result.schedule())} &middot; {e(backend)}"
    )
    if c.seed is not None or result.seed_drawn:  # the seed shaped the run: say which
        head += f" &middot; seed {result.seed}"
    parts = [
        '<div class="gradfit-result">',
        f"<div>{head}</div>",
        f"<pre>Result: {e(result.formula())}</pre>",  # as `gradfit fit` prints it
    ]
    summary = f"final loss {result.final_loss:.8g}"
    if result.optimum is not None:
        summary += f"; least-squares optimum {result.optimum.loss:.8g}"
    if result.stop_reason is not None:
        summary += f"; stopped after {result.steps_done} steps: {result.stop_reason}"
    parts.append(f"<div>{e(summary)}</div>")
    if result.statistics is not None:
        parts.append(statistics_html(result.statistics, result.reported(), result.excess_loss()))
    parts.append('<div style="display:flex;gap:1em;align-items:flex-start">')
    parts.append(loss_table(result.loss_history))
    png = result_png(result) if image else None
    if png is not None:
        alt = e(f"{result.problem}: data, fitted curve, residuals and loss")
        data = base64.b64encode(png).decode("ascii")
        parts.append(f'<img src="data:image/png;base64,{data}" alt="{alt}" style="max-width:80%">')
    parts.append("</div></div>")
    return "\n".join(parts)


def statistics_html(st: Any, values: dict[str, float], excess: float | None) -> str:
    """Each reported parameter with its standard error, then the goodness of fit: what
    ``gradfit fit`` prints under ``Result:``, as a table."""
    from .understand.uncertainty import format_estimate

    e = html.escape
    rows = "".join(
        f"<tr><td>{e(name)}</td><td>{e(format_estimate(values[name], se))}</td></tr>"
        for name, se in zip(st.names, st.standard_errors.tolist(), strict=True)
    )
    fit = [f"RMSE {st.rmse:.4g}"]
    if st.r2 is not None:
        fit.append(f"R^2 {st.r2:.6f}")
    if st.reduced_chi2 is not None:
        fit.append(f"chi^2/dof {st.reduced_chi2:.4g}")
    fit.append(f"AIC {st.aic:.1f}, BIC {st.bic:.1f} (n={st.n}, {st.dof} dof)")
    notes = [", ".join(fit)]
    if st.unidentified:
        notes.append(f"not identifiable from these data: {', '.join(st.unidentified)}")
    if excess is not None and excess > 0.01:
        notes.append(
            f"the loss is {100 * excess:.2g}% above the least-squares optimum; the errors "
            "assume a converged fit"
        )
    return (
        '<table class="gradfit-params"><thead><tr><th>parameter</th><th>value +/- standard '
        f"error</th></tr></thead><tbody>{rows}</tbody></table>"
        + "".join(f"<div>{e(note)}</div>" for note in notes)
    )


def loss_table(history: list[tuple[int, float]]) -> str:
    """The logged losses as an HTML table (step, loss), as the article prints them; a long
    history keeps its first and last rows with a ``...`` row between."""
    rows = list(history)
    if len(rows) > MAX_ROWS:
        half = MAX_ROWS // 2
        rows = [*rows[:half], None, *rows[-half:]]  # type: ignore[list-item]
    body = "".join(
        "<tr><td>...</td><td>...</td></tr>"
        if row is None
        else f"<tr><td>{row[0]}</td><td>{float(row[1])!r}</td></tr>"
        for row in rows
    )
    return (
        '<table class="gradfit-loss"><thead><tr><th>step</th><th>loss</th></tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


_PNG: dict[int, bytes | None] = {}  # id(result) -> its figure; Jupyter asks for HTML and PNG


def result_png(result: Any) -> bytes | None:
    """The ``--plot`` figure of ``result`` as PNG bytes (None: no matplotlib, or no data to
    draw, e.g. a model loaded from a file)."""
    key = id(result)
    if key not in _PNG:
        _PNG[key] = _draw(result)
        weakref.finalize(result, _PNG.pop, key, None)
    return _PNG[key]


def _draw(result: Any) -> bytes | None:
    if getattr(result, "dataset", None) is None or importlib.util.find_spec("matplotlib") is None:
        return None
    from .errors import UsageError
    from .understand.plot import fit_plot_data, save_plot

    pyplot = sys.modules.get("matplotlib.pyplot")
    backend = pyplot.get_backend() if pyplot is not None else None  # the notebook's (inline)
    try:
        with tempfile.TemporaryDirectory(prefix="gradfit-") as tmp:
            path = Path(tmp) / "fit.png"
            save_plot(fit_plot_data(result), path)
            return path.read_bytes()
    except UsageError:  # matplotlib cannot be imported after all
        return None
    finally:  # save_plot draws with Agg; give the notebook its own backend back
        if backend is not None and pyplot is not None and pyplot.get_backend() != backend:
            pyplot.switch_backend(backend)


def text_html(text: str) -> str:
    """Plain text (an explanation, a table) as escaped, preformatted HTML."""
    return f'<pre class="gradfit-text">{html.escape(text)}</pre>'


# ----------------------------------------------------------------------------- live display


class LiveLoss:
    """A notebook output that follows a fit: ``log(step, loss)`` at logged steps,
    ``advance(step)`` every :attr:`stride` steps; the same interface as
    :class:`gradfit.progress.FitProgress`.

    It appears once the fit has run ``delay`` seconds (0: at once), then updates in place at
    most every ``interval`` seconds, and a last time when the fit ends, so a short fit shows
    nothing and a long one costs a few hundred clock reads. ``display`` and ``clock`` are
    IPython's ``display`` and :func:`time.monotonic` unless given (tests give fakes).
    """

    def __init__(
        self,
        steps: int,
        delay: float = 0.0,
        interval: float = INTERVAL_S,
        display: Callable[..., Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.steps = steps
        self.delay = delay
        self.interval = interval
        self.clock = clock
        self.history: list[tuple[int, float]] = []
        self.step = 0
        self.updates = 0  # how many times the output was drawn
        self.status = "fitting"
        self._display = display
        self._handle: Any = None
        self._start = 0.0
        self._last = -math.inf

    @property
    def stride(self) -> int:
        """How often (in steps) the loop should call :meth:`advance`."""
        return max(1, self.steps // 200)

    def __enter__(self) -> LiveLoss:
        self._start = self.clock()
        return self

    def log(self, step: int, loss: float, line: str | None = None) -> None:
        self.history.append((step, float(loss)))
        self.step = max(self.step, step + 1)
        self._refresh()

    def advance(self, step: int) -> None:
        self.step = max(self.step, step)
        self._refresh()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.status = "done"
        else:
            self.status = f"stopped at step {self.step}: {exc_type.__name__}"
        if self._handle is not None:  # shown: show how it ended
            self._refresh(final=True)

    def _refresh(self, final: bool = False) -> None:
        now = self.clock()
        if self._handle is None and now - self._start < self.delay:
            return
        if not final and now - self._last < self.interval:
            return
        self._last = now
        self.updates += 1
        body = self.html(now - self._start)
        if self._handle is None:
            display, html_type = self._ipython()
            self._handle = display(html_type(body), display_id=True)
        else:
            _, html_type = self._ipython()
            self._handle.update(html_type(body))

    def _ipython(self) -> tuple[Callable[..., Any], Callable[[str], Any]]:
        from IPython.display import HTML, display  # only reached inside a notebook

        return self._display or display, HTML

    def html(self, elapsed: float) -> str:
        """The output's content: status, step, loss, speed, and the loss so far."""
        loss = f"loss {self.history[-1][1]:.6g}" if self.history else "loss -"
        rate = f"{self.step / elapsed:,.0f} steps/s" if elapsed > 0 and self.step else ""
        text = (
            f"{self.status}: step {self.step} / {self.steps} &middot; {html.escape(loss)} "
            f"&middot; {rate} &middot; {elapsed:.1f} s"
        )
        return (
            f'<div class="gradfit-live" style="font-family:monospace">{text} '
            f"{sparkline(self.history)}</div>"
        )


def sparkline(history: list[tuple[int, float]], width: int = 240, height: int = 40) -> str:
    """The loss against the step (log scale) as a small inline SVG: no matplotlib needed."""
    points = [(t, math.log10(v)) for t, v in history if v > 0 and math.isfinite(v)]
    if len(points) < 2:
        return ""
    if len(points) > width:  # one point per pixel is enough
        stride = math.ceil(len(points) / width)
        points = [*points[::stride], points[-1]]
    t0, t1 = points[0][0], points[-1][0]
    lo = min(v for _, v in points)
    hi = max(v for _, v in points)
    span_t, span_v = (t1 - t0) or 1, (hi - lo) or 1.0
    coords = " ".join(
        f"{(t - t0) / span_t * (width - 2) + 1:.1f},{(hi - v) / span_v * (height - 2) + 1:.1f}"
        for t, v in points
    )
    return (
        f'<svg width="{width}" height="{height}" style="vertical-align:middle">'
        f'<polyline points="{coords}" fill="none" stroke="#1f77b4" stroke-width="1.5"/></svg>'
    )


__all__ = [
    "LONG_FIT_S",
    "LiveLoss",
    "in_notebook",
    "loss_table",
    "result_html",
    "result_png",
    "result_text",
    "sparkline",
    "text_html",
]
