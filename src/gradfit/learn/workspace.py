"""The learner's folder: writing the exercises and solutions, and remembering what passed.

Nothing the learner wrote is ever overwritten: ``start`` keeps files that exist, ``solution``
moves a learner's own version aside (``ex03_gradients.mine.py``) before writing the reference.
Progress is the file ``.gradfit-learn.json`` in the folder: for each exercise that passed its
check, a hash of the file that passed (a file edited since counts as "started" again).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path

from ..errors import UsageError
from ..outputs import write_text_atomic
from . import EXERCISES, Exercise, solution_text, template

PROGRESS = ".gradfit-learn.json"


def has_exercises(folder: Path) -> bool:
    """Whether ``folder`` holds at least one exercise file."""
    return folder.is_dir() and any((folder / ex.file).is_file() for ex in EXERCISES)


def start(folder: Path) -> tuple[list[Path], list[Path]]:
    """Write every exercise's template into ``folder`` (made if missing): (written, kept).
    Files that exist are kept as they are: they may hold the learner's work."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} is a file, not a folder: give a folder for the exercises")
    folder.mkdir(parents=True, exist_ok=True)
    written, kept = [], []
    for ex in EXERCISES:
        path = folder / ex.file
        if path.exists():
            kept.append(path)
        else:
            write_text_atomic(path, template(ex))
            written.append(path)
    return written, kept


def write_solution(folder: Path, ex: Exercise) -> tuple[Path, Path | None, str]:
    """Write ``ex``'s reference solution to its file in ``folder``: (path, where the learner's
    own version went or None, what happened). The learner's version is renamed, never lost."""
    if not folder.is_dir():
        raise UsageError(f"no folder {folder}: 'gradfit learn start {folder}' makes it")
    path, text = folder / ex.file, solution_text(ex)
    moved = None
    if not path.exists():
        note = "the file was missing"
    elif path.read_text(encoding="utf-8", errors="replace") == text:
        return path, None, "it already holds the reference solution"
    elif path.read_text(encoding="utf-8", errors="replace") == template(ex):
        note = "it replaces the untouched template"
    else:
        moved = _free_name(path)
        path.rename(moved)
        note = f"your version is kept as {moved}"
    write_text_atomic(path, text)
    return path, moved, note


def _free_name(path: Path) -> Path:
    """``ex03_gradients.mine.py``, or ``.mine2.py``, ``.mine3.py``... if that is taken."""
    stem = path.name.removesuffix(".py")
    for i in range(1, 1000):
        candidate = path.with_name(f"{stem}.mine{'' if i == 1 else i}.py")
        if not candidate.exists():
            return candidate
    raise UsageError(f"too many saved versions of {path.name}: remove some .mine*.py files")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _passed(folder: Path) -> dict[str, str]:
    try:
        doc = json.loads((folder / PROGRESS).read_text(encoding="utf-8"))
        return {str(k): str(v) for k, v in doc.get("passed", {}).items()}
    except (OSError, ValueError, AttributeError):
        return {}  # no progress yet, or a file that is not ours: start afresh


def record(folder: Path, passed: list[Path], failed: list[Path]) -> None:
    """Remember the files that passed (and forget a pass for files that now fail)."""
    done = _passed(folder)
    for path in passed:
        done[path.name] = _digest(path)
    for path in failed:
        done.pop(path.name, None)
    text = json.dumps({"passed": done}, indent=1) + "\n"
    with contextlib.suppress(OSError):  # a read-only folder: the answer matters more
        write_text_atomic(folder / PROGRESS, text)


def status(folder: Path, ex: Exercise) -> str:
    """``done`` (passed, unchanged since), ``todo`` (the untouched template), ``started`` or
    ``missing``."""
    path = folder / ex.file
    if not path.is_file():
        return "missing"
    if _passed(folder).get(ex.file) == _digest(path):
        return "done"
    if path.read_text(encoding="utf-8", errors="replace") == template(ex):
        return "todo"
    return "started"


def listing(folder: Path | None) -> str:
    """The exercises, with each one's status in ``folder`` when it holds exercises."""
    width = max(len(ex.name) for ex in EXERCISES)
    lines = []
    if folder is None:
        lines.append(
            f"The ladder: {len(EXERCISES)} exercises, from the article's forward pass to the "
            "gradient of a formula model."
        )
        lines.append("")
        for ex in EXERCISES:
            lines.append(f"{ex.number:3d}  {ex.name.ljust(width)}  {_title(ex)}")
        lines += [
            "",
            "Start:  gradfit learn start ex    (writes the exercises into the folder ex)",
            "Then:   gradfit learn check ex    (runs them, says what is wrong, with numbers)",
            "Later:  gradfit learn --dir ex    (your progress)",
        ]
        return "\n".join(lines)
    states = [status(folder, ex) for ex in EXERCISES]
    done = states.count("done")
    lines.append(f"Exercises in {folder}: {done} of {len(EXERCISES)} done")
    lines.append("")
    for ex, state in zip(EXERCISES, states, strict=True):
        lines.append(f"{ex.number:3d}  {state.ljust(7)}  {ex.name.ljust(width)}  {_title(ex)}")
    nxt = next((ex for ex, s in zip(EXERCISES, states, strict=True) if s != "done"), None)
    lines.append("")
    if nxt is None:
        lines.append("All done. 'gradfit learn solution DIR N' writes a reference to compare with.")
    else:
        lines.append(f"Next: exercise {nxt.number}, {folder / nxt.file}")
        lines.append(f"Check it: gradfit learn check {folder} {nxt.number}")
    return "\n".join(lines)


def _title(ex: Exercise) -> str:
    return ex.title + (" (torch)" if ex.torch else "")
