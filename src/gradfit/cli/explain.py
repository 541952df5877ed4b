"""``gradfit explain``: what ``gradfit fit`` with the same options does, and why; nothing runs."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .common import HelpFormatter, Parser, add_output_options, check_outputs

DESCRIPTION = (
    "Explain, with this problem's numbers, what 'gradfit fit' with the same options "
    "does: the model, the loss and its gradient formulas, the closed-form optimum, the "
    "Hessian's eigenvalues, the largest stable and the best learning rate, the loss "
    "predicted after the requested steps, and what would converge faster. Nothing is "
    "trained."
)

EXPLAIN_EXAMPLES = """\
examples:
  gradfit explain                     the article's run: why lr 1e-6 works, what 1e-5 would do
  gradfit explain --lr 1e-5           an unstable rate, and by how much
  gradfit explain --degree 5 --lr auto
  gradfit explain --optimizer momentum --lr auto --json
  gradfit explain --plain             then each term it used, defined in one line
  gradfit explain --model 'b1*(1-exp(-b2*x))' --init b1=500,b2=1e-4 --data misra1a.csv
"""


def add_parser(sub: Any) -> None:
    """``gradfit explain``: the table's options for explain, then the output options."""
    explain = sub.add_parser(
        "explain",
        help="explain the run: gradient formulas, the optimum, the Hessian, the stable lr",
        description=DESCRIPTION,
        epilog=EXPLAIN_EXAMPLES,
        formatter_class=HelpFormatter,
    )
    explain.set_defaults(handler=run)
    explain.defer(_add_options)


def _add_options(explain: Parser) -> None:
    """The table's options for explain, then the output options."""
    from .table import add_table_options

    add_table_options(explain, "explain")
    add_output_options(explain, "the explanation")
    explain.add_argument(
        "--plain",
        action="store_true",
        help="after the explanation, define each term it used in one plain line (the "
        'glossary\'s words; with --json also as "plain_words")',
    )


def run(args: argparse.Namespace) -> int:
    """Run ``gradfit explain``; return the exit status."""
    from ..models import is_formula
    from ..outputs import emit_json
    from ..understand.glossary import plain_words, render_plain
    from .fit import note_drawn_seed
    from .table import config_from_args

    config = config_from_args(args)
    check_outputs(args)
    if is_formula(config.model):
        from ..understand.nonlinear import explain_formula as explain
        from ..understand.nonlinear import render_formula as render
    else:
        from ..understand.explain import explain, render  # type: ignore[assignment]
    ex = explain(config)
    text = render(ex)
    if args.json != "-":
        sys.stdout.write(text + "\n")
        if args.plain:
            sys.stdout.write(render_plain(text) + "\n")
        if getattr(ex, "seed_drawn", False):
            note_drawn_seed(ex.config.seed)
    if args.json is not None:
        doc = ex.to_dict()
        if args.plain:
            doc["plain_words"] = dict(plain_words(text))
        emit_json(doc, args.json, sys.stdout)
    return 0
