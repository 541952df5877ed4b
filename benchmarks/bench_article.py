"""Benchmark gradfit against the article's own scripts, on this machine, in one run.

What it measures (see benchmarks/README.md):

1. Loop-only time, in-process, same backend, same data, same initial weights: the article's
   script (``seed_numpy.py`` / ``seed_torch.py``, exec'd from its source with ``randn`` patched
   to return fixed weights and stdout captured) against ``gradfit.fit(x, y, init=...,
   reference=False)`` on x/y built as the article builds them. gradfit's own
   ``timings['loop_s']`` is shown too. Each measurement is repeated; min and median reported.
2. Whole-process time: ``python seed_X.py`` against ``python -m gradfit fit ... --quiet``.
3. Equal work: the loss lines the article printed against gradfit's ``loss_history``.

Run: ``python benchmarks/bench_article.py [--repeat N] [--seed-dir PATH] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import gradfit

REPO = Path(__file__).resolve().parents[1]
INIT: tuple[float, float, float, float] = (0.3, -0.7, 0.1, 0.05)
INIT_ARG = ",".join(repr(v) for v in INIT)
POINTS = 2000
SEED_FILES = {"numpy": "seed_numpy.py", "torch": "seed_torch.py"}
LOOP_TARGET = 1.1  # gradfit loop / article loop, both backends
PROCESS_TARGET = {"numpy": 1.3}  # gradfit process / article process
# Largest relative loss difference still counted as "the same computation" (per dtype).
LOSS_RTOL = {"numpy": 1e-9, "torch": 1e-4}


@dataclass
class Timing:
    """Repeated wall-clock samples of one measurement, in seconds."""

    label: str
    samples: list[float] = field(default_factory=list)

    @property
    def min(self) -> float:
        return min(self.samples) if self.samples else math.nan

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "min": self.min, "median": self.median}


# ---------------------------------------------------------------------------------------------
# The article's script, in-process


@contextlib.contextmanager
def fixed_randn(backend: str) -> Iterator[None]:
    """Patch the backend's ``randn`` so the script draws ``INIT`` (in order) instead."""
    values = iter(INIT)

    def next_value() -> float:
        try:
            return next(values)
        except StopIteration:
            raise RuntimeError("the seed script drew more than len(INIT) weights") from None

    if backend == "torch":
        import torch

        module: Any = torch
        original = torch.randn

        def fake(*_args: Any, **kw: Any) -> Any:
            return torch.tensor(next_value(), dtype=kw.get("dtype"), device=kw.get("device"))
    else:
        module = np.random
        original = np.random.randn

        def fake(*_args: Any, **_kw: Any) -> Any:
            return next_value()

    module.randn = fake
    try:
        yield
    finally:
        module.randn = original


def run_article(code: Any, path: Path, backend: str) -> tuple[float, str]:
    """Exec the compiled seed script once; return (seconds, captured stdout)."""
    out = io.StringIO()
    scope: dict[str, Any] = {"__name__": "__main__", "__file__": str(path)}
    with fixed_randn(backend), contextlib.redirect_stdout(out):
        gc.collect()
        start = time.perf_counter()
        exec(code, scope)
        elapsed = time.perf_counter() - start
    return elapsed, out.getvalue()


def parse_loss_lines(text: str) -> list[tuple[int, float]]:
    """The article's ``t loss`` lines (its final result line is skipped)."""
    rows = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit():
            rows.append((int(parts[0]), float(parts[1])))
    return rows


# ---------------------------------------------------------------------------------------------
# gradfit, in-process


def article_data(backend: str) -> tuple[Any, Any]:
    """x and y exactly as the article's script for ``backend`` builds them."""
    if backend == "torch":
        import torch

        x = torch.linspace(-math.pi, math.pi, POINTS, device="cpu", dtype=torch.float)
        return x, torch.sin(x)
    x = np.linspace(-math.pi, math.pi, POINTS)
    return x, np.sin(x)


def run_gradfit(x: Any, y: Any) -> tuple[float, gradfit.FitResult]:
    """One ``gradfit.fit`` call on the article's data and weights; (seconds, result)."""
    gc.collect()
    start = time.perf_counter()
    result = gradfit.fit(x, y, init=INIT, reference=False)
    return time.perf_counter() - start, result


