"""Mini-batch SGD: batch = N is the full-batch run; shuffled batches are reproducible."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import losses, rel_err, run_cli

import gradfit
from gradfit.config import FitConfig
from gradfit.errors import UsageError

X = np.linspace(-math.pi, math.pi, 2000)
Y = np.sin(X)


@pytest.mark.parametrize(
    ("method", "backend"),
    [("manual", "numpy"), ("manual", "torch"), ("autograd", "torch"), ("nn", "torch")],
)
def test_batch_of_all_points_is_the_full_batch_run(method: str, backend: str) -> None:
    if backend == "torch":
        pytest.importorskip("torch")
    kw = dict(method=method, backend=backend, dtype="float64", lr=1e-6, steps=300, seed=4)
    full = gradfit.fit(X, Y, **kw)
    batched = gradfit.fit(X, Y, batch_size=2000, **kw)
    assert losses(batched) == losses(full)
    np.testing.assert_array_equal(batched.params, full.params)
    shuffled = gradfit.fit(X, Y, batch_size=5000, shuffle=True, **kw)  # B > N: all points
    assert rel_err(losses(shuffled), losses(full)) < 1e-12


def test_shuffled_mini_batches_are_reproducible_and_their_own_algorithm() -> None:
    kw = dict(backend="numpy", lr=1e-5, steps=400, batch_size=64, shuffle=True)
    a = gradfit.fit(X, Y, seed=1, **kw)
    b = gradfit.fit(X, Y, seed=1, **kw)
    c = gradfit.fit(X, Y, seed=2, init=a.init_params, **kw)
    assert losses(a) == losses(b) and np.array_equal(a.params, b.params)
    assert not np.array_equal(a.params, c.params)  # another permutation stream
    ordered = gradfit.fit(X, Y, seed=1, backend="numpy", lr=1e-5, steps=400, batch_size=64)
    assert not np.array_equal(ordered.params, a.params)
    assert a.method == "manual"  # auto: mini-batches need the per-point loop
    assert a.final_loss < 0.9 * a.loss_history[0][1]  # it still descends


def test_mini_batch_cli_and_errors(capsys) -> None:
    proc = run_cli(
        capsys,
        "fit",
        "--backend",
        "numpy",
        "--batch-size",
        "100",
        "--shuffle",
        "--seed",
        "3",
        "--steps",
        "200",
        "--lr",
        "1e-5",
    )
    assert proc.returncode == 0, proc.stderr
    again = run_cli(
        capsys,
        "fit",
        "--backend",
        "numpy",
        "--batch-size",
        "100",
        "--shuffle",
        "--seed",
        "3",
        "--steps",
        "200",
        "--lr",
        "1e-5",
    )
    assert proc.stdout == again.stdout
    bad = run_cli(capsys, "fit", "--optimizer", "lbfgs", "--batch-size", "10")
    assert bad.returncode == 2 and bad.stderr.startswith("gradfit: error:")
    assert "--batch-size" in bad.stderr and len(bad.stderr.splitlines()) == 1
    with pytest.raises(UsageError, match="--shuffle"):
        FitConfig(shuffle=True).validated()
    with pytest.raises(UsageError, match="--batch-size"):
        FitConfig(batch_size=0).validated()
