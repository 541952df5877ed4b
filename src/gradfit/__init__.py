"""gradfit: fit models by gradient descent, and see exactly how.

The public surface::

    gradfit.fit(x, y, degree=3, ...) -> FitResult     # your arrays
    gradfit.run(FitConfig(...)) -> FitResult          # a generated problem (the CLI's `fit`)
    gradfit.closed_form(x, y, degree) -> Optimum      # the least-squares reference
    gradfit.load_data(path, x=None, y=None) -> Data   # x and y from csv/tsv/npy/npz/parquet
    gradfit.load(path) -> SavedModel                  # a model saved with --save / result.save()

Importing gradfit imports none of that yet: each name is loaded from its module on first use
(PEP 562), so ``gradfit --help`` and ``import gradfit`` stay at the cost of starting Python, and
a NumPy run never pays for torch. A stand-in for NumPy (the user's ``numpy.py``) is still
reported by ``import gradfit`` itself, in one line (see :func:`_check_numpy`).
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import FitFailedError, GradfitError, UsageError

if TYPE_CHECKING:  # what the lazy names are, for type checkers and editors
    from .api import fit, run
    from .config import FitConfig
    from .data import Data, load_data
    from .many import ManyFitResult
    from .result import FitResult
    from .saved import SavedModel, load
    from .understand.analysis import Optimum, closed_form

# Each public name loaded on first use, and the module (under gradfit) that defines it.
_LAZY = {
    "fit": "api",
    "run": "api",
    "FitConfig": "config",
    "Data": "data",
    "load_data": "data",
    "FitResult": "result",
    "ManyFitResult": "many",
    "SavedModel": "saved",
    "load": "saved",
    "Optimum": "understand.analysis",
    "closed_form": "understand.analysis",
}

__all__ = [
    "Data",
    "FitConfig",
    "FitFailedError",
    "FitResult",
    "GradfitError",
    "ManyFitResult",
    "Optimum",
    "SavedModel",
    "UsageError",
    "__version__",
    "closed_form",
    "fit",
    "load",
    "load_data",
    "run",
]


def _doctor_alone(argv: list[str]) -> int:
    """``gradfit doctor ARGS`` while ``import gradfit`` fails: the checks that need no gradfit."""
    from .doctor import main

    return main(argv, runtime=False)


def _explain(exc: BaseException) -> None:
    """A failed import: say which stand-in (numpy.py, random.py ...) caused it, or return."""
    from .shadowing import explain_import_failure

    explain_import_failure(exc, doctor=_doctor_alone)


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use (then it is an ordinary attribute)."""
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module(f"{__name__}.{where}")
    except Exception as exc:  # a numpy.py / random.py of the user's hides a module: say which
        _explain(exc)
        raise
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def _numpy_may_be_hidden() -> bool:
    """Whether ``import numpy`` would load something other than an installed NumPy.

    Looked up, not imported (a fraction of a millisecond): NumPy is a package holding
    ``version.py``; a ``numpy.py`` or a ``numpy/`` folder of the user's is not. A false alarm
    only costs importing NumPy now.
    """
    if "numpy" in sys.modules:
        return False
    import importlib.util
    import os

    try:
        spec = importlib.util.find_spec("numpy")
    except (ImportError, ValueError):
        return True
    if spec is None:  # not installed: the first run says so
        return False
    if spec.origin is None or spec.submodule_search_locations is None:
        return spec.origin is not None  # a module numpy.py (.pyc, .so): not NumPy
    return not os.path.isfile(os.path.join(os.path.dirname(spec.origin), "version.py"))


def _check_numpy() -> None:
    """Report a stand-in for NumPy at ``import gradfit``, as when gradfit imported NumPy here:
    every use of gradfit needs it, and the user's ``numpy.py`` is the article's trap."""
    if not _numpy_may_be_hidden():
        return
    try:
        from .shadowing import import_checked

        import_checked("numpy")  # refuses a stand-in file without running it
    except Exception as exc:
        _explain(exc)
        raise


_check_numpy()
