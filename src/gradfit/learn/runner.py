"""The subprocess that runs a learner's code: ``python -m gradfit.learn.runner``.

It reads a JSON list of jobs ``{"id", "exercise", "path"}`` on stdin, imports each learner's
file by path, calls its function on the fixed inputs of :mod:`gradfit.learn.problem`, and
writes one JSON line per job on stdout as soon as it is done (so that a job that never ends
costs only itself: the parent stops waiting after its time limit). What a learner's code prints
goes to stderr. Nothing here judges the numbers; :mod:`gradfit.learn.check` does.

A result line: ``{"id", "status", ...}`` with status ``ran`` (and ``result``), ``todo`` (the
function still raises the template's NotImplementedError), ``error`` (``error``: kind, message,
file, line, code), ``missing`` (no such function) or ``no-torch``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from . import problem

FUNCTIONS = {
    "forward": "predict",
    "loss": "loss",
    "gradients": "gradients",
    "update": "update",
    "loop": "train",
    "stable_rate": "stable_learning_rate",
    "torch_loop": "train",
    "autograd": "train",
    "nn_optim": "train",
    "custom_function": "LegendrePolynomial3",
    "momentum": "momentum_step",
    "formula": "gradients",
}


class BadReturn(Exception):
    """The learner's function returned something that is not numbers (None, a string)."""


def floats(value: Any) -> Any:
    """Numbers, arrays and tensors (nested in tuples and lists) as plain floats and lists."""
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().double().numpy()
    if isinstance(value, (list, tuple)):
        return [floats(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.astype(np.float64).tolist()
    try:
        return float(value)
    except (TypeError, ValueError):
        shown = repr(value)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        raise BadReturn(f"returned {shown}, where numbers were expected") from None


def _forward(m: ModuleType) -> Any:
    x, _ = problem.data()
    return {"values": [floats(m.predict(x, *p)) for p in problem.POINTS]}


def _loss(m: ModuleType) -> Any:
    x, y = problem.data()
    return {"values": [floats(m.loss(problem.predict(x, *p), y)) for p in problem.POINTS]}


def _gradients(m: ModuleType) -> Any:
    x, y = problem.data()
    return {"values": [floats(m.gradients(x, y, *p)) for p in problem.POINTS]}


def _update(m: ModuleType) -> Any:
    params, grads = (0.1, -0.4, 0.3, 0.05), (200.0, -1500.0, 3000.0, 12000.0)
    return {"values": floats(m.update(params, grads, 1e-4)), "params": params, "grads": grads}


def _loop(m: ModuleType) -> Any:
    x, y = problem.data()
    lr = float(getattr(m, "LEARNING_RATE", problem.LR))
    losses, params = m.train(x, y, *problem.START, lr=lr, steps=problem.STEPS)
    return {"lr": lr, "losses": floats(losses), "params": floats(params)}


def _torch_data() -> tuple[Any, Any, Any]:
    import torch

    x, y = problem.data()
    return torch, torch.from_numpy(x), torch.from_numpy(y)


def _torch_loop(m: ModuleType, requires_grad: bool = False) -> Any:
    torch, x, y = _torch_data()
    start = [
        torch.tensor(v, dtype=torch.float64, requires_grad=requires_grad) for v in problem.START
    ]
    losses, params = m.train(x, y, *start, lr=problem.LR, steps=problem.STEPS)
    return {"lr": problem.LR, "losses": floats(losses), "params": floats(params)}


def _nn_optim(m: ModuleType) -> Any:
    torch, x, y = _torch_data()
    xx = x.unsqueeze(-1).pow(torch.tensor([1, 2, 3]))
    model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1)).double()
    with torch.no_grad():
        model[0].bias.fill_(problem.START[0])
        model[0].weight.copy_(torch.tensor([problem.START[1:]], dtype=torch.float64))
    losses = m.train(model, xx, y, lr=problem.LR, steps=problem.STEPS)
    params = [model[0].bias.item(), *model[0].weight.detach().reshape(-1).tolist()]
    return {"lr": problem.LR, "losses": floats(losses), "params": params}


