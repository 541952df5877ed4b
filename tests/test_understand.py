"""explain, --lr auto, the divergence guard, plots and progress - checked against numbers
computed here independently (NumPy eigenvalues, a plain gradient-descent loop)."""

from __future__ import annotations

import json
import math
import os
import struct
import subprocess
import sys
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from conftest import best_lr, hessian_eigs, losses, run_cli, run_gradfit

import gradfit
from gradfit.cli import main
from gradfit.errors import DivergenceError
from gradfit.presets import preset_config
from gradfit.progress import progress_enabled
from gradfit.training.loop import DIVERGENCE_FACTOR
from gradfit.understand.explain import explain
from gradfit.understand.plot import fit_plot_data

PROBLEMS = [  # (options, x) - the article's and two other degrees/ranges/bases
    (dict(), np.linspace(-np.pi, np.pi, 2000)),
    (dict(degree=2, x_range=(0.0, 2.0), points=500), np.linspace(0.0, 2.0, 500)),
    (
        dict(degree=5, basis="legendre", x_range=(-1.0, 1.0), points=800),
        np.linspace(-1.0, 1.0, 800),
    ),
]


@pytest.mark.parametrize(("options", "x"), PROBLEMS)
def test_explain_numbers_match_an_independent_eigendecomposition(options, x) -> None:
    ex = explain(preset_config(seed=1, **options))
    eigs = hessian_eigs(x, options.get("degree", 3), options.get("basis", "monomial"))
    np.testing.assert_allclose(ex.spectrum.eigenvalues, eigs, rtol=1e-9)
    assert ex.spectrum.stable_lr == pytest.approx(2 / eigs[-1], rel=1e-9)
    assert ex.spectrum.best_lr == pytest.approx(2 / (eigs[0] + eigs[-1]), rel=1e-9)
    assert ex.spectrum.condition == pytest.approx(eigs[-1] / eigs[0], rel=1e-9)


@pytest.mark.parametrize(
    "options",
    [
        dict(),
        dict(optimizer="momentum", lr=5e-7),
        dict(optimizer="nesterov", lr=5e-7, momentum=0.8),
        dict(optimizer="adam", lr=1e-2),
        # (rmsprop is left out: its steps have size ~lr whatever the gradient's size, so
        # rounding differences between the data and the quadratic do not die out)
        dict(degree=5, basis="legendre", x_range=(-1.0, 1.0), lr=1e-4, steps=500),
    ],
)
def test_predicted_losses_match_the_actual_run(options) -> None:
    config = preset_config(seed=4, backend="numpy", **options)
    ex = explain(config)
    run = gradfit.run(config, reference=False)
    predicted = [v for _, v in ex.predicted]
    actual = losses(run)
    assert [t for t, _ in ex.predicted] == [t for t, _ in run.loss_history]
    np.testing.assert_allclose(predicted, actual, rtol=1e-6)
    assert ex.final_predicted == pytest.approx(run.final_loss, rel=1e-6)


@pytest.mark.parametrize(("options", "x"), PROBLEMS)
def test_two_over_lambda_max_is_the_boundary(options, x) -> None:
    stable = 2 / hessian_eigs(x, options.get("degree", 3), options.get("basis", "monomial"))[-1]
    below = gradfit.run(
        preset_config(seed=2, backend="numpy", lr=0.9 * stable, **options), reference=True
    )
    assert below.final_loss < below.loss_history[0][1]
    assert below.final_loss < 1.5 * below.optimum.loss
    with pytest.raises(DivergenceError):
        gradfit.run(preset_config(seed=2, backend="numpy", lr=1.1 * stable, **options))


def article_losses(init: np.ndarray, lr: float, steps: int) -> np.ndarray:
    """The article's NumPy loop: the loss before each update."""
    x = np.linspace(-math.pi, math.pi, 2000)
    y = np.sin(x)
    a, b, c, d = init
    out = []
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            y_pred = a + b * x + c * x**2 + d * x**3
            out.append(np.square(y_pred - y).sum())
            g = 2.0 * (y_pred - y)
            a, b, c, d = (
                a - lr * g.sum(),
                b - lr * (g * x).sum(),
                c - lr * (g * x**2).sum(),
                d - lr * (g * x**3).sum(),
            )
    return np.array(out)


