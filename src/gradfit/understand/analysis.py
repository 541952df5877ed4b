"""Reference answers every run is compared against (the closed-form least-squares optimum)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.polynomial import Polynomial as NpPolynomial

from ..data import as_float64, host_float64


@dataclass(frozen=True)
class Optimum:
    """The least-squares optimum: monomial coefficients (lowest power first) and its SSE."""

    coef: np.ndarray
    loss: float


def closed_form(x: Any, y: Any, degree: int = 3, weights: Any = None) -> Optimum:
    """The exact least-squares polynomial of ``degree`` through ``(x, y)``, in float64.

    Uses ``numpy.polynomial.Polynomial.fit`` (a scaled, well-conditioned lstsq), converted back to
    monomial coefficients of x. This is what gradient descent on the sum of squared errors walks
    toward; the loss is the sum of squared residuals, the article's loss. ``weights`` (one per
    point): weighted least squares, ``sum w_i r_i^2`` (NumPy's ``w`` multiplies the residuals,
    so it is given ``sqrt(w)``).
    """
    xs = as_float64(x)
    ys = as_float64(y)
    sw = None if weights is None else np.sqrt(as_float64(weights))
    fitted = NpPolynomial.fit(xs, ys, degree, w=sw)
    poly = fitted.convert()
    coef = np.zeros(degree + 1)
    coef[: poly.coef.size] = poly.coef
    # The loss from the scaled form: monomial coefficients lose digits to cancellation when x
    # is far from 0 (x in [1e6, 1e6 + 10] would give a loss 30 times too large).
    residual = fitted(xs) - ys
    if sw is not None:
        residual = sw * residual
    return Optimum(coef, float(residual @ residual))


def design_optimum(model: Any, x: Any, y: Any, weights: Any = None) -> Optimum:
    """The exact least-squares optimum of a model linear in its parameters, from its design
    matrix (``numpy.linalg.lstsq``; the minimum-norm solution when the design is rank
    deficient), its coefficients as the model reports them; weighted with ``weights``."""
    X, ys = whitened(design_matrix(model, x), as_float64(y), weights)
    w_star, loss = _least_squares(X, ys)
    return Optimum(model.to_monomial(w_star), loss)


def whitened(X: Any, y: Any, weights: Any) -> tuple[Any, Any]:
    """``(sqrt(W) X, sqrt(W) y)``: weighted least squares as an unweighted one (unchanged
    without ``weights``)."""
    if weights is None:
        return X, y
    sw = np.sqrt(as_float64(weights))
    return sw[:, None] * np.asarray(X, dtype=np.float64), sw * as_float64(y)


def ridge_optimum(
    alpha: float, factor: float, stats: Any = None, X: Any = None, y: Any = None
) -> tuple[np.ndarray, float]:
    """``(w_r, L_r)``: the minimum of ``factor |X w - y|^2 + alpha |w|^2`` (ridge, ``--l2``),
    from the gram statistics ``stats`` or from the design matrix ``X`` and ``y``.

    The gradient ``2 factor (G w - b) + 2 alpha w`` vanishes where
    ``(factor G + alpha I) w = factor b``, with ``G = X^T X``, ``b = X^T y``."""
    if stats is not None:
        G, b = stats.gram, stats.xty
    else:
        X, y = np.asarray(X, dtype=np.float64), as_float64(y)
        G, b = X.T @ X, X.T @ y
    w = np.linalg.solve(factor * G + alpha * np.eye(len(b)), factor * b)
    if stats is not None:
        fit = stats.loss(w)
    else:
        residual = X @ w - y
        fit = float(residual @ residual)
    return w, factor * fit + alpha * float(w @ w)


def _least_squares(X: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, float]:
    """``(w*, |X w* - y|^2)`` by ``numpy.linalg.lstsq`` (minimum norm when X is rank
    deficient)."""
    w_star, *_ = np.linalg.lstsq(X, ys, rcond=None)
    residual = X @ w_star - ys
    return w_star, float(residual @ residual)


# --- the quadratic picture: what gradient descent on least squares does, exactly ------------


@dataclass(frozen=True)
class Spectrum:
    """Eigenvalues of the loss Hessian ``H`` (ascending) and what they imply for step sizes.

    For least squares ``L(w) = |X w - y|^2`` the Hessian is ``H = 2 X^T X``, the same everywhere.
    Gradient descent multiplies the error along eigenvector ``i`` by ``1 - lr * lambda_i`` each
    step, so it is stable iff ``lr < 2 / lambda_max``; the constant rate that makes the slowest
    and fastest directions shrink equally fast is ``2 / (lambda_min + lambda_max)``.
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    exact: bool = True  # False: Gauss-Newton at a point, for a model that is not linear in w
    where: str = "at the start"  # the point(s) an inexact (Gauss-Newton) curvature is from

    def scaled(self, factor: float) -> Spectrum:
        """The spectrum of ``factor`` times this loss (the mean squared error: 1 / n)."""
        return Spectrum(self.eigenvalues * factor, self.eigenvectors, self.exact, self.where)

    def shifted(self, shift: float) -> Spectrum:
        """The spectrum of this loss plus ``shift / 2 * |w|^2`` (``--l2 alpha``: shift 2 alpha)."""
        return Spectrum(self.eigenvalues + shift, self.eigenvectors, self.exact)

    @property
    def lambda_max(self) -> float:
        return float(self.eigenvalues[-1])

    @property
    def lambda_min(self) -> float:
        return float(self.eigenvalues[0])

    @property
    def condition(self) -> float:
        return self.lambda_max / self.lambda_min if self.lambda_min > 0 else math.inf

    @property
    def stable_lr(self) -> float:
        """The largest stable constant learning rate, ``2 / lambda_max``."""
        return 2.0 / self.lambda_max

    @property
    def best_lr(self) -> float:
        """The best constant learning rate for plain gradient descent."""
        return 2.0 / (self.lambda_min + self.lambda_max)

    def rate(self, lr: float) -> float:
        """Per-step contraction of the slowest error component at ``lr`` (>= 1: no convergence)."""
        return float(np.max(np.abs(1.0 - lr * self.eigenvalues)))

    def heavy_ball(self) -> tuple[float, float]:
        """Polyak's optimal (lr, momentum) for SGD with momentum on this quadratic."""
        s_max, s_min = math.sqrt(self.lambda_max), math.sqrt(max(self.lambda_min, 0.0))
        return 4.0 / (s_max + s_min) ** 2, ((s_max - s_min) / (s_max + s_min)) ** 2

    def nesterov(self) -> tuple[float, float]:
        """The classic (lr, momentum) for Nesterov's method: ``1 / L`` and
        ``(sqrt(kappa) - 1) / (sqrt(kappa) + 1)``."""
        root = math.sqrt(self.condition) if math.isfinite(self.condition) else math.inf
        momentum = (root - 1) / (root + 1) if math.isfinite(root) else 0.99
        return 1.0 / self.lambda_max, momentum


