"""``gradfit fit``: arguments -> FitConfig -> gradfit.run() -> the article's lines, JSON, files.

Also where a ``--resume`` run gets its config (the checkpoint's options, overridden by those
given) and where ``--workers K`` hands over to the launcher. No math here.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import TYPE_CHECKING, Any

from ..errors import DivergenceError, FitInterrupted, UsageError
from .common import PROG, HelpFormatter, Parser, add_output_options, check_outputs, rank

if TYPE_CHECKING:
    from ..config import FitConfig

DESCRIPTION = (
    "Fit a model to sin(x) by gradient descent on the sum of squared errors. With no "
    "options this is the article's experiment: torch, float32, CPU, 2000 points on "
    "[-pi, pi], a cubic, the hand-derived gradient, SGD with lr 1e-6, 2000 steps, the "
    "loss printed every 100 steps."
)

FIT_EXAMPLES = """\
examples:
  gradfit fit                                  the article's PyTorch run (float32, CPU)
  gradfit fit --backend numpy                  the article's NumPy run (float64)
  gradfit fit --init 0.1,-0.2,0.3,-0.4         start from given coefficients c0..c3
  gradfit fit --degree 5 --scale --steps 5000 --seed 42   a quintic, x mapped to [-1, 1]
  gradfit fit --target 'sin(x)' --noise 0.1 --seed 1     sin(x) plus reproducible noise
  gradfit fit --data points.csv --save model.json        your own data (x, y columns)
  gradfit fit --json run.json                  also write the run as a JSON document
  gradfit fit --preset custom-function         the tutorial's a + b * P3(c + d x)

more examples:
  gradfit fit --model 'b1*(1-exp(-b2*x))' --init b1=500,b2=1e-4 --data misra1a.csv --optimizer lm
  python -m gradfit fit --json                 only the JSON document, on stdout
  gradfit fit --method autograd --backend torch --dtype float64
  gradfit fit --basis legendre --degree 5 --optimizer adam --lr 1e-2
  gradfit fit --model 'a*exp(-b*x) + c' --target '2*exp(-1.3*x) + 0.5' --range 0 3 --precondition
  gradfit fit --target 'exp(-x**2) * cos(3*x)' --range -2 2 --lr auto --steps 5000
  gradfit fit --data log.parquet --x time --y temp --degree 2 --backend numpy
  gradfit fit --backend numpy --points 100000000 --method gram     10^8 points, in chunks
  gradfit fit --data big.npy --backend numpy       streamed from disk, a block at a time
  gradfit fit --backend numpy --batch-size 100 --shuffle --seed 1  mini-batch SGD
  gradfit fit --steps 100000 --checkpoint run.ckpt --checkpoint-every 1000
  gradfit fit --resume run.ckpt                continue it (after Ctrl-C or a crash)
  gradfit fit --resume run.ckpt --steps 200000  ... and run it further
  gradfit fit --workers 2 --backend numpy --dtype float64    2 local processes
  gradfit fit --workers 2 --data big.npy --method gram       each reads half the file
  torchrun --standalone --nproc-per-node 4 -m gradfit fit --distributed --data big.npy

formulas (--target): x, numbers, pi, e, tau, + - * / **, and the functions
  sin cos tan asin acos atan sinh cosh tanh exp expm1 log log1p log2 log10 sqrt
  square abs sign floor ceil trunc round (one argument), atan2 hypot maximum
  minimum pow (two); NumPy's names (arcsin, power, ...) work too. Nothing else
  is accepted and nothing is ever run as Python.
"""

# Data options that, given as 0 / off on a --resume command line, keep the checkpoint's value
# (their parsers once defaulted to 0.0 and False, which must not override a checkpoint).
_KEPT_WHEN_OFF = ("noise", "drop_nonfinite", "scale")


def add_parser(sub: Any) -> None:
    """``gradfit fit``: the table's options for fit, then the output options."""
    fit = sub.add_parser(
        "fit",
        help="fit a model to sin(x) by gradient descent (default: the article's experiment)",
        description=DESCRIPTION,
        epilog=FIT_EXAMPLES,
        formatter_class=HelpFormatter,
    )
    fit.set_defaults(handler=run)
    fit.defer(_add_options)


