"""From a plan to a result: build the method the plan chose, train it in THE loop, and report.

Nothing is decided here - the plan (:mod:`gradfit.plan`) decided it - so every front door
(:func:`gradfit.fit`, :func:`gradfit.run`, a distributed rank, a resumed run) ends in the same
few lines: ``execute(plan(config))``.
"""

from __future__ import annotations

import time
from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np

from ..backends import versions
from ..errors import DivergenceError, FitInterrupted, UsageError
from ..methods import Method, make_method
from ..result import Deferred, FitResult
from ..understand.analysis import Optimum, closed_form, design_optimum, hessian_spectrum
from ..understand.uncertainty import FitStatistics, fit_statistics
from .guard import divergence_advice, divergence_bound
from .interrupt import StopOnInterrupt
from .loop import LogCallback, StepCallback, TrainInterrupted, TrainOutcome, train
from .record import ParamRecorder


def build_method(plan: Any) -> Method:
    """The method the plan chose, on its backend, from its initial parameters: wrapped in
    mini-batches when asked, attached to the communicator, restored from the checkpoint when
    the run resumes one."""
    config, be = plan.config, plan.backend
    method = make_method(
        plan.method,
        plan.model,
        plan.trained,
        be,
        plan.spec,
        plan.init,
        plan.seed,
        stats=plan.stats,
        loss=plan.loss,
        penalty=plan.penalty,
    )
    if config.batch_size is not None:  # mini-batch SGD: a different algorithm (see its module)
        from ..methods.batch import MiniBatch

        part = plan.comm.row_range(len(plan.trained))
        method = MiniBatch(
            method, be, plan.n_rows, config.batch_size, config.shuffle, plan.seed, part
        )
    method = plan.comm.attach(method)
    if plan.resume is not None:
        try:
            method.restore(plan.resume.state)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, RuntimeError) as exc:
            raise UsageError(
                f"cannot resume from {config.resume}: its saved state does not fit this run "
                f"({type(exc).__name__})"
            ) from None
    return method


def execute(
    plan: Any,
    on_log: LogCallback | None = None,
    reference: bool = True,
    on_step: StepCallback | None = None,
    step_stride: int = 0,
) -> FitResult:
    """Run ``plan``: ``on_log(step, loss)`` at logged steps, ``on_step(step)`` every
    ``step_stride`` steps (host-side only: progress bars); ``reference=True`` also reports the
    closed-form optimum; an ``on_log`` that is a :class:`~.record.ParamRecorder` also records
    the parameters at the logged steps. Raises :class:`DivergenceError` (with advice) when the
    guard stops the run, :class:`FitInterrupted` (with the partial result) on Ctrl-C."""
    config, be, comm, resume = plan.config, plan.backend, plan.comm, plan.resume
    method = build_method(plan)
    if isinstance(on_log, ParamRecorder):  # pictures of the run: the parameters, logged too
        method = on_log.watch(method)
    if resume is not None:
        bound = resume.bound if config.guard else None
    elif config.guard:
        yty = None if plan.stats is None else plan.stats.yty
        trained = _whitened(plan.trained, be)  # the all-zero model's loss is sum(w y^2)
        bound = divergence_bound(method, trained, be, comm, yty, _factor(plan), plan.loss)
    else:
        bound = None
    setup_s = time.perf_counter() - plan.started
    writes = config.checkpoint is not None and comm.rank == 0
    checkpoint = _checkpoint_writer(plan, method, bound) if writes else None
    stop = StopOnInterrupt()
    start_step = 0 if resume is None else resume.step
    # Distributed: every rank must stop at the same step, so they agree every log_every steps.
    asked = comm.agreed(stop, config.log_every, start_step)
    try:
        with stop:
            outcome = train(
                method,
                be,
                steps=config.steps,
                log_every=config.log_every,
                on_log=on_log,
                on_step=on_step,
                step_stride=step_stride,
                bound=bound,
                start=start_step,
                history=None if resume is None else resume.history,
                checkpoint=checkpoint,
                checkpoint_every=config.checkpoint_every or 0,
                stop=asked,
            )
    except DivergenceError as exc:
        advice = divergence_advice(
            plan.model, plan.trained, plan.init, plan.spec, _spectrum(plan), _factor(plan)
        )
        if plan.domain is None and plan.model.linear:
            advice += ", or --scale to fit on x mapped to [-1, 1]"
        raise exc.with_detail(advice) from None
    except TrainInterrupted as exc:
        final = be.scalar(method.loss())
        if checkpoint is not None and not (bound is not None and not final <= bound):
            checkpoint(exc.step, exc.history)  # only a state the guard passes
        outcome = TrainOutcome(exc.history, final, exc.seconds)
        partial = result_of(plan, method, outcome, reference, setup_s)
        raise FitInterrupted(partial, exc.step, config.checkpoint) from None
    return result_of(plan, method, outcome, reference, setup_s)


