"""FitConfig: every option of a fit, its default, and its validation, in one place.

The defaults are the article's experiment: PyTorch, float32, CPU, 2000 points of sin(x) on
[-pi, pi], a cubic, the hand-derived gradient, plain gradient descent with learning rate 1e-6,
2000 steps, the loss printed every 100 steps.

Two tables go with it: :data:`gradfit.options.OPTIONS` (each option's flag, help, choices and
group; the command line is built from it) and :data:`COMBINATIONS` below (which options cannot
go together, and what to say). ``validated()`` checks each field, then those combinations, and
marks its result, so that validating a validated config again is a no-op.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .combination import Combination, by_stage, first_refused
from .combination import absent as _absent
from .combination import given as _given
from .combination import none_of as _none_of
from .combination import on as _on
from .combination import one_of as _one_of
from .errors import UsageError
from .frozen import evolve
from .losses import LOSSES, NOT_SQUARES, ROBUST
from .methods import CHOICES, TORCH_ONLY
from .models import CallableModel, is_formula, make_model
from .optim import OptimizerSpec, check_lr
from .options import BY_FIELD


@dataclass(frozen=True)
class FitConfig:
    """All options of one run. ``validated()`` returns a checked, normalised copy."""

    backend: str = "torch"
    device: str = "cpu"
    dtype: str | None = None  # None: the backend's article default (torch float32, numpy float64)
    model: str = "poly"
    degree: int = 3  # poly only
    basis: str = "monomial"  # poly only
    loss: str = "squared"  # what is minimised (gradfit.losses): the article's sum of squares
    method: str = "auto"  # auto: gram where it gives manual's iterates faster, else manual
    optimizer: str = "sgd"
    # None: "auto" for --data/--scale runs, else the model's default (1e-6, the article's)
    lr: float | str | None = None
    momentum: float | None = None  # None: 0.9 for momentum/nesterov, 0 otherwise
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    alpha: float = 0.99
    # Robust losses and penalties (gradfit.losses): huber/soft_l1/cauchy's c, and the penalties
    # l2 * sum(w^2) + l1 * sum(|w|) on the parameters as trained.
    loss_scale: float = 1.0
    l2: float = 0.0
    l1: float = 0.0
    guard: bool = True  # stop a diverging run at the step it diverges
    precondition: bool = False  # first-order steps on w / s, s from the Jacobian at the start
    steps: int = 2000
    log_every: int = 100
    seed: int | None = None  # None: a fresh seed is drawn and reported
    init: tuple[float, ...] | None = None  # explicit initial parameters (else model default/seed)
    target: str | None = "sin"  # None: the user's own data (gradfit.fit), not generated
    points: int = 2000
    x_range: tuple[float, float] = (-math.pi, math.pi)
    # Real data and formulas. `target` above may also be a formula in x, such as "exp(-x**2)".
    noise: float = 0.0  # std of Gaussian noise added to a generated target (from the run's seed)
    data: str | None = None  # a file (csv, tsv, txt, npy, npz, parquet) to fit instead of a target
    x_column: str | int | None = None  # column of `data` (name or 0-based index); None: default
    y_column: str | int | None = None
    sigma_column: str | int | None = None  # column of measurement errors: the chi-square
    weight_column: str | int | None = None  # column of per-point weights (relative)
    drop_nonfinite: bool = False  # leave out rows of `data` with NaN/inf instead of refusing it
    scale: bool | None = None  # fit on x mapped to [-1, 1]; None: yes for `data`, no otherwise
    # Speed and scale (see docs/performance.md).
    chunk_size: int = 1 << 16  # rows per chunk when a pass streams the data (gram, big files)
    batch_size: int | None = None  # mini-batch SGD for per-point methods; None: full batch
    shuffle: bool = False  # with batch_size: a fresh permutation every epoch (from the seed)

    # Long runs and several processes (see gradfit.checkpoint and gradfit.distributed).
    checkpoint: str | None = None  # write the run's state to this file (atomically)
    checkpoint_every: int | None = None  # ... every N steps (None: only at the end / Ctrl-C)
    resume: str | None = None  # continue the run saved in this checkpoint
    distributed: bool = False  # one rank of a torch.distributed run (launched by torchrun)
    workers: int | None = None  # the CLI's --workers K: K local processes (the launcher's)
    dist_timeout: float = 60.0  # seconds a rank waits for the others before the run fails

    def validated(self) -> FitConfig:
        """Check every field; raise :class:`UsageError` (one line) on the first bad one.

        Each field is checked alone, then the :data:`COMBINATIONS` that read it. The result is
        marked as validated: calling ``validated()`` on it returns it unchanged (a changed copy,
        from ``dataclasses.replace``, is checked again).
        """
        if is_validated(self):
            return self
        from .data import check_generated, check_points, check_range  # not for --help

        facts = dict(vars(self))  # every field (validated() returned above when marked)
        data_options = _data_options(self, facts)
        if self.lr is None and _auto_by_default(self, data_options["scale"]):
            return evolve(self, lr="auto").validated()
        degree = _int_option(self, "degree")
        if callable(self.model):  # the library's model=f: a function on torch tensors
            return evolve(self, model=CallableModel.wrap(self.model, self.init)).validated()
        model = make_model(self.model, degree, self.basis)
        facts["model"] = model.kind
        if not getattr(model, "scalable", True):
            if data_options["scale"]:
                raise UsageError(
                    "--scale maps x to [-1, 1] for polynomials; a formula is fitted in x itself "
                    "(its parameters mean what the formula says)"
                )
            data_options["scale"] = False
        if self.loss not in LOSSES:
            raise UsageError(f"unknown loss {self.loss!r}; choose one of: {', '.join(LOSSES)}")
        if self.method not in CHOICES:
            raise UsageError(f"unknown method {self.method!r}; choose one of: {', '.join(CHOICES)}")
        _check_combinations("method", facts)
        loss_options = _loss_options(self, facts)
        auto = self.lr == "auto" and self.optimizer not in SECOND_ORDER  # lm: no rate to pick
        spec = _optimizer_spec(self, None if self.lr == "auto" else self.lr, model).validated()
        facts["optimizer"] = spec.name
        _check_combinations("optimizer", facts)
        scale_options = _scale_options(self, facts)
        init = None if self.init is None else _initial_values(self.init, model)
        seed = None if self.seed is None else _int_option(self, "seed")
        points = check_points(self.points)
        if self.target is not None and points < model.n_params:
            raise UsageError(
                f"--points {points} is fewer than the {_count(model)}; "
                "use more points or a lower degree"
            )
        x_range = check_range(self.x_range)
        if self.target is not None and self.data is None:
            check_generated(points, x_range, model, data_options["noise"], data_options["scale"])
        checked = evolve(
            self,
            degree=degree,
            lr="auto" if auto else spec.lr,
            betas=tuple(spec.betas),
            steps=_int_option(self, "steps"),
            log_every=_int_option(self, "log_every"),
            seed=seed,
            init=init,
            points=points,
            x_range=x_range,
            **data_options,
            **loss_options,
            **scale_options,
            **_long_run_options(self, facts),
        )
        object.__setattr__(checked, _VALIDATED, True)  # not a field: evolve() drops it
        return checked

    def optimizer_spec(self, model: Any = None) -> OptimizerSpec:
        """The optimizer and its hyper-parameters (``lr=None``: the model's default rate).

        ``lr="auto"`` is resolved by the planner first (:mod:`gradfit.plan`).
        """
        return _optimizer_spec(self, self.lr, model)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["betas"] = list(self.betas)
        d["x_range"] = list(self.x_range)
        d["init"] = None if self.init is None else list(self.init)
        if isinstance(self.model, CallableModel):  # a function is not data: name it
            d["model"] = f"python function {self.model.describe()}"
        return d


SECOND_ORDER = ("lm", "gauss-newton")  # optimizers that step from the Jacobian

MAX_TIMEOUT_S = 7 * 24 * 3600.0  # the longest --timeout: a week


def _optimizer_spec(config: FitConfig, lr: Any, model: Any = None) -> OptimizerSpec:
    """:meth:`FitConfig.optimizer_spec` with the learning rate ``lr`` instead of the config's."""
    if lr is None:
        model = model or make_model(config.model, config.degree, config.basis)
        lr = model.default_lr
    try:
        b1, b2 = (float(b) for b in config.betas)
    except (TypeError, ValueError):
        raise UsageError(f"--betas needs two numbers, got {config.betas!r}") from None
    return OptimizerSpec(
        config.optimizer, check_lr(lr), config.momentum, (b1, b2), config.eps, config.alpha
    )


def _auto_by_default(config: FitConfig, scale: bool | None) -> bool:
    """Whether a run that gives no --lr gets ``auto`` rather than the model's default rate.

    The article's 1e-6 is tuned to the article's grid (2000 points on [-pi, pi], a cubic in
    powers of x, the sum of squares; the curvature depends on x alone, not on the target): on
    10^6 points, another range or degree it diverges. So a file, a scaled run, or a generated
    polynomial problem on another grid takes its rate from the curvature (and the run says
    so); the article's grid keeps 1e-6, whatever the target, and arrays given to
    :func:`gradfit.fit` and the tutorial's models keep their defaults.
    """
    if config.optimizer in SECOND_ORDER:
        return False  # no learning rate: the step is solved for
    if config.data is not None or scale:
        return True  # scaled data is well conditioned: the rate from its curvature is fast
    if is_formula(config.model):  # no published rate: the curvature at the start gives one
        return config.optimizer in ("sgd", "momentum", "nesterov")
    if config.target is None or config.model != "poly":
        return False
    if config.optimizer not in ("sgd", "momentum", "nesterov"):
        return False  # no curvature rule for adam and rmsprop; lbfgs has its own default
    if config.loss == "absolute":
        return False  # no curvature to take a rate from: the model's default rate
    article = FitConfig()
    same = ("points", "x_range", "degree", "basis", "loss")
    return any(_normalised(getattr(config, k)) != _normalised(getattr(article, k)) for k in same)


def _normalised(value: Any) -> Any:
    return tuple(float(v) for v in value) if isinstance(value, (tuple, list)) else value


def _initial_values(given: Any, model: Any) -> tuple[float, ...]:
    """--init as one float per parameter, in the model's order: from numbers in that order, or
    from ``{name: value}`` (a parameter not named takes the model's default start, when it has
    one: 1.0 for a formula's)."""
    names = list(model.param_names)
    if isinstance(given, dict):
        unknown = [k for k in given if k not in names]
        if unknown:
            raise UsageError(
                f"--init names {unknown[0]!r}, which is not a parameter; "
                f"the parameters are {', '.join(names)}"
            )
        defaults = model.default_init
        missing = [k for k in names if k not in given]
        if missing and defaults is None:
            raise UsageError(f"--init gives no value for {', '.join(missing)}")
        values: Any = [given[k] if k in given else defaults[i] for i, k in enumerate(names)]
    else:
        values = given
    try:
        init = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        raise UsageError(f"--init must be numbers, got {given!r}") from None
    if not all(math.isfinite(v) for v in init):
        raise UsageError("--init values must be finite")
    if len(init) != model.n_params:
        raise UsageError(f"--init has {len(init)} value(s) but {_size(model)} ({','.join(names)})")
    return init


def _size(model: Any) -> str:
    """'a degree-3 polynomial has 4 coefficients' or 'the legendre3 model has 4 parameters'."""
    if model.kind == "poly":
        return f"a degree-{model.degree} polynomial has {model.n_params} coefficients"
    if model.kind == "formula":
        return f"the formula has {model.n_params} parameters"
    return f"the {model.kind} model has {model.n_params} parameters"


# The attribute validated() sets on its result (not a dataclass field: no JSON key, no planner
# field, and dataclasses.replace() does not copy it, so a changed copy is checked again).
_VALIDATED = "_gradfit_validated"


def is_validated(config: FitConfig) -> bool:
    """True for a config returned by ``validated()`` (and not changed since)."""
    return bool(getattr(config, _VALIDATED, False))


_NEEDS_DATA = "--x and --y choose columns of a --data file; give --data FILE"
_SHAPES_TARGET = "--points and --range shape a generated target; --data gives its own x"

# Which options cannot go together, in the order they are checked (stages: data, method, loss,
# optimizer, scale, long). Method x backend x optimizer x model, data files, mini-batches and
# checkpoints.
COMBINATIONS: tuple[Combination, ...] = (
    Combination("data", {"data": _absent, "x_column": _given}, _NEEDS_DATA),
    Combination("data", {"data": _absent, "y_column": _given}, _NEEDS_DATA),
    Combination(
        "data",
        {"data": _absent, "weighted": _on},
        "--sigma and --weight choose columns of a --data file; give --data FILE "
        "(gradfit.fit takes sigma= or weights= arrays)",
    ),
    Combination(
        "data",
        {"sigma_column": _given, "weight_column": _given},
        "give --sigma (measurement errors) or --weight (weights), not both",
    ),
    Combination(
        "data",
        {"data": _absent, "drop_nonfinite": _on},
        "--drop-nonfinite applies to --data files; give --data FILE",
    ),
    Combination(
        "data",
        {"data": _given, "noise": _on},
        "--noise adds noise to a generated --target; it does not apply to --data",
    ),
    Combination("data", {"data": _given, "points": _none_of(FitConfig.points)}, _SHAPES_TARGET),
    Combination(
        "data",
        {"data": _given, "x_range": lambda r: tuple(r) != FitConfig.x_range},
        _SHAPES_TARGET,
    ),
    Combination(
        "method",
        {"model": _one_of("callable"), "backend": _one_of("numpy")},
        "a model given as a Python function runs on torch tensors: use backend='torch'",
    ),
    Combination(
        "method",
        {"model": _one_of("callable"), "method": _one_of("manual", "gram", "nn", "module")},
        "a model given as a Python function has no hand-derived gradient: use "
        "method='autograd' (or 'auto')",
    ),
    Combination(
        "long",
        {"model": _one_of("callable"), "checkpoint": _given},
        "a model given as a Python function cannot be checkpointed (a function is not data)",
    ),
    Combination(
        "method",
        {"method": _one_of(*TORCH_ONLY), "backend": _one_of("numpy")},
        "the {method} method needs the torch backend; use --backend torch",
    ),
    Combination(
        "optimizer",
        {"optimizer": _one_of("lbfgs"), "backend": _one_of("numpy")},
        "the lbfgs optimizer is not available on the numpy backend "
        "(it is torch.optim.LBFGS); use --backend torch",
    ),
    Combination(
        "scale",
        {"batch_size": _given, "method": _one_of("gram")},
        "--batch-size gives mini-batch SGD for per-point methods; the gram method is "
        "full batch by construction: use --method manual (or autograd, nn, module)",
    ),
    Combination(
        "scale",
        {"batch_size": _given, "optimizer": _one_of("lbfgs")},
        "--batch-size does not apply to lbfgs (a full-batch quasi-Newton method with "
        "line searches); use sgd, momentum, nesterov, rmsprop or adam",
    ),
    Combination(
        "scale",
        {"shuffle": _on, "batch_size": _absent},
        "--shuffle reorders mini-batches; give --batch-size B with it",
    ),
    Combination(
        "scale",
        {"method": _one_of("gram"), "model": _none_of("poly")},
        "the gram method needs a model linear in its parameters (poly), not "
        "{model}; use --method manual",
    ),
    Combination(
        "scale",
        {"method": _one_of("gram"), "optimizer": _one_of("lbfgs")},
        "the gram method runs gradfit's own optimizers (sgd, momentum, nesterov, "
        "rmsprop, adam); for lbfgs use --method manual --backend torch",
    ),
    Combination(
        "scale",
        {"optimizer": _one_of(*SECOND_ORDER), "method": _one_of("gram", "nn", "module")},
        "--optimizer {optimizer} takes its steps from the model's Jacobian: use --method "
        "manual (the hand-derived one) or autograd (torch's)",
    ),
    Combination(
        "scale",
        {"precondition": _on, "method": _one_of("autograd", "nn", "module")},
        "--precondition scales gradfit's own optimizers; use --method manual (or gram)",
    ),
    Combination(
        "scale",
        {"precondition": _on, "optimizer": _one_of("lbfgs", *SECOND_ORDER)},
        "--precondition is for the first-order optimizers (sgd, momentum, nesterov, rmsprop, "
        "adam); {optimizer} does not need it",
    ),
    Combination(
        "long",
        {"precondition": _on, "workers": _given},
        "--precondition runs in one process for now (no --workers)",
    ),
    Combination(
        "long",
        {"precondition": _on, "distributed": _on},
        "--precondition runs in one process for now (no --distributed)",
    ),
    Combination(
        "scale",
        {"optimizer": _one_of(*SECOND_ORDER), "batch_size": _given},
        "--optimizer {optimizer} solves for all the points at once; --batch-size does not apply",
    ),
    Combination(
        "long",
        {"optimizer": _one_of(*SECOND_ORDER), "checkpoint": _given},
        "--optimizer {optimizer} stops when converged, in few steps: --checkpoint is not "
        "supported with it yet",
    ),
    Combination(
        "long",
        {"optimizer": _one_of(*SECOND_ORDER), "resume": _given},
        "--optimizer {optimizer} runs cannot be resumed yet",
    ),
    Combination(
        "long",
        {"optimizer": _one_of(*SECOND_ORDER), "distributed": _on},
        "--optimizer {optimizer} runs in one process for now (no --distributed)",
    ),
    Combination(
        "long",
        {"optimizer": _one_of(*SECOND_ORDER), "workers": _given},
        "--optimizer {optimizer} runs in one process for now (no --workers)",
    ),
    Combination(
        "loss",
        {"loss_scale": _none_of(1.0), "loss": _none_of(*ROBUST)},
        "--loss-scale applies to the huber, soft_l1 and cauchy losses, not to {loss}",
    ),
    Combination(
        "loss",
        {"method": _one_of("gram"), "loss": _one_of(*NOT_SQUARES)},
        "the gram method needs a sum of squares (squared, mean); the {loss} loss is not one: "
        "use --method manual",
    ),
    Combination(
        "loss",
        {"method": _one_of("gram"), "l1": _on},
        "the gram method has no --l1 (the penalty is not smooth); use --method manual",
    ),
    Combination(
        "loss",
        {"lr": _one_of("auto"), "loss": _one_of("absolute")},
        "--lr auto (the default for --data and --scale runs) needs the loss's curvature and the "
        "absolute loss has none: give --lr",
    ),
    Combination(
        "loss",
        {"penalty": _on, "workers": _given},
        "--l2 and --l1 are not available with --workers; run in one process",
    ),
    Combination(
        "loss",
        {"penalty": _on, "distributed": _on},
        "--l2 and --l1 are not available in a distributed run; run in one process",
    ),
    Combination(
        "long",
        {"weighted": _on, "workers": _given},
        "--sigma and --weight run in one process for now (no --workers)",
    ),
    Combination(
        "long",
        {"weighted": _on, "distributed": _on},
        "--sigma and --weight run in one process for now (no --distributed)",
    ),
    Combination(
        "long",
        {"checkpoint_every": _given, "checkpoint": _absent},
        "--checkpoint-every N needs --checkpoint FILE to write to",
    ),
)


_BY_STAGE = by_stage(COMBINATIONS)


def _check_combinations(stage: str, facts: dict[str, Any]) -> None:
    """Raise the message of the first refused combination of ``stage``."""
    message = first_refused(_BY_STAGE.get(stage, ()), facts)
    if message is not None:
        raise UsageError(message.format(**facts))


def _data_options(config: FitConfig, facts: dict[str, Any]) -> dict[str, Any]:
    """Check the options for files, formulas, noise and scaling; return their normalised values."""
    from .data import TARGETS
    from .expr import parse_expression

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
    if config.data is not None:
        if not isinstance(config.data, (str, os.PathLike)) or not str(config.data):
            raise UsageError(f"--data must be a file name, got {config.data!r}")
        out.update(data=os.fspath(config.data), target=None)
    weighted = config.sigma_column is not None or config.weight_column is not None
    facts.update(noise=noise, drop_nonfinite=out["drop_nonfinite"], weighted=weighted)
    _check_combinations("data", facts)
    if config.data is None and config.target is not None and config.target not in TARGETS:
        parse_expression(config.target)  # refuse a bad formula before anything runs
    return out


def _loss_options(config: FitConfig, facts: dict[str, Any]) -> dict[str, float]:
    """Check --loss-scale, --l2 and --l1 (finite numbers; c > 0, the penalties >= 0), then the
    combinations of the loss and the penalties with the rest."""
    out = {}
    for name, flag, low in (
        ("loss_scale", "--loss-scale", "> 0"),
        ("l2", "--l2", ">= 0"),
        ("l1", "--l1", ">= 0"),
    ):
        value = getattr(config, name)
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if (
            isinstance(value, bool)
            or not math.isfinite(number)
            or number < 0
            or (number == 0 and low == "> 0")
        ):
            raise UsageError(f"{flag} must be a finite number {low}, got {value!r}")
        out[name] = facts[name] = number
    facts["penalty"] = out["l2"] > 0 or out["l1"] > 0  # not a field: what the table reads
    _check_combinations("loss", facts)
    return out


def _scale_options(config: FitConfig, facts: dict[str, Any]) -> dict[str, Any]:
    """Check --chunk-size and --batch-size, then the combinations of --method gram,
    --batch-size and --shuffle with the rest."""
    chunk = _int_option(config, "chunk_size")
    batch = None if config.batch_size is None else _int_option(config, "batch_size")
    facts.update(chunk_size=chunk, batch_size=batch)
    _check_combinations("scale", facts)
    return {"chunk_size": chunk, "batch_size": batch, "shuffle": bool(config.shuffle)}


def _long_run_options(config: FitConfig, facts: dict[str, Any]) -> dict[str, Any]:
    """Check the checkpoint, resume and distributed options; return their normalised values."""
    out: dict[str, Any] = {}
    for name in ("checkpoint", "resume"):
        value = getattr(config, name)
        if value is not None:
            if not isinstance(value, (str, os.PathLike)) or not str(value):
                raise UsageError(f"--{name} must be a file name, got {value!r}")
            out[name] = os.fspath(value)
    if config.checkpoint_every is not None:
        out["checkpoint_every"] = _int_option(config, "checkpoint_every")
    _check_combinations("long", facts)
    if config.workers is not None:
        out["workers"] = _int_option(config, "workers")
    try:
        timeout = float(config.dist_timeout)
    except (TypeError, ValueError):
        raise UsageError(
            f"--timeout must be a number of seconds, got {config.dist_timeout!r}"
        ) from None
    if not (math.isfinite(timeout) and 0 < timeout <= MAX_TIMEOUT_S):
        raise UsageError(
            f"--timeout must be a positive number of seconds up to {MAX_TIMEOUT_S:g} (a week), "
            f"got {timeout!r}"
        )
    out["dist_timeout"] = timeout
    out["distributed"] = bool(config.distributed)
    return out


def _count(model: Any) -> str:
    """'4 coefficients of a degree-3 polynomial' or '4 parameters of the legendre3 model'."""
    if model.kind == "poly":
        return f"{model.n_params} coefficients of a degree-{model.degree} polynomial"
    if model.kind == "formula":
        return f"{model.n_params} parameters of the formula"
    return f"{model.n_params} parameters of the {model.kind} model"


def _int_option(config: FitConfig, name: str) -> int:
    """The int field ``name``, checked against the option table's minimum (0 or 1)."""
    option = BY_FIELD[name]
    return _positive_int(getattr(config, name), option.flags[0], option.minimum == 0)


def _positive_int(value: Any, name: str, allow_zero: bool = False) -> int:
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        kind = "a non-negative" if allow_zero else "a positive"
        raise UsageError(f"{name} must be {kind} integer, got {value!r}")
    return int(value)