def max_rel_diff(a: Sequence[tuple[int, float]], b: Sequence[tuple[int, float]]) -> float:
    """Largest |a - b| / |a| over the logged steps; inf if the steps differ."""
    if [t for t, _ in a] != [t for t, _ in b] or not a:
        return math.inf
    pairs = zip((v for _, v in a), (v for _, v in b), strict=True)
    return max(abs(vb - va) / abs(va) if va else abs(vb) for va, vb in pairs)


def bench_loops(backend: str, seed_dir: Path | None, repeat: int) -> dict[str, Any]:
    """Loop-only comparison for one backend (gradfit alone when seed_dir is None)."""
    x, y = article_data(backend)
    fit_t = Timing(f"gradfit.fit ({backend})")
    loop_t = Timing(f"  of which loop_s ({backend})")
    art_t = Timing(f"article exec ({backend})")
    code = path = None
    if seed_dir is not None:
        path = seed_dir / SEED_FILES[backend]
        code = compile(path.read_text(encoding="utf-8"), str(path), "exec")
        run_article(code, path, backend)  # warm-up
    run_gradfit(x, y)  # warm-up (also imports torch for gradfit's backend)
    article_out = ""
    result = None
    for _ in range(repeat):  # interleaved, so drift hits both sides alike
        if code is not None and path is not None:
            seconds, article_out = run_article(code, path, backend)
            art_t.samples.append(seconds)
        seconds, result = run_gradfit(x, y)
        fit_t.samples.append(seconds)
        loop_t.samples.append(result.timings["loop_s"])
    assert result is not None
    doc: dict[str, Any] = {"gradfit_fit": fit_t, "gradfit_loop": loop_t}
    if code is not None:
        article_losses = parse_loss_lines(article_out)
        diff = max_rel_diff(article_losses, result.loss_history)
        doc.update(
            article=art_t,
            ratio_fit=fit_t.min / art_t.min,
            ratio_loop=loop_t.min / art_t.min,
            loss_lines=len(article_losses),
            loss_max_rel_diff=diff,
            loss_agree=diff <= LOSS_RTOL[backend],
        )
    return doc


# ---------------------------------------------------------------------------------------------
# Whole processes


def time_process(argv: list[str], repeat: int, label: str) -> Timing:
    """Run ``argv`` (once to warm caches, then ``repeat`` times); wall time of each run."""
    timing = Timing(label)
    for i in range(repeat + 1):
        start = time.perf_counter()
        proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            sys.exit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr.decode()}")
        if i:
            timing.samples.append(elapsed)
    return timing


def bench_processes(backend: str, seed_dir: Path | None, repeat: int) -> dict[str, Any]:
    """Whole-process comparison for one backend (gradfit alone when seed_dir is None)."""
    py = sys.executable
    cli = [py, "-m", "gradfit", "fit", "--backend", backend, "--init", INIT_ARG, "--quiet"]
    doc: dict[str, Any] = {}
    if seed_dir is not None:
        seed = str(seed_dir / SEED_FILES[backend])
        doc["article"] = time_process([py, seed], repeat, f"python {SEED_FILES[backend]}")
    doc["gradfit"] = time_process(cli, repeat, f"python -m gradfit fit --backend {backend}")
    if "article" in doc:
        doc["ratio"] = doc["gradfit"].min / doc["article"].min
    return doc


# ---------------------------------------------------------------------------------------------
# Report


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:9.1f}"


def _verdict(ratio: float, target: float | None) -> str:
    if target is None:
        return "(no target)"
    return f"(target <= {target}: {'ok' if ratio <= target else 'OVER'})"


