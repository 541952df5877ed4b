"""How results are shown: the article's text lines and the JSON document."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from .errors import UsageError


def log_line(step: int, loss: float) -> str:
    """The article's ``print(t, loss)``: ``99 1273.537353515625``."""
    return f"{step} {float(loss)}"


def result_line(formula: str) -> str:
    """The article's last line, in English: ``Result: y = a + b x + c x^2 + d x^3``."""
    return f"Result: {formula}"


def dumps(doc: dict[str, Any]) -> str:
    """Strict JSON (no NaN/Infinity tokens), indented for people and parsers alike."""
    return json.dumps(doc, indent=2, allow_nan=False) + "\n"


@contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it over ``path``.

    A crash or a failed write never leaves a half-written file, and the previous file stays
    intact until the new one is complete.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise UsageError(f"cannot write {target}: directory {directory} does not exist")
    if target.is_dir():
        raise UsageError(f"cannot write {target}: it is a directory")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror}") from None
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        os.chmod(tmp, target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_output`), synced to disk."""
    with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def emit_json(doc: dict[str, Any], dest: str, stdout: TextIO | None = None) -> None:
    """Send the document to ``dest``: ``-`` for standard output, else a file (atomically)."""
    text = dumps(doc)
    if dest == "-":
        (stdout or sys.stdout).write(text)
    else:
        write_text_atomic(dest, text)


def failure_document(config: Any, error: Any) -> dict[str, Any]:
    """The JSON of a run that diverged: what was asked, where it failed, the losses seen."""
    from .result import SCHEMA, _float

    return {
        "schema": SCHEMA,
        "status": "diverged",
        "error": str(error),
        "step": error.step,
        "loss": _float(error.loss),
        "bound": _float(error.bound),
        "config": config.to_dict(),
        "loss_history": [[t, _float(v)] for t, v in error.history],
    }


def markdown_report(result: Any, plot: str | None = None, where: str = ".") -> str:
    """A short Markdown summary of a run, to paste into notes: what ran, the result, how far
    from the optimum, and the figure when one was drawn."""
    import os

    c = result.config
    opt = result.optimum
    lines = [
        f"# gradfit fit: {result.problem}",
        "",
        f"- model: {result.model.describe()}; method {result.method}, optimizer "
        f"{result.optimizer['name']} (lr {c.lr:.6g}), {c.steps} steps",
        f"- data: {result.n_points} points; backend {c.backend} {result.dtype} on {result.device}; "
        f"seed {result.seed}",
        "",
        f"**Result:** `{result.formula()}`",
        "",
        "| | loss (sum of squared errors) |",
        "| --- | ---: |",
        f"| first logged (step {result.loss_history[0][0]}) | {result.loss_history[0][1]:.8g} |"
        if result.loss_history
        else "| first logged | - |",
        f"| end | {result.final_loss:.8g} |",
    ]
    if opt is not None:
        gap = result.final_loss - opt.loss
        rel = gap / opt.loss if opt.loss else float("inf")
        lines += [
            f"| closed-form optimum | {opt.loss:.8g} |",
            f"| gap to the optimum | {gap:.3g} ({rel:.3g} relative) |",
            "",
            f"Optimum: `{format_optimum(opt.coef)}`",
        ]
    if result.lr_auto is not None:
        lines += ["", f"lr auto: {result.lr_auto['lr']:.6g}, {result.lr_auto['rule']}."]
    if plot is not None:
        lines += ["", f"![data, fit and loss]({os.path.relpath(plot, where)})"]
    versions = ", ".join(f"{k} {v}" for k, v in result.versions.items() if v)
    lines += ["", f"<sub>{versions}; loop {result.timings['loop_s']:.3f} s</sub>", ""]
    return "\n".join(lines)


def format_optimum(coef: Any) -> str:
    from .models import format_polynomial

    return format_polynomial(coef)
