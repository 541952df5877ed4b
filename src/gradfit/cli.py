"""The ``gradfit`` command: arguments -> FitConfig -> gradfit.run() -> report. No math here."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

from . import __version__
from .backends import BACKENDS, DTYPES
from .config import FitConfig
from .errors import DivergenceError, FitInterrupted, GradfitError, UsageError
from .methods import CHOICES
from .models import BASES, MODELS
from .optim import OPTIMIZERS

PROG = "gradfit"
# Let values such as -pi, -1e-3 or -0.5,1,2,3 follow an option instead of being taken for one.
_NEGATIVE_VALUE = re.compile(r"^-(\d|\.\d|pi$|inf$)")

FIT_EXAMPLES = """\
examples:
  gradfit fit                                  the article's PyTorch run (float32, CPU)
  gradfit fit --backend numpy                  the article's NumPy run (float64)
  gradfit fit --init 0.1,-0.2,0.3,-0.4         start from given coefficients c0..c3
  gradfit fit --degree 5 --lr 1e-7 --steps 5000 --seed 42
  gradfit fit --json run.json                  also write the run as a JSON document
  python -m gradfit fit --json                 only the JSON document, on stdout
  gradfit fit --method autograd --backend torch --dtype float64
  gradfit fit --basis legendre --degree 5 --optimizer adam --lr 1e-2
  gradfit fit --preset custom-function         the tutorial's a + b * P3(c + d x)
  gradfit fit --target 'exp(-x**2) * cos(3*x)' --range -2 2 --lr auto --steps 5000
  gradfit fit --target 'sin(x)' --noise 0.1 --seed 1     sin(x) plus reproducible noise
  gradfit fit --data points.csv --save model.json        your own data (x, y columns)
  gradfit fit --data log.parquet --x time --y temp --degree 2 --backend numpy
  gradfit fit --backend numpy --points 100000000 --method gram     10^8 points, in chunks
  gradfit fit --data big.npy --backend numpy       streamed from disk, a block at a time
  gradfit fit --backend numpy --batch-size 100 --shuffle --seed 1  mini-batch SGD
  gradfit fit --steps 100000 --checkpoint run.ckpt --checkpoint-every 1000
  gradfit fit --resume run.ckpt                continue it (after Ctrl-C or a crash)
  gradfit fit --resume run.ckpt --steps 200000 ... and run it further
  gradfit fit --workers 2 --backend numpy --dtype float64    2 local processes
  gradfit fit --workers 2 --data big.npy --method gram       each reads half the file
  torchrun --nproc-per-node 4 -m gradfit fit --distributed --data big.npy

formulas (--target): x, numbers, pi, e, tau, + - * / **, and the functions
  sin cos tan asin acos atan sinh cosh tanh exp expm1 log log1p log2 log10 sqrt
  square abs sign floor ceil trunc round (one argument), atan2 hypot maximum
  minimum pow (two); NumPy's names (arcsin, power, ...) work too. Nothing else
  is accepted and nothing is ever run as Python.
"""

PREDICT_EXAMPLES = """\
examples:
  gradfit predict model.json --x 0.5 1.0          one prediction per line
  gradfit predict model.json --data new.csv       x and prediction as CSV on stdout
  gradfit predict model.json --data new.npy --out predictions.csv
"""

EXPLAIN_EXAMPLES = """\
examples:
  gradfit explain                     the article's run: why lr 1e-6 works, what 1e-5 would do
  gradfit explain --lr 1e-5           an unstable rate, and by how much
  gradfit explain --degree 5 --lr auto
  gradfit explain --optimizer momentum --lr auto --json
"""

COMPARE_EXAMPLES = """\
examples:
  gradfit compare                               manual/autograd/nn/module on numpy and torch
  gradfit compare --optimizers sgd,adam --lr 1e-3 --steps 500
  gradfit compare --methods manual --backends numpy,torch --dtype float32 --json cmp.json
