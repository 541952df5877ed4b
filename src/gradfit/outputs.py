"""Writing what gradfit produces - JSON documents, saved models, checkpoints, plots - so that a
crash, a full disk or a failed run never leaves a half-written file or damages the old one.

Standard library only: every command that writes uses it.
"""

from __future__ import annotations

import glob
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from .errors import GradfitError, UsageError


class WriteError(GradfitError):
    """An output could not be written (a full disk, a file too large): the run's work is
    done but not saved. Exit status 1."""


def dumps(doc: dict[str, Any]) -> str:
    """Strict JSON (no NaN/Infinity tokens), indented for people and parsers alike."""
    return json.dumps(doc, indent=2, allow_nan=False) + "\n"


@contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield the path to write ``path``'s new content to, and put it in place on success.

    A regular file (or a new one) is written to a temporary file beside it and renamed over it:
    a crash or a failed write never leaves a half-written file, and the previous file stays
    intact until the new one is complete. A symbolic link keeps being a link: its target is
    what gets replaced. A special file (``/dev/null``, a terminal, a pipe) is written directly,
    never replaced by a regular file.
    """
    target = Path(os.path.realpath(path))  # through symbolic links: the file they name
    if target.exists() and not target.is_file() and not target.is_dir():
        yield target  # a device or a pipe: write to it, never rename over it
        return
    directory = target.parent
    shown = Path(path)
    if not directory.is_dir():
        parent = shown.parent if str(shown.parent) else Path(".")
        raise UsageError(f"cannot write {shown}: directory {parent} does not exist")
    if target.is_dir():
        raise UsageError(f"cannot write {shown}: it is a directory")
    _remove_stale_temporaries(target)
    try:
        prefix = f".{target.name}.{os.getpid()}."
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=directory)
    except OSError as exc:
        raise UsageError(f"cannot write {shown}: {exc.strerror}") from None
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        os.chmod(tmp, target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_umask())
        os.replace(tmp, target)
    except OSError as exc:  # a full disk, a file too large: the old file is intact
        Path(tmp).unlink(missing_ok=True)
        kept = "; the previous file is unchanged" if target.exists() else ""
        raise WriteError(f"cannot write {shown}: {exc.strerror or exc}{kept}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _remove_stale_temporaries(target: Path) -> None:
    """Remove the temporary files a killed write of ``target`` left beside it
    (``.NAME.PID.XXXX.tmp`` whose process PID is gone); a live writer's are kept."""
    for tmp in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        pid = tmp.name[len(target.name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but not ours to signal
        return True
    return True


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two names reach one file (through links; names of files not yet made compare
    by their resolved paths)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def check_distinct(outputs: dict[str, Any], inputs: dict[str, Any]) -> None:
    """Refuse, in one line, an output that would land on an input or on another output.

    ``outputs`` and ``inputs`` map an option (``--save``) to the file it names (None: not
    given; ``-``, standard output, is never a clash). Special files such as ``/dev/null`` may
    take several outputs.
    """
    named = [(k, v) for k, v in outputs.items() if v is not None and v != "-"]
    for i, (option, path) in enumerate(named):
        if _special(path):
            continue
        for source, given in inputs.items():
            if given is not None and same_file(path, given):
                raise UsageError(
                    f"{option} {path} would overwrite the input {source} {given}; "
                    "give the output another name"
                )
        for other, other_path in named[i + 1 :]:
            if same_file(path, other_path):
                raise UsageError(
                    f"{option} and {other} both name {path}; give each output its own file"
                )


def _special(path: str | os.PathLike[str]) -> bool:
    target = Path(os.path.realpath(path))
    return target.exists() and not target.is_file() and not target.is_dir()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_output`), synced to disk."""
    with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        if tmp.is_file():  # a device or a pipe cannot be synced
            os.fsync(fh.fileno())


def emit_json(doc: dict[str, Any], dest: str, stdout: TextIO | None = None) -> None:
    """Send the document to ``dest``: ``-`` for standard output, else a file (atomically)."""
    text = dumps(doc)
    if dest == "-":
        (stdout or sys.stdout).write(text)
    else:
        write_text_atomic(dest, text)
