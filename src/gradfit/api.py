"""The library's entry points: :func:`fit` for your own arrays, :func:`run` for a FitConfig.

Both wire the same pieces together - problem, model, method, optimizer, backend - and hand them
to the one training loop in :mod:`gradfit.train`.
"""

from __future__ import annotations

import math
import secrets
import sys
import time
from dataclasses import replace
from typing import Any

import numpy as np

from .analysis import auto_learning_rate, closed_form, hessian_spectrum
from .backends import Backend, resolve_backend, versions
from .config import FitConfig
from .errors import DivergenceError
from .methods import make_method
from .models import make_model
from .problem import Problem, as_problem, make_problem
from .result import FitResult
from .train import DIVERGENCE_FACTOR, LogCallback, StepCallback, train


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
    method: str = "manual",
    optimizer: str = "sgd",
    on_log: LogCallback | None = None,
    reference: bool = True,
    **optimizer_options: Any,
) -> FitResult:
    """Fit a model to ``(x, y)`` by gradient descent on the sum of squared errors.

    ``model`` is ``poly`` (``degree``, ``basis``), ``legendre3`` or ``dynamic``; ``method`` is
    manual, autograd, nn or module; ``optimizer`` one of sgd, momentum, nesterov, rmsprop, adam,
    lbfgs, with ``momentum=``, ``betas=``, ``eps=``, ``alpha=`` as keyword options.
    ``lr=None`` takes the model's default (1e-6 for poly, the article's).

    ``backend``/``device``/``dtype`` default to where the data already is: a torch tensor stays
    on its device and dtype, anything else runs on NumPy in float64. ``init`` gives the initial
    coefficients (lowest power first); otherwise they are drawn from a standard normal with
    ``seed`` (drawn and reported when None). ``on_log(step, loss)`` is called on logged steps.
    ``reference=True`` also computes the closed-form optimum for comparison.

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
        **optimizer_options,
    ).validated()
    be = resolve_backend(config.backend, config.device, config.dtype)
    problem = as_problem(x, y, be, make_model(config.model, config.degree, config.basis).n_params)
    return _fit(problem, be, config, on_log, reference)


def run(
    config: FitConfig,
    on_log: LogCallback | None = None,
    reference: bool = True,
    on_step: StepCallback | None = None,
    step_stride: int = 0,
) -> FitResult:
    """Run the experiment ``config`` describes, generating its problem (the CLI's ``fit``).

    ``on_log(step, loss)`` is called at logged steps, ``on_step(step)`` every ``step_stride``
    steps (host-side only: for progress bars).
    """
    config = config.validated()
    be = resolve_backend(config.backend, config.device, config.dtype)
    problem = make_problem(be, config.target, config.points, config.x_range)
    return _fit(problem, be, config, on_log, reference, on_step, step_stride)


def _fit(
    problem: Problem,
    be: Backend,
    config: FitConfig,
    on_log: LogCallback | None,
    reference: bool,
    on_step: StepCallback | None = None,
    step_stride: int = 0,
) -> FitResult:
    start = time.perf_counter()
    seed = config.seed if config.seed is not None else secrets.randbelow(2**32)
    config = replace(config, seed=seed, dtype=be.dtype, device=be.device)
    model = make_model(config.model, config.degree, config.basis)
    init = initial_params(model, config.init, seed)
    lr_auto = None
    if config.lr == "auto":
        lr_auto = auto_learning_rate(model, problem.x, init, config.optimizer, config.momentum)
        config = replace(config, lr=lr_auto.lr, momentum=lr_auto.momentum)
    spec = config.optimizer_spec(model)
    method = make_method(config.method, model, problem, be, spec, init, seed)
    bound = _divergence_bound(method, problem, be) if config.guard else None
    try:
        outcome = train(
            method,
            be,
            steps=config.steps,
            log_every=config.log_every,
            on_log=on_log,
            on_step=on_step,
            step_stride=step_stride,
            bound=bound,
        )
    except DivergenceError as exc:
        raise exc.with_detail(_divergence_advice(model, problem, init, spec)) from None
    params = method.params()
    # The start as the run saw it (rounded to its dtype).
    init_params = be.to_numpy(be.asarray(init)).astype(np.float64)
    optimum = closed_form(problem.x, problem.y, model.reference_degree) if reference else None
    return FitResult(
        config=replace(config, lr=spec.lr),
        seed=seed,
        model=model,
        method=method.name,
        optimizer=spec.hyperparameters() | {"name": spec.name},
        init_params=init_params,
        params=params,
        init_coef=model.to_monomial(init_params),
        coef=model.to_monomial(params),
        loss_history=outcome.history,
        final_loss=outcome.final_loss,
        n_points=len(problem),
        problem=problem.name,
        device=be.device,
        dtype=be.dtype,
        optimum=optimum,
        timings={"loop_s": outcome.loop_seconds, "fit_s": time.perf_counter() - start},
        versions=versions(be),
        lr_auto=None
        if lr_auto is None
        else {"lr": lr_auto.lr, "rule": lr_auto.rule, "momentum": lr_auto.momentum},
        data=problem,
    )


def _divergence_bound(method: Any, problem: Problem, be: Backend) -> float:
    """DIVERGENCE_FACTOR x max(initial loss, sum(y^2)): two reads before the loop starts."""
    y = problem.y
    scale = max(be.scalar(method.loss()), be.scalar(be.xp.sum(y * y)), 1e-300)
    return DIVERGENCE_FACTOR * scale if math.isfinite(scale) else math.inf


def _divergence_advice(model: Any, problem: Problem, init: np.ndarray, spec: Any) -> str:
    """What the failure message says next: the stable rate, from the Hessian's spectrum."""
    try:
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
