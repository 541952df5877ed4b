"""Exact jumps: ``k`` steps of a linear optimizer on a quadratic loss as one affine map.

On a squared loss the gradient is affine in the parameters, ``g = 2 (H w - b)``, and so are the
updates of plain, heavy-ball and Nesterov SGD (:class:`gradfit.optim.SGD`: torch.optim.SGD's
formulas, which have no weight decay or dampening here). With the state ``z`` (the parameters,
stacked on the momentum buffer when there is one) one step is ``z -> A z + c``, and ``k`` steps
are ``z -> A^k z + S_k c`` with ``S_k = I + A + ... + A^(k-1)``. Both are built on the host in
float64 by repeated squaring (``log2 k`` products of small ``n x n`` matrices), once per ``k``;
a jump is then one ``n x n`` product on the run's device, whatever ``k`` is.

The map comes from the optimizer's own formulas:

- plain: ``w' = w - lr g``;
- heavy ball: ``buf' = mu buf + g``, ``w' = w - lr buf'`` (torch's first buffer, ``g`` itself,
  is this formula with the zero buffer every run starts with);
- Nesterov: ``buf' = mu buf + g``, ``w' = w - lr (g + mu buf')``;
- preconditioned (``--precondition``): the inner optimizer on ``u = w / s`` with gradient
  ``s g``, i.e. ``H`` becomes ``S H S`` and ``b`` becomes ``S b``, and the map is carried back to
  ``w`` (the buffer stays in ``u``'s units, as the optimizer keeps it).

RMSprop and Adam divide by a running RMS of the gradient: not affine, no map (``None``).
Neither is a map offered for an unstable iteration (spectral radius above 1): a run that
diverges keeps stepping, so the guard and what it prints are exactly those of plain stepping.

The parameters may be one column ``(d,)`` or a block of columns ``(d, K)`` (several curves
fitted at once, ``b`` of shape ``(d, K)``): the matrices act on the leading axis.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..optim.pure import SGD, EmptyState, MomentumState, Preconditioned, namespace

# An iteration whose spectral radius exceeds 1 by more than this is not jumped (it diverges).
_STABLE = 1.0 + 1e-9
_CACHE_SIZE = 64  # distinct k kept (log interval, progress stride, remainder: a handful)


class AffineJumps:
    """``k`` steps of ``z -> A z + c`` at once, with ``(A^k, S_k c)`` cached per ``k``.

    ``A`` is ``(n, n)`` and ``c`` is ``(n,)`` or ``(n, K)``, float64 on the host; ``d`` is how
    many of the ``n`` rows are parameters (the rest: the momentum buffer). ``asarray`` puts a
    host array on the run's device in its dtype.
    """

    def __init__(self, A: np.ndarray, c: np.ndarray, d: int, asarray: Callable[[Any], Any]):
        self.A, self.c, self.d = A, c, d
        self.asarray = asarray
        self._cache: dict[int, tuple[Any, Any]] = {}

    def power(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(A^k, S_k)`` on the host, by binary powering: the pair of ``a`` steps then ``b``
        steps is ``(P_b P_a, P_b S_a + S_b)``; a step is ``(A, I)``."""
        n = self.A.shape[0]
        P, S = np.eye(n), np.zeros((n, n))  # zero steps
        Pb, Sb = self.A, np.eye(n)  # 2^i steps
        while k:
            if k & 1:
                P, S = Pb @ P, Pb @ S + Sb
            k >>= 1
            if k:
                Pb, Sb = Pb @ Pb, Pb @ Sb + Sb
        return P, S

    def transition(self, k: int) -> tuple[Any, Any]:
        """``(A^k, S_k c)`` on the device, built once per ``k``."""
        found = self._cache.get(k)
        if found is None:
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            P, S = self.power(k)
            found = self._cache[k] = (self.asarray(P), self.asarray(S @ self.c))
        return found

    def apply(self, k: int, w: Any, state: EmptyState | MomentumState) -> tuple[Any, Any]:
        """The parameters and optimizer state after ``k`` steps from ``(w, state)``."""
        P, v = self.transition(k)
        if isinstance(state, EmptyState):
            return P @ w + v, state
        xp = namespace(w)
        z = P @ xp.concat((w, state.buf), axis=0) + v
        return z[: self.d], MomentumState(state.count + k, z[self.d :])


