"""Benchmark every gradfit method against the article's loop and the PyTorch tutorial's programs.

What one run measures (see benchmarks/README.md), on the article's problem: sin(x) on
[-pi, pi], 2000 points, a cubic, initial weights 0.3,-0.7,0.1,0.05, 2000 steps of SGD with
lr 1e-6, torch float32 on the CPU and numpy float64:

1. Time per step, in-process: each gradfit method on each backend it supports
   (``gradfit.run(...).timings['loop_s'] / steps``), the article's script (``seed_torch.py`` /
   ``seed_numpy.py``, exec'd as ``bench_article.py`` does) and the PyTorch tutorial's autograd
   and nn programs (written out below from the tutorial's text). All take turns; each is
   repeated; min and median reported. Ratios: gradfit vs tutorial, tutorial vs article.
2. Same work: every run's logged losses against the article's printed ones.
3. Where the overhead goes, for gradfit's autograd and nn methods next to the tutorial's
   programs: wall time per step of cumulative stages (forward; + backward; with the code's own
   gradient zeroing; + update; the whole training loop), at N=2000 and at N=4 points (where
   almost nothing is data-proportional, so what is left is the fixed cost of Python, the
   dispatcher and autograd bookkeeping), the ATen ops each stage dispatches per step and the
   Python time of torch.optim (torch.profiler).

Run: ``python benchmarks/bench_methods.py [--repeat N] [--seed-dir PATH] [--json FILE]``.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from bench_article import (
    INIT,
    INIT_ARG,
    LOSS_RTOL,
    POINTS,
    SEED_FILES,
    Timing,
    _jsonable,
    article_dir,
    benchmark_parser,
    machine_line,
    max_rel_diff,
    parse_benchmark_args,
    parse_loss_lines,
    platform_info,
    run_article,
)
from torch.profiler import ProfilerActivity, profile

import gradfit
from gradfit.backends import Backend, resolve_backend
from gradfit.data import make_problem
from gradfit.methods import make_method
from gradfit.models import make_model
from gradfit.training.loop import train

STEPS = 2000
LOG_EVERY = 100
LR = 1e-6
# (method, backend) pairs gradfit supports; numpy runs float64, torch float32 (the defaults).
GRADFIT_RUNS = (
    ("manual", "numpy"),
    ("manual", "torch"),
    ("autograd", "torch"),
    ("nn", "torch"),
    ("module", "torch"),
)
SPLIT_METHODS = ("autograd", "nn")
SPLIT_POINTS = (POINTS, 4)
METHOD_TARGET = 1.0  # gradfit autograd / tutorial autograd, gradfit nn / tutorial nn
NOISE = 0.05  # timing noise allowed before a ratio over its target is reported as OVER


# ---------------------------------------------------------------------------------------------
# The PyTorch tutorial's programs ("Learning PyTorch with Examples": polynomial_autograd.py and
# polynomial_nn.py), as published, with two changes: the weights start at INIT instead of
# torch.randn, and ``steps`` and ``points`` are parameters (section 3 runs them short and small).


def tutorial_autograd(steps: int = STEPS, points: int = POINTS) -> None:
    """PyTorch: Tensors and autograd. 0-d weights with ``requires_grad``, ``loss.backward()``,
    the update written by hand under ``torch.no_grad()``, gradients reset to None."""
    dtype = torch.float
    device = torch.device("cpu")
    x = torch.linspace(-math.pi, math.pi, points, device=device, dtype=dtype)
    y = torch.sin(x)
    a, b, c, d = (torch.tensor(v, device=device, dtype=dtype, requires_grad=True) for v in INIT)
    learning_rate = LR
    for t in range(steps):
        y_pred = a + b * x + c * x**2 + d * x**3
        loss = (y_pred - y).pow(2).sum()
        if t % 100 == 99:
            print(t, loss.item())
        loss.backward()
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
    print(f"Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3")


def tutorial_nn(steps: int = STEPS, points: int = POINTS) -> None:
    """PyTorch: nn. ``nn.Sequential(nn.Linear(3, 1), nn.Flatten(0, 1))`` on (x, x^2, x^3),
    ``nn.MSELoss(reduction='sum')``, ``model.zero_grad()``, the update written by hand."""
    x = torch.linspace(-math.pi, math.pi, points)
    y = torch.sin(x)
    p = torch.tensor([1, 2, 3])
    xx = x.unsqueeze(-1).pow(p)
    model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
    with torch.no_grad():  # INIT instead of the layer's random initialisation
        model[0].bias.fill_(INIT[0])
        model[0].weight.copy_(torch.tensor([INIT[1:]]))
    loss_fn = torch.nn.MSELoss(reduction="sum")
    learning_rate = LR
    for t in range(steps):
        y_pred = model(xx)
        loss = loss_fn(y_pred, y)
        if t % 100 == 99:
            print(t, loss.item())
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for param in model.parameters():
                param -= learning_rate * param.grad
    linear_layer = model[0]
    print(
        f"Result: y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x + "
        f"{linear_layer.weight[:, 1].item()} x^2 + {linear_layer.weight[:, 2].item()} x^3"
    )


TUTORIALS: dict[str, Callable[..., None]] = {"autograd": tutorial_autograd, "nn": tutorial_nn}


def run_program(fn: Callable[[], None]) -> tuple[float, str]:
    """Call ``fn`` once with stdout captured (as the article's exec is); (seconds, stdout)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        gc.collect()
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
    return elapsed, out.getvalue()


# ---------------------------------------------------------------------------------------------
# 1 and 2. Time per step, same work


@dataclass
class Subject:
    """One thing timed in section 1: a callable returning (loop seconds, logged losses)."""

    key: str
    label: str
    backend: str
    run: Callable[[], tuple[float, list[tuple[int, float]]]]
    timing: Timing
    losses: list[tuple[int, float]] | None = None


def gradfit_runner(method: str, backend: str) -> Callable[[], tuple[float, Any]]:
    config = gradfit.FitConfig(
        method=method,
        backend=backend,
        optimizer="sgd",
        lr=LR,
        init=INIT,
        steps=STEPS,
        log_every=LOG_EVERY,
    )

    def run() -> tuple[float, Any]:
        gc.collect()
        result = gradfit.run(config, reference=False)
        return result.timings["loop_s"], result.loss_history

    return run


def article_runner(seed_dir: Path, backend: str) -> Callable[[], tuple[float, Any]]:
    path = seed_dir / SEED_FILES[backend]
    code = compile(path.read_text(encoding="utf-8"), str(path), "exec")

    def run() -> tuple[float, Any]:
        seconds, out = run_article(code, path, backend)
        return seconds, parse_loss_lines(out)

    return run


def tutorial_runner(fn: Callable[[], None]) -> Callable[[], tuple[float, Any]]:
    def run() -> tuple[float, Any]:
        seconds, out = run_program(fn)
        return seconds, parse_loss_lines(out)

    return run


def make_subjects(seed_dir: Path | None) -> list[Subject]:
    subjects = []
    for backend in ("numpy", "torch"):
        if seed_dir is not None:
            label = f"article loop ({SEED_FILES[backend]})"
            run = article_runner(seed_dir, backend)
            subjects.append(Subject(f"article/{backend}", label, backend, run, Timing(label)))
        if backend == "torch":
            for name, fn in TUTORIALS.items():
                label = f"tutorial {name} program"
                run = tutorial_runner(fn)
                subjects.append(Subject(f"tutorial/{name}", label, backend, run, Timing(label)))
        for method, b in GRADFIT_RUNS:
            if b == backend:
                label = f"gradfit {method}/{backend}"
                run = gradfit_runner(method, backend)
                subjects.append(Subject(f"{method}/{backend}", label, backend, run, Timing(label)))
    return subjects


def bench_steps(subjects: list[Subject], repeat: int) -> None:
    """One warm-up each, then ``repeat`` rounds in turn (drift hits every subject alike)."""
    for s in subjects:
        s.run()
    for _ in range(repeat):
        for s in subjects:
            seconds, s.losses = s.run()
            s.timing.samples.append(seconds / STEPS)


# ---------------------------------------------------------------------------------------------
# 3. Where the overhead goes

SPLIT_STEPS = 500  # steps per sample; repeat samples per stage after a warm-up, min reported
# Cumulative stages, each a superset of the one before; a row of the table is the difference of
# two. "backward" resets the gradients the plainest way (p.grad = None) after loss.backward();
# "zero_grad" swaps that for the code's own zeroing (optimizer.zero_grad(), model.zero_grad(),
# or the tutorial's p.grad = None); "step" adds the update; "loop" is the whole training loop
# (gradfit's train(), or the tutorial's program from its first line to its last).
STAGES = ("forward", "backward", "zero_grad", "step", "loop")


@contextlib.contextmanager
def quiet_stderr_fd() -> Iterator[None]:
    """Silence the profiler's C++ start/stop lines (written to fd 2, not sys.stderr)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)


def profile_ops(fn: Callable[[], Any], calls: int = 10) -> tuple[float, float]:
    """Per call of ``fn``: the ATen ops dispatched (ops called by other ops not counted; backward
    ops run by the autograd engine are), and the seconds spent in torch.optim's own Python (self
    time of the profiler's ``Optimizer.*`` ranges: inside them, outside any op)."""
    with quiet_stderr_fd(), profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(calls):
            fn()
    count = 0
    optim_us = 0.0
    for event in prof.events():
        if event.name.startswith("Optimizer."):
            optim_us += event.self_cpu_time_total
        if not event.name.startswith("aten::"):
            continue
        parent = event.cpu_parent
        while parent is not None and not parent.name.startswith("aten::"):
            parent = parent.cpu_parent
        count += parent is None
    return count / calls, optim_us * 1e-6 / calls


def build_method(name: str, points: int) -> tuple[Any, Backend]:
    """The method object gradfit.run builds for the article's problem with ``points`` points."""
    config = gradfit.FitConfig(
        method=name, backend="torch", lr=LR, init=INIT, points=points, steps=STEPS
    ).validated()
    be = resolve_backend(config.backend, config.device, config.dtype)
    problem = make_problem(be, config.target, config.points, config.x_range)
    model = make_model(config.model, config.degree, config.basis)
    spec = config.optimizer_spec(model)
    return make_method(name, model, problem, be, spec, np.asarray(INIT, dtype=np.float64)), be


def plain_backward(forward: Callable[[], Any], params: list[Any]) -> Callable[[], None]:
    def backward() -> None:
        forward().backward()
        for param in params:
            param.grad = None

    return backward


def gradfit_stages(name: str, points: int) -> dict[str, Callable[[], Any]]:
    """gradfit's method ``name``, cut into cumulative stages (one step each; loop: SPLIT_STEPS)."""
    m, be = build_method(name, points)
    if name == "autograd":
        params = [m.w]

        def forward() -> Any:  # what AutogradMethod._closure computes before backward()
            residual = m.model.forward(m.w, m.cache) - m.y
            return (residual * residual).sum()
    else:
        params = list(m.module.parameters())

        def forward() -> Any:  # what NNMethod._closure computes before backward()
            return m.loss_fn(m.module(), m.y)

    if not torch.allclose(forward().detach(), m.loss(), rtol=1e-6):
        raise RuntimeError(f"the {name} forward pass here no longer matches gradfit's")
    return {
        "forward": forward,
        "backward": plain_backward(forward, params),
        "zero_grad": m._closure,  # optimizer.zero_grad(), forward, loss.backward()
        "step": lambda: m.step(False),  # the same, then optimizer.step()
        "loop": lambda: train(m, be, steps=SPLIT_STEPS, log_every=LOG_EVERY),
    }


def tutorial_stages(name: str, points: int) -> dict[str, Callable[[], Any]]:
    """The tutorial's program ``name``, cut into the same stages; its loop body's lines in its
    order (autograd: backward, update, grads to None; nn: zero_grad, backward, update)."""
    learning_rate = LR
    x = torch.linspace(-math.pi, math.pi, points)
    y = torch.sin(x)
    if name == "autograd":
        a, b, c, d = params = [torch.tensor(v, requires_grad=True) for v in INIT]

        def forward() -> Any:
            y_pred = a + b * x + c * x**2 + d * x**3
            return (y_pred - y).pow(2).sum()

        def zero() -> None:
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None

    else:
        xx = x.unsqueeze(-1).pow(torch.tensor([1, 2, 3]))
        model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
        with torch.no_grad():
            model[0].bias.fill_(INIT[0])
            model[0].weight.copy_(torch.tensor([INIT[1:]]))
        loss_fn = torch.nn.MSELoss(reduction="sum")
        params = list(model.parameters())

        def forward() -> Any:
            return loss_fn(model(xx), y)

        zero = model.zero_grad

    def update() -> None:
        with torch.no_grad():
            for param in params:
                param -= learning_rate * param.grad

    def own_zero_grad(with_update: bool) -> Callable[[], None]:
        def run() -> None:
            loss = forward()
            if name == "nn":
                zero()
            loss.backward()
            if with_update:
                update()
            if name == "autograd":
                zero()

        return run

    def loop() -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            TUTORIALS[name](SPLIT_STEPS, points)

    return {
        "forward": forward,
        "backward": plain_backward(forward, params),
        "zero_grad": own_zero_grad(False),
        "step": own_zero_grad(True),
        "loop": loop,
    }


def bench_split(repeat: int) -> dict[str, dict[str, dict[int, dict[str, Any]]]]:
    """split[method][impl][points] = {'timings': {stage: Timing per step}, 'ops': {stage: n}}."""
    builders = {"gradfit": gradfit_stages, "tutorial": tutorial_stages}
    out: dict[str, dict[str, dict[int, dict[str, Any]]]] = {}
    for name in SPLIT_METHODS:
        out[name] = {impl: {} for impl in builders}
        cases = []
        for impl, build in builders.items():
            for points in SPLIT_POINTS:
                stages = build(name, points)
                timings = {s: Timing(f"{impl} {name} N={points} {s}") for s in STAGES}
                out[name][impl][points] = doc = {"timings": timings}
                cases.append((stages, timings, doc))
        for sample in range(repeat + 1):  # the first round is a warm-up
            for stages, timings, _ in cases:
                for stage, fn in stages.items():
                    calls = 1 if stage == "loop" else SPLIT_STEPS
                    gc.collect()
                    start = time.perf_counter()
                    for _ in range(calls):
                        fn()
                    if sample:
                        timings[stage].samples.append((time.perf_counter() - start) / SPLIT_STEPS)
        for stages, _, doc in cases:  # profiled after the warm-up: no first-call costs counted
            profiled = {s: profile_ops(stages[s]) for s in STAGES if s != "loop"}
            doc["ops"] = {s: ops for s, (ops, _) in profiled.items()}
            doc["optim_python_s"] = profiled["step"][1]
    return out


# ---------------------------------------------------------------------------------------------
# Report


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:8.1f}"


