"""The divergence guard: a failing run shows nothing past the step that failed, and never
writes a state the guard has not passed over a good checkpoint."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from gradfit.cli import main
from gradfit.training.checkpoint import load_checkpoint


def test_a_diverging_run_prints_no_loss_past_the_failing_step(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # lr 1e-5 is 2.8x the stable rate on the article's problem: it fails at step 4, before the
    # first logged step (99), so not one loss line may be printed - neither nan nor 1e134.
    code = main(["fit", "--backend", "numpy", "--lr", "1e-5", "--steps", "300", "--seed", "1"])
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert err.startswith("gradfit: error: diverged at step 4 ")
    # A slower divergence, first bad at a step past the first logged one: the lines printed
    # are exactly the logged steps before it, each finite.
    code = main(["fit", "--backend", "numpy", "--lr", "3.57e-6", "--steps", "2000", "--seed", "1"])
    out, err = capsys.readouterr()
    assert code == 1
    failed = int(err.split("diverged at step ")[1].split()[0])
    lines = [line.split() for line in out.splitlines()]
    assert lines and all(int(t) < failed and math.isfinite(float(v)) for t, v in lines)
    assert int(lines[-1][0]) > failed - 100  # every logged step before the failure is shown


def test_a_diverging_run_leaves_the_good_checkpoint_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt = tmp_path / "c.ckpt"
    args = ["fit", "--backend", "numpy", "--steps", "200", "--seed", "1", "--quiet"]
    assert main([*args, "--checkpoint", str(ckpt)]) == 0
    good = ckpt.read_bytes()
    # Bad from its first step: nothing is written.
    code = main([*args, "--lr", "1e-2", "--checkpoint", str(ckpt), "--checkpoint-every", "1"])
    assert code == 1
    assert ckpt.read_bytes() == good
    # Bad from step 4 (the bound is passed there): the last state written is one the guard
    # passed, step 3 - not the step-99 state of 1e65 the loop reaches.
    code = main([*args, "--lr", "1e-5", "--checkpoint", str(ckpt), "--checkpoint-every", "1"])
    assert code == 1
    assert load_checkpoint(ckpt).step == 3
    capsys.readouterr()
