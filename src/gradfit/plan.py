"""A run, decided once: ``plan(config, data, comm) -> Plan``.

Everything that is *chosen* before the first step is chosen here and nowhere else: the backend
and its device and dtype, the seed (drawn when not given, rank 0's on every rank, the
checkpoint's on a resume), the model, the data (generated, read, streamed, or this rank's part
of it), the domain x is scaled from, the sufficient statistics when the run uses them, the
initial parameters, the method (and, for ``--method auto``, why), and the optimizer with its
learning rate resolved (``--lr auto``). The front doors (:func:`gradfit.fit`,
:func:`gradfit.run`), ``explain``, ``compare``, resume and the distributed ranks all call
:func:`plan`; :func:`gradfit.training.execute` then builds the method and trains.

What the user asked for stays in ``plan.config`` (validated once, never rewritten); what was
resolved has fields of its own (``backend``, ``seed``, ``method``, ``spec``, ``lr_auto``).
"""

from __future__ import annotations

import math
import secrets
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .backends import Backend, resolve_backend
from .config import FitConfig
from .data import Domain, Problem, as_float64, as_problem, check_fittable
from .distributed.comm import LOCAL
from .errors import UsageError
from .frozen import evolve
from .losses import NO_PENALTY, Loss, Penalty, make_loss
from .methods import resolve_method
from .models import Model, make_model
from .optim import OptimizerSpec
from .plan_data import in_memory, make_run_problem, read_problem, with_weights
from .understand.analysis import (
    AutoLR,
    Optimum,
    QuadraticPath,
    Spectrum,
    auto_learning_rate,
    design_matrix,
    gram_spectrum,
    hessian_gram,
    hessian_spectrum,
    path_from_statistics,
    quadratic_path,
    ridge_optimum,
    whitened,
)


@dataclass(frozen=True)
class Plan:
    """One run, fully decided. ``config`` is what was asked; every other field is resolved."""

    config: FitConfig  # validated, as asked
    backend: Backend
    comm: Any  # LocalComm (one process) or DistContext (a torch.distributed rank)
    seed: int
    model: Model
    loss: Loss
    problem: Any  # the rows fitted: a Problem in memory, or a ChunkedProblem read in passes
    read: Any  # the rows as read (a distributed rank's part, before any loading into memory)
    trained: Problem | None  # on the backend, in the trained variable (None: gram, streamed)
    domain: Domain | None  # x's range mapped to [-1, 1] (None: trained on x itself)
    stats: Any  # GramStats of all the rows, when computed (gram; distributed poly)
    spectrum: Spectrum | None  # the loss's curvature, when known before the run
    optimum: Optimum | None  # the reference optimum, when known before the run
    n_rows: int  # all the rows (every rank's)
    init: np.ndarray  # the initial parameters, float64
    method: str  # the method that runs
    method_why: str | None  # --method auto's reason
    spec: OptimizerSpec  # the optimizer, lr resolved
    lr_auto: AutoLR | None  # what --lr auto chose
    resume: Any  # the Checkpoint this run continues, or None
    record: FitConfig  # what a checkpoint records: seed, device, dtype, method as run
    started: float  # perf_counter() when planning began (the run's fit_s counts from here)
    seed_drawn: bool = False  # drawn here (not given, not a checkpoint's) and used by the run
    penalty: Penalty = NO_PENALTY  # --l2, --l1: added to the loss
    # False: no closed-form optimum to report (a robust loss, --l1, --l2 on a nonlinear model)
    reference_optimum: bool = True

    def result_config(self) -> FitConfig:
        """The config a result reports: the record, with the learning rate (and momentum)
        that ran."""
        momentum = self.record.momentum if self.lr_auto is None else self.lr_auto.momentum
        return evolve(self.record, lr=self.spec.lr, momentum=momentum)