def _verdict(ratio: float, target: float) -> str:
    if ratio <= target:
        return f"(target <= {target}: ok)"
    if ratio <= target * (1 + NOISE):
        return f"(target <= {target}: within {NOISE:.0%} noise)"
    return f"(target <= {target}: OVER)"


def ratios(subjects: dict[str, Subject]) -> list[tuple[str, str, str, float | None]]:
    """(name, numerator key, denominator key, target) of each ratio printed."""
    rows: list[tuple[str, str, str, float | None]] = [
        (
            "gradfit autograd / tutorial autograd",
            "autograd/torch",
            "tutorial/autograd",
            METHOD_TARGET,
        ),
        ("gradfit nn / tutorial nn", "nn/torch", "tutorial/nn", METHOD_TARGET),
        ("tutorial autograd / article loop", "tutorial/autograd", "article/torch", None),
        ("tutorial nn / article loop", "tutorial/nn", "article/torch", None),
        ("gradfit manual/torch / article loop", "manual/torch", "article/torch", None),
        ("gradfit manual/numpy / article loop", "manual/numpy", "article/numpy", None),
        ("gradfit autograd / article loop", "autograd/torch", "article/torch", None),
        ("gradfit nn / article loop", "nn/torch", "article/torch", None),
        ("gradfit module / article loop", "module/torch", "article/torch", None),
    ]
    return [r for r in rows if r[1] in subjects and r[2] in subjects]


