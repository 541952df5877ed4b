"""``gradfit landscape``: the loss over two parameters, with each optimizer's path across it."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .common import HelpFormatter, Parser, add_debug_option, check_writable, number

DESCRIPTION = (
    "Run several optimizers from the same start, recording their parameters, and draw the "
    "loss over two of the parameters (the others at the optimum) as a contour map with each "
    "optimizer's path on top: why plain gradient descent crawls along a narrow valley or "
    "zigzags across it, why momentum helps, why Levenberg-Marquardt jumps. The runs and the "
    "map are NumPy float64. Prints where each optimizer ended; writes the picture to --out."
)

LANDSCAPE_EXAMPLES = """\
examples:
  gradfit landscape --seed 1 -o landscape.png          sgd, momentum and lm on the article's run
  gradfit landscape --seed 1 --params c0,c2 --optimizers sgd,momentum,adam:0.01 -o c0c2.png
  gradfit landscape --model 'b1*(1-exp(-b2*x))' --init b1=500,b2=1e-4 --data misra1a.csv -o m.png
  gradfit landscape --seed 1 --lr 3e-6 --steps 300 --grid 80 --box 0.5 1.2 -0.3 0.1 -o zoom.png

--params: two parameter names (c0, c1, ... for a polynomial; a formula's own names) or
  indices; default: the pair whose curvature is worst conditioned, the narrowest valley.
--optimizers: names from fit's --optimizer, each with its own rate after a colon if wanted
  (adam:0.01); lm and gauss-newton take none. The other options are fit's.
"""


def add_parser(sub: Any) -> None:
    """``gradfit landscape``: the table's run options, what to draw, and where."""
    p = sub.add_parser(
        "landscape",
        help="the loss over two parameters, with the paths of several optimizers across it",
        description=DESCRIPTION,
        epilog=LANDSCAPE_EXAMPLES,
        formatter_class=HelpFormatter,
    )
    p.set_defaults(handler=run)
    p.defer(_add_options)


def _add_options(p: Parser) -> None:
    """The table's run options, then what to draw (when ``gradfit landscape`` is used)."""
    from .table import add_table_options

    add_table_options(p, "landscape")
    g = p.add_argument_group("the picture")
    g.add_argument(
        "--optimizers",
        default="sgd,momentum,lm",
        metavar="O[:LR],...",
        help="the optimizers whose paths are drawn, from the same start (default: sgd,momentum,lm)",
    )
    g.add_argument(
        "--params",
        default=None,
        metavar="P,Q",
        help="the two parameters to draw, by name or index (default: the worst-conditioned pair)",
    )
    g.add_argument(
        "--grid", type=int, default=60, metavar="N", help="N x N loss values (default: 60)"
    )
    g.add_argument(
        "--box",
        type=number,
        nargs=4,
        default=None,
        metavar=("LO1", "HI1", "LO2", "HI2"),
        help="the ranges of the two parameters (default: around the optimum, holding every path)",
    )
    g.add_argument(
        "-o", "--out", required=True, metavar="FILE.png", help="write the picture to FILE.png"
    )
    add_debug_option(g)


def run(args: argparse.Namespace) -> int:
    """Run ``gradfit landscape``; return the exit status."""
    from ..errors import UsageError
    from ..outputs import check_distinct
    from ..understand.landscape import format_summary, landscape, save_landscape
    from .table import config_from_args

    config = config_from_args(args)
    if not args.out.lower().endswith(".png"):
        raise UsageError(
            f"--out writes a PNG image; give a file name ending in .png, not {args.out}"
        )
    check_writable(args.out)
    check_distinct({"--out": args.out}, {"--data": args.data})
    box = None if args.box is None else tuple(args.box)
    land = landscape(config, args.optimizers, args.params, args.grid, box)
    sys.stdout.write(format_summary(land) + "\n")
    save_landscape(land, args.out)
    sys.stdout.write(f"Wrote      {args.out}\n")
    return 0