def plan(
    config: FitConfig, data: tuple[Any, ...] | None = None, comm: Any = LOCAL, host: bool = False
) -> Plan:
    """Decide the run ``config`` describes.

    ``data``: the user's ``(x, y)`` arrays, or ``(x, y, sigma, weights)`` (the library's
    :func:`gradfit.fit`; see :func:`gradfit.data.weights.user_weights`), else the problem
    is generated or read from ``config``. ``comm``: the communicator whose sums span all the
    rows (a distributed rank reads only its part). ``host=True``: plan for analysis rather than
    for training (``explain``, ``compare``'s reference): NumPy float64 on the CPU, the problem in
    memory, the method as asked, no checkpoint.
    """
    started = time.perf_counter()
    config = config.validated()
    resume = None if host else _resume_point(config)
    if host:
        be = resolve_backend("numpy", "cpu", "float64")
    else:
        device = comm.device if comm.distributed else config.device
        be = resolve_backend(config.backend, device, config.dtype)
    if config.seed is not None:
        seed = config.seed
    elif resume is not None:  # the checkpoint's: the noise and the start depend on it
        seed = resume.seed
    else:  # drawn once, reported with the result; every rank takes rank 0's
        seed = comm.broadcast_seed(secrets.randbelow(2**32))
    record = evolve(config, seed=seed, dtype=be.dtype, device=be.device)
    if resume is not None:
        from .training.checkpoint import check_compatible

        check_compatible(resume, record.to_dict(), config.resume)  # a different --seed fails
        if config.method == "auto":  # continue with the method that wrote the checkpoint
            record = evolve(record, method=resume.method)
    features = _columns(data[0]) if data is not None else 1
    model = make_model(config.model, config.degree, config.basis, features)
    if data is not None:
        rows = model.n_params if getattr(model, "needs_rows", True) else 1
        columns = getattr(model, "features", 1) > 1
        read = as_problem(data[0], data[1], be, rows, columns=columns)
        read = with_weights(read, data[2:], model.n_params)
        if model.kind == "poly":
            check_fittable(be.to_numpy(read.x), model.n_params)
    elif host:
        read = make_run_problem(config, be, seed)
    else:
        read = read_problem(record, be, seed, model, comm)  # the method a resume continues
    n_rows = comm.total(len(read))
    if n_rows == 0:
        raise UsageError(f"{read.name} has no data rows")
    loss, penalty = make_loss(config.loss, n_rows, config.loss_scale), Penalty(config.l2, config.l1)
    if host:
        method, why = record.method, None
    else:
        method, why = resolve_method(
            record.method, model, n_rows, be.dtype, config.optimizer, config.batch_size, loss,
            penalty,
        )  # fmt: skip
    init = initial_params(model, config.init, seed)
    if model.kind == "formula" and isinstance(read, Problem):
        check_start(model, read, init)
    problem, stats, spectrum, optimum = read, None, None, None
    if method == "gram":  # one pass over the data; nothing of size N is made
        trained, domain, stats = gram_view(config, read, model, comm)
        spectrum = gram_spectrum(stats.gram)
    else:
        if not isinstance(read, Problem):  # a distributed rank's part of a file: load it
            problem = in_memory(read)
        if comm.distributed and model.linear:
            # The statistics of all the ranks' rows check that they determine the fit, and
            # give the curvature (--lr auto) and the optimum, as one process has them.
            _, domain, stats = gram_view(config, problem, model, comm)
            spectrum, n_rows = gram_spectrum(stats.gram), stats.n
            trained = on_backend(problem, be, domain)
        else:
            trained, domain = scaled_view(config, problem, be, comm)
            if comm.distributed:
                spectrum, optimum, n_rows = _distributed_nonlinear(
                    config, problem, model, init, comm
                )
    if loss.n != n_rows:  # all the ranks' rows, counted by their statistics
        loss = make_loss(config.loss, n_rows, config.loss_scale)
    x = None if trained is None else trained.x
    weights = None if trained is None else trained.weights  # the loss is sum(w r^2)
    path = None
    # The exact path is least squares' (ridge's with --l2); a robust loss or --l1 is not that.
    exact = loss.factor is not None and not penalty.l1
    if config.lr == "auto" and exact:
        path = _budget_path(config, model, trained, init, stats, spectrum)
    scales = None
    along = model.kind == "formula" and trained is not None and not comm.distributed
    along = along and weights is None  # weighted: the Gauss-Newton curvature at the start
    if along and (config.lr == "auto" or config.precondition):
        from .understand.nonlinear import PATH_WHERE, path_grams

        start_gram, gram = path_grams(model, trained.x, trained.y, init)  # exact J^T J
        spectrum = gram_spectrum(gram, False, PATH_WHERE)
    if config.precondition:  # the curvature that matters is that of u = w / s
        if stats is not None:
            gram = stats.gram
        elif not along:
            gram = hessian_gram(model, x, init, weights=weights)[0]
        scales = preconditioner(start_gram if along else gram)
        where = PATH_WHERE if along else "at the start"
        spectrum = gram_spectrum(scales[:, None] * gram * scales[None, :], model.linear, where)
        path = None
    factor = 1.0 if loss.factor is None else loss.factor
    if factor != 1.0 or penalty.l2:  # the analysis is in sum-of-squares units: scale it
        curvature_rule = config.optimizer in ("sgd", "momentum", "nesterov")
        if config.lr == "auto" and spectrum is None and path is None and curvature_rule:
            spectrum = hessian_spectrum(model, x, init, weights=weights)
        spectrum = None if spectrum is None else spectrum.scaled(factor)
        path = None if path is None else path.scaled(factor)
        if optimum is not None:
            optimum = Optimum(optimum.coef, factor * optimum.loss)
    if penalty.l2:  # ridge: the curvature grows by 2 l2, the path and optimum are ridge's
        spectrum = None if spectrum is None else spectrum.shifted(2.0 * penalty.l2)
        path = None if path is None else path.ridge(penalty.l2, init)
    reference = exact and (not penalty.l2 or model.linear)
    if not reference:
        optimum = None
    elif penalty.l2:
        optimum = _ridge_reference(model, penalty.l2, factor, stats, trained, domain)
    lr_auto = None
    spec_config = config
    if config.lr == "auto" and spectrum is None and path is None and weights is not None:
        spectrum = hessian_spectrum(model, x, init, weights=weights)  # not the unweighted one
    if config.lr == "auto":
        lr_auto = auto_learning_rate(
            model,
            x,
            init,
            config.optimizer,
            config.momentum,
            spectrum=spectrum,
            path=path,
            steps=config.steps,
        )
        lr_auto = replace(lr_auto, rule=lr_auto.rule + _rule_note(loss, penalty))
        spec_config = evolve(config, lr=lr_auto.lr, momentum=lr_auto.momentum)
    return Plan(
        config=config,
        backend=be,
        comm=comm,
        seed=seed,
        model=model,
        loss=loss,
        problem=problem,
        read=read,
        trained=trained,
        domain=domain,
        stats=stats,
        spectrum=spectrum,
        optimum=optimum,
        n_rows=n_rows,
        init=init,
        method=method,
        method_why=why,
        spec=_with_scales(spec_config.optimizer_spec(model), scales),
        lr_auto=lr_auto,
        resume=resume,
        record=record,
        started=started,
        seed_drawn=config.seed is None and resume is None and _uses_seed(config, model),
        penalty=penalty,
        reference_optimum=reference,
    )


