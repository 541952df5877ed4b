"""``gradfit compare``: several methods, backends and optimizers from one start, as one table."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .common import HelpFormatter, Parser, add_output_options, check_outputs, name_list

DESCRIPTION = (
    "Run every combination of --methods, --backends and --optimizers on the same "
    "problem from the same initial parameters, and print one table: final loss, "
    "distance to the closed-form optimum, largest coefficient difference from the first "
    "run, and time per step. Runs are float64 unless --dtype says otherwise; "
    "combinations that cannot run (autograd on numpy) are skipped and listed."
)

COMPARE_EXAMPLES = """\
examples:
  gradfit compare                               manual/autograd/nn/module on numpy and torch
  gradfit compare --optimizers sgd,adam --lr 1e-3 --steps 500
  gradfit compare --methods manual --backends numpy,torch --dtype float32 --json cmp.json
"""


def add_parser(sub: Any) -> None:
    """``gradfit compare``: the table's options (less --backend, --method, --optimizer, which it
    compares), what to compare, and the output options."""
    compare = sub.add_parser(
        "compare",
        help="run several methods/backends/optimizers from one start and tabulate them",
        description=DESCRIPTION,
        epilog=COMPARE_EXAMPLES,
        formatter_class=HelpFormatter,
    )
    compare.set_defaults(handler=run)
    compare.defer(_add_options)


def _add_options(compare: Parser) -> None:
    """The table's options (less those compared), what to compare, the output options."""
    from .table import add_table_options

    add_table_options(compare, "compare")
    g = compare.add_argument_group("what to compare")
    g.add_argument(
        "--methods",
        type=name_list,
        default=["manual", "autograd", "nn", "module"],
        metavar="M,M,...",
        help="default: manual,autograd,nn,module",
    )
    g.add_argument(
        "--backends",
        type=name_list,
        default=["numpy", "torch"],
        metavar="B,B,...",
        help="default: numpy,torch",
    )
    g.add_argument(
        "--optimizers", type=name_list, default=["sgd"], metavar="O,O,...", help="default: sgd"
    )
    add_output_options(compare, "the table", plot=True)


def run(args: argparse.Namespace) -> int:
    """Run ``gradfit compare``; return the exit status."""
    from ..outputs import emit_json
    from ..understand.compare import compare, format_table
    from .table import config_from_args

    config = config_from_args(args)
    check_outputs(args)
    table = compare(config, args.methods, args.backends, args.optimizers)
    if args.json != "-":
        sys.stdout.write(format_table(table) + "\n")
    if args.plot:
        from ..understand.plot import compare_plot_data, save_plot

        save_plot(compare_plot_data(table, table.data.x, table.data.y), args.plot)
    if args.json is not None:
        emit_json(table.to_dict(), args.json, sys.stdout)
    return 0