def design_matrix(model: Any, x: Any) -> np.ndarray | None:
    """``X`` with ``y_pred = X @ w`` in float64, for models linear in their parameters (poly,
    additive); None for the others (legendre3, dynamic)."""
    if not getattr(model, "linear", False):
        return None
    return model.design(host_float64(x))


def hessian_spectrum(
    model: Any, x: Any, w: Any = None, chunk: int = 1 << 20, weights: Any = None
) -> Spectrum:
    """The spectrum of the loss Hessian: exact ``2 X^T X`` for linear models (accumulated over
    chunks of rows: one pass, O(n^2) memory); for the others the Gauss-Newton matrix ``2 J^T J``
    at parameters ``w`` (the Hessian near a good fit). ``weights``: ``2 X^T W X``."""
    return gram_spectrum(*hessian_gram(model, x, w, chunk, weights))


def hessian_gram(
    model: Any, x: Any, w: Any = None, chunk: int = 1 << 20, weights: Any = None
) -> tuple[np.ndarray, bool]:
    """Half the Hessian (or Gauss-Newton matrix) of :func:`hessian_spectrum`, and whether it
    is exact: a sum over the rows, so a distributed run sums the ranks' matrices. With
    per-point ``weights``: ``X^T W X`` (``J^T W J``)."""
    exact = getattr(model, "linear", False)
    wts = None if weights is None else as_float64(weights)
    if exact:
        xs = host_float64(x)
        with np.errstate(over="ignore", invalid="ignore"):  # reported below
            gram = np.zeros((model.n_params, model.n_params))
            for start in range(0, xs.shape[0], chunk):
                V = model.design(xs[start : start + chunk])
                gram += V.T @ (V if wts is None else wts[start : start + chunk, None] * V)
    else:
        J = jacobian(model, x, np.asarray(w, dtype=np.float64))
        gram = J.T @ (J if wts is None else wts[:, None] * J)
    return gram, exact


