"""THE training loop. Every method, optimizer and backend runs through :func:`train`.

The loop reads a value back from the device only on logged steps (the article calls ``.item()``
every step, which on a GPU stalls the pipeline each time).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .backends import Backend
from .errors import FitFailedError

LogCallback = Callable[[int, float], None]


@dataclass
class TrainOutcome:
    """What the loop produced: the logged losses and the loop's wall time."""

    history: list[tuple[int, float]] = field(default_factory=list)
    loop_seconds: float = 0.0


def train(
    method: Any,
    backend: Backend,
    *,
    steps: int,
    log_every: int,
    on_log: LogCallback | None = None,
) -> TrainOutcome:
    """Run ``steps`` steps of ``method`` (gradient + optimizer update), in place.

    At each logged step the loss *before* that step's update is read back, recorded and passed
    to ``on_log`` (as the article prints it). A non-finite logged loss stops the run with
    :class:`FitFailedError`. Nothing else is read back from the device.
    """
    history: list[tuple[int, float]] = []
    backend.synchronize()
    start = time.perf_counter()
    # Overflow on the way to divergence is reported by the check below, not as NumPy warnings.
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            logged = t % log_every == log_every - 1  # the article's `t % 100 == 99`
            loss = method.step(logged)
            if logged:
                value = backend.scalar(loss)
                history.append((t, value))
                if on_log is not None:
                    on_log(t, value)
                if not math.isfinite(value):
                    raise FitFailedError(f"diverged at step {t} (loss {value}); try a smaller --lr")
    backend.synchronize()
    return TrainOutcome(history, time.perf_counter() - start)
