"""The next rung: Gauss-Newton and Levenberg-Marquardt steps from the model's Jacobian.

Gradient descent moves along ``-grad L = -2 J^T r`` with one step size for every direction, so
on a stiff problem (parameters on scales a million apart) it must crawl along the flat ones.
Gauss-Newton solves the linearised problem ``min |r + J d|`` instead - a step that is right for
every direction at once - and Levenberg-Marquardt damps that step toward gradient descent when
the linearisation cannot be trusted (see :mod:`gradfit.optim.levenberg`).

The Jacobian ``J = d y_pred / d w`` is the model's own (``--method manual``: the symbolic
derivatives of a formula, the design matrix of a polynomial) or torch's (``--method autograd``:
``torch.autograd.functional.jacobian`` of the same forward pass). The steps are solved on the
host in float64 whatever the backend; the model is evaluated on the backend.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backends import Backend
from ..data import Problem
from ..errors import UsageError
from ..losses import SQUARED, Loss
from ..models import evaluation
from ..optim import OptimizerSpec
from ..optim.levenberg import LMState, Tolerances, lm_init, lm_step

SECOND_ORDER = ("lm", "gauss-newton")
_TOLERANCES = Tolerances()


class SecondOrderMethod:
    """One Levenberg-Marquardt (or Gauss-Newton) iteration per step of the loop.

    ``stop_reason`` becomes a sentence once the iteration has converged (or cannot go on): the
    loop then ends the run early, and ``--steps`` is only the maximum.
    """

    reduce: Any = None  # distributed runs are refused for now

    def __init__(
        self,
        name: str,
        model: Any,
        problem: Problem,
        backend: Backend,
        spec: OptimizerSpec,
        init: np.ndarray,
        seed: int = 0,
        loss: Loss = SQUARED,
    ) -> None:
        if loss.factor is None:
            raise UsageError(
                f"--optimizer {spec.name} minimises a sum of squares; the {loss.name} loss is "
                "not one: use a first-order optimizer (sgd, adam, ...) for it"
            )
        if name == "manual" and not hasattr(model, "jacobian"):
            raise UsageError(
                f"the {model.kind} model has no hand-derived Jacobian; use --method autograd "
                f"with --optimizer {spec.name}"
            )
        self.name = name
        self.model = model
        self.backend = backend
        self.objective = loss
        self.y = problem.y
        # Per-point weights: r and the rows of J scaled by sqrt(w), so that the steps solve
        # the weighted problem min |sqrt(W) (r + J d)|.
        self.sw = None if problem.weights is None else np.sqrt(problem.weights)
        self.cache = model.prepare(problem.x, backend, seed)
        # NumPy float64: the host arrays are the backend's, nothing to convert.
        self._host = backend.name == "numpy" and backend.dtype == "float64"
        self._last: tuple[np.ndarray, Any] | None = None  # the last w and its backend copy
        w = np.array(init, dtype=np.float64)
        with np.errstate(all="ignore"):
            r, J = self._residual(w), self._jacobian_at(w)
        gauss_newton = spec.name == "gauss-newton"
        self.state: LMState = lm_init(w, r, J, _TOLERANCES, gauss_newton=gauss_newton)
        self.w, self.r = w, r
        self.J: np.ndarray | None = J  # at self.w (None: computed when a step needs it)

    # --- evaluations, on the backend, read back in float64 (callers hold np.errstate) ------

    def _on_backend(self, w: np.ndarray) -> Any:
        """``w`` on the backend: the same object for the same host ``w`` (so the model's
        Jacobian continues the forward pass it made at the trial point), ``w`` itself on
        NumPy float64."""
        last = self._last
        if last is not None and last[0] is w:
            return last[1]
        wb = w if self._host else self.backend.asarray(w)
        self._last = (w, wb)
        return wb

    def _residual(self, w: np.ndarray) -> np.ndarray:
        wb = self._on_backend(w)
        if self.cache.rng is None:  # nothing random to keep (formulas, polynomials)
            y_pred = self.model.forward(wb, self.cache)
        else:
            with evaluation(self.cache):
                y_pred = self.model.forward(wb, self.cache)
        r = y_pred - self.y
        if not self._host:
            r = np.asarray(self.backend.to_numpy(r), dtype=np.float64)
        if r.ndim != 1:
            r = r.reshape(-1)
        return r if self.sw is None else self.sw * r

    def _jacobian(self, w: np.ndarray) -> np.ndarray:
        """J at ``w``, NumPy's floating-point warnings off (for callers outside a step)."""
        with np.errstate(all="ignore"):
            return self._jacobian_at(w)

    def _jacobian_at(self, w: np.ndarray) -> np.ndarray:
        be = self.backend
        if self.name == "autograd":
            import torch

            def forward(v: Any) -> Any:
                return self.model.forward(v.unbind(0), self.cache)

            with evaluation(self.cache):
                J = torch.autograd.functional.jacobian(forward, be.asarray(w))
        elif self.cache.rng is None:
            J = self.model.jacobian(self._on_backend(w), self.cache)
        else:
            with evaluation(self.cache):
                J = self.model.jacobian(self._on_backend(w), self.cache)
        if not self._host:
            J = be.to_numpy(J)
        if not (type(J) is np.ndarray and J.dtype == np.float64 and J.shape[1:] == w.shape):
            J = np.asarray(J, dtype=np.float64).reshape(-1, w.size)
        if self.sw is not None:
            J = self.sw[:, None] * np.broadcast_to(J, (self.sw.size, w.size))
        return J

    # --- the loop's interface ----------------------------------------------------------------

    @property
    def stop_reason(self) -> str | None:
        return self.state.stop

    def step(self, need_loss: bool) -> Any:
        """One iteration; the loss before it (the loop's convention), read only where the loop
        reads it: ``need_loss`` (a logged step) or the step that ends the run (else None)."""
        before = self.r
        if self.state.stop is not None:
            return self._value(before)
        with np.errstate(all="ignore"):
            if self.J is None:
                self.J = self._jacobian_at(self.w)
            w, self.state, r, moved = lm_step(self.w, self.state, before, self.J, self._residual)
        if moved:
            self.w, self.r, self.J = w, r, None
        if need_loss or self.state.stop is not None:
            return self._value(before)
        return None

    def _value(self, r: np.ndarray) -> float:
        return float(self.objective.value(r))

    def loss(self) -> float:
        return self._value(self.r)

    def params(self) -> np.ndarray:
        return self.w.copy()

    def snapshot(self) -> Any:
        return self.w.copy(), self.state, self.r.copy()

    def restore(self, snap: Any) -> None:
        w, state, r = snap
        self.w, self.state, self.r, self.J = np.array(w), state, np.array(r), None
