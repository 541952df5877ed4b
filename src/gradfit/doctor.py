"""``gradfit doctor``: is this Python ready for the article, and does a file hide a module?

The article's first hour, made instant. :func:`run_doctor` checks the installation - Python,
NumPy, PyTorch and the other dependencies (versions, and where each is imported from), the
PyTorch build and its devices, the article's ``torch.rand(5, 3)`` on every device, and a 10-step
fit on every torch device compared with NumPy from the same start - and looks for the article's
trap: a file of the user's named ``torch.py`` (or a folder ``numpy/``, a ``random.py`` ...) that
Python imports instead of the real module, which ends in ``AttributeError: partially initialized
module 'torch' has no attribute 'rand' (most likely due to a circular import)``.

Shadowing is found with the import system's own finders
(:class:`importlib.machinery.PathFinder`, one ``sys.path`` entry at a time), never by importing
the suspect: a ``torch.py`` may be the user's whole training script. This module imports only
the standard library at import time, so gradfit can use it to explain a failed ``import numpy``
while gradfit itself is only half imported (:func:`explain_import_failure`).

>>> report = run_doctor(runtime=False)       # the shadowing checks only: fast, imports nothing
>>> report.to_dict()["schema"]
'gradfit.doctor/1'
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.machinery
import importlib.util
import json
import math
import os
import platform
import re
import sys
import sysconfig
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

SCHEMA = "gradfit.doctor/1"
OK, WARN, FAIL = "ok", "warn", "fail"
_RANK = {OK: 0, WARN: 1, FAIL: 2}

#: Modules gradfit cannot work without: a stand-in file for one of these is always a failure.
REQUIRED = ("numpy", "torch", "array_api_compat", "gradfit")
#: Worth reporting when installed (the article installs torchvision), fine when absent.
OPTIONAL = ("torchvision", "matplotlib")
#: Modules imported when gradfit, NumPy and PyTorch are imported (measured with Python 3.11,
#: NumPy 2, torch 2.x), plus names beginners often give their own files. A file named like one
#: of these in the current directory breaks ``import numpy`` / ``import torch`` there.
_NEEDED_NAMES = """
    __future__ argparse array ast asyncio base64 binascii bisect bz2 calendar cmath collections
    concurrent contextlib contextvars copy copyreg csv ctypes dataclasses datetime decimal difflib
    dis email enum fcntl fnmatch fractions functools gettext glob gzip hashlib heapq hmac http
    importlib inspect ipaddress json keyword linecache locale logging lzma math mmap
    multiprocessing ntpath numbers opcode operator pathlib pickle pickletools pkgutil platform
    pprint queue quopri random re reprlib runpy secrets select selectors shutil signal socket ssl
    statistics string struct subprocess tarfile tempfile textwrap threading timeit token tokenize
    traceback types typing unittest urllib uuid warnings weakref zipfile zlib
    typing_extensions torchgen functorch sympy mpmath networkx jinja2 markupsafe filelock fsspec
    PIL
