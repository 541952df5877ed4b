"""Ctrl-C during a fit: finish the current step, then stop cleanly (a checkpoint is written and
the partial result reported), instead of a traceback mid-update."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any


class StopOnInterrupt:
    """Ctrl-C (SIGINT) during the loop: finish the current step, then stop (see
    :class:`gradfit.training.loop.TrainInterrupted`). A second Ctrl-C interrupts at once - unless it
    comes within a second of the first: torchrun passes the terminal's Ctrl-C on to processes
    that already got it. Installed only in the main thread (the only one Python delivers
    signals to)."""

    REPEAT_S = 1.0

    def __init__(self) -> None:
        self.requested = False
        self._at = 0.0
        self._previous: Any = None

    def __call__(self) -> bool:
        return self.requested

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested and time.monotonic() - self._at > self.REPEAT_S:
            raise KeyboardInterrupt
        if not self.requested:
            self.requested, self._at = True, time.monotonic()

    def __enter__(self) -> StopOnInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
