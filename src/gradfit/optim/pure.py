"""gradfit's own optimizers as pure ``init`` / ``update`` pairs (optax's shape).

An optimizer is a frozen record of hyper-parameters with two pure functions::

    state = opt.init(params)
    params, state = opt.update(grad, state, params)     # once a step

The state is a small NamedTuple of arrays and ints - no array module, no placeholders - and no
update changes an array in place: a snapshot is the record itself, and a checkpoint stores it
field by field without knowing which optimizer made it (:func:`load_state` puts it back on a
run's backend). The array namespace (NumPy, or torch on any device) comes from the arrays at
call time.

The formulas are torch.optim's, term for term and in the same float operations, so a NumPy run
equals its torch.optim twin to rounding. Every update ends in :func:`descend`, the one place a
learning rate moves parameters: ``params - step_size * direction`` - for plain SGD the article's
``w -= lr * grad``, the same two float operations, so its printed losses stay bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..backends import namespace  # the Array API namespace of an array (NumPy or torch)
from ..errors import UsageError
from .spec import OptimizerSpec


class EmptyState(NamedTuple):
    """Plain SGD keeps nothing between steps."""


class MomentumState(NamedTuple):
    """SGD with momentum: torch's ``momentum_buffer``, which starts as the first gradient."""

    count: int  # updates done (0: the buffer is not started yet)
    buf: Any  # the momentum buffer (zeros before the first update)


class RMSpropState(NamedTuple):
    """RMSprop: the running mean of squared gradients and the momentum buffer (zeros)."""

    square_avg: Any
    buf: Any


class AdamState(NamedTuple):
    """Adam: the step count (for the bias corrections) and both moment estimates."""

    count: int
    m: Any
    v: Any


State = EmptyState | MomentumState | RMSpropState | AdamState


def descend(params: Any, step_size: float, direction: Any) -> Any:
    """``params - step_size * direction``: the one line where a learning rate moves parameters
    (the article's ``w -= lr * grad``, out of place)."""
    return params - step_size * direction


@dataclass(frozen=True)
class SGD:
    """Gradient descent, optionally with (Nesterov) momentum; torch.optim.SGD's formulas.

    With momentum ``mu``: ``b = g`` on the first step, then ``b = mu * b + g``; the step uses
    ``b`` (heavy ball) or ``g + mu * b`` (Nesterov). Without momentum: ``w - lr * g``.
    """

    lr: float
    momentum: float = 0.0
    nesterov: bool = False

    def init(self, params: Any) -> EmptyState | MomentumState:
        """No state for plain SGD; a zero buffer, not yet started, with momentum."""
        return MomentumState(0, params * 0.0) if self.momentum else EmptyState()

    def update(
        self, grad: Any, state: EmptyState | MomentumState, params: Any
    ) -> tuple[Any, EmptyState | MomentumState]:
        """The parameters after one step along ``grad``, and the next state."""
        if not self.momentum:
            return descend(params, self.lr, grad), state
        mu = self.momentum
        buf = grad * 1.0 if state.count == 0 else state.buf * mu + grad  # 1.0: torch's clone()
        direction = grad + mu * buf if self.nesterov else buf
        return descend(params, self.lr, direction), MomentumState(state.count + 1, buf)


@dataclass(frozen=True)
class RMSprop:
    """torch.optim.RMSprop (not centered): ``v = alpha v + (1 - alpha) g^2``,
    ``w - lr g / (sqrt(v) + eps)``, with optional momentum on that step."""

    lr: float
    alpha: float = 0.99
    eps: float = 1e-8
    momentum: float = 0.0

    def init(self, params: Any) -> RMSpropState:
        """Zero running mean and zero momentum buffer, as torch's."""
        return RMSpropState(params * 0.0, params * 0.0)

    def update(self, grad: Any, state: RMSpropState, params: Any) -> tuple[Any, RMSpropState]:
        """The parameters after one step along ``grad``, and the next state."""
        # In place on the fresh arrays each line makes (never on the state's): the same float
        # operations as written out, fewer temporaries (a step on a few parameters is mostly
        # per-operation overhead).
        square_avg = grad * grad
        square_avg *= 1 - self.alpha
        square_avg += state.square_avg * self.alpha
        avg = namespace(grad).sqrt(square_avg)
        avg += self.eps
        direction = grad / avg
        if self.momentum:
            direction += state.buf * self.momentum
            return descend(params, self.lr, direction), RMSpropState(square_avg, direction)
        return descend(params, self.lr, direction), RMSpropState(square_avg, state.buf)


