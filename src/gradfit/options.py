"""The option table: every user option of a fit, as one record each.

Each :class:`Option` says which :class:`~gradfit.config.FitConfig` field it sets, its command-line
flag(s), how its text is parsed, its choices, its help text and the help group it is listed in.
The command line (:mod:`gradfit.cli`) is generated from this table, and the field's default comes
from ``FitConfig`` itself (``{default}`` in a help text is replaced by it), so help text, choices
and defaults cannot drift apart. The validity of *combinations* of options is the other table,
:data:`gradfit.config.COMBINATIONS`.

To add an option: a FitConfig field with its default, one record here (``tests/test_cli.py``
fails until both exist), and a :class:`~gradfit.config.Combination` if it cannot go with
some other option. ``gradfit fit --help`` then lists it, and ``--resume`` and presets take it.

This module only describes; it checks nothing and imports no heavy library (the choices come from
the modules that own them, which need only NumPy).
"""

from __future__ import annotations

from dataclasses import dataclass

from .backends import BACKENDS, DTYPES
from .losses import LOSSES
from .methods import CHOICES
from .models import BASES, MODELS
from .optim import OPTIMIZERS

# The commands whose options come from this table.
ALL = frozenset({"fit", "explain", "compare", "landscape"})
RUNS = frozenset({"fit", "explain", "compare"})  # not landscape: its runs are NumPy float64
FIT_EXPLAIN = frozenset({"fit", "explain"})
FIT = frozenset({"fit"})

# Help groups, in the order ``--help`` lists them: what a beginner needs first, long runs last.
GROUPS: dict[str, str] = {
    "basics": "basics (the options most runs need)",
    "model": "problem and model",
    "training": "training",
    "data": "data files",
    "device": "device and precision",
    "scale": "speed and scale (docs/performance.md)",
    "long": "checkpoints and several processes (docs/distributed.md)",
}

# How an option's text becomes a value (the CLI maps each to a parser): str as given; int; float;
# number (a float, or pi / -pi); lr (a number or 'auto'); numbers (c0,c1,...).
VALUE_TYPES = ("str", "int", "float", "number", "lr", "numbers")


@dataclass(frozen=True)
class Option:
    """One user option: the FitConfig ``field`` it sets and how the command line offers it.

    ``help`` may contain ``{default}`` (the field's default in FitConfig, as it would be typed)
    and ``{choices}`` (``choices`` joined with ' | '). ``action``: None (takes a value),
    ``store_true`` (a flag), ``store_false`` (a flag that turns the field off) or ``boolean``
    (``--flag`` / ``--no-flag``).
    """

    field: str
    flags: tuple[str, ...]
    help: str
    group: str
    type: str = "str"
    metavar: str | tuple[str, ...] | None = None
    nargs: int | None = None
    choices: tuple[str, ...] = ()
    action: str | None = None
    commands: frozenset[str] = ALL
    minimum: int | None = None  # int options: the smallest valid value (0 or 1)

    def __post_init__(self) -> None:
        if self.group not in GROUPS or self.type not in VALUE_TYPES:
            raise ValueError(f"bad option record for {self.field}: {self.group}, {self.type}")
        if (self.type == "int") != (self.minimum is not None):
            raise ValueError(f"option {self.field}: an int option needs its minimum")


