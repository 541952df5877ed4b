"""FitConfig: every option of a fit, its default, and its validation, in one place.

The defaults are the article's experiment: PyTorch, float32, CPU, 2000 points of sin(x) on
[-pi, pi], a cubic, learning rate 1e-6, 2000 steps, the loss printed every 100 steps.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from .errors import UsageError
from .optim import check_lr
from .problem import check_points, check_range


@dataclass(frozen=True)
class FitConfig:
    """All options of one run. ``validated()`` returns a checked, normalised copy."""

    backend: str = "torch"
    device: str = "cpu"
    dtype: str | None = None  # None: the backend's article default (torch float32, numpy float64)
    model: str = "poly"
    degree: int = 3
    method: str = "manual"
    optimizer: str = "sgd"
    lr: float | str = 1e-6  # or "auto": 1 / lambda_max of the loss's Hessian on the data
    steps: int = 2000
    log_every: int = 100
    seed: int | None = None  # None: a fresh seed is drawn and reported
    init: tuple[float, ...] | None = None  # explicit initial coefficients, one per parameter
    target: str | None = "sin"  # None: the user's own data (gradfit.fit), not generated
    points: int = 2000
    x_range: tuple[float, float] = (-math.pi, math.pi)
    # Real data and formulas. `target` above may also be a formula in x, such as "exp(-x**2)".
    noise: float = 0.0  # std of Gaussian noise added to a generated target (from the run's seed)
    data: str | None = None  # a file (csv, tsv, txt, npy, npz, parquet) to fit instead of a target
    x_column: str | int | None = None  # column of `data` (name or 0-based index); None: default
    y_column: str | int | None = None
    drop_nonfinite: bool = False  # leave out rows of `data` with NaN/inf instead of refusing it
    scale: bool | None = None  # fit on x mapped to [-1, 1]; None: yes for `data`, no otherwise

    def validated(self) -> FitConfig:
        """Check every field; raise :class:`UsageError` (one line) on the first bad one."""
        data_options = _data_options(self)
        degree = _positive_int(self.degree, "--degree", allow_zero=True)
        init = None
        if self.init is not None:
            try:
                init = tuple(float(v) for v in self.init)
            except (TypeError, ValueError):
                raise UsageError(f"--init must be numbers, got {self.init!r}") from None
            if not all(math.isfinite(v) for v in init):
                raise UsageError("--init values must be finite")
            if len(init) != degree + 1:
                raise UsageError(
                    f"--init has {len(init)} value(s) but a degree-{degree} polynomial has "
                    f"{degree + 1} coefficients (c0,c1,...,c{degree})"
                )
        seed = self.seed
        if seed is not None:
            seed = _positive_int(seed, "--seed", allow_zero=True)
        points = check_points(self.points)
        if self.target is not None and points < degree + 1:
            raise UsageError(
                f"--points {points} is fewer than the {degree + 1} coefficients of a "
                f"degree-{degree} polynomial; use more points or a lower degree"
            )
        return replace(
            self,
            degree=degree,
            lr=self.lr if self.lr == "auto" else check_lr(self.lr),
            steps=_positive_int(self.steps, "--steps"),
            log_every=_positive_int(self.log_every, "--log-every"),
            seed=seed,
            init=init,
            points=points,
            x_range=check_range(self.x_range),
            **data_options,
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["x_range"] = list(self.x_range)
        d["init"] = None if self.init is None else list(self.init)
        return d


def _data_options(config: FitConfig) -> dict[str, Any]:
    """Check the options for files, formulas, noise and scaling; return their normalised values."""
    from .expr import parse_expression
    from .problem import TARGETS

    out: dict[str, Any] = {"drop_nonfinite": bool(config.drop_nonfinite)}
    try:
        noise = float(config.noise)
    except (TypeError, ValueError):
        raise UsageError(f"--noise must be a number, got {config.noise!r}") from None
    if not math.isfinite(noise) or noise < 0:
        raise UsageError(f"--noise must be a finite number >= 0, got {config.noise!r}")
    out["noise"] = noise
    if config.scale is not None and not isinstance(config.scale, (bool, np.bool_)):
        raise UsageError(f"scale must be True, False or None, got {config.scale!r}")
    out["scale"] = None if config.scale is None else bool(config.scale)
    if config.data is None:
        if config.x_column is not None or config.y_column is not None:
            raise UsageError("--x and --y choose columns of a --data file; give --data FILE")
        if config.drop_nonfinite:
            raise UsageError("--drop-nonfinite applies to --data files; give --data FILE")
        if config.target is not None and config.target not in TARGETS:
            parse_expression(config.target)  # refuse a bad formula before anything runs
        return out
    if not isinstance(config.data, (str, os.PathLike)) or not str(config.data):
        raise UsageError(f"--data must be a file name, got {config.data!r}")
    if noise:
        raise UsageError("--noise adds noise to a generated --target; it does not apply to --data")
    if config.points != FitConfig.points or tuple(config.x_range) != FitConfig.x_range:
        raise UsageError("--points and --range shape a generated target; --data gives its own x")
    out.update(data=os.fspath(config.data), target=None)
    return out


def _positive_int(value: Any, name: str, allow_zero: bool = False) -> int:
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        kind = "a non-negative" if allow_zero else "a positive"
        raise UsageError(f"{name} must be {kind} integer, got {value!r}")
    return int(value)
