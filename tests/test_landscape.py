"""``gradfit landscape``: the loss map over two parameters and the optimizers' paths across it.

Oracles: the loss summed directly with NumPy at grid points, the closed-form least-squares
optimum (numpy.polynomial), separate gradfit runs from the same start, and the condition
numbers of the 2 x 2 blocks of X^T X computed here.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from conftest import cli, heavy_imports

import gradfit
from gradfit import FitConfig
from gradfit.understand.landscape import format_summary, landscape

pytest.importorskip("matplotlib")

X = np.linspace(-np.pi, np.pi, 2000)
Y = np.sin(X)
DOCS = Path(__file__).resolve().parent.parent / "docs"
CONFIG = FitConfig(backend="numpy", seed=1, steps=300)


@pytest.fixture(scope="module")
def article() -> object:
    return landscape(CONFIG, "sgd,momentum,lm", grid=12)


def sse(w: np.ndarray) -> float:
    return float(np.sum((np.polynomial.polynomial.polyval(X, w) - Y) ** 2))


def test_grid_values_are_the_loss_at_those_parameters(article) -> None:
    land = article
    i, j = land.index
    for row, col in [(0, 0), (3, 7), (11, 11), (6, 2)]:
        w = land.base.copy()
        w[i], w[j] = land.a[col], land.b[row]
        assert land.loss[row, col] == pytest.approx(sse(w), rel=1e-12)
    # and gradfit's own logged loss at one of them: step 0 is logged before any update
    w = land.base.copy()
    w[i], w[j] = land.a[5], land.b[4]
    first = gradfit.fit(X, Y, init=w, steps=1, log_every=1).loss_history[0][1]
    assert land.loss[4, 5] == pytest.approx(first, rel=1e-12)


def test_paths_share_the_start_and_lm_ends_at_the_optimum(article) -> None:
    land = article
    start = gradfit.run(FitConfig(backend="numpy", seed=1, steps=1)).init_params
    np.testing.assert_array_equal(land.start, start)
    for path in land.paths:
        np.testing.assert_array_equal(path.params[0], start)
    lm = next(p for p in land.paths if p.optimizer == "lm")
    exact = np.polynomial.polynomial.polyfit(X, Y, 3)
    np.testing.assert_allclose(lm.params[-1], exact, atol=1e-9)
    np.testing.assert_allclose(land.base, exact, atol=1e-9)
    assert land.optimum_loss == pytest.approx(sse(exact), rel=1e-9)
    assert land.reached(lm) and not land.reached(land.paths[0])  # sgd: 300 steps are too few


def test_a_path_is_the_run_it_says(article) -> None:
    sgd = next(p for p in article.paths if p.optimizer == "sgd")
    run = gradfit.fit(X, Y, init=article.start, lr=1e-6, steps=300)
    np.testing.assert_array_equal(sgd.params[-1], run.params)
    assert sgd.final_loss == run.final_loss and sgd.steps == 300 and sgd.lr == 1e-6
    assert len(sgd.params) == 302  # the start, every step's, the end
    short = gradfit.fit(X, Y, init=article.start, lr=1e-6, steps=120)
    np.testing.assert_array_equal(sgd.params[121], short.params)  # recorded before step 120


def test_default_pair_is_the_worst_conditioned(article) -> None:
    V = np.polynomial.polynomial.polyvander(X, 3)
    H = V.T @ V

    def cond(pair: tuple[int, int]) -> float:
        eig = np.linalg.eigvalsh(H[np.ix_(pair, pair)])
        return eig[-1] / eig[0]

    worst = max(combinations(range(4), 2), key=cond)
    assert article.index == worst == (1, 3) and article.names == ("c1", "c3")


def test_summary_says_where_each_ended(article) -> None:
    text = format_summary(article)
    assert "loss over c1 and c3" in text and "12 x 12 grid" in text and "(seed 1)" in text
    rows = {line.split()[0]: line for line in text.splitlines()[5:]}
    assert rows["lm"].endswith("yes")
    for path in article.paths[:2]:  # 300 steps: sgd and momentum are not there yet
        excess = (path.final_loss - article.optimum_loss) / article.optimum_loss
        assert rows[path.optimizer].endswith(f"no: {100 * excess:.3g}% above")
        assert f"{path.final_loss:.8g}" in rows[path.optimizer]


def test_cli_writes_a_png_and_prints_the_summary(capsys, tmp_path: Path) -> None:
    out = tmp_path / "land.png"
    code, text, err = cli(
        capsys, "landscape", "--seed", "1", "--steps", "200", "--params", "c0,2",
        "--grid", "20", "--box", "-0.5", "0.5", "-0.4", "0.4", "-o", str(out),
    )  # fmt: skip
    assert code == 0, err
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size < 150_000
    assert "loss over c0 and c2" in text and "c0 in [-0.5, 0.5], c2 in [-0.4, 0.4], 20 x 20" in text
    assert text.endswith(f"Wrote      {out}\n")


def test_formula_model_landscape(capsys, tmp_path: Path) -> None:
    out = tmp_path / "misra.png"
    code, text, err = cli(
        capsys, "landscape", "--model", "b1*(1-exp(-b2*x))", "--init", "b1=500,b2=1e-4",
        "--data", str(DOCS / "misra1a.csv"), "--optimizers", "sgd,lm", "--steps", "200",
        "--grid", "15", "-o", str(out),
    )  # fmt: skip
    assert code == 0, err
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert "loss over b1 and b2" in text and "seed" not in text  # the start is --init's
    lm = next(line for line in text.splitlines() if line.startswith("lm "))
    assert lm.endswith("yes")
    # NIST's certified values for Misra1a
    assert "b1 = 238.942, b2 = 0.000550156" in text


@pytest.mark.parametrize(
    "args, message",
    [
        (["--params", "c1,c9"], "--params: unknown parameter 'c9'; this model's are c0, c1"),
        (["--params", "c1"], "--params takes two parameters"),
        (["--params", "c1,1"], "two different parameters"),
        (["--optimizers", "sgd,fast"], "unknown optimizer 'fast'"),
        (["--optimizers", "adam:-1"], "the rate must be positive"),
        (["--grid", "1"], "at least 2"),
        (["--box", "1", "0", "0", "1"], "LO < HI"),
        (["--lr", "auto", "--optimizers", "adam"], "adam"),
    ],
)
def test_bad_input_is_one_line_and_no_file(capsys, tmp_path: Path, args, message) -> None:
    out = tmp_path / "x.png"
    code, text, err = cli(capsys, "landscape", "--steps", "20", *args, "-o", str(out))
    assert code == 2 and text == ""
    assert err.startswith("gradfit: error: ") and err.count("\n") == 1 and message in err, err
    assert not out.exists()


def test_output_checks(capsys, tmp_path: Path) -> None:
    data = tmp_path / "in.png"  # a CSV file named like a picture
    data.write_text((DOCS / "points.csv").read_text())
    for dest, message in [
        (str(data), "would overwrite the input --data"),
        (str(tmp_path / "x.gif"), "ending in .png"),
        (str(tmp_path / "no" / "x.png"), "does not exist"),
    ]:
        code, _, err = cli(capsys, "landscape", "--data", str(data), "-o", dest)
        assert code == 2 and message in err and err.count("\n") == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png"]
    code, _, err = cli(capsys, "landscape")
    assert code == 2 and "-o/--out" in err


def test_a_diverging_optimizer_is_reported_and_the_others_drawn(capsys, tmp_path: Path) -> None:
    out = tmp_path / "d.png"
    code, text, err = cli(
        capsys, "landscape", "--seed", "1", "--lr", "1e-3", "--optimizers", "sgd,lm",
        "--grid", "10", "-o", str(out),
    )  # fmt: skip
    assert code == 0, err
    sgd = next(line for line in text.splitlines() if line.startswith("sgd "))
    assert "failed: diverged at step" in sgd
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_refused_models(capsys, tmp_path: Path) -> None:
    for args, message in [
        (["--model", "dynamic"], "the dynamic net's loss changes from step to step"),
        (["--degree", "0"], "two parameters or more"),
    ]:
        code, _, err = cli(capsys, "landscape", *args, "-o", str(tmp_path / "x.png"))
        assert code == 2 and message in err and err.count("\n") == 1, err


def test_help_imports_nothing_heavy() -> None:
    rows = heavy_imports(["landscape", "--help"])
    assert rows[-1][1] == [] and "examples:" in rows[-1][2]
