"""The library's entry points: :func:`fit` for your own arrays, :func:`run` for a FitConfig.

Both wire the same pieces together - problem, model, method, optimizer, backend - and hand them
to the one training loop in :mod:`gradfit.train`.
"""

from __future__ import annotations

import secrets
import sys
import time
from dataclasses import replace
from typing import Any

import numpy as np

from .analysis import closed_form
from .backends import Backend, resolve_backend, versions
from .config import FitConfig
from .errors import FitFailedError
from .loaders import check_fittable, load_data
from .methods import make_method
from .models import make_model
from .optim import make_optimizer
from .problem import Problem, add_noise, as_problem, make_problem
from .result import FitResult
from .scaling import Domain, as_float64, stable_lr
from .train import LogCallback, train


def fit(
    x: Any,
    y: Any,
    *,
    degree: int = 3,
    backend: str | None = None,
    device: str | None = None,
    dtype: str | None = None,
    lr: float | str = 1e-6,
    steps: int = 2000,
    log_every: int = 100,
    seed: int | None = None,
    init: Any = None,
    method: str = "manual",
    optimizer: str = "sgd",
    on_log: LogCallback | None = None,
    reference: bool = True,
    scale: bool = False,
) -> FitResult:
    """Fit a degree-``degree`` polynomial to ``(x, y)`` by gradient descent on the sum of squares.

    ``backend``/``device``/``dtype`` default to where the data already is: a torch tensor stays
    on its device and dtype, anything else runs on NumPy in float64. ``init`` gives the initial
    coefficients (lowest power first); otherwise they are drawn from a standard normal with
    ``seed`` (drawn and reported when None). ``on_log(step, loss)`` is called on logged steps.
    ``reference=True`` also computes the closed-form optimum for comparison.
    ``scale=True`` trains on x mapped to [-1, 1] (see :mod:`gradfit.scaling`); the coefficients
    are still reported in x. ``lr="auto"`` picks ``1 / lambda_max`` of the loss's Hessian on the
    data (on the scaled x when scaling), a rate at which the loss never increases.

    >>> import numpy as np, gradfit
    >>> x = np.linspace(-np.pi, np.pi, 2000)
    >>> r = gradfit.fit(x, np.sin(x), init=[0.0, 0.0, 0.0, 0.0], lr=1e-6, steps=2000)
    >>> round(r.coef[1], 3), r.final_loss < 9.0
    (0.846, True)
    """
    backend, device, dtype = _infer_backend(x, backend, device, dtype)
    config = FitConfig(
        backend=backend,
        device=device,
        dtype=dtype,
        degree=degree,
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
    ).validated()
    be = resolve_backend(config.backend, config.device, config.dtype)
    problem = as_problem(x, y, be, config.degree + 1)
    if config.model == "poly":
        check_fittable(be.to_numpy(problem.x), config.degree + 1)
    return _fit(problem, be, config, on_log, reference)


def run(config: FitConfig, on_log: LogCallback | None = None, reference: bool = True) -> FitResult:
    """Run the experiment ``config`` describes (the CLI's ``fit``).

    The problem is generated from ``config.target`` (a built-in name or a formula in x, plus
    ``config.noise``), or read from the file ``config.data``.
    """
    config = config.validated()
    be = resolve_backend(config.backend, config.device, config.dtype)
    if config.seed is None:  # drawn here: the noise and the initial coefficients share it
        config = replace(config, seed=secrets.randbelow(2**32))
    if config.data is not None:
        problem = load_problem(config)
    else:
        problem = make_problem(be, config.target, config.points, config.x_range)
        problem = add_noise(problem, be, config.noise, config.seed)
    return _fit(problem, be, config, on_log, reference)


def load_problem(config: FitConfig) -> Problem:
    """The problem in ``config.data``: validated float64 columns, still on the host."""
    data = load_data(
        config.data,
        config.x_column,
        config.y_column,
        n_params=config.degree + 1,
        drop_nonfinite=config.drop_nonfinite,
    )
    return Problem(data.x, data.y, data.name, data.info())


def _fit(
    problem: Problem,
    be: Backend,
    config: FitConfig,
    on_log: LogCallback | None,
    reference: bool,
) -> FitResult:
    start = time.perf_counter()
    seed = config.seed if config.seed is not None else secrets.randbelow(2**32)
    config = replace(config, seed=seed, dtype=be.dtype, device=be.device)
    model = make_model(config.model, config.degree)
    domain = _domain(config, problem)
    trained = _on_backend(problem, be, domain)  # x, or t mapped from x, as the model sees it
    if config.lr == "auto":
        config = replace(config, lr=stable_lr(trained.x, config.degree))
    # One float64 draw, cast to the run's dtype: the same seed gives the same start everywhere.
    init = (
        np.asarray(config.init, dtype=np.float64)
        if config.init is not None
        else np.random.default_rng(seed).standard_normal(model.n_params)
    )
    method = make_method(config.method, model, trained, be)
    optimizer = make_optimizer(config.optimizer, config.lr)
    try:
        outcome = train(
            method,
            optimizer,
            be.asarray(init.copy()),
            be,  # a copy: the loop updates it in place
            steps=config.steps,
            log_every=config.log_every,
            on_log=on_log,
        )
    except FitFailedError as exc:
        if domain is not None:
            raise
        raise FitFailedError(f"{exc}, or --scale to fit on x mapped to [-1, 1]") from None
    final_loss = be.scalar(method.loss(outcome.w))
    params = be.to_numpy(outcome.w).astype(np.float64)
    optimum = closed_form(problem.x, problem.y, config.degree) if reference else None
    init_coef = model.to_monomial(be.to_numpy(be.asarray(init)).astype(np.float64))
    coef = model.to_monomial(params)
    return FitResult(
        config=config,
        seed=seed,
        model=model,
        init_coef=init_coef if domain is None else domain.to_x(init_coef),
        coef=coef if domain is None else domain.to_x(coef),
        loss_history=outcome.history,
        final_loss=final_loss,
        n_points=len(problem),
        problem=problem.name,
        device=be.device,
        dtype=be.dtype,
        optimum=optimum,
        timings={"loop_s": outcome.loop_seconds, "fit_s": time.perf_counter() - start},
        versions=versions(be),
        domain=domain,
        scaled_coef=None if domain is None else coef,
        scaled_init_coef=None if domain is None else init_coef,
        data=problem.source,
    )


def _domain(config: FitConfig, problem: Problem) -> Domain | None:
    """The domain to scale x from, or None to train on x itself.

    ``config.scale`` None means: scale data read from a file, not generated targets (so that
    ``gradfit fit`` stays the article's experiment) nor arrays given to :func:`fit`.
    """
    scale = config.scale if config.scale is not None else config.data is not None
    if not scale:
        return None
    domain_x = as_float64(problem.x)
    lo, hi = float(domain_x.min()), float(domain_x.max())
    return Domain(lo, hi) if lo < hi else None  # constant x (degree 0): nothing to map


def _on_backend(problem: Problem, be: Backend, domain: Domain | None) -> Problem:
    """The problem as the model sees it, on the backend: x, or t = off + scl * x in [-1, 1].

    t is computed in float64 from the original x and only then cast to the run's dtype.
    Arrays already on the backend are not copied (the article's run is untouched).
    """
    x = problem.x if domain is None else domain.to_window(problem.x)
    return replace(problem, x=be.asarray(x), y=be.asarray(problem.y))


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
