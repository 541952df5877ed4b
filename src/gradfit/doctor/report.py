"""The doctor's results: one :class:`Check` per line of the list, and the :class:`Report` of them
all, as the text people read or one JSON document (schema ``gradfit.doctor/1``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..shadowing import FAIL, OK, RANK, WARN, Shadow

SCHEMA = "gradfit.doctor/1"


@dataclass
class Check:
    """One line of the doctor's list: ``status`` is ``ok``, ``warn`` or ``fail``."""

    id: str
    status: str
    summary: str
    fix: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "id": self.id,
            "status": self.status,
            "summary": self.summary,
            "fix": self.fix,
            "data": _jsonable(self.data),
        }


@dataclass
class Report:
    """Everything the doctor found: the checks in order, plus the facts behind them."""

    checks: list[Check] = field(default_factory=list)
    python: dict[str, Any] = field(default_factory=dict)
    packages: dict[str, dict[str, Any]] = field(default_factory=dict)
    torch: dict[str, Any] | None = None
    devices: list[dict[str, Any]] = field(default_factory=list)
    shadowing: list[Shadow] = field(default_factory=list)
    scripts: list[dict[str, Any]] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def status(self) -> str:
        """The worst status of all checks."""
        return max((c.status for c in self.checks), key=RANK.__getitem__, default=OK)

    @property
    def exit_code(self) -> int:
        """0 when nothing failed (warnings are fine), 1 when a check failed."""
        return 1 if self.status == FAIL else 0

    def counts(self) -> dict[str, int]:
        """How many checks ended ok, warn and fail."""
        return {s: sum(c.status == s for c in self.checks) for s in (OK, WARN, FAIL)}

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (schema ``gradfit.doctor/1``)."""
        return {
            "schema": SCHEMA,
            "status": self.status,
            "exit_code": self.exit_code,
            "counts": self.counts(),
            "checks": [c.to_dict() for c in self.checks],
            "python": _jsonable(self.python),
            "packages": _jsonable(self.packages),
            "torch": _jsonable(self.torch),
            "devices": _jsonable(self.devices),
            "shadowing": [s.to_dict() for s in self.shadowing],
            "scripts": _jsonable(self.scripts),
            "elapsed_s": round(self.elapsed_s, 3),
        }

    def format_text(self, color: bool = False) -> str:
        """The list people read: one ``ok``/``warn``/``FAIL`` line per check, fixes below."""
        paint = {OK: "32", WARN: "33", FAIL: "1;31"}
        lines = []
        for c in self.checks:
            tag = f"{'FAIL' if c.status == FAIL else c.status:<5}"
            if color:
                tag = f"\033[{paint[c.status]}m{tag}\033[0m"
            lines.append(f"{tag} {c.summary}")
            if c.fix:
                lines.append(f"      fix: {c.fix}")
        n = self.counts()
        if n[FAIL]:
            tail = f"{n[FAIL]} failed, {n[WARN]} warning(s), {n[OK]} ok"
        elif n[WARN]:
            tail = f"no failures: {n[WARN]} warning(s), {n[OK]} ok"
        else:
            tail = f"all {n[OK]} checks ok"
        lines.append(f"gradfit doctor: {tail} ({self.elapsed_s:.1f} s)")
        return "\n".join(lines) + "\n"


def first_line(exc: BaseException) -> str:
    """``Type: first line of the message``, for a check's summary."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _jsonable(value: Any) -> Any:
    """Plain JSON types, with non-finite floats as None."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)