OPTIONS: tuple[Option, ...] = (
    # basics
    Option(
        "backend",
        ("--backend",),
        "array library: {choices} (default: {default})",
        "basics",
        metavar="NAME",
        choices=BACKENDS,
        commands=FIT_EXPLAIN,
    ),
    Option(
        "target",
        ("--target",),
        "the function to fit on --range, a formula in x such as 'exp(-x**2) * cos(3*x)' "
        "(default: sin(x); formulas are listed below)",
        "basics",
        metavar="EXPR",
    ),
    Option(
        "data",
        ("--data",),
        "fit the x and y columns of FILE instead: .csv .tsv .txt .dat .npy .npz .parquet",
        "basics",
        metavar="FILE",
    ),
    Option(
        "degree",
        ("--degree",),
        "polynomial degree, any N >= 0 (default: {default}; poly only)",
        "basics",
        type="int",
        metavar="N",
        minimum=0,
    ),
    Option(
        "lr",
        ("--lr",),
        "learning rate, or 'auto' (from the loss curvature; see 'gradfit explain'). Default: "
        "1e-6 on the article's grid (2000 points on [-pi, pi], a cubic), auto on other grids, "
        "--data files and --scale; legendre3 5e-6, dynamic 1e-8",
        "basics",
        type="lr",
    ),
    Option(
        "steps",
        ("--steps",),
        "gradient descent steps (default: {default})",
        "basics",
        type="int",
        metavar="N",
        minimum=1,
    ),
    Option(
        "seed",
        ("--seed",),
        "seed for the initial parameters (default: drawn and reported)",
        "basics",
        type="int",
        metavar="N",
        minimum=0,
    ),
    # problem and model
    Option(
        "points",
        ("--points",),
        "number of evenly spaced x values (default: {default})",
        "model",
        type="int",
        metavar="N",
        minimum=1,
    ),
    Option(
        "x_range",
        ("--range",),
        "x interval; numbers or pi, -pi (default: {default})",
        "model",
        type="number",
        metavar=("A", "B"),
        nargs=2,
    ),
    Option(
        "noise",
        ("--noise",),
        "add Gaussian noise of standard deviation SIGMA to the target, drawn from the seed",
        "model",
        type="float",
        metavar="SIGMA",
    ),
    Option(
        "model",
        ("--model",),
        "{choices} (default: {default}), or a formula in x and named parameters such as "
        "'a*exp(-b*x) + c' (docs/models.md)",
        "model",
        metavar="NAME|FORMULA",
        choices=MODELS,
    ),
    Option(
        "basis",
        ("--basis",),
        "{choices} (default: {default}; poly only)",
        "model",
        metavar="NAME",
        choices=BASES,
    ),
    Option(
        "loss",
        ("--loss",),
        "what is minimised: {choices} (default: {default}, the sum of squared errors, the "
        "article's)",
        "model",
        metavar="NAME",
        choices=LOSSES,
        commands=frozenset({"fit", "compare"}),
    ),
    Option(
        "init",
        ("--init",),
        "initial parameters: one number per parameter, lowest power first, or name=value "
        "pairs such as b1=500,b2=1e-4 (a formula's parameters not named start at 1)",
        "model",
        type="numbers",
        metavar="C0,C1,...|NAME=V,...",
    ),
    # training
    Option(
        "method",
        ("--method",),
        "how the gradient is computed: {choices} (default: {default} = gram for float64 "
        "polynomial fits of >= 10^4 points, else manual)",
        "training",
        metavar="NAME",
        choices=CHOICES,
        commands=FIT_EXPLAIN,
    ),
    Option(
        "optimizer",
        ("--optimizer",),
        "{choices} (default: {default})",
        "training",
        metavar="NAME",
        choices=OPTIMIZERS,
        commands=FIT_EXPLAIN,
    ),
    Option(
        "momentum",
        ("--momentum",),
        "momentum/nesterov (default 0.9) and rmsprop (default 0)",
        "training",
        type="float",
        metavar="M",
    ),
    Option(
        "betas",
        ("--betas",),
        "adam's betas (default: {default})",
        "training",
        type="float",
        metavar=("B1", "B2"),
        nargs=2,
    ),
    Option("eps", ("--eps",), "adam/rmsprop epsilon (default: {default})", "training", "float"),
    Option(
        "alpha",
        ("--alpha",),
        "rmsprop smoothing constant (default: {default})",
        "training",
        "float",
    ),
    Option(
        "precondition",
        ("--precondition",),
        "scale each parameter by its Jacobian column's norm at the start (diagonal "
        "preconditioning) so that parameters of very different sizes share one learning rate",
        "training",
        action="store_true",
    ),
    Option(
        "guard",
        ("--no-guard",),
        "let a diverging run go on (by default a loss that is not finite or grows past "
        "1e4 x max(initial loss, sum y^2) stops the run at the step it happened, exit 1)",
        "training",
        action="store_false",
    ),
    Option(
        "log_every",
        ("--log-every",),
        "print the loss every N steps, at step N-1, 2N-1, ... (default: {default})",
        "training",
        type="int",
        metavar="N",
        minimum=1,
        commands=RUNS,
    ),
    # robust losses and penalties (gradfit.losses.robust, gradfit.losses.penalty)
    Option(
        "loss_scale",
        ("--loss-scale",),
        "C > 0: residuals much smaller than C are squared, larger ones count less (huber, "
        "soft_l1, cauchy; default: {default})",
        "model",
        type="float",
        metavar="C",
        commands=FIT,
    ),
    Option(
        "l2",
        ("--l2",),
        "add ALPHA * sum(w^2) over the parameters as trained (ridge; default: {default})",
        "model",
        type="float",
        metavar="ALPHA",
        commands=FIT,
    ),
    Option(
        "l1",
        ("--l1",),
        "add ALPHA * sum(|w|) over the parameters as trained (lasso; default: {default})",
        "model",
        type="float",
        metavar="ALPHA",
        commands=FIT,
    ),
    # data files
    Option(
        "x_column",
        ("--x",),
        "column of FILE holding x: a name or a 0-based index (default: column 'x', or the "
        "first of two)",
        "data",
        metavar="COL",
    ),
    Option(
        "y_column",
        ("--y",),
        "column of FILE holding y (default: column 'y', or the second of two); for fit also "
        "several, one fit each: --y a,b,c or a glob --y 'sensor_*'",
        "data",
        metavar="COL",
    ),
    Option(
        "sigma_column",
        ("--sigma",),
        "column of FILE holding each point's measurement error (standard deviation, > 0): "
        "the fit minimises the chi-square sum(((y - f) / sigma)^2) and reports it",
        "data",
        metavar="COL",
        commands=frozenset({"fit", "compare"}),
    ),
    Option(
        "weight_column",
        ("--weight",),
        "column of FILE holding each point's weight (>= 0): the fit minimises "
        "sum(w * (y - f)^2), the weights taken as relative",
        "data",
        metavar="COL",
        commands=frozenset({"fit", "compare"}),
    ),
    Option(
        "drop_nonfinite",
        ("--drop-nonfinite",),
        "leave out rows of FILE with NaN, missing or infinite values instead of stopping",
        "data",
        action="store_true",
    ),
    Option(
        "scale",
        ("--scale",),
        "fit on x mapped to [-1, 1] and report coefficients in x (default: on for --data, "
        "off for targets, so that 'gradfit fit' is the article's run)",
        "data",
        action="boolean",
    ),
    # device and precision
    Option(
        "device",
        ("--device",),
        "cpu | cuda | cuda:N | mps | auto (default: {default}; auto picks a GPU if any)",
        "device",
        metavar="DEV",
        commands=RUNS,
    ),
    Option(
        "dtype",
        ("--dtype",),
        "{choices} (default: float32 on torch, float64 on numpy)",
        "device",
        metavar="DTYPE",
        choices=DTYPES,
        commands=RUNS,
    ),
    # speed and scale
    Option(
        "chunk_size",
        ("--chunk-size",),
        "rows per chunk when the data is streamed (gram: generated targets, .npy, "
        "Parquet and CSV/TSV files); peak memory grows with it, not with N (default: {default})",
        "scale",
        type="int",
        metavar="ROWS",
        commands=FIT,
        minimum=1,
    ),
    Option(
        "batch_size",
        ("--batch-size",),
        "mini-batch SGD: each step uses B points (manual/autograd/nn/module); a "
        "different algorithm with its own trajectory; B = N is full batch (default: all)",
        "scale",
        type="int",
        metavar="B",
        commands=FIT,
        minimum=1,
    ),
    Option(
        "shuffle",
        ("--shuffle",),
        "with --batch-size: a fresh random order of the points every epoch, from --seed "
        "(default: consecutive batches in data order)",
        "scale",
        action="store_true",
        commands=FIT,
    ),
    # checkpoints and several processes
    Option(
        "checkpoint",
        ("--checkpoint",),
        "write the run's state (parameters, optimizer state, step, RNG state, config) to "
        "FILE atomically: at the end, on Ctrl-C, and every --checkpoint-every steps",
        "long",
        metavar="FILE",
        commands=FIT,
    ),
    Option(
        "checkpoint_every",
        ("--checkpoint-every",),
        "also write the checkpoint after every N steps",
        "long",
        type="int",
        metavar="N",
        commands=FIT,
        minimum=1,
    ),
    Option(
        "resume",
        ("--resume",),
        "continue the run saved in checkpoint FILE with its own options, to the same "
        "numbers as a run never stopped (--steps may extend it)",
        "long",
        metavar="FILE",
        commands=FIT,
    ),
    Option(
        "distributed",
        ("--distributed",),
        "be one process of a torch.distributed run started by torchrun: read and fit this "
        "rank's share of the rows, sum the gradients over all ranks every step (gram: its "
        "statistics, once; gloo on CPU, nccl on CUDA); rank 0 alone prints and writes files",
        "long",
        action="store_true",
        commands=FIT,
    ),
    Option(
        "workers",
        ("--workers",),
        "start K local processes that run --distributed together (as torchrun "
        "--nproc-per-node K would) and wait for them",
        "long",
        type="int",
        metavar="K",
        commands=FIT,
        minimum=1,
    ),
    Option(
        "dist_timeout",
        ("--timeout",),
        "a distributed run fails, with one line and exit 1, when a worker dies or cannot "
        "be reached for this long (default: {default})",
        "long",
        type="float",
        metavar="SECONDS",
        commands=FIT,
    ),
)

BY_FIELD: dict[str, Option] = {o.field: o for o in OPTIONS}


def options_for(command: str) -> tuple[Option, ...]:
    """The table's options that ``gradfit COMMAND`` offers, in table order."""
    return tuple(o for o in OPTIONS if command in o.commands)