"""
NEEDED = frozenset(_NEEDED_NAMES.split())
# What a stand-in for the module hides, in words a beginner recognises.
_LABELS = {
    "torch": "PyTorch",
    "numpy": "NumPy",
    "gradfit": "gradfit",
    "array_api_compat": "array-api-compat",
    "torchvision": "torchvision",
    "matplotlib": "Matplotlib",
}
# Attributes the real module has and a stand-in does not (checked after importing).
_EXPECTED_ATTRS = {"torch": ("rand", "Tensor"), "numpy": ("ndarray", "linspace")}
# Distribution names whose import name differs by more than '-' -> '_'.
_IMPORT_NAMES = {"pillow": "PIL", "scikit-learn": "sklearn", "pyyaml": "yaml"}
_DEV_EXTRAS = frozenset({"dev", "test", "tests", "docs", "lint"})
# The 10-step fit: the README's example start, the article's problem and learning rate.
FIT_INIT = (0.3, -0.7, 0.1, 0.05)
FIT_STEPS = 10
FIT_TOL = {"float64": 1e-9, "float32": 1e-4}


# --------------------------------------------------------------------------------------------
# Results


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


@dataclass(frozen=True)
class Shadow:
    """A file or folder that ``import name`` loads instead of the real module.

    ``path`` is what gets imported (a ``.py`` file, a package folder, a ``.pyc`` or an
    extension); ``entry`` the ``sys.path`` folder it is found in; ``via`` how that folder gets
    on the path (``cwd``, ``script``, ``pythonpath``, ``sys.path``) and ``where`` the same in
    words; ``real`` where the hidden module lives (None: not installed);
    ``active`` whether this very process would import it; ``script`` the user's SCRIPT when
    the script itself is the stand-in; ``stale`` the ``__pycache__`` files to delete.
    """

    name: str
    path: str
    kind: str
    entry: str
    via: str
    where: str
    real: str | None
    status: str
    active: bool = False
    script: str | None = None
    stale: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """What is hidden, in words: ``PyTorch (torch)``, ``the standard library's random``."""
        if self.name in _LABELS:
            pretty = _LABELS[self.name]
            return pretty if pretty == self.name else f"{pretty} ({self.name})"
        if self.name in getattr(sys, "stdlib_module_names", ()):
            return f"the standard library's {self.name}"
        return f"the installed {self.name}"

    @property
    def summary(self) -> str:
        """One sentence: what hides what, and why Python picks it."""
        noun = "folder" if self.kind == "package" else "file"
        if self.script is not None:
            return (
                f"your script {self.path} is named like {self.label}, so `import {self.name}` "
                f"in it (or in a module it uses) loads the script itself, not {self.label}"
            )
        if self.real is None and self.status == WARN:
            return (
                f"`import {self.name}` loads the {noun} {self.path} ({self.where}); "
                f"fine if it is a {self.label} you built, otherwise it hides the real one"
            )
        if self.real is None:
            return (
                f"`import {self.name}` loads the {noun} {self.path} ({self.where}), "
                f"and {self.label} is not installed"
            )
        return f"{self.path} hides {self.label}: `import {self.name}` finds it first ({self.where})"

    @property
    def fix(self) -> str:
        """What to do about it: rename (with a suggestion) or delete, plus stale bytecode."""
        if self.kind == "bytecode":
            text = f"delete {self.path}"
        elif self.kind == "extension":
            text = f"rename or delete {self.path}"
        elif self.kind == "package":
            text = f"rename the folder {self.path} (e.g. to my_{self.name})"
        else:
            text = f"rename {self.path} (e.g. to my_{self.name}.py)"
        if self.stale:
            text += f" and delete {', '.join(self.stale)}"
        if self.via == "pythonpath":
            text += f", or take {self.entry} off PYTHONPATH"
        return text

    def one_line(self) -> str:
        """The diagnosis gradfit prints instead of a traceback."""
        return f"{self.summary}; fix: {self.fix} ('gradfit doctor' checks for more)"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "name": self.name,
            "path": self.path,
            "kind": self.kind,
            "entry": self.entry,
            "via": self.via,
            "where": self.where,
            "hides": self.real,
            "status": self.status,
            "active": self.active,
            "script": self.script,
            "stale": list(self.stale),
            "summary": self.summary,
            "fix": self.fix,
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
        return max((c.status for c in self.checks), key=_RANK.__getitem__, default=OK)

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


# --------------------------------------------------------------------------------------------
# Shadowing: found with the import system's finders, never by importing the suspect


def _norm(path: str) -> str:
    """An absolute, case-normalised path ('' is the current directory, as on sys.path)."""
    return os.path.normcase(os.path.abspath(path or os.curdir))


def _installed_entries() -> set[str]:
    """sys.path folders that belong to the installation: stdlib, site-packages, .pth additions.

    Everything else on the path - the script's folder or the current directory (``sys.path[0]``),
    PYTHONPATH, a SCRIPT's folder - is the user's, and is where a stand-in can hide a module.
    """
    paths: set[str] = set()
    for scheme_paths in (
        sysconfig.get_paths(),
        sysconfig.get_paths(vars={"base": sys.base_prefix}),
    ):
        for key in ("stdlib", "platstdlib", "purelib", "platlib"):
            if scheme_paths.get(key):
                paths.add(scheme_paths[key])
                paths.add(os.path.join(scheme_paths[key], "lib-dynload"))
    paths.add(os.path.join(sys.base_prefix, "DLLs"))  # Windows extension modules
    site_dirs: list[str] = []
    try:
        import site

        site_dirs += list(site.getsitepackages()) if hasattr(site, "getsitepackages") else []
        site_dirs.append(site.getusersitepackages())
    except Exception:  # an unusual site module: the sysconfig paths remain
        pass
    site_dirs += [p for p in paths if p.endswith(("site-packages", "dist-packages"))]
    for sdir in site_dirs:
        paths.add(sdir)
        paths.update(_pth_entries(sdir))
    prefixes = {_norm(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    for entry in sys.path:  # the stdlib zip (python311.zip) under the interpreter's prefix
        if entry.endswith(".zip") and any(_norm(entry).startswith(p) for p in prefixes):
            paths.add(entry)
    return {_norm(p) for p in paths}


def _pth_entries(site_dir: str) -> list[str]:
    """Folders that ``.pth`` files in ``site_dir`` add to sys.path (editable installs)."""
    out = []
    try:
        names = sorted(n for n in os.listdir(site_dir) if n.endswith(".pth"))
    except OSError:
        return out
    for name in names:
        try:
            text = Path(site_dir, name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "import ", "import\t")):
                out.append(os.path.join(site_dir, line))
    return out


def _unshadowable(name: str) -> bool:
    """Built-in and frozen modules are found before sys.path, so no file can hide them."""
    if name in sys.builtin_module_names:
        return True
    try:
        return importlib.machinery.FrozenImporter.find_spec(name) is not None
    except Exception:
        return False


def _spec_in(name: str, entry: str) -> Any:
    """The spec ``import name`` would get from this one sys.path entry, or None.

    Namespace folders (no ``__init__``) are ignored: Python only uses them when no regular
    module or package of that name exists anywhere on the path, so they cannot hide one.
    """
    try:
        spec = importlib.machinery.PathFinder.find_spec(name, [entry])
    except Exception:
        return None
    if spec is None or spec.origin is None or not spec.has_location:
        return None
    return spec


def _kind_and_path(spec: Any) -> tuple[str, str]:
    origin = str(spec.origin)
    if spec.submodule_search_locations is not None:
        return "package", os.path.dirname(origin)
    if origin.endswith(tuple(importlib.machinery.BYTECODE_SUFFIXES)):
        return "bytecode", origin
    if origin.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)):
        return "extension", origin
    return "module", origin


