"""How sure a least-squares fit is: standard errors, covariance, R^2, RMSE, AIC and BIC.

Pure NumPy float64 (no torch): :func:`fit_statistics` works either from the per-point Jacobian
``J = d y_pred / d w`` (N x p, or any R with ``R^T R = J^T J``) and the residuals, or from
sufficient statistics alone - ``J^T J``, the sum of squared residuals and the total sum of
squares - which is all the gram method has (it streams the data and never holds J).

Conventions (those of ``scipy.optimize.curve_fit``):

- without ``sigma`` (``absolute_sigma=False``): ``s^2 = SSR / (n - k)`` and
  ``cov = s^2 (J^T J)^-1``, k the number of identifiable parameters (p when J has full rank);
- with ``sigma`` (``absolute_sigma=True``, the chi-square form): J and the residuals are divided
  by sigma row by row, ``chi2 = sum (r / sigma)^2``, ``cov = (J_w^T J_w)^-1`` and
  ``reduced_chi2 = chi2 / (n - k)``;
- ``R^2 = 1 - SSR / TSS`` with ``TSS = sum (y - mean(y))^2``; ``RMSE = sqrt(SSR / n)``;
- Gaussian errors, constants dropped: ``AIC = n ln(SSR / n) + 2 k`` and
  ``BIC = n ln(SSR / n) + k ln(n)``; with sigma (the error is known) ``AIC = chi2 + 2 k`` and
  ``BIC = chi2 + k ln(n)``. Only differences between fits of the same data mean anything.

The solve is careful: the columns of J are scaled to unit length (so that x^5 next to 1 does not
look singular), then J is decomposed by SVD (or ``J^T J`` by an eigen-decomposition). Directions
whose singular value is below ``RCOND`` times the largest are a null space: the parameters with
a large component in it cannot be told apart by the data, are named in ``unidentified`` and get
``nan`` errors; the others keep their (pseudo-inverse) covariance, exact for what the data do
determine.

``transform`` is a linear map A from the trained parameters to the reported ones (gradfit trains
polynomials in t in [-1, 1] or in a Legendre basis and reports monomial coefficients of x):
``cov_reported = A cov A^T``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# Singular values of the column-scaled J below RCOND * the largest are treated as zero (a
# condition number above ~3e6): J^T J, formed in float64, holds no digits of them beyond that.
RCOND = 10**-6.5
# A reported parameter is unidentified when the null space moves it by more than this (relative).
NULL_TOL = 1e-6


@dataclass(frozen=True, eq=False)
class FitStatistics:
    """The statistics of one least-squares fit (see the module's conventions)."""

    names: tuple[str, ...]  # the reported parameters, in the order of the arrays below
    n: int  # data points
    n_params: int  # parameters reported
    rank: int  # identifiable directions of the trained parameters (J's numerical rank)
    dof: int  # n - rank
    ssr: float  # sum of squared residuals
    rmse: float  # sqrt(ssr / n)
    r2: float | None  # 1 - ssr / tss (None: tss not known)
    s2: float  # residual variance ssr / dof (nan when dof <= 0)
    chi2: float | None  # sum((r / sigma)^2), only with sigma
    reduced_chi2: float | None  # chi2 / dof, only with sigma
    aic: float
    bic: float
    covariance: np.ndarray  # p x p, reported parameters
    standard_errors: np.ndarray  # (p,)
    correlation: np.ndarray  # p x p
    condition: float  # condition number of J (its columns as trained, not scaled)
    unidentified: tuple[str, ...] = ()  # parameters the data cannot determine
    trained_covariance: np.ndarray | None = None  # in the trained parameters (for bands)

    def errors(self) -> dict[str, float]:
        """``{name: standard error}``."""
        return dict(zip(self.names, self.standard_errors.tolist(), strict=True))

    def band(self, jacobian: np.ndarray) -> np.ndarray:
        """Standard error of the fitted curve at new points, ``sqrt(diag(J cov J^T))``, from the
        Jacobian of the trained parameters there (a polynomial's design rows); nan when some
        parameter is unidentified (the curve is then not determined between the data)."""
        J = np.asarray(jacobian, dtype=np.float64)
        cov = self.trained_covariance
        if cov is None:
            return np.full(J.shape[0], math.nan)
        return np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", J, cov, J), 0.0))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (non-finite numbers become ``None``); the covariance and the
        errors are separate keys of a run's document."""
        return {
            "n": self.n,
            "n_params": self.n_params,
            "rank": self.rank,
            "dof": self.dof,
            "ssr": _json(self.ssr),
            "rmse": _json(self.rmse),
            "r2": _json(self.r2),
            "s2": _json(self.s2),
            "chi2": _json(self.chi2),
            "reduced_chi2": _json(self.reduced_chi2),
            "aic": _json(self.aic),
            "bic": _json(self.bic),
            "condition": _json(self.condition),
            "unidentified": list(self.unidentified),
            "correlation": json_matrix(self.correlation),
        }


def fit_statistics(
    jacobian: np.ndarray | None,
    residual: np.ndarray | None,
    *,
    names: Sequence[str],
    n: int,
    jtj: np.ndarray | None = None,
    ssr: float | None = None,
    y_tss: float | None = None,
    sigma: np.ndarray | float | None = None,
    transform: np.ndarray | None = None,
) -> FitStatistics:
    """The statistics of a least-squares fit at its parameters.

    Give either ``jacobian`` (N x p: ``d y_pred / d w`` at each point, or any R with
    ``R^T R = J^T J``) or ``jtj`` (p x p); and either ``residual`` (the N values ``y - y_pred``)
    or ``ssr``. ``n`` is the number of points; ``y_tss`` the total sum of squares of y about its
    mean (for R^2); ``names`` the reported parameters (rows of ``transform`` when given).
    ``sigma``: the known standard deviation of each point (N values) or of all of them (a
    number); sufficient statistics take a number only (weight ``J^T J`` and the SSR yourself
    and pass 1.0 for per-point sigma). Raises ValueError on inconsistent shapes.
    """
    n = int(n)
    sig = None if sigma is None else np.asarray(sigma, dtype=np.float64)
    if sig is not None and not np.all(sig > 0):
        raise ValueError("sigma must be positive")
    # The residual sum of squares (and chi-square).
    if residual is not None:
        r = np.asarray(residual, dtype=np.float64).reshape(-1)
        ssr_value = float(r @ r)
        chi2 = None if sig is None else float(np.sum((r / sig) ** 2))
    elif ssr is not None:
        ssr_value = float(ssr)
        if sig is not None and sig.ndim > 0 and sig.size > 1:
            raise ValueError("per-point sigma needs the residuals; weight the SSR and pass 1.0")
        chi2 = None if sig is None else ssr_value / float(sig.reshape(-1)[0]) ** 2
    else:
        raise ValueError("give the residuals or their sum of squares (ssr)")
    # The factor: J (weighted by sigma) as columns scaled to unit length, by SVD or eigen.
    if jacobian is not None:
        J = np.asarray(jacobian, dtype=np.float64)
        if J.ndim != 2:
            raise ValueError("the Jacobian must be a 2-D array (points x parameters)")
        if sig is not None:
            J = J / (sig.reshape(-1, 1) if sig.ndim > 0 and sig.size > 1 else sig)
        p = J.shape[1]
        norms = np.sqrt(np.sum(J * J, axis=0))
        raw = np.linalg.svd(J, compute_uv=False) if J.size else np.zeros(0)
        scale = np.where(norms > 0, norms, 1.0)
        _, s, vt = np.linalg.svd(J / scale, full_matrices=False)
        vecs, vals = vt.T, s
        raw_cond = _cond(raw)
    elif jtj is not None:
        G = np.asarray(jtj, dtype=np.float64)
        if G.ndim != 2 or G.shape[0] != G.shape[1]:
            raise ValueError("J^T J must be a square matrix")
        if sig is not None:
            if sig.ndim > 0 and sig.size > 1:
                raise ValueError("per-point sigma needs the Jacobian; weight J^T J and pass 1.0")
            G = G / float(sig.reshape(-1)[0]) ** 2
        p = G.shape[0]
        diag = np.clip(np.diag(G), 0.0, None)
        scale = np.where(diag > 0, np.sqrt(diag), 1.0)
        lam, vecs = np.linalg.eigh(G / np.outer(scale, scale))
        order = np.argsort(lam)[::-1]
        lam, vecs = lam[order], vecs[:, order]
        vals = np.sqrt(np.clip(lam, 0.0, None))
        raw_cond = _cond(np.sqrt(np.clip(np.linalg.eigvalsh(G), 0.0, None)))
    else:
        raise ValueError("give the Jacobian or J^T J")
    top = float(vals[0]) if vals.size else 0.0
    keep = vals > RCOND * top if top > 0 else np.zeros(vals.size, dtype=bool)
    rank = int(np.count_nonzero(keep))
    # Pseudo-inverse of the scaled J^T J on its range, back to the parameters' own units.
    vk = vecs[:, keep]
    pinv_scaled = (vk / vals[keep] ** 2) @ vk.T
    pinv = pinv_scaled / np.outer(scale, scale)
    null = vecs[:, ~keep] / scale.reshape(-1, 1)  # null directions, in the parameters' units
    A = np.eye(p) if transform is None else np.asarray(transform, dtype=np.float64)
    if A.ndim != 2 or A.shape[1] != p:
        raise ValueError(f"transform must have {p} columns")
    names = tuple(str(v) for v in names)
    if len(names) != A.shape[0]:
        raise ValueError(f"{len(names)} names for {A.shape[0]} parameters")
    # A reported parameter a^T w is unidentified when a null direction moves it.
    size = np.sqrt(np.sum((A * scale) ** 2, axis=1))
    moved = np.abs(A @ null).max(axis=1) if null.shape[1] else np.zeros(A.shape[0])
    lost = moved > NULL_TOL * np.where(size > 0, size, 1.0)
    dof = n - rank
    s2 = ssr_value / dof if dof > 0 else math.nan
    if sig is None:
        factor = s2
        reduced = None
    else:
        factor = 1.0
        reduced = chi2 / dof if dof > 0 else math.nan
    with np.errstate(invalid="ignore"):
        trained_cov = factor * pinv
        cov = A @ trained_cov @ A.T
        cov[lost, :] = math.nan
        cov[:, lost] = math.nan
        se = np.sqrt(np.where(np.diag(cov) >= 0, np.diag(cov), math.nan))
        outer = np.outer(se, se)
        corr = np.where(outer > 0, cov / np.where(outer > 0, outer, 1.0), math.nan)
    aic, bic = _information(n, rank, ssr_value, chi2)
    r2 = None
    if y_tss is not None:
        r2 = 1.0 - ssr_value / float(y_tss) if float(y_tss) > 0 else math.nan
    return FitStatistics(
        names=names,
        n=n,
        n_params=len(names),
        rank=rank,
        dof=dof,
        ssr=ssr_value,
        rmse=math.sqrt(ssr_value / n) if n > 0 else math.nan,
        r2=r2,
        s2=s2,
        chi2=chi2,
        reduced_chi2=reduced,
        aic=aic,
        bic=bic,
        covariance=cov,
        standard_errors=se,
        correlation=corr,
        condition=raw_cond if rank == p else math.inf,
        unidentified=tuple(name for name, out in zip(names, lost, strict=True) if out),
        trained_covariance=None if lost.any() else trained_cov,
    )


def _information(n: int, k: int, ssr: float, chi2: float | None) -> tuple[float, float]:
    """``(AIC, BIC)`` for Gaussian errors, constants dropped (see the module docstring)."""
    if n <= 0:
        return math.nan, math.nan
    if chi2 is not None:
        fit = chi2
    elif ssr > 0:
        fit = n * math.log(ssr / n)
    else:
        fit = -math.inf  # an exact fit: the likelihood has no maximum
    return fit + 2 * k, fit + k * math.log(n)


def _cond(singular: np.ndarray) -> float:
    if singular.size == 0 or singular.min() <= 0:
        return math.inf
    return float(singular.max() / singular.min())


def _json(v: float | None) -> float | None:
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def json_matrix(m: np.ndarray) -> list[list[float | None]]:
    """A matrix as nested lists, non-finite entries as ``None``."""
    return [[_json(v) for v in row] for row in np.asarray(m, dtype=np.float64).tolist()]


def format_estimate(value: float, error: float) -> str:
    """``value +/- error`` with the error to 2 significant digits and the value to the same
    decimal place: ``0.0210 +/- 0.0014``; very large or small numbers in exponent form:
    ``1.234e-07 +/- 1.2e-09``; an error that is not known: ``0.021 +/- nan``."""
    if not math.isfinite(value):
        return f"{value} +/- {error:.2g}"
    if not math.isfinite(error) or error <= 0:
        return f"{value:.6g} +/- {'nan' if not math.isfinite(error) else '0'}"
    err_exp = math.floor(math.log10(error))
    exp = math.floor(math.log10(max(abs(value), error)))
    decimals = max(0, 1 - err_exp)
    if -4 <= exp < 6 and decimals <= 8:
        return f"{value:.{decimals}f} +/- {error:.{decimals}f}"
    digits = min(exp - err_exp + 1, 12)  # decimals of the value's mantissa
    return f"{value:.{digits}e} +/- {error:.1e}"