def affine_jumps(
    optimizer: Any, H: np.ndarray, b: np.ndarray, asarray: Callable[[Any], Any]
) -> AffineJumps | None:
    """The jumps of ``optimizer`` on the gradient ``2 (H w - b)``, or None where its steps are
    not an affine map of a fixed state (RMSprop, Adam) or do not converge (spectral radius of
    the step above 1)."""
    scales = None
    if isinstance(optimizer, Preconditioned):
        scales, optimizer = np.asarray(optimizer.scales, dtype=np.float64), optimizer.inner
    if not isinstance(optimizer, SGD):
        return None
    H, b = np.asarray(H, dtype=np.float64), np.asarray(b, dtype=np.float64)
    d = H.shape[0]
    if scales is not None:  # the optimizer sees u = w / s and the gradient s g
        H = scales[:, None] * H * scales[None, :]
        b = scales.reshape((d,) + (1,) * (b.ndim - 1)) * b
    lr, mu, eye = optimizer.lr, optimizer.momentum, np.eye(d)
    if not mu:
        A, c = eye - 2 * lr * H, 2 * lr * b
    else:
        # buf' = mu buf + 2 H w - 2 b; the step: w' = w - lr (a g + m buf) with (a, m) = (1, mu)
        # for heavy ball (direction buf') and (1 + mu, mu^2) for Nesterov (g + mu buf').
        a, m = (1 + mu, mu * mu) if optimizer.nesterov else (1.0, mu)
        A = np.block([[eye - 2 * lr * a * H, -lr * m * eye], [2 * H, mu * eye]])
        c = np.concatenate((2 * lr * a * b, -2 * b), axis=0)
    if scales is not None:  # carry z = (u, buf) back to (w, buf): w = s u
        A[:d, :] *= scales[:, None]
        A[:, :d] /= scales[None, :]
        c[:d] *= scales.reshape((d,) + (1,) * (c.ndim - 1))
    if (
        not (np.all(np.isfinite(A)) and np.all(np.isfinite(c)))
        or np.max(np.abs(np.linalg.eigvals(A))) > _STABLE
    ):
        return None
    return AffineJumps(A, c, d, asarray)


class QuadraticSteps:
    """``k`` steps of ``optimizer`` on the gradient ``2 (H w - b)``, for gram's methods (one
    column of parameters or a (d, K) block): one affine jump where the optimizer allows it
    (:func:`affine_jumps`, built on the first ask), else ``k`` steps of the optimizer's update.
    ``H``, ``b`` live on ``backend``'s device."""

    def __init__(self, optimizer: Any, H: Any, b: Any, backend: Any) -> None:
        self.optimizer, self.H, self.b, self.backend = optimizer, H, b, backend
        self._map: AffineJumps | bool | None = None  # the map, False (none), None (not built)

    @property
    def exact(self) -> bool:
        """Whether the steps are one affine map of a converging iteration (sgd, momentum,
        nesterov), i.e. whether :meth:`advance` can jump."""
        if self._map is None:
            be = self.backend
            H, b = be.to_numpy(self.H), be.to_numpy(self.b)
            self._map = affine_jumps(self.optimizer, H, b, be.asarray) or False
        return bool(self._map)

    def advance(self, k: int, w: Any, state: Any, jump: bool = True) -> tuple[Any, Any]:
        """The parameters and optimizer state ``k`` steps after ``(w, state)``: one jump when
        ``jump`` and :attr:`exact`, else stepping. Stepping computes ``2 (H w - b)`` as
        ``(2 H) w - 2 b`` (doubling is exact: the same numbers, one operation less), with
        NumPy's ``dot``, quicker than ``@`` on tiny arrays."""
        if jump and self.exact:
            assert isinstance(self._map, AffineJumps)
            return self._map.apply(k, w, state)
        H2, b2, update = 2.0 * self.H, 2.0 * self.b, self.optimizer.update
        product = H2.dot if self.backend.name == "numpy" else H2.__matmul__
        for _ in range(k):
            w, state = update(product(w) - b2, state, w)
        return w, state
