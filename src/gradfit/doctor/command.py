"""The ``gradfit doctor`` command: its arguments, help text and handler, and :func:`main`, which
runs it without the rest of gradfit (when ``import gradfit`` itself fails)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from ..errors import GradfitError, UsageError

HELP = "check Python, NumPy, PyTorch, its devices, and files that hide modules (torch.py)"
DESCRIPTION = """\
Check that this Python can run the article: Python, NumPy, PyTorch and the other
dependencies (versions, and where each is imported from), the PyTorch build and its devices,
torch.rand(5, 3) on each device, and a 10-step fit on each device compared with NumPy.

Then look for files and folders named like a module that gradfit or your scripts need
(torch.py, numpy/, random.py ...) in the current directory, beside each SCRIPT and on
sys.path: Python imports those instead of the real module, and fails with "partially
initialized module 'torch' has no attribute 'rand' (most likely due to a circular import)".
Nothing found is imported or run.
"""
EPILOG = """\
examples:
  gradfit doctor                    check this Python and the current directory
  gradfit doctor torch.py           also check a script (its imports are read, it is not run)
  python -m gradfit doctor --json   the same as a JSON document (schema gradfit.doctor/1)

exit status: 0 when nothing failed (warnings are fine), 1 when a check failed, 2 for bad usage.
"""


def configure_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the doctor's arguments and handler to ``parser`` (``gradfit doctor``)."""
    parser.add_argument(
        "scripts",
        nargs="*",
        metavar="SCRIPT",
        help="a Python script of yours: its name, folder and imports are checked (not run)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the report as one JSON document on stdout"
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    parser.set_defaults(handler=command)
    return parser


def parser_kwargs() -> dict[str, Any]:
    """Keyword arguments for ``subparsers.add_parser('doctor', ...)``."""
    return {
        "help": HELP,
        "description": DESCRIPTION,
        "epilog": EPILOG,
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }


def command(args: argparse.Namespace, *, runtime: bool = True, out: TextIO | None = None) -> int:
    """Run the doctor for parsed arguments, print the report, return the exit status."""
    from .run import run_doctor  # the checks: not needed for the parser and its help

    out = out or sys.stdout
    try:
        report = run_doctor(args.scripts, runtime=runtime)
    except FileNotFoundError as exc:
        raise UsageError(f"{exc}; give the path of a Python file") from None
    if args.json:
        out.write(json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n")
    else:
        out.write(report.format_text(color=_use_color(out)))
    out.flush()
    return report.exit_code


def main(argv: Sequence[str] | None = None, *, runtime: bool = True) -> int:
    """``gradfit doctor ARGS`` on its own, without the rest of gradfit (used when ``import
    gradfit`` itself fails because a stand-in hides NumPy)."""
    argv = list(sys.argv[1:] if argv is None else argv)

    class _Parser(argparse.ArgumentParser):
        def error(self, message: str) -> None:  # type: ignore[override]
            raise _UsageExit(f"{message} (see '{self.prog} --help')")

    parser = configure_parser(_Parser(prog="gradfit doctor", **_without_help(parser_kwargs())))
    try:
        args = parser.parse_args(argv)
        return command(args, runtime=runtime)
    except (_UsageExit, GradfitError) as exc:
        print(f"gradfit: error: {exc}", file=sys.stderr)
        return 2


class _UsageExit(Exception):
    pass


def _without_help(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if k != "help"}


def _use_color(stream: TextIO) -> bool:
    """Colours only on a terminal, and never with NO_COLOR set or TERM=dumb."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
