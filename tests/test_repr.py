"""How a FitResult shows itself (repr, Jupyter's HTML and PNG) and the live loss display a
notebook fit shows, tested with a stand-in for IPython."""

from __future__ import annotations

import base64
import html
import importlib.util
import re
import subprocess
import sys
import types
from typing import Any

import numpy as np
import pytest

import gradfit
from gradfit import notebook
from gradfit.notebook import LiveLoss, in_notebook, sparkline
from gradfit.understand.report import result_line, uncertainty_lines
from gradfit.understand.uncertainty import format_estimate

HAVE_MPL = importlib.util.find_spec("matplotlib") is not None
X = np.linspace(-np.pi, np.pi, 2000)
START = [0.3, -0.7, 0.1, 0.05]


def _fit(**kwargs: Any) -> gradfit.FitResult:
    options = {"init": START, "lr": 1e-6, "steps": 2000} | kwargs
    return gradfit.fit(X, np.sin(X), **options)


@pytest.fixture(scope="module")
def result() -> gradfit.FitResult:
    return _fit()


def test_repr_is_one_line_with_the_result(result: gradfit.FitResult) -> None:
    text = repr(result)
    assert "\n" not in text and len(text) < 400
    assert text.startswith("FitResult(") and result.formula() in text
    assert f"final_loss={result.final_loss:.8g}" in text and "sgd, lr 1e-06, 2000 steps" in text


def test_html_has_the_result_line_and_every_logged_loss(result: gradfit.FitResult) -> None:
    page = result._repr_html_()
    assert result_line(result.formula()) in page  # as `gradfit fit` prints it
    assert len(result.loss_history) == 20
    for step, loss in result.loss_history:  # the article's `99 1273.53...` lines, as a table
        assert f"<tr><td>{step}</td><td>{float(loss)!r}</td></tr>" in page
    assert f"{result.optimum.loss:.8g}" in page
    st = result.statistics  # the standard errors, as `gradfit fit` prints them
    assert st is not None and f"R^2 {st.r2:.6f}" in page
    for name, se in st.errors().items():
        value = format_estimate(result.reported()[name], se)
        assert f"<tr><td>{name}</td><td>{value}</td></tr>" in page
        assert f"{name} = {value}" in "".join(uncertainty_lines(st, result.reported()))


@pytest.mark.skipif(not HAVE_MPL, reason="matplotlib is not installed")
def test_html_embeds_the_plot_as_png(result: gradfit.FitResult) -> None:
    page = result._repr_html_()
    found = re.search(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert found is not None
    png = base64.b64decode(found.group(1))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert png == result._repr_png_()  # drawn once, shown both ways


def test_without_matplotlib_no_image_and_no_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name)
    )
    r = _fit(steps=200)
    assert r._repr_png_() is None
    page = r._repr_html_()
    assert "<img" not in page and result_line(r.formula()) in page


@pytest.mark.skipif(not HAVE_MPL, reason="matplotlib is not installed")
def test_png_leaves_the_notebooks_matplotlib_backend_alone() -> None:
    import matplotlib.pyplot as plt

    before = plt.get_backend()
    plt.switch_backend("pdf")  # stands for the notebook's inline backend
    try:
        png = _fit(steps=300)._repr_png_()
        assert png is not None and png.startswith(b"\x89PNG")
        assert plt.get_backend() == "pdf"
    finally:
        plt.switch_backend(before)


def test_text_is_escaped() -> None:
    r = _fit(steps=100)
    r.problem = '<script>alert("x")</script> & co'
    page = r._repr_html_()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in page


def test_a_long_history_keeps_its_ends() -> None:
    history = [(t, 1.0 / (t + 1)) for t in range(100)]
    table = notebook.loss_table(history)
    assert table.count("<tr><td>") == notebook.MAX_ROWS + 1  # and one "..." row
    assert "<tr><td>0</td>" in table and "<tr><td>99</td>" in table
    assert "<tr><td>50</td>" not in table and "<td>...</td>" in table


# ----------------------------------------------------------------------------- live display


class FakeHandle:
    def __init__(self, shown: list[str]) -> None:
        self.shown = shown

    def update(self, obj: Any) -> None:
        self.shown.append(obj.data)


class FakeIPython:
    """Just enough of IPython for gradfit: get_ipython() and IPython.display."""

    def __init__(self, shell: str) -> None:
        self.shown: list[str] = []
        self.calls: list[dict[str, Any]] = []
        shell_class = type(shell, (), {})
        self.module = types.ModuleType("IPython")
        self.module.get_ipython = shell_class  # type: ignore[attr-defined]
        self.display = types.ModuleType("IPython.display")
        self.display.HTML = lambda data: types.SimpleNamespace(data=data)  # type: ignore[attr-defined]
        self.display.display = self._display  # type: ignore[attr-defined]
        self.module.display = self.display  # type: ignore[attr-defined]

    def _display(self, obj: Any, **kwargs: Any) -> FakeHandle:
        self.calls.append(kwargs)
        self.shown.append(obj.data)
        return FakeHandle(self.shown)


@pytest.fixture
def kernel(monkeypatch: pytest.MonkeyPatch) -> FakeIPython:
    fake = FakeIPython("ZMQInteractiveShell")
    monkeypatch.setitem(sys.modules, "IPython", fake.module)
    monkeypatch.setitem(sys.modules, "IPython.display", fake.display)
    return fake