def result_of(
    plan: Any, method: Method, outcome: TrainOutcome, reference: bool, setup_s: float
) -> FitResult:
    """The FitResult of a finished (or interrupted) loop."""
    be, model, domain, stats = plan.backend, plan.model, plan.domain, plan.stats
    params = method.params()
    # The start as the run saw it (rounded to its dtype).
    init_params = be.to_numpy(be.asarray(plan.init)).astype(np.float64)
    # Monomial coefficients in the variable trained on (t when scaled), then in x.
    init_coef, coef = model.to_monomial(init_params), model.to_monomial(params)
    optimum = plan.optimum  # known already, in the loss's units
    if not plan.reference_optimum:  # a robust loss, --l1: no closed form to compare with
        pass
    elif optimum is None and stats is not None:  # from the same statistics: no second pass
        from ..plan import optimum_in_x

        optimum = _in_loss_units(optimum_in_x(stats, model, domain), plan)
    elif optimum is None and reference and (model.reference_degree is not None or model.linear):
        x, y, weights = plan.problem.x, plan.problem.y, plan.problem.weights
        if model.reference_degree is not None:
            least_squares = closed_form(x, y, model.reference_degree, weights)
        else:  # no polynomial in one x to compare with: the model's own design
            least_squares = design_optimum(model, x, y, weights)
        optimum = _in_loss_units(least_squares, plan)
    timings = {"loop_s": outcome.loop_seconds, "fit_s": time.perf_counter() - plan.started}
    if stats is not None:
        timings["setup_s"] = setup_s  # the data pass (and the file or generator behind it)
    spec = plan.spec
    lr_auto = plan.lr_auto
    statistics = deferred_statistics(plan, params, timings)
    return FitResult(
        config=plan.result_config(),
        seed=plan.seed,
        model=model,
        method=method.name,
        method_auto=plan.method_why,
        optimizer=spec.hyperparameters() | {"name": spec.name},
        init_params=init_params,
        params=params,
        init_coef=init_coef if domain is None else domain.to_x(init_coef),
        coef=coef if domain is None else domain.to_x(coef),
        loss_history=outcome.history,
        final_loss=outcome.final_loss,
        n_points=stats.n if stats is not None else plan.n_rows,  # the rows used
        problem=plan.problem.name,
        device=be.device,
        dtype=be.dtype,
        optimum=optimum,
        timings=timings,
        versions=versions(be),
        lr_auto=None
        if lr_auto is None
        else {"lr": lr_auto.lr, "rule": lr_auto.rule, "momentum": lr_auto.momentum},
        domain=domain,
        scaled_coef=None if domain is None else coef,
        scaled_init_coef=None if domain is None else init_coef,
        data=plan.problem.source,
        dataset=plan.problem,  # a Problem, or a ChunkedProblem (plots take a sample of it)
        seed_drawn=plan.seed_drawn,
        stop_reason=outcome.stop,
        steps_done=outcome.steps_done,
        statistics=statistics,
    )


def fit_statistics_of(plan: Any, params: np.ndarray) -> FitStatistics | None:
    """Standard errors and goodness of fit at ``params`` (see
    :mod:`gradfit.understand.uncertainty`), reported in the parameters the result shows: a
    polynomial's monomial coefficients of x (through the linear map from its basis and t), the
    other models' own parameters.

    From the plan's gram statistics when it has them (``J^T J`` is the gram matrix, the SSR
    ``L(w)`` exactly, no pass over the data); else from one chunked float64 pass over the
    trained rows with the model's ``jacobian`` (``J^T J``, residuals and y's spread summed a
    block at a time: memory of a block, not of N). None when the loss is not a sum of squares,
    the model has no Jacobian (the dynamic net), or the rows are not all here (a distributed
    rank without the statistics).

    Weighted runs (``--sigma``, ``--weight``): ``J^T W J`` and ``sum w r^2`` (the SSR, R^2
    and RMSE are of the weighted residuals), n the points with a positive weight; with
    ``--sigma`` the chi-square form (``absolute_sigma=True``), with ``--weight`` the relative
    one (``curve_fit`` with ``sigma = 1 / sqrt(w)``).
    """
    task = _statistics_task(plan, params, copy=False)
    return None if task is None else task()


