"""The ``gradfit`` command: arguments -> FitConfig -> gradfit.run() -> report. No math here."""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Sequence
from typing import Any

from . import __version__
from .backends import BACKENDS, DTYPES
from .config import FitConfig
from .errors import GradfitError, UsageError

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
  gradfit fit --target 'exp(-x**2) * cos(3*x)' --range -2 2 --lr auto --steps 5000
  gradfit fit --target 'sin(x)' --noise 0.1 --seed 1     sin(x) plus reproducible noise
  gradfit fit --data points.csv --save model.json        your own data (x, y columns)
  gradfit fit --data log.parquet --x time --y temp --degree 2 --backend numpy

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
        epilog="Run 'gradfit fit' for the article's experiment; 'gradfit fit --help' for options.",
    )
    parser.add_argument("--version", action="version", version=f"gradfit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    fit = sub.add_parser(
        "fit",
        help="fit a polynomial to sin(x) by gradient descent (the article's experiment)",
        description=(
            "Fit y = c0 + c1 x + ... + cn x^n to sin(x) by gradient descent on the sum of squared "
            "errors, with the hand-derived gradient. Defaults are the article's: torch, float32, "
            "CPU, 2000 points on [-pi, pi], degree 3, lr 1e-6, 2000 steps, loss every 100 steps."
        ),
        epilog=FIT_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g = fit.add_argument_group("backend")
    g.add_argument(
        "--backend",
        default="torch",
        metavar="NAME",
        help=f"array library: {' | '.join(BACKENDS)} (default: torch)",
    )
    g.add_argument(
        "--device",
        default="cpu",
        metavar="DEV",
        help="cpu | cuda | cuda:N | mps | auto (default: cpu; auto picks a GPU if any)",
    )
    g.add_argument(
        "--dtype",
        default=None,
        metavar="DTYPE",
        help=f"{' | '.join(DTYPES)} (default: float32 on torch, float64 on numpy)",
    )
    g = fit.add_argument_group("problem and model")
    g.add_argument(
        "--points",
        type=int,
        default=2000,
        metavar="N",
        help="number of evenly spaced x values (default: 2000)",
    )
    g.add_argument(
        "--range",
        type=_number,
        nargs=2,
        default=(-math.pi, math.pi),
        metavar=("A", "B"),
        dest="x_range",
        help="x interval; numbers or pi, -pi (default: -pi pi)",
    )
    g.add_argument(
        "--degree",
        type=int,
        default=3,
        metavar="N",
        help="polynomial degree, any N >= 0 (default: 3)",
    )
    _add_data_options(fit)
    g = fit.add_argument_group("training")
    g.add_argument(
        "--lr",
        type=_lr_value,
        default=None,
        help="learning rate, or 'auto' for 1/lambda_max of the loss's Hessian (default: 1e-6, "
        "the article's; auto with --data or --scale)",
    )
    g.add_argument(
        "--steps",
        type=int,
        default=2000,
        metavar="N",
        help="gradient descent steps (default: 2000)",
    )
    g.add_argument(
        "--log-every",
        type=int,
        default=100,
        metavar="N",
        help="print the loss every N steps, at step N-1, 2N-1, ... (default: 100)",
    )
    g.add_argument(
        "--seed",
        type=int,
        default=None,
        metavar="N",
        help="seed for the initial coefficients (default: drawn and reported)",
    )
    g.add_argument(
        "--init",
        type=_number_list,
        default=None,
        metavar="C0,C1,...",
        help="explicit initial coefficients, lowest power first, one per power",
    )
    g = fit.add_argument_group("output")
    g.add_argument("--quiet", "-q", action="store_true", help="print only the Result line")
    g.add_argument(
        "--json",
        nargs="?",
        const="-",
        default=None,
        metavar="FILE",
        help="write the run as JSON to FILE; without FILE, print only JSON on stdout",
    )
    g.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    fit.set_defaults(handler=_cmd_fit)
    _add_predict_command(sub)
    return parser


def _cmd_fit(args: argparse.Namespace) -> int:
    from .api import run
    from .report import emit_json, log_line, result_line

    config = FitConfig(
        backend=args.backend,
        device=args.device,
        dtype=args.dtype,
        degree=args.degree,
        lr=args.lr if args.lr is not None else "auto" if args.data or args.scale else 1e-6,
        steps=args.steps,
        log_every=args.log_every,
        seed=args.seed,
        init=args.init,
        points=args.points,
        x_range=tuple(args.x_range),
        **_data_config(args),
    ).validated()
    if args.json is not None and args.json != "-":
        # Fail on an unwritable destination before spending the run.
        _check_writable(args.json)
    if args.save is not None:
        _check_writable(args.save)
    text = args.json != "-"
    out = sys.stdout

    def on_log(step: int, loss: float) -> None:
        out.write(log_line(step, loss) + "\n")

    result = run(config, on_log=on_log if text and not args.quiet else None)
    if text:
        out.write(result_line(result.formula()) + "\n")
    if args.json is not None:
        emit_json(result.to_dict(), args.json, out)
    if args.save is not None:
        result.save(args.save)
    if result.data and result.data.get("dropped"):
        print(
            f"{PROG}: note: left out {result.data['dropped']} row(s) of {result.data['path']} "
            "with NaN, missing or infinite values",
            file=sys.stderr,
        )
    return 0


def _lr_value(text: str) -> float | str:
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid float value: {text!r} (give a number or 'auto')"
        ) from None


def _add_data_options(fit: argparse.ArgumentParser) -> None:
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
    g.add_argument(
        "--save",
        default=None,
        metavar="MODEL.json",
        help="write the fitted model to MODEL.json, for 'gradfit predict' and gradfit.load()",
    )


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

    from .loaders import load_column
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
