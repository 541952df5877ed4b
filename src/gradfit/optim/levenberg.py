"""Levenberg-Marquardt and Gauss-Newton steps for nonlinear least squares.

Gradient descent moves every parameter by the same learning rate times its gradient, so a
problem whose parameters live on scales a million apart (NIST's MGH10: 0.0056, 6181, 345)
stalls: the rate that keeps the stiff direction stable is far too small for the others.
Gauss-Newton uses the model's Jacobian ``J = dr/dw`` (N x p) to solve the linearised problem
``min ||r + J delta||`` for the whole step at once; Levenberg-Marquardt damps that step toward
(scaled) gradient descent when the linear model cannot be trusted:

    minimise  ||r + J delta||^2 + lam ||D delta||^2,
    i.e. the least-squares system  [J; sqrt(lam) D] delta = [-r; 0].

What is used here, and why:

* **The step is solved as least squares, not through the normal equations.** The scaled
  Jacobian ``Js = J D^-1`` is factored once per Jacobian by SVD, ``Js = U S V^T``; then the
  augmented system's exact solution for any damping is a formula,
  ``delta = -D^-1 V (S / (S^2 + lam)) U^T r``, with J's condition number not squared as
  ``J^T J`` would square it. A rejected step (a larger lam) reuses the factorisation, so it
  costs one evaluation of the residuals and a few p-vector operations. Above
  ``NORMAL_EQUATIONS_SIZE`` elements (``N * p``) the SVD of J itself would be the cost:
  ``Js^T Js`` and ``Js^T r`` are formed once in float64 and ``eigh`` takes the SVD's place
  (``S^2`` and V) - fine unless J is close to rank deficient.
* **Scaling D is MINPACK's**: the running maximum of J's column norms (1 for a zero column),
  so the damping is invariant to each parameter's units.
* **Damping: More's trust region** (J. J. More, "The Levenberg-Marquardt algorithm:
  implementation and theory", 1978 - MINPACK's ``lmder`` and scipy's ``method="lm"``). The step
  must satisfy ``||D delta|| <= radius``; lam is the damping that makes it fit (lam = 0 when the
  Gauss-Newton step already does), found by More's safeguarded Newton iteration on
  ``||D delta(lam)|| = radius``, each try a formula on the SVD. The radius starts at
  ``100 ||D w0||``; with the gain ratio ``rho`` (the actual reduction of the sum of squares over
  the reduction the linear model predicts, ``||J delta||^2 + 2 lam ||D delta||^2``) it shrinks
  (``rho <= 1/4``) or doubles past the step (``rho >= 3/4``), and a step is taken if
  ``rho >= 1e-4``. A trust region rather than a damping factor (Nielsen's) because it bounds
  the step itself: from MGH10's start I a Nielsen update walked into a valley where one
  parameter was 1e-50 and was still crawling after 1000 steps; the trust region is not.
* **Stopping** (the :class:`Tolerances`): MINPACK's three tests, with tighter defaults than
  scipy's 1e-8, plus a damping ceiling. A trial whose residuals are not finite (or whose
  residual norm grew tenfold) is a rejected step that shrinks the region tenfold, never a
  crash.
* **A last Gauss-Newton step.** Once a convergence test passes, the caller supplies the new
  point's Jacobian once more and one undamped step is tried (see :func:`_polish`): near the
  minimum the loss is flat to rounding and only the gradient can still place the parameters.
* ``gauss_newton=True`` is the textbook rung: ``lam = 0``, every full step taken, nothing
  rejected. It converges fast near a good start and can diverge from a bad one (a lesson, not
  a bug); non-finite residuals stop it with a reason.

Everything is host NumPy float64 and backend-neutral: the caller evaluates the residuals and
the Jacobian (symbolically or by autograd, on any backend) and hands over NumPy arrays.

>>> x = np.linspace(0.0, 4.0, 9)
>>> y = 3.0 * np.exp(-0.7 * x)
>>> fun = lambda w: w[0] * np.exp(-w[1] * x) - y
>>> jac = lambda w: np.column_stack([np.exp(-w[1] * x), -w[0] * x * np.exp(-w[1] * x)])
>>> w, state, r = lm_solve(fun, jac, np.array([1.0, 0.1]))
>>> np.round(w, 10).tolist(), state.stop.split(":")[0]
([3.0, 0.7], 'converged')
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

#: Above this many elements in J (N * p), the damped step is solved from J^T J in float64.
NORMAL_EQUATIONS_SIZE = 20_000_000
#: The damping at which Levenberg-Marquardt gives up: no step, however short, reduces the loss.
MAX_DAMPING = 1e32
_FACTOR = 100.0  # MINPACK's initial trust radius, relative to ||D w0||
_RANK_CUT = (32 * np.finfo(np.float64).eps) ** 2  # S^2 below this x max(S^2): lost to rounding


def _svd_gufunc() -> Any:
    """The gufunc numpy.linalg.svd(a, full_matrices=False) calls for a float64 matrix, or None.

    It is NumPy's private API, so it is used only if it is there and gives, on a small matrix,
    exactly what numpy.linalg.svd gives; any other NumPy falls back to the public function.
    """
    try:
        from numpy.linalg import _umath_linalg

        gufunc = _umath_linalg.svd_s
        a = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 7.0]])
        with np.errstate(all="ignore"):
            got = gufunc(a, signature="d->ddd")
        want = np.linalg.svd(a, full_matrices=False)
        same = len(got) == 3 and all(
            np.shape(g) == np.shape(w) and np.array_equal(g, w)
            for g, w in zip(got, want, strict=True)
        )
    except Exception:  # pragma: no cover - another NumPy's layout
        return None
    return gufunc if same else None


_SVD_GUFUNC = _svd_gufunc()


@dataclass(frozen=True)
class Tolerances:
    """When Levenberg-Marquardt (or Gauss-Newton) has converged; any one test stops it.

    ftol: the relative reduction of the sum of squares: both the actual reduction of a step
        and the one the linear model predicts are at most ``ftol * SS`` (and the two agree
        within a factor 2).
    xtol: the step is short: the trust region (the bound on ``||D delta||``) is at most
        ``xtol * ||D w||``, D the scaling (the running maximum of J's column norms); for
        Gauss-Newton, ``||D delta||`` itself.
    gtol: the gradient is orthogonal to the residuals: ``max_j |J_j . r| / (||J_j|| ||r||)``,
        the cosine of the angle between r and each column of J, is at most ``gtol``.

    The defaults (1e-10) are tighter than ``scipy.optimize.least_squares``'s (1e-8), so the
    parameters of the NIST StRD problems come out with at least as many correct digits.
    """

    ftol: float = 1e-10
    xtol: float = 1e-10
    gtol: float = 1e-10


class LMState(NamedTuple):
    """Everything a Levenberg-Marquardt run carries between steps (host NumPy / Python)."""

    lam: float  # the damping of the last step (0: it was the Gauss-Newton step)
    radius: float  # the trust region: the next step's ||D delta|| is at most this
    scale: np.ndarray  # D: the running maximum of J's column norms (p,)
    ss: float  # the sum of squares ||r||^2 at the current parameters
    tol: Tolerances
    gauss_newton: bool
    nit: int  # lm_step calls (iterations, accepted or not)
    nfev: int  # residual evaluations (the initial one included)
    njev: int  # Jacobians used (one per point the parameters moved to, the start included)
    factor: tuple | None  # the current J's factorisation; None: J is new, factor it
    polish: str | None  # converged for this reason; one last Gauss-Newton step to go
    stop: str | None  # None while running; else why it stopped, in plain words


def lm_init(
    w: np.ndarray,
    r: np.ndarray,
    J: np.ndarray,
    tol: Tolerances = Tolerances(),
    gauss_newton: bool = False,
) -> LMState:
    """The state before the first step, from the residuals r = f(w) - y and J = dr/dw at w."""
    w = np.asarray(w, dtype=np.float64)
    r = np.asarray(r, dtype=np.float64)
    J = np.asarray(J, dtype=np.float64)
    norms = np.sqrt(np.einsum("ij,ij->j", J, J))
    scale = np.where(norms > 0, norms, 1.0)
    sw = scale * w
    radius = _FACTOR * math.sqrt(float(sw.dot(sw))) or _FACTOR  # numpy.linalg.norm's arithmetic
    ss = float(r @ r)
    stop = None
    if not (np.isfinite(ss) and np.isfinite(J).all()):
        stop = "non-finite residuals or Jacobian at the start"
    elif ss == 0.0:
        stop = "converged: the residuals are zero"
    return LMState(0.0, radius, scale, ss, tol, gauss_newton, 0, 1, 1, None, None, stop)


def _factor(r: np.ndarray, J: np.ndarray, scale: np.ndarray) -> tuple:
    """The spectral form of the scaled problem, from which every damped step is a formula.

    With ``Js = J D^-1``: its SVD ``U S V^T`` gives ``e = S^2``, V and ``h = S U^T r``
    (``= V^T Js^T r``), without forming ``J^T J``. For a J of more than
    ``NORMAL_EQUATIONS_SIZE`` elements, ``Js^T Js`` is formed in float64 and ``eigh`` gives
    ``e`` and V instead (the normal equations: J's condition number squared).
    """
    if J.size > NORMAL_EQUATIONS_SIZE:  # no N x p copy: scale the p x p products instead
        e, V = np.linalg.eigh((J.T @ J) / np.outer(scale, scale))
        e, V = np.maximum(e[::-1], 0.0), V[:, ::-1]  # descending, as the SVD's; no rounding < 0
        return e, V, V.T @ ((J.T @ r) / scale)
    u, s, vt = _svd(J / scale)
    return s * s, vt.T, s * (u.T @ r)


def _svd(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``numpy.linalg.svd(a, full_matrices=False)`` of a float64 matrix: the same LAPACK call
    and the same numbers, without the wrapper's checks and conversions (half the time of a
    small SVD, paid once per Jacobian). Where LAPACK does not converge (its outputs are NaN)
    ``numpy.linalg.svd`` is called after all, and raises its LinAlgError."""
    if _SVD_GUFUNC is not None:
        with np.errstate(all="ignore"):  # as numpy.linalg.svd's, less its error callback
            u, s, vt = _SVD_GUFUNC(a, signature="d->ddd")
        if not math.isnan(s[0]):
            return u, s, vt
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    return u, s, vt


def _gauss_newton(e: np.ndarray, h: np.ndarray) -> np.ndarray:
    """The undamped step's coordinates ``-h / e``, without the directions lost to rounding.

    The minimum-norm least-squares step, as ``numpy.linalg.lstsq`` gives it.
    """
    keep = e > e[0] * _RANK_CUT
    return np.where(keep, -h / np.where(keep, e, 1.0), 0.0)


def _trust_region(e: np.ndarray, h: np.ndarray, radius: float, lam: float) -> tuple:
    """The step's coordinates c (``z = V c``) with ``||c|| ~ radius``, and its damping.

    ``c(lam) = -h / (e + lam)`` minimises ``||r + Js z||^2 + lam ||z||^2``. The Gauss-Newton step
    (lam = 0) if it fits within 1.1 radius; else More's safeguarded Newton iteration on
    ``phi(lam) = ||c(lam)|| - radius``, started from the last step's lam, until
    ``|phi| <= radius / 10`` (at most 10 tries, each a few p-vector operations).
    """
    minus_h = -h  # NumPy's -h / d is (-h) / d: negated once (exactly), not on every try
    if e[-1] > e[0] * _RANK_CUT:  # full rank (e is in descending order)
        c = minus_h / e
        norm = math.sqrt(float(c @ c))
        if norm <= 1.1 * radius:
            return c, 0.0
        lower = (norm - radius) / (float(c @ (c / e)) / norm)  # -phi(0) / phi'(0)
    else:
        lower = 0.0
    upper = math.sqrt(float(h @ h)) / radius  # ||Js^T r|| / radius
    for _ in range(10):
        if not lower < lam < upper:
            lam = max(1e-3 * upper, math.sqrt(lower * upper))
        damped = e + lam
        c = minus_h / damped
        norm = math.sqrt(float(c @ c))
        phi = norm - radius
        if abs(phi) <= 0.1 * radius:
            break
        dphi = -float(c @ (c / damped)) / norm
        if phi < 0:
            upper = lam
        lower = max(lower, lam - phi / dphi)
        lam_next = lam - (phi + radius) / radius * phi / dphi
        if lam_next == lam:
            break
        lam = lam_next
    return c, lam


def _float64(a: object) -> np.ndarray:
    """``a`` as a float64 array, without the call when it already is one (once per step)."""
    if type(a) is np.ndarray and a.dtype == np.float64:
        return a
    return np.asarray(a, dtype=np.float64)


def _gradient_cosine(g: np.ndarray, norms: np.ndarray, ss: float) -> float:
    """max_j |J_j . r| / (||J_j|| ||r||): 0 at a stationary point, scale-free (in Python
    floats: p numbers, the same IEEE divisions as NumPy's, without its per-call costs)."""
    top = max(
        abs(gj) / (nj if nj > 0 else 1.0) for gj, nj in zip(g.tolist(), norms.tolist(), strict=True)
    )
    return top / math.sqrt(ss)


def lm_step(
    w: np.ndarray,
    state: LMState,
    r: np.ndarray,
    J: np.ndarray,
    fun: Callable[[np.ndarray], np.ndarray],
) -> tuple[np.ndarray, LMState, np.ndarray, bool]:
    """One Levenberg-Marquardt (or Gauss-Newton) iteration from w.

    r = f(w) - y and J = dr/dw (N x p) at w; ``fun(w_trial)`` gives the trial residuals (a
    non-finite result is a rejected step). Returns (w, state, r, moved): the new parameters, the
    new state, the residuals there (no need to recompute them) and whether w moved; when it did
    not (a rejected step), J is still valid and the caller passes the same J again. Once
    ``state.stop`` is set, further calls return their inputs unchanged; until then a moved w
    needs its Jacobian for the next call (the step after convergence is the last
    Gauss-Newton one, :func:`_polish`). ``state.factor`` caches the SVD of the current J
    between rejected steps; a caller that saves the state may drop it (``factor=None``), and
    the next call factors J again.
    """
    if state.stop is not None:
        return w, state, r, False
    tol = state.tol
    w = _float64(w)
    r = _float64(r)
    nit = state.nit + 1
    factor, scale, njev = state.factor, state.scale, state.njev
    if state.ss == 0.0:  # an exact fit: nothing can be reduced, and no angle is defined
        return w, state._replace(nit=nit, stop="converged: the residuals are zero"), r, False
    if factor is None:  # a new Jacobian: check it, factor it, widen the scaling
        J = _float64(J)
        norms2 = np.einsum("ij,ij->j", J, J)
        if not math.isfinite(float(norms2.sum())):
            return w, state._replace(nit=nit, stop="non-finite Jacobian"), r, False
        norms = np.sqrt(norms2)
        if _gradient_cosine(J.T @ r, norms, state.ss) <= tol.gtol:
            stop = f"converged: gradient below gtol={tol.gtol:g}"
            return w, state._replace(nit=nit, stop=stop), r, False
        scale = np.maximum(scale, norms)
        factor = (*_factor(r, J, scale), scale)
    e, V, h, fscale = factor
    if state.polish is not None:
        return _polish(w, state._replace(nit=nit, scale=scale, factor=factor), r, fun)
    if state.gauss_newton:
        c, lam = _gauss_newton(e, h), 0.0
    else:
        c, lam = _trust_region(e, h, state.radius, state.lam)
    delta = (V @ c) / fscale  # back from the scaled problem (fscale == scale)
    pnorm = math.sqrt(float(c @ c))  # ||D delta||
    jd2 = float(e @ (c * c))  # ||J delta||^2
    w_new = w + delta
    r_new = _float64(fun(w_new))
    nfev = state.nfev + 1
    ss_new = float(r_new @ r_new)
    if not math.isfinite(ss_new):  # NaN or inf anywhere in r_new
        ss_new = math.inf
    ss = state.ss
    pred = jd2 + 2.0 * lam * pnorm**2
    blown = not ss_new < 100.0 * ss  # MINPACK: more than 10x the residual norm (or not finite)
    ared = -ss if blown else ss - ss_new
    rho = ared / pred if pred > 0 else 0.0
    common = dict(nit=nit, nfev=nfev, scale=scale)

    if state.gauss_newton:
        if not math.isfinite(ss_new):
            stop = "diverged: the Gauss-Newton step gave non-finite residuals"
            return w, state._replace(**common, factor=factor, stop=stop), r, False
        sw = scale * w_new
        stop = _converged(tol, ss, ared, pred, rho, pnorm <= tol.xtol * math.sqrt(sw @ sw))
        new = state._replace(**common, ss=ss_new, njev=njev + 1, factor=None, stop=stop)
        return w_new, new, r_new, True

    radius = min(state.radius, pnorm) if state.nit == 0 else state.radius
    if rho <= 0.25:  # a poor model: shrink the region (MINPACK's rule)
        dirder = -(jd2 + lam * pnorm**2)
        t = 0.5 if ared >= 0 else 0.5 * dirder / (dirder + 0.5 * ared)
        if blown or not t >= 0.1:
            t = 0.1
        radius, lam = t * min(radius, 10.0 * pnorm), lam / t
    elif lam == 0.0 or rho >= 0.75:  # a good one: let the next step be twice this one
        radius, lam = 2.0 * pnorm, 0.5 * lam
    accepted = rho >= 1e-4
    sw = scale * (w_new if accepted else w)
    stop = _converged(tol, ss, ared, pred, rho, radius <= tol.xtol * math.sqrt(sw @ sw))
    if stop is None and lam > MAX_DAMPING:
        stop = f"damping grew past {MAX_DAMPING:g}: no step reduces the loss"
    # The next state, built whole (state.polish is None here: _polish returned above).
    if accepted:
        polish = None
        if stop is not None and stop.startswith("converged"):  # polish first (_polish)
            stop, polish = None, stop
        new = LMState(
            lam, radius, scale, ss_new, tol, False, nit, nfev, njev + 1, None, polish, stop
        )
        return w_new, new, r_new, True
    new = LMState(lam, radius, scale, ss, tol, False, nit, nfev, njev, factor, None, stop)
    return w, new, r, False


def _polish(
    w: np.ndarray, state: LMState, r: np.ndarray, fun: Callable[[np.ndarray], np.ndarray]
) -> tuple[np.ndarray, LMState, np.ndarray, bool]:
    """The last step after convergence: undamped Gauss-Newton from the new point's Jacobian.

    Near the minimum the sum of squares is flat to rounding, so the trust region's test (did
    the loss go down?) cannot tell a better point from a worse one there, while the
    Gauss-Newton step, computed from the gradient, still can: it is kept if the loss does not
    go up, or if the linear model predicts a change below 1e-12 of the loss (where a rise is
    rounding) and the rise is within that. This buys the last digits for one more evaluation.
    """
    e, V, h, fscale = state.factor
    c = _gauss_newton(e, h)
    jd2 = float(e @ (c * c))
    w_new = w + (V @ c) / fscale
    r_new = np.asarray(fun(w_new), dtype=np.float64)
    ss_new = float(r_new @ r_new)
    if not math.isfinite(ss_new):  # NaN or inf anywhere in r_new
        ss_new = math.inf
    ss = state.ss
    keep = ss_new <= ss or (jd2 <= 1e-12 * ss and ss_new <= ss * (1.0 + 1e-12))
    new = state._replace(nfev=state.nfev + 1, stop=state.polish, polish=None)
    if keep:
        return w_new, new._replace(ss=ss_new, factor=None), r_new, True
    return w, new, r, False


def _converged(
    tol: Tolerances, ss: float, ared: float, pred: float, rho: float, small: bool
) -> str | None:
    """The ftol / xtol reason, or None (the gtol test runs on each new Jacobian)."""
    if abs(ared) <= tol.ftol * ss and pred <= tol.ftol * ss and rho <= 2.0:
        return f"converged: relative reduction of the sum of squares below ftol={tol.ftol:g}"
    if small:
        return f"converged: step below xtol={tol.xtol:g}"
    return None


def lm_solve(
    fun: Callable[[np.ndarray], np.ndarray],
    jac: Callable[[np.ndarray], np.ndarray],
    w0: np.ndarray,
    tol: Tolerances = Tolerances(),
    max_steps: int = 1000,
    gauss_newton: bool = False,
) -> tuple[np.ndarray, LMState, np.ndarray]:
    """Run :func:`lm_step` until it stops or ``max_steps`` iterations: (w, state, residuals).

    The loop a caller writes around the stepper, kept here for tests and benchmarks: a new J
    only where the parameters moved. Without a stop reason after ``max_steps``, ``state.stop``
    says so.
    """
    w = np.array(w0, dtype=np.float64)
    r = np.asarray(fun(w), dtype=np.float64)
    J = np.asarray(jac(w), dtype=np.float64)
    state = lm_init(w, r, J, tol, gauss_newton)
    for _ in range(max_steps):
        if state.stop is not None:
            break
        w, state, r, moved = lm_step(w, state, r, J, fun)
        if moved and state.stop is None:
            J = np.asarray(jac(w), dtype=np.float64)
    if state.stop is None:
        state = state._replace(stop=f"stopped: {max_steps} steps done without converging")
    return w, state, r


def standard_errors(r: np.ndarray, J: np.ndarray) -> np.ndarray:
    """The parameters' standard errors ``sqrt(diag(s^2 (J^T J)^-1))``, ``s^2 = SSR / (N - p)``.

    From the SVD of J (``(J^T J)^-1 = V S^-2 V^T``), so J's condition number is not squared;
    NaN where J is rank deficient or N <= p.
    """
    r = np.asarray(r, dtype=np.float64)
    J = np.asarray(J, dtype=np.float64)
    n, p = J.shape
    if n <= p:
        return np.full(p, np.nan)
    _, s, vt = np.linalg.svd(J, full_matrices=False)
    if s[-1] <= s[0] * max(n, p) * np.finfo(np.float64).eps:
        return np.full(p, np.nan)
    s2 = float(r @ r) / (n - p)
    return np.sqrt(s2 * np.sum((vt / s[:, None]) ** 2, axis=0))
