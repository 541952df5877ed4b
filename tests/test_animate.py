"""``gradfit fit --animate``: the parameters recorded at logged steps, and the frames made of them.

Oracles: a shorter run of the same fit (the parameters recorded at step t are where a run of t
steps ends), the loss computed directly at the recorded parameters (it is the loss the loop
logged there), FitResult.predict (the curve at the final parameters), Pillow's count of the
GIF's frames.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import cli

import gradfit
from gradfit.training.record import ParamRecorder
from gradfit.understand.animate import animation_data, curve_at

pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")

X = np.linspace(-np.pi, np.pi, 2000)
Y = np.sin(X)
INIT = [0.1, 0.2, -0.1, 0.05]
DOCS = Path(__file__).resolve().parent.parent / "docs"


def frames(path: Path) -> int:
    with Image.open(path) as im:
        return int(im.n_frames)


def test_recorded_params_are_where_the_logged_loss_was_computed() -> None:
    """At logged step t the loop logs the loss *before* step t's update: the parameters
    recorded there are those after t steps, i.e. where fit(steps=t) ends, and the logged loss
    is the loss at them."""
    rec = ParamRecorder()
    result = gradfit.fit(X, Y, init=INIT, lr=1e-6, steps=400, log_every=100, on_log=rec)
    assert rec.steps == [99, 199, 299, 399]
    assert list(zip(rec.steps, rec.losses, strict=True)) == result.loss_history
    for t, params, loss in zip(rec.steps, rec.params, rec.losses, strict=True):
        shorter = gradfit.fit(X, Y, init=INIT, lr=1e-6, steps=t)
        np.testing.assert_array_equal(params, shorter.params)
        direct = float(np.sum((np.polynomial.polynomial.polyval(X, params) - Y) ** 2))
        assert loss == pytest.approx(direct, rel=1e-12)


def test_recording_changes_nothing_and_the_first_step_is_the_start() -> None:
    plain = gradfit.fit(X, Y, init=INIT, lr=1e-6, steps=50, log_every=1, optimizer="momentum")
    rec = ParamRecorder()
    watched = gradfit.fit(
        X, Y, init=INIT, lr=1e-6, steps=50, log_every=1, optimizer="momentum", on_log=rec
    )
    assert watched.loss_history == plain.loss_history
    np.testing.assert_array_equal(watched.params, plain.params)
    np.testing.assert_array_equal(rec.params[0], INIT)  # step 0's loss: at the start
    assert len(rec.params) == 50


def test_lm_records_the_step_it_stops_at() -> None:
    """Levenberg-Marquardt ends the run itself and the loop logs that step unasked: its
    parameters are recorded too, and the logged loss is the loss at them."""
    rec = ParamRecorder()
    result = gradfit.fit(X, Y, init=INIT, optimizer="lm", steps=500, log_every=100, on_log=rec)
    assert result.steps_done is not None and rec.steps == [result.steps_done - 1]
    direct = float(np.sum((np.polynomial.polynomial.polyval(X, rec.params[-1]) - Y) ** 2))
    assert rec.losses[-1] == pytest.approx(direct, rel=1e-9)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"init": INIT, "lr": 1e-6, "steps": 200},
        {"degree": 5, "scale": True, "lr": "auto", "steps": 200, "seed": 3},
        {"basis": "legendre", "scale": True, "lr": "auto", "steps": 200, "seed": 3},
        {"model": "a*sin(b*x)", "init": {"a": 0.8, "b": 0.9}, "lr": 1e-4, "steps": 200},
    ],
    ids=["monomial", "scaled", "legendre", "formula"],
)
def test_frame_curves_are_the_model_at_the_recorded_params(kwargs: dict) -> None:
    rec = ParamRecorder()
    result = gradfit.fit(X, Y, log_every=50, on_log=rec, **kwargs)
    data = animation_data(result, rec)
    assert data.curves.shape == (4, data.x_fit.size)
    assert list(data.steps) == rec.steps and list(data.losses) == rec.losses
    for k, params in enumerate(rec.params):
        np.testing.assert_array_equal(data.curves[k], curve_at(result, params, data.x_fit))
    # curve_at's oracle: the result's own predict at its final parameters
    np.testing.assert_allclose(
        curve_at(result, result.params, data.x_fit), result.predict(data.x_fit), atol=1e-10
    )


def test_articles_run_animates_to_one_frame_per_logged_step(capsys, tmp_path: Path) -> None:
    gif = tmp_path / "run.gif"
    code, out, err = cli(capsys, "fit", "--seed", "1", "--animate", str(gif))
    assert code == 0, err
    assert out.count("\n99 ") + out.startswith("99 ") == 1 and "Result: y =" in out
    assert gif.read_bytes()[:6] == b"GIF89a"
    assert frames(gif) == 20  # steps 99, 199, ..., 1999
    with Image.open(gif) as im:
        assert im.size == (640, 320)
    assert gif.stat().st_size < 300_000
    assert not list(tmp_path.glob(".*.tmp"))


def test_log_every_sets_the_frames_and_html_holds_them(capsys, tmp_path: Path) -> None:
    gif, html = tmp_path / "a.gif", tmp_path / "a.html"
    args = ["fit", "--backend", "numpy", "--seed", "2", "--steps", "300", "--quiet"]
    assert cli(capsys, *args, "--log-every", "50", "--animate", str(gif))[0] == 0
    assert frames(gif) == 6
    assert cli(capsys, *args, "--log-every", "75", "--animate", str(html))[0] == 0
    text = html.read_text()
    assert "<input" in text and "range" in text  # the slider
    assert text.count("data:image/png;base64") == 4  # steps 74, 149, 224, 299


def test_formula_model_from_a_file(capsys, tmp_path: Path) -> None:
    gif = tmp_path / "m.gif"
    code, _, err = cli(
        capsys, "fit", "--model", "b1*(1-exp(-b2*x))", "--init", "b1=500,b2=1e-4",
        "--data", str(DOCS / "misra1a.csv"), "--optimizer", "lm", "--log-every", "5",
        "-q", "--animate", str(gif),
    )  # fmt: skip
    assert code == 0, err
    assert frames(gif) >= 2


@pytest.mark.parametrize(
    "name, message",
    [
        ("run.avi", "--animate writes a .gif, .mp4 or .html file"),
        ("missing/run.gif", "directory"),
        ("points.csv", "--animate writes a .gif"),
        ("in.gif", "would overwrite the input --data"),
        ("same.gif", "both name"),
    ],
)
def test_bad_destination_is_one_line_and_no_file(
    capsys, tmp_path: Path, name: str, message: str
) -> None:
    data = tmp_path / "in.gif"  # a CSV file, named like an animation
    data.write_text((DOCS / "points.csv").read_text())
    args = ["fit", "--data", str(data), "--backend", "numpy", "-q", "--steps", "10"]
    if name == "same.gif":
        args += ["--json", str(tmp_path / name)]
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = cli(capsys, *args, "--animate", str(tmp_path / name))
    assert code == 2 and out == ""
    assert err.startswith("gradfit: error: ") and err.count("\n") == 1 and message in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_mp4_needs_ffmpeg(capsys, tmp_path: Path) -> None:
    from matplotlib import animation

    mp4 = tmp_path / "run.mp4"
    code, _, err = cli(capsys, "fit", "--backend", "numpy", "-q", "--animate", str(mp4))
    if animation.writers.is_available("ffmpeg"):
        assert code == 0 and mp4.stat().st_size > 0
    else:
        assert code == 2 and "needs ffmpeg" in err and err.count("\n") == 1
        assert not mp4.exists()


def test_a_resumed_run_animates_the_steps_it_runs(capsys, tmp_path: Path) -> None:
    """--checkpoint F --resume F is one file by design, not an output over an input."""
    ckpt, gif = tmp_path / "run.ckpt", tmp_path / "run.gif"
    args = ["fit", "--backend", "numpy", "--seed", "1", "-q", "--checkpoint", str(ckpt)]
    assert cli(capsys, *args, "--steps", "300", "--resume", str(ckpt))[0] == 0
    code, _, err = cli(
        capsys, *args, "--steps", "600", "--resume", str(ckpt), "--animate", str(gif)
    )
    assert code == 0, err
    assert frames(gif) == 3  # steps 399, 499, 599
