"""The distributed path on GPUs (nccl) against one process on the same device, in one call.

Prepared for a lent GPU machine (one or more GPUs)::

    python benchmarks/gpu_distributed.py --device cuda --json $OUT/gpu_dist.json

For each method (manual, autograd, nn under DDP, gram, and mini-batches) it runs
``torchrun --nproc-per-node K -m gradfit fit --distributed --backend torch --device cuda
--dtype float64`` (K = the number of GPUs, at least 1: with one GPU the collectives still run,
on nccl, over a world of one) and the same fit in one process, and prints the largest relative
difference of the logged losses and the loop times. ``--device cpu`` runs the same comparison
on gloo with ``--nproc`` processes, which is how this script is tested where no GPU is lent.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CASES = {
    "manual": ["--method", "manual", "--points", "200000", "--lr", "auto"],
    "autograd": ["--method", "autograd", "--points", "200000", "--lr", "auto"],
    "nn": ["--method", "nn", "--points", "200000", "--optimizer", "adam", "--lr", "0.01"],
    "gram": ["--method", "gram", "--points", "1000000", "--lr", "auto"],
    "batch": ["--method", "autograd", "--points", "20000", "--batch-size", "512", "--shuffle"],
}


def fit(options: list[str], device: str, nproc: int, tmp: Path) -> dict:
    """One run's JSON document: ``nproc`` = 0 for one plain process, else a torchrun job."""
    doc = tmp / f"run-{nproc}.json"
    args = ["fit", "--backend", "torch", "--device", device, "--dtype", "float64", "--seed", "1"]
    args += [*options, "--steps", "1000", "--quiet", "--json", str(doc)]
    if nproc:
        from gradfit.distributed import free_port

        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(nproc)]
        cmd += ["--master-addr", "127.0.0.1", "--master-port", str(free_port())]
        cmd += ["-m", "gradfit", *args, "--distributed"]
    else:
        cmd = [sys.executable, "-m", "gradfit", *args]
    env = dict(os.environ, OMP_NUM_THREADS="1", TORCH_CPP_LOG_LEVEL="FATAL")
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return json.loads(doc.read_text())


def max_rel_diff(a: list, b: list) -> float:
    return max(abs(u[1] - v[1]) / max(abs(u[1]), 1e-300) for u, v in zip(a, b, strict=True))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    p.add_argument("--nproc", type=int, default=0, help="processes (default: GPUs, or 2 on cpu)")
    p.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    p.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    args = p.parse_args(argv)
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA device here; run with --device cpu, or on a GPU machine", file=sys.stderr)
        return 1
    gpus = torch.cuda.device_count() if args.device.startswith("cuda") else 0
    nproc = args.nproc or gpus or 2
    print(f"torch {torch.__version__}; {nproc} process(es) on {args.device}")
    header = ("case", 9), ("backend", 8), ("one loop s", 11), ("dist loop s", 12)
    print(" ".join(f"{name:>{width}}" for name, width in header), f"{'max loss diff':>14}")
    rows, failed = [], False
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.cases:
            one = fit(CASES[case], args.device, 0, Path(tmp))
            dist = fit(CASES[case], args.device, nproc, Path(tmp))
            diff = max_rel_diff(one["loss_history"], dist["loss_history"])
            row = {
                "case": case,
                "collectives": dist["distributed"]["backend"],
                "one_loop_s": one["timings"]["loop_s"],
                "dist_loop_s": dist["timings"]["loop_s"],
                "max_rel_loss_diff": diff,
            }
            rows.append(row)
            failed |= not diff < 1e-9
            print(
                f"{case:>9} {row['collectives']:>8} {row['one_loop_s']:>11.4f} "
                f"{row['dist_loop_s']:>12.4f} {diff:>14.2e}"
            )
    if args.json is not None:
        args.json.write_text(json.dumps({"nproc": nproc, "rows": rows}, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
