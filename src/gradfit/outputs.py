"""Writing what gradfit produces - JSON documents, saved models, checkpoints, plots - so that a
crash, a full disk or a failed run never leaves a half-written file or damages the old one.

Standard library only: every command that writes uses it.
"""

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