# A NumPy fit of at most this many rows computes its statistics when they are first read
# (FitResult.statistics), from a copy of its rows (kilobytes); a larger one, or one whose rows
# live on torch, computes them with the result (a copy would cost memory, and their pass costs
# little next to the fit's).
DEFERRED_ROWS = 1 << 16


def deferred_statistics(plan: Any, params: np.ndarray, timings: dict[str, float]) -> Any:
    """The result's statistics: :func:`fit_statistics_of`, the same numbers, but computed on
    first read of ``result.statistics`` (a :class:`gradfit.result.Deferred`) when that is cheap
    to arrange: from the plan's gram statistics, or from a copy of a small NumPy problem's
    rows; else now. ``timings["statistics_s"]`` records the time they took."""
    trained = plan.trained
    later = (plan.stats is not None and getattr(plan.model, "statistics", False)) or (
        trained is not None
        and isinstance(trained.x, np.ndarray)
        and isinstance(trained.y, np.ndarray)
        and len(trained) <= DEFERRED_ROWS
    )
    task = _statistics_task(plan, params, copy=later)
    if task is None:
        return None

    def timed() -> FitStatistics | None:
        started = time.perf_counter()
        statistics = task()
        if statistics is not None:
            timings["statistics_s"] = time.perf_counter() - started
        return statistics

    return Deferred(timed) if later else timed()


def _statistics_task(plan: Any, params: np.ndarray, copy: bool) -> Any:
    """:func:`fit_statistics_of` as a call that reads nothing of ``plan`` (None: there are
    none); ``copy``: it holds copies of the arrays it reads (the user's own, in a library fit,
    may change before it runs)."""
    model, stats, domain = plan.model, plan.stats, plan.domain
    if plan.loss.factor is None:
        return None
    w = np.array(params, dtype=np.float64)  # a copy: the result's params are the user's to edit
    source = plan.trained if plan.trained is not None else plan.problem  # streamed: chunks
    weights = getattr(source, "weights", None)
    weighted = weights is not None or getattr(source, "weighted", False)
    sigma = 1.0 if weighted and source.absolute else None
    n_used = None
    if weighted:
        n_used = int(np.count_nonzero(weights > 0)) if weights is not None else source.positive
    if stats is not None and getattr(model, "statistics", False):
        return partial(_gram_statistics, model, domain, stats, w, weights is None, n_used, sigma)
    if getattr(model, "jacobian", None) is None or plan.trained is None or plan.comm.distributed:
        return None
    x, y = plan.trained.x, plan.trained.y
    if copy:
        x, y = x.copy(), y.copy()
        weights = None if weights is None else weights.copy()
    rows = (x, y, weights)
    return partial(_jacobian_statistics, model, domain, rows, w, n_used, sigma, plan.seed)


def _gram_statistics(
    model: Any,
    domain: Any,
    stats: Any,
    w: np.ndarray,
    unweighted: bool,
    n_used: int | None,
    sigma: float | None,
) -> FitStatistics | None:
    """The statistics from the gram statistics of a polynomial fit (no pass over the data)."""
    names, transform = _reported(model, domain)
    total = stats.n if unweighted else stats.gram[0, 0]  # B_0 = 1: sum(w)
    tss = max(float(stats.yty - stats.xty[0] ** 2 / total), 0.0)  # B_0 = 1: sum(w y)
    with np.errstate(all="ignore"):
        ssr = stats.loss(w)
    if not np.isfinite(ssr):  # a run that diverged (--no-guard)
        return None
    return fit_statistics(
        None, None, names=names, n=n_used or stats.n, jtj=stats.gram, ssr=ssr, y_tss=tss,
        sigma=sigma, transform=transform,
    )  # fmt: skip


