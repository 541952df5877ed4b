"""Many curves at once: ``gradfit.fit(x, Y)`` for K curves against one curve and numpy.polyfit.

The problem: K curves ``sin(a_k x + b_k)`` plus noise on N points of [-pi, pi] (default
K = 1000, N = 2000), a cubic each, fitted on x scaled to [-1, 1] with heavy-ball momentum at
``--lr auto`` for 2000 steps (converged: the fits equal numpy.polyfit's to ~1e-9).

Timed end to end (the whole ``gradfit.fit`` call: plan, data pass, loop, results), all in one
process, the runs taking turns, each repeated; min and median reported:

- gradfit, one curve (``Y[:, 0]``), method auto (the per-point loop at N < 10^4) and gram;
- gradfit, all K curves (method auto: gram), on numpy and, where installed, torch on
  ``--device`` (float64);
- numpy.polyfit called once per curve (a loop of K calls) and once on the 2-D Y.

Ratios: K curves / one curve (the target: at most 3x), / the polyfit loop, / polyfit on 2-D Y.

Run: ``python benchmarks/bench_many.py [--repeat N] [--curves K] [--points N] [--device D]
[--json FILE] [--markdown]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import gradfit

TARGET = 3.0  # K curves at most this many times one curve
STEPS = 2000
OPTIONS: dict[str, Any] = dict(
    degree=3, scale=True, lr="auto", optimizer="momentum", steps=STEPS, seed=0
)


def problem(curves: int, points: int) -> tuple[np.ndarray, np.ndarray]:
    """x on [-pi, pi] and Y (points, curves): sines of random frequency and phase, plus noise."""
    rng = np.random.default_rng(0)
    x = np.linspace(-np.pi, np.pi, points)
    a = rng.uniform(0.5, 1.5, curves)
    b = rng.uniform(-1.0, 1.0, curves)
    Y = np.sin(np.outer(x, a) + b) + 0.05 * rng.standard_normal((points, curves))
    return x, Y


def _time(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def measure(
    repeat: int = 5, curves: int = 1000, points: int = 2000, device: str = "cpu"
) -> dict[str, Any]:
    """Time every run ``repeat`` times (taking turns, after one warm-up each); the seconds,
    their min and median, the ratios, and how far the K fits are from numpy.polyfit's."""
    x, Y = problem(curves, points)
    runs: dict[str, Callable[[], Any]] = {
        "gradfit one curve (auto)": lambda: gradfit.fit(x, Y[:, 0], **OPTIONS),
        "gradfit one curve (gram)": lambda: gradfit.fit(x, Y[:, 0], method="gram", **OPTIONS),
        "gradfit K curves numpy": lambda: gradfit.fit(x, Y, **OPTIONS),
        "numpy.polyfit loop": lambda: [np.polyfit(x, Y[:, k], 3) for k in range(curves)],
        "numpy.polyfit 2-D Y": lambda: np.polyfit(x, Y, 3),
    }
    torch_note = None
    try:
        import torch
    except ImportError:  # pragma: no cover - the torch extra is not installed
        torch_note = "torch not installed"
    else:
        xt = torch.tensor(x, dtype=torch.float64, device=device)
        Yt = torch.tensor(Y, dtype=torch.float64, device=device)
        runs["gradfit one curve torch (gram)"] = lambda: gradfit.fit(
            xt, Yt[:, 0], method="gram", **OPTIONS
        )
        runs["gradfit K curves torch"] = lambda: gradfit.fit(xt, Yt, **OPTIONS)
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    outputs: dict[str, Any] = {}
    for name, fn in runs.items():  # warm-up: imports, caches, the device
        outputs[name] = fn()
    for _ in range(repeat):
        for name, fn in runs.items():
            s, outputs[name] = _time(fn)
            seconds[name].append(s)
    summary = {
        name: {"min_s": min(v), "median_s": statistics.median(v), "all_s": v}
        for name, v in seconds.items()
    }
    many = summary["gradfit K curves numpy"]["min_s"]

    def ratio(num: str, den: str, key: str = "min_s") -> float | None:
        if num not in summary or den not in summary:
            return None
        return summary[num][key] / summary[den][key]

    pairs = {
        "K curves / one curve (auto)": ("gradfit K curves numpy", "gradfit one curve (auto)"),
        "K curves / one curve (gram)": ("gradfit K curves numpy", "gradfit one curve (gram)"),
        "K curves / numpy.polyfit loop": ("gradfit K curves numpy", "numpy.polyfit loop"),
        "K curves / numpy.polyfit 2-D Y": ("gradfit K curves numpy", "numpy.polyfit 2-D Y"),
        "torch K curves / torch one curve (gram)": (
            "gradfit K curves torch",
            "gradfit one curve torch (gram)",
        ),
    }

    expected = np.polyfit(x, Y, 3)[::-1]
    scale = float(np.abs(expected).max())
    agreement = {
        name: float(np.abs(outputs[name].coef - expected).max() / scale)
        for name in ("gradfit K curves numpy", "gradfit K curves torch")
        if name in outputs
    }
    fitted = outputs["gradfit K curves numpy"]
    return {
        "problem": {"curves": curves, "points": points, "steps": STEPS, "degree": 3},
        "options": {k: v for k, v in OPTIONS.items()},
        "method": fitted.method,
        "device": device,
        "repeat": repeat,
        "seconds": summary,
        "ratios": {name: ratio(*pair) for name, pair in pairs.items()},
        "median_ratios": {name: ratio(*pair, "median_s") for name, pair in pairs.items()},
        "target": {
            "K curves / one curve (auto) at most": TARGET,
            "met": many <= TARGET * summary["gradfit one curve (auto)"]["min_s"],
        },
        "max_rel_diff_vs_polyfit": agreement,
        "timings_of_K_curves": dict(fitted.timings),
        "notes": [n for n in (torch_note,) if n],
        "machine": {"python": sys.version.split()[0], "platform": platform.platform()},
    }


def markdown(result: dict[str, Any]) -> str:
    """The measurements as a Markdown table, then the ratios."""
    p = result["problem"]
    lines = [
        f"{p['curves']} curves x {p['points']} points, degree {p['degree']}, {p['steps']} "
        f"steps (momentum, lr auto, scaled); min / median of {result['repeat']} runs",
        "",
        "| run | min (ms) | median (ms) |",
        "|---|---:|---:|",
    ]
    for name, s in result["seconds"].items():
        lines.append(f"| {name} | {1e3 * s['min_s']:.1f} | {1e3 * s['median_s']:.1f} |")
    lines += ["", "| ratio | of the mins | of the medians |", "|---|---:|---:|"]
    for name, value in result["ratios"].items():
        if value is not None:
            lines.append(f"| {name} | {value:.2f} | {result['median_ratios'][name]:.2f} |")
    lines.append("")
    met = "met" if result["target"]["met"] else "NOT met"
    lines.append(f"Target (K curves at most {TARGET:g}x one curve): {met}.")
    for name, diff in result["max_rel_diff_vs_polyfit"].items():
        lines.append(f"{name}: max |coef - polyfit| / max |coef| = {diff:.1e}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each (default 5)")
    parser.add_argument("--curves", type=int, default=1000, help="K (default 1000)")
    parser.add_argument("--points", type=int, default=2000, help="N (default 2000)")
    parser.add_argument("--device", default="cpu", help="torch's device (cpu, cuda, mps)")
    parser.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    result = measure(args.repeat, args.curves, args.points, args.device)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
    if args.markdown:
        sys.stdout.write(markdown(result))
    else:
        sys.stdout.write(json.dumps({k: result[k] for k in ("ratios", "target")}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
