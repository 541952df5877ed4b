"""Array backends: NumPy or PyTorch, a device and a dtype, behind one Array API namespace.

The training loop is written once against the namespace ``xp`` a :class:`Backend` carries
(``array_api_compat``'s wrapper of torch; NumPy 2's own namespace, which is the Array API
standard's, or array_api_compat's wrapper of an older NumPy), so "numpy or torch" is a
parameter of the loop, not a second copy of it. torch is imported only when a torch backend is
asked for. (``array_api_compat.numpy`` copies NumPy's whole namespace, which loads numpy.f2py
and numpy.testing: about 90 ms, a third of a NumPy run's start-up, for nothing NumPy 2 lacks.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._version import __version__
from .errors import DeviceUnavailableError, ShadowedModuleError, UsageError

BACKENDS = ("torch", "numpy")
DTYPES = ("float32", "float64")
# The article's choices: torch.float (float32) for PyTorch, NumPy's default float64.
DEFAULT_DTYPE = {"torch": "float32", "numpy": "float64"}
_DEVICE_RE = re.compile(r"^(cpu|auto|mps|cuda(:\d+)?)$")
# NumPy 2's main namespace implements the Array API standard itself.
_NUMPY_IS_STANDARD = int(np.__version__.split(".")[0]) >= 2
_NAMESPACES: dict[type, Any] = {}


def numpy_namespace() -> Any:
    """The Array API namespace of NumPy arrays: NumPy itself (2.x), else array_api_compat's."""
    if _NUMPY_IS_STANDARD:
        return np
    import array_api_compat.numpy as xp

    return xp


def namespace(a: Any) -> Any:
    """The Array API namespace of the array ``a`` (NumPy or torch), looked up once per type."""
    xp = _NAMESPACES.get(type(a))
    if xp is None:
        if isinstance(a, (np.ndarray, np.generic)):
            xp = numpy_namespace()
        else:
            from array_api_compat import array_namespace

            xp = array_namespace(a)
        _NAMESPACES[type(a)] = xp
    return xp


@dataclass(frozen=True)
class Backend:
    """Where and how arrays live: ``name`` (numpy|torch), ``device`` (resolved), ``dtype``."""

    name: str
    device: str
    dtype: str
    xp: Any
    _device_obj: Any = None
    _dtype_obj: Any = None

    def asarray(self, values: Any) -> Any:
        """Convert ``values`` (list, numpy array, tensor) to this backend's array."""
        if self.name == "numpy":
            return np.asarray(values, dtype=self._dtype_obj)
        import torch

        if isinstance(values, torch.Tensor):
            return values.to(device=self._device_obj, dtype=self._dtype_obj)
        return torch.as_tensor(np.asarray(values), dtype=self._dtype_obj, device=self._device_obj)

    def linspace(self, start: float, stop: float, num: int) -> Any:
        """Evenly spaced points computed on the backend itself, as the article does."""
        return self.xp.linspace(start, stop, num, dtype=self._dtype_obj, device=self._device_obj)

    def to_numpy(self, a: Any) -> np.ndarray:
        """Copy an array back to host memory as a NumPy array (a sync on accelerators)."""
        if self.name == "numpy":
            return np.asarray(a)
        return a.detach().cpu().numpy()

    def scalar(self, a: Any) -> float:
        """A 0-d array as a Python float. On a GPU this is a device-to-host sync."""
        return float(a)

    def synchronize(self) -> None:
        """Wait for queued device work, so that timings are honest."""
        if self.name == "torch" and self.device.startswith("cuda"):
            import torch

            torch.cuda.synchronize(self._device_obj)

    @property
    def description(self) -> str:
        return f"{self.name} {self.dtype} on {self.device}"


def resolve_backend(name: str = "torch", device: str = "cpu", dtype: str | None = None) -> Backend:
    """Validate the backend triple and build a :class:`Backend`.

    ``dtype=None`` picks the article's default for the backend. ``device='auto'`` picks cuda,
    then mps, then cpu. A device that is not present raises :class:`DeviceUnavailableError`.
    """
    name, device, dtype = check_backend(name, device, dtype)
    if name == "numpy":
        return Backend("numpy", "cpu", dtype, numpy_namespace(), None, getattr(np, dtype))

    torch = import_torch()
    import array_api_compat.torch as xp

    device = _resolve_torch_device(torch, device)
    return Backend("torch", device, dtype, xp, torch.device(device), getattr(torch, dtype))


def check_backend(name: Any, device: Any, dtype: Any) -> tuple[str, str, str]:
    """The backend triple checked by name (no device is looked for, nothing is imported) and
    normalised: ``dtype=None`` is the backend's default, the device lower case."""
    if not isinstance(name, str) or name not in BACKENDS:
        raise UsageError(f"unknown backend {name!r}; choose one of: {', '.join(BACKENDS)}")
    dtype = dtype or DEFAULT_DTYPE[name]
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise UsageError(f"unknown dtype {dtype!r}; choose one of: {', '.join(DTYPES)}")
    device = (device or "cpu").strip().lower() if isinstance(device, str) else device
    if not isinstance(device, str) or not _DEVICE_RE.match(device):
        raise UsageError(f"unknown device {device!r}; use cpu, cuda, cuda:N, mps or auto")
    if name == "numpy" and device not in ("cpu", "auto"):
        raise UsageError(
            f"the numpy backend runs on the CPU only, not {device!r}; "
            "use --backend torch for accelerators"
        )
    return name, device, dtype


def import_torch() -> Any:
    """Import torch, turning a missing install or a file that hides it (``torch.py``: see
    :mod:`gradfit.shadowing`) into a clear, fixable error."""
    from .shadowing import import_checked  # only for torch runs: no cost to NumPy ones

    try:
        return import_checked("torch")
    except ShadowedModuleError:
        raise
    except Exception as exc:  # pragma: no cover - depends on the environment
        raise UsageError(
            f"the torch backend needs PyTorch, which failed to import ({exc}); "
            "install it or use --backend numpy"
        ) from exc


def _resolve_torch_device(torch: Any, device: str) -> str:
    cuda_ok = torch.cuda.is_available()
    mps_ok = bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    if device == "auto":
        return "cuda:0" if cuda_ok else "mps" if mps_ok else "cpu"
    if device == "cpu":
        return "cpu"
    if device == "mps":
        if not mps_ok:
            raise DeviceUnavailableError("device 'mps' is not available here; use --device cpu")
        return "mps"
    if not cuda_ok:
        raise DeviceUnavailableError(
            f"device {device!r} is not available: this PyTorch sees no CUDA GPU "
            f"(torch {torch.__version__}); use --device cpu or --device auto"
        )
    index = int(device.partition(":")[2] or 0)
    count = torch.cuda.device_count()
    if index >= count:
        raise DeviceUnavailableError(
            f"device {device!r} is not available: {count} CUDA device(s) present"
        )
    return f"cuda:{index}"


def versions(backend: Backend | None = None) -> dict[str, str | None]:
    """Versions of the pieces a result depends on (torch only if it is already loaded)."""
    import platform
    import sys

    info: dict[str, str | None] = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": None,
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        info["torch"] = torch.__version__
    if backend is not None and backend.name == "torch" and backend.device.startswith("cuda"):
        info["device_name"] = torch.cuda.get_device_name(backend._device_obj)
    info["gradfit"] = __version__
    return info
