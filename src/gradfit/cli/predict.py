"""``gradfit predict``: evaluate a model saved by ``gradfit fit --save`` at new x values."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import UsageError
from .common import HelpFormatter, add_debug_option, check_writable, number

DESCRIPTION = (
    "Evaluate a saved model at new x values: given on the command line (--x), printed "
    "one per line; or read from a column of a file (--data), written as a table of x "
    "and prediction (CSV on stdout, or --out FILE: .csv, .tsv or .txt)."
)

PREDICT_EXAMPLES = """\
examples:
  gradfit predict model.json --x 0.5 1.0          one prediction per line
  gradfit predict model.json --data new.csv       x and prediction as CSV on stdout
  gradfit predict model.json --data new.npy --out predictions.csv
"""


def add_parser(sub: Any) -> None:
    """``gradfit predict MODEL.json (--x X ... | --data FILE [--column COL]) [--out FILE]``."""
    predict = sub.add_parser(
        "predict",
        help="evaluate a model saved with 'gradfit fit --save'",
        description=DESCRIPTION,
        epilog=PREDICT_EXAMPLES,
        formatter_class=HelpFormatter,
    )
    predict.add_argument("model", metavar="MODEL.json", help="a model file written by --save")
    predict.add_argument(
        "--x", type=number, nargs="+", default=None, metavar="X", help="x values to predict at"
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
    add_debug_option(predict)
    predict.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print or write the predictions; return the exit status."""
    import numpy as np

    from ..data import load_column
    from ..outputs import check_distinct, write_text_atomic
    from ..saved import load

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
        check_writable(args.out)
        check_distinct({"--out": args.out}, {"model": args.model, "--data": args.data})
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
