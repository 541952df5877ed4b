"""--optimizer lm and gauss-newton through the whole run: the model's Jacobian (symbolic or
torch's), the loop that stops when converged, and the answers NIST certifies."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import cli, run_cli

import gradfit

REPO = Path(__file__).resolve().parents[1]
MISRA1A = "b1*(1 - exp(-b2*x))"
# NIST StRD Misra1a: certified values (11 significant digits) and residual sum of squares.
CERTIFIED = np.array([2.3894212918e02, 5.5015643181e-04])
CERTIFIED_RSS = 1.2455138894e-01


def _misra1a() -> tuple[np.ndarray, np.ndarray]:
    data = np.loadtxt(REPO / "docs" / "misra1a.csv", delimiter=",", skiprows=1)
    return data[:, 0], data[:, 1]


def _digits(found: np.ndarray, certified: np.ndarray) -> float:
    """Correct significant digits (the log relative error), the worst parameter's."""
    err = np.abs(found - certified) / np.abs(certified)
    return float(np.min(-np.log10(np.maximum(err, 1e-16))))


@pytest.mark.parametrize(
    "backend, method", [("numpy", "manual"), ("torch", "manual"), ("torch", "autograd")]
)
@pytest.mark.parametrize("start", [(500.0, 1e-4), (250.0, 5e-4)])  # NIST's Start I and II
def test_lm_reaches_nist_certified_values(backend: str, method: str, start: tuple) -> None:
    if backend == "torch":
        pytest.importorskip("torch")
    x, y = _misra1a()
    init = {"b1": start[0], "b2": start[1]}
    r = gradfit.fit(
        x, y, model=MISRA1A, init=init, optimizer="lm", backend=backend, method=method,
        dtype="float64", steps=500,
    )  # fmt: skip
    assert _digits(r.params, CERTIFIED) >= 9
    assert abs(r.final_loss - CERTIFIED_RSS) <= 1e-9 * CERTIFIED_RSS
    assert r.stop_reason is not None and r.stop_reason.startswith("converged")
    assert r.steps_done < 500  # stopped when converged, not at --steps


def test_gauss_newton_from_near_the_solution_converges_and_from_far_may_not() -> None:
    x, y = _misra1a()
    near = gradfit.fit(x, y, model=MISRA1A, init={"b1": 250, "b2": 5e-4}, optimizer="gauss-newton")
    assert _digits(near.params, CERTIFIED) >= 9


def test_lm_on_a_polynomial_is_the_least_squares_solution() -> None:
    x = np.linspace(-1, 1, 300)
    y = np.cos(2 * x)
    r = gradfit.fit(x, y, degree=4, optimizer="lm", init=[0.0] * 5, method="manual")
    np.testing.assert_allclose(r.coef, np.polynomial.polynomial.polyfit(x, y, 4), atol=1e-10)
    assert r.steps_done is not None and r.steps_done <= 5  # a linear problem: one real step


def test_cli_prints_why_it_stopped(capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "--model",
        MISRA1A,
        "--init",
        "b1=500,b2=1e-4",
        "--data",
        "docs/misra1a.csv",
        "--backend",
        "numpy",
    ]
    code, out, err = cli(capsys, "fit", *args, "--optimizer", "lm", "--json", "-")
    assert code == 0, err
    doc = json.loads(out[out.index("{") :])
    assert doc["stop"]["reason"].startswith("converged")
    params = doc["params"]
    values = list(params.values()) if isinstance(params, dict) else params
    assert _digits(np.array(values), CERTIFIED) >= 9
    code, out, _ = cli(capsys, "fit", *args, "--optimizer", "lm")
    assert code == 0
    assert any(line.startswith("stopped after ") for line in out.splitlines())


@pytest.mark.parametrize(
    "args, words",
    [
        (["--method", "gram"], "takes its steps from the model's Jacobian"),
        (["--batch-size", "10"], "--batch-size does not apply"),
        (["--checkpoint", "c.ckpt"], "--checkpoint is not supported"),
        (["--loss", "mean", "--method", "nn", "--backend", "torch"], "Jacobian"),
    ],
)
def test_refused_combinations(capsys: pytest.CaptureFixture[str], args: list[str], words: str):
    proc = run_cli(capsys, "fit", "--optimizer", "lm", *args)
    assert proc.returncode == 2
    assert words in proc.stderr.strip().splitlines()[-1]