def _custom_function(m: ModuleType) -> Any:
    import torch

    xs, g = problem.p3_inputs()
    t = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    out = m.LegendrePolynomial3.apply(t)
    result = {"forward": floats(out)}
    out.backward(torch.from_numpy(g))
    result["backward"] = None if t.grad is None else floats(t.grad)
    return result


def _momentum(m: ModuleType) -> Any:
    x, y = problem.data()
    w, v = np.array(problem.START), np.zeros(4)
    path = []
    for _ in range(problem.MOMENTUM_STEPS):
        g = problem.gradients(x, y, *w)
        w, v = m.momentum_step(w, v, g, problem.LR, problem.MOMENTUM)
        w, v = np.asarray(w, dtype=np.float64), np.asarray(v, dtype=np.float64)
        path.append(floats(w))
    return {"path": path}


def _formula(m: ModuleType) -> Any:
    x, y = problem.FORMULA_X, problem.FORMULA_Y
    return {"values": [floats(m.gradients(x, y, *p)) for p in problem.FORMULA_POINTS]}


PROBES: dict[str, Callable[[ModuleType], Any]] = {
    "forward": _forward,
    "loss": _loss,
    "gradients": _gradients,
    "update": _update,
    "loop": _loop,
    "stable_rate": lambda m: {
        "values": [floats(m.stable_learning_rate(x)) for x in problem.rate_inputs()],
    },
    "torch_loop": _torch_loop,
    "autograd": lambda m: _torch_loop(m, requires_grad=True),
    "nn_optim": _nn_optim,
    "custom_function": _custom_function,
    "momentum": _momentum,
    "formula": _formula,
}
TORCH = {"torch_loop", "autograd", "nn_optim", "custom_function"}


def _torch_importable() -> bool:
    try:
        import torch  # noqa: F401  (imported once; the torch exercises use it)
    except Exception:  # missing, or installed but broken: either way not the learner's fault
        return False
    return True


def _where(exc: BaseException, path: Path) -> dict[str, Any]:
    """The line of the learner's file an exception came from (the innermost such frame)."""
    if isinstance(exc, SyntaxError) and exc.filename and Path(exc.filename).resolve() == path:
        return {"file": str(path), "line": exc.lineno, "code": (exc.text or "").strip()}
    found: dict[str, Any] = {}
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename and Path(frame.filename).resolve() == path:
            found = {"file": str(path), "line": frame.lineno, "code": (frame.line or "").strip()}
    return found


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Import one learner's file and probe it: the result line for ``job``."""
    name, path = job["exercise"], Path(job["path"]).resolve()
    out: dict[str, Any] = {"id": job["id"], "function": FUNCTIONS[name]}
    if name in TORCH and not _torch_importable():
        return {**out, "status": "no-torch"}
    try:
        spec = importlib.util.spec_from_file_location(f"learner_{job['id']}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if not hasattr(module, FUNCTIONS[name]):
            return {**out, "status": "missing", "function": FUNCTIONS[name]}
        return {**out, "status": "ran", "result": PROBES[name](module)}
    except NotImplementedError as exc:
        if str(exc).startswith("TODO"):
            return {**out, "status": "todo", "message": str(exc), **_where(exc, path)}
        return {**out, "status": "error", "error": _error(exc, path)}
    except (Exception, SystemExit) as exc:  # the learner's mistake, reported as a hint
        return {**out, "status": "error", "error": _error(exc, path)}


def _error(exc: BaseException, path: Path) -> dict[str, Any]:
    message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    return {"kind": type(exc).__name__, "message": message, **_where(exc, path)}


def main() -> int:
    """Run the jobs read from stdin; one JSON line per job on the real stdout."""
    jobs = json.loads(sys.stdin.read())
    results = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    sys.stdout = sys.stderr  # the learner's prints must not mix with the results
    os.dup2(sys.stderr.fileno(), 1)
    for job in jobs:
        line = run_job(job)
        results.write(json.dumps(line) + "\n")
        results.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
