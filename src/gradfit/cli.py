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
    g = fit.add_argument_group("training")
    g.add_argument("--lr", type=float, default=1e-6, help="learning rate (default: 1e-6)")
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
    _add_doctor_command(sub)
    return parser


def _add_doctor_command(sub: Any) -> None:
    """``gradfit doctor``: its options, handler and help text live in :mod:`gradfit.doctor`."""
    from . import doctor

    doctor.configure_parser(sub.add_parser("doctor", **doctor.parser_kwargs()))


def _cmd_fit(args: argparse.Namespace) -> int:
    from .api import run
    from .report import emit_json, log_line, result_line

    config = FitConfig(
        backend=args.backend,
        device=args.device,
        dtype=args.dtype,
        degree=args.degree,
        lr=args.lr,
        steps=args.steps,
        log_every=args.log_every,
        seed=args.seed,
        init=args.init,
        points=args.points,
        x_range=tuple(args.x_range),
    ).validated()
    if args.json is not None and args.json != "-":
        # Fail on an unwritable destination before spending the run.
        _check_writable(args.json)
    text = args.json != "-"
    out = sys.stdout

    def on_log(step: int, loss: float) -> None:
        out.write(log_line(step, loss) + "\n")

    result = run(config, on_log=on_log if text and not args.quiet else None)
    if text:
        out.write(result_line(result.formula()) + "\n")
    if args.json is not None:
        emit_json(result.to_dict(), args.json, out)
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