@pytest.mark.parametrize(
    ("backend", "log_every", "lr"), [("numpy", 100, 1e-5), ("numpy", 7, 4e-6), ("torch", 500, 1e-5)]
)
def test_divergence_is_caught_on_the_step_it_happens(backend, log_every, lr) -> None:
    init = np.array([0.3, -0.7, 0.1, 0.05])
    losses = article_losses(init, lr, 400)
    x = np.linspace(-math.pi, math.pi, 2000)
    bound = DIVERGENCE_FACTOR * max(losses[0], float(np.sum(np.sin(x) ** 2)))
    expected = int(np.argmax(~np.isfinite(losses) | (losses > bound)))
    assert 0 < expected < 400
    config = preset_config(
        backend=backend, dtype="float64", lr=lr, init=tuple(init), log_every=log_every, steps=2000
    )
    with pytest.raises(DivergenceError) as info:
        gradfit.run(config)
    assert info.value.step == expected
    assert "largest stable learning rate here is 3.558e-06" in str(info.value)


def test_divergence_from_the_cli_exits_1_with_one_line(capsys) -> None:
    proc = run_cli(capsys, "fit", "--lr", "1e-5", "--init", "0.3,-0.7,0.1,0.05", "--quiet")
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.startswith("gradfit: error: diverged at step ")
    assert "largest stable learning rate here is 3.558e-06" in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_no_guard_lets_a_diverging_run_finish(capsys) -> None:
    code = main(
        ["fit", "--backend", "numpy", "--lr", "1e-5", "--steps", "300", "--no-guard", "--quiet"]
    )
    assert code == 0
    numbers = [float(t.split()[0]) for t in capsys.readouterr().out[12:].split(" + ")]
    assert all(not math.isfinite(v) or abs(v) > 1e100 for v in numbers)


def test_lr_auto_beats_the_articles_rate() -> None:
    """Within 1e-6 of the optimum's loss sooner than lr 1e-6 reaches the article's final loss."""
    common = dict(backend="numpy", seed=0, log_every=1, steps=2000)
    article = gradfit.run(preset_config(**common))
    auto = gradfit.run(preset_config(lr="auto", **common))
    target = article.loss_history[-1][1]
    article_steps = next(t for t, v in article.loss_history if v <= target)
    optimum = auto.optimum.loss
    auto_steps = next(t for t, v in auto.loss_history if v - optimum <= 1e-6 * optimum)
    # auto is the rate with the lowest loss at the budget: at least as low as the best
    # constant rate's, 2 / (lambda_min + lambda_max)
    best = best_lr(np.linspace(-np.pi, np.pi, 2000), 3)
    classic = gradfit.run(preset_config(lr=best, **common))
    assert auto.lr_auto is not None and auto.final_loss <= classic.final_loss * (1 + 1e-12)
    assert auto_steps < article_steps == 1999
    print(f"--lr auto: {auto_steps} steps to 1e-6 of the optimum; article: {article_steps}")


def test_lr_auto_with_momentum_sets_polyaks_pair() -> None:
    r = gradfit.run(
        preset_config(
            backend="numpy", seed=0, optimizer="momentum", lr="auto", steps=300, log_every=300
        )
    )
    eigs = hessian_eigs(np.linspace(-np.pi, np.pi, 2000), 3)
    s_max, s_min = np.sqrt(eigs[-1]), np.sqrt(eigs[0])
    assert r.config.lr == pytest.approx(4 / (s_max + s_min) ** 2, rel=1e-9)
    assert r.optimizer["momentum"] == pytest.approx(((s_max - s_min) / (s_max + s_min)) ** 2)
    assert r.final_loss == pytest.approx(r.optimum.loss, rel=1e-6)


def test_lr_auto_is_refused_for_adam(capsys) -> None:
    assert main(["fit", "--optimizer", "adam", "--lr", "auto"]) == 2
    assert "--lr auto is defined for sgd" in capsys.readouterr().err


