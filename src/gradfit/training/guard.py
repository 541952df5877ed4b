"""The divergence guard's two numbers: the bound a loss must stay under, and the advice a
failure carries (the largest stable learning rate, from the loss's curvature)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..backends import Backend
from ..understand.analysis import hessian_spectrum
from .loop import DIVERGENCE_FACTOR


def divergence_bound(
    method: Any,
    problem: Any,
    be: Backend,
    comm: Any,
    yty: Any = None,
    factor: float = 1.0,
    loss: Any = None,
) -> float:
    """DIVERGENCE_FACTOR x max(initial loss, loss of the all-zero model): two reads before the
    loop starts (``yty``: sum(y^2) when already known; summed over every rank's rows;
    ``factor``: the loss is that multiple of the sum of squares). ``loss``: a loss that is not
    one (robust: ``factor`` None) gives the all-zero model's loss itself, ``loss.value(-y)``."""
    if loss is not None and loss.factor is None:
        zero = be.scalar(comm.sum_scalar(loss.value(-problem.y)))
    else:
        if yty is None:
            yty = be.scalar(comm.sum_scalar(be.xp.sum(problem.y * problem.y)))
        zero = factor * yty
    scale = max(be.scalar(method.loss()), zero, 1e-300)
    return DIVERGENCE_FACTOR * scale if math.isfinite(scale) else math.inf


def divergence_advice(
    model: Any, problem: Any, init: np.ndarray, spec: Any, spectrum: Any = None, factor: float = 1.0
) -> str:
    """What the failure message says next: the stable rate, from the Hessian's spectrum
    (``spectrum`` when known, in the loss's units; else computed, and scaled by ``factor``)."""
    try:
        if spectrum is None:
            spectrum = hessian_spectrum(model, problem.x, init).scaled(factor)
    except (ValueError, FloatingPointError, np.linalg.LinAlgError):  # pragma: no cover
        return "try a smaller --lr or --lr auto"
    where = "" if spectrum.exact else " (from the curvature at the start)"
    gd = "" if spec.name == "sgd" else " for plain gradient descent"
    return (
        f"largest stable learning rate{gd} here is {spectrum.stable_lr:.4g}{where} "
        f"(2 / lambda_max, lambda_max = {spectrum.lambda_max:.4g}), --lr was {spec.lr:.4g}; "
        "try --lr auto or a smaller --lr"
    )
