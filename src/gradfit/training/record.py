"""Recording the parameters at logged steps, for pictures of a run (``--animate``, landscape).

The loop (:mod:`gradfit.training.loop`) reads back only the loss at logged steps. A
:class:`ParamRecorder` is an ``on_log`` callback that also keeps the parameters that loss was
computed at: :func:`~gradfit.training.execute.execute` sees it and lets it watch the method,
which asks the method for its parameters just *before* a logged step's update (the loss the
loop logs at step t is the one before step t's update). Nothing about the run changes - the
same steps, the same numbers; a logged step costs one extra copy of the parameters to the host.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .loop import LogCallback


class ParamRecorder:
    """``on_log(step, loss)`` that keeps ``steps``, ``losses`` and ``params`` (float64 copies,
    the model's own parameters as trained) of every logged step, then calls ``on_log``."""

    def __init__(self, on_log: LogCallback | None = None) -> None:
        self.on_log = on_log
        self.steps: list[int] = []
        self.losses: list[float] = []
        self.params: list[np.ndarray] = []
        self._before: np.ndarray | None = None  # the parameters before the latest watched step

    def __call__(self, step: int, loss: float) -> None:
        if self._before is None:
            raise RuntimeError("ParamRecorder: a logged step of a method it was not watching")
        self.steps.append(step)
        self.losses.append(loss)
        self.params.append(self._before)
        if self.on_log is not None:
            self.on_log(step, loss)

    def watch(self, method: Any) -> Any:
        """``method``, seen by this recorder: the same object for everything but ``step``."""
        return _Watched(method, self)


class _Watched:
    """A method whose parameters are copied before each logged step (before every step when it
    may end the run on its own, as Levenberg-Marquardt does: the loop then logs that step
    although it was not asked to be)."""

    def __init__(self, method: Any, recorder: ParamRecorder) -> None:
        self._method = method
        self._recorder = recorder
        self._every = hasattr(method, "stop_reason")

    def step(self, need_loss: bool) -> Any:
        if need_loss or self._every:
            self._recorder._before = np.array(self._method.params(), dtype=np.float64)
        return self._method.step(need_loss)

    def __getattr__(self, name: str) -> Any:  # everything else is the method's own
        return getattr(self._method, name)
