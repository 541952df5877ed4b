"""The environment checks: Python, gradfit's dependencies (versions, and where each is imported
from), and the PyTorch build and the devices it sees - each the answer of the thing itself."""

from __future__ import annotations

import importlib
import importlib.util
import os
import platform
import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..shadowing import EXPECTED_ATTRS, FAIL, IMPORT_NAMES, LABELS, OK, OPTIONAL, WARN
from .report import Check, first_line

_DEV_EXTRAS = frozenset({"dev", "test", "tests", "docs", "lint"})


@dataclass(frozen=True)
class Dep:
    """A package the doctor checks: importable as ``name``, installed as ``dist``."""

    name: str  # import name
    dist: str  # distribution name
    required: bool


def dependencies() -> list[Dep]:
    """gradfit's dependencies from its metadata (fallback: the known ones), then OPTIONAL."""
    deps = {
        "numpy": Dep("numpy", "numpy", True),
        "torch": Dep("torch", "torch", True),
        "array_api_compat": Dep("array_api_compat", "array-api-compat", True),
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
        name = IMPORT_NAMES.get(key, key.replace("-", "_"))
        deps.setdefault(name, Dep(name, dist, extra is None))
    for name in OPTIONAL:
        deps.setdefault(name, Dep(name, name, False))
    return list(deps.values())


def _dist_version(dist: str) -> str | None:
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version(dist)
    except (ImportError, PackageNotFoundError, ValueError):
        return None


def _location(module: Any) -> str | None:
    file = getattr(module, "__file__", None)
    if file is None:
        paths = list(getattr(module, "__path__", []) or [])
        return paths[0] if paths else None
    return os.path.dirname(file) if Path(file).stem == "__init__" else file


def check_python() -> tuple[Check, dict[str, Any]]:
    """This interpreter: version, implementation, executable, virtual environment, platform."""
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


def check_package(dep: Dep) -> tuple[Check, dict[str, Any], Any]:
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
            info["error"] = first_line(exc)
            status = FAIL if dep.required else WARN
            summary = f"{dep.name} {meta or ''} fails to import: {first_line(exc)}"
            fix = f"{sys.executable} -m pip install --force-reinstall {dep.dist}"
            if dep.name == "torchvision":
                fix = "install the torchvision release made for this torch version"
            return Check(cid, status, summary.replace("  ", " "), fix, info), info, None
    if module is not None:
        with warnings.catch_warnings():  # jsonschema deprecates its __version__
            warnings.simplefilter("ignore", DeprecationWarning)
            version = getattr(module, "__version__", None)
        info["version"] = str(version or meta)
        info["path"] = _location(module)
        info["imported"] = True
    else:  # optional and not imported: where `import NAME` would find it
        spec = importlib.util.find_spec(dep.name)
        info["path"] = _location_of_spec(spec)
        info["imported"] = False
    missing = [a for a in EXPECTED_ATTRS.get(dep.name, ()) if not hasattr(module, a)]
    if module is not None and missing:
        summary = f"{dep.name} from {info['path']} is not {LABELS.get(dep.name, dep.name)}"
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


def torch_checks(torch: Any) -> tuple[list[Check], dict[str, Any], list[dict[str, Any]]]:
    """The PyTorch build and the devices it sees: the checks, the build's facts, the devices
    (none when the build cannot be queried)."""
    try:
        info, devices = _torch_facts(torch)
    except Exception as exc:
        check = Check("torch.build", FAIL, f"cannot query the PyTorch build: {first_line(exc)}")
        return [check], {}, []
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
    return checks, info, devices