def _stale_bytecode(path: str, name: str) -> tuple[str, ...]:
    """``__pycache__/name.*.pyc`` beside a stand-in module (left after renaming it)."""
    cache = Path(path).parent / "__pycache__"
    try:
        return tuple(sorted(str(p) for p in cache.glob(f"{name}.*.pyc")))
    except OSError:
        return ()


def _has_dist_info(entry: str, name: str) -> bool:
    """Whether ``entry`` holds installation metadata for ``name`` (``pip install --target``)."""
    want = name.lower().replace("-", "_")
    try:
        names = os.listdir(entry)
    except OSError:
        return False
    for n in names:
        if n.endswith((".dist-info", ".egg-info")):
            dist = n.rsplit(".", 1)[0].split("-", 1)[0].lower().replace("-", "_")
            if dist == want or _IMPORT_NAMES.get(dist.replace("_", "-"), "").lower() == want:
                return True
    return False


@dataclass
class _Context:
    """One way Python builds sys.path: this process, the current directory, a SCRIPT."""

    entries: list[str]
    names: set[str]
    script: str | None = None  # the SCRIPT whose folder comes first
    active: bool = False


def _where(
    entry: str, cwd: str, script_dirs: dict[str, str], pythonpath: set[str]
) -> tuple[str, str]:
    """How ``entry`` gets on sys.path: a code, and the same in words."""
    if entry == cwd:
        return "cwd", "it is in the current directory"
    if entry in script_dirs:
        return "script", f"it is beside {script_dirs[entry]}"
    if entry in pythonpath:
        return "pythonpath", "its folder is on PYTHONPATH"
    return "sys.path", "its folder is on sys.path"


def _scan(
    ctx: _Context,
    installed: set[str],
    cwd: str,
    script_dirs: dict[str, str],
    pythonpath: set[str],
) -> list[Shadow]:
    found = []
    user = [i for i, e in enumerate(ctx.entries) if e not in installed]
    for name in sorted(ctx.names):
        if not name.isidentifier() or _unshadowable(name):
            continue
        for i in user:
            spec = _spec_in(name, ctx.entries[i])
            if spec is None:
                continue
            if any(_spec_in(name, e) for e in ctx.entries[:i] if e in installed):
                break  # the real module comes first: the file is harmless
            shadow = _classify(name, spec, ctx, i, installed, cwd, script_dirs, pythonpath)
            if shadow is not None:
                found.append(shadow)
            break
    return found


def _classify(
    name: str,
    spec: Any,
    ctx: _Context,
    index: int,
    installed: set[str],
    cwd: str,
    script_dirs: dict[str, str],
    pythonpath: set[str],
) -> Shadow | None:
    entry = ctx.entries[index]
    kind, path = _kind_and_path(spec)
    real = None
    if name == "gradfit":
        real = str(Path(__file__).resolve().parent)
    else:
        for e in ctx.entries[index + 1 :]:
            if e in installed:
                real_spec = _spec_in(name, e)
                if real_spec is not None:
                    real = _kind_and_path(real_spec)[1]
                    break
    if real is not None and _same_file(path, real):
        return None
    if _has_dist_info(entry, name):
        return None  # a real install that lives on PYTHONPATH (pip install --target)
    if real is not None:
        status = FAIL
    elif name in REQUIRED:
        status = WARN if kind == "package" else FAIL
    elif name in OPTIONAL:
        status = WARN
    else:
        return None  # the user's own module (their script imports it), hiding nothing
    script = ctx.script if ctx.script is not None and _same_file(path, ctx.script) else None
    via, where = _where(entry, cwd, script_dirs, pythonpath)
    return Shadow(
        name=name,
        path=path,
        kind=kind,
        entry=entry,
        via=via,
        where=where,
        real=real,
        status=status,
        active=ctx.active,
        script=script,
        stale=_stale_bytecode(path, name) if kind == "module" else (),
    )


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return _norm(a) == _norm(b)