def _with_scales(spec: OptimizerSpec, scales: np.ndarray | None) -> OptimizerSpec:
    """``spec`` preconditioned by ``scales`` (None: as it is)."""
    return spec if scales is None else evolve(spec, scales=tuple(scales.tolist()))


def _rule_note(loss: Loss, penalty: Penalty) -> str:
    """What ``--lr auto``'s rule text adds for a loss that is not least squares: a robust
    loss's curvature in each residual is at most the square's 2 (huber 2 or 0, soft_l1
    ``2 / (1 + z)^1.5``, cauchy ``2 (1 - z) / (1 + z)^2``), so the sum of squares' rate is
    stable for it; ``--l2`` is in the curvature; ``--l1`` is not smooth and is left out."""
    note = ""
    if loss.factor is None:
        note += f"; on the sum of squares' curvature, an upper bound of the {loss.name} loss's"
    if penalty.l2:
        note += "; --l2 adds 2 * l2 to the curvature"
    if penalty.l1:
        note += "; for the smooth part of the loss (--l1 left out)"
    return note


def _ridge_reference(
    model: Model, alpha: float, factor: float, stats: Any, trained: Problem | None, domain: Any
) -> Optimum:
    """The ridge optimum (``--l2 alpha``) as monomial coefficients in x: from the statistics
    when the run has them, else from the model's design matrix on the trained variable."""
    if stats is not None:
        w, best = ridge_optimum(alpha, factor, stats=stats)
    else:
        X, y = whitened(design_matrix(model, trained.x), trained.y, trained.weights)
        w, best = ridge_optimum(alpha, factor, X=X, y=y)
    coef = model.to_monomial(w)
    return Optimum(coef if domain is None else domain.to_x(coef), best)


