"""``gradfit learn``: the ladder of exercises (list, start, check, solution)."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path
from typing import Any

from .common import HelpFormatter, Parser

EPILOG = """\
examples:
  gradfit learn                   the exercises (and your progress, in a folder of them)
  gradfit learn start ex          write the exercises into the folder ex
  gradfit learn solution ex 1     write exercise 1's reference solution (yours is kept)
  gradfit learn check ex 1        check exercise 1 only
  gradfit learn --dir ex          your progress in ex

'gradfit learn check ex' checks the exercises in order and stops at the first wrong one \
with a hint: what is wrong, with numbers.

exit status: check exits 0 when every exercise it checked passes, 1 otherwise."""


def add_parser(sub: Any) -> None:
    """``gradfit learn`` and its actions ``start``, ``check`` and ``solution``."""
    learn = sub.add_parser(
        "learn",
        help="exercises that check themselves: from the article's forward pass to autograd",
        description="A ladder of small Python exercises following the article and PyTorch's "
        "'Learning PyTorch with Examples': the forward pass, the loss, the gradients, the "
        "loop and its stable learning rate, torch tensors, autograd, nn and optim, a custom "
        "autograd Function, momentum, a formula model. 'check' runs your code on fixed inputs "
        "and says what is wrong, with numbers.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    learn.add_argument(
        "--dir", metavar="DIR", help="show the progress in DIR (default: here, if it has exercises)"
    )
    learn.set_defaults(handler=run_list)
    actions = learn.add_subparsers(dest="action", metavar="ACTION", parser_class=Parser)
    start = actions.add_parser(
        "start",
        help="write the exercises into DIR (existing files are kept)",
        description="Write the exercises as small Python files with TODOs into DIR (made if "
        "missing). A file that exists is kept as it is: it may hold your work.",
        epilog="example:\n  gradfit learn start ex",
        formatter_class=HelpFormatter,
    )
    start.add_argument("folder", metavar="DIR", type=Path)
    start.set_defaults(handler=run_start)
    check = actions.add_parser(
        "check",
        help="run the exercises in DIR and say what is wrong",
        description="Run the exercises in DIR in order (or exercise N only), each in a fresh "
        "Python process with a time limit, and stop at the first that is wrong with a hint "
        "that says what is wrong. Exit status 0 when all checked pass, 1 otherwise.",
        epilog="examples:\n  gradfit learn check ex\n  gradfit learn check ex 3\n"
        "  gradfit learn check ex 3 --plain",
        formatter_class=HelpFormatter,
    )
    check.add_argument("folder", metavar="DIR", type=Path)
    check.add_argument("number", metavar="N", type=int, nargs="?", help="check exercise N only")
    check.add_argument(
        "--time-limit",
        type=float,
        default=20.0,
        metavar="S",
        help="seconds each exercise may run (default 20)",
    )
    check.add_argument(
        "--plain",
        action="store_true",
        help="after a hint, define each term it used in one plain line (the glossary's words)",
    )
    check.set_defaults(handler=run_check)
    solution = actions.add_parser(
        "solution",
        help="write exercise N's reference solution into DIR (your version is kept)",
        description="Write the reference solution of exercise N to its file in DIR. Your own "
        "version, if you changed the template, is renamed to NAME.mine.py first: never lost.",
        epilog="example:\n  gradfit learn solution ex 3",
        formatter_class=HelpFormatter,
    )
    solution.add_argument("folder", metavar="DIR", type=Path)
    solution.add_argument("number", metavar="N", type=int)
    solution.set_defaults(handler=run_solution)


def run_list(args: argparse.Namespace) -> int:
    """The exercises; the progress in --dir, or here when here holds exercises."""
    from ..errors import UsageError
    from ..learn.workspace import has_exercises, listing

    folder = Path(args.dir) if args.dir else Path(".")
    if args.dir and not has_exercises(folder):
        raise UsageError(f"{folder} holds no exercises: 'gradfit learn start {folder}' writes them")
    print(listing(folder if has_exercises(folder) else None))
    return 0


def run_start(args: argparse.Namespace) -> int:
    """Write the templates; report what was written and what was kept."""
    from ..learn import EXERCISES
    from ..learn.workspace import start

    written, kept = start(args.folder)
    if written:
        print(f"wrote {len(written)} exercises into {args.folder}:")
        for path in written:
            print(f"  {path}")
    if kept:
        print(f"kept {len(kept)} files that were already there (your work is not overwritten):")
        for path in kept:
            print(f"  {path}")
    first = args.folder / EXERCISES[0].file
    print(f"Next: open {first}, fill in the TODO, then run: gradfit learn check {args.folder}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    """Check the exercises in order (or one); print each outcome and what to do next."""
    from ..errors import UsageError
    from ..learn import EXERCISES, by_number
    from ..learn.check import run_checks
    from ..learn.workspace import has_exercises, record

    folder: Path = args.folder
    if not has_exercises(folder):
        raise UsageError(f"{folder} holds no exercises: 'gradfit learn start {folder}' writes them")
    if not args.time_limit > 0:
        raise UsageError("--time-limit must be a positive number of seconds")
    chosen = [by_number(args.number)] if args.number is not None else list(EXERCISES)
    outcomes = run_checks(
        [(ex, folder / ex.file) for ex in chosen], args.time_limit, stop_at_failure=True
    )
    width = max(len(ex.name) for ex in chosen)
    for o in outcomes:
        tag = {"pass": "ok", "fail": "FAIL", "skip": "skip"}[o.status]
        print(f"{tag:5s}{o.exercise.number:2d}  {o.exercise.name.ljust(width)}  {o.path}")
        if o.hint:
            print(hint_lines(o.hint))
            if args.plain:
                print(_plain(o.hint))
    failed = [o for o in outcomes if o.status == "fail"]
    record(folder, [o.path for o in outcomes if o.passed], [o.path for o in failed])
    print()
    if failed:
        n = failed[0].exercise.number
        print(f"Fix {failed[0].path}, then run: gradfit learn check {folder} {n}")
        print(f"Stuck? 'gradfit learn solution {folder} {n}' writes the answer; yours is kept.")
        return 1
    if args.number is not None:
        after = EXERCISES[args.number] if args.number < len(EXERCISES) else None
        print(
            f"Exercise {args.number} passes." + (f" Next: {folder / after.file}" if after else "")
        )
    else:
        skipped = sum(o.status == "skip" for o in outcomes)
        note = f" ({skipped} skipped: PyTorch is not installed)" if skipped else ""
        print(f"All {len(EXERCISES) - skipped} exercises pass.{note}")
    return 0


def _plain(hint: str) -> str:
    """The glossary's one-line definitions of the terms ``hint`` used, indented under it."""
    from ..understand.glossary import plain_words

    words = plain_words(hint)
    if not words:
        return ""
    return "\n".join(["       In plain words:", *(f"         {t}: {d}" for t, d in words)])


def hint_lines(hint: str, indent: int = 7, width: int = 100) -> str:
    """A hint under its exercise: split after its first ': ' when too long for one line (what is
    wrong, then the rule or the fix), each part wrapped without breaking a formula's words."""
    parts = [hint]
    if indent + len(hint) > width and ": " in hint:
        head, rest = hint.split(": ", 1)
        parts = [head + ":", rest]
    pad = " " * indent
    return "\n".join(
        textwrap.fill(p, width, initial_indent=pad, subsequent_indent=pad, break_on_hyphens=False)
        for p in parts
    )


def run_solution(args: argparse.Namespace) -> int:
    """Write one reference solution, saying where and what became of the learner's file."""
    from ..learn import by_number
    from ..learn.workspace import write_solution

    path, _, note = write_solution(args.folder, by_number(args.number))
    print(f"wrote the reference solution of exercise {args.number} to {path} ({note})")
    return 0
