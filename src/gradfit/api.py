"""The library's entry points: :func:`fit` for your own arrays, :func:`run` for a FitConfig.

Both wire the same pieces together - problem, model, method, optimizer, backend - and hand them
to the one training loop in :mod:`gradfit.train`.
"""

from __future__ import annotations

import math
import secrets
import signal
import sys
import threading
import time
from dataclasses import replace
from typing import Any

import numpy as np

from .analysis import Optimum, auto_learning_rate, closed_form, gram_spectrum, hessian_spectrum
from .backends import Backend, resolve_backend, versions
from .config import FitConfig
from .data import (
    Domain,
    Problem,
    add_noise,
    as_float64,
    as_problem,
    check_fittable,
    load_data,
    make_problem,
)
from .errors import DivergenceError, FitInterrupted, UsageError
from .methods import make_method, resolve_method
from .models import make_model
from .result import FitResult
from .train import (
    DIVERGENCE_FACTOR,
    LogCallback,
    StepCallback,
    TrainInterrupted,
    TrainOutcome,
    train,
)


def fit(
    x: Any,
    y: Any,
    *,
    degree: int = 3,
    model: str = "poly",
    basis: str = "monomial",
    backend: str | None = None,
    device: str | None = None,
    dtype: str | None = None,
    lr: float | None = None,
    steps: int = 2000,
    log_every: int = 100,
    seed: int | None = None,
    init: Any = None,
    method: str = "auto",
    optimizer: str = "sgd",
    on_log: LogCallback | None = None,
    reference: bool = True,
    scale: bool = False,
    **optimizer_options: Any,
) -> FitResult:
    """Fit a model to ``(x, y)`` by gradient descent on the sum of squared errors.

    ``model`` is ``poly`` (``degree``, ``basis``), ``legendre3`` or ``dynamic``; ``method`` is
    manual, autograd, nn, module, gram, or auto (gram for float64 poly fits of at least 10^4
    points, else manual; ``result.method`` says which ran); ``batch_size=B`` (and
    ``shuffle=True``) runs mini-batch SGD; ``optimizer`` one of sgd, momentum, nesterov,
    rmsprop, adam, lbfgs, with ``momentum=``, ``betas=``, ``eps=``, ``alpha=`` as keyword options.
    ``lr=None`` takes the model's default (1e-6 for poly, the article's).

    ``backend``/``device``/``dtype`` default to where the data already is: a torch tensor stays
    on its device and dtype, anything else runs on NumPy in float64. ``init`` gives the initial
    coefficients (lowest power first); otherwise they are drawn from a standard normal with
    ``seed`` (drawn and reported when None). ``on_log(step, loss)`` is called on logged steps.
    ``reference=True`` also computes the closed-form optimum for comparison.
    ``scale=True`` trains on x mapped to [-1, 1] (see :mod:`gradfit.scaling`); the coefficients
    are still reported in x. ``lr="auto"`` picks the rate from the loss's Hessian on the data
    (on the scaled x when scaling; see :func:`gradfit.analysis.auto_learning_rate`).

    >>> import numpy as np, gradfit
    >>> x = np.linspace(-np.pi, np.pi, 2000)
    >>> r = gradfit.fit(x, np.sin(x), init=[0.0, 0.0, 0.0, 0.0], lr=1e-6, steps=2000)
    >>> round(float(r.coef[1]), 3), r.final_loss < 9.0
    (0.843, True)
    """
    backend, device, dtype = _infer_backend(x, backend, device, dtype)
    config = FitConfig(
        backend=backend,
        device=device,
        dtype=dtype,
        model=model,
        degree=degree,
        basis=basis,
        method=method,
        optimizer=optimizer,
        lr=lr,
        steps=steps,
        log_every=log_every,
        seed=seed,
        init=None if init is None else tuple(np.asarray(init, dtype=np.float64).ravel()),
        target=None,
        points=max(_length(x), 1),
        scale=scale,
        **optimizer_options,
    ).validated()
    be = resolve_backend(config.backend, config.device, config.dtype)
    model_ = make_model(config.model, config.degree, config.basis)
    problem = as_problem(x, y, be, model_.n_params)
    if config.model == "poly":
        check_fittable(be.to_numpy(problem.x), model_.n_params)
    return _fit(problem, be, config, on_log, reference)


