"""Run learners' files in a subprocess with a time limit, and turn the results into hints.

The learner's code never runs in gradfit's own process: :mod:`gradfit.learn.runner` imports it
in a fresh ``python`` (the same interpreter), in an empty working directory, and reports one
JSON line per file. A file that does not finish within the time limit costs only itself: the
runner is stopped and started again for the files after it. Whatever the learner's code does
(a syntax error, an exception, a wrong shape, a loop that never ends) becomes an
:class:`Outcome` with a hint, never a gradfit traceback.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import Exercise
from .diagnose import DIAGNOSES

TIME_LIMIT = 20.0  # seconds per file: the slowest reference (the torch loops) takes ~1 s
LOOPS = {"loop", "torch_loop", "autograd", "nn_optim", "momentum"}


@dataclass(frozen=True)
class Outcome:
    """What checking one file found: ``pass``, ``fail`` or ``skip`` (torch not installed)."""

    exercise: Exercise
    path: Path
    status: str
    hint: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "pass"


def run_checks(
    items: Sequence[tuple[Exercise, Path]],
    time_limit: float = TIME_LIMIT,
    stop_at_failure: bool = False,
) -> list[Outcome]:
    """Check each (exercise, learner's file): one runner subprocess for all of them (torch is
    imported once), ``time_limit`` seconds for each file. ``stop_at_failure``: stop at the first
    file that does not pass (the command line's ``check``)."""
    outcomes: list[Outcome] = []
    todo = [(ex, Path(p)) for ex, p in items]
    while todo:
        ex, path = todo[0]
        if not path.is_file():  # deleted since 'start': say so, and go on with the others
            hint = f"{path} is missing: 'gradfit learn start {path.parent}' writes it again"
            outcomes.append(Outcome(ex, path, "fail", hint))
            todo = todo[1:]
        else:
            batch = []
            for item in todo:  # the files up to the next missing one, in one runner
                if not item[1].is_file():
                    break
                batch.append(item)
            done = _run_batch(batch, time_limit, stop_at_failure)
            outcomes.extend(done)
            todo = todo[len(done) :]
        if stop_at_failure and outcomes and outcomes[-1].status == "fail":
            break
    return outcomes


def _run_batch(
    items: list[tuple[Exercise, Path]], time_limit: float, stop_at_failure: bool
) -> list[Outcome]:
    """Run files in one runner until all are done, one times out, the runner dies, or (with
    ``stop_at_failure``) one fails; the outcomes of the files it got to."""
    jobs = [
        {"id": i, "exercise": ex.name, "path": str(p.resolve())} for i, (ex, p) in enumerate(items)
    ]
    outcomes: list[Outcome] = []
    with (
        tempfile.TemporaryDirectory(prefix="gradfit-learn-") as empty,
        tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as log,
    ):
        proc = subprocess.Popen(
            [sys.executable, "-m", "gradfit.learn.runner"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            cwd=empty,  # nothing of the learner's (a torch.py) can shadow a module
            env=_environment(),
            text=True,
            encoding="utf-8",
        )
        lines: queue.Queue[str | None] = queue.Queue()
        reader = threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True)
        reader.start()
        try:
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(jobs))
            proc.stdin.close()
        except BrokenPipeError:  # pragma: no cover - the runner died at once
            pass
        try:
            for ex, path in items:
                try:
                    line = lines.get(timeout=time_limit)
                except queue.Empty:
                    outcomes.append(Outcome(ex, path, "fail", _timeout_hint(ex, time_limit)))
                    break
                if line is None:  # the runner ended without a result for this file
                    proc.wait()
                    log.seek(0)
                    outcomes.append(
                        Outcome(ex, path, "fail", _died_hint(proc.returncode, log.read()))
                    )
                    break
                outcomes.append(_outcome(ex, path, json.loads(line)))
                if stop_at_failure and outcomes[-1].status == "fail":
                    break
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    return outcomes


def _environment() -> dict[str, str]:
    """The runner's environment: this gradfit importable, one BLAS thread (small problems)."""
    here = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": here + (os.pathsep + path if path else "")}
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def _read_lines(stream: Any, lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _outcome(ex: Exercise, path: Path, line: dict[str, Any]) -> Outcome:
    status = line["status"]
    if status == "no-torch":
        return Outcome(ex, path, "skip", "needs PyTorch, which is not installed here: skipped")
    if status == "todo":
        task = line["message"].removeprefix("TODO").lstrip(": ")
        where = f"line {line['line']} of {path.name}" if line.get("line") else path.name
        return Outcome(ex, path, "fail", f"{where} is still a TODO: {task}")
    if status == "missing":
        name = line["function"]
        return Outcome(ex, path, "fail", f"{path.name} has no {name}: keep the template's name")
    if status == "error":
        err = line["error"]
        if err["kind"] == "BadReturn":
            missing = " (is a `return` missing?)" if "returned None" in err["message"] else ""
            return Outcome(ex, path, "fail", f"{line['function']}() {err['message']}{missing}")
        return Outcome(ex, path, "fail", f"{err['kind']}{_at(err, path)}: {err['message']}")
    try:
        hint = DIAGNOSES[ex.name](line["result"])
    except Exception as exc:  # numbers of a shape no diagnosis expects
        hint = f"your function returned something unexpected ({type(exc).__name__}: {exc})"
    return Outcome(ex, path, "pass" if hint is None else "fail", hint or "")


def _at(where: dict[str, Any], path: Path) -> str:
    """`` at line 14 of ex01_forward.py (code)`` when the learner's line is known."""
    if not where.get("line"):
        return f" in {path.name}"
    code = where.get("code") or ""
    return f" at line {where['line']} of {path.name}" + (f" ({code})" if code else "")


def _timeout_hint(ex: Exercise, limit: float) -> str:
    if ex.name in LOOPS:
        return (
            f"your loop did not finish in {limit:g} s: does it run `steps` times "
            "(for t in range(steps)) and end?"
        )
    return f"your code did not finish in {limit:g} s: look for a loop that never ends"


def _died_hint(code: int | None, log: str) -> str:
    last = [s for s in log.strip().splitlines() if s.strip()][-1:] or [""]
    return (
        f"your file's run stopped (exit status {code}) before it gave a result {last[0]}".rstrip()
    )
