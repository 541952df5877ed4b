"""``gradfit fit --y a,b,c`` (or ``--y 'sensor_*'``): several y columns of one file, one fit each.

The columns are read together (:mod:`gradfit.data.columns`) and fitted together
(:mod:`gradfit.many`); this prints one ``Result:`` line per column, prefixed with its name, and
``--json`` writes one document whose ``columns`` list holds each column's run. No math here.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..config import FitConfig
from ..errors import UsageError
from .common import PROG


def run_many(config: FitConfig, args: argparse.Namespace) -> int:
    """Fit every y column ``config.y_column`` names; return the exit status."""
    from ..data.columns import load_columns
    from ..many import check_many, fit_many
    from ..models import make_model
    from ..outputs import emit_json
    from ..understand.report import log_line, result_line

    check_many(config)
    for flag in ("save", "plot", "report", "animate"):
        if getattr(args, flag, None):
            raise UsageError(
                f"--{flag} writes one fit; with several y columns use --json (one document, "
                "a list of the columns' runs), or fit one column"
            )
    n_params = make_model(config.model, config.degree, config.basis).n_params
    data = load_columns(
        config.data,
        config.x_column,
        str(config.y_column),
        n_params=n_params,
        drop_nonfinite=config.drop_nonfinite,
        sigma=config.sigma_column,
        weight=config.weight_column,
    )
    text = args.json != "-"
    out = sys.stdout
    quiet = args.quiet

    def on_log(step: int, loss: float) -> None:
        out.write(log_line(step, loss) + "\n")

    given: dict[str, Any] = {}
    if data.raw_weights is not None:
        given = {"sigma" if data.absolute else "weights": data.raw_weights}
    result = fit_many(
        config,
        data.x,
        data.Y,
        names=data.y_names,
        source=data.info(),
        on_log=on_log if text and not quiet else None,
        **given,
    )
    if text:
        if result.lr_auto is not None and not quiet:
            out.write(f"lr auto: {result.lr_auto.lr:.6g} ({result.lr_auto.rule})\n")
        if result.method_auto is not None and result.method != "manual" and not quiet:
            out.write(f"method auto: {result.method} ({result.method_auto})\n")
        for name, fitted in zip(result.columns, result, strict=True):
            out.write(f"{name}: {result_line(fitted.formula())}\n")
            if fitted.formula() != fitted.monomial_formula():
                out.write(f"{name}: In powers of x: {fitted.monomial_formula()}\n")
    if args.json is not None:
        emit_json(result.to_dict(), args.json, out)
    if text and not quiet and result.seed_drawn:
        from .fit import note_drawn_seed

        note_drawn_seed(result.seed)
    if data.dropped:
        print(
            f"{PROG}: note: left out {data.dropped} row(s) of {data.path} with NaN, missing or "
            "infinite values",
            file=sys.stderr,
        )
    return 0