def run(
    config: FitConfig,
    on_log: LogCallback | None = None,
    reference: bool = True,
    on_step: StepCallback | None = None,
    step_stride: int = 0,
) -> FitResult:
    """Run the experiment ``config`` describes (the CLI's ``fit``).

    The problem is generated from ``config.target`` (a built-in name or a formula in x, plus
    ``config.noise``), or read from the file ``config.data``. ``on_log(step, loss)`` is called
    at logged steps, ``on_step(step)`` every ``step_stride`` steps (host-side only: for
    progress bars).
    """
    config = config.validated()
    if config.distributed:  # one rank of a torch.distributed run: see gradfit.distributed
        from .distributed import run_distributed

        return run_distributed(config, on_log, reference, on_step, step_stride)
    config = resume_seed(config)
    be = resolve_backend(config.backend, config.device, config.dtype)
    if config.seed is None:  # drawn here: the noise and the initial coefficients share it
        config = replace(config, seed=secrets.randbelow(2**32))
    problem = streamed_problem(config, be) or make_run_problem(config, be)
    return _fit(problem, be, config, on_log, reference, on_step, step_stride)


# Generated problems for gram on torch are streamed (generated by NumPy, chunk by chunk) above
# this many points; below it they are generated on the backend, as a manual run sees them.
STREAM_GENERATED_MIN = 1 << 20


def streamed_problem(config: FitConfig, be: Backend) -> Any:
    """A :class:`gradfit.stream.ChunkedProblem` when the run will be ``gram`` and its data
    need never be held: a ``.npy``, Parquet or CSV/TSV file, or a generated target (on NumPy
    float64, where the chunks are the very numbers the backend would make, or above
    ``STREAM_GENERATED_MIN`` points). None: build the problem in memory."""
    from . import data as stream

    if config.method not in ("gram", "auto"):
        return None
    model = make_model(config.model, config.degree, config.basis)
    if config.data is not None:
        if not stream.can_stream(config.data):
            return None
        chunked = stream.open_file(
            config.data, config.x_column, config.y_column, config.drop_nonfinite
        )
    else:
        if be.name != "numpy" and config.points < STREAM_GENERATED_MIN:
            return None
        chunked = stream.generated(
            config.target, config.points, config.x_range, config.noise, config.seed, be.dtype
        )
    name, _ = resolve_method(
        config.method, model, len(chunked), be.dtype, config.optimizer, config.batch_size
    )
    return chunked if name == "gram" else None


def resume_seed(config: FitConfig) -> FitConfig:
    """A --resume run without its own seed takes the checkpoint's (the noise depends on it)."""
    from .checkpoint import load_checkpoint, resumes

    if config.seed is not None or not resumes(config.resume, config.checkpoint):
        return config
    return replace(config, seed=load_checkpoint(config.resume).seed)


def make_run_problem(config: FitConfig, be: Backend) -> Problem:
    """The problem of a validated config: read from ``config.data``, or generated from its
    target (plus its noise, drawn from ``config.seed``)."""
    if config.data is not None:
        return load_problem(config)
    problem = make_problem(be, config.target, config.points, config.x_range)
    return add_noise(problem, be, config.noise, config.seed)


def load_problem(config: FitConfig) -> Problem:
    """The problem in ``config.data``: validated float64 columns, still on the host."""
    data = load_data(
        config.data,
        config.x_column,
        config.y_column,
        n_params=make_model(config.model, config.degree, config.basis).n_params,
        drop_nonfinite=config.drop_nonfinite,
    )
    return Problem(data.x, data.y, data.name, data.info())


