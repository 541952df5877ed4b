"""Exact full-batch gradient descent from the sufficient statistics (``--method gram``).

For a polynomial model the article's gradient is ``2 X^T (X w - y) = 2 (G w - b)`` with
``G = X^T X`` and ``b = X^T y`` (:mod:`gradfit.stats`). So one pass over the data, then every
step costs O(d^2) instead of O(N d): the *same* iterates as ``manual`` (to float64 rounding)
for any optimizer of :mod:`gradfit.optim`, at the cost of reading the data once.

The loss is evaluated as ``L* + (w - w*)^T G (w - w*)`` (see :meth:`GramStats.loss`), which
stays accurate when the parameters are near the optimum. The steps run in float64 on the run's
device (float32 on Apple's mps, which has no float64).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backends import Backend, resolve_backend
from ..errors import UsageError
from ..losses import NO_PENALTY, SQUARED, Loss, Penalty
from ..optim import OptimizerSpec, load_state, make_array_optimizer
from ..stats import GramStats
from .jumps import QuadraticSteps


class GramMethod:
    """Gradient descent on ``L(w) = L* + (w - w*)^T G (w - w*)``, gradient ``2 (G w - b)``
    (all three scaled by the loss's ``factor``: the mean squared error divides by n), plus
    ``l2 |w|^2`` and ``2 l2 w`` for ``--l2`` (ridge: exact from the same statistics)."""

    name = "gram"
    global_statistics = True  # distributed: the statistics are summed over the ranks already
    jumps = True  # advance() by exact affine jumps where the optimizer allows (False: step)

    def __init__(
        self,
        stats: GramStats,
        backend: Backend,
        spec: OptimizerSpec,
        init: Any,
        loss: Loss = SQUARED,
        penalty: Penalty = NO_PENALTY,
    ) -> None:
        if loss.factor is None:
            raise UsageError(
                f"the gram method needs a squared loss; the {loss.name} loss is not one: use "
                "--method manual"
            )
        if penalty.l1:
            raise UsageError(
                "the gram method has no --l1 (the penalty is not smooth); use --method manual"
            )
        if spec.name == "lbfgs":
            raise UsageError(
                "the gram method runs gradfit's own optimizers (sgd, momentum, nesterov, "
                "rmsprop, adam); for lbfgs use --method manual --backend torch"
            )
        self.stats = stats
        dtype = "float32" if backend.device.startswith("mps") else "float64"
        self.backend = backend if backend.dtype == dtype else _with_dtype(backend, dtype)
        be = self.backend
        # The loss is factor * |X w - y|^2: G, b and L* scaled once (a factor of 1: unchanged).
        f = loss.factor
        w_star, best = stats.optimum
        self.G, self.b = be.asarray(f * stats.gram), be.asarray(f * stats.xty)
        self.w_star, self.best = be.asarray(w_star), f * best
        # --l2 (ridge): the loss gains l2 |w|^2, so the gradient is 2 ((G + l2 I) w - b); the
        # loss itself stays L* + d^T G d plus the penalty, computed apart.
        self.l2 = penalty.l2
        self.H = (
            self.G if not self.l2 else be.asarray(f * stats.gram + self.l2 * np.eye(len(w_star)))
        )
        self.w = be.asarray(np.array(init, dtype=np.float64))
        self.optimizer = make_array_optimizer(spec)
        self.state = self.optimizer.init(self.w)
        self._steps = QuadraticSteps(self.optimizer, self.H, self.b, be)

    def step(self, need_loss: bool) -> Any | None:
        loss = self.loss() if need_loss else None
        grad = 2.0 * (self.H @ self.w - self.b)
        self.w, self.state = self.optimizer.update(grad, self.state, self.w)
        return loss

    @property
    def exact_jumps(self) -> bool:
        """Whether :meth:`advance` jumps (an affine optimizer whose iteration converges) rather
        than stepping; the map is built on the first ask."""
        return bool(self.jumps and self._steps.exact)

    def advance(self, k: int) -> None:
        """Run ``k`` steps at once, no loss read (the loop's steps between logged ones).

        sgd, momentum and nesterov are affine maps of the parameters on this quadratic loss:
        ``k`` steps are one precomputed matrix power (:mod:`.jumps`), the same iterates as
        stepping to float64 rounding. Other optimizers (rmsprop, adam) step ``k`` times.
        """
        self.w, self.state = self._steps.advance(k, self.w, self.state, self.exact_jumps)

    def loss(self) -> Any:
        d = self.w - self.w_star
        if self.l2:
            return self.best + d @ (self.G @ d) + self.l2 * (self.w @ self.w)
        return self.best + d @ (self.G @ d)

    def snapshot(self) -> Any:
        """The parameters (a copy) and the optimizer's state (a record no step changes)."""
        return self.w * 1, self.state

    def restore(self, snap: Any) -> None:
        """Go back to ``snap``: a :meth:`snapshot`, or one read from a checkpoint (host arrays,
        put back on this run's device in its float64)."""
        w, opt = snap
        self.w[...] = w
        self.state = load_state(self.state, opt, self.backend.asarray)

    def params(self) -> np.ndarray:
        return self.backend.to_numpy(self.w).astype(np.float64)


def _with_dtype(backend: Backend, dtype: str) -> Backend:
    return resolve_backend(backend.name, backend.device, dtype)
