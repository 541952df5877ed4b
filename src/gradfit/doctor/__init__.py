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
when it runs them), so ``gradfit doctor`` works while ``import gradfit`` itself fails.

>>> report = run_doctor(runtime=False)       # the shadowing checks only: fast, imports nothing
>>> report.to_dict()["schema"]
'gradfit.doctor/1'
"""

from .command import command, configure_parser, main, parser_kwargs
from .report import SCHEMA, Check, Report
from .run import run_doctor

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
