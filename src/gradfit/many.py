"""Many curves at once: ``gradfit.fit(x, Y)`` with ``Y`` of shape (N, K), as ``numpy.polyfit``.

K independent polynomial fits that share x run as one: one :func:`gradfit.plan.plan` (backend,
seed, start, domain, method, learning rate - all of which depend on x alone), one pass over the
data for the statistics (``G = X^T X`` once, ``X^T Y`` for every column), one loop over a
(d, K) parameter block (:mod:`gradfit.methods.many`), and a :class:`ManyFitResult` with one
:class:`gradfit.FitResult` per column.

Rules, so that every column is exactly its own single fit:

- every column starts from the same parameters (``init`` given, or one draw of d values from
  the seed): column k's iterates are those of ``gradfit.fit(x, Y[:, k])`` from that start, to
  float64 rounding;
- ``lr="auto"`` is one rate for all the columns, from X's curvature (shared); plain sgd takes
  ``2 / (lambda_min + lambda_max)``, as its budget rule would need one y;
- ``method="auto"`` is ``gram`` for float64 runs (a step costs O(d^2 K) there, O(N K) in the
  per-point loop), else ``manual``;
- the loss the loop logs (and the divergence guard watches) is the sum over the columns; each
  column's own losses are in its result's ``loss_history``;
- weights (``sigma``, ``weights``) are per point, shared by every column.

Supported: polynomial models (any degree and basis), the squared and mean losses, the methods
gram and manual, the optimizers sgd, momentum, nesterov, rmsprop and adam, numpy and torch.
Anything else with several columns is one :class:`~gradfit.errors.UsageError` line.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .backends import resolve_backend
from .config import FitConfig
from .data import Problem, as_float64
from .errors import DivergenceError, UsageError
from .plan import plan
from .result import FitResult
from .stats import BLOCK, REFINE_BELOW, GramStats, accumulate, array_chunks, basis_rows
from .training.execute import result_of
from .training.guard import divergence_advice, divergence_bound
from .training.loop import LogCallback, TrainOutcome, train

SCHEMA = "gradfit.many/1"
OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam")
SUPPORTED = (
    "several y columns fit polynomial models (--model poly, any --degree and --basis) with "
    "the squared or mean loss, --method gram or manual, and --optimizer sgd, momentum, "
    "nesterov, rmsprop or adam"
)


def several(y: Any) -> bool:
    """Whether ``y`` is a 2-D array of two or more columns (a single column stays one fit)."""
    shape = getattr(y, "shape", None)
    if shape is None:
        try:
            shape = np.shape(y)
        except ValueError:  # ragged lists: as_problem says what is wrong
            return False
    return len(shape) == 2 and int(shape[1]) >= 2


def check_many(config: FitConfig) -> None:
    """Refuse, in one line, what several y columns do not support (see :data:`SUPPORTED`)."""
    model = config.model if isinstance(config.model, str) else "a Python function"
    problems = [
        (model != "poly", f"--model {model}"),
        (config.loss not in ("squared", "mean"), f"--loss {config.loss}"),
        (config.l2 > 0 or config.l1 > 0, "--l2/--l1"),
        (config.method not in ("auto", "gram", "manual"), f"--method {config.method}"),
        (config.optimizer not in OPTIMIZERS, f"--optimizer {config.optimizer}"),
        (config.precondition, "--precondition"),
        (config.batch_size is not None, "--batch-size"),
        (config.checkpoint is not None or config.resume is not None, "--checkpoint/--resume"),
        (config.distributed or config.workers is not None, "--workers/--distributed"),
    ]
    for bad, what in problems:
        if bad:
            raise UsageError(f"{what} is not supported with several y columns; {SUPPORTED}")


def fit_many(
    config: FitConfig,
    x: Any,
    Y: Any,
    *,
    sigma: Any = None,
    weights: Any = None,
    names: list[str] | None = None,
    source: dict[str, Any] | None = None,
    on_log: LogCallback | None = None,
    reference: bool = True,
) -> ManyFitResult:
    """Fit every column of ``Y`` (N, K) to ``x`` (N,): K fits, one plan, one pass, one loop.

    ``names``: the columns' names (default ``y0, y1, ...``); ``source``: where the data came
    from (a file's path and columns, for the results); ``on_log(step, total)`` at logged steps.
    """
    started = time.perf_counter()
    config = config.validated()
    check_many(config)
    Y = Y if hasattr(Y, "shape") else _matrix(Y)
    Yh = _host_matrix(Y)
    k = Yh.shape[1]
    names = [f"y{j}" for j in range(k)] if names is None else list(names)
    if len(names) != k:
        raise UsageError(f"{len(names)} names for the {k} columns of Y")
    be = resolve_backend(config.backend, config.device, config.dtype)
    if be.dtype == "float32":  # the values the run sees, as a single fit's y is rounded
        Yh = Yh.astype(np.float32).astype(np.float64)
    method, why = config.method, None
    if method == "auto":
        method = "gram" if be.dtype == "float64" else "manual"
        why = (
            "several y columns, float64: a step costs O(d^2 K) from the statistics"
            if method == "gram"
            else "float32 runs keep the per-point loop"
        )
    planned = plan(replace(config, method=method), data=(x, Y[:, 0], sigma, weights))
    model, factor = planned.model, planned.loss.factor
    trained = planned.trained
    w = None if trained is None else trained.weights
    stats = _statistics(planned, Yh, w)
    planned = replace(
        planned,
        record=replace(planned.record, method=config.method),
        method_why=why,
    )
    if config.lr == "auto" and config.optimizer == "sgd" and config.momentum is None:
        planned = _shared_rate(planned, stats)
    if method == "gram":
        from .methods.many import ManyGram

        block: Any = ManyGram(
            stats.gram,
            stats.xty,
            stats.w_star,
            stats.best,
            be,
            planned.spec,
            planned.init,
            factor,
        )
    else:
        from .methods.many import ManyManual

        yt = be.asarray(np.ascontiguousarray(Yh.T))
        block = ManyManual(
            model,
            trained.x,
            yt,
            trained.sqrt_weights(be),
            be,
            planned.spec,
            planned.init,
            planned.loss,
            planned.seed,
        )
    bound = None
    if config.guard:  # as one fit's guard, on the total: sum(y^2) over every column is known
        bound = divergence_bound(block, None, be, None, float(stats.yty.sum()), factor)
    setup_s = time.perf_counter() - started
    try:
        outcome = train(
            block,
            be,
            steps=config.steps,
            log_every=config.log_every,
            on_log=on_log,
            bound=bound,
        )
    except DivergenceError as exc:
        from .understand.analysis import gram_spectrum

        spectrum = gram_spectrum(stats.gram).scaled(factor)
        advice = divergence_advice(model, trained, planned.init, planned.spec, spectrum, factor)
        raise exc.with_detail(advice + " (several y columns: the loss is their sum)") from None
    final = np.asarray(be.to_numpy(block.column_losses()), dtype=np.float64).reshape(-1)
    return ManyFitResult(
        columns=names,
        plan=planned,
        stats=stats,
        params=block.params(),
        final_losses=final,
        outcome=outcome,
        column_history=block.history(),
        Y=Yh,
        source=source,
        reference=reference,
        setup_s=setup_s,
        method=block.name,
    )


@dataclass(frozen=True)
class ManyStats:
    """``G = X^T X`` (shared), ``X^T Y`` and ``y^T y`` per column, the optima ``w*`` (d, K)
    and ``L*`` (K,) (summed from the residuals where a fit is nearly exact), ``n`` rows;
    weighted (``X^T W X``...) when the run has weights."""

    gram: np.ndarray
    xty: np.ndarray
    yty: np.ndarray
    w_star: np.ndarray
    best: np.ndarray
    refined: np.ndarray  # which columns' L* was summed from the residuals
    n: int

    def column(self, j: int) -> GramStats:
        """Column j's statistics as a single fit has them (its optimum already known)."""
        stats = GramStats(
            self.gram,
            self.xty[:, j].copy(),
            float(self.yty[j]),
            self.n,
            float(self.best[j]) if self.refined[j] else None,
        )
        stats.__dict__["optimum"] = (self.w_star[:, j].copy(), float(self.best[j]))  # cached
        return stats


def _statistics(planned: Any, Y: np.ndarray, w: np.ndarray | None) -> ManyStats:
    """One pass over the rows: G (the single fit's own, from the plan when it has it), X^T Y
    and y^T y for every column, in blocks of rows of the basis in the trained variable."""
    model, domain = planned.model, planned.domain
    x = as_float64(planned.problem.x).reshape(-1)
    if planned.stats is not None:
        gram = planned.stats.gram
    else:
        gram = accumulate(
            array_chunks(x, Y[:, 0], weights=w), model.basis, model.degree, domain
        ).gram
    d, (n, k) = model.n_params, Y.shape
    off, scl = domain.mapping if domain is not None else (0.0, 1.0)
    xty, yty = np.zeros((d, k)), np.zeros(k)
    rows = np.empty((d, BLOCK))

    def blocks() -> Any:
        for start in range(0, n, BLOCK):
            xb = x[start : start + BLOCK]
            t = xb * scl + off if domain is not None else xb
            R = basis_rows(model.basis, t, model.degree, rows[:, : xb.size])
            Yb = Y[start : start + BLOCK]
            yield R, Yb, None if w is None else w[start : start + BLOCK, None]

    with np.errstate(over="ignore", invalid="ignore"):
        for R, Yb, wb in blocks():
            WY = Yb if wb is None else wb * Yb
            xty += R @ WY
            yty += np.einsum("ij,ij->j", Yb, WY)
        if not (np.all(np.isfinite(xty)) and np.all(np.isfinite(yty))):
            _check_finite(Y)  # a NaN or inf in Y makes its column's y^T y non-finite
            raise UsageError(
                "the least-squares statistics overflow on this data (the basis values are too "
                "large for float64): use --scale"
            )
        w_star = np.linalg.lstsq(gram, xty, rcond=None)[0]
        best = np.maximum(yty - np.sum(xty * w_star, axis=0), 0.0)
        refined = best < REFINE_BELOW * yty
        if refined.any():  # nearly exact fits: L* from the residuals, a second pass
            sums = np.zeros(int(refined.sum()))
            for R, Yb, wb in blocks():
                r = R.T @ w_star[:, refined] - Yb[:, refined]
                sums += np.sum(r * r if wb is None else wb * r * r, axis=0)
            best[refined] = sums
    return ManyStats(gram, xty, yty, w_star, best, refined, n)


def _shared_rate(planned: Any, stats: ManyStats) -> Any:
    """``--lr auto`` for plain sgd with several columns: ``2 / (lambda_min + lambda_max)`` of
    the shared curvature (the budget rule of one fit depends on its y)."""
    from .understand.analysis import auto_learning_rate, gram_spectrum

    spectrum = gram_spectrum(stats.gram).scaled(planned.loss.factor)
    chosen = auto_learning_rate(planned.model, None, planned.init, "sgd", spectrum=spectrum)
    chosen = replace(chosen, rule=chosen.rule + "; one rate for every column")
    return replace(planned, spec=replace(planned.spec, lr=chosen.lr), lr_auto=chosen)


def _matrix(Y: Any) -> np.ndarray:
    try:
        return np.asarray(Y, dtype=np.float64)
    except (TypeError, ValueError):
        raise UsageError("Y must be numbers") from None


def _host_matrix(Y: Any) -> np.ndarray:
    """``Y`` as a float64 (N, K) host array. Its values are checked by :func:`_statistics`: a
    NaN or inf makes that column's ``y^T y`` non-finite, so the pass over Y finds it for free."""
    if hasattr(Y, "detach"):
        Y = Y.detach().cpu().numpy()
    Yh = np.asarray(Y, dtype=np.float64)  # no copy of a float64 array: nothing writes to it
    if Yh.ndim != 2:
        raise UsageError(f"Y must be 2-D (points x columns), got shape {Yh.shape}")
    return Yh


def _check_finite(Yh: np.ndarray) -> None:
    """One line naming how many values of ``Yh`` are NaN or infinite, and the first column."""
    bad = ~np.isfinite(Yh)
    if bad.any():
        cols = np.flatnonzero(bad.any(axis=0))
        raise UsageError(
            f"Y holds {int(bad.sum())} NaN or infinite value(s), first in column "
            f"{int(cols[0])}; fix or drop those rows"
        )


def _transform(model: Any) -> np.ndarray:
    """The (d, d) linear map from the model's parameters to monomial coefficients of the
    variable it is trained in (x, or t when scaled)."""
    d = model.n_params
    return np.column_stack([model.to_monomial(np.eye(d)[j]) for j in range(d)])


def _window_to_x(domain: Any, d: int) -> np.ndarray:
    """The (d, d) map from monomial coefficients in ``t = off + scl x`` to those in x:
    ``t^j = sum_k C(j, k) off^(j-k) scl^k x^k`` (what :meth:`Domain.to_x` computes for one
    column, as one matrix for all of them)."""
    off, scl = domain.mapping
    out = np.zeros((d, d))
    for j in range(d):
        for k in range(j + 1):
            out[k, j] = math.comb(j, k) * off ** (j - k) * scl**k
    return out


@dataclass
class _Column:
    """One column of the block, as :func:`gradfit.training.execute.result_of` reads a method."""

    name: str
    values: np.ndarray

    def params(self) -> np.ndarray:
        return self.values


@dataclass
class ManyFitResult:
    """The outcome of :func:`gradfit.fit` with a 2-D ``Y``: K fits that shared x and a loop.

    ``coef`` (d, K) are the monomial coefficients of x, column k for ``Y[:, k]``, lowest power
    first (``numpy.polyfit``'s columns, in the opposite order of powers); ``params`` the
    model's own parameters; ``final_losses`` (K,) each column's final loss; ``loss_history`` the
    logged totals (the sum over the columns). ``result[k]`` (or ``result["name"]``) is column
    k's own :class:`gradfit.FitResult` - optimum, statistics, history - made when first asked.
    """

    columns: list[str]
    plan: Any = field(repr=False)
    stats: ManyStats = field(repr=False)
    params: np.ndarray = field(repr=False)
    final_losses: np.ndarray = field(repr=False)
    outcome: TrainOutcome = field(repr=False)
    column_history: np.ndarray = field(repr=False)  # (logged steps, K)
    Y: np.ndarray = field(repr=False)
    source: dict[str, Any] | None = field(default=None, repr=False)
    reference: bool = field(default=True, repr=False)
    setup_s: float = field(default=0.0, repr=False)
    method: str = "gram"
    _results: dict[int, FitResult] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        planned = self.plan
        self.config = planned.result_config()
        self.seed = planned.seed
        self.model = planned.model
        self.domain = planned.domain
        self.seed_drawn = planned.seed_drawn
        self.method_auto = planned.method_why
        self.lr_auto = planned.lr_auto
        in_trained = _transform(self.model) @ self.params
        if self.domain is None:
            self.coef, self.scaled_coef = in_trained, None
        else:
            self.coef = _window_to_x(self.domain, len(in_trained)) @ in_trained
            self.scaled_coef = in_trained
        self.timings = {
            "setup_s": self.setup_s,
            "loop_s": self.outcome.loop_seconds,
            "fit_s": time.perf_counter() - planned.started,
        }

    def __len__(self) -> int:
        return len(self.columns)

    def __iter__(self) -> Any:
        return (self[j] for j in range(len(self)))

    @property
    def loss_history(self) -> list[tuple[int, float]]:
        """``(step, total loss)`` at the logged steps: the sum over the columns."""
        return list(self.outcome.history)

    @property
    def final_loss(self) -> float:
        """The total final loss, the sum over the columns."""
        return float(self.outcome.final_loss)

    def index(self, key: int | str) -> int:
        """The column's position, from its position or its name."""
        if isinstance(key, str):
            if key not in self.columns:
                raise KeyError(f"no column {key!r}; the columns are {self.columns}")
            return self.columns.index(key)
        j = int(key)
        if not -len(self) <= j < len(self):
            raise IndexError(f"column {j} out of range for {len(self)} columns")
        return j % len(self)

    def __getitem__(self, key: int | str) -> FitResult:
        j = self.index(key)
        if j not in self._results:
            self._results[j] = self._column_result(j)
        return self._results[j]

    def _column_result(self, j: int) -> FitResult:
        planned, name = self.plan, self.columns[j]
        source = None
        label = f"data ({name})"
        if self.source is not None:
            source = dict(self.source) | {"y": name}
            label = f"{source.get('name', 'data')} ({name} vs {source.get('x', 'x')})"
            source.pop("name", None)
        trained = planned.trained
        problem = Problem(
            planned.problem.x,
            self.Y[:, j],
            label,
            source,
            None if trained is None else trained.weights,
            False if trained is None else trained.absolute,
        )
        column_plan = replace(planned, problem=problem, stats=self.stats.column(j), optimum=None)
        history = [
            (t, float(v))
            for (t, _), v in zip(self.outcome.history, self.column_history[:, j], strict=True)
        ]
        outcome = TrainOutcome(history, float(self.final_losses[j]), self.outcome.loop_seconds)
        method = _Column(self.method, self.params[:, j].copy())
        result = result_of(column_plan, method, outcome, self.reference, self.setup_s)
        result.timings = dict(self.timings)
        return result

    def predict(self, x: Any) -> np.ndarray:
        """Every fitted curve at ``x``: shape (len(x), K), float64."""
        xs = np.asarray(as_float64(x), dtype=np.float64).reshape(-1)
        if self.domain is not None:
            return (
                np.polynomial.polynomial.polyvander(self.domain.to_window(xs), self.model.degree)
                @ self.scaled_coef
            )
        return np.polynomial.polynomial.polyvander(xs, self.model.degree) @ self.coef

    def formulas(self) -> list[str]:
        """Each column's fitted curve as the ``Result:`` line shows it."""
        return [r.formula() for r in self]

    def to_dict(self) -> dict[str, Any]:
        """One JSON document: ``columns`` holds each column's own run document (the
        ``gradfit.fit/1`` schema, plus ``column``: its name), then the totals the loop logged."""
        from .result import _float

        return {
            "schema": SCHEMA,
            "columns": [
                {"column": name} | self[j].to_dict() for j, name in enumerate(self.columns)
            ],
            "method": self.method,
            "seed": self.seed,
            "loss_history": [[t, _float(v)] for t, v in self.loss_history],
            "final_loss": _float(self.final_loss),
            "timings": dict(self.timings),
        }