def test_notebook_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert not in_notebook()  # and it did not import IPython to find out
    assert "IPython" not in sys.modules
    terminal = FakeIPython("TerminalInteractiveShell")
    monkeypatch.setitem(sys.modules, "IPython", terminal.module)
    assert not in_notebook()
    monkeypatch.setitem(sys.modules, "IPython", FakeIPython("ZMQInteractiveShell").module)
    assert in_notebook()
    none = types.ModuleType("IPython")
    none.get_ipython = lambda: None  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", none)  # IPython imported, no shell running
    assert not in_notebook()


def test_progress_true_shows_a_live_display_that_ends_done(kernel: FakeIPython) -> None:
    seen: list[tuple[int, float]] = []
    r = _fit(progress=True, on_log=lambda t, v: seen.append((t, v)))
    assert seen == r.loss_history  # the caller's on_log still gets every logged loss
    assert kernel.calls == [{"display_id": True}]  # one output, updated in place
    last = kernel.shown[-1]
    assert last.startswith('<div class="gradfit-live"') and "done: step 2000 / 2000" in last
    assert f"loss {r.loss_history[-1][1]:.6g}" in last and "<svg" in last
    shown = len(kernel.shown)
    plain = _fit(progress=False)
    np.testing.assert_array_equal(r.coef, plain.coef)  # showing changes no number
    assert len(kernel.shown) == shown  # progress=False: nothing, even in a notebook


def test_short_fits_show_nothing_unless_asked(
    kernel: FakeIPython, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fit(steps=200)  # well under LONG_FIT_S
    _fit(steps=200, progress=False)
    assert kernel.shown == []
    monkeypatch.setattr(notebook, "LONG_FIT_S", 0.0)  # every fit is "long"
    _fit(steps=200)
    assert kernel.calls == [{"display_id": True}] and "done" in kernel.shown[-1]


def test_updates_are_throttled(kernel: FakeIPython) -> None:
    now = [0]  # in hundredths of a second: exact arithmetic
    live = LiveLoss(1000, interval=50, clock=lambda: now[0])
    with live:
        for t in range(1000):
            now[0] += 1  # 100 steps a second: 10 s in all
            if t % 100 == 99:
                live.log(t, 1.0 / (t + 1))
            if (t + 1) % live.stride == 0:
                live.advance(t + 1)
    # Shown at 0.05 s, then at most every 0.5 s until 10 s, then once more at the end.
    assert live.updates == len(kernel.shown) == 21
    assert "done: step 1000 / 1000" in kernel.shown[-1]


def test_a_delayed_display_appears_only_after_the_delay(kernel: FakeIPython) -> None:
    now = [0.0]
    with LiveLoss(100, delay=2.0, clock=lambda: now[0]) as live:
        for t in range(100):
            now[0] += 0.015  # 1.5 s in all: shorter than the delay
            live.advance(t + 1)
    assert kernel.shown == []
    with pytest.raises(KeyboardInterrupt), LiveLoss(100, delay=0.0, clock=lambda: now[0]) as live:
        live.advance(10)
        raise KeyboardInterrupt
    assert "stopped at step 10: KeyboardInterrupt" in kernel.shown[-1]


def test_outside_a_notebook_the_library_prints_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    _fit(steps=300)
    _fit(steps=300, progress=True)  # stderr is not a terminal here: no bar either
    assert capfd.readouterr() == ("", "")


def test_a_numpy_fit_never_imports_ipython() -> None:
    code = (
        "import sys, numpy as np, gradfit\n"
        "x = np.linspace(-1, 1, 50)\n"
        "r = gradfit.fit(x, x**2, steps=50, lr=1e-2, progress=True)\n"
        "repr(r)\n"
        "assert 'IPython' not in sys.modules and 'torch' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_sparkline_follows_the_log_loss() -> None:
    svg = sparkline([(0, 100.0), (1, 10.0), (2, 1.0)], width=42, height=12)
    points = re.search(r'points="([^"]+)"', svg).group(1).split()  # type: ignore[union-attr]
    assert points == ["1.0,1.0", "21.0,6.0", "41.0,11.0"]  # a straight line on a log scale
    assert sparkline([(0, 1.0)]) == "" and sparkline([(0, float("nan")), (1, 0.0)]) == ""


def test_an_explanation_shows_its_text_and_plain_words() -> None:
    from gradfit.understand.explain import explain, render

    ex = explain(gradfit.FitConfig(seed=1, backend="numpy"))
    page = ex._repr_html_()
    assert page.startswith('<pre class="gradfit-text">') and page.endswith("</pre>")
    text = render(ex)
    assert html.escape(text) in page and "In plain words:" in page


def test_which_display_a_library_fit_gets(
    kernel: FakeIPython, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gradfit.progress import FitProgress, library_progress

    assert library_progress(False, 100) is None
    assert isinstance(library_progress(True, 100), LiveLoss)
    assert library_progress(True, 100).delay == 0.0
    assert library_progress(None, 100).delay == notebook.LONG_FIT_S
    monkeypatch.delitem(sys.modules, "IPython")  # a script: no kernel
    assert library_progress(None, 100) is None
    assert library_progress(True, 100) is None  # stderr is not a terminal here
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert isinstance(library_progress(True, 100), FitProgress)
    assert library_progress(None, 100) is None  # a terminal too prints nothing unasked


def test_the_bar_without_lines_prints_no_lines() -> None:
    import io

    from gradfit.progress import FitProgress

    stream = io.StringIO()
    with FitProgress(10, stream) as bar:
        bar.log(0, 1.5)  # library use: the loss on the bar, no "0 1.5" line
    assert "0 1.5" not in stream.getvalue()
    with FitProgress(10, stream) as bar:
        bar.log(0, 1.5, "0 1.5")  # the CLI's use: the article's line above the bar
    assert "0 1.5" in stream.getvalue()
