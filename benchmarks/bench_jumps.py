"""Benchmark gram's exact jumps against the article's NumPy loop and against stepping, in one run.

On the article's problem (sin(x) on [-pi, pi], 2000 points, a cubic, initial weights
0.3,-0.7,0.1,0.05, lr 1e-6, 2000 steps, a loss logged every 100), NumPy float64, taking turns:

1. the article's loop: ``seed_numpy.py`` exec'd from its source with ``randn`` patched to
   return the weights above (as ``bench_article.py`` does);
2. ``gradfit.fit(..., method="manual")``: the article's computation, step by step;
3. ``gradfit.fit(..., method="gram")`` with jumps off (``GramMethod.jumps = False``): the
   sufficient statistics, then every step (O(d^2) each);
4. the same with jumps (the default): the steps between logged ones as one affine map;
5. gram with jumps for ``--steps 10**9`` (a loss logged every 10**8 steps).

Times are whole ``gradfit.fit`` calls (planning, statistics, loop) and the loop alone
(``timings['loop_s']``); each case's logged losses are checked against the article's.

6. The per-step cost of the optimizers that cannot jump (rmsprop, adam) on gram (4 parameters)
   and manual (2000 points), before and after this change: "before" runs the loop one
   ``step()`` at a time with the previous formulas of :mod:`gradfit.optim.pure` (reproduced
   below), "after" the current code (gram: the loop's ``advance``; in-place updates).

Run: ``python benchmarks/bench_jumps.py [--repeat N] [--seed-dir PATH] [--json FILE]
[--markdown]``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
from bench_article import (
    INIT,
    article_data,
    default_seed_dir,
    max_rel_diff,
    parse_loss_lines,
    run_article,
)

import gradfit
from gradfit.methods.gram import GramMethod
from gradfit.optim import pure

STEPS, LOG_EVERY = 2000, 100
BIG_STEPS, BIG_LOG_EVERY = 10**9, 10**8
ADAPTIVE_LR = 1e-3
ADAPTIVE_STEPS = {"gram": 20000, "manual": 2000}


def _fit(method: str, jumps: bool = True, **kw: Any) -> tuple[float, gradfit.FitResult]:
    """One ``gradfit.fit`` on the article's NumPy data and weights: (seconds, result)."""
    x, y = article_data("numpy")
    options: dict[str, Any] = dict(steps=STEPS, log_every=LOG_EVERY, lr=1e-6) | kw
    gc.collect()
    with mock.patch.object(GramMethod, "jumps", jumps):
        start = time.perf_counter()
        result = gradfit.fit(
            x, y, method=method, backend="numpy", init=INIT, reference=False, **options
        )
    return time.perf_counter() - start, result


# The optimizer updates as they were before this change (a temporary per operation), for the
# "before" column of the adaptive optimizers.
def _rmsprop_before(self: pure.RMSprop, grad: Any, state: Any, params: Any) -> Any:
    xp = pure.namespace(grad)
    square_avg = state.square_avg * self.alpha + (1 - self.alpha) * (grad * grad)
    avg = xp.sqrt(square_avg) + self.eps
    if self.momentum:
        buf = state.buf * self.momentum + grad / avg
        return pure.descend(params, self.lr, buf), pure.RMSpropState(square_avg, buf)
    return pure.descend(params, self.lr, grad / avg), pure.RMSpropState(square_avg, state.buf)


def _adam_before(self: pure.Adam, grad: Any, state: Any, params: Any) -> Any:
    xp = pure.namespace(grad)
    b1, b2 = self.betas
    t = state.count + 1
    m = state.m + (1 - b1) * (grad - state.m)
    v = state.v * b2 + (1 - b2) * (grad * grad)
    denom = xp.sqrt(v) / math.sqrt(1 - b2**t) + self.eps
    return pure.descend(params, self.lr / (1 - b1**t), m / denom), pure.AdamState(t, m, v)


@contextlib.contextmanager
def before() -> Iterator[None]:
    """The previous per-step path: no ``advance`` (the loop calls ``step`` every step) and the
    previous optimizer formulas."""
    with (
        mock.patch.object(GramMethod, "advance", None),
        mock.patch.object(pure.RMSprop, "update", _rmsprop_before),
        mock.patch.object(pure.Adam, "update", _adam_before),
    ):
        yield


def _median(samples: list[float]) -> float:
    return statistics.median(samples)


def _turns(cases: dict[str, Callable[[], float]], repeat: int) -> dict[str, list[float]]:
    """Every case once as a warm-up, then ``repeat`` rounds taking turns."""
    for run in cases.values():
        run()
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeat):
        for name, run in cases.items():
            samples[name].append(run())
    return samples


