"""Data-parallel fitting on torch.distributed (gloo, 127.0.0.1): 2 processes give the
1-process numbers, and a dead or missing worker ends the run within the timeout, never a hang."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, cli, losses, rel_err, run_gradfit

import gradfit
from gradfit.distributed import DistContext, free_port, launch_workers, worker_argv
from gradfit.training.checkpoint import load_checkpoint

pytest.importorskip("torch.distributed")


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


def _write_data(tmp_path: Path, kind: str) -> Path:
    """x in [100, 200] (far from 0: --scale matters), a noisy cubic."""
    rng = np.random.default_rng(5)
    n = 3001 if kind == "csv" else 30_000
    x = rng.uniform(100.0, 200.0, n)
    y = 2.0 - 0.01 * (x - 150.0) ** 2 + 1e-5 * (x - 150.0) ** 3 + rng.normal(0.0, 0.5, n)
    if kind == "csv":
        path = tmp_path / "d.csv"
        path.write_text(
            "x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), y.tolist(), strict=True))
        )
    else:
        path = tmp_path / "d.npy"
        np.save(path, np.column_stack([x, y]))
    return path


CASES = {
    # name: (CLI options, FitConfig fields, what each rank read, rank 0's rows)
    "manual-numpy-torchrun": (
        ["--backend", "numpy", "--points", "2001"],
        dict(backend="numpy", points=2001),
        "part",
        1000,
    ),
    "gram-numpy": (
        ["--backend", "numpy", "--points", "100001", "--method", "gram"],
        dict(backend="numpy", points=100_001, method="gram", lr="auto", steps=2000),
        "part",
        50_000,
    ),
    "autograd-torch": (
        ["--backend", "torch", "--dtype", "float64", "--method", "autograd"],
        dict(backend="torch", dtype="float64", method="autograd"),
        "whole",
        1000,
    ),
    "nn-ddp": (
        ["--backend", "torch", "--dtype", "float64", "--method", "nn", "--optimizer", "adam"],
        dict(backend="torch", dtype="float64", method="nn", optimizer="adam", lr=1e-2, steps=300),
        "whole",
        1000,
    ),
    # not a polynomial: the reference cubic from summed Legendre statistics
    "legendre3-autograd-lr-auto": (
        [
            "--backend",
            "torch",
            "--dtype",
            "float64",
            "--model",
            "legendre3",
            "--method",
            "autograd",
        ],
        dict(backend="torch", dtype="float64", model="legendre3", method="autograd", lr="auto"),
        "whole",
        1000,
    ),
    # mini-batches drawn over all rows alike on every rank; each sums its rows of the batch
    "batch-shuffle-numpy": (
        ["--backend", "numpy", "--points", "2001", "--batch-size", "64", "--shuffle"],
        dict(backend="numpy", points=2001, batch_size=64, shuffle=True),
        "part",
        1000,
    ),
    "batch-autograd-torch": (
        ["--backend", "torch", "--dtype", "float64", "--method", "autograd", "--batch-size", "300"],
        dict(backend="torch", dtype="float64", method="autograd", batch_size=300),
        "whole",
        1000,
    ),
    "batch-shuffle-nn-ddp": (
        [
            "--backend",
            "torch",
            "--dtype",
            "float64",
            "--method",
            "nn",
            "--batch-size",
            "128",
            "--shuffle",
        ],
        dict(
            backend="torch", dtype="float64", method="nn", batch_size=128, shuffle=True, steps=300
        ),
        "whole",
        1000,
    ),
    # a file: each rank reads its part; --scale (x's range) and --lr auto (the curvature) need
    # all the rows
    "manual-csv-scaled-lr-auto": (["--backend", "numpy"], dict(backend="numpy"), "part", None),
    "gram-npy-scaled-lr-auto": (
        ["--backend", "numpy", "--method", "gram"],
        dict(backend="numpy", method="gram"),
        "part",
        15_000,
    ),
}


def _case_options(case: str, data_dir: Path) -> tuple[list[str], dict]:
    """The case's command-line options and the same run's FitConfig fields (seed 7)."""
    options, config, _, _ = CASES[case]
    # 500 steps show agreement as 2000 do (5 logged losses); DDP's per-step overhead: 300 for
    # nn; gram-numpy keeps 2000 (its steps cost nothing; --lr auto aims at the step budget, and
    # at 500 steps its first logged loss is large, where the summed statistics lose digits)
    config = {"steps": 500, **config}
    options = [*options, "--steps", str(config["steps"])]
    if config.get("lr"):
        options = [*options, "--lr", str(config["lr"])]
    if "csv" in case or "npy" in case:
        kind = "csv" if "csv" in case else "npy"
        path = data_dir / f"d.{kind}"
        if not path.exists():
            _write_data(data_dir, kind)
        options, config = [*options, "--data", str(path)], {**config, "data": str(path)}
    return [*options, "--seed", "7"], {"seed": 7, **config}


# Both ranks run every case in turn, each case its own process group (its own port): starting
# two Pythons that import torch once, not once per case, is most of the saving.
SHARED_RANKS = """
import json, os, sys
from gradfit.cli import main
codes = {}
for name, port, argv in json.loads(sys.argv[1]):
    os.environ["MASTER_PORT"] = str(port)
    codes[name] = main(argv)
