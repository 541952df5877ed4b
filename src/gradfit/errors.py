"""Exceptions gradfit raises on purpose, and the exit codes the CLI maps them to.

Anything else that escapes is a bug and is shown as a traceback only under ``--debug``.
"""

from __future__ import annotations


class GradfitError(Exception):
    """Base class: a problem the user can fix, reported as one line."""

    exit_code = 1


class UsageError(GradfitError, ValueError):
    """Bad input: an option, a value, a file. The CLI exits with status 2."""

    exit_code = 2


class DeviceUnavailableError(UsageError):
    """The requested device does not exist on this machine (e.g. ``cuda`` without a GPU)."""


class FitFailedError(GradfitError, RuntimeError):
    """A run that started but could not finish (e.g. it diverged). The CLI exits with 1."""

    exit_code = 1


class ShadowedModuleError(UsageError, ImportError):
    """A file or folder of the user's (``torch.py``, ``numpy/``) hides a module gradfit needs.

    Raised instead of Python's "partially initialized module ... circular import" error, with
    the path and the fix (see :mod:`gradfit.shadowing`). An ImportError too, so code that guards
    ``import gradfit`` with ``except ImportError`` still works. The CLI exits with status 2.
    """


class DivergenceError(FitFailedError):
    """The loss became non-finite or grew past the divergence bound at ``step``."""

    def __init__(self, step: int, loss: float, bound: float, detail: str = "") -> None:
        self.step = step
        self.loss = loss
        self.bound = bound
        self.detail = detail
        self.history: list[tuple[int, float]] = []
        super().__init__(self._message())

    def _message(self) -> str:
        why = "not finite" if loss_is_bad(self.loss) else f"above the bound {self.bound:.3g}"
        text = f"diverged at step {self.step} (loss {self.loss:.6g}, {why})"
        return f"{text}; {self.detail}" if self.detail else text

    def with_detail(self, detail: str) -> DivergenceError:
        self.detail = detail
        self.args = (self._message(),)
        return self


def loss_is_bad(value: float) -> bool:
    return value != value or value in (float("inf"), float("-inf"))


class FitInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a run at a step boundary. ``result`` is the partial
    :class:`~gradfit.result.FitResult` (``step`` steps done); ``checkpoint`` the file the state
    was written to (None: no ``--checkpoint``). A KeyboardInterrupt, so code that handles
    Ctrl-C still does; the CLI prints the partial result and exits with status 130."""

    exit_code = 130

    def __init__(self, result: object, step: int, checkpoint: str | None) -> None:
        super().__init__(f"interrupted after {step} steps")
        self.result = result
        self.step = step
        self.checkpoint = checkpoint


class DistributedError(FitFailedError):
    """A distributed run lost a worker, or could not reach the others in time (exit 1)."""