def _fit(
    problem: Problem,
    be: Backend,
    config: FitConfig,
    on_log: LogCallback | None,
    reference: bool,
    on_step: StepCallback | None = None,
    step_stride: int = 0,
    dist: Any = None,
) -> FitResult:
    start = time.perf_counter()
    seed = config.seed if config.seed is not None else secrets.randbelow(2**32)
    config = replace(config, seed=seed, dtype=be.dtype, device=be.device)
    resume = _resume_point(config)
    if resume is not None:
        seed = resume.seed
        config = replace(config, seed=seed)
        if config.method == "auto":  # continue with the method that wrote the checkpoint
            config = replace(config, method=resume.method)
    model = make_model(config.model, config.degree, config.basis)
    # Distributed: ``problem`` is this rank's rows; what needs all of them is summed.
    n_rows = len(problem) if dist is None else dist.total(len(problem))
    if n_rows == 0:
        raise UsageError(f"{problem.name} has no data rows")
    name, why = resolve_method(
        config.method, model, n_rows, be.dtype, config.optimizer, config.batch_size
    )
    stats = spectrum = optimum = None
    init = initial_params(model, config.init, seed)
    if name == "gram":  # one pass over the data; nothing of size N is made
        trained, domain, stats = gram_view(config, problem, model, dist)
        spectrum = gram_spectrum(stats.gram)
    else:
        if not isinstance(problem, Problem):  # a distributed rank's part of a file: load it
            problem = in_memory(problem)
        if dist is not None and model.kind == "poly":
            # The statistics of all the ranks' rows check that they determine the fit, and
            # give the curvature (--lr auto) and the optimum, as one process has them.
            _, domain, stats = gram_view(config, problem, model, dist)
            spectrum, n_rows = gram_spectrum(stats.gram), stats.n
            trained = _on_backend(problem, be, domain)
        else:
            trained, domain = scaled_view(config, problem, be, dist)
            if dist is not None:
                nonlinear = _distributed_nonlinear(config, problem, model, init, dist)
                spectrum, optimum, n_rows = nonlinear
    run_config = config  # as asked (lr may be "auto"): what a checkpoint records
    lr_auto = None
    if config.lr == "auto":
        x = None if trained is None else trained.x
        lr_auto = auto_learning_rate(
            model, x, init, config.optimizer, config.momentum, spectrum=spectrum
        )
        config = replace(config, lr=lr_auto.lr, momentum=lr_auto.momentum)
    spec = config.optimizer_spec(model)
    method = make_method(name, model, trained, be, spec, init, seed, stats=stats)
    if config.batch_size is not None:  # mini-batch SGD: a different algorithm (see its module)
        from .methods.batch import MiniBatch

        part = None if dist is None else dist.row_range(len(trained))
        method = MiniBatch(method, be, n_rows, config.batch_size, config.shuffle, seed, part)
    if dist is not None:
        method = dist.attach(method)
    if resume is not None:
        method.restore(resume.state)
        bound = resume.bound if config.guard else None
    elif config.guard:
        yty = None if stats is None else stats.yty
        bound = _divergence_bound(method, trained, be, yty, dist)
    else:
        bound = None
    stats_s = time.perf_counter() - start
    writes = config.checkpoint is not None and (dist is None or dist.rank == 0)
    checkpoint = _checkpoint_writer(run_config, method, be, seed, bound, dist) if writes else None
    stop = _StopOnInterrupt()
    start_step = 0 if resume is None else resume.step
    # Distributed: every rank must stop at the same step, so they agree every log_every steps.
    asked = stop if dist is None else dist.agreed(stop, config.log_every, start_step)
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
        advice = _divergence_advice(model, trained, init, spec, spectrum)
        if domain is None and model.kind == "poly":
            advice += ", or --scale to fit on x mapped to [-1, 1]"
        raise exc.with_detail(advice) from None
    except TrainInterrupted as exc:
        if checkpoint is not None:
            checkpoint(exc.step, exc.history)
        final = be.scalar(method.loss())
        outcome = TrainOutcome(exc.history, final, exc.seconds)
        partial = _result(
            config, seed, model, method, spec, be, init, domain, problem, outcome, lr_auto,
            reference, start, stats=stats, stats_s=stats_s, why=why, optimum=optimum,
            n_points=n_rows,
        )  # fmt: skip
        raise FitInterrupted(partial, exc.step, config.checkpoint) from None
    return _result(
        config, seed, model, method, spec, be, init, domain, problem, outcome, lr_auto,
        reference, start, stats=stats, stats_s=stats_s, why=why, optimum=optimum,
        n_points=n_rows,
    )  # fmt: skip