print(json.dumps(codes))
"""


@pytest.fixture(scope="module")
def two_process_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Every case but torchrun's, and a run writing a checkpoint, run by one pair of rank
    processes (the environment gradfit's --workers launcher gives its workers): per case, the
    exit code, rank 0's JSON document and the one-process FitConfig fields."""
    tmp = tmp_path_factory.mktemp("dist")
    cases = [c for c in CASES if not c.endswith("torchrun")]
    plan = [
        [c, free_port(), ["fit", *_case_options(c, tmp)[0], "--json", str(tmp / f"{c}.json")]]
        for c in cases
    ]
    # and the checkpoint a two-process run writes (test_a_two_process_checkpoint_...)
    plan.append(["checkpoint", free_port(), ["fit", *CHECKPOINT_RUN, str(tmp / "run.ckpt")]])
    for entry in plan:
        entry[2] = worker_argv(entry[2])
    env = dict(os.environ, MASTER_ADDR="127.0.0.1", WORLD_SIZE="2", OMP_NUM_THREADS="1")
    env.update(LOCAL_WORLD_SIZE="2", GROUP_RANK="0")
    procs = []
    for rank in range(2):
        out = open(tmp / f"rank{rank}.out", "w+")  # noqa: SIM115  (closed below)
        err = open(tmp / f"rank{rank}.err", "w+")  # noqa: SIM115
        p = subprocess.Popen(
            [sys.executable, "-c", SHARED_RANKS, json.dumps(plan)],
            env=env | {"RANK": str(rank), "LOCAL_RANK": str(rank)},
            cwd=REPO,
            stdout=out,
            stderr=err,
        )
        procs.append((p, out, err))
    try:
        for p, _, _ in procs:
            p.wait(timeout=600)
    finally:
        for p, out, err in procs:
            p.kill()
            p.wait()
            out.close()
            err.close()
    lead_out = (tmp / "rank0.out").read_text()
    errors = "".join((tmp / f"rank{r}.err").read_text() for r in range(2))
    assert procs[0][0].returncode == 0 and procs[1][0].returncode == 0, errors
    codes = json.loads(lead_out.splitlines()[-1])
    checkpoint = {"code": codes["checkpoint"], "stderr": errors, "file": tmp / "run.ckpt"}
    return {
        "checkpoint": checkpoint,
        **{
            c: {
                "code": codes[c],
                "stderr": errors,
                "doc": tmp / f"{c}.json",
                "config": _case_options(c, tmp)[1],
            }
            for c in cases
        },
    }


@pytest.mark.parametrize("case", list(CASES))
def test_two_processes_log_the_one_process_numbers(
    tmp_path: Path, case: str, request: pytest.FixtureRequest
) -> None:
    """Same logged losses (1e-9 relative; the sums are grouped differently), coefficients and
    reference optimum."""
    _, _, read, rows = CASES[case]
    if case.endswith("torchrun"):  # torchrun itself, as the documentation runs it
        options, config = _case_options(case, tmp_path)
        launch = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2"]
        launch += ["--master-addr", "127.0.0.1", "--master-port", str(free_port())]
        launch += ["-m", "gradfit", "fit", "--distributed"]
        two = subprocess.run(
            [*launch, *options, "--json", "-"],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=120,
            env=dict(os.environ, OMP_NUM_THREADS="1"),
        )
        assert two.returncode == 0, two.stderr
        b = json.loads(two.stdout)  # rank 0 alone prints: one document
    else:
        shared = request.getfixturevalue("two_process_runs")[case]
        assert shared["code"] == 0, shared["stderr"]
        b = _json(shared["doc"])
        config = shared["config"]
    one = gradfit.run(gradfit.FitConfig(**config))
    assert b["method"] == one.method and b["problem"]["points"] == one.n_points
    assert [t for t, _ in one.loss_history] == [t for t, _ in b["loss_history"]]
    assert rel_err(losses(one), [v for _, v in b["loss_history"]]) < 1e-9
    np.testing.assert_allclose(b["coef"], one.coef, rtol=1e-9, atol=1e-12)
    # the optimum: lstsq on the rows (one process) vs the summed normal equations (two)
    np.testing.assert_allclose(b["optimum"]["coef"], one.optimum.coef, rtol=1e-7, atol=1e-12)
    assert b["optimum"]["loss"] == pytest.approx(one.optimum.loss, rel=1e-9)
    if one.lr_auto is not None:
        assert b["lr_auto"]["lr"] == pytest.approx(one.lr_auto["lr"], rel=1e-9)
    dist = b["distributed"]
    assert (dist["world_size"], dist["rank"], dist["backend"]) == (2, 0, "gloo")
    assert dist["read"] == read
    if rows is not None:
        assert dist["rows"] == rows
    else:  # a text file is split by bytes: about half the lines each
        assert abs(dist["rows"] - one.n_points / 2) < 10
    if one.data is not None:
        assert b["data"]["rows"] == one.data["rows"] and b["data"]["path"] == one.data["path"]


