"""gradfit: fit models by gradient descent, and see exactly how.

The public surface::

    gradfit.fit(x, y, degree=3, ...) -> FitResult     # your arrays
    gradfit.run(FitConfig(...)) -> FitResult          # a generated problem (the CLI's `fit`)
    gradfit.closed_form(x, y, degree) -> Optimum      # the least-squares reference

Importing gradfit does not import torch; the torch backend imports it when used.
"""

from __future__ import annotations

__version__ = "0.1.0"

try:
    from .analysis import Optimum, closed_form
    from .api import fit, run
    from .config import FitConfig
    from .errors import FitFailedError, GradfitError, UsageError
    from .result import FitResult
except Exception as _exc:  # a numpy.py / random.py of the user's hides a module: say which
    from .doctor import explain_import_failure

    explain_import_failure(_exc)
    raise

__all__ = [
    "FitConfig",
    "FitFailedError",
    "FitResult",
    "GradfitError",
    "Optimum",
    "UsageError",
    "__version__",
    "closed_form",
    "fit",
    "run",
]