def _result(
    config: FitConfig,
    seed: int,
    model: Any,
    method: Any,
    spec: Any,
    be: Backend,
    init: np.ndarray,
    domain: Domain | None,
    problem: Problem,
    outcome: TrainOutcome,
    lr_auto: Any,
    reference: bool,
    start: float,
    *,
    stats: Any = None,
    stats_s: float = 0.0,
    why: str | None = None,
    optimum: Optimum | None = None,
    n_points: int = 0,
) -> FitResult:
    """The FitResult of a finished (or interrupted) loop. ``stats``: the sufficient statistics
    of all the rows, when computed (and ``stats_s`` the time of their pass); ``why``: --method
    auto's reason; ``optimum``: the reference when already known; ``n_points``: the rows
    fitted (all the ranks' when distributed)."""
    params = method.params()
    # The start as the run saw it (rounded to its dtype).
    init_params = be.to_numpy(be.asarray(init)).astype(np.float64)
    # Monomial coefficients in the variable trained on (t when scaled), then in x.
    init_coef, coef = model.to_monomial(init_params), model.to_monomial(params)
    if optimum is not None:  # known already
        pass
    elif stats is not None:  # the optimum from the same statistics: no second pass
        optimum = _optimum_in_x(stats, model, domain)
    elif reference:
        optimum = closed_form(problem.x, problem.y, model.reference_degree)
    else:
        optimum = None
    timings = {"loop_s": outcome.loop_seconds, "fit_s": time.perf_counter() - start}
    if stats is not None:
        timings["setup_s"] = stats_s  # the data pass (and the file or generator behind it)
    return FitResult(
        config=replace(config, lr=spec.lr),
        seed=seed,
        model=model,
        method=method.name,
        method_auto=why,
        optimizer=spec.hyperparameters() | {"name": spec.name},
        init_params=init_params,
        params=params,
        init_coef=init_coef if domain is None else domain.to_x(init_coef),
        coef=coef if domain is None else domain.to_x(coef),
        loss_history=outcome.history,
        final_loss=outcome.final_loss,
        n_points=stats.n if stats is not None else n_points,  # the rows used
        problem=problem.name,
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
        data=problem.source,
        dataset=problem,  # a Problem, or a ChunkedProblem (plots take a sample of it)
    )


def gram_view(
    config: FitConfig, problem: Any, model: Any, dist: Any = None
) -> tuple[Any, Domain | None, Any]:
    """For the gram method: the domain (scaling as :func:`scaled_view` decides it) and the
    statistics of the scaled data, from one chunked pass; the in-memory problem is returned as
    is (None for a chunked one: nothing of size N is built). ``dist``: ``problem`` is this
    rank's rows; the range and the statistics are those of all the ranks' rows."""
    from .stats import array_chunks

    size = config.chunk_size
    if isinstance(problem, Problem):
        domain = _domain(config, problem, dist)
        trained: Any = problem

        def chunks() -> Any:
            return array_chunks(problem.x, problem.y, size)
    else:
        domain = _chunked_domain(config, problem, dist)
        trained = None

        def chunks() -> Any:
            return problem.chunks(size)

    stats = summed_statistics(chunks, model, domain, dist)
    if trained is None or dist is not None:
        _check_rank(stats, model, problem)
    return trained, domain, stats


def summed_statistics(chunks: Any, model: Any, window: Any, dist: Any = None) -> Any:
    """The statistics of a poly ``model`` over the rows ``chunks()`` yields (x mapped by
    ``window``; ``dist``: summed with the other ranks'), and ``L*`` from a second pass of the
    residuals when the fit is nearly exact."""
    from .stats import accumulate, refine

    stats = accumulate(chunks(), model.basis, model.degree, window)
    if dist is not None:
        stats = dist.sum_stats(stats)
    if stats.needs_refinement():  # a nearly exact fit: sum L* from the residuals
        part = refine(stats, chunks(), model.basis, model.degree, window)
        residual = part.residual if dist is None else float(dist.host_reduce([part.residual])[0])
        stats = replace(part, residual=residual)
    return stats


def _optimum_in_x(stats: Any, model: Any, domain: Domain | None) -> Optimum:
    """The least-squares optimum of ``stats`` as monomial coefficients in x."""
    w_star, best = stats.optimum
    star = model.to_monomial(w_star)
    return Optimum(star if domain is None else domain.to_x(star), best)


def _chunked_domain(config: FitConfig, problem: Any, dist: Any = None) -> Domain | None:
    scale = config.scale if config.scale is not None else config.data is not None
    if not scale:
        return None
    lo, hi = problem.x_bounds(config.chunk_size)
    if dist is not None:
        lo, hi = dist.bounds(lo, hi)
    return Domain(lo, hi) if lo < hi else None


