"""Methods for many curves at once: K polynomial fits that share x, on a (d, K) parameter block.

Column k of the block is one fit; nothing couples the columns, so each follows the iterates of
its own single fit from the same start (the optimizers of :mod:`gradfit.optim.pure` are
elementwise: they work on a (d, K) block unchanged).

- :class:`ManyGram`: the gradient ``2 (G W - B)`` from ``G = X^T X`` (shared by every column)
  and ``B = X^T Y`` (one column each): one matrix product a step for all K fits.
- :class:`ManyManual`: the article's per-point loop, with the residuals of all the columns as
  one (K, N) array (each row contiguous, so each column's sums are those of its single fit).

The training loop reads ``step``/``loss`` as one number: both return the *total* loss (the sum
over the columns, so the divergence guard watches them all) and keep the per-column losses of
every logged step in ``column_history`` (in the order of the loop's history).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backends import Backend, resolve_backend
from ..losses import Loss
from ..optim import OptimizerSpec, load_state, make_array_optimizer
from .jumps import QuadraticSteps


class _Block:
    """What both methods share: the (d, K) block, its optimizer, the per-column losses."""

    backend: Backend
    W: Any
    state: Any

    def _start(self, spec: OptimizerSpec, init: np.ndarray, k: int) -> None:
        start = np.repeat(np.asarray(init, dtype=np.float64).reshape(-1, 1), k, axis=1)
        self.W = self.backend.asarray(start)
        self.optimizer = make_array_optimizer(spec)
        self.state = self.optimizer.init(self.W)
        self.column_history: list[Any] = []  # per-column losses (device arrays), logged steps

    def column_losses(self) -> Any:  # pragma: no cover - each method defines it
        raise NotImplementedError

    def loss(self) -> Any:
        """The total loss, the sum over the columns (what the loop's guard reads)."""
        return self.backend.xp.sum(self.column_losses())

    def _logged_loss(self) -> Any:
        per = self.column_losses()
        self.column_history.append(per)
        return self.backend.xp.sum(per)

    def snapshot(self) -> Any:
        return self.W * 1, self.state

    def restore(self, snap: Any) -> None:
        W, opt = snap
        self.W = W * 1
        self.state = load_state(self.state, opt, self.backend.asarray)

    def params(self) -> np.ndarray:
        """The (d, K) block as float64 NumPy: column k is fit k's model parameters."""
        return self.backend.to_numpy(self.W).astype(np.float64)

    def history(self) -> np.ndarray:
        """The per-column losses of the logged steps, (logged steps, K) float64."""
        k = int(self.W.shape[1])
        if not self.column_history:
            return np.zeros((0, k))
        return np.stack([self.backend.to_numpy(v).astype(np.float64) for v in self.column_history])


class ManyGram(_Block):
    """Gradient descent on K quadratics ``L_k(w) = L*_k + (w - w*_k)^T G (w - w*_k)`` with one
    ``G``: ``grad = 2 (G W - B)`` (all scaled by the loss's factor), in float64 on the run's
    device (float32 on mps), as :class:`gradfit.methods.gram.GramMethod` for one column."""

    name = "gram"

    def __init__(
        self,
        gram: np.ndarray,
        xty: np.ndarray,
        w_star: np.ndarray,
        best: np.ndarray,
        backend: Backend,
        spec: OptimizerSpec,
        init: np.ndarray,
        factor: float = 1.0,
    ) -> None:
        dtype = "float32" if backend.device.startswith("mps") else "float64"
        if backend.dtype != dtype:
            backend = resolve_backend(backend.name, backend.device, dtype)
        self.backend = be = backend
        self.G, self.B = be.asarray(factor * gram), be.asarray(factor * xty)
        # 2 G W - 2 B is 2 (G W - B) exactly (scaling by 2 is exact): one operation less a step
        self.G2, self.B2 = 2.0 * self.G, 2.0 * self.B
        self.w_star, self.best = be.asarray(w_star), be.asarray(factor * best)
        self._start(spec, init, xty.shape[1])
        self._steps = QuadraticSteps(self.optimizer, self.G, self.B, be)

    def step(self, need_loss: bool) -> Any | None:
        loss = self._logged_loss() if need_loss else None
        grad = self.G2 @ self.W - self.B2
        self.W, self.state = self.optimizer.update(grad, self.state, self.W)
        return loss

    @property
    def exact_jumps(self) -> bool:
        """Whether :meth:`advance` jumps (sgd, momentum, nesterov on a converging iteration)."""
        return self._steps.exact

    def advance(self, k: int) -> None:
        """``k`` steps at once for every column, as :meth:`GramMethod.advance`: one matrix power
        applied to the whole (d, K) block where the optimizer is affine, else ``k`` steps."""
        self.W, self.state = self._steps.advance(k, self.W, self.state, self.exact_jumps)

    def column_losses(self) -> Any:
        D = self.W - self.w_star
        return self.best + self.backend.xp.sum(D * (self.G @ D), axis=0)


class ManyManual(_Block):
    """The hand-derived gradient for K columns of y: residuals ``R = P - Y^T`` as a (K, N)
    array, ``dL/dw_j = sum_i dL/dr[k, i] B_j(x_i)`` row by row; per-point weights (shared by
    every column) scale the residuals by ``sqrt(w)`` as for one column."""

    name = "manual"

    def __init__(
        self,
        model: Any,
        x: Any,
        yt: Any,
        sqrt_weights: Any,
        backend: Backend,
        spec: OptimizerSpec,
        init: np.ndarray,
        loss: Loss,
        seed: int = 0,
    ) -> None:
        self.backend = backend
        self.objective = loss
        self.yt = yt  # (K, N) on the backend
        self.sw = sqrt_weights  # (N,) or None
        self.cache = model.prepare(x, backend, seed)
        self._start(spec, init, int(yt.shape[0]))

    def _residual(self) -> Any:
        W = self.W
        pred = W[0][:, None]  # the article's sum, left to right, one row per column
        for k, f in enumerate(self.cache.feats, start=1):
            pred = pred + W[k][:, None] * f
        r = pred - self.yt
        return r if self.sw is None else self.sw * r

    def _per_column(self, r: Any) -> Any:
        total = self.backend.xp.sum(r * r, axis=1)
        factor = self.objective.factor
        return total if factor == 1.0 else factor * total

    def step(self, need_loss: bool) -> Any | None:
        xp = self.backend.xp
        r = self._residual()
        loss = None
        if need_loss:
            per = self._per_column(r)
            self.column_history.append(per)
            loss = xp.sum(per)
        g = self.objective.grad(r)
        if self.sw is not None:
            g = self.sw * g
        parts = [xp.sum(g, axis=1)]
        parts.extend(xp.sum(g * f, axis=1) for f in self.cache.feats)
        grad = xp.stack(parts, axis=0)
        self.W, self.state = self.optimizer.update(grad, self.state, self.W)
        return loss

    def column_losses(self) -> Any:
        return self._per_column(self._residual())
