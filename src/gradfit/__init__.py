"""gradfit: fit models by gradient descent, and see exactly how.

The public surface::

    gradfit.fit(x, y, degree=3, ...) -> FitResult     # your arrays
    gradfit.run(FitConfig(...)) -> FitResult          # a generated problem (the CLI's `fit`)
    gradfit.closed_form(x, y, degree) -> Optimum      # the least-squares reference
    gradfit.load_data(path, x=None, y=None) -> Data   # x and y from csv/tsv/npy/npz/parquet
    gradfit.load(path) -> SavedModel                  # a model saved with --save / result.save()

Importing gradfit does not import torch; the torch backend imports it when used.
"""

from __future__ import annotations

from ._version import __version__


def _doctor_alone(argv: list[str]) -> int:
    """``gradfit doctor ARGS`` while ``import gradfit`` fails: the checks that need no gradfit."""
    from .doctor import main

    return main(argv, runtime=False)


try:
    from .api import fit, run
    from .config import FitConfig
    from .data import Data, load_data
    from .errors import FitFailedError, GradfitError, UsageError
    from .many import ManyFitResult
    from .result import FitResult
    from .saved import SavedModel, load
    from .understand.analysis import Optimum, closed_form
except Exception as _exc:  # a numpy.py / random.py of the user's hides a module: say which
    from .shadowing import explain_import_failure

    explain_import_failure(_exc, doctor=_doctor_alone)
    raise

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