def gram_spectrum(gram: np.ndarray, exact: bool = True, where: str = "at the start") -> Spectrum:
    """The spectrum of the Hessian ``2 G`` of least squares with Gram matrix ``G = X^T X``
    (``G = J^T J``, Gauss-Newton, when not ``exact``)."""
    from ..errors import UsageError

    if not np.all(np.isfinite(gram)):
        raise UsageError(
            "the loss's curvature overflows on this data (the powers of x are too large for "
            "float64): use --scale, or give --lr"
        )
    vals, vecs = np.linalg.eigh(2.0 * gram)
    return Spectrum(np.clip(vals, 0.0, None), vecs, exact, where)


def jacobian(model: Any, x: Any, w: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """``d y_pred / d w`` (N x n) by central differences, float64. For the dynamic net, at the
    deepest pass (both extra orders), which bounds the curvature from above."""
    from ..backends import resolve_backend

    be = resolve_backend("numpy", "cpu", "float64")
    cache = model.prepare(be.asarray(as_float64(x)), be, 0)
    if cache.rng is not None:
        cache.rng = _Deepest()
    cols = []
    for k in range(w.size):
        step = h * max(1.0, abs(w[k]))
        up, down = w.copy(), w.copy()
        up[k] += step
        down[k] -= step
        cols.append((model.forward(up, cache) - model.forward(down, cache)) / (2 * step))
    return np.stack([np.broadcast_to(c, cache.feats[0].shape) for c in cols], axis=1)


class _Deepest:
    """A stand-in random source that always picks the deepest pass of the dynamic net."""

    def randint(self, a: int, b: int) -> int:
        return b


@dataclass(frozen=True)
class QuadraticPath:
    """Plain gradient descent on least squares, solved exactly in the Hessian's eigenbasis.

    After ``t`` updates the error along eigenvector ``i`` is ``(1 - lr lambda_i)^t e_i(0)``, and
    the loss is ``L* + sum_i lambda_i / 2 * e_i(t)^2`` - no run needed.
    """

    spectrum: Spectrum
    optimum_loss: float
    initial_error: np.ndarray  # V^T (w0 - w*)

    def scaled(self, factor: float) -> QuadraticPath:
        """The same path for ``factor`` times this loss (curvature and optimum scaled)."""
        return QuadraticPath(
            self.spectrum.scaled(factor), factor * self.optimum_loss, self.initial_error
        )

    def ridge(self, alpha: float, w0: Any) -> QuadraticPath:
        """The path from the same start ``w0`` for this loss plus ``alpha |w|^2`` (``--l2``).

        In the eigenbasis, with ``u = V^T w*`` and ``mu_i = lambda_i + 2 alpha``, the penalised
        loss is ``L* + sum_i lambda_i / 2 e_i^2 + alpha (e_i + u_i)^2``: a quadratic of
        curvature ``mu_i`` whose minimum lies at ``e_i = -2 alpha u_i / mu_i`` and is
        ``L* + sum_i alpha lambda_i u_i^2 / mu_i``."""
        lam = self.spectrum.eigenvalues
        mu = lam + 2.0 * alpha
        u = self.spectrum.eigenvectors.T @ np.asarray(w0, dtype=np.float64) - self.initial_error
        best = self.optimum_loss + float(np.sum(alpha * lam * u * u / mu))
        error = self.initial_error + 2.0 * alpha * u / mu  # e(0) - e_ridge
        return QuadraticPath(self.spectrum.shifted(2.0 * alpha), best, error)

    def loss_after(self, steps: int | np.ndarray, lr: float) -> np.ndarray:
        """Loss after ``steps`` updates at ``lr`` (vectorised over ``steps``)."""
        t = np.asarray(steps, dtype=np.float64)[..., None]
        with np.errstate(over="ignore", invalid="ignore"):  # an unstable lr: inf, as it should
            factors = (1.0 - lr * self.spectrum.eigenvalues) ** t
            sq = (factors * self.initial_error) ** 2
            excess = 0.5 * np.sum(self.spectrum.eigenvalues * sq, -1)
        return self.optimum_loss + excess

    def steps_to(self, lr: float, rel_excess: float = 1e-6, limit: int = 10**9) -> int | None:
        """Fewest updates after which ``loss - L* <= rel_excess * L*`` (None: never / > limit)."""
        target = self.optimum_loss * (1 + rel_excess)
        if self.loss_after(0, lr) <= target:
            return 0
        if self.spectrum.rate(lr) >= 1.0:
            return None
        lo, hi = 0, 1
        while self.loss_after(hi, lr) > target:  # the excess is non-increasing at a stable rate
            lo, hi = hi, hi * 2
            if hi > limit:
                return None
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if self.loss_after(mid, lr) <= target else (mid, hi)
        return hi


def budget_lr(path: QuadraticPath, steps: int) -> float:
    """The constant learning rate whose plain gradient descent, from this path's start, has the
    lowest loss after ``steps`` updates - exactly, for least squares.

    The loss after k steps, ``L* + sum_i lambda_i / 2 e_i^2 (1 - lr lambda_i)^(2k)``, is convex
    in lr on ``[0, 2 / lambda_max]`` (a positive sum of even powers of affine functions), so a
    golden-section search finds its minimum. The search's answer is compared with
    ``1 / lambda_max`` and ``2 / (lambda_min + lambda_max)`` (the best rate for infinitely many
    steps), and the lowest predicted loss wins; on a tie (all at the optimum to rounding), the
    fastest asymptotic contraction. The rate is cut to 4 significant digits.
    """
    spec = path.spectrum
    hi = 2.0 / spec.lambda_max

    def loss(lr: float) -> float:
        return float(path.loss_after(steps, lr))

    inv = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = 0.0, hi
    c, d = b - inv * (b - a), a + inv * (b - a)
    fc, fd = loss(c), loss(d)
    for _ in range(200):
        if b - a <= 1e-12 * hi:
            break
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - inv * (b - a)
            fc = loss(c)
        else:
            a, c, fc = c, d, fd
            d = a + inv * (b - a)
            fd = loss(d)
    candidates = [c, d, 1.0 / spec.lambda_max]
    if spec.lambda_min > 0:
        candidates.append(spec.best_lr)
    best = min(candidates, key=lambda lr: (loss(lr), spec.rate(lr)))
    # Near its minimum the loss is flat in lr, so the last digits of the argmin follow the
    # rounding of the sums (one process or several, rows or statistics). Four significant
    # digits, rounded down (never past the stability limit), make the same problem give the
    # same rate; the loss at the budget changes by a second-order amount.
    return _round_down(best, 4)


def _round_down(value: float, digits: int) -> float:
    """``value`` > 0 cut to ``digits`` significant digits."""
    unit = 10.0 ** (math.floor(math.log10(value)) - digits + 1)
    return float(f"{math.floor(value / unit) * unit:.{digits}g}")


def path_from_statistics(stats: Any, spectrum: Spectrum, w0: Any) -> QuadraticPath:
    """The exact gradient-descent path from ``w0`` for least squares whose sufficient
    statistics (:class:`gradfit.stats.GramStats`) are ``stats``; ``spectrum`` is theirs."""
    w_star, best = stats.optimum
    e0 = spectrum.eigenvectors.T @ (np.asarray(w0, dtype=np.float64) - w_star)
    return QuadraticPath(spectrum, float(best), e0)


def quadratic_path(
    model: Any, x: Any, y: Any, w0: Any, weights: Any = None
) -> QuadraticPath | None:
    """The exact gradient-descent path for a linear model from ``w0`` (None otherwise), on the
    weighted loss with ``weights``."""
    X = design_matrix(model, x)
    if X is None:
        return None
    w_star, best = _least_squares(*whitened(X, as_float64(y), weights))
    spectrum = hessian_spectrum(model, x, weights=weights)
    e0 = spectrum.eigenvectors.T @ (np.asarray(w0, dtype=np.float64) - w_star)
    return QuadraticPath(spectrum, best, e0)


@dataclass(frozen=True)
class AutoLR:
    """What ``--lr auto`` chose, and by which rule."""

    lr: float
    momentum: float | None
    rule: str


def auto_learning_rate(
    model: Any,
    x: Any,
    w0: Any,
    optimizer: str,
    momentum: float | None = None,
    spectrum: Spectrum | None = None,
    path: QuadraticPath | None = None,
    steps: int | None = None,
) -> AutoLR:
    """A learning rate from the loss curvature, for ``--lr auto``.

    - sgd on least squares, given the exact ``path`` from this start and the step budget
      ``steps``: the rate with the lowest predicted loss after ``steps`` updates
      (:func:`budget_lr`; never worse there than ``1 / lambda_max`` nor than
      ``2 / (lambda_min + lambda_max)``); without them, ``2 / (lambda_min + lambda_max)``,
      the best constant rate for many steps;
    - momentum: Polyak's heavy-ball optimum (rate and momentum); nesterov: ``1 / lambda_max``
      with momentum ``(sqrt(kappa) - 1) / (sqrt(kappa) + 1)``; with ``--momentum`` given, a safe
      rate for it (half the heavy-ball stability limit ``2 (1 + m) / lambda_max``);
    - models not linear in their parameters (legendre3, dynamic): the same rules on the
      Gauss-Newton curvature at the start, with sgd at half the stable rate, ``1 / lambda_max``;
    - lbfgs: 1, torch.optim.LBFGS's own default.
    adam and rmsprop step in parameter units, not along the curvature: no rule, an error.
    ``spectrum``: the Hessian's spectrum when already known (the gram method's statistics).
    """
    from ..errors import UsageError

    if optimizer == "lbfgs":
        return AutoLR(1.0, momentum, "torch.optim.LBFGS's default step, 1")
    if optimizer in ("adam", "rmsprop"):
        raise UsageError(
            f"--lr auto is defined for sgd, momentum, nesterov and lbfgs; {optimizer} takes "
            "steps in parameter units, not along the curvature: give --lr (e.g. 1e-2)"
        )
    if path is not None:
        spectrum = path.spectrum
    spec = spectrum if spectrum is not None else hessian_spectrum(model, x, w0)
    where = "" if spec.exact else f" of the curvature {spec.where}"
    if optimizer == "sgd" and momentum is None and path is not None and steps is not None:
        return AutoLR(
            budget_lr(path, steps),
            momentum,
            f"the rate with the lowest predicted loss after {steps} steps from this start "
            "(exact for least squares)",
        )
    if optimizer == "sgd":
        if spec.exact and spec.lambda_min > 0:
            return AutoLR(
                spec.best_lr,
                momentum,
                "2 / (lambda_min + lambda_max), the best "
                "constant rate for gradient descent on least squares",
            )
        return AutoLR(
            1.0 / spec.lambda_max, momentum, f"1 / lambda_max{where}, half the largest stable rate"
        )
    if momentum is not None:
        factor = 1.0 + momentum if optimizer == "momentum" else 1.0
        return AutoLR(
            factor / spec.lambda_max,
            momentum,
            f"{factor:g} / lambda_max{where}: half the stability limit for momentum {momentum:g}",
        )
    if optimizer == "momentum":
        lr, beta = spec.heavy_ball()
        return AutoLR(
            lr,
            beta,
            f"Polyak's heavy ball{where}: 4 / (sqrt(lambda_max) + "
            "sqrt(lambda_min))^2 with momentum ((sqrt(kappa) - 1) / (sqrt(kappa) + 1))^2",
        )
    lr, beta = spec.nesterov()
    return AutoLR(
        lr,
        beta,
        f"Nesterov{where}: 1 / lambda_max with momentum (sqrt(kappa) - 1) / (sqrt(kappa) + 1)",
    )
