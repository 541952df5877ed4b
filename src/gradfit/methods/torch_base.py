"""What the torch methods (autograd, nn, module) share: the closure, the step, snapshots.

Each step drops the old gradients (``p.grad = None``: what ``optimizer.zero_grad()`` does,
without its per-call overhead), computes the loss, calls ``backward()`` and lets the optimizer
move the parameters; L-BFGS calls the closure itself. A subclass says how the loss is computed
(:meth:`TorchMethod._forward_loss`), how it is summed over ranks in a distributed run
(:meth:`TorchMethod._reduced`) and where its parameters live.
"""

from __future__ import annotations

import copy
from typing import Any

from ..backends import Backend
from ..data import Problem
from ..losses import NO_PENALTY, Penalty
from ..optim import OptimizerSpec, make_torch_optimizer


class TorchMethod:
    """Base class: subclasses call :meth:`_setup`, then :meth:`_start` with their parameters."""

    name: str
    reduce: Any = None  # distributed: sums (grad, loss) over the ranks (gradfit.distributed)

    def _setup(
        self,
        model: Any,
        problem: Problem,
        backend: Backend,
        seed: int,
        penalty: Penalty = NO_PENALTY,
    ) -> None:
        self.model = model
        self.penalty = penalty
        self.backend = backend
        self.y = problem.y
        self.sw = problem.sqrt_weights(backend)  # sqrt of per-point weights (None: none)
        self.cache = model.prepare(problem.x, backend, seed)

    def _start(self, params: Any, spec: OptimizerSpec) -> None:
        self._params = list(params)
        self.optimizer = make_torch_optimizer(spec, self._params)
        self._lbfgs = spec.name == "lbfgs"

    # --- what a subclass provides -------------------------------------------------------------

    def _forward_loss(self) -> Any:
        """The loss of the current parameters, with the autograd graph to differentiate."""
        raise NotImplementedError

    def _reduced(self, loss: Any, need_loss: bool) -> Any:
        """After backward: sum over the ranks what the run needs (distributed runs only)."""
        return loss

    def _param_state(self) -> Any:
        raise NotImplementedError

    def _load_param_state(self, state: Any) -> None:
        raise NotImplementedError

    def _penalty(self) -> Any:
        """The penalty of the current parameters (every tensor of them), differentiable."""
        return sum(self.penalty.value(p) for p in self._params)

    # --- shared ---------------------------------------------------------------------------------

    def _closure(self, need_loss: bool = True) -> Any:
        for p in self._params:
            p.grad = None
        loss = self._forward_loss()
        if self.penalty:  # --l2, --l1: on the parameters, differentiated with the rest
            loss = loss + self._penalty()
        loss.backward()
        return self._reduced(loss, need_loss)

    def step(self, need_loss: bool) -> Any | None:
        if self._lbfgs:  # evaluates the closure several times; returns the first loss
            return self.optimizer.step(self._closure).detach()
        loss = self._closure(need_loss)
        self.optimizer.step()
        return loss.detach() if need_loss else None

    def snapshot(self) -> Any:
        rng = self.cache.rng.getstate() if self.cache.rng is not None else None
        return copy.deepcopy((self._param_state(), self.optimizer.state_dict(), rng))

    def restore(self, snap: Any) -> None:
        params, opt, rng = copy.deepcopy(snap)
        self._load_param_state(params)
        self.optimizer.load_state_dict(opt)
        if rng is not None:
            self.cache.rng.setstate(rng)

    def select(self, rows: Any) -> None:
        """Use only data rows ``rows`` (None: all) for the next steps (mini-batches)."""
        if not hasattr(self, "_all"):
            self._all = (self.cache.feats, self.y, self.sw)
        feats, y, sw = self._all
        self.cache.feats = feats if rows is None else [f[rows] for f in feats]
        self.y = y if rows is None else y[rows]
        self.sw = sw if rows is None or sw is None else sw[rows]

    def _weighted(self, residual: Any) -> Any:
        """The residuals as the loss sees them: scaled by ``sqrt(w)`` when weighted."""
        return residual if self.sw is None else self.sw * residual