def script_imports(path: str | os.PathLike[str]) -> set[str]:
    """Top-level module names a script imports, read with :mod:`ast` (the script is not run).

    Counts ``import a.b``, ``from a import b`` (not relative imports), and
    ``__import__("a")`` / ``importlib.import_module("a")`` with a literal name. Raises
    ``SyntaxError`` or ``OSError`` when the file cannot be read as Python.
    """
    tree = ast.parse(Path(path).read_bytes(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            fname = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            arg = node.args[0]
            if (
                fname in ("__import__", "import_module")
                and isinstance(arg, ast.Constant)
                and isinstance(arg.value, str)
                and not arg.value.startswith(".")
            ):
                names.add(arg.value.split(".")[0])
    return {n for n in names if n.isidentifier()}


def find_shadowing(
    scripts: Sequence[str | os.PathLike[str]] = (),
    *,
    names: Iterable[str] | None = None,
    script_names: dict[str, set[str]] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    process_only: bool = False,
) -> list[Shadow]:
    """Files and folders that ``import NAME`` would load instead of the real module.

    Looks where Python looks: this process's ``sys.path`` (``active`` findings: they affect
    gradfit right now), the current directory (what ``python``, ``python -m`` and the REPL
    started there put first on the path), and each SCRIPT's folder (what ``python SCRIPT``
    puts first). ``names`` defaults to the modules gradfit, NumPy and PyTorch need
    (:data:`NEEDED`, :data:`REQUIRED`, :data:`OPTIONAL`); each script adds the modules it
    imports (``script_names`` maps a script to them; read with :func:`script_imports` when
    absent). A script's own modules beside it are fine; one that hides the standard library
    or an installed package is not. Nothing found is imported.
    """
    base = set(names) if names is not None else set(NEEDED) | set(REQUIRED) | set(OPTIONAL)
    cwd_n = _norm(str(cwd) if cwd is not None else os.getcwd())
    installed = _installed_entries()
    pythonpath = {_norm(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p}
    process = _dedupe(_norm(e) for e in sys.path)
    script_paths = [str(Path(s).resolve()) for s in scripts] if not process_only else []
    # The folders a user starts Python in are theirs, even one that is also an installation
    # folder (the src/ of an editable install, say).
    installed -= {cwd_n, *pythonpath, *(_norm(os.path.dirname(sp)) for sp in script_paths)}
    # What any other Python started here sees: its first entry, then PYTHONPATH, then the
    # installation (this process's sys.path[0] is gradfit's own launcher or the cwd).
    rest = [e for e in process if e in installed or e in pythonpath]
    script_dirs: dict[str, str] = {}
    # The script this process runs (``python torch.py``): its folder is sys.path[0].
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if main_file and Path(main_file).suffix == ".py" and Path(main_file).name != "__main__.py":
        main_file = str(Path(main_file).resolve())
        script_dirs[_norm(os.path.dirname(main_file))] = main_file
    else:
        main_file = None
    contexts = [_Context(process, base, active=True, script=main_file)]
    if not process_only:
        contexts.append(_Context(_dedupe([cwd_n, *rest]), base))
        for s, sp in zip(scripts, script_paths, strict=True):
            sdir = _norm(os.path.dirname(sp))
            script_dirs.setdefault(sdir, sp)
            own = (script_names or {}).get(str(s))
            if own is None:
                try:
                    own = script_imports(sp)
                except (SyntaxError, ValueError, OSError):
                    own = set()
            stem = Path(sp).stem
            contexts.append(_Context(_dedupe([sdir, *rest]), base | own | {stem}, script=sp))
    merged: dict[tuple[str, str], Shadow] = {}
    for ctx in contexts:
        for shadow in _scan(ctx, installed, cwd_n, script_dirs, pythonpath):
            key = (shadow.name, _norm(shadow.path))
            old = merged.get(key)
            if old is None:
                merged[key] = shadow
            else:
                merged[key] = replace(
                    old, active=old.active or shadow.active, script=old.script or shadow.script
                )
    return sorted(merged.values(), key=lambda s: (-_RANK[s.status], s.path))


def _dedupe(entries: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for e in entries:
        if e not in seen:
            seen.add(e)
            out.append(e)
    return out


# --------------------------------------------------------------------------------------------
# Diagnosis for the rest of gradfit: explain a failed import in one line

_MODULE_IN_MESSAGE = re.compile(r"(?:module|No module named|from) '([A-Za-z_][\w.]*)'")


def diagnose(exc: BaseException | None = None, names: Iterable[str] | None = None) -> Shadow | None:
    """The stand-in most likely behind a failed import in this process, or None.

    ``exc`` (the import's exception) points at the module it names first. Otherwise the first
    failing finding on this process's sys.path is returned - when ``exc`` looks like what a
    stand-in causes (an ImportError or AttributeError), not for, say, a broken CUDA library.
    """
    try:
        wanted = set(names) if names is not None else set(NEEDED) | set(REQUIRED)
        found = [s for s in find_shadowing(names=wanted, process_only=True) if s.status == FAIL]
    except Exception:  # the diagnosis must never hide the original error
        return None
    if not found:
        return None
    if exc is not None:
        named = {getattr(exc, "name", None)}
        named.update(m.group(1).split(".")[0] for m in _MODULE_IN_MESSAGE.finditer(str(exc)))
        for s in found:
            if s.name in named:
                return s
        if not isinstance(exc, (ImportError, AttributeError)):
            return None
    return found[0]


def import_checked(name: str) -> Any:
    """Import ``name``, refusing a stand-in: raise :class:`ShadowedModuleError` for one.

    Before importing, a stand-in *file* (``torch.py``: the real torch and numpy are packages)
    found first on sys.path is reported without running it. After importing, a module that
    lacks what the real one has (``torch.rand``, ``numpy.ndarray``) is reported with its path.
    Any other import failure is re-raised unchanged.
    """
    from .errors import ShadowedModuleError

    module = sys.modules.get(name)
    if module is None:
        early = diagnose(names=[name])
        if early is not None and early.kind != "package":
            raise ShadowedModuleError(early.one_line())
        try:
            module = importlib.import_module(name)
        except Exception as exc:
            shadow = diagnose(exc)
            if shadow is not None:
                raise ShadowedModuleError(shadow.one_line()) from exc
            raise
    missing = [a for a in _EXPECTED_ATTRS.get(name, ()) if not hasattr(module, a)]
    if missing:
        where = getattr(module, "__file__", None) or "a module without a file"
        label = _LABELS.get(name, name)
        shadow = diagnose(names=[name])
        fix = shadow.fix if shadow is not None else f"rename {where} and delete its __pycache__"
        raise ShadowedModuleError(
            f"`import {name}` loaded {where}, which is not {label} "
            f"(it has no {name}.{missing[0]}); fix: {fix} ('gradfit doctor' checks for more)"
        )
    return module


def explain_import_failure(exc: BaseException) -> None:
    """Called when ``import gradfit`` failed: explain a stand-in module, or return.

    Returns (the caller re-raises ``exc``) when no stand-in is found. Otherwise, in the
    ``gradfit`` command or ``python -m gradfit``, prints the one-line diagnosis and exits 2
    (``gradfit doctor`` runs what it can and exits 1); in a user's program it raises
    :class:`~gradfit.errors.ShadowedModuleError`, an ImportError, with the diagnosis.
    """
    shadow = diagnose(exc)
    if shadow is None:
        return
    argv = _command_argv()
    if argv is not None and "--debug" not in argv:
        if argv[:1] == ["doctor"]:
            raise SystemExit(main(argv[1:], runtime=False))
        print(f"gradfit: error: {shadow.one_line()}", file=sys.stderr)
        raise SystemExit(2)
    from .errors import ShadowedModuleError

    raise ShadowedModuleError(shadow.one_line()) from exc


def _command_argv() -> list[str] | None:
    """The command's arguments when this process is ``gradfit`` / ``python -m gradfit``."""
    argv0 = sys.argv[0] if sys.argv else ""
    if argv0 == "-m":  # runpy is still importing the package named after -m
        orig = list(getattr(sys, "orig_argv", []))
        for i, arg in enumerate(orig):
            if arg == "-m" and i + 1 < len(orig) and orig[i + 1] == "gradfit":
                return list(sys.argv[1:])
            if arg == "-mgradfit":
                return list(sys.argv[1:])
        return None
    if Path(argv0).stem in ("gradfit", "gradfit-script") and not argv0.endswith(".py"):
        return list(sys.argv[1:])
    return None


# --------------------------------------------------------------------------------------------
# The installation checks


@dataclass(frozen=True)
class _Dep:
    name: str  # import name
    dist: str  # distribution name
    required: bool


def _dependencies() -> list[_Dep]:
    """gradfit's dependencies from its metadata (fallback: the known ones), then OPTIONAL."""
    deps = {
        "numpy": _Dep("numpy", "numpy", True),
        "torch": _Dep("torch", "torch", True),
        "array_api_compat": _Dep("array_api_compat", "array-api-compat", True),
    }
    try:
        from importlib.metadata import PackageNotFoundError, requires

        reqs = requires("gradfit") or []
    except (ImportError, PackageNotFoundError):
        reqs = []
    for req in reqs:
        m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)
        if m is None:
            continue
        extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", req)
        if extra and extra.group(1) in _DEV_EXTRAS:
            continue
        dist = m.group(1)
        key = dist.lower().replace(".", "-")
        name = _IMPORT_NAMES.get(key, key.replace("-", "_"))
        deps.setdefault(name, _Dep(name, dist, extra is None))
    for name in OPTIONAL:
        deps.setdefault(name, _Dep(name, name, False))
    return list(deps.values())


def _dist_version(dist: str) -> str | None:
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version(dist)
    except (ImportError, PackageNotFoundError, ValueError):
        return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _location(module: Any) -> str | None:
    file = getattr(module, "__file__", None)
    if file is None:
        paths = list(getattr(module, "__path__", []) or [])
        return paths[0] if paths else None
    return os.path.dirname(file) if Path(file).stem == "__init__" else file


def _check_python() -> tuple[Check, dict[str, Any]]:
    info = {
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "prefix": sys.prefix,
        "virtualenv": sys.prefix != sys.base_prefix,
        "platform": f"{platform.system()} {platform.release()} {platform.machine()}",
        "machine": platform.machine(),
    }
    env = ", virtual environment" if info["virtualenv"] else ""
    summary = (
        f"Python {info['version']} ({info['implementation']}{env}) at {sys.executable}, "
        f"{info['platform']}"
    )
    return Check("python", OK, summary, data=info), info


def _check_package(dep: _Dep) -> tuple[Check, dict[str, Any], Any]:
    """Version and location of one dependency; imports required ones (and torchvision)."""
    meta = _dist_version(dep.dist)
    info: dict[str, Any] = {"required": dep.required, "version": meta, "path": None}
    module = sys.modules.get(dep.name)
    cid = f"package:{dep.name}"
    if module is None and meta is None and importlib.util.find_spec(dep.name) is None:
        if dep.required:
            fix = f"{sys.executable} -m pip install {dep.dist}"
            return Check(cid, FAIL, f"{dep.name} is not installed", fix, info), info, None
        summary = f"{dep.name} is not installed (optional; gradfit does not need it)"
        return Check(cid, OK, summary, data=info), info, None
    imports = dep.required or dep.name == "torchvision"
    if module is None and imports:
        try:
            module = importlib.import_module(dep.name)
        except Exception as exc:
            info["error"] = _first_line(exc)
            status = FAIL if dep.required else WARN
            summary = f"{dep.name} {meta or ''} fails to import: {_first_line(exc)}"
            fix = f"{sys.executable} -m pip install --force-reinstall {dep.dist}"
            if dep.name == "torchvision":
                fix = "install the torchvision release made for this torch version"
            return Check(cid, status, summary.replace("  ", " "), fix, info), info, None
    if module is not None:
        info["version"] = str(getattr(module, "__version__", None) or meta)
        info["path"] = _location(module)
        info["imported"] = True
    else:  # optional and not imported: where `import NAME` would find it
        spec = importlib.util.find_spec(dep.name)
        info["path"] = _location_of_spec(spec)
        info["imported"] = False
    missing = [a for a in _EXPECTED_ATTRS.get(dep.name, ()) if not hasattr(module, a)]
    if module is not None and missing:
        summary = f"{dep.name} from {info['path']} is not {_LABELS.get(dep.name, dep.name)}"
        fix = f"rename {info['path']} and delete its __pycache__"
        return Check(cid, FAIL, summary, fix, info), info, None
    summary = f"{dep.name} {info['version']} from {info['path']}"
    if meta is not None and module is not None and info["version"] != meta:
        info["metadata_version"] = meta
        summary += f" (but pip says {meta} is installed: two copies?)"
        return (
            Check(cid, WARN, summary, f"{sys.executable} -m pip show {dep.dist}", info),
            info,
            module,
        )
    return Check(cid, OK, summary, data=info), info, module


def _location_of_spec(spec: Any) -> str | None:
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return next(iter(spec.submodule_search_locations))
    return spec.origin


def _torch_facts(torch: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """What this torch build supports and which devices it sees (torch's own answers)."""
    mps = getattr(torch.backends, "mps", None)
    info: dict[str, Any] = {
        "version": torch.__version__,
        "cuda": getattr(torch.version, "cuda", None),
        "hip": getattr(torch.version, "hip", None),
        "mps_built": bool(mps is not None and mps.is_built()),
        "mps_available": bool(mps is not None and mps.is_available()),
        "cuda_available": bool(torch.cuda.is_available()),
        "cuda_device_count": int(torch.cuda.device_count()),
        "threads": int(torch.get_num_threads()),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
    }
    if info["cuda"] or info["hip"]:
        try:
            info["cudnn"] = torch.backends.cudnn.version()
        except Exception:
            info["cudnn"] = None
    devices: list[dict[str, Any]] = [
        {"device": "cpu", "type": "cpu", "name": _cpu_name(), "memory_bytes": _ram_bytes()}
    ]
    if info["cuda_available"]:
        for i in range(info["cuda_device_count"]):
            props = torch.cuda.get_device_properties(i)
            devices.append(
                {
                    "device": f"cuda:{i}",
                    "type": "cuda",
                    "name": props.name,
                    "memory_bytes": int(props.total_memory),
                    "capability": f"{props.major}.{props.minor}",
                }
            )
    if info["mps_available"]:
        memory = None
        try:
            memory = int(torch.mps.recommended_max_memory())
        except Exception:  # older torch: no such call
            memory = None
        devices.append(
            {"device": "mps", "type": "mps", "name": "Apple GPU", "memory_bytes": memory}
        )
    return info, devices


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def _ram_bytes() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def _gib(n: int | None) -> str:
    return "" if not n else f", {n / 2**30:.1f} GiB"


def _torch_checks(
    torch: Any,
) -> tuple[list[Check], dict[str, Any], list[dict[str, Any]], list[str]]:
    """The build, the devices, and ``torch.rand(5, 3)`` on each; returns the working devices."""
    try:
        info, devices = _torch_facts(torch)
    except Exception as exc:
        check = Check("torch.build", FAIL, f"cannot query the PyTorch build: {_first_line(exc)}")
        return [check], {}, [], ["cpu"]
    checks = []
    built = []
    if info["cuda"]:
        built.append(f"CUDA {info['cuda']}")
    if info["hip"]:
        built.append(f"ROCm {info['hip']}")
    if info["mps_built"]:
        built.append("MPS")
    what = ", ".join(built) if built else "CPU only (no CUDA, ROCm or MPS support compiled in)"
    gpus = [d for d in devices if d["type"] != "cpu"]
    if (info["cuda"] or info["hip"]) and not info["cuda_available"]:
        fix = "if this machine has a GPU, check its driver (nvidia-smi) and CUDA_VISIBLE_DEVICES"
        checks.append(
            Check("torch.build", WARN, f"PyTorch build: {what}, but it sees no GPU", fix, info)
        )
    else:
        checks.append(Check("torch.build", OK, f"PyTorch build: {what}", data=info))
    listed = "; ".join(f"{d['device']} ({d['name']}{_gib(d.get('memory_bytes'))})" for d in devices)
    summary = f"devices: {listed}" + ("" if gpus else " - no GPU, gradfit runs on the CPU")
    checks.append(Check("torch.devices", OK, summary, data={"devices": devices}))
    working = []
    for d in devices:
        dev = d["device"]
        try:
            t = torch.rand(5, 3, device=dev)
            values = t.cpu().tolist()
            good = tuple(t.shape) == (5, 3) and all(0.0 <= v < 1.0 for row in values for v in row)
        except Exception as exc:
            checks.append(
                Check(
                    f"rand:{dev}",
                    FAIL,
                    f"torch.rand(5, 3) on {dev} fails: {_first_line(exc)}",
                    "install a PyTorch build that supports this device (pytorch.org/get-started)",
                )
            )
            continue
        if good:
            working.append(dev)
            checks.append(
                Check(
                    f"rand:{dev}",
                    OK,
                    f"torch.rand(5, 3) on {dev}: a 5x3 tensor of values in [0, 1)",
                    data={"tensor": values},
                )
            )
        else:
            checks.append(
                Check(
                    f"rand:{dev}",
                    FAIL,
                    f"torch.rand(5, 3) on {dev} gave wrong values",
                    data={"tensor": values},
                )
            )
    return checks, info, devices, working


def _fit_checks(torch_devices: Sequence[str]) -> list[Check]:
    """A 10-step fit on NumPy, then on each torch device from the same start, compared."""
    try:
        import numpy as np

        from .api import fit

        x = np.linspace(-math.pi, math.pi, 2000)
        y = np.sin(x)
        kw: dict[str, Any] = {
            "degree": 3,
            "lr": 1e-6,
            "steps": FIT_STEPS,
            "log_every": 1,
            "init": FIT_INIT,
            "reference": False,
        }
        ref = fit(x, y, backend="numpy", dtype="float64", **kw)
    except Exception as exc:
        return [Check("fit:numpy", FAIL, f"10-step fit on numpy fails: {_first_line(exc)}")]

    def trace(r: Any) -> list[float]:
        return [float(v) for _, v in r.loss_history] + [float(r.final_loss), *map(float, r.coef)]

    ref_trace = trace(ref)
    first, last = ref_trace[0], ref.final_loss
    checks = [
        Check(
            "fit:numpy",
            OK,
            f"{FIT_STEPS}-step fit on numpy float64: loss {first:.6g} -> {last:.6g} "
            "(the reference)",
            data={"loss_history": ref.loss_history, "coef": ref.coef.tolist()},
        )
    ]
    for dev in torch_devices:
        dtype = "float32" if dev == "mps" else "float64"
        cid = f"fit:torch:{dev}"
        try:
            r = fit(x, y, backend="torch", device=dev, dtype=dtype, **kw)
        except Exception as exc:
            checks.append(
                Check(cid, FAIL, f"{FIT_STEPS}-step fit on torch {dev} fails: {_first_line(exc)}")
            )
            continue
        diff = _max_rel_diff(ref_trace, trace(r))
        tol = FIT_TOL[dtype]
        data = {"dtype": dtype, "max_rel_diff": diff, "tolerance": tol, "coef": r.coef.tolist()}
        summary = (
            f"{FIT_STEPS}-step fit on torch {dtype} on {dev} matches numpy: "
            f"max relative difference {diff:.2g} (losses and coefficients)"
        )
        if not diff <= tol:
            summary = summary.replace("matches", "differs from") + f" > {tol:g}"
            fix = "report it with this output; use --backend numpy meanwhile"
            checks.append(Check(cid, FAIL, summary, fix, data))
        else:
            checks.append(Check(cid, OK, summary, data=data))
    return checks


def _max_rel_diff(a: Sequence[float], b: Sequence[float]) -> float:
    out = 0.0
    for u, v in zip(a, b, strict=True):
        scale = max(abs(u), abs(v))
        if scale:
            out = max(out, abs(u - v) / scale)
        elif u != v:  # NaN
            return math.inf
    return out


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
    check, report.python = _check_python()
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
            entry["error"] = _first_line(exc)
            report.checks.append(
                Check(
                    f"script:{path.name}",
                    WARN,
                    f"cannot read the imports of {path}: {_first_line(exc)} (only its name and "
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
        for dep in _dependencies():
            if blocked and dep.name not in sys.modules:
                # Importing it could run the stand-in (maybe the user's whole script): don't.
                skipped.append(dep.name)
                report.packages[dep.name] = {"required": dep.required, "checked": False}
                continue
            check, info, module = _check_package(dep)
            report.checks.append(check)
            report.packages[dep.name] = info
            if dep.name == "torch":
                torch_module = module
        if torch_module is not None:
            checks, report.torch, report.devices, working = _torch_checks(torch_module)
            report.checks += checks
        if blocked is None and "numpy" in sys.modules:
            report.checks += _fit_checks(working)
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
                f"{', '.join(_dedupe(scope))} and on sys.path)",
            )
        )
    report.elapsed_s = time.perf_counter() - start
    return report


# --------------------------------------------------------------------------------------------
# The command

HELP = "check Python, NumPy, PyTorch, its devices, and files that hide modules (torch.py)"
DESCRIPTION = """\
Check that this Python can run the article: Python, NumPy, PyTorch and the other
dependencies (versions, and where each is imported from), the PyTorch build and its devices,
torch.rand(5, 3) on each device, and a 10-step fit on each device compared with NumPy.

Then look for files and folders named like a module that gradfit or your scripts need
(torch.py, numpy/, random.py ...) in the current directory, beside each SCRIPT and on
sys.path: Python imports those instead of the real module, and fails with "partially
initialized module 'torch' has no attribute 'rand' (most likely due to a circular import)".
Nothing found is imported or run.
"""
EPILOG = """\
examples:
  gradfit doctor                    check this Python and the current directory
  gradfit doctor torch.py           also check a script (its imports are read, it is not run)
  python -m gradfit doctor --json   the same as a JSON document (schema gradfit.doctor/1)

exit status: 0 when nothing failed (warnings are fine), 1 when a check failed, 2 for bad usage.
"""


def configure_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the doctor's arguments and handler to ``parser`` (``gradfit doctor``)."""
    parser.add_argument(
        "scripts",
        nargs="*",
        metavar="SCRIPT",
        help="a Python script of yours: its name, folder and imports are checked (not run)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the report as one JSON document on stdout"
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    parser.set_defaults(handler=command)
    return parser


def parser_kwargs() -> dict[str, Any]:
    """Keyword arguments for ``subparsers.add_parser('doctor', ...)``."""
    return {
        "help": HELP,
        "description": DESCRIPTION,
        "epilog": EPILOG,
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }


def command(args: argparse.Namespace, *, runtime: bool = True, out: TextIO | None = None) -> int:
    """Run the doctor for parsed arguments, print the report, return the exit status."""
    from .errors import UsageError

    out = out or sys.stdout
    try:
        report = run_doctor(args.scripts, runtime=runtime)
    except FileNotFoundError as exc:
        raise UsageError(f"{exc}; give the path of a Python file") from None
    if args.json:
        out.write(json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n")
    else:
        out.write(report.format_text(color=_use_color(out)))
    out.flush()
    return report.exit_code


def main(argv: Sequence[str] | None = None, *, runtime: bool = True) -> int:
    """``gradfit doctor ARGS`` on its own, without the rest of gradfit (used when ``import
    gradfit`` itself fails because a stand-in hides NumPy)."""
    from .errors import GradfitError

    argv = list(sys.argv[1:] if argv is None else argv)

    class _Parser(argparse.ArgumentParser):
        def error(self, message: str) -> None:  # type: ignore[override]
            raise _UsageExit(f"{message} (see '{self.prog} --help')")

    parser = configure_parser(_Parser(prog="gradfit doctor", **_without_help(parser_kwargs())))
    try:
        args = parser.parse_args(argv)
        return command(args, runtime=runtime)
    except (_UsageExit, GradfitError) as exc:
        print(f"gradfit: error: {exc}", file=sys.stderr)
        return 2


class _UsageExit(Exception):
    pass


def _without_help(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if k != "help"}


def _use_color(stream: TextIO) -> bool:
    """Colours only on a terminal, and never with NO_COLOR set or TERM=dumb."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


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
