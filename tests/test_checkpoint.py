"""Checkpoints and resume: an interrupted and resumed run ends with the uninterrupted run's
numbers, bit for bit; a checkpoint is written atomically; Ctrl-C stops at a step boundary."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, run_cli

import gradfit
from gradfit import FitConfig
from gradfit.errors import FitInterrupted, UsageError
from gradfit.outputs import WriteError
from gradfit.training.checkpoint import Checkpoint, load_checkpoint, save_checkpoint


def _interrupt_at(step: int):
    """An on_log that sends this process SIGINT (a real Ctrl-C) when ``step`` is logged."""

    def on_log(t: int, loss: float) -> None:
        if t == step:
            os.kill(os.getpid(), signal.SIGINT)

    return on_log


CASES = [
    dict(backend="numpy", method="manual", optimizer="sgd"),
    dict(backend="numpy", method="manual", optimizer="adam", lr=1e-2),
    dict(backend="torch", method="manual", optimizer="momentum"),
    dict(backend="torch", method="autograd", optimizer="adam", lr=1e-2),
    dict(backend="torch", method="nn", optimizer="rmsprop", lr=1e-3),
    dict(backend="torch", method="autograd", model="dynamic", optimizer="momentum"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(str(v) for v in c.values()))
def test_interrupt_at_700_then_resume_equals_the_uninterrupted_run(tmp_path: Path, case) -> None:
    config = FitConfig(dtype="float64", seed=3, steps=1000, **case)
    whole = gradfit.run(config, reference=False)

    ckpt = tmp_path / "run.ckpt"
    with pytest.raises(FitInterrupted) as info:
        gradfit.run(replace(config, checkpoint=str(ckpt)), on_log=_interrupt_at(699))
    assert info.value.step == 700 and info.value.checkpoint == str(ckpt)
    partial = info.value.result
    assert partial.loss_history == whole.loss_history[:7]
    assert load_checkpoint(ckpt).step == 700

    resumed = gradfit.run(replace(config, resume=str(ckpt)), reference=False)
    assert resumed.loss_history == whole.loss_history  # bit for bit, every logged loss
    assert resumed.params.tobytes() == whole.params.tobytes()
    assert resumed.final_loss == whole.final_loss


def test_periodic_checkpoints_and_resume_from_one(tmp_path: Path) -> None:
    ckpt = tmp_path / "c.npz"
    config = FitConfig(backend="numpy", seed=1, steps=1000, optimizer="nesterov")
    whole = gradfit.run(replace(config, checkpoint=str(ckpt), checkpoint_every=300))
    saved = load_checkpoint(ckpt)
    assert saved.step == 1000  # the last write is the end of the run
    assert np.array_equal(saved.state[0], whole.params)
    # A run stopped at 600 steps (as if killed) continues to the same end.
    short = gradfit.run(replace(config, steps=600, checkpoint=str(ckpt)))
    assert load_checkpoint(ckpt).step == 600 and short.loss_history == whole.loss_history[:6]
    again = gradfit.run(replace(config, resume=str(ckpt)))
    assert again.params.tobytes() == whole.params.tobytes()
    assert again.loss_history == whole.loss_history


def test_resume_refuses_a_different_run_and_bad_files(tmp_path: Path) -> None:
    ckpt = tmp_path / "c.npz"
    gradfit.run(FitConfig(backend="numpy", seed=1, steps=100, checkpoint=str(ckpt)))
    with pytest.raises(UsageError, match="--lr"):
        gradfit.run(FitConfig(backend="numpy", seed=1, steps=200, lr=1e-7, resume=str(ckpt)))
    with pytest.raises(UsageError, match="past --steps"):
        gradfit.run(FitConfig(backend="numpy", seed=1, steps=50, resume=str(ckpt)))
    bad = tmp_path / "bad.npz"
    bad.write_bytes(ckpt.read_bytes()[:100])
    with pytest.raises(UsageError, match="truncated"):
        load_checkpoint(bad)
    with pytest.raises(UsageError, match="no such file"):
        load_checkpoint(tmp_path / "missing.npz")
    with pytest.raises(UsageError, match="needs --checkpoint"):
        FitConfig(checkpoint_every=10).validated()


def test_a_failed_write_leaves_the_previous_checkpoint(tmp_path: Path, monkeypatch) -> None:
    ckpt = tmp_path / "c.npz"
    good = Checkpoint(5, (np.arange(4.0), {}, None), [(4, 1.0)], {}, 1, "manual", "numpy", "f8")
    save_checkpoint(ckpt, good)

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    import gradfit.training.checkpoint as mod

    monkeypatch.setattr(mod.os, "fsync", crash)
    with pytest.raises(WriteError, match="disk full; the previous file is unchanged"):
        save_checkpoint(ckpt, replace(good, step=6))
    assert load_checkpoint(ckpt).step == 5
    assert [p.name for p in tmp_path.iterdir()] == ["c.npz"]  # no temporary file left


def test_kill_9_while_writing_leaves_a_loadable_checkpoint(tmp_path: Path) -> None:
    """A run that writes a checkpoint after every step is killed with SIGKILL several times
    (most of its time is spent writing); every time, the file there loads."""
    ckpt = tmp_path / "c.npz"
    args = ["fit", "--backend", "numpy", "--seed", "2", "--steps", "10000000", "--quiet"]
    args += ["--checkpoint", str(ckpt), "--checkpoint-every", "1"]
    steps = []
    for delay in (0.05, 0.13, 0.21):
        proc = subprocess.Popen([sys.executable, "-m", "gradfit", *args], cwd=REPO)
        try:
            deadline = time.monotonic() + 60
            while not ckpt.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait(timeout=30)
        steps.append(load_checkpoint(ckpt).step)  # loads: never half-written
        ckpt.unlink()
    assert all(s >= 1 for s in steps)


def test_ctrl_c_writes_the_checkpoint_prints_the_partial_result_and_exits_130(
    capsys,
    tmp_path: Path,
) -> None:
    ckpt = tmp_path / "c.npz"
    common = ["--backend", "numpy", "--seed", "4", "--steps", "3000000", "--log-every", "1000"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "gradfit", "fit", *common, "--checkpoint", str(ckpt)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().startswith("999 ")  # running
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Result: y = " in out
    done = load_checkpoint(ckpt).step
    assert f"interrupted after {done} steps" in err and "--resume" in err
    # Resuming with a shorter --steps than the interrupted run's own is refused only when
    # the checkpoint is past it; here it continues to a short end and agrees with a plain run.
    end = done + 7
    resumed = run_cli(capsys, "fit", "--resume", str(ckpt), "--steps", str(end), "--json")
    plain = run_cli(
        capsys, "fit", *common[:-4], "--steps", str(end), "--log-every", "1000", "--json"
    )
    assert resumed.returncode == 0, resumed.stderr
    import json

    a, b = json.loads(resumed.stdout), json.loads(plain.stdout)
    assert a["params"] == b["params"] and a["loss_history"] == b["loss_history"]


def test_cli_resume_keeps_the_checkpoints_options_and_names_a_conflict(
    tmp_path: Path, capsys
) -> None:
    from gradfit.cli import main

    ckpt = str(tmp_path / "c.ckpt")
    same = ["fit", "--backend", "numpy", "--seed", "6", "--quiet"]
    same += ["--checkpoint", ckpt, "--resume", ckpt]  # one command line for start and restarts
    assert main([*same, "--steps", "300"]) == 0  # FILE missing: a first start
    assert load_checkpoint(ckpt).step == 300
    assert main([*same, "--steps", "600"]) == 0  # FILE there: continues from 300
    first = capsys.readouterr().out.splitlines()[-1]
    assert main(["fit", "--backend", "numpy", "--seed", "6", "--quiet", "--steps", "600"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == first
    assert main(["fit", "--resume", ckpt, "--degree", "4"]) == 2
    assert "--degree 3" in capsys.readouterr().err
    assert main(["fit", "--resume", ckpt, "--preset", "nn"]) == 2


def test_records_are_stored_by_field_and_read_back_as_dicts(tmp_path: Path) -> None:
    """An optimizer's state record (NamedTuple) or a dataclass goes in field by field, with no
    class named to build on load: it comes back as a dict of its fields."""
    from dataclasses import dataclass

    from gradfit.optim import AdamState, EmptyState

    @dataclass
    class Point:
        x: float
        label: str

    m, v = np.arange(3.0), np.full(3, 0.5, dtype=np.float32)
    state = (np.ones(4), AdamState(7, m, v), EmptyState(), Point(1.5, "p"), (1, [2, None]))
    ckpt = tmp_path / "c.ckpt"
    save_checkpoint(ckpt, Checkpoint(7, state, [(6, 2.0)], {}, 1, "manual", "numpy", "float64"))
    w, adam, empty, point, rest = load_checkpoint(ckpt).state
    assert np.array_equal(w, np.ones(4))
    assert sorted(adam) == ["count", "m", "v"] and adam["count"] == 7
    assert np.array_equal(adam["m"], m) and adam["v"].dtype == np.float32
    assert empty == {} and point == {"x": 1.5, "label": "p"} and rest == (1, [2, None])


def test_a_checkpoint_of_another_gradfit_version_is_refused_in_one_line(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    """Schema 1 stored the optimizer state as a dict with its array module: refused, with what
    to do, as one error line (exit 2), never a traceback."""
    import gradfit.training.checkpoint as mod
    from gradfit.cli import main

    ckpt = tmp_path / "old.ckpt"
    monkeypatch.setattr(mod, "SCHEMA", "gradfit.checkpoint/1")
    save_checkpoint(ckpt, Checkpoint(5, (np.ones(4), {}, None), [], {}, 1, "gram", "numpy", "f8"))
    monkeypatch.undo()
    with pytest.raises(UsageError, match=r"another version of gradfit .*without --resume"):
        load_checkpoint(ckpt)
    assert main(["fit", "--resume", str(ckpt)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gradfit: error: cannot resume from") and err.count("\n") == 1
