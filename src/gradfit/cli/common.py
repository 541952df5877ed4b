"""What every command shares: the parser class, value parsers, output options and their checks."""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import textwrap
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import UsageError

PROG = "gradfit"
# Let values such as -pi, -1e-3 or -0.5,1,2,3 follow an option instead of being taken for one.
_NEGATIVE_VALUE = re.compile(r"^-(\d|\.\d|pi$|inf$)")
# Help text is wrapped to the terminal, but never wider than this.
MAX_WIDTH = 100


class Parser(argparse.ArgumentParser):
    """argparse that reports errors as one ``gradfit: error:`` line (raised, handled in main)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = _NEGATIVE_VALUE
        self._deferred: list[Callable[[Parser], None]] = []

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")

    def defer(self, add_options: Callable[[Parser], None]) -> None:
        """Add options with ``add_options(self)`` only when this parser parses or shows help.

        A command's options need the option table, and through it FitConfig and NumPy;
        ``gradfit --help`` and the other commands do not, so they do not pay for it.
        """
        self._deferred.append(add_options)

    def complete(self) -> Parser:
        """Add the deferred options now (all of them, in the order they were deferred)."""
        while self._deferred:
            self._deferred.pop(0)(self)
        return self

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        self.complete()
        return super().parse_known_args(args, namespace)

    def format_help(self) -> str:
        self.complete()
        return super().format_help()

    def format_usage(self) -> str:
        self.complete()
        return super().format_usage()


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Wraps prose to the terminal (at most MAX_WIDTH columns) and keeps indented lines, such as
    the examples, exactly as written."""

    def __init__(self, prog: str, **kwargs: Any) -> None:
        width = kwargs.pop("width", None) or shutil.get_terminal_size().columns - 2
        super().__init__(prog, width=min(width, MAX_WIDTH), **kwargs)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        lines = []
        for line in text.splitlines():
            if line[:1].isspace() or len(indent + line) <= width:
                lines.append(indent + line)
            else:
                lines.extend(textwrap.wrap(indent + line, width, subsequent_indent=indent))
        return "\n".join(lines)


def number(text: str) -> float:
    """A float, or pi / -pi (the article's range), without evaluating anything."""
    t = text.strip().lower()
    sign = -1.0 if t.startswith("-") else 1.0
    if t.lstrip("+-") == "pi":
        return sign * math.pi
    try:
        return float(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def learning_rate(text: str) -> float | str:
    """A float, or 'auto'."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number or 'auto': {text!r}") from None


def number_list(text: str) -> tuple[float, ...] | dict[str, float]:
    """'c0,c1,...' (commas or spaces) as a tuple of numbers (pi allowed), or 'b1=500,b2=1e-4'
    as a dict of named numbers."""
    parts = [p for p in re.split(r"[,\s]+", re.sub(r"\s*=\s*", "=", text.strip())) if p]
    if not parts:
        raise argparse.ArgumentTypeError("expected numbers c0,c1,... or name=value pairs")
    if not any("=" in p for p in parts):
        return tuple(number(p) for p in parts)
    named: dict[str, float] = {}
    for part in parts:
        name, _, value = part.partition("=")
        if not name.isidentifier() or not value:
            raise argparse.ArgumentTypeError(
                f"expected name=value pairs such as b1=500,b2=1e-4, got {part[:40]!r}"
            )
        if name in named:
            raise argparse.ArgumentTypeError(f"{name} is given twice")
        named[name] = number(value)
    return named


def name_list(text: str) -> list[str]:
    """'a,b,c' (commas or spaces) as a list of names."""
    names = [t for t in re.split(r"[,\s]+", text.strip()) if t]
    if not names:
        raise argparse.ArgumentTypeError("expected a comma-separated list of names")
    return names


def add_output_options(
    p: argparse.ArgumentParser,
    what: str,
    quiet: bool = False,
    plot: bool = False,
    save: bool = False,
) -> None:
    """--json (all), --quiet/--report/--save (fit), --plot (fit, compare), --debug (all)."""
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
    if save:
        g.add_argument(
            "--save",
            default=None,
            metavar="MODEL.json",
            help="write the fitted model to MODEL.json, for 'gradfit predict' and gradfit.load()",
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
    add_debug_option(g)


def add_debug_option(p: Any) -> None:
    """--debug: tracebacks instead of one error line (main looks for it in argv)."""
    p.add_argument("--debug", action="store_true", help="show tracebacks for errors")


def check_outputs(args: argparse.Namespace) -> None:
    """Fail on an unwritable destination before spending the run."""
    plot = getattr(args, "plot", None)
    for extra in (
        getattr(args, "save", None),
        getattr(args, "report", None),
        getattr(args, "checkpoint", None),
    ):
        if extra is not None:
            check_writable(extra)
    if plot is not None and not plot.lower().endswith(".png"):
        raise UsageError(f"--plot writes a PNG image; give a file name ending in .png, not {plot}")
    for dest in (args.json, plot):
        if dest is not None and dest != "-":
            check_writable(dest)
    from ..outputs import check_distinct, same_file

    outputs = {
        "--json": args.json,
        "--plot": plot,
        "--save": getattr(args, "save", None),
        "--report": getattr(args, "report", None),
        "--checkpoint": getattr(args, "checkpoint", None),
    }
    inputs = {"--data": getattr(args, "data", None)}
    resume = getattr(args, "resume", None)
    ckpt = outputs["--checkpoint"]
    if resume is not None and not (ckpt is not None and same_file(resume, ckpt)):
        inputs["--resume"] = resume  # --checkpoint F --resume F: one file, by design
    check_distinct(outputs, inputs)


def check_writable(path: str) -> None:
    """Refuse a destination that is a directory or lies in a directory that does not exist."""
    from pathlib import Path

    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise UsageError(f"cannot write {path}: it is a directory")
    if not parent.is_dir():
        raise UsageError(f"cannot write {path}: directory {parent} does not exist")


def rank() -> int:
    """This process's rank in a torch.distributed run (torchrun sets RANK), else 0."""
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0
