"""Sufficient statistics of least squares, accumulated in one chunked float64 pass.

For a model linear in its parameters, ``y_pred = X w`` with ``X`` the basis functions of x (a
Vandermonde matrix: monomial, Legendre or Chebyshev), the loss and its gradient depend on the
data only through three numbers' worth of sums::

    L(w)  = |X w - y|^2 = w^T G w - 2 w^T b + y^T y      G = X^T X,  b = X^T y
    dL/dw = 2 (G w - b)

:func:`accumulate` reads the data once, a chunk of rows at a time (peak memory: a few chunks,
not N), and adds each chunk's ``X_c^T X_c``, ``X_c^T y_c`` and ``y_c^T y_c`` in float64,
whatever the data's dtype. After that, exact full-batch gradient descent costs O(d^2) a step
(:mod:`gradfit.methods.gram`), and the Hessian ``2 G`` gives the spectrum for ``--lr auto``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from .errors import UsageError

# Rows per chunk: 2^16 rows of x, y and a degree-3 basis are about 3 MB, small enough to stay in
# cache, large enough that the per-chunk Python overhead is negligible (~1500 chunks per 10^8).
DEFAULT_CHUNK = 1 << 16

VANDER = {
    "monomial": np.polynomial.polynomial.polyvander,
    "legendre": np.polynomial.legendre.legvander,
    "chebyshev": np.polynomial.chebyshev.chebvander,
}

Chunk = tuple[np.ndarray, ...]  # (x, y), or (x, y, w) with per-point weights

# Rows per compute block inside a chunk: the basis values of a block (8 bytes x (d + 1) x BLOCK)
# stay in cache.
BLOCK = 8192

# L* / y^T y below which the optimum's loss is summed from the residuals in a second pass.
REFINE_BELOW = 1e-4


@dataclass(frozen=True)
class GramStats:
    """``G = X^T X``, ``b = X^T y``, ``yty = y^T y`` and the number of rows ``n`` (float64);
    weighted (``X^T W X``, ``X^T W y``, ``y^T W y``, W the per-point weights) when the chunks
    carried weights."""

    gram: np.ndarray
    xty: np.ndarray
    yty: float
    n: int
    residual: float | None = None  # |X w* - y|^2 summed over the data (see :func:`refine`)

    @cached_property
    def optimum(self) -> tuple[np.ndarray, float]:
        """``(w*, L*)``: the least-squares parameters (minimum norm if ``G`` is singular) and the
        smallest loss: the residual summed by :func:`refine` when known, else
        ``y^T y - b^T w*`` (clipped at 0), whose absolute rounding error is of order
        ``1e-16 * y^T y`` - tiny relative to ``L*`` unless the fit is nearly exact, which is
        when :func:`needs_refinement` asks for the second pass."""
        w_star, *_ = np.linalg.lstsq(self.gram, self.xty, rcond=None)
        if self.residual is not None:
            return w_star, self.residual
        return w_star, max(float(self.yty - self.xty @ w_star), 0.0)

    def needs_refinement(self) -> bool:
        """True when ``L* = y^T y - b^T w*`` may be off by more than ~1e-11 relative: the fit
        is nearly exact (``L* < 1e-4 y^T y``), so large terms cancel."""
        return self.residual is None and self.optimum[1] < REFINE_BELOW * self.yty

    def loss(self, w: Any) -> float:
        """``L(w) = L* + (w - w*)^T G (w - w*)``: no cancellation between large terms near the
        optimum (the expanded form ``w^T G w - 2 w^T b + y^T y`` would lose every digit)."""
        w_star, best = self.optimum
        d = np.asarray(w, dtype=np.float64) - w_star
        return best + float(d @ (self.gram @ d))

    def rank(self) -> int:
        return int(np.linalg.matrix_rank(self.gram))


def accumulate(chunks: Iterable[Chunk], basis: str, degree: int, window: Any = None) -> GramStats:
    """One pass over ``chunks`` of ``(x, y)`` rows: ``G``, ``b``, ``y^T y`` in float64.

    A chunk ``(x, y, w)`` carries per-point weights: the sums are then ``X^T W X``,
    ``X^T W y`` and ``y^T W y`` (each product takes ``w`` once; ``n`` still counts the rows).

    ``window`` (a :class:`gradfit.data.Domain`, optional) maps each chunk's x to
    ``t = off + scl * x`` in [-1, 1] first, so the statistics are those of the scaled fit.

    Each chunk is processed in blocks of ``BLOCK`` rows whose basis values stay in cache, in
    reused buffers (no allocation per block), with matrix-vector products (BLAS ``dgemv``; a
    small ``X^T X`` matrix product is several times slower in OpenBLAS). In the monomial basis
    ``G[j, k] = sum x^(j+k)`` depends on ``j + k`` only: two products per block,
    ``R @ 1`` and ``R @ x^d``, give all 2d + 1 sums.
    """
    d = degree + 1
    gram, xty, yty, n = np.zeros((d, d)), np.zeros(d), 0.0, 0
    monomial = basis == "monomial"
    # monomial: sums[0] = S_0..S_degree (R @ 1), sums[1] = S_degree..S_2degree (R @ x^degree),
    # with S_p = sum x^p; other bases: row j of G is R @ R[j].
    sums = np.zeros((2, d)) if monomial else np.zeros((d, d))
    rows = np.empty((d, BLOCK))  # B_0 = 1 .. B_degree of a block
    rows[0] = 1.0
    ybuf = np.empty(BLOCK)
    wbuf = np.empty(BLOCK)
    off, scl = window.mapping if window is not None else (0.0, 1.0)
    with np.errstate(over="ignore", invalid="ignore"):  # reported below, as one line
        for chunk in chunks:
            x = np.asarray(chunk[0], dtype=np.float64).reshape(-1)
            y = np.asarray(chunk[1], dtype=np.float64).reshape(-1)
            w = None if len(chunk) < 3 else np.asarray(chunk[2], dtype=np.float64).reshape(-1)
            for start in range(0, x.size, BLOCK):
                xb = x[start : start + BLOCK]
                m = xb.size
                R, yb = rows[:, :m], ybuf[:m]
                if d > 1:
                    if window is not None:  # t = off + scl * x, as Domain.to_window
                        np.multiply(xb, scl, out=R[1])
                        R[1] += off
                    else:
                        R[1] = xb
                    _recurrence(basis, R, degree)
                yb[...] = y[start : start + BLOCK]
                if w is not None:  # weighted: W R^T as the right-hand factor of each product
                    wb = wbuf[:m]
                    wb[...] = w[start : start + BLOCK]
                    _weighted_sums(sums, R, wb, yb, monomial, degree)
                    xty += R @ (wb * yb)
                    yty += float(yb @ (wb * yb))
                    continue
                if monomial:
                    sums[0] += R @ R[0]
                    sums[1] += R @ R[degree]
                else:
                    for j in range(d):
                        sums[j] += R @ R[j]
                xty += R @ yb
                yty += float(yb @ yb)
            n += x.size
    for j in range(d):
        for k in range(j, d):
            if monomial:  # G[j, k] = S_(j + k)
                p = j + k
                value = sums[0][p] if p <= degree else sums[1][p - degree]
            else:
                value = sums[j][k]
            gram[j, k] = gram[k, j] = value
    if not (np.all(np.isfinite(gram)) and np.all(np.isfinite(xty)) and np.isfinite(yty)):
        raise UsageError(
            "the least-squares statistics overflow on this data (the basis values are too large "
            "for float64): use --scale"
        )
    return GramStats(gram, xty, yty, n)


def _weighted_sums(
    sums: np.ndarray, R: np.ndarray, wb: np.ndarray, yb: np.ndarray, monomial: bool, degree: int
) -> None:
    """A block's share of ``X^T W X`` (see :func:`accumulate`'s two forms of ``sums``)."""
    if monomial:
        sums[0] += R @ wb
        sums[1] += R @ (wb * R[degree])
    else:
        for j in range(R.shape[0]):
            sums[j] += R @ (wb * R[j])


def _recurrence(basis: str, R: np.ndarray, degree: int) -> None:
    """Fill rows 2..degree of ``R`` from ``R[0] = 1`` and ``R[1] = x`` with numpy.polynomial's
    own recurrences (bit for bit its ``polyvander``/``legvander``/``chebvander``)."""
    x = R[1]
    for k in range(2, degree + 1):
        np.multiply(R[k - 1], x, out=R[k])
        if basis == "chebyshev":  # T_k = 2 x T_{k-1} - T_{k-2}
            R[k] *= 2.0
            R[k] -= R[k - 2]
        elif basis == "legendre":  # P_k = (P_{k-1} x (2k - 1) - P_{k-2} (k - 1)) / k
            R[k] *= 2 * k - 1
            R[k] -= R[k - 2] * (k - 1)
            R[k] /= k


def basis_rows(basis: str, x: np.ndarray, degree: int, out: np.ndarray) -> np.ndarray:
    """The transposed Vandermonde matrix ``VANDER[basis](x, degree).T`` written into ``out``
    (shape ``(degree + 1, x.size)``)."""
    out[0] = 1.0
    if degree >= 1:
        out[1] = x
        _recurrence(basis, out, degree)
    return out


def refine(
    stats: GramStats, chunks: Iterable[Chunk], basis: str, degree: int, window: Any = None
) -> GramStats:
    """``stats`` with ``L*`` summed from the residuals ``X w* - y`` over a second pass of the
    same ``chunks``: accurate to rounding however small it is."""
    w_star = stats.optimum[0]
    vander = VANDER[basis]
    total = 0.0
    for chunk in chunks:
        x = np.asarray(chunk[0], dtype=np.float64).reshape(-1)
        if window is not None:
            x = window.to_window(x)
        r = vander(x, degree) @ w_star - np.asarray(chunk[1], dtype=np.float64).reshape(-1)
        total += float(r @ r) if len(chunk) < 3 else float(r @ (_host(chunk[2]) * r))
    return GramStats(stats.gram, stats.xty, stats.yty, stats.n, total)


def array_chunks(x: Any, y: Any, size: int = DEFAULT_CHUNK, weights: Any = None) -> Iterator[Chunk]:
    """Consecutive row blocks of two arrays of any backend (torch tensors are copied to the
    host one block at a time), as float64 NumPy arrays; with ``weights``, triples."""
    n = int(x.shape[0])
    for start in range(0, n, size):
        block = (_host(x[start : start + size]), _host(y[start : start + size]))
        yield block if weights is None else (*block, _host(weights[start : start + size]))


def statistics(
    model: Any, x: Any, y: Any, size: int = DEFAULT_CHUNK, weights: Any = None
) -> GramStats:
    """The statistics of a polynomial ``model`` on in-memory data, in chunks of ``size`` rows
    (and a second pass for ``L*`` when the fit is nearly exact); weighted with ``weights``."""
    stats = accumulate(array_chunks(x, y, size, weights), model.basis, model.degree)
    if stats.needs_refinement():
        stats = refine(stats, array_chunks(x, y, size, weights), model.basis, model.degree)
    return stats


def _host(a: Any) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)
