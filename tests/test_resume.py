"""Resume is exact for every method x optimizer: N steps with a checkpoint, then a resume to 2N,
logs the same losses and ends at the same coefficients, bit for bit, as 2N steps in one go.

Small problems and few steps keep it fast; the checkpoint still holds every kind of optimizer
state (momentum buffers, RMSprop's and Adam's moments and step count, L-BFGS's history).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import gradfit
from gradfit import FitConfig
from gradfit.training.checkpoint import load_checkpoint

LR = {"sgd": 1e-5, "momentum": 1e-5, "nesterov": 1e-5, "rmsprop": 1e-3, "adam": 1e-2, "lbfgs": 1.0}
ARRAY_OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam")
STEPS = 20  # the checkpoint's; the runs go to twice that

CASES = [
    *[("numpy", method, opt) for method in ("manual", "gram") for opt in ARRAY_OPTIMIZERS],
    *[
        ("torch", method, opt)
        for method in ("manual", "autograd", "nn", "module", "gram")
        for opt in ARRAY_OPTIMIZERS
    ],
    ("torch", "manual", "lbfgs"),
    ("torch", "autograd", "lbfgs"),
]


def _config(backend: str, method: str, optimizer: str, **more: object) -> FitConfig:
    dtype = "float64" if optimizer == "lbfgs" else None  # float32 L-BFGS stalls in a few steps
    return FitConfig(
        backend=backend,
        dtype=dtype,
        method=method,
        optimizer=optimizer,
        lr=LR[optimizer],
        points=200,
        steps=2 * STEPS,
        log_every=1,
        seed=5,
        **more,
    )


def _same_run(a: gradfit.FitResult, b: gradfit.FitResult) -> None:
    assert a.loss_history == b.loss_history  # every logged loss, bit for bit
    assert a.params.tobytes() == b.params.tobytes()
    assert a.final_loss == b.final_loss


@pytest.mark.parametrize(
    ("backend", "method", "optimizer"), CASES, ids=["-".join(c) for c in CASES]
)
def test_resume_equals_the_uninterrupted_run(
    tmp_path: Path, backend: str, method: str, optimizer: str
) -> None:
    config = _config(backend, method, optimizer)
    whole = gradfit.run(config, reference=False)
    assert whole.method == method and len(whole.loss_history) == 2 * STEPS

    ckpt = str(tmp_path / "run.ckpt")
    half = gradfit.run(replace(config, steps=STEPS, checkpoint=ckpt), reference=False)
    assert half.loss_history == whole.loss_history[:STEPS]
    assert load_checkpoint(ckpt).step == STEPS

    _same_run(gradfit.run(replace(config, resume=ckpt), reference=False), whole)
    assert whole.loss_history[-1][1] < whole.loss_history[0][1]  # it optimised


@pytest.mark.parametrize(
    ("optimizer", "lr"), [("adam", "0.01"), ("rmsprop", "1e-3"), ("nesterov", "1e-7")]
)
def test_a_checkpoint_resumes_twice_and_again_from_the_same_file(
    tmp_path: Path, optimizer: str, lr: str
) -> None:
    """The command line of the issue, in-process: gram (picked by ``--method auto`` for a
    float64 fit of 10^4+ points) resumed, and resumed again from the file it rewrote."""
    import contextlib
    import io
    import json

    from gradfit.cli import main

    ckpt = str(tmp_path / "c.ckpt")
    common = ["fit", "--backend", "numpy", "--points", "20000", "--optimizer", optimizer]
    common += ["--lr", lr, "--seed", "1", "--log-every", "10", "--json"]

    def main_json(*args: str) -> dict:
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            assert main([*common, *args]) == 0
        return json.loads(buffer.getvalue())

    whole = main_json("--steps", "90")
    assert whole["method"] == "gram"
    main_json("--steps", "30", "--checkpoint", ckpt)
    main_json("--steps", "60", "--checkpoint", ckpt, "--resume", ckpt)
    again = main_json("--steps", "90", "--resume", ckpt)
    assert again["loss_history"] == whole["loss_history"]
    assert again["params"] == whole["params"]


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_resume_of_shuffled_mini_batches(tmp_path: Path, backend: str) -> None:
    """Mini-batches: the epoch's order and the shuffling RNG go into the checkpoint too; a
    resume that starts mid-epoch continues it."""
    config = _config(backend, "manual", "adam", batch_size=30, shuffle=True)
    whole = gradfit.run(config, reference=False)
    ckpt = str(tmp_path / "c.ckpt")
    gradfit.run(replace(config, steps=STEPS + 3, checkpoint=ckpt), reference=False)
    _same_run(gradfit.run(replace(config, resume=ckpt), reference=False), whole)


def test_resume_after_a_divergence_guard_replay_keeps_the_state(tmp_path: Path) -> None:
    """The guard's snapshots share the optimizer's state record (no step changes it in place):
    a run that keeps snapshotting and a checkpointed, resumed one agree with a guardless run."""
    config = _config("numpy", "manual", "adam", guard=False)
    plain = gradfit.run(config, reference=False)
    guarded = gradfit.run(replace(config, guard=True), reference=False)
    _same_run(guarded, plain)
    ckpt = str(tmp_path / "c.ckpt")
    gradfit.run(replace(config, steps=7, checkpoint=ckpt, checkpoint_every=3), reference=False)
    _same_run(gradfit.run(replace(config, resume=ckpt), reference=False), plain)
    state = load_checkpoint(ckpt).state[1]
    assert sorted(state) == ["count", "m", "v"] and state["count"] == 7
    assert isinstance(state["m"], np.ndarray)