def in_memory(chunked: Any) -> Problem:
    """A chunked problem's rows read into memory (float64 host arrays)."""
    from .stats import DEFAULT_CHUNK

    xs, ys = [np.empty(0)], [np.empty(0)]
    for x, y in chunked.chunks(DEFAULT_CHUNK):
        xs.append(np.array(x, dtype=np.float64))
        ys.append(np.array(y, dtype=np.float64))
    return Problem(np.concatenate(xs), np.concatenate(ys), chunked.name, chunked.source)


def _distributed_nonlinear(
    config: FitConfig, problem: Problem, model: Any, init: np.ndarray, dist: Any
) -> tuple[Any, Optimum, int]:
    """For a distributed rank of a model that is not a polynomial (legendre3, dynamic): what
    one process would know from all the rows - the curvature for --lr auto (the Gauss-Newton
    matrix J^T J at the start, summed), the reference polynomial (from statistics in a Legendre
    basis on x's range, summed) and the row count."""
    from .analysis import hessian_gram
    from .models import Polynomial
    from .stats import array_chunks

    n = dist.total(len(problem))
    if n < model.n_params:
        raise UsageError(
            f"{problem.name} has {n} row(s) but the model has {model.n_params} parameters; "
            "use more data"
        )
    spectrum = None
    if config.lr == "auto":
        gram, exact = hessian_gram(model, problem.x, init)
        spectrum = gram_spectrum(dist.host_reduce(gram).reshape(gram.shape), exact)
    ref = Polynomial(model.reference_degree, "legendre")
    lo, hi = dist.bounds(*_x_range(problem.x))
    window = Domain(lo, hi) if lo < hi else None
    stats = summed_statistics(lambda: array_chunks(problem.x, problem.y), ref, window, dist)
    return spectrum, _optimum_in_x(stats, ref, window), n


def _x_range(x: Any) -> tuple[float, float]:
    xs = as_float64(x)
    return (float(xs.min()), float(xs.max())) if xs.size else (math.inf, -math.inf)


def _check_rank(stats: Any, model: Any, problem: Any) -> None:
    """What :func:`gradfit.loaders.check_fittable` checks, from the statistics of a stream."""
    from .errors import UsageError

    if stats.n < model.n_params:
        raise UsageError(
            f"{problem.name} has {stats.n} usable row(s) but a degree-{model.degree} polynomial "
            f"has {model.n_params} coefficients; use more data or a lower --degree"
        )
    if model.degree >= 1 and stats.rank() < model.n_params:
        raise UsageError(
            f"{problem.name}: x takes too few distinct values to determine a "
            f"degree-{model.degree} polynomial; use a lower --degree"
        )


def scaled_view(
    config: FitConfig, problem: Problem, be: Backend, dist: Any = None
) -> tuple[Problem, Domain | None]:
    """The problem as the model sees it, on the backend - x, or t mapped from x to [-1, 1] -
    and the domain it was mapped from (None: not scaled; ``dist``: the range of all ranks)."""
    domain = _domain(config, problem, dist)
    return _on_backend(problem, be, domain), domain


def _domain(config: FitConfig, problem: Problem, dist: Any = None) -> Domain | None:
    """The domain to scale x from, or None to train on x itself.

    ``config.scale`` None means: scale data read from a file, not generated targets (so that
    ``gradfit fit`` stays the article's experiment) nor arrays given to :func:`fit`.
    """
    scale = config.scale if config.scale is not None else config.data is not None
    if not scale:
        return None
    lo, hi = _x_range(problem.x)
    if dist is not None:
        lo, hi = dist.bounds(lo, hi)
    return Domain(lo, hi) if lo < hi else None  # constant x (degree 0): nothing to map


def _on_backend(problem: Problem, be: Backend, domain: Domain | None) -> Problem:
    """The problem as the model sees it, on the backend: x, or t = off + scl * x in [-1, 1].

    t is computed in float64 from the original x and only then cast to the run's dtype.
    Arrays already on the backend are not copied (the article's run is untouched).
    """
    x = problem.x if domain is None else domain.to_window(problem.x)
    return replace(problem, x=be.asarray(x), y=be.asarray(problem.y))


def _divergence_bound(
    method: Any, problem: Problem | None, be: Backend, yty: float | None = None, dist: Any = None
) -> float:
    """DIVERGENCE_FACTOR x max(initial loss, sum(y^2)): two reads before the loop starts
    (``yty``: sum(y^2) when already known; summed over every rank's rows when distributed)."""
    if yty is None:
        y2 = be.xp.sum(problem.y * problem.y)
        yty = be.scalar(y2 if dist is None else dist.sum_scalar(y2))
    scale = max(be.scalar(method.loss()), yty, 1e-300)
    return DIVERGENCE_FACTOR * scale if math.isfinite(scale) else math.inf