"""


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors as one ``gradfit: error:`` line (raised, handled in main)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = _NEGATIVE_VALUE

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _number(text: str) -> float:
    """A float, or pi / -pi (the article's range), without evaluating anything."""
    t = text.strip().lower()
    sign = -1.0 if t.startswith("-") else 1.0
    if t.lstrip("+-") == "pi":
        return sign * math.pi
    try:
        return float(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def _lr(text: str) -> float | str:
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number or 'auto': {text!r}") from None


def _number_list(text: str) -> tuple[float, ...]:
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    if not parts:
        raise argparse.ArgumentTypeError("expected numbers c0,c1,...")
    return tuple(_number(p) for p in parts)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (exposed for docs and tests)."""
    parser = _Parser(
        prog=PROG,
        description="Fit models by gradient descent, and see exactly how.",
        epilog="Run 'gradfit fit' for the article's experiment; 'gradfit COMMAND --help' for "
        "a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"gradfit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    fit = sub.add_parser(
        "fit",
        help="fit a model to sin(x) by gradient descent (default: the article's experiment)",
        description=(
            "Fit a model to sin(x) by gradient descent on the sum of squared errors. With no "
            "options this is the article's experiment: torch, float32, CPU, 2000 points on "
            "[-pi, pi], a cubic, the hand-derived gradient, SGD with lr 1e-6, 2000 steps, the "
            "loss printed every 100 steps."
        ),
        epilog=FIT_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_run_options(fit)
    _add_data_options(fit, save=True)
    _add_scale_options(fit)
    _add_long_run_options(fit)
    _add_output_options(fit, "the run", quiet=True, plot=True)
    fit.set_defaults(handler=_cmd_fit)

    compare = sub.add_parser(
        "compare",
        help="run several methods/backends/optimizers from one start and tabulate them",
        description=(
            "Run every combination of --methods, --backends and --optimizers on the same "
            "problem from the same initial parameters, and print one table: final loss, "
            "distance to the closed-form optimum, largest coefficient difference from the first "
            "run, and time per step. Runs are float64 unless --dtype says otherwise; "
            "combinations that cannot run (autograd on numpy) are skipped and listed."
        ),
        epilog=COMPARE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_run_options(compare, with_method=False)
    _add_data_options(compare)
    g = compare.add_argument_group("what to compare")
    g.add_argument(
        "--methods",
        type=_name_list,
        default=["manual", "autograd", "nn", "module"],
        metavar="M,M,...",
        help="default: manual,autograd,nn,module",
    )
    g.add_argument(
        "--backends",
        type=_name_list,
        default=["numpy", "torch"],
        metavar="B,B,...",
        help="default: numpy,torch",
    )
    g.add_argument(
        "--optimizers", type=_name_list, default=["sgd"], metavar="O,O,...", help="default: sgd"
    )
    _add_output_options(compare, "the table", plot=True)
    compare.set_defaults(handler=_cmd_compare)

    explain = sub.add_parser(
        "explain",
        help="explain the run: gradient formulas, the optimum, the Hessian, the stable lr",
        description=(
            "Explain, with this problem's numbers, what 'gradfit fit' with the same options "
            "does: the model, the loss and its gradient formulas, the closed-form optimum, the "
            "Hessian's eigenvalues, the largest stable and the best learning rate, the loss "
            "predicted after the requested steps, and what would converge faster. Nothing is "
            "trained."
        ),
        epilog=EXPLAIN_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_run_options(explain)
    _add_data_options(explain)
    _add_output_options(explain, "the explanation")
    explain.set_defaults(handler=_cmd_explain)

    presets = sub.add_parser(
        "presets",
        help="list the presets: the article's runs and the PyTorch tutorial's rungs",
        description="List the presets for 'gradfit fit --preset NAME'.",
        epilog="example:\n  gradfit presets\n  gradfit fit --preset custom-function",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    presets.set_defaults(handler=_cmd_presets)
    _add_predict_command(sub)
    _add_doctor_command(sub)
    return parser


def _add_doctor_command(sub: Any) -> None:
    """``gradfit doctor``: its options, handler and help text live in :mod:`gradfit.doctor`."""
    from . import doctor

    doctor.configure_parser(sub.add_parser("doctor", **doctor.parser_kwargs()))


def _add_data_options(fit: argparse.ArgumentParser, save: bool = False) -> None:
    g = fit.add_argument_group("formulas, data files and saved models")
    g.add_argument(
        "--target",
        default=None,
        metavar="EXPR",
        help="the function to fit on --range, a formula in x such as 'exp(-x**2) * cos(3*x)' "
        "(default: sin(x); formulas are listed below)",
    )
    g.add_argument(
        "--noise",
        type=float,
        default=0.0,
        metavar="SIGMA",
        help="add Gaussian noise of standard deviation SIGMA to the target, drawn from the seed",
    )
    g.add_argument(
        "--data",
        default=None,
        metavar="FILE",
        help="fit the x and y columns of FILE instead: .csv .tsv .txt .dat .npy .npz .parquet",
    )
    g.add_argument(
        "--x",
        default=None,
        metavar="COL",
        dest="x_column",
        help="column of FILE holding x: a name or a 0-based index (default: column 'x', or the "
        "first of two)",
    )
    g.add_argument(
        "--y",
        default=None,
        metavar="COL",
        dest="y_column",
        help="column of FILE holding y (default: column 'y', or the second of two)",
    )
    g.add_argument(
        "--drop-nonfinite",
        action="store_true",
        help="leave out rows of FILE with NaN, missing or infinite values instead of stopping",
    )
    g.add_argument(
        "--scale",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="fit on x mapped to [-1, 1] and report coefficients in x (default: on for --data, "
        "off for targets, so that 'gradfit fit' is the article's run)",
    )
    if save:
        g.add_argument(
            "--save",
            default=None,
            metavar="MODEL.json",
            help="write the fitted model to MODEL.json, for 'gradfit predict' and gradfit.load()",
        )


def _add_long_run_options(fit: argparse.ArgumentParser) -> None:
    g = fit.add_argument_group("checkpoints and several processes (docs/distributed.md)")
    g.add_argument(
        "--checkpoint",
        default=None,
        metavar="FILE",
        help="write the run's state (parameters, optimizer state, step, RNG state, config) to "
        "FILE atomically: at the end, on Ctrl-C, and every --checkpoint-every steps",
    )
    g.add_argument(
        "--checkpoint-every",
        type=int,
        default=None,
        metavar="N",
        help="also write the checkpoint after every N steps",
    )
    g.add_argument(
        "--resume",
        default=None,
        metavar="FILE",
        help="continue the run saved in checkpoint FILE with its own options, to the same "
        "numbers as a run never stopped (--steps may extend it)",
    )
    g.add_argument(
        "--distributed",
        action="store_true",
        help="be one process of a torch.distributed run started by torchrun: read and fit this "
        "rank's share of the rows, sum the gradients over all ranks every step (gram: its "
        "statistics, once; gloo on CPU, nccl on CUDA); rank 0 alone prints and writes files",
    )
    g.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="K",
        help="start K local processes that run --distributed together (as torchrun "
        "--nproc-per-node K would) and wait for them",
    )
    g.add_argument(
        "--timeout",
        type=float,
        default=None,
        dest="dist_timeout",
        metavar="SECONDS",
        help="a distributed run fails, with one line and exit 1, when a worker dies or cannot "
        "be reached for this long (default: 60)",
    )


def _resume_config(args: argparse.Namespace, options: dict[str, Any]) -> FitConfig | None:
    """The config of a --resume run: the checkpoint's own options, overridden by those given on
    the command line (gradfit.run refuses, by name, any that would change the run other than
    --steps, --log-every, --device, --no-guard). So one command line serves the first start and
    every restart. None: --resume FILE is also --checkpoint FILE and FILE does not exist yet
    (a first start)."""
    from dataclasses import replace

    from .training.checkpoint import config_from_checkpoint, load_checkpoint, resumes

    if getattr(args, "preset", None) is not None:
        raise UsageError(
            "--preset cannot be combined with --resume: the checkpoint has the options"
        )
    if not resumes(args.resume, getattr(args, "checkpoint", None)):
        return None
    config = config_from_checkpoint(load_checkpoint(args.resume))
    given = {k: v for k, v in options.items() if v is not None}
    data = {k: v for k, v in _data_config(args).items() if v not in (None, False, 0.0)}
    if "target" in data:
        data["data"] = None
    elif "data" in data:
        data["target"] = None
    return replace(config, **given, **data, **_long_run_config(args)).validated()


def _long_run_config(args: argparse.Namespace) -> dict[str, Any]:
    """The FitConfig fields of the checkpoint and distributed options."""
    fields: dict[str, Any] = {}
    for name in ("checkpoint", "checkpoint_every", "resume", "workers", "dist_timeout"):
        value = getattr(args, name, None)
        if value is not None:
            fields[name] = value
    if getattr(args, "distributed", False):
        fields["distributed"] = True
    return fields


def _data_config(args: argparse.Namespace) -> dict[str, Any]:
    """The FitConfig fields of the options above."""
    if args.data is not None and args.target is not None:
        raise UsageError("--target and --data are alternatives: fit a formula or a file")
    fields: dict[str, Any] = {
        "noise": args.noise,
        "data": args.data,
        "x_column": args.x_column,
        "y_column": args.y_column,
        "drop_nonfinite": args.drop_nonfinite,
        "scale": args.scale,
    }
    if args.target is not None:
        fields["target"] = args.target
    return fields


def _add_predict_command(sub: Any) -> None:
    predict = sub.add_parser(
        "predict",
        help="evaluate a model saved with 'gradfit fit --save'",
        description=(
            "Evaluate a saved model at new x values: given on the command line (--x), printed "
            "one per line; or read from a column of a file (--data), written as a table of x "
            "and prediction (CSV on stdout, or --out FILE: .csv, .tsv or .txt)."
        ),
        epilog=PREDICT_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    predict.add_argument("model", metavar="MODEL.json", help="a model file written by --save")
    predict.add_argument(
        "--x", type=_number, nargs="+", default=None, metavar="X", help="x values to predict at"
    )
    predict.add_argument(
        "--data", default=None, metavar="FILE", help="read x from a column of FILE"
    )
    predict.add_argument(
        "--column",
        default=None,
        metavar="COL",
        help="the column of FILE holding x: a name or a 0-based index (default: the column "
        "the model was fitted on, if FILE has it, else the first)",
    )
    predict.add_argument(
        "--out", default=None, metavar="FILE", help="write the table to FILE (atomically)"
    )
    predict.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    predict.set_defaults(handler=_cmd_predict)


def _cmd_predict(args: argparse.Namespace) -> int:
    import numpy as np

    from .data import load_column
    from .report import write_text_atomic
    from .saved import load

    if (args.x is None) == (args.data is None):
        raise UsageError("give the x values with --x X [X ...] or read them with --data FILE")
    if args.column is not None and args.data is None:
        raise UsageError("--column chooses a column of --data FILE")
    delimiter = ","
    if args.out is not None:
        suffix = args.out.rsplit(".", 1)[-1].lower() if "." in args.out else ""
        if suffix not in ("csv", "tsv", "txt"):
            raise UsageError(f"--out {args.out}: write predictions to a .csv, .tsv or .txt file")
        delimiter = {"csv": ",", "tsv": "\t", "txt": " "}[suffix]
        _check_writable(args.out)
    model = load(args.model)
    if args.x is not None:
        xs = np.asarray(args.x, dtype=np.float64)
    else:
        xs = load_column(args.data, args.column, prefer=model.x_name)
    ys = model.predict(xs)
    if args.data is None and args.out is None:
        sys.stdout.write("".join(f"{float(v)!r}\n" for v in ys))
        return 0
    header = delimiter.join([model.x_name, f"predicted_{model.y_name}"])
    rows = (f"{float(a)!r}{delimiter}{float(b)!r}" for a, b in zip(xs, ys, strict=True))
    text = "\n".join([header, *rows]) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        write_text_atomic(args.out, text)
    return 0


def _add_output_options(
    p: argparse.ArgumentParser, what: str, quiet: bool = False, plot: bool = False
) -> None:
    g = p.add_argument_group("output")
    if quiet:
        g.add_argument(
            "--quiet", "-q", action="store_true", help="print only the Result line(s), no bar"
        )
    g.add_argument(
        "--json",
        nargs="?",
        const="-",
        default=None,
        metavar="FILE",
        help=f"write {what} as JSON to FILE; without FILE, print only JSON on stdout",
    )
    if plot:
        g.add_argument(
            "--plot",
            metavar="FILE.png",
            help="save a figure: the data with the fitted curve(s), and the loss on a log "
            "scale against the closed-form optimum",
        )
    if quiet:  # fit only
        g.add_argument(
            "--report",
            metavar="FILE.md",
            help="write a short Markdown summary of the run (with the --plot figure, if any)",
        )
    g.add_argument("--debug", action="store_true", help="show tracebacks for errors")


def _check_outputs(args: argparse.Namespace) -> None:
    """Fail on an unwritable destination before spending the run."""
    plot = getattr(args, "plot", None)
    for extra in (
        getattr(args, "save", None),
        getattr(args, "report", None),
        getattr(args, "checkpoint", None),
    ):
        if extra is not None:
            _check_writable(extra)
    if plot is not None and not plot.lower().endswith(".png"):
        raise UsageError(f"--plot writes a PNG image; give a file name ending in .png, not {plot}")
    for dest in (args.json, plot):
        if dest is not None and dest != "-":
            _check_writable(dest)


def _add_scale_options(p: argparse.ArgumentParser) -> None:
    """Speed and scale: streaming chunks and mini-batches (see docs/performance.md)."""
    g = p.add_argument_group("speed and scale")
    g.add_argument(
        "--chunk-size",
        type=int,
        metavar="ROWS",
        help="rows per chunk when the data is streamed (gram: generated targets, .npy, "
        "Parquet and CSV/TSV files); peak memory grows with it, not with N (default: 65536)",
    )
    g.add_argument(
        "--batch-size",
        type=int,
        metavar="B",
        help="mini-batch SGD: each step uses B points (manual/autograd/nn/module); a "
        "different algorithm with its own trajectory; B = N is full batch (default: all)",
    )
    g.add_argument(
        "--shuffle",
        action="store_true",
        default=None,
        help="with --batch-size: a fresh random order of the points every epoch, from --seed "
        "(default: consecutive batches in data order)",
    )


def _add_run_options(p: argparse.ArgumentParser, with_method: bool = True) -> None:
    """The options that define a run (shared by fit and compare). Defaults are None so that
    only options the user gave override a preset; the real defaults live in FitConfig."""
    g = p.add_argument_group("preset")
    g.add_argument(
        "--preset",
        default=None,
        metavar="NAME",
        help="start from a preset (see 'gradfit presets'); other options override it",
    )
    g = p.add_argument_group("backend")
    if with_method:
        g.add_argument(
            "--backend",
            metavar="NAME",
            help=f"array library: {' | '.join(BACKENDS)} (default: torch)",
        )
    g.add_argument(
        "--device",
        metavar="DEV",
        help="cpu | cuda | cuda:N | mps | auto (default: cpu; auto picks a GPU if any)",
    )
    g.add_argument(
        "--dtype",
        metavar="DTYPE",
        help=f"{' | '.join(DTYPES)} (default: float32 on torch, float64 on numpy)",
    )
    g = p.add_argument_group("problem and model")
    g.add_argument(
        "--points", type=int, metavar="N", help="number of evenly spaced x values (default: 2000)"
    )
    g.add_argument(
        "--range",
        type=_number,
        nargs=2,
        metavar=("A", "B"),
        dest="x_range",
        help="x interval; numbers or pi, -pi (default: -pi pi)",
    )
    g.add_argument("--model", metavar="NAME", help=f"{' | '.join(MODELS)} (default: poly)")
    g.add_argument(
        "--degree",
        type=int,
        metavar="N",
        help="polynomial degree, any N >= 0 (default: 3; poly only)",
    )
    g.add_argument(
        "--basis", metavar="NAME", help=f"{' | '.join(BASES)} (default: monomial; poly only)"
    )
    g = p.add_argument_group("training")
    if with_method:
        g.add_argument(
            "--method",
            metavar="NAME",
            help=f"how the gradient is computed: {' | '.join(CHOICES)} (default: auto = gram "
            "for float64 polynomial fits of >= 10^4 points, else manual)",
        )
        g.add_argument(
            "--optimizer", metavar="NAME", help=f"{' | '.join(OPTIMIZERS)} (default: sgd)"
        )
    g.add_argument(
        "--lr",
        type=_lr,
        help="learning rate, or 'auto' (from the loss curvature; see 'gradfit explain') "
        "(default: 1e-6; legendre3 5e-6, dynamic 1e-8)",
    )
    g.add_argument(
        "--momentum",
        type=float,
        metavar="M",
        help="momentum/nesterov (default 0.9) and rmsprop (default 0)",
    )
    g.add_argument(
        "--betas",
        type=float,
        nargs=2,
        metavar=("B1", "B2"),
        help="adam's betas (default: 0.9 0.999)",
    )
    g.add_argument("--eps", type=float, help="adam/rmsprop epsilon (default: 1e-8)")
    g.add_argument("--alpha", type=float, help="rmsprop smoothing constant (default: 0.99)")
    g.add_argument("--steps", type=int, metavar="N", help="gradient descent steps (default: 2000)")
    g.add_argument(
        "--no-guard",
        dest="guard",
        action="store_false",
        default=None,
        help="let a diverging run go on (by default a loss that is not finite or grows past "
        "1e4 x max(initial loss, sum y^2) stops the run at the step it happened, exit 1)",
    )
    g.add_argument(
        "--log-every",
        type=int,
        metavar="N",
        help="print the loss every N steps, at step N-1, 2N-1, ... (default: 100)",
    )
    g.add_argument(
        "--seed",
        type=int,
        metavar="N",
        help="seed for the initial parameters (default: drawn and reported)",
    )
    g.add_argument(
        "--init",
        type=_number_list,
        metavar="C0,C1,...",
        help="explicit initial parameters, lowest power first, one per parameter",
    )


def config_from_args(args: argparse.Namespace) -> FitConfig:
    """Preset (if any) <- options the user gave; everything else keeps FitConfig's default."""
    from .presets import preset_config

    names = (
        "backend",
        "device",
        "dtype",
        "points",
        "model",
        "degree",
        "basis",
        "method",
        "optimizer",
        "lr",
        "momentum",
        "eps",
        "alpha",
        "steps",
        "log_every",
        "seed",
        "init",
        "guard",
        "chunk_size",
        "batch_size",
        "shuffle",
    )
    options = {name: getattr(args, name, None) for name in names}
    options["x_range"] = tuple(args.x_range) if args.x_range else None
    options["betas"] = tuple(args.betas) if args.betas else None
    if getattr(args, "resume", None) is not None:
        resumed = _resume_config(args, options)
        if resumed is not None:
            return resumed
    options.update(_data_config(args))
    options.update(_long_run_config(args))
    return preset_config(args.preset, **options).validated()


def _name_list(text: str) -> list[str]:
    names = [t for t in re.split(r"[,\s]+", text.strip()) if t]
    if not names:
        raise argparse.ArgumentTypeError("expected a comma-separated list of names")
    return names


def _cmd_fit(args: argparse.Namespace) -> int:
    from .api import run
    from .progress import FitProgress, progress_enabled
    from .report import emit_json, failure_document, log_line, result_line

    config = config_from_args(args)
    _check_outputs(args)
    if config.workers is not None and not config.distributed:
        from .distributed import launch_workers

        return launch_workers(getattr(args, "argv", None) or sys.argv[1:], config.workers)
    text = args.json != "-"
    out = sys.stdout
    quiet = args.quiet or (config.distributed and _rank() != 0)
    bar = FitProgress(config.steps, out) if text and progress_enabled(out, quiet) else None

    def on_log(step: int, loss: float) -> None:
        if bar is not None:
            bar.log(step, loss, log_line(step, loss))
        else:
            out.write(log_line(step, loss) + "\n")

    try:
        with bar or contextlib.nullcontext():
            result = run(
                config,
                on_log=on_log if text and not quiet else None,
                on_step=bar.advance if bar is not None else None,
                step_stride=bar.stride if bar is not None else 0,
            )
    except DivergenceError as exc:
        if args.json is not None:  # the JSON records the failure, then the run fails (exit 1)
            emit_json(failure_document(config, exc), args.json, out)
        raise
    except FitInterrupted as exc:  # Ctrl-C: the partial result, where it was saved, exit 130
        return _report_interrupted(exc, args, out)
    if config.distributed and _rank() != 0:
        return 0  # rank 0 alone prints and writes files
    if text:
        if result.lr_auto is not None:
            out.write(f"lr auto: {result.lr_auto['lr']:.6g} ({result.lr_auto['rule']})\n")
        if result.method_auto is not None and result.method != "manual" and not args.quiet:
            out.write(f"method auto: {result.method} ({result.method_auto})\n")
        out.write(result_line(result.formula()) + "\n")
        if result.formula() != result.monomial_formula() and result.model.kind != "dynamic":
            out.write(f"In powers of x: {result.monomial_formula()}\n")
    if args.plot:
        from .plot import fit_plot_data, save_plot

        save_plot(fit_plot_data(result), args.plot)
    if args.json is not None:
        emit_json(result.to_dict(), args.json, out)
    if args.save is not None:
        result.save(args.save)
    if args.report is not None:
        from .report import markdown_report, write_text_atomic

        where = os.path.dirname(os.path.abspath(args.report))
        write_text_atomic(args.report, markdown_report(result, args.plot, where))
    if result.data and result.data.get("dropped"):
        print(
            f"{PROG}: note: left out {result.data['dropped']} row(s) of {result.data['path']} "
            "with NaN, missing or infinite values",
            file=sys.stderr,
        )
    return 0


def _rank() -> int:
    """This process's rank in a torch.distributed run (torchrun sets RANK), else 0."""
    import os

    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


def _report_interrupted(exc: Any, args: argparse.Namespace, out: Any) -> int:
    """Ctrl-C: print the partial result as a finished run would, say where the state went."""
    from .report import emit_json, result_line

    result = exc.result
    if getattr(args, "distributed", False) and _rank() != 0:
        return 130  # rank 0 alone reports
    if args.json != "-":
        out.write(result_line(result.formula()) + "\n")
    if args.json is not None:
        doc = result.to_dict() | {"status": "interrupted", "steps_done": exc.step}
        emit_json(doc, args.json, out)
    where = (
        f"; checkpoint written to {exc.checkpoint} (continue with: gradfit fit --resume "
        f"{exc.checkpoint})"
        if exc.checkpoint
        else "; give --checkpoint FILE to be able to --resume"
    )
    print(f"{PROG}: interrupted after {exc.step} steps{where}", file=sys.stderr)
    return 130


def _cmd_compare(args: argparse.Namespace) -> int:
    from .compare import compare, format_table
    from .report import emit_json

    config = config_from_args(args)
    _check_outputs(args)
    table = compare(config, args.methods, args.backends, args.optimizers)
    if args.json != "-":
        sys.stdout.write(format_table(table) + "\n")
    if args.plot:
        from .plot import compare_plot_data, save_plot

        save_plot(compare_plot_data(table, table.data.x, table.data.y), args.plot)
    if args.json is not None:
        emit_json(table.to_dict(), args.json, sys.stdout)
    return 0


def _cmd_explain(args: argparse.Namespace) -> int:
    from .explain import explain, render
    from .report import emit_json

    config = config_from_args(args)
    _check_outputs(args)
    ex = explain(config)
    if args.json != "-":
        sys.stdout.write(render(ex) + "\n")
    if args.json is not None:
        emit_json(ex.to_dict(), args.json, sys.stdout)
    return 0


def _cmd_presets(args: argparse.Namespace) -> int:
    from .presets import PRESETS

    width = max(len(name) for name in PRESETS)
    for name, (description, values) in PRESETS.items():
        flags = (
            " ".join(f"--{k.replace('_', '-')} {v}" for k, v in values.items() if k != "backend")
            or "(the defaults)"
        )
        backend = values.get("backend", "torch")
        print(f"{name.ljust(width)}  {description}")
        print(f"{''.ljust(width)}  = gradfit fit --backend {backend} {flags}".rstrip())
    return 0


def _check_writable(path: str) -> None:
    from pathlib import Path

    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise UsageError(f"cannot write {path}: it is a directory")
    if not parent.is_dir():
        raise UsageError(f"cannot write {path}: directory {parent} does not exist")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gradfit`` command; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        args.argv = argv  # --workers starts copies of this command
        return int(args.handler(args))
    except GradfitError as exc:
        if debug:
            raise
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `gradfit fit | head`
        sys.stderr.close()
        return 0