def _add_options(fit: Parser) -> None:
    """The table's options for fit, then the output options (when ``gradfit fit`` is used)."""
    from .table import add_table_options

    add_table_options(fit, "fit")
    add_output_options(fit, "the run", quiet=True, plot=True, save=True)
    output = next(g for g in fit._action_groups if g.title == "output")
    output.add_argument(
        "--animate",
        metavar="FILE.gif",
        help="save the run as an animation, one frame per logged step: the data with the "
        "curve at that step, and the loss falling toward the optimum (.gif; .mp4 with "
        "ffmpeg; .html with a slider). E.g. --animate run.gif",
    )


def check_animate(args: argparse.Namespace) -> None:
    """--animate: a format gradfit writes, a writable place, not an input or another output."""
    if args.animate is None:
        return
    from ..outputs import check_distinct
    from ..understand.animate import check_animation_path
    from .common import check_writable

    check_animation_path(args.animate)
    check_writable(args.animate)
    others = {f"--{k}": getattr(args, k, None) for k in ("json", "plot", "save", "report")}
    others["--checkpoint"] = args.checkpoint
    check_distinct({"--animate": args.animate}, {"--data": args.data, "--resume": args.resume})
    check_distinct({"--animate": args.animate, **others}, {})


def fit_config(args: argparse.Namespace) -> FitConfig:
    """The run's config: from the checkpoint of --resume, else from the preset and options."""
    from .table import config_from_args, given_options

    if args.resume is not None:
        resumed = resume_config(args, given_options(args))
        if resumed is not None:
            return resumed
    return config_from_args(args)


def resume_config(args: argparse.Namespace, values: dict[str, Any]) -> FitConfig | None:
    """The config of a --resume run: the checkpoint's own options, overridden by those given on
    the command line (gradfit.run refuses, by name, any that would change the run other than
    --steps, --log-every, --device, --no-guard). So one command line serves the first start and
    every restart. None: --resume FILE is also --checkpoint FILE and FILE does not exist yet
    (a first start)."""
    from dataclasses import replace

    from ..training.checkpoint import config_from_checkpoint, load_checkpoint, resumes
    from .table import check_target_or_data

    if not resumes(args.resume, args.checkpoint):
        return None  # a first start: the preset and the options as given
    config = config_from_checkpoint(load_checkpoint(args.resume))
    if args.preset is not None:  # the preset's options, as if given: they must match the run
        from ..presets import preset_values

        given_now = {k: v for k, v in values.items() if v is not None}
        values = {**preset_values(args.preset), **given_now}
    check_target_or_data(values)
    given = {
        k: v
        for k, v in values.items()
        if v is not None and not (k in _KEPT_WHEN_OFF and v in (False, 0.0))
    }
    if "target" in given:  # a new formula replaces the checkpoint's file, and the other way
        given["data"] = None
    elif "data" in given:
        given["target"] = None
    return replace(config, **given).validated()


