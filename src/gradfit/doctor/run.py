"""``run_doctor``: every check in order - Python, the scripts' imports, the packages, PyTorch
and its devices, the self-test fits, and the files that hide modules."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..shadowing import OK, WARN, find_shadowing, script_imports
from .checks import check_package, check_python, dependencies, torch_checks
from .report import Check, Report, first_line
from .selftest import FIT_STEPS, fit_checks, rand_checks


def run_doctor(
    scripts: Sequence[str | os.PathLike[str]] = (),
    *,
    runtime: bool = True,
    cwd: str | os.PathLike[str] | None = None,
) -> Report:
    """Run every check and return the :class:`Report` (``report.exit_code`` is 0 or 1).

    ``scripts`` are the user's scripts: their folders are searched for stand-ins of the
    modules they import (read with :mod:`ast`, never run). ``runtime=False`` leaves out what
    needs imports (packages' versions, PyTorch, devices, fits): only Python and shadowing.
    Runtime checks are also skipped while a stand-in would be imported by this process.
    Raises :class:`FileNotFoundError` for a script that does not exist.
    """
    start = time.perf_counter()
    report = Report()
    check, report.python = check_python()
    report.checks.append(check)

    script_names: dict[str, set[str]] = {}
    for s in scripts:
        path = Path(s)
        if not path.is_file():
            raise FileNotFoundError(f"no such script: {s}")
        entry: dict[str, Any] = {"path": str(path.resolve()), "imports": None, "error": None}
        try:
            script_names[str(s)] = script_imports(path)
            entry["imports"] = sorted(script_names[str(s)])
        except (SyntaxError, ValueError, OSError) as exc:
            script_names[str(s)] = set()  # read once: find_shadowing need not try again
            entry["error"] = first_line(exc)
            report.checks.append(
                Check(
                    f"script:{path.name}",
                    WARN,
                    f"cannot read the imports of {path}: {first_line(exc)} (only its name and "
                    "folder were checked)",
                    data=entry,
                )
            )
        report.scripts.append(entry)

    shadows = find_shadowing(scripts, script_names=script_names, cwd=cwd)
    report.shadowing = shadows
    active = [s for s in shadows if s.active]
    blocked = f"importing them here would load {active[0].path} (see below)" if active else None

    working: list[str] = []
    if runtime:
        torch_module = None
        skipped = []
        for dep in dependencies():
            if blocked and dep.name not in sys.modules:
                # Importing it could run the stand-in (maybe the user's whole script): don't.
                skipped.append(dep.name)
                report.packages[dep.name] = {"required": dep.required, "checked": False}
                continue
            check, info, module = check_package(dep)
            report.checks.append(check)
            report.packages[dep.name] = info
            if dep.name == "torch":
                torch_module = module
        if torch_module is not None:
            checks, report.torch, report.devices = torch_checks(torch_module)
            report.checks += checks
            # No devices: the build could not be queried; the fit still tries the CPU.
            working = ["cpu"]
            if report.devices:
                checks, working = rand_checks(torch_module, report.devices)
                report.checks += checks
        if blocked is None and "numpy" in sys.modules:
            report.checks += fit_checks(working)
        else:
            what = ", ".join([*skipped, "PyTorch's devices"]) + f" and the {FIT_STEPS}-step fits"
            report.checks.append(
                Check("runtime", WARN, f"{what} not checked: {blocked or 'numpy is missing'}")
            )
    else:
        report.checks.append(
            Check(
                "runtime",
                WARN,
                "packages, PyTorch's devices and the test fits not checked: "
                + (blocked or "not asked for"),
                "fix the failures below, then run gradfit doctor again" if blocked else None,
            )
        )

    scope = [str(cwd or os.getcwd())] + [str(Path(s).resolve().parent) for s in scripts]
    if shadows:
        for s in shadows:
            report.checks.append(Check(f"shadow:{s.name}", s.status, s.summary, s.fix, s.to_dict()))
    else:
        report.checks.append(
            Check(
                "shadowing",
                OK,
                "no file or folder hides a module gradfit or your scripts need (looked in "
                f"{', '.join(dict.fromkeys(scope))} and on sys.path)",
            )
        )
    report.elapsed_s = time.perf_counter() - start
    return report