def _jacobian_statistics(
    model: Any,
    domain: Any,
    rows: tuple[Any, Any, Any],
    w: np.ndarray,
    n_used: int | None,
    sigma: float | None,
    seed: int,
) -> FitStatistics | None:
    """The statistics from one chunked float64 pass of the model's Jacobian over the rows
    ``(x, y, weights)`` (weights None: unweighted)."""
    from ..backends import resolve_backend
    from ..stats import array_chunks

    names, transform = _reported(model, domain)
    jacobian = model.jacobian
    trained_x, trained_y, weights = rows
    host = resolve_backend("numpy", "cpu", "float64")
    p = model.n_params
    jtj, ssr, count, mean, m2 = np.zeros((p, p)), 0.0, 0, 0.0, 0.0
    with np.errstate(all="ignore"):  # a run that diverged (--no-guard): None below
        for chunk in array_chunks(trained_x, trained_y, weights=weights):
            x, y = chunk[:2]
            cache = model.prepare(x, host, seed)
            J = np.broadcast_to(np.asarray(jacobian(w, cache), dtype=np.float64), (y.size, p))
            r = y - np.broadcast_to(np.asarray(model.forward(w, cache), dtype=np.float64), y.shape)
            wc = chunk[2] if weights is not None else None
            jtj += J.T @ (J if wc is None else wc[:, None] * J)
            ssr += float(r @ (r if wc is None else wc * r))
            # y's (weighted) sum of squares about its mean, chunk by chunk (Chan et al.'s
            # pairwise update; a chunk's weight is its size, or its sum of weights).
            size = y.size if wc is None else float(wc.sum())
            if not size:
                continue
            c_mean = float(y.mean()) if wc is None else float(wc @ y) / size
            c_m2 = float(((y - c_mean) ** 2).sum() if wc is None else wc @ (y - c_mean) ** 2)
            total = count + size
            m2 += c_m2 + (c_mean - mean) ** 2 * count * size / total
            mean += (c_mean - mean) * size / total
            count = total
    if not (np.all(np.isfinite(jtj)) and np.isfinite(ssr)):
        return None
    n = count if weights is None else n_used
    return fit_statistics(
        None, None, names=names, n=n, jtj=jtj, ssr=ssr, y_tss=m2, sigma=sigma, transform=transform
    )


def _reported(model: Any, domain: Any) -> tuple[list[str], np.ndarray | None]:
    """The names of the reported parameters and the linear map to them from the trained ones:
    for a polynomial, column j is the monomial coefficients in x of the j-th basis function
    (in t when scaled); other models report their own parameters (no map)."""
    if model.kind != "poly":
        return list(model.param_names), None
    p = model.n_params
    columns = []
    for j in range(p):
        unit = np.zeros(p)
        unit[j] = 1.0
        mono = model.to_monomial(unit)
        columns.append(mono if domain is None else domain.to_x(mono))
    transform = np.column_stack(columns)
    identity = np.array_equal(transform, np.eye(p))
    return [f"c{k}" for k in range(p)], None if identity else transform


def _whitened(problem: Any, be: Any) -> Any:
    """The problem with y scaled by ``sqrt(w)`` (unchanged when unweighted): what the guard's
    all-zero model is measured on."""
    if problem is None or problem.weights is None:
        return problem
    return replace(problem, y=problem.sqrt_weights(be) * problem.y, weights=None)


def _spectrum(plan: Any) -> Any:
    """The plan's curvature, for the guard's advice; a weighted run's when the plan has none
    (the guard would otherwise compute the unweighted one)."""
    trained = plan.trained
    if plan.spectrum is not None or trained is None or trained.weights is None:
        return plan.spectrum
    return hessian_spectrum(plan.model, trained.x, plan.init, weights=trained.weights).scaled(
        _factor(plan)
    )


def _factor(plan: Any) -> float:
    """The plan's loss as a multiple of the sum of squares (1: the article's sum)."""
    factor = plan.loss.factor
    return 1.0 if factor is None else factor


def _in_loss_units(optimum: Optimum, plan: Any) -> Optimum:
    """The least-squares optimum with its loss in the units of the plan's loss."""
    factor = _factor(plan)
    return optimum if factor == 1.0 else Optimum(optimum.coef, factor * optimum.loss)


def _checkpoint_writer(plan: Any, method: Method, bound: float | None) -> Any:
    """``write(steps_done, history)``: the method's state into ``config.checkpoint``."""
    from .checkpoint import Checkpoint, save_checkpoint

    saved_config = plan.record.to_dict()  # as asked (lr may be "auto"), seed/device/dtype as run
    be = plan.backend

    def write(done: int, history: list[tuple[int, float]]) -> None:
        ckpt = Checkpoint(
            step=done,
            state=method.snapshot(),
            history=list(history),
            config=saved_config,
            seed=plan.seed,
            method=method.name,
            backend=be.name,
            dtype=be.dtype,
            bound=bound,
            extra={"world_size": plan.comm.world_size},
        )
        save_checkpoint(plan.config.checkpoint, ckpt)

    return write