def test_rows_are_split_into_contiguous_near_equal_shares() -> None:
    shares = [DistContext(r, 3, r, "gloo", 1.0).rows(10) for r in range(3)]
    assert [(s.start, s.stop) for s in shares] == [(0, 3), (3, 6), (6, 10)]
    assert worker_argv(["fit", "--workers", "2", "--seed", "1"]) == [
        "fit",
        "--seed",
        "1",
        "--distributed",
    ]


def _rank_processes(timeout: float, steps: int = 10**8) -> tuple[subprocess.Popen, ...]:
    env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()), WORLD_SIZE="2")
    args = [sys.executable, "-m", "gradfit", "fit", "--distributed", "--backend", "numpy"]
    args += ["--steps", str(steps), "--log-every", "1000", "--timeout", str(timeout)]
    return tuple(
        subprocess.Popen(
            args,
            env=env | {"RANK": str(rank)},
            cwd=REPO,
            stdout=subprocess.PIPE if rank == 0 else subprocess.DEVNULL,
            stderr=subprocess.PIPE if rank == 0 else subprocess.DEVNULL,
            text=True,
        )
        for rank in range(2)
    )


def test_a_hung_rank_fails_the_others_within_the_timeout() -> None:
    """A rank that stops answering (SIGSTOP) makes rank 0 fail after --timeout, one line."""
    timeout = 2.0
    lead, other = _rank_processes(timeout)
    try:
        assert lead.stdout.readline().startswith("999 ")  # both ranks are training
        start = time.monotonic()
        other.send_signal(signal.SIGSTOP)
        _, err = lead.communicate(timeout=timeout + 30)
        elapsed = time.monotonic() - start
    finally:
        for p in (lead, other):
            p.kill()
            p.wait(timeout=30)
    assert lead.returncode == 1
    assert timeout - 0.5 < elapsed < timeout + 5
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gradfit: error: rank 0 of 2 lost contact")


