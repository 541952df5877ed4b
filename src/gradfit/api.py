"""The library's front doors: :func:`fit` for your own arrays, :func:`run` for a FitConfig.

Both are the same two calls: :func:`gradfit.plan.plan` decides the run (problem, model,
backend, seed, start, method, learning rate) and :func:`gradfit.training.execute` trains it in the
one loop and reports a :class:`FitResult`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import numpy as np

from .config import FitConfig
from .many import ManyFitResult, several
from .plan import plan
from .progress import library_progress
from .result import FitResult
from .training.execute import execute
from .training.loop import LogCallback, StepCallback


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
    sigma: Any = None,
    weights: Any = None,
    progress: bool | None = None,
    **optimizer_options: Any,
) -> FitResult | ManyFitResult:
    """Fit a model to ``(x, y)`` by gradient descent on the sum of squared errors.

    ``model`` is ``poly`` (``degree``, ``basis``), ``legendre3``, ``dynamic``, or a formula in x
    and named parameters such as ``"b1*(1 - exp(-b2*x))"`` (``init={"b1": 500, "b2": 1e-4}``;
    parameters not named start at 1; see :mod:`gradfit.formula`); ``method`` is
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
    ``progress=True`` shows progress while it trains: a live loss display in a Jupyter notebook,
    the bar on a terminal; the default ``None`` shows it only in a notebook, for fits that run
    longer than two seconds; ``False`` never (see :func:`gradfit.progress.library_progress`).
    ``scale=True`` trains on x mapped to [-1, 1] (see :mod:`gradfit.data.scaling`); the coefficients
    are still reported in x. ``lr="auto"`` picks the rate from the loss's Hessian on the data
    (on the scaled x when scaling; see :func:`gradfit.understand.analysis.auto_learning_rate`).
    ``sigma`` (each point's measurement error, > 0: one number for all, or one per point)
    fits the chi-square ``sum(((y - f) / sigma)^2)`` and reports it with absolute errors;
    ``weights`` (one per point, >= 0) fits ``sum(w (y - f)^2)``, the weights relative (as
    ``scipy.optimize.curve_fit`` with ``sigma=1/sqrt(w)``).

    ``y`` of shape (N, K), K >= 2, fits every column, as ``numpy.polyfit`` does: K fits that
    share x, the plan, one pass over the data and one loop, all from the same start; the
    result is a :class:`gradfit.many.ManyFitResult` (``.coef`` of shape (d, K), ``result[k]``
    column k's FitResult). Polynomial models, squared or mean loss, gram or manual, the
    elementwise optimizers (see :mod:`gradfit.many`).

    >>> import numpy as np, gradfit
    >>> x = np.linspace(-np.pi, np.pi, 2000)
    >>> r = gradfit.fit(x, np.sin(x), init=[0.0, 0.0, 0.0, 0.0], lr=1e-6, steps=2000)
    >>> round(float(r.coef[1]), 3), round(r.final_loss, 2), round(r.optimum.loss, 2)
    (0.843, 9.01, 8.82)
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
        init=_initial(init),
        target=None,
        points=max(_length(x), 1),
        scale=scale,
        **optimizer_options,
    ).validated()
    if several(y):
        from .many import fit_many

        return fit_many(
            config, x, y, sigma=sigma, weights=weights, on_log=on_log, reference=reference
        )
    planned = plan(config, data=(x, y, sigma, weights))
    shown = library_progress(progress, config.steps)
    if shown is None:
        return execute(planned, on_log, reference)

    def logged(step: int, loss: float) -> None:
        shown.log(step, loss)
        if on_log is not None:
            on_log(step, loss)

    with shown:
        return execute(planned, logged, reference, shown.advance, shown.stride)


def _initial(init: Any) -> Any:
    """``init`` as FitConfig takes it: named values as a dict, else a tuple of floats."""
    if init is None:
        return None
    if isinstance(init, Mapping):
        return {str(k): v for k, v in init.items()}
    return tuple(np.asarray(init, dtype=np.float64).ravel())


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
    if not config.distributed:
        return execute(plan(config), on_log, reference, on_step, step_stride)
    # One rank of a torch.distributed run: the same plan, its sums taken over the ranks; rank 0
    # alone logs and reports (see gradfit.distributed).
    from .distributed.rank import describe, session

    with session(config) as comm:
        planned = plan(config, comm=comm)
        lead = comm.rank == 0
        result = execute(
            planned,
            on_log if lead else None,
            reference and lead,
            on_step if lead else None,
            step_stride if lead else 0,
        )
        describe(result, planned)
        return result


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