def _budget_path(
    config: FitConfig, model: Model, trained: Problem | None, init: Any, stats: Any, spectrum: Any
) -> QuadraticPath | None:
    """For --lr auto on least squares with plain full-batch gradient descent: the exact path
    from this start (from the statistics when the run has them), so that the rate can be the
    one with the lowest loss at the step budget. None where that rule does not apply."""
    if not (model.linear and config.optimizer == "sgd" and config.momentum is None):
        return None
    if config.batch_size is not None:  # mini-batches take another path
        return None
    if stats is not None:
        return path_from_statistics(stats, spectrum, init)
    return quadratic_path(model, trained.x, trained.y, init, trained.weights)


def preconditioner(gram: np.ndarray) -> np.ndarray:
    """``s_k = 1 / |J[:, k]|`` from ``G = J^T J`` (1 for a column that is all zeros)."""
    norms = np.sqrt(np.clip(np.diag(gram), 0.0, None))
    with np.errstate(divide="ignore"):
        return np.where((norms > 0) & np.isfinite(norms), 1.0 / norms, 1.0)


def _uses_seed(config: FitConfig, model: Model) -> bool:
    """Whether the seed shapes the run: a drawn start, noise, shuffled batches, or a model
    with randomness of its own (the dynamic net)."""
    drawn_start = config.init is None and model.default_init is None
    return drawn_start or config.noise > 0 or config.shuffle or model.kind == "dynamic"


def _columns(x: Any) -> int:
    """How many columns the user's x has (1 for a vector)."""
    shape = getattr(x, "shape", None)
    if shape is None:
        shape = np.shape(x)
    return int(shape[1]) if len(shape) == 2 else 1


def initial_params(model: Model, init: Any, seed: int) -> np.ndarray:
    """Explicit ``init``, else the model's published start (legendre3), else a standard normal
    draw from ``seed`` in float64 - the same numbers on every backend and dtype."""
    if init is not None:
        return np.asarray(init, dtype=np.float64)
    if model.default_init is not None:
        return np.asarray(model.default_init, dtype=np.float64)
    return np.random.default_rng(seed).standard_normal(model.n_params)


def check_start(model: Model, problem: Problem, init: np.ndarray) -> None:
    """A formula must be finite at every data point at its initial parameters: else say where,
    in one line, before any step (``a*log(x - b)`` with b = 1 on x in [0, 1])."""
    x = as_float64(problem.x)
    y_pred = model.predict(init, x)
    if np.isfinite(y_pred).all():  # a constant prediction has no shape of its own
        return
    bad = ~np.isfinite(np.broadcast_to(y_pred, x.shape))
    if bad.any():
        named = ", ".join(f"{p}={v:g}" for p, v in zip(model.param_names, init, strict=True))
        raise UsageError(
            f"the formula {model.text!r} is not finite at {int(bad.sum())} of {x.size} "
            f"points at its initial parameters ({named}), e.g. at x = {x[bad][0]:g}; "
            "give other --init values"
        )


# --- scaling and statistics ----------------------------------------------------------------


def _wants_scale(config: FitConfig) -> bool:
    """``config.scale`` None means: scale data read from a file, not generated targets (so
    that ``gradfit fit`` stays the article's experiment) nor arrays given to :func:`fit`."""
    return config.scale if config.scale is not None else config.data is not None


def domain_of(config: FitConfig, problem: Any, comm: Any = LOCAL) -> Domain | None:
    """The domain to scale x from (the range of all the ranks' rows), or None to train on x
    itself (not asked for, or a constant x: nothing to map)."""
    if not _wants_scale(config):
        return None
    if isinstance(problem, Problem):
        lo, hi = _x_range(problem.x)
    else:
        lo, hi = problem.x_bounds(config.chunk_size)
    lo, hi = comm.bounds(lo, hi)
    return Domain(lo, hi) if lo < hi else None


def scaled_view(
    config: FitConfig, problem: Problem, be: Backend, comm: Any = LOCAL
) -> tuple[Problem, Domain | None]:
    """The problem as the model sees it, on the backend - x, or t mapped from x to [-1, 1] -
    and the domain it was mapped from (None: not scaled)."""
    domain = domain_of(config, problem, comm)
    return on_backend(problem, be, domain), domain


def on_backend(problem: Problem, be: Backend, domain: Domain | None) -> Problem:
    """The problem as the model sees it, on the backend: x, or t = off + scl * x in [-1, 1].

    t is computed in float64 from the original x and only then cast to the run's dtype.
    Arrays already on the backend are not copied (the article's run is untouched).
    """
    x = be.asarray(problem.x if domain is None else domain.to_window(problem.x))
    y = be.asarray(problem.y)
    if x is problem.x and y is problem.y:  # already there (a NumPy fit of float64 arrays)
        return problem
    return evolve(problem, x=x, y=y)


