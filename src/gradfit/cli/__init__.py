"""The ``gradfit`` command: arguments -> FitConfig -> one call -> text. No math, no policy.

One module per command (:data:`COMMANDS`: fit, compare, explain, presets, predict, doctor),
each with ``add_parser(subparsers)`` and imported light: a command's handler imports what it
runs, and the run options of fit, explain and compare (generated from the option table,
:mod:`gradfit.options`, by :mod:`gradfit.cli.table`) are added only when that command is used.
:mod:`gradfit.cli.common` holds the parser class, value parsers and output checks. ``main``
turns every :class:`~gradfit.errors.GradfitError` into one ``gradfit: error:`` line and its exit
status.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

from .._version import __version__
from ..errors import GradfitError
from .common import PROG, HelpFormatter, Parser

__all__ = ["COMMANDS", "PROG", "build_parser", "config_from_args", "main"]

#: The commands, in the order ``gradfit --help`` lists them: each the name of a module of this
#: package with ``add_parser(subparsers)``. Its options may be deferred (``Parser.defer``) so
#: that the other commands and ``gradfit --help`` do not import what they need.
COMMANDS = ("fit", "compare", "explain", "landscape", "presets", "predict", "doctor", "learn")


def build_parser(lazy: bool = False) -> argparse.ArgumentParser:
    """The full argument parser (exposed for docs and tests).

    ``lazy``: leave each command's deferred options to be added when that command is parsed
    (what :func:`main` does: one command line needs the options of one command at most).
    """
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
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").add_parser(sub)
    if not lazy:
        for command in sub.choices.values():
            if isinstance(command, Parser):
                command.complete()
    return parser


def __getattr__(name: str) -> Any:
    """``config_from_args``, from :mod:`gradfit.cli.table` (which imports FitConfig) on use."""
    if name == "config_from_args":
        from .table import config_from_args

        return config_from_args
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gradfit`` command; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        return _run(argv)
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


def _run(argv: list[str]) -> int:
    """Parse ``argv`` and run its command; an import broken by a stand-in (the user's random.py,
    numpy/ ...) is explained in one line, as ``import gradfit`` explains one."""
    try:
        args = build_parser(lazy=True).parse_args(argv)
        args.argv = argv  # --workers starts copies of this command
        return int(args.handler(args))
    except (GradfitError, BrokenPipeError):
        raise
    except Exception as exc:
        from .. import _explain

        _explain(exc)
        raise
