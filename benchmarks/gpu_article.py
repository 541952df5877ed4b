"""The article's PyTorch script on a GPU against ``gradfit fit --device cuda``, same start.

The foundation issue's device check, prepared to run in one call on a lent GPU machine::

    python benchmarks/gpu_article.py --device cuda --points 2000 1000000 --json $OUT/gpu.json

For each N it runs the article's ``seed_torch.py`` with ``device = torch.device("cuda:0")``, N
points and the learning rate scaled by 2000 / N (its source edited in memory, its
``torch.randn`` patched to the fixed start), then ``gradfit.fit`` on the same x, y and start,
and prints both times and how far the logged loss lines differ. The article calls ``.item()``
every step (a device sync each time); gradfit reads the loss back only on logged steps.
``--device cpu`` runs the same comparison on the CPU, which is how this script is tested where
no GPU is lent.

The device machine receives the repository only, not ``../shared``: copy the article's scripts
into an ignored folder of the checkout first (``mkdir -p .seed && cp ../shared/seed/*.py .seed/``,
``.seed`` in ``.git/info/exclude``), carry it, and pass ``--seed-dir .seed``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

from bench_article import INIT, default_seed_dir, parse_loss_lines, run_article


def learning_rate(points: int) -> float:
    """The article's 1e-6 at 2000 points, scaled by 2000 / N: the sum-of-squares Hessian grows
    with N, so the same rate would diverge on 10^6 points (stable only below ~3.6e-9)."""
    return 1e-6 * 2000 / points


def article_code(seed_dir: Path, device: str, points: int) -> Any:
    """seed_torch.py with its device, number of points and learning rate replaced, compiled."""
    path = seed_dir / "seed_torch.py"
    source = path.read_text(encoding="utf-8")
    edits = {
        'torch.device("cpu")': f"torch.device({device!r})",
        "math.pi, 2000,": f"math.pi, {points},",
        "learning_rate = 1e-6": f"learning_rate = {learning_rate(points)!r}",
    }
    for old, new in edits.items():
        if old not in source:
            raise SystemExit(f"seed_torch.py has no {old!r}; cannot retarget it")
        source = source.replace(old, new)
    return compile(source, str(path), "exec"), path


def one_size(seed_dir: Path, device: str, points: int, repeat: int) -> dict[str, Any]:
    import torch

    import gradfit

    code, path = article_code(seed_dir, device, points)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    article_times, text = [], ""
    for _ in range(repeat + 1):  # the first run warms up kernels and caches
        sync()
        seconds, text = run_article(code, path, "torch")
        sync()
        article_times.append(seconds)
    x = torch.linspace(-math.pi, math.pi, points, device=device, dtype=torch.float)
    y = torch.sin(x)
    ours_times, result = [], None
    for _ in range(repeat + 1):
        sync()
        start = time.perf_counter()
        result = gradfit.fit(x, y, init=INIT, lr=learning_rate(points), reference=False)
        sync()
        ours_times.append(time.perf_counter() - start)
    article_losses = [v for _, v in parse_loss_lines(text)]
    ours_losses = [v for _, v in result.loss_history]
    worst = max(abs(a - b) / abs(a) for a, b in zip(article_losses, ours_losses, strict=True))
    return {
        "points": points,
        "article_s": min(article_times[1:]),
        "gradfit_s": min(ours_times[1:]),
        "gradfit_loop_s": result.timings["loop_s"],
        "ratio": min(ours_times[1:]) / min(article_times[1:]),
        "max_rel_loss_diff": worst,
        "bit_identical": article_losses == ours_losses,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    parser.add_argument("--points", type=int, nargs="+", default=[2000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed-dir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    args = parser.parse_args(argv)
    import torch

    seed_dir = args.seed_dir or default_seed_dir()
    if not (seed_dir / "seed_torch.py").is_file():
        print("the article's scripts (../shared/seed) are not here; nothing to compare")
        return 0
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA device here; run with --device cpu, or on a GPU machine", file=sys.stderr)
        return 1
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"
    print(f"torch {torch.__version__} on {name}")
    print(f"{'points':>10} {'article s':>10} {'gradfit s':>10} {'ratio':>7} {'max loss diff':>14}")
    rows = []
    for points in args.points:
        row = one_size(seed_dir, args.device, points, args.repeat)
        rows.append(row)
        print(
            f"{points:>10} {row['article_s']:>10.4f} {row['gradfit_s']:>10.4f} "
            f"{row['ratio']:>7.3f} {row['max_rel_loss_diff']:>14.2e}"
            + ("  (bit-identical)" if row["bit_identical"] else "")
        )
    if args.json is not None:
        args.json.write_text(json.dumps({"device": name, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
