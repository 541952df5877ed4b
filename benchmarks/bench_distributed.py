"""Data-parallel gradfit on this machine: what one all_reduce costs, and steps/s with 1 and 2
processes (gloo on 127.0.0.1).

    .venv/bin/python benchmarks/bench_distributed.py
    .venv/bin/python benchmarks/bench_distributed.py --points 2000 200000 2000000 --json out.json

1. all_reduce: K processes (K = 1, 2) each time ``--reps`` all_reduce (SUM) calls on a float64
   tensor of d + 1 numbers (a cubic's gradient and its loss, what gradfit's manual and autograd
   methods send each step); median and mean microseconds per call on rank 0 (the mean is what
   throughput pays).
2. throughput: ``gradfit fit --backend numpy --method manual`` (float64) on ``--points`` points,
   in one process and with ``--workers 2``; the loop's own time (``timings.loop_s`` of rank
   0's JSON, so process start-up and ``import torch`` are left out), as steps/s, and the ratio.
3. the gram statistics pass: ``gradfit fit --method gram`` on ``--gram-points`` rows, from a
   generated problem and from a ``.npy`` file (each rank reads only its part), in one process
   and with ``--workers 2``; the time of the pass (``timings.setup_s`` of rank 0: reading,
   X^T X, X^T y, y^T y, and their one all_reduce of (d+1)^2 + 1 numbers), as rows/s.
4. expected scaling: per step, T(K) = T_compute(N) / K + T_allreduce(K), from the measured
   numbers (see docs/distributed.md); the statistics pass, T(K) = T_pass(N) / K + one
   all_reduce.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def allreduce_worker(reps: int, size: int) -> None:
    """One rank: time ``reps`` all_reduce calls; rank 0 prints the median in microseconds."""
    from datetime import timedelta

    import torch
    import torch.distributed as dist

    dist.init_process_group("gloo", timeout=timedelta(seconds=60))
    buf = torch.ones(size, dtype=torch.float64)
    for _ in range(50):  # warm up the connections
        dist.all_reduce(buf)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        dist.all_reduce(buf)
        times.append(time.perf_counter() - start)
    if dist.get_rank() == 0:
        print(
            json.dumps(
                {
                    "median_us": 1e6 * statistics.median(times),
                    "mean_us": 1e6 * statistics.fmean(times),
                }
            )
        )
    dist.destroy_process_group()


def time_allreduce(world: int, reps: int, size: int) -> dict[str, float]:
    from gradfit.distributed import free_port

    env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()))
    env.update(WORLD_SIZE=str(world), OMP_NUM_THREADS="1", TORCH_CPP_LOG_LEVEL="FATAL")
    cmd = [sys.executable, __file__, "--allreduce-worker", str(reps), str(size)]
    procs = [
        subprocess.Popen(cmd, env=env | {"RANK": str(r)}, stdout=subprocess.PIPE, text=True)
        for r in range(world)
    ]
    out = [p.communicate(timeout=300)[0] for p in procs]
    return json.loads(out[0])


def time_fit(points: int, steps: int, workers: int) -> float:
    """Seconds the training loop took (rank 0), for ``steps`` steps on ``points`` points."""
    with tempfile.TemporaryDirectory() as tmp:
        doc = Path(tmp) / "run.json"
        cmd = [sys.executable, "-m", "gradfit", "fit", "--backend", "numpy", "--seed", "1"]
        cmd += ["--method", "manual", "--points", str(points), "--steps", str(steps)]
        cmd += ["--lr", "auto", "--quiet"]
        cmd += ["--json", str(doc)]
        if workers > 1:
            cmd += ["--workers", str(workers)]
        env = dict(os.environ, OMP_NUM_THREADS="1")
        subprocess.run(cmd, check=True, cwd=REPO, env=env, stdout=subprocess.DEVNULL, timeout=600)
        return float(json.loads(doc.read_text())["timings"]["loop_s"])


def time_gram(points: int, workers: int, data: Path | None) -> float:
    """Seconds of the statistics pass (rank 0's ``timings.setup_s``) of a gram fit."""
    with tempfile.TemporaryDirectory() as tmp:
        doc = Path(tmp) / "run.json"
        cmd = [sys.executable, "-m", "gradfit", "fit", "--backend", "numpy", "--seed", "1"]
        cmd += ["--method", "gram", "--steps", "100", "--lr", "auto", "--quiet"]
        cmd += ["--json", str(doc)]
        cmd += ["--data", str(data)] if data is not None else ["--points", str(points)]
        if workers > 1:
            cmd += ["--workers", str(workers)]
        env = dict(os.environ, OMP_NUM_THREADS="1")
        subprocess.run(cmd, check=True, cwd=REPO, env=env, stdout=subprocess.DEVNULL, timeout=600)
        return float(json.loads(doc.read_text())["timings"]["setup_s"])


def write_npy(path: Path, points: int) -> None:
    """An (N, 2) float64 table: x evenly spread, y = sin(x) plus noise, written in blocks."""
    import numpy as np

    rng = np.random.default_rng(0)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(points, 2))
    for start in range(0, points, 1 << 20):
        stop = min(start + (1 << 20), points)
        x = -3.0 + 6.0 * np.arange(start, stop) / max(points - 1, 1)
        out[start:stop, 0] = x
        out[start:stop, 1] = np.sin(x) + 0.1 * rng.standard_normal(stop - start)
    out.flush()
    del out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--allreduce-worker", nargs=2, type=int, help=argparse.SUPPRESS)
    p.add_argument("--reps", type=int, default=2000, help="all_reduce calls timed (default 2000)")
    p.add_argument("--points", type=int, nargs="+", default=[2000, 200_000, 2_000_000])
    p.add_argument("--steps", type=int, default=0, help="steps per fit (default: by size)")
    p.add_argument(
        "--gram-points", type=int, default=20_000_000, help="rows of the statistics pass"
    )
    p.add_argument("--json", default=None, help="also write the numbers to this file")
    args = p.parse_args()
    if args.allreduce_worker:
        allreduce_worker(*args.allreduce_worker)
        return

    d = 4
    report: dict = {"cpus": os.cpu_count(), "allreduce_us": {}, "fits": []}
    print(f"all_reduce of {d + 1} float64 numbers (gloo, 127.0.0.1), {args.reps} calls:")
    for world in (1, 2):
        us = time_allreduce(world, args.reps, d + 1)
        report["allreduce_us"][world] = us
        print(
            f"  {world} process(es): median {us['median_us']:7.1f} us, mean {us['mean_us']:7.1f} us"
        )
    print("\nmanual method, numpy float64, loop time on rank 0 (steps/s):")
    print(f"  {'points':>10}  {'steps':>6}  {'1 process':>10}  {'2 processes':>11}  {'ratio':>6}")
    for n in args.points:
        steps = args.steps or max(100, min(2000, int(4e8 // n)))
        one, two = time_fit(n, steps, 1), time_fit(n, steps, 2)
        rate1, rate2 = steps / one, steps / two
        report["fits"].append({"points": n, "steps": steps, "steps_per_s": [rate1, rate2]})
        print(f"  {n:>10}  {steps:>6}  {rate1:>10.0f}  {rate2:>11.0f}  {rate2 / rate1:>6.2f}")
    print(f"\ngram statistics pass, {args.gram_points} rows, rank 0's pass time (rows/s):")
    print(f"  {'source':>10}  {'1 process':>12}  {'2 processes':>12}  {'ratio':>6}")
    report["gram"] = []
    with tempfile.TemporaryDirectory() as tmp:
        npy = Path(tmp) / "rows.npy"
        write_npy(npy, args.gram_points)
        for source, data in (("generated", None), (".npy file", npy)):
            time_gram(args.gram_points, 1, data)  # warm the page cache and the imports
            one, two = (time_gram(args.gram_points, k, data) for k in (1, 2))
            rate1, rate2 = args.gram_points / one, args.gram_points / two
            report["gram"].append({"source": source, "rows_per_s": [rate1, rate2]})
            print(f"  {source:>10}  {rate1:>12.3g}  {rate2:>12.3g}  {rate2 / rate1:>6.2f}")
    ar = report["allreduce_us"][2]["mean_us"]
    print(
        "\nexpected: T(K) = T_compute(N) / K + T_allreduce(K); with all_reduce ~"
        f"{ar:.0f} us here, K processes pay off once T_compute(N) >> K * {ar:.0f} us / (K - 1)"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