def test_explain_cli_text_and_json(capsys) -> None:
    assert main(["explain", "--lr", "1e-5"]) == 0
    text = capsys.readouterr().out
    assert "largest stable lr  2 / lambda_max               = 3.558e-06" in text
    assert "is 2.81 x the stable limit: UNSTABLE" in text
    assert "dL/dc3 = sum 2 (y_pred - y) * x^3   (the article's grad_d)" in text
    assert main(["explain", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "gradfit.understand.explain/1"
    assert doc["hessian"]["condition_number"] == pytest.approx(325.396, rel=1e-5)
    assert [g["parameter"] for g in doc["gradients"]] == ["c0", "c1", "c2", "c3"]


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


def test_fit_plot_is_a_valid_png_of_sensible_size(capsys, tmp_path: Path) -> None:
    dest = tmp_path / "fit.png"
    proc = run_cli(capsys, "fit", "--backend", "numpy", "--quiet", "--plot", str(dest))
    assert proc.returncode == 0, proc.stderr
    width, height = png_size(dest)
    assert 800 <= width <= 2000 and 300 <= height <= 1200
    assert not list(tmp_path.glob(".*"))


def test_compare_plot_is_written(tmp_path: Path) -> None:
    dest = tmp_path / "cmp.png"
    assert main(["compare", "--steps", "200", "--plot", str(dest), "--methods", "manual"]) == 0
    assert png_size(dest)[0] >= 800


def test_plot_data_is_the_data_the_fit_and_the_losses() -> None:
    x = np.linspace(0, 3, 5000)
    y = np.cos(x)
    r = gradfit.fit(x, y, degree=2, lr=1e-5, steps=300, log_every=50, seed=1)
    data = fit_plot_data(r)
    assert data.x.size == 2000 and data.x[0] == 0 and data.x[-1] == 3  # thinned evenly
    np.testing.assert_array_equal(data.y, np.cos(data.x))
    np.testing.assert_allclose(data.curves[0].y_fit, r.predict(data.x_fit))
    assert data.curves[0].steps.tolist() == [49, 99, 149, 199, 249, 299]
    assert data.curves[0].losses.tolist() == losses(r)
    assert data.optimum_loss == gradfit.closed_form(x, y, 2).loss


def test_plot_needs_a_png_name(capsys) -> None:
    assert main(["fit", "--plot", "fit.jpg", "--steps", "1"]) == 2
    assert "ending in .png" in capsys.readouterr().err


def test_progress_only_on_a_terminal() -> None:
    class Tty(StringIO):
        def isatty(self) -> bool:
            return True

    assert progress_enabled(Tty()) and not progress_enabled(Tty(), quiet=True)
    assert not progress_enabled(StringIO())


def test_no_progress_output_in_a_pipe() -> None:
    proc = run_gradfit("fit", "--backend", "numpy", "--seed", "1")
    lines = proc.stdout.splitlines()
    assert lines[20].startswith("Result: ") and lines[21].startswith("  c0 = ")
    assert "\r" not in proc.stdout and "\x1b" not in proc.stdout
    assert proc.stderr == ""


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")
def test_progress_bar_appears_on_a_terminal() -> None:
    """The positive control: with stdout on a pseudo-terminal the bar is drawn."""
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gradfit",
            "fit",
            "--backend",
            "numpy",
            "--steps",
            "20000",
            "--log-every",
            "5000",
        ],
        stdout=follower,
        stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "100"},
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    out = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0
    assert "4999 " in out and "Result: y = " in out
    assert "fitting" in out and "steps/s" in out


def test_markdown_report_summarises_the_run(tmp_path: Path) -> None:
    report, figure, doc_path = (
        tmp_path / "run.md",
        tmp_path / "fig" / "fit.png",
        tmp_path / "r.json",
    )
    figure.parent.mkdir()
    code = main(
        [
            "fit",
            "--backend",
            "numpy",
            "--seed",
            "3",
            "--quiet",
            "--plot",
            str(figure),
            "--report",
            str(report),
            "--json",
            str(doc_path),
        ]
    )
    text = report.read_text()
    doc = json.loads(doc_path.read_text())
    assert code == 0
    assert f"**Result:** `{doc['formula']}`" in text
    assert f"| end | {doc['final_loss']:.8g} |" in text
    assert f"| closed-form optimum | {doc['optimum']['loss']:.8g} |" in text
    assert "seed 3" in text and "](fig/fit.png)" in text