def print_steps(subjects: dict[str, Subject]) -> dict[str, float]:
    print(f"\n1. Time per step, in-process ({STEPS} steps, {POINTS} points, init {INIT_ARG})")
    print(f"{'measurement':<40} {'backend':<14} {'min us':>8} {'median us':>9}")
    for s in subjects.values():
        dtype = "float64" if s.backend == "numpy" else "float32"
        t = s.timing
        print(f"{s.label:<40} {s.backend + ' ' + dtype:<14} {_us(t.min)} {_us(t.median):>9}")
    print("\nRatios (min over min)")
    out = {}
    for name, num, den, target in ratios(subjects):
        r = subjects[num].timing.min / subjects[den].timing.min
        out[name] = r
        verdict = "" if target is None else " " + _verdict(r, target)
        print(f"  {name:<38} {r:6.2f}{verdict}")
    return out


def same_work(subjects: dict[str, Subject]) -> dict[str, float]:
    """Largest relative loss difference of each subject against its backend's article run."""
    print("\n2. Same work: logged losses against the article's printed ones")
    out = {}
    if not any(key.startswith("article/") for key in subjects):
        print("  (skipped: the article's scripts were not found)")
    for s in subjects.values():
        ref = subjects.get(f"article/{s.backend}")
        if ref is None or ref is s or s.losses is None or ref.losses is None:
            continue
        diff = max_rel_diff(ref.losses, s.losses)
        out[s.key] = diff
        tol = LOSS_RTOL[s.backend]
        verdict = "agree" if diff <= tol else "DIFFER"
        print(f"  {s.label:<38} {len(s.losses)} lines, max rel diff {diff:.1e}: {verdict}")
    return out


