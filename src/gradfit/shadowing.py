"""Which file hides a module: ``torch.py``, a folder ``numpy/``, a ``random.py`` of the user's.

The article's trap: a file named like a module gradfit, NumPy or PyTorch needs, which Python
imports instead of the real module, ending in ``AttributeError: partially initialized module
'torch' has no attribute 'rand' (most likely due to a circular import)``.

Shadowing is found with the import system's own finders
(:class:`importlib.machinery.PathFinder`, one ``sys.path`` entry at a time), never by importing
the suspect: a ``torch.py`` may be the user's whole training script. This module is at the
bottom of the house: it imports only the standard library (and :mod:`gradfit.errors`), so every
command can use it, and gradfit can explain a failed ``import numpy`` while gradfit itself is
only half imported (:func:`explain_import_failure`). ``gradfit doctor`` reports what it finds.
"""

from __future__ import annotations

import ast
import importlib
import importlib.machinery
import os
import re
import sys
import sysconfig
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .errors import ShadowedModuleError

OK, WARN, FAIL = "ok", "warn", "fail"
RANK = {OK: 0, WARN: 1, FAIL: 2}

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
LABELS = {
    "torch": "PyTorch",
    "numpy": "NumPy",
    "gradfit": "gradfit",
    "array_api_compat": "array-api-compat",
    "torchvision": "torchvision",
    "matplotlib": "Matplotlib",
}
# Attributes the real module has and a stand-in does not (checked after importing).
EXPECTED_ATTRS = {"torch": ("rand", "Tensor"), "numpy": ("ndarray", "linspace")}
# Distribution names whose import name differs by more than '-' -> '_'.
IMPORT_NAMES = {"pillow": "PIL", "scikit-learn": "sklearn", "pyyaml": "yaml"}


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
        if self.name in LABELS:
            pretty = LABELS[self.name]
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


# --------------------------------------------------------------------------------------------
# Finding stand-ins: with the import system's finders, never by importing the suspect


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
            if dist == want or IMPORT_NAMES.get(dist.replace("_", "-"), "").lower() == want:
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
    ``SyntaxError`` or ``OSError`` when the file cannot be read as Python, ``ValueError`` when
    it holds null bytes or is nested too deeply for Python's parser.
    """
    source = Path(path).read_bytes()
    try:
        tree = ast.parse(source, filename=str(path))
    except (MemoryError, RecursionError) as exc:  # e.g. 10**6 nested minus signs
        raise ValueError(
            f"too deeply nested to parse ({type(exc).__name__} from Python's parser)"
        ) from None
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
    return sorted(merged.values(), key=lambda s: (-RANK[s.status], s.path))


def _dedupe(entries: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(entries))


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
    missing = [a for a in EXPECTED_ATTRS.get(name, ()) if not hasattr(module, a)]
    if missing:
        where = getattr(module, "__file__", None) or "a module without a file"
        label = LABELS.get(name, name)
        shadow = diagnose(names=[name])
        fix = shadow.fix if shadow is not None else f"rename {where} and delete its __pycache__"
        raise ShadowedModuleError(
            f"`import {name}` loaded {where}, which is not {label} "
            f"(it has no {name}.{missing[0]}); fix: {fix} ('gradfit doctor' checks for more)"
        )
    return module


def explain_import_failure(
    exc: BaseException, doctor: Callable[[list[str]], int] | None = None
) -> None:
    """Called when ``import gradfit`` failed: explain a stand-in module, or return.

    Returns (the caller re-raises ``exc``) when no stand-in is found. Otherwise, in the
    ``gradfit`` command or ``python -m gradfit``, prints the one-line diagnosis and exits 2
    (``gradfit doctor ARGS`` exits with ``doctor(ARGS)`` instead: the caller's doctor runs
    what it can without gradfit); in a user's program it raises
    :class:`~gradfit.errors.ShadowedModuleError`, an ImportError, with the diagnosis.
    """
    shadow = diagnose(exc)
    if shadow is None:
        return
    argv = _command_argv()
    if argv is not None and "--debug" not in argv:
        if argv[:1] == ["doctor"] and doctor is not None:
            raise SystemExit(doctor(argv[1:]))
        print(f"gradfit: error: {shadow.one_line()}", file=sys.stderr)
        raise SystemExit(2)
    raise ShadowedModuleError(shadow.one_line()) from exc


def _command_argv() -> list[str] | None:
    """The command's arguments when this process is ``gradfit`` / ``python -m gradfit``."""
    argv0 = sys.argv[0] if sys.argv else ""
    if argv0 == "-m":  # runpy is still importing the package named after -m
        orig = list(getattr(sys, "orig_argv", []))
        for i, arg in enumerate(orig):
            if arg == "-mgradfit" or (arg == "-m" and orig[i + 1 : i + 2] == ["gradfit"]):
                return list(sys.argv[1:])
        return None
    if Path(argv0).stem in ("gradfit", "gradfit-script") and not argv0.endswith(".py"):
        return list(sys.argv[1:])
    return None
