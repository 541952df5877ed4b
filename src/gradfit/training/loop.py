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

from ..backends import Backend
from ..errors import DivergenceError

LogCallback = Callable[[int, float], None]
StepCallback = Callable[[int], None]
# checkpoint(steps_done, history): called after every `checkpoint_every` steps and at the end.
CheckpointCallback = Callable[[int, list[tuple[int, float]]], None]

# The divergence guard stops a run whose loss is non-finite, or larger than this many times
# max(initial loss, sum(y^2)) - the loss of the start and of the all-zero model. No converging
# run comes near it; a diverging one passes it within a few dozen steps of going unstable.
DIVERGENCE_FACTOR = 1e4
# A method that steps inside advance(k) (not an exact jump) gets at most this many steps a call,
# so that stop() (Ctrl-C) is still asked every few milliseconds.
ADVANCE_SPAN = 1024


@dataclass
class TrainOutcome:
    """What the loop produced: the logged losses, the final loss and the loop's wall time."""

    history: list[tuple[int, float]] = field(default_factory=list)
    final_loss: float = math.nan
    loop_seconds: float = 0.0
    stop: str | None = None  # why the method ended the run early (lm: converged), else None
    steps_done: int | None = None  # the steps run when the method stopped early


class TrainInterrupted(Exception):
    """The loop stopped early, at a step boundary, because ``stop()`` said so (Ctrl-C).

    ``step`` steps are done; the method's state is that of the end of step ``step - 1``.
    """

    def __init__(self, step: int, history: list[tuple[int, float]], seconds: float) -> None:
        super().__init__(f"interrupted after {step} steps")
        self.step = step
        self.history = history
        self.seconds = seconds


