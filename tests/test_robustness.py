"""Absurd sizes and broken environments get one line and the documented exit, before anything
is allocated or started; no worker outlives its launcher."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gradfit.cli import main

ONE_LINE = [
    (["--range", "-1e308", "1e308"], "too wide: its length overflows"),
    (["--range", "-1e100", "1e100"], "too wide for a degree-3 fit"),
    (["--range", "0", "1e-320"], "too narrow"),
    (["--noise", "1e308"], "--noise must be at most"),
    (["--points", str(10**20)], "--points must be at most 2^53"),
    (["--timeout", "1e20"], "--timeout must be a positive number of seconds up to"),
    (["--workers", str(10**20)], "more processes than this machine holds"),
    (["--points", str(10**12), "--method", "manual"], "GiB in memory, more than this machine"),
]


@pytest.mark.parametrize(("args", "says"), ONE_LINE, ids=[a[0] for a, _ in ONE_LINE])
def test_absurd_options_are_one_line_before_anything_runs(
    args: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fit", "--backend", "numpy", "--steps", "5", *args]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and says in err, err


@pytest.mark.parametrize("command", ["explain", "compare"])
def test_explain_and_compare_refuse_what_memory_cannot_hold(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, "--points", str(10**12)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "GiB in memory" in err


def test_a_wide_range_is_fine_when_x_is_scaled(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["fit", "--backend", "numpy", "--steps", "5", "--seed", "1", "--quiet", "--scale"]
    assert main([*args, "--range", "-1e100", "1e100"]) == 0
    assert capsys.readouterr().out.startswith("Result: y = ")


@pytest.mark.parametrize("variable", ["RANK", "WORLD_SIZE", "LOCAL_RANK"])
def test_a_broken_torchrun_environment_is_one_line(
    variable: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"RANK": "0", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "1"}
    for k, v in (env | {variable: "abc"}).items():
        monkeypatch.setenv(k, v)
    assert main(["fit", "--distributed", "--backend", "numpy", "--steps", "5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{variable}='abc' is not an integer" in err


def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry.name))
    return kids


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal: Linux")
def test_no_worker_outlives_a_launcher_killed_with_sigkill() -> None:
    run = ["--workers", "2", "--backend", "numpy", "--steps", "100000000", "--log-every", "1000"]
    launcher = subprocess.Popen(
        [sys.executable, "-m", "gradfit", "fit", *run, "--seed", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert launcher.stdout.readline().startswith("999 ")  # both workers are running
        workers = _children(launcher.pid)
        assert len(workers) == 2
        launcher.send_signal(signal.SIGKILL)
        launcher.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.05)
        alive = [w for w in workers if _alive(w)]
        assert alive == [], "workers outlived the launcher"
    finally:
        launcher.kill()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


CRAFTED_MODELS = {
    "400-digit coefficient": '{"schema": "gradfit.model/1", "kind": "polynomial", '
    '"basis": "monomial", "coef": [1' + "0" * 400 + "]}",
    "deep nesting": "[" * 100_000 + "]" * 100_000,
    "5000-digit degree": '{"schema": "gradfit.model/1", "kind": "polynomial", '
    '"basis": "monomial", "coef": [1.0], "degree": 1' + "0" * 5000 + "}",
    "window 5": '{"schema": "gradfit.model/1", "kind": "polynomial", "basis": "monomial", '
    '"coef": [1.0, 2.0], "domain": [0, 1], "window": 5, "scaled_coef": [1.0, 2.0]}',
}


@pytest.mark.parametrize("text", list(CRAFTED_MODELS.values()), ids=list(CRAFTED_MODELS))
def test_a_crafted_model_file_is_one_line(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gradfit.saved import SCHEMA

    path = tmp_path / "m.json"
    path.write_text(text.replace("gradfit.model/1", SCHEMA))
    assert main(["predict", str(path), "--x", "0.5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("gradfit: error: ") and len(err) < 300, err


def test_crafted_checkpoints_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import io
    import zipfile

    import numpy as np

    run = ["fit", "--backend", "numpy", "--steps", "20", "--seed", "1", "--quiet"]
    # a plain .npy renamed: an easy real mistake
    np.save(tmp_path / "plain.npy", np.arange(3.0))
    (tmp_path / "plain.ckpt").write_bytes((tmp_path / "plain.npy").read_bytes())
    # a member whose header claims 10^12 elements
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
    )
    with zipfile.ZipFile(tmp_path / "huge.ckpt", "w") as z:
        z.writestr("meta.npy", header.getvalue() + b"\0" * 64)
    # a valid checkpoint whose parameters have the wrong shape
    good = tmp_path / "good.ckpt"
    assert main([*run, "--checkpoint", str(good)]) == 0
    capsys.readouterr()
    from dataclasses import replace

    from gradfit.training.checkpoint import load_checkpoint, save_checkpoint

    saved = load_checkpoint(good)
    _, *rest = saved.state
    save_checkpoint(tmp_path / "shape.ckpt", replace(saved, state=(np.arange(7.0), *rest)))
    for name in ("plain.ckpt", "huge.ckpt", "shape.ckpt"):
        assert main([*run, "--steps", "40", "--resume", str(tmp_path / name)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "cannot resume from" in err, err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and SIGSTOP: Linux")
def test_a_hung_worker_fails_the_run_within_the_timeout() -> None:
    timeout = 2.0
    run = ["--workers", "2", "--backend", "numpy", "--steps", "100000000", "--log-every", "1000"]
    launcher = subprocess.Popen(
        [sys.executable, "-m", "gradfit", "fit", *run, "--timeout", str(timeout)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert launcher.stdout.readline().startswith("999 ")
        workers = _children(launcher.pid)
        start = time.monotonic()
        os.kill(max(workers), signal.SIGSTOP)  # rank 1 stops answering
        _, err = launcher.communicate(timeout=timeout + 30)
        elapsed = time.monotonic() - start
    finally:
        launcher.kill()
    assert launcher.returncode == 1
    assert elapsed < timeout + 8  # the rank's timeout, then a short grace: not timeout twice
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "lost contact" in lines[0] and "--timeout 2 s" in lines[0]
    assert not any(_alive(w) for w in workers)


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("momentum", "0.5", "--momentum must be a number"),
        ("eps", "x", "--eps must be a number"),
        ("alpha", [1], "--alpha must be a number"),
        ("betas", "ab", "--betas needs two numbers"),
        ("points", 10**12, "GiB in memory"),
    ],
)
def test_a_checkpoint_with_crafted_options_is_one_line(
    field: str, value: object, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dataclasses import replace

    from gradfit.training.checkpoint import load_checkpoint, save_checkpoint

    good = tmp_path / "good.ckpt"
    run = ["fit", "--backend", "numpy", "--steps", "20", "--seed", "1", "--quiet"]
    assert main([*run, "--optimizer", "momentum", "--checkpoint", str(good)]) == 0
    saved = load_checkpoint(good)
    bad = tmp_path / "bad.ckpt"
    save_checkpoint(bad, replace(saved, config=dict(saved.config, **{field: value})))
    capsys.readouterr()
    assert main(["fit", "--resume", str(bad), "--steps", "40", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err, err


def test_one_preset_command_line_serves_the_first_start_and_the_restart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt = str(tmp_path / "F")
    line = ["fit", "--preset", "dynamic", "--checkpoint", ckpt, "--resume", ckpt, "--seed", "3"]
    assert main([*line, "--steps", "200", "--quiet"]) == 0  # F does not exist: a first start
    assert main([*line, "--steps", "400", "--quiet"]) == 0  # F exists: continue it
    resumed = capsys.readouterr().out.splitlines()[-1]
    assert main(["fit", "--preset", "dynamic", "--seed", "3", "--steps", "400", "--quiet"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == resumed
    # another preset's options do not match the checkpoint: refused by name
    other = ["fit", "--preset", "custom-function", "--checkpoint", ckpt, "--resume", ckpt]
    assert main([*other, "--steps", "400"]) == 2
    assert "--model 'dynamic'" in capsys.readouterr().err


@pytest.mark.parametrize("method", ["manual", "gram"])
def test_an_npz_member_claiming_10_12_rows_is_refused_from_its_header(
    method: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import io
    import zipfile

    import numpy as np

    header = io.BytesIO()
    shape = {"descr": "<f8", "fortran_order": False, "shape": (10**12, 2)}
    np.lib.format.write_array_header_1_0(header, shape)
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("a.npy", header.getvalue() + b"\0" * 64)
    assert main(["fit", "--data", str(path), "--method", method, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "its header claims more values" in err