ROWS = (  # (key, label, stage, stage before it): a row is the difference of two stages
    ("forward", "forward + loss", "forward", None),
    ("backward", "loss.backward()", "backward", "forward"),
    ("zero_grad", "zeroing grads (its own way)", "zero_grad", "backward"),
    ("update", "update (optimizer / by hand)", "step", "zero_grad"),
    ("loop", "loop: range, logging, .item()", "loop", "step"),
    ("total", "total per step", "loop", None),
)


def split_rows(doc: dict[str, Any]) -> dict[str, tuple[float, float | None]]:
    """{row key: (seconds per step, ATen ops per step or None)} for one impl at one N."""
    t = {s: doc["timings"][s].min for s in STAGES}
    ops = {**doc["ops"], "loop": doc["ops"]["step"]}
    rows: dict[str, tuple[float, float | None]] = {}
    for key, _, hi, lo in ROWS:
        n = None if key == "loop" else ops[hi] - (ops[lo] if lo else 0.0)
        rows[key] = (t[hi] - (t[lo] if lo else 0.0), n)
    return rows


def print_split(split: dict[str, dict[str, dict[int, dict[str, Any]]]]) -> dict[str, Any]:
    n_big, n_small = SPLIT_POINTS
    print("\n3. Where the overhead goes (torch float32 CPU, us per step, min over repeats)")
    print(f"   Rows are differences of cumulative stages. N={n_small} points leaves only the fixed")
    print("   cost (Python, dispatcher, autograd bookkeeping). ops = ATen ops dispatched per step")
    print(f"   (torch.profiler). share = of the total at N={n_big}.")
    summary: dict[str, Any] = {}
    head = f" {'N=' + str(n_big):>8} {'share':>6} {'N=' + str(n_small):>7} {'ops':>4} |"
    for name, impls in split.items():
        print(f"\n  {name:<31}|{'gradfit':^29}|{'tutorial':^29}|\n  {'':<31}|" + head * 2)
        rows = {impl: {n: split_rows(impls[impl][n]) for n in SPLIT_POINTS} for impl in impls}
        g, tu = rows["gradfit"], rows["tutorial"]
        for key, label, _, _ in ROWS:
            line = f"  {label:<31}|"
            for r in (g, tu):
                big, ops = r[n_big][key]
                share = big / r[n_big]["total"][0]
                n = "" if ops is None else f"{ops:.0f}"
                line += f" {_us(big)} {share:6.0%} {r[n_small][key][0] * 1e6:7.1f} {n:>4} |"
            print(line)
        diff = {key: (g[n_big][key][0] - tu[n_big][key][0]) * 1e6 for key, *_ in ROWS}
        print(
            f"  gradfit - tutorial: {diff.pop('total'):+.1f} us/step = "
            + ", ".join(f"{key} {d:+.1f}" for key, d in diff.items())
        )
        for impl, r in rows.items():
            total, fixed = r[n_big]["total"][0], r[n_small]["total"][0]
            ops = r[n_big]["total"][1] or math.nan
            print(
                f"  {impl}: fixed cost (N={n_small}) {fixed / total:.0%} of the total; "
                f"data-proportional {(total - fixed) * 1e6:.1f} us; "
                f"{fixed / ops * 1e6:.1f} us fixed per ATen op"
            )
        optim = impls["gradfit"][n_big]["optim_python_s"]
        print(
            f"  gradfit: torch.optim's own Python (zero_grad + step, profiler self time, "
            f"inflated by profiling): {optim * 1e6:.1f} us/step"
        )
        summary[name] = {
            impl: {
                str(n): {k: {"s": v[0], "ops": v[1]} for k, v in r.items()} for n, r in rs.items()
            }
            for impl, rs in rows.items()
        }
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_benchmark_args(benchmark_parser(__doc__.splitlines()[0]), argv)
    seed_dir = article_dir(args.seed_dir, "the article rows and ratios are skipped")

    print(f"{machine_line()}, repeat {args.repeat}")
    subjects = {s.key: s for s in make_subjects(seed_dir)}
    bench_steps(list(subjects.values()), args.repeat)
    split = bench_split(args.repeat)
    article_ops = None
    if "article/torch" in subjects:  # the whole script profiled once (its setup: ~10 ops)
        run = subjects["article/torch"].run
        article_ops = profile_ops(run, calls=1)[0] / STEPS

    step_ratios = print_steps(subjects)
    loss_diffs = same_work(subjects)
    split_summary = print_split(split)
    if article_ops is not None:
        t = subjects["article/torch"].timing.min
        print(
            f"\n  for comparison, the article's torch loop (no autograd): {article_ops:.0f} ATen "
            f"ops/step, {t * 1e6:.1f} us/step, {t / article_ops * 1e6:.1f} us per op"
        )

    if args.json is not None:
        doc = {
            "init": list(INIT),
            "steps": STEPS,
            "points": POINTS,
            "repeat": args.repeat,
            "seed_dir": None if seed_dir is None else str(seed_dir),
            "platform": platform_info(),
            "per_step_s": {k: s.timing for k, s in subjects.items()},
            "ratios": step_ratios,
            "loss_max_rel_diff": loss_diffs,
            "split": split_summary,
            "article_torch_ops_per_step": article_ops,
            "split_stages_raw": {
                name: {impl: {str(n): d for n, d in docs.items()} for impl, docs in impls.items()}
                for name, impls in split.items()
            },
        }
        args.json.write_text(json.dumps(_jsonable(doc), indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