def gram_view(
    config: FitConfig, problem: Any, model: Model, comm: Any = LOCAL
) -> tuple[Problem | None, Domain | None, Any]:
    """For the gram method: the domain and the statistics of the scaled data, from one chunked
    pass over all the ranks' rows; the in-memory problem is returned as is (None for a chunked
    one: nothing of size N is built)."""
    from .stats import array_chunks

    size = config.chunk_size
    domain = domain_of(config, problem, comm)
    if isinstance(problem, Problem):
        trained: Problem | None = problem

        def chunks() -> Any:
            return array_chunks(problem.x, problem.y, size, problem.weights)
    else:
        trained = None

        def chunks() -> Any:
            return problem.chunks(size)

    stats = summed_statistics(chunks, model, domain, comm)
    if trained is None or comm.distributed:
        _check_rank(stats, model, problem)
    return trained, domain, stats


def summed_statistics(chunks: Any, model: Any, window: Any, comm: Any = LOCAL) -> Any:
    """The statistics of a poly ``model`` over the rows ``chunks()`` yields (x mapped by
    ``window``), summed over the ranks, and ``L*`` from a second pass of the residuals when the
    fit is nearly exact."""
    from .stats import accumulate, refine

    stats = comm.sum_stats(accumulate(chunks(), model.basis, model.degree, window))
    if stats.needs_refinement():  # a nearly exact fit: sum L* from the residuals
        part = refine(stats, chunks(), model.basis, model.degree, window)
        stats = replace(part, residual=float(comm.host_reduce([part.residual])[0]))
    return stats


def optimum_in_x(stats: Any, model: Model, domain: Domain | None) -> Optimum:
    """The least-squares optimum of ``stats`` as monomial coefficients in x."""
    w_star, best = stats.optimum
    star = model.to_monomial(w_star)
    return Optimum(star if domain is None else domain.to_x(star), best)


def _distributed_nonlinear(
    config: FitConfig, problem: Problem, model: Model, init: np.ndarray, comm: Any
) -> tuple[Any, Optimum, int]:
    """For a distributed rank of a model that is not linear in its parameters: what one
    process would know from all the rows - the curvature for --lr auto (the Gauss-Newton
    matrix J^T J at the start, summed), the reference polynomial (from statistics in a Legendre
    basis on x's range, summed) and the row count."""
    from .models import Polynomial
    from .stats import array_chunks
    from .understand.analysis import hessian_gram

    n = comm.total(len(problem))
    if n < model.n_params:
        raise UsageError(
            f"{problem.name} has {n} row(s) but the model has {model.n_params} parameters; "
            "use more data"
        )
    spectrum = None
    if config.lr == "auto":
        gram, exact = hessian_gram(model, problem.x, init)
        spectrum = gram_spectrum(comm.host_reduce(gram).reshape(gram.shape), exact)
    ref = Polynomial(model.reference_degree, "legendre")
    lo, hi = comm.bounds(*_x_range(problem.x))
    window = Domain(lo, hi) if lo < hi else None
    stats = summed_statistics(lambda: array_chunks(problem.x, problem.y), ref, window, comm)
    return spectrum, optimum_in_x(stats, ref, window), n


def _x_range(x: Any) -> tuple[float, float]:
    xs = as_float64(x)
    return (float(xs.min()), float(xs.max())) if xs.size else (math.inf, -math.inf)


def _check_rank(stats: Any, model: Any, problem: Any) -> None:
    """What :func:`gradfit.data.check_fittable` checks, from the statistics of a stream (and
    what :mod:`gradfit.data.weights` checks of a streamed weights column)."""
    positive = getattr(problem, "positive", 0)
    if getattr(problem, "weighted", False) and positive < model.n_params:
        raise UsageError(
            f"{problem.name}: only {positive} point(s) have a positive weight but the model "
            f"has {model.n_params} parameters; give more points a weight > 0"
        )
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


def _resume_point(config: FitConfig) -> Any:
    """The checkpoint ``config.resume`` names when this run continues one (else None)."""
    if config.resume is None:
        return None
    from .training.checkpoint import load_checkpoint, resumes

    if not resumes(config.resume, config.checkpoint):
        return None
    return load_checkpoint(config.resume)