def run(args: argparse.Namespace) -> int:
    """Run ``gradfit fit``; return the exit status."""
    from ..api import run as run_fit
    from ..outputs import emit_json
    from ..progress import FitProgress, progress_enabled
    from ..understand.report import failure_document, log_line, result_line, uncertainty_lines

    config = fit_config(args)
    check_outputs(args)
    check_animate(args)
    from ..data.columns import several_columns

    if config.data is not None and several_columns(config.y_column):  # --y a,b or 'sensor_*'
        from .many import run_many

        return run_many(config, args)
    if config.workers is not None and not config.distributed:
        from ..distributed.launcher import launch_workers, max_workers

        if config.workers > max_workers():
            raise UsageError(
                f"--workers {config.workers} is more processes than this machine holds "
                f"(at most {max_workers()}: 4 per core, about 250 MB each); use fewer"
            )
        return launch_workers(getattr(args, "argv", None) or sys.argv[1:], config.workers)
    text = args.json != "-"
    out = sys.stdout
    quiet = args.quiet or (config.distributed and rank() != 0)
    bar = FitProgress(config.steps, out) if text and progress_enabled(out, quiet) else None

    def on_log(step: int, loss: float) -> None:
        if bar is not None:
            bar.log(step, loss, log_line(step, loss))
        else:
            out.write(log_line(step, loss) + "\n")

    printer = on_log if text and not quiet else None
    recorder = None
    if args.animate is not None:  # the parameters at each logged step, for the frames
        from ..training.record import ParamRecorder

        recorder = ParamRecorder(printer)
    try:
        with bar or contextlib.nullcontext():
            result = run_fit(
                config,
                on_log=printer if recorder is None else recorder,
                on_step=bar.advance if bar is not None else None,
                step_stride=bar.stride if bar is not None else 0,
            )
    except DivergenceError as exc:
        if args.json is not None:  # the JSON records the failure, then the run fails (exit 1)
            if args.json != "-" and os.path.isfile(args.json):  # never over an existing file
                raise exc.with_detail(
                    f"{exc.detail}; the failure record was not written over the existing "
                    f"{args.json}"
                ) from None
            emit_json(failure_document(config, exc), args.json, out)
        raise
    except FitInterrupted as exc:  # Ctrl-C: the partial result, where it was saved, exit 130
        return _report_interrupted(exc, args, out)
    if config.distributed and rank() != 0:
        return 0  # rank 0 alone prints and writes files
    if text:
        if result.lr_auto is not None and not args.quiet:
            out.write(f"lr auto: {result.lr_auto['lr']:.6g} ({result.lr_auto['rule']})\n")
        if result.method_auto is not None and result.method != "manual" and not args.quiet:
            out.write(f"method auto: {result.method} ({result.method_auto})\n")
        if result.stop_reason is not None and not args.quiet:
            out.write(f"stopped after {result.steps_done} steps: {result.stop_reason}\n")
        out.write(result_line(result.formula()) + "\n")
        if result.formula() != result.monomial_formula() and result.model.kind != "dynamic":
            out.write(f"In powers of x: {result.monomial_formula()}\n")
        if not args.quiet:  # standard errors and goodness of fit, under the result
            for line in uncertainty_lines(
                result.statistics, result.reported(), result.excess_loss()
            ):
                out.write(line + "\n")
    # Every output is made before any is written: a run whose model cannot be saved changes
    # none of the user's files.
    from ..outputs import write_text_atomic
    from ..saved import savable_text

    model_text = None if args.save is None else savable_text(result, args.save)
    report_text = None
    if args.report is not None:
        from ..understand.report import markdown_report

        where = os.path.dirname(os.path.abspath(args.report))
        report_text = markdown_report(result, args.plot, where)
    if args.plot:
        from ..understand.plot import fit_plot_data, save_plot

        save_plot(fit_plot_data(result), args.plot)
    if args.json is not None:
        emit_json(result.to_dict(), args.json, out)
    if model_text is not None:
        write_text_atomic(args.save, model_text)
    if report_text is not None:
        write_text_atomic(args.report, report_text)
    if recorder is not None:  # last: the slowest to draw
        from ..understand.animate import animation_data, save_animation

        save_animation(animation_data(result, recorder), args.animate)
    if text and not args.quiet and result.seed_drawn:
        note_drawn_seed(result.seed)
    if result.data and result.data.get("dropped"):
        print(
            f"{PROG}: note: left out {result.data['dropped']} row(s) of {result.data['path']} "
            "with NaN, missing or infinite values",
            file=sys.stderr,
        )
    return 0


def note_drawn_seed(seed: int) -> None:
    """One line on stderr, so that any run can be replayed: the seed it drew."""
    print(f"{PROG}: note: seed {seed} was drawn; --seed {seed} repeats this run", file=sys.stderr)


def _report_interrupted(exc: Any, args: argparse.Namespace, out: Any) -> int:
    """Ctrl-C: print the partial result as a finished run would, say where the state went."""
    from ..outputs import emit_json
    from ..understand.report import result_line

    result = exc.result
    if getattr(args, "distributed", False) and rank() != 0:
        return 130  # rank 0 alone reports
    if args.json != "-":
        out.write(result_line(result.formula()) + "\n")
    if args.json is not None:
        doc = result.to_dict() | {"status": "interrupted", "steps_done": exc.step}
        emit_json(doc, args.json, out)
    where = (
        f"; checkpoint written to {exc.checkpoint} (continue with: gradfit fit --resume "
        f"{exc.checkpoint})"
        if exc.checkpoint
        else "; give --checkpoint FILE to be able to --resume"
    )
    print(f"{PROG}: interrupted after {exc.step} steps{where}", file=sys.stderr)
    return 130
