"""Checkpoints: a run's state on disk, so that a stopped run can continue exactly where it was.

A checkpoint holds what the training loop needs to go on as if it had never stopped: the
method's snapshot (parameters, optimizer state, the model's RNG state - the same snapshot the
divergence guard replays from), the number of steps done, the losses logged so far, the
divergence bound, the seed and the run's config. Resuming from it and running to the end gives
the same numbers, bit for bit, as the run that was never interrupted (on the same backend,
device and dtype: the arithmetic is the same operations on the same values).

The file is a NumPy ``.npz`` archive written with ``allow_pickle=False``: the arrays (host
copies of NumPy arrays and torch tensors) as ``.npy`` members, everything else as one JSON
document in the member ``meta``. Loading it never runs code from the file. The state is encoded
by its shape alone - numbers, strings, arrays, tuples, lists, dicts and records (a NamedTuple
or dataclass, such as an optimizer's state: stored field by field, read back as a dict of its
fields, which the method puts back on its own backend, device and dtype) - so this module knows
no method or optimizer. It is written to a
temporary file beside the target, synced, and renamed over it
(:func:`gradfit.outputs.atomic_output`), so a crash or ``kill -9`` during a write leaves the
previous checkpoint as it was.

torch is imported only when the state holds tensors (a torch run), never for a NumPy run.
"""

from __future__ import annotations

import io
import json
import os
import sys
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data.npy import BAD_ARCHIVE, oversized_member
from ..errors import UsageError
from ..outputs import atomic_output
from ..schemas import CHECKPOINT_SCHEMA, check_document

SCHEMA = "gradfit.checkpoint/2"  # 2: optimizer states are records (1: dicts with a namespace)
SCHEMA_PREFIX = "gradfit.checkpoint/"
# Fields of the config that may differ between a checkpoint and the run that resumes it: how
# long to run, how to log, where to write checkpoints, and how many processes share the work.
RESUMABLE_CHANGES = frozenset(
    {
        "steps",
        "log_every",
        "checkpoint",
        "checkpoint_every",
        "resume",
        "distributed",
        "workers",
        "dist_timeout",
        "device",
        "guard",
    }
)


