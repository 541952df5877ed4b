"""``gradfit doctor``: is this Python ready for the article, and does a file hide a module?

The article's first hour, made instant. :func:`run_doctor` checks the installation - Python,
NumPy, PyTorch and the other dependencies (versions, and where each is imported from), the
PyTorch build and its devices (:mod:`.checks`), the article's ``torch.rand(5, 3)`` on every
device, and a 10-step fit on every torch device compared with NumPy from the same start
(:mod:`.selftest`) - and looks for the article's trap: a file of the user's named ``torch.py``
(or a folder ``numpy/``, a ``random.py`` ...) that Python imports instead of the real module
(:mod:`gradfit.shadowing`). :mod:`.report` renders the result as text or JSON, :mod:`.command`
is the ``gradfit doctor`` command.

The doctor imports only the standard library at import time (NumPy, PyTorch and gradfit's fit
when it runs them), so ``gradfit doctor`` works while ``import gradfit`` itself fails; and only
:mod:`.command` until the checks or the report are used, so the parser of ``gradfit --help``
costs nothing more.

>>> from gradfit.doctor import run_doctor
>>> report = run_doctor(runtime=False)       # the shadowing checks only: fast, imports nothing
>>> report.to_dict()["schema"]
'gradfit.doctor/1'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .command import command, configure_parser, main, parser_kwargs

if TYPE_CHECKING:
    from .report import SCHEMA, Check, Report
    from .run import run_doctor

# Loaded on first use (PEP 562): name -> the module of this package that defines it.
_LAZY = {"SCHEMA": "report", "Check": "report", "Report": "report", "run_doctor": "run"}

__all__ = [
    "SCHEMA",
    "Check",
    "Report",
    "command",
    "configure_parser",
    "main",
    "parser_kwargs",
    "run_doctor",
]


def __getattr__(name: str) -> Any:
    """The report and the checks, imported when first asked for."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value