@dataclass(frozen=True)
class Adam:
    """torch.optim.Adam: bias-corrected first and second moments.

    ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2``,
    ``w - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``.
    """

    lr: float
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8

    def init(self, params: Any) -> AdamState:
        """Step 0, zero moments."""
        return AdamState(0, params * 0.0, params * 0.0)

    def update(self, grad: Any, state: AdamState, params: Any) -> tuple[Any, AdamState]:
        """The parameters after one step along ``grad``, and the next state."""
        b1, b2 = self.betas
        t = state.count + 1
        # m + (1 - b1) (g - m) (torch: exp_avg.lerp_(grad, 1 - beta1)) and
        # b2 v + (1 - b2) g^2, in place on fresh arrays as RMSprop's (same float operations).
        m = grad - state.m
        m *= 1 - b1
        m += state.m
        v = grad * grad
        v *= 1 - b2
        v += state.v * b2
        denom = namespace(grad).sqrt(v)
        denom /= math.sqrt(1 - b2**t)
        denom += self.eps
        return descend(params, self.lr / (1 - b1**t), m / denom), AdamState(t, m, v)


@dataclass(frozen=True)
class Preconditioned:
    """``inner`` run on the scaled parameters ``u = w / s`` (``--precondition``).

    With ``s_k = 1 / |J[:, k]|`` (the Jacobian's column norms at the start) every parameter
    moves the predictions by about as much per unit of ``u``: a parameter of size 1e-4 and one
    of size 500 become alike, and one learning rate suits both. The gradient in ``u`` is
    ``s * grad``; the state is ``inner``'s own record (about ``u``), so a checkpoint holds it as
    it would the plain optimizer's.
    """

    inner: SGD | RMSprop | Adam
    scales: tuple[float, ...]

    def _s(self, like: Any) -> Any:
        xp = namespace(like)
        if hasattr(like, "device") and not isinstance(like.device, str):  # a tensor's device
            return xp.asarray(self.scales, dtype=like.dtype, device=like.device)
        return xp.asarray(self.scales, dtype=like.dtype)

    def init(self, params: Any) -> State:
        return self.inner.init(params / self._s(params))

    def update(self, grad: Any, state: State, params: Any) -> tuple[Any, State]:
        s = self._s(params)
        u, state = self.inner.update(grad * s, state, params / s)
        return u * s, state


ArrayOptimizer = SGD | RMSprop | Adam | Preconditioned


def make_array_optimizer(spec: OptimizerSpec) -> ArrayOptimizer:
    """gradfit's own optimizer for ``spec`` (NumPy or torch arrays), preconditioned when
    ``spec.scales`` says so. No L-BFGS here."""
    plain = _plain_optimizer(spec)
    return plain if spec.scales is None else Preconditioned(plain, tuple(spec.scales))


def _plain_optimizer(spec: OptimizerSpec) -> SGD | RMSprop | Adam:
    if spec.name == "sgd":
        return SGD(spec.lr, spec.effective_momentum) if spec.momentum else SGD(spec.lr)
    if spec.name in ("momentum", "nesterov"):
        return SGD(spec.lr, spec.effective_momentum, nesterov=spec.name == "nesterov")
    if spec.name == "rmsprop":
        return RMSprop(spec.lr, spec.alpha, spec.eps, spec.effective_momentum)
    if spec.name == "adam":
        return Adam(spec.lr, spec.betas, spec.eps)
    raise UsageError(
        "the lbfgs optimizer is not available on the numpy backend (it is torch.optim.LBFGS); "
        "use --backend torch"
    )


def load_state(
    like: State, saved: State | Mapping[str, Any], asarray: Callable[[Any], Any]
) -> State:
    """``saved`` as a state record of the same kind as ``like`` (what ``init`` made).

    ``saved`` is a record of that kind (a snapshot: returned as it is, nothing in it ever
    changes) or the mapping of field names a checkpoint decodes it to; its arrays go through
    ``asarray`` (the run's backend, device and dtype), its numbers stay numbers.
    """
    if isinstance(saved, type(like)):
        return saved
    if not isinstance(saved, Mapping) or set(saved) != set(like._fields):
        found = sorted(saved) if isinstance(saved, Mapping) else type(saved).__name__
        raise UsageError(
            f"the saved optimizer state {found} does not fit this run's optimizer "
            f"({type(like).__name__}: {', '.join(like._fields) or 'no fields'})"
        )
    values = {k: asarray(v) if hasattr(v, "shape") else v for k, v in saved.items()}
    return type(like)(**values)