def _divergence_advice(
    model: Any, problem: Problem, init: np.ndarray, spec: Any, spectrum: Any = None
) -> str:
    """What the failure message says next: the stable rate, from the Hessian's spectrum."""
    try:
        if spectrum is None:
            spectrum = hessian_spectrum(model, problem.x, init)
    except (ValueError, FloatingPointError, np.linalg.LinAlgError):  # pragma: no cover
        return "try a smaller --lr or --lr auto"
    where = "" if spectrum.exact else " (from the curvature at the start)"
    gd = "" if spec.name == "sgd" else " for plain gradient descent"
    return (
        f"largest stable learning rate{gd} here is {spectrum.stable_lr:.4g}{where} "
        f"(2 / lambda_max, lambda_max = {spectrum.lambda_max:.4g}), --lr was {spec.lr:.4g}; "
        "try --lr auto or a smaller --lr"
    )


def initial_params(model: Any, init: Any, seed: int) -> np.ndarray:
    """Explicit ``init``, else the model's published start (legendre3), else a standard normal
    draw from ``seed`` in float64 - the same numbers on every backend and dtype."""
    if init is not None:
        return np.asarray(init, dtype=np.float64)
    if model.default_init is not None:
        return np.asarray(model.default_init, dtype=np.float64)
    return np.random.default_rng(seed).standard_normal(model.n_params)


def _length(x: Any) -> int:
    try:
        return int(x.shape[0]) if hasattr(x, "shape") and len(x.shape) else len(x)
    except TypeError:
        return 0


def _infer_backend(
    x: Any, backend: str | None, device: str | None, dtype: str | None
) -> tuple[str, str, str | None]:
    torch = sys.modules.get("torch")
    is_tensor = torch is not None and isinstance(x, torch.Tensor)
    if backend is None:
        backend = "torch" if is_tensor else "numpy"
    if is_tensor and backend == "torch":
        if device is None:
            device = str(x.device)
        if dtype is None and x.dtype in (torch.float32, torch.float64):
            dtype = str(x.dtype).removeprefix("torch.")
    return backend, device or "cpu", dtype


def _resume_point(config: FitConfig) -> Any:
    """The checkpoint ``config.resume`` names, checked against this run's options (or None)."""
    from .checkpoint import check_compatible, load_checkpoint, resumes

    if not resumes(config.resume, config.checkpoint):
        return None
    ckpt = load_checkpoint(config.resume)
    now = replace(config, seed=ckpt.seed if config.seed is None else config.seed).to_dict()
    check_compatible(ckpt, now, config.resume)
    return ckpt


def _checkpoint_writer(
    config: FitConfig, method: Any, be: Backend, seed: int, bound: float | None, dist: Any
) -> Any:
    """``write(steps_done, history)``: the method's state into ``config.checkpoint``."""
    from .checkpoint import Checkpoint, save_checkpoint

    saved_config = config.to_dict()

    def write(done: int, history: list[tuple[int, float]]) -> None:
        ckpt = Checkpoint(
            step=done,
            state=method.snapshot(),
            history=list(history),
            config=saved_config,
            seed=seed,
            method=method.name,
            backend=be.name,
            dtype=be.dtype,
            bound=bound,
            extra={"world_size": 1 if dist is None else dist.world_size},
        )
        save_checkpoint(config.checkpoint, ckpt)

    return write


class _StopOnInterrupt:
    """Ctrl-C (SIGINT) during the loop: finish the current step, then stop (see
    :class:`gradfit.train.TrainInterrupted`). A second Ctrl-C interrupts at once - unless it
    comes within a second of the first: torchrun passes the terminal's Ctrl-C on to processes
    that already got it. Installed only in the main thread (the only one Python delivers
    signals to)."""

    REPEAT_S = 1.0

    def __init__(self) -> None:
        self.requested = False
        self._at = 0.0
        self._previous: Any = None

    def __call__(self) -> bool:
        return self.requested

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested and time.monotonic() - self._at > self.REPEAT_S:
            raise KeyboardInterrupt
        if not self.requested:
            self.requested, self._at = True, time.monotonic()

    def __enter__(self) -> _StopOnInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