def train(
    method: Any,
    backend: Backend,
    *,
    steps: int,
    log_every: int,
    on_log: LogCallback | None = None,
    on_step: StepCallback | None = None,
    step_stride: int = 0,
    bound: float | None = None,
    start: int = 0,
    history: list[tuple[int, float]] | None = None,
    checkpoint: CheckpointCallback | None = None,
    checkpoint_every: int = 0,
    stop: Callable[[], bool] | None = None,
) -> TrainOutcome:
    """Run ``steps`` steps of ``method`` (gradient + optimizer update), in place.

    At each logged step the loss *before* that step's update is read back, recorded and passed
    to ``on_log`` (as the article prints it). Nothing else is read back from the device, so a GPU
    never waits on the host between logged steps. ``on_step(t)`` is called every ``step_stride``
    steps with host-side information only (a progress bar).

    The divergence guard (``bound`` not None): a logged or final loss that is non-finite or above
    ``bound`` raises :class:`DivergenceError` naming the first step whose loss was bad. The loop
    keeps a device copy of the state at each logged step and, on failure, replays the steps since
    the last one with a check each step, so the exact step is found without a per-step sync.

    Resuming: ``start`` steps are already done (the method restored to that point) and
    ``history`` holds the losses logged so far; the loop runs steps ``start .. steps - 1``.
    ``checkpoint(done, history)`` is called after every ``checkpoint_every`` steps and once at
    the end, each time only for a state whose loss the guard has passed (one read per
    checkpoint), so a diverging run never replaces a good checkpoint with a bad one.
    ``stop()`` is asked after every step the loop runs itself (a host-side flag, no device
    sync); when it says yes the loop raises :class:`TrainInterrupted` at that step boundary.

    A method with ``advance(k)`` is given the steps between events as one call, and the loop
    runs only the event steps itself: logged steps, the steps after which a checkpoint is due,
    and the last one. With ``exact_jumps`` true (gram: ``k`` steps of sgd/momentum/nesterov as
    one affine map) that is all, and progress ticks are reported at those steps; otherwise
    (gram's rmsprop/adam, stepping inside ``advance``) segments also end at progress ticks and
    after ``ADVANCE_SPAN`` steps. ``stop()`` is asked at those segment boundaries only (for
    jumps: about once a log interval). The guard's replay still steps one by one from the
    last snapshot, so divergence is located at the same step as without jumps.

    A method that converges by its own test (Levenberg-Marquardt) says why in its
    ``stop_reason``: the loop logs that step and ends the run there; ``steps`` is then the
    maximum.
    """
    history = list(history or [])
    if checkpoint is None:
        checkpoint_every = 0
    guard = bound is not None
    stops = hasattr(method, "stop_reason")  # a method that may end the run early
    # A method that can run k steps in one call runs the steps between events that way (one
    # that may stop by itself is asked after every step instead). An exact jump (gram's affine
    # map) is split only where the state is needed - a logged step, a checkpoint - never for a
    # progress tick, so a run prints the same digits on a terminal and in a pipe; a method that
    # steps inside advance() gives the same numbers however it is split, so its segments also
    # end at progress ticks and after at most ADVANCE_SPAN steps (stop() is asked between).
    advance = None if stops else getattr(method, "advance", None)
    exact = advance is not None and bool(getattr(method, "exact_jumps", False))
    stride = step_stride if on_step is not None else 0
    split = (0, checkpoint_every) if exact else (stride, checkpoint_every, ADVANCE_SPAN)
    ticked = start // stride if stride else 0  # progress ticks reported so far
    stopped: str | None = None
    done = steps
    snap, snap_step = (method.snapshot(), start) if guard else (None, start)
    backend.synchronize()
    start_time = time.perf_counter()
    # Overflow on the way to divergence is reported by the guard, not as NumPy warnings.
    with np.errstate(over="ignore", invalid="ignore"):
        t = start
        while t < steps:
            if advance is not None:  # the quiet steps before the next event, as one call
                event = _next_event(t, steps, log_every, split)
                if event > t:
                    advance(event - t)
                    t = event
            logged = t % log_every == log_every - 1  # the article's `t % 100 == 99`
            loss = method.step(logged)
            if stops and method.stop_reason is not None:
                stopped, done, logged = method.stop_reason, t + 1, True  # log the last step
            if logged:
                value = backend.scalar(loss)
                history.append((t, value))
                if guard:  # checked before it is shown: nothing is printed past a failure
                    if _bad(value, bound):
                        raise _locate(method, backend, snap, snap_step, t, bound, history)
                    snap, snap_step = method.snapshot(), t + 1
                if on_log is not None:
                    on_log(t, value)
            if stride and (t + 1) // stride > ticked:  # every step_stride steps
                ticked = (t + 1) // stride
                on_step(ticked * stride)
            if checkpoint_every and (t + 1) % checkpoint_every == 0 and t + 1 < steps:
                if guard:  # never write a state the guard has not passed
                    value = backend.scalar(method.loss())
                    if _bad(value, bound):
                        raise _locate(
                            method, backend, snap, snap_step, t + 1, bound, history, value
                        )
                checkpoint(t + 1, history)
            if stopped is not None:
                break
            if stop is not None and stop() and t + 1 < steps:
                raise TrainInterrupted(t + 1, history, time.perf_counter() - start_time)
            t += 1
        final = backend.scalar(method.loss())
        if guard and _bad(final, bound):
            raise _locate(method, backend, snap, snap_step, done, bound, history, final)
    if checkpoint is not None:
        checkpoint(done, history)
    backend.synchronize()
    seconds = time.perf_counter() - start_time
    return TrainOutcome(history, final, seconds, stopped, done if stopped is not None else None)


def _next_event(t: int, steps: int, log_every: int, splits: tuple[int, ...]) -> int:
    """The first step ``>= t`` the loop must run itself: a logged step (its loss is read), the
    last step, or one after which ``(step + 1) % every == 0`` for an ``every`` in ``splits``
    (0: none) - a checkpoint, a progress tick, a bound on the segment's length."""
    event = min(t + (log_every - 1 - t) % log_every, steps - 1)
    for every in splits:
        if every:
            event = min(event, t + (every - 1 - t) % every)
    return event


def _bad(value: float, bound: float | None) -> bool:
    return not math.isfinite(value) or (bound is not None and value > bound)


def _locate(
    method: Any,
    backend: Backend,
    snap: Any,
    snap_step: int,
    seen_at: int,
    bound: float,
    history: list[tuple[int, float]],
    final: float | None = None,
) -> DivergenceError:
    """Replay from the last good snapshot, checking every step, to find the first bad one."""
    method.restore(snap)
    end = seen_at + 1 if final is None else seen_at  # a final-loss failure: every step left
    for t in range(snap_step, end):
        value = backend.scalar(method.step(True))
        if _bad(value, bound):
            error = DivergenceError(t, value, bound)
            break
    else:
        value = final if final is not None else history[-1][1]
        error = DivergenceError(seen_at, value, bound)
    error.history = list(history)
    return error