def test_a_worker_that_cannot_reach_the_others_fails_within_the_timeout() -> None:
    env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()))
    env.update(WORLD_SIZE="2", RANK="1")
    start = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "gradfit",
            "fit",
            "--distributed",
            "--backend",
            "numpy",
            *["--timeout", "1"],
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert time.monotonic() - start < 1 + 10  # the timeout, the grace, starting Python
    assert proc.stderr.startswith("gradfit: error: rank 1 of 2 could not join")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_workers_launcher_reports_a_killed_worker_in_one_line() -> None:
    """kill -9 of one worker of 'gradfit fit --workers 2': the other fails at once (its
    connection breaks), and the command exits 1 with one line naming the cause."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gradfit",
            "fit",
            "--workers",
            "2",
            "--backend",
            "numpy",
            *["--steps", str(10**8), "--log-every", "1000", "--timeout", "3"],
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().startswith("999 ")
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        assert len(children) == 2
        start = time.monotonic()
        os.kill(int(children[1]), signal.SIGKILL)
        _, err = proc.communicate(timeout=40)
        elapsed = time.monotonic() - start
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == 1 and elapsed < 3 + 10
    assert err == (
        "gradfit: error: worker 1 of 2 was killed by SIGKILL; the run failed "
        "(the other workers stopped)\n"
    )


def test_distributed_without_torchrun_is_a_usage_error(capsys, monkeypatch) -> None:
    for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR"):
        monkeypatch.delenv(name, raising=False)
    code, _, err = cli(capsys, "fit", "--distributed", "--backend", "numpy")
    assert code == 2 and "torchrun" in err and err.count("\n") == 1


CHECKPOINT_RUN = ["--backend", "numpy", "--seed", "5", "--optimizer", "adam", "--lr", "0.01"]
CHECKPOINT_RUN += ["--steps", "700", "--checkpoint"]


def test_a_two_process_checkpoint_resumes_in_one_process(two_process_runs: dict) -> None:
    """Rank 0 writes the checkpoint; its parameters are global, so one process can go on."""
    two = two_process_runs["checkpoint"]
    assert two["code"] == 0, two["stderr"]
    config = gradfit.FitConfig(backend="numpy", seed=5, optimizer="adam", lr=0.01)
    whole = gradfit.run(config, reference=False)
    resumed = gradfit.run(replace(config, resume=str(two["file"])), reference=False)
    assert rel_err(losses(whole), losses(resumed)) < 1e-9
    np.testing.assert_allclose(resumed.coef, whole.coef, rtol=1e-9, atol=1e-12)


WORKER_RUN = ["--backend", "numpy", "--seed", "2", "--steps", str(10**8), "--log-every", "500"]
WORKER_RUN += ["--checkpoint"]


def test_ctrl_c_stops_all_workers_at_the_same_step_and_writes_the_checkpoint(
    tmp_path: Path,
) -> None:
    ckpt = tmp_path / "run.ckpt"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gradfit", "fit", "--workers", "2", *WORKER_RUN, str(ckpt)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().startswith("499 ")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == 130, err
    done = load_checkpoint(ckpt).step
    assert done % 500 == 0  # the ranks agree to stop at a logged step
    assert out.count("Result: y = ") == 1
    assert err == (
        f"gradfit: interrupted after {done} steps; checkpoint written to {ckpt} "
        f"(continue with: gradfit fit --resume {ckpt})\n"
    )


def test_a_method_on_summed_statistics_is_not_wrapped() -> None:
    """gram's statistics are summed once, before the loop: no per-step collective, and its loss
    is not summed again."""
    from gradfit.backends import resolve_backend
    from gradfit.methods.gram import GramMethod
    from gradfit.optim import OptimizerSpec
    from gradfit.stats import GramStats

    stats = GramStats(np.eye(2), np.ones(2), 3.0, 10)
    method = GramMethod(stats, resolve_backend("numpy", "cpu", "float64"), OptimizerSpec(), [0, 0])
    assert DistContext(0, 2, 0, "gloo", 1.0).attach(method) is method


# A stand-in for the workers' Python (the launcher starts sys.executable): rank $DIES kills
# itself with signal $SIGNAL after printing $SAYS on stderr; the others wait to be killed.
FAKE_WORKER = """#!/bin/sh
if [ "$RANK" = "$DIES" ]; then
    printf '%b' "$SAYS" >&2
    kill -s "$SIGNAL" $$
fi
exec sleep 60
"""


@pytest.mark.parametrize(
    ("workers", "dies", "sig", "says", "line"),
    [
        (  # a C++ abort prints one line before SIGABRT; the launcher's one line carries it
            2,
            1,
            "ABRT",
            "99 2.5\\nterminate called without an active exception\\n\\n",
            "worker 1 of 2 was killed by SIGABRT (terminate called without an active "
            "exception); the run failed (the other workers stopped)",
        ),
        (
            3,
            0,
            "KILL",
            "",
            "worker 0 of 3 was killed by SIGKILL; the run failed (the other workers stopped)",
        ),
    ],
    ids=["abort-with-last-words", "killed-silently"],
)
def test_a_worker_killed_by_a_signal_is_named_with_its_last_words(
    tmp_path: Path, monkeypatch, capsys, workers: int, dies: int, sig: str, says: str, line: str
) -> None:
    """launch_workers on stand-in workers: the one line names the killed worker, its signal and
    the last thing it said; the others are killed once --timeout and the grace have passed."""
    fake = tmp_path / "python"
    fake.write_text(FAKE_WORKER)
    fake.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(fake))
    monkeypatch.setenv("DIES", str(dies))
    monkeypatch.setenv("SIGNAL", sig)
    monkeypatch.setenv("SAYS", says)
    start = time.monotonic()
    assert launch_workers(["fit", "--timeout", "0.2"], workers, grace=0.2) == 1
    assert time.monotonic() - start < 10
    assert capsys.readouterr().err == f"gradfit: error: {line}\n"


def test_a_bad_line_in_one_ranks_part_is_the_error_reported(tmp_path: Path) -> None:
    """Only rank 1 reads the bad line; rank 0 then loses it. The launcher names the cause."""
    path = tmp_path / "d.csv"
    body = [f"{i / 100!r},{(i / 100) ** 2!r}" for i in range(400)]
    body[350] = "3.5,oops"
    path.write_text("x,y\n" + "\n".join(body) + "\n")
    proc = run_gradfit("fit", "--workers", "2", "--data", str(path), "--steps", "10")
    assert proc.returncode == 2
    assert proc.stderr == (
        f"gradfit: error: {path}: line 352, column 'y': 'oops' is not a number\n"
    )
