"""The ``gradfit`` command: arguments -> FitConfig -> one call -> text. No math, no policy.

One module per command (fit, predict, explain, compare, presets, doctor), each with
``add_parser(subparsers)``; the run options of fit, explain and compare are generated from the
option table (:mod:`gradfit.options`) by :mod:`gradfit.cli.table`; :mod:`gradfit.cli.common`
holds the parser class, value parsers and output checks. ``main`` turns every
:class:`~gradfit.errors.GradfitError` into one ``gradfit: error:`` line and its exit status.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import GradfitError
from . import compare, doctor, explain, fit, landscape, learn, predict, presets
from .common import PROG, HelpFormatter, Parser
from .table import config_from_args

__all__ = ["PROG", "build_parser", "config_from_args", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (exposed for docs and tests)."""
    parser = Parser(
        prog=PROG,
        description="Fit models by gradient descent, and see exactly how.",
        epilog="Run 'gradfit fit' for the article's experiment; 'gradfit COMMAND --help' for "
        "a command's options.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"gradfit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for command in (fit, compare, explain, landscape, presets, predict, doctor, learn):
        command.add_parser(sub)
    return parser


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