def print_report(loops: dict[str, dict[str, Any]], procs: dict[str, dict[str, Any]]) -> None:
    head = f"{'measurement':<44} {'min ms':>9} {'median ms':>9}"
    print(f"\n1. Loop-only, in-process (same data, same initial weights {INIT_ARG})")
    print(head)
    for doc in loops.values():
        for key in ("article", "gradfit_fit", "gradfit_loop"):
            if key in doc:
                t: Timing = doc[key]
                print(f"{t.label:<44} {_ms(t.min)} {_ms(t.median)}")
    print("\n2. Whole process")
    print(head)
    for doc in procs.values():
        for key in ("article", "gradfit"):
            if key in doc:
                t = doc[key]
                print(f"{t.label:<44} {_ms(t.min)} {_ms(t.median)}")
    if not any("article" in d for d in loops.values()):
        return
    print("\nRatios gradfit / article (min over repeats)")
    for backend, doc in loops.items():
        r = doc["ratio_fit"]
        print(
            f"  loop    {backend:<6} {r:.3f} {_verdict(r, LOOP_TARGET)}"
            f"   (gradfit loop_s / article: {doc['ratio_loop']:.3f})"
        )
    for backend, doc in procs.items():
        r = doc["ratio"]
        print(f"  process {backend:<6} {r:.3f} {_verdict(r, PROCESS_TARGET.get(backend))}")
    print("\n3. Same work: article's printed losses vs gradfit's loss_history")
    for backend, doc in loops.items():
        verdict = "agree" if doc["loss_agree"] else "DIFFER"
        print(
            f"  {backend:<6} {doc['loss_lines']} lines, max rel diff "
            f"{doc['loss_max_rel_diff']:.2e} (tol {LOSS_RTOL[backend]:.0e}): {verdict}"
        )


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Timing):
        return obj.to_dict()
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def default_seed_dir() -> Path:
    env = os.environ.get("GRADFIT_SEED_DIR")
    return Path(env) if env else REPO.parent / "shared" / "seed"


def platform_info() -> dict[str, Any]:
    """What the numbers were measured on (recorded in every benchmark's JSON)."""
    import torch

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "machine": platform.platform(),
    }


def machine_line() -> str:
    """The first line every benchmark prints: versions, threads, CPUs."""
    i = platform_info()
    return (
        f"python {i['python']}, numpy {i['numpy']}, torch {i['torch']} "
        f"({i['torch_threads']} threads), {i['cpus']} CPUs, gradfit {gradfit.__version__}"
    )


def benchmark_parser(description: str) -> argparse.ArgumentParser:
    """The options every benchmark script shares: --repeat, --seed-dir, --json."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--repeat",
        type=int,
        default=5,
        metavar="N",
        help="timed repeats per measurement, after one warm-up (default: 5)",
    )
    parser.add_argument(
        "--seed-dir",
        type=Path,
        default=None,
        metavar="PATH",
        help="folder with seed_numpy.py and seed_torch.py "
        "(default: $GRADFIT_SEED_DIR or <repo>/../shared/seed)",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write the numbers as JSON to FILE",
    )
    return parser


def parse_benchmark_args(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None
) -> argparse.Namespace:
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    return args


def article_dir(seed_dir: Path | None, skipped: str) -> Path | None:
    """The folder holding both article scripts, or None (after saying what is ``skipped``)."""
    seed_dir = seed_dir or default_seed_dir()
    missing = [n for n in SEED_FILES.values() if not (seed_dir / n).is_file()]
    if missing:
        print(f"article scripts not found in {seed_dir} ({', '.join(missing)}): {skipped}")
        return None
    return seed_dir


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_benchmark_args(benchmark_parser(__doc__.splitlines()[0]), argv)

    seed_dir = article_dir(
        args.seed_dir, "the article comparisons are skipped; timing gradfit alone"
    )

    print(f"{machine_line()}, repeat {args.repeat}")
    loops = {b: bench_loops(b, seed_dir, args.repeat) for b in SEED_FILES}
    procs = {b: bench_processes(b, seed_dir, args.repeat) for b in SEED_FILES}
    print_report(loops, procs)

    if args.json is not None:
        doc = {
            "init": list(INIT),
            "repeat": args.repeat,
            "seed_dir": None if seed_dir is None else str(seed_dir),
            "platform": platform_info(),
            "targets": {"loop": LOOP_TARGET, "process": PROCESS_TARGET, "loss_rtol": LOSS_RTOL},
            "loop": _jsonable(loops),
            "process": _jsonable(procs),
        }
        args.json.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