def measure(repeat: int = 5, seed_dir: Path | None = None) -> dict[str, Any]:
    """All the numbers of this benchmark (seconds, minimum over ``repeat`` turns)."""
    seed_dir = seed_dir or default_seed_dir()
    path = seed_dir / "seed_numpy.py"
    if not path.is_file():
        raise FileNotFoundError(f"the article's script is not at {path}: give --seed-dir")
    code = compile(path.read_text(encoding="utf-8"), str(path), "exec")
    article_out: list[str] = []
    results: dict[str, gradfit.FitResult] = {}
    loops: dict[str, list[float]] = {}

    def article() -> float:
        seconds, out = run_article(code, path, "numpy")
        article_out[:] = [out]
        return seconds

    def gradfit_case(name: str, method: str, jumps: bool = True, **kw: Any) -> Callable:
        def run() -> float:
            seconds, results[name] = _fit(method, jumps, **kw)
            loops.setdefault(name, []).append(results[name].timings["loop_s"])
            return seconds

        return run

    cases = {
        "article": article,
        "manual": gradfit_case("manual", "manual"),
        "gram_stepping": gradfit_case("gram_stepping", "gram", jumps=False),
        "gram_jumps": gradfit_case("gram_jumps", "gram"),
        "gram_jumps_1e9": gradfit_case(
            "gram_jumps_1e9", "gram", steps=BIG_STEPS, log_every=BIG_LOG_EVERY
        ),
    }
    fit_s = _turns(cases, repeat)
    article_losses = parse_loss_lines(article_out[0])
    doc: dict[str, Any] = {"repeat": repeat, "article": {"seconds": min(fit_s["article"])}}
    base = min(fit_s["article"])
    for name in list(cases)[1:]:
        result = results[name]
        row = {
            "fit_s": min(fit_s[name]),
            "loop_s": min(loops[name][1:]),  # without the warm-up
            "fit_s_median": _median(fit_s[name]),
            "steps": STEPS if name != "gram_jumps_1e9" else BIG_STEPS,
            "article_over_fit": base / min(fit_s[name]),
            "article_over_loop": base / min(loops[name][1:]),
        }
        if name != "gram_jumps_1e9":
            row["loss_max_rel_diff_vs_article"] = max_rel_diff(article_losses, result.loss_history)
        doc[name] = row
    doc["jumps_vs_stepping_params_max_diff"] = float(
        np.max(np.abs(results["gram_jumps"].params - results["gram_stepping"].params))
    )
    doc["adaptive"] = measure_adaptive(repeat)
    return doc


def measure_adaptive(repeat: int) -> dict[str, Any]:
    """Microseconds per step of rmsprop and adam on gram and manual, before and after."""
    rows: dict[str, Any] = {}
    for method, steps in ADAPTIVE_STEPS.items():
        for optimizer in ("rmsprop", "adam"):
            kw = dict(optimizer=optimizer, lr=ADAPTIVE_LR, steps=steps)
            samples: dict[str, list[float]] = {"before": [], "after": []}
            finals: dict[str, float] = {}
            for turn in range(repeat + 1):  # the first: a warm-up
                for label in ("before", "after"):
                    ctx = before() if label == "before" else contextlib.nullcontext()
                    with ctx:
                        _, result = _fit(method, **kw)
                    if turn:
                        samples[label].append(result.timings["loop_s"] / steps * 1e6)
                    finals[label] = result.final_loss
            b, a = min(samples["before"]), min(samples["after"])
            rows[f"{method}_{optimizer}"] = {
                "before_us": b,
                "after_us": a,
                "before_over_after": b / a,
                "same_final_loss": finals["before"] == finals["after"],
            }
    return rows


def report(doc: dict[str, Any], markdown: bool = False) -> str:
    """The numbers as text lines, or as Markdown tables."""
    base = doc["article"]["seconds"]
    head = ("case", "steps", "fit (ms)", "loop (ms)", "article / fit", "article / loop")
    rows = [("article's NumPy loop (exec)", str(STEPS), f"{base * 1e3:.2f}", "", "1", "")]
    labels = {
        "manual": "gradfit manual",
        "gram_stepping": "gradfit gram, stepping",
        "gram_jumps": "gradfit gram, jumps",
        "gram_jumps_1e9": "gradfit gram, jumps, 10^9 steps",
    }
    for key, label in labels.items():
        r = doc[key]
        rows.append(
            (
                label,
                f"{r['steps']:.0e}" if r["steps"] > 10**6 else str(r["steps"]),
                f"{r['fit_s'] * 1e3:.2f}",
                f"{r['loop_s'] * 1e3:.3f}",
                f"{r['article_over_fit']:.1f}",
                f"{r['article_over_loop']:.0f}",
            )
        )
    head2 = ("optimizer", "before (us/step)", "after (us/step)", "before / after")
    rows2 = [
        (
            key.replace("_", " "),
            f"{r['before_us']:.2f}",
            f"{r['after_us']:.2f}",
            f"{r['before_over_after']:.2f}",
        )
        for key, r in doc["adaptive"].items()
    ]
    if markdown:
        return _md(head, rows) + "\n\n" + _md(head2, rows2)
    lines = [_plain(head, rows), "", _plain(head2, rows2)]
    diffs = [
        f"{labels[k]}: {doc[k]['loss_max_rel_diff_vs_article']:.1e}"
        for k in labels
        if "loss_max_rel_diff_vs_article" in doc[k]
    ]
    lines += ["", "logged losses vs the article's (max relative difference): " + ", ".join(diffs)]
    return "\n".join(lines)


def _md(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def _plain(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    return "\n".join(
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in [head, *rows]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, metavar="N", help="turns (default 5)")
    parser.add_argument(
        "--seed-dir", type=Path, default=None, metavar="PATH", help="folder with seed_numpy.py"
    )
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="write JSON")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    try:
        doc = measure(args.repeat, args.seed_dir)
    except FileNotFoundError as exc:
        print(f"bench_jumps: error: {exc}", file=sys.stderr)
        return 2
    print(report(doc, args.markdown))
    if args.json is not None:
        args.json.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
