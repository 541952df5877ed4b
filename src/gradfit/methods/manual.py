"""The article's method: the gradient derived by hand, the update written by hand, any backend.

Forward, loss and backward are the article's lines, generalised to the model's parameters::

    y_pred = a + b * x + c * x ** 2 + d * x ** 3     # model.forward
    loss = (y_pred - y).pow(2).sum()                  # only on steps that need it
    grad_y_pred = 2.0 * (y_pred - y)
    grad_a = grad_y_pred.sum(); grad_b = (grad_y_pred * x).sum(); ...   # model.grad
    a -= learning_rate * grad_a; ...                  # gradfit.optim (torch.optim's formulas)

The optimizer is a pure ``init``/``update`` pair (:mod:`gradfit.optim`): its state is a small
record that no step changes in place, so a snapshot holds it as it is.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ..backends import Backend
from ..data import Problem
from ..losses import NO_PENALTY, SQUARED, Loss, Penalty
from ..models import evaluation
from ..optim import OptimizerSpec, load_state, make_array_optimizer, make_torch_optimizer


class ManualMethod:
    """The loss (the article's sum of squared errors by default) with the model's hand-derived
    gradient: ``grad = model.grad(w, dL/dy_pred)``, the chain rule written out; a penalty
    (``--l2``, ``--l1``) adds its own gradient ``2 l2 w + l1 sign(w)``. Per-point weights
    (``--sigma``, ``--weight``) scale the residuals by ``s = sqrt(w)`` before the loss, so the
    chain rule gains one factor: ``dL/dy_pred = s * loss.grad(s * r)``."""

    name = "manual"
    # Distributed runs: reduce(grad, loss) -> (grad, loss) summed over the ranks, in one
    # collective (see gradfit.distributed). None: one process.
    reduce: Any = None

    def __init__(
        self,
        model: Any,
        problem: Problem,
        backend: Backend,
        spec: OptimizerSpec,
        init: np.ndarray,
        seed: int = 0,
        loss: Loss = SQUARED,
        penalty: Penalty = NO_PENALTY,
    ) -> None:
        self.model = model
        self.objective = loss
        self.penalty = penalty
        self.backend = backend
        self.xp = backend.xp
        self.y = problem.y
        self.sw = problem.sqrt_weights(backend)  # None: unweighted (the article's arithmetic)
        self.cache = model.prepare(problem.x, backend, seed)
        self.w = backend.asarray(np.array(init, dtype=np.float64))  # a copy
        if spec.name == "lbfgs" and backend.name == "torch":
            # No hand-written L-BFGS: torch.optim.LBFGS reads the hand-derived gradient.
            self._lbfgs = make_torch_optimizer(spec, [self.w])
        else:
            self._lbfgs = None
            self.optimizer = make_array_optimizer(spec)
            self.state = self.optimizer.init(self.w)

    def loss_and_grad(self, need_loss: bool = True) -> tuple[Any | None, Any]:
        """The loss at the current parameters (when asked: it costs a reduction) and its
        gradient."""
        residual = self.model.forward(self.w, self.cache) - self.y
        if self.sw is not None:
            residual = self.sw * residual
        loss = self.objective.value(residual) if need_loss else None
        grad_y_pred = self.objective.grad(residual)
        if self.sw is not None:
            grad_y_pred = self.sw * grad_y_pred
        grad = self.model.grad(self.w, self.cache, grad_y_pred)
        if self.reduce is not None:
            grad, loss = self.reduce(grad, loss)
        if self.penalty:  # on the parameters, once (after any sum over the ranks)
            grad = grad + self.penalty.grad(self.w)
            loss = None if loss is None else loss + self.penalty.value(self.w)
        return loss, grad

    def step(self, need_loss: bool) -> Any | None:
        if self._lbfgs is not None:
            return self._lbfgs_step()
        loss, grad = self.loss_and_grad(need_loss)
        self.w, self.state = self.optimizer.update(grad, self.state, self.w)
        return loss

    def _lbfgs_step(self) -> Any:
        def closure() -> Any:
            loss, grad = self.loss_and_grad(True)
            self.w.grad = grad
            return loss

        return self._lbfgs.step(closure)

    def snapshot(self) -> Any:
        """Everything a replay from here needs (device copies; no host sync)."""
        # The array optimizer's state is never changed in place: the record itself will do.
        opt = copy.deepcopy(self._lbfgs.state_dict()) if self._lbfgs is not None else self.state
        rng = self.cache.rng.getstate() if self.cache.rng is not None else None
        return self.w * 1, opt, rng

    def restore(self, snap: Any) -> None:
        """Go back to ``snap``: a :meth:`snapshot`, or one read from a checkpoint (host arrays,
        put back on this run's backend, device and dtype)."""
        w, opt, rng = snap
        self.w[...] = w  # in place: torch.optim.LBFGS holds this tensor
        if self._lbfgs is not None:
            self._lbfgs.load_state_dict(copy.deepcopy(opt))
        else:
            self.state = load_state(self.state, opt, self.backend.asarray)
        if rng is not None:
            self.cache.rng.setstate(rng)

    def select(self, rows: Any) -> None:
        """Use only data rows ``rows`` (a slice or index array; None: all) for the next steps:
        the mini-batches of :mod:`gradfit.methods.batch`."""
        if not hasattr(self, "_all"):
            self._all = (self.cache.feats, self.y, self.sw)
        feats, y, sw = self._all
        self.cache.feats = feats if rows is None else [f[rows] for f in feats]
        self.y = y if rows is None else y[rows]
        self.sw = sw if rows is None or sw is None else sw[rows]

    def loss(self) -> Any:
        with evaluation(self.cache):
            residual = self.model.forward(self.w, self.cache) - self.y
        if self.sw is not None:
            residual = self.sw * residual
        if self.penalty:
            return self.objective.value(residual) + self.penalty.value(self.w)
        return self.objective.value(residual)

    def params(self) -> np.ndarray:
        return self.backend.to_numpy(self.w).astype(np.float64)