@dataclass
class Checkpoint:
    """One saved point of a run: ``step`` steps done, ``state`` the method's snapshot."""

    step: int
    state: Any
    history: list[tuple[int, float]]
    config: dict[str, Any]
    seed: int
    method: str
    backend: str
    dtype: str
    bound: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def save_checkpoint(path: str | os.PathLike[str], ckpt: Checkpoint) -> None:
    """Write ``ckpt`` to ``path`` atomically: the old file stays until the new one is synced."""
    arrays: dict[str, np.ndarray] = {}
    meta = {
        "schema": SCHEMA,
        "step": int(ckpt.step),
        "state": _encode(ckpt.state, arrays),
        "history": [[int(t), float(v)] for t, v in ckpt.history],
        "config": ckpt.config,
        "seed": int(ckpt.seed),
        "method": ckpt.method,
        "backend": ckpt.backend,
        "dtype": ckpt.dtype,
        "bound": None if ckpt.bound is None else float(ckpt.bound),
        "extra": ckpt.extra,
    }
    text = json.dumps(meta, allow_nan=True)
    arrays["meta"] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **arrays)
    with atomic_output(path) as tmp, open(tmp, "wb") as fh:
        fh.write(buffer.getbuffer())
        fh.flush()
        os.fsync(fh.fileno())


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`; one-line :class:`UsageError` for a
    missing, truncated, corrupt or foreign file."""
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"cannot resume from {p}: no such file")
    try:
        _check_members(p)
        with np.load(p, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        meta = json.loads(bytes(arrays.pop("meta")).decode("utf-8"))
    except (
        OSError,
        *BAD_ARCHIVE,
        KeyError,
        TypeError,
        RecursionError,
        UnicodeDecodeError,
    ):
        raise UsageError(
            f"cannot resume from {p}: not a gradfit checkpoint, or a truncated one"
        ) from None
    if not isinstance(meta, dict) or meta.get("schema") != SCHEMA:
        found = meta.get("schema") if isinstance(meta, dict) else None
        if isinstance(found, str) and found.startswith(SCHEMA_PREFIX):
            raise UsageError(
                f"cannot resume from {p}: it was written by another version of gradfit "
                f"(schema {found!r}, this one reads {SCHEMA!r}); start the run again without "
                "--resume, or resume it with the gradfit that wrote it"
            )
        raise UsageError(f"cannot resume from {p}: schema {found!r}, expected {SCHEMA!r}")
    check_document(meta, CHECKPOINT_SCHEMA, "checkpoint metadata", f"cannot resume from {p}")
    try:
        state = _decode(meta["state"], arrays)
    except KeyError as exc:  # the metadata names an array member the archive does not hold
        raise UsageError(
            f"cannot resume from {p}: the checkpoint names an array {_shown(exc.args[0])} "
            "that it does not hold"
        ) from None
    except (TypeError, ValueError):  # an array torch cannot hold (strings, dates) as a tensor
        raise UsageError(f"cannot resume from {p}: its state holds an unusable array") from None
    bound = meta["bound"]
    ckpt = Checkpoint(
        step=int(meta["step"]),
        state=state,
        history=[(int(t), float(v)) for t, v in meta["history"]],
        config=meta["config"],
        seed=int(meta["seed"]),
        method=meta["method"],
        backend=meta["backend"],
        dtype=meta["dtype"],
        bound=None if bound is None else float(bound),
        extra=meta.get("extra") or {},
    )
    _check_options(ckpt, p)
    return ckpt


def _check_options(ckpt: Checkpoint, p: Path) -> None:
    """Refuse, naming the file, a checkpoint whose own options (with the method it ran) do not
    make a valid run: a crafted or damaged config would otherwise be reported later as a bad
    option that the user never gave."""
    from dataclasses import replace

    from ..backends import check_backend

    config = config_from_checkpoint(ckpt)
    if config.method == "auto":  # the run continues with the method that wrote the checkpoint
        config = replace(config, method=ckpt.method)
    try:
        config.validated()
        check_backend(config.backend, config.device, config.dtype)
    except UsageError as exc:
        raise UsageError(f"cannot resume from {p}: its options are not valid: {exc}") from None
    except (TypeError, ValueError, AttributeError) as exc:  # a value of the wrong JSON type
        raise UsageError(
            f"cannot resume from {p}: its options are not valid ({type(exc).__name__})"
        ) from None


def _check_members(p: Path) -> None:
    """Refuse, before reading any array, a member whose header claims more data than the
    member holds (a crafted header would otherwise make numpy allocate it), and a file that is
    not a zip of .npy members (a plain .npy renamed is an easy real mistake)."""
    if oversized_member(p) is not None:
        raise ValueError(p)


def check_compatible(ckpt: Checkpoint, config: dict[str, Any], where: str) -> None:
    """Refuse to resume a run whose options differ from the checkpoint's (other than those in
    :data:`RESUMABLE_CHANGES`), naming the first option that differs."""
    for key, saved in ckpt.config.items():
        if key in RESUMABLE_CHANGES:
            continue
        now = config.get(key)
        if key == "method" and now == "auto":
            continue  # auto resolves per run (a distributed run makes it manual): take the saved
        if _normal(now) != _normal(saved):
            option = "--" + key.replace("_", "-")
            raise UsageError(
                f"cannot resume from {where}: it was written by a run with {option} {saved!r}, "
                f"this run has {now!r}; resume with the checkpoint's own options"
            )
    if config.get("steps", ckpt.step) < ckpt.step:
        raise UsageError(
            f"cannot resume from {where}: it is at step {ckpt.step}, past --steps "
            f"{config.get('steps')}"
        )


def _normal(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_normal(v) for v in value]
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


# --- encoding: JSON with arrays on the side -------------------------------------------------


def _encode(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    """``obj`` as JSON, its arrays added to ``arrays`` (host copies) and named in their place."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (np.ndarray, np.generic)):
        key = f"a{len(arrays)}"
        arrays[key] = np.array(obj)
        return {"__ndarray__": key, "scalar": isinstance(obj, np.generic)}
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(obj, torch.Tensor):
        key = f"a{len(arrays)}"
        arrays[key] = obj.detach().cpu().numpy().copy()
        return {"__tensor__": key}
    record = _record_fields(obj)
    if record is not None:  # a NamedTuple or dataclass instance: its fields by name
        items = [[k, _encode(v, arrays)] for k, v in record.items()]
        return {"__record__": type(obj).__name__, "fields": items}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, arrays) for v in obj]}
    if isinstance(obj, list):
        return [_encode(v, arrays) for v in obj]
    if isinstance(obj, dict):
        return {"__dict__": [[_encode(k, arrays), _encode(v, arrays)] for k, v in obj.items()]}
    raise TypeError(f"cannot store {type(obj).__name__} in a checkpoint")


def _record_fields(obj: Any) -> dict[str, Any] | None:
    """The fields of a record (NamedTuple or dataclass instance) by name; None for others."""
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return obj._asdict()
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in fields(obj)}
    return None


def _decode(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    """The inverse of :func:`_encode`, except that a record comes back as a dict of its fields
    (the file names no class to build: the method rebuilds its own)."""
    if isinstance(obj, list):
        return [_decode(v, arrays) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__ndarray__" in obj:
        a = arrays[obj["__ndarray__"]]
        return a[()] if obj.get("scalar") else a.copy()
    if "__tensor__" in obj:
        import torch

        return torch.from_numpy(arrays[obj["__tensor__"]].copy())
    if "__tuple__" in obj:
        return tuple(_decode(v, arrays) for v in obj["__tuple__"])
    if "__dict__" in obj:
        return {_decode(k, arrays): _decode(v, arrays) for k, v in obj["__dict__"]}
    return {str(k): _decode(v, arrays) for k, v in obj["fields"]}  # a record (the schema's last)


def _shown(key: object) -> str:
    text = repr(key)
    return text if len(text) <= 40 else text[:37] + "..."


def config_from_checkpoint(ckpt: Checkpoint) -> Any:
    """The :class:`~gradfit.config.FitConfig` of the run that wrote ``ckpt``."""
    from ..config import FitConfig

    names = {f.name for f in fields(FitConfig)}
    values = {k: v for k, v in ckpt.config.items() if k in names}
    for key in ("betas", "x_range", "init"):
        if isinstance(values.get(key), list):  # JSON has no tuples; anything else: validated()
            values[key] = tuple(values[key])
    values.update(seed=ckpt.seed, checkpoint=None, checkpoint_every=None, resume=None)
    values.update(distributed=False, workers=None)
    return FitConfig(**values)


def resumes(resume: str | None, checkpoint: str | None) -> bool:
    """Whether a run with these options continues from a checkpoint: ``--resume FILE`` does,
    except that ``--checkpoint FILE --resume FILE`` (the same file) starts afresh while FILE
    does not exist - so the same command serves a first start and every restart."""
    if resume is None:
        return False
    return not (checkpoint is not None and _same(resume, checkpoint) and not Path(resume).exists())


def _same(a: str, b: str) -> bool:
    return os.path.abspath(a) == os.path.abspath(b)
