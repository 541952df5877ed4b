"""Start-up: whole-process wall time of short gradfit commands against Python's own floor.

Each subject is a fresh process, run in turn with the others (round after round, so that a
busy moment of the machine falls on all of them alike), after one warm-up round:

- ``python -c pass`` and ``python -c "import numpy"``: the floor every command stands on;
- ``python -c "import array_api_compat.numpy"``: what the NumPy backend adds to that floor;
- ``python seed_numpy.py``: the article's NumPy script (skipped when not found; looked up as
  ``bench_article.py`` does: ``--seed-dir``, ``$GRADFIT_SEED_DIR``, ``<repo>/../shared/seed``);
- ``gradfit fit --backend numpy --quiet``: the same experiment through gradfit;
- ``gradfit --help`` and ``gradfit fit --help``: the parser alone, which imports no run code.

gradfit runs as ``python -m gradfit`` (the interpreter running this script, with its
environment), a little slower than the console script. For each subject: min and median, and
the median over rounds of its time divided by its reference's time in the same round (the
paired ratio, steadier than a ratio of medians on a shared machine). Targets: the NumPy run
within 1.1x of the article's script, each ``--help`` under 0.15 s. With
``PYTHONDONTWRITEBYTECODE`` set and no ``__pycache__`` (a source checkout), every gradfit
module is compiled at each start, which an installed gradfit does not pay: the JSON says which.

Run: ``python benchmarks/bench_startup.py [--repeat N] [--seed-dir PATH] [--json FILE]
[--markdown]``; ``benchmarks/suite.py`` runs it as its ``startup`` section.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench_article import Timing, default_seed_dir

SEED = "seed_numpy.py"
FIT_TARGET = 1.1  # gradfit fit --backend numpy / python seed_numpy.py
HELP_TARGET_S = 0.15  # gradfit --help, gradfit fit --help


def subjects(seed_dir: Path | None) -> list[dict[str, Any]]:
    """What is timed: label, command line, the subject its paired ratio is taken against, and
    its target (a ratio, or seconds)."""
    py = sys.executable
    gradfit = [py, "-m", "gradfit"]
    rows: list[dict[str, Any]] = [
        {"label": "python -c pass", "argv": [py, "-c", "pass"]},
        {"label": 'python -c "import numpy"', "argv": [py, "-c", "import numpy"]},
        {  # the NumPy backend's namespace: it copies numpy's, loading numpy.testing and f2py
            "label": 'python -c "import array_api_compat.numpy"',
            "argv": [py, "-c", "import array_api_compat.numpy"],
            "ref": 'python -c "import numpy"',
        },
    ]
    seed = None if seed_dir is None else seed_dir / SEED
    if seed is not None and seed.is_file():
        rows.append({"label": f"python {SEED}", "argv": [py, str(seed)]})
    fit_ref = f"python {SEED}" if rows[-1]["label"] == f"python {SEED}" else None
    rows += [
        {
            "label": "gradfit fit --backend numpy --quiet",
            "argv": [*gradfit, "fit", "--backend", "numpy", "--quiet"],
            "ref": fit_ref,
            "target_ratio": FIT_TARGET if fit_ref else None,
        },
        {
            "label": "gradfit --help",
            "argv": [*gradfit, "--help"],
            "ref": 'python -c "import numpy"',
            "target_s": HELP_TARGET_S,
        },
        {
            "label": "gradfit fit --help",
            "argv": [*gradfit, "fit", "--help"],
            "ref": 'python -c "import numpy"',
            "target_s": HELP_TARGET_S,
        },
    ]
    return rows


def _time_once(argv: list[str], cwd: str) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr.decode()}")
    return elapsed


def measure(repeat: int = 10, seed_dir: Path | None = None) -> dict[str, Any]:
    """Time every subject ``repeat`` times, alternating, after one warm-up round.

    Returns ``{"repeat", "seed_dir", "python", "dont_write_bytecode", "rows": [{label, argv,
    samples, min, median, ref, ratio, target_ratio | target_s, ok}]}`` (seconds).
    ``ratio``: the median over rounds of the subject's time over its ``ref``'s time in the same
    round; ``ok``: whether the target is met (by the ratio, or by the median time); None
    without a target.
    """
    if repeat < 1:
        raise ValueError("repeat must be >= 1")
    seed_dir = seed_dir or default_seed_dir()
    rows = subjects(seed_dir)
    timings = {r["label"]: Timing(r["label"]) for r in rows}
    with tempfile.TemporaryDirectory() as cwd:  # no file of this folder can hide a module
        for round_ in range(repeat + 1):
            for row in rows:
                elapsed = _time_once(row["argv"], cwd)
                if round_:
                    timings[row["label"]].samples.append(elapsed)
    out = []
    for row in rows:
        t = timings[row["label"]]
        ref = row.get("ref")
        ratio = (
            statistics.median(a / b for a, b in zip(t.samples, timings[ref].samples, strict=True))
            if ref
            else None
        )
        ok = None
        if row.get("target_ratio") is not None and ratio is not None:
            ok = ratio <= row["target_ratio"]
        elif row.get("target_s") is not None:
            ok = t.median <= row["target_s"]
        out.append({**row, **t.to_dict(), "ratio": ratio, "ok": ok})
    return {
        "repeat": repeat,
        "seed_dir": str(seed_dir) if (seed_dir / SEED).is_file() else None,
        "python": sys.version.split()[0],
        # Set (PYTHONDONTWRITEBYTECODE): modules without a cached .pyc are compiled at every start.
        "dont_write_bytecode": sys.dont_write_bytecode,
        "rows": out,
    }


def _ms(seconds: float | None) -> str:
    return "" if seconds is None or math.isnan(seconds) else f"{seconds * 1e3:.0f}"


def _target(row: dict[str, Any]) -> str:
    if row.get("target_ratio") is not None:
        text = f"<= {row['target_ratio']}x"
    elif row.get("target_s") is not None:
        text = f"< {row['target_s']:g} s"
    else:
        return ""
    return f"{text} ({'met' if row['ok'] else 'NOT met'})"


def markdown(doc: dict[str, Any]) -> str:
    """The rows as a Markdown table (milliseconds)."""
    lines = [
        f"Whole-process start-up, {doc['repeat']} alternating rounds (Python {doc['python']}):",
        "",
        "| command | min ms | median ms | paired ratio | to | target |",
        "|---|---:|---:|---:|---|---|",
    ]
    for row in doc["rows"]:
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.2f}"
        lines.append(
            f"| `{row['label']}` | {_ms(row['min'])} | {_ms(row['median'])} | {ratio} | "
            f"{row.get('ref') or ''} | {_target(row)} |"
        )
    return "\n".join(lines)


def text_table(doc: dict[str, Any]) -> str:
    """The rows as plain text, for a terminal."""
    width = max(len(r["label"]) for r in doc["rows"])
    lines = [f"start-up, {doc['repeat']} alternating rounds, Python {doc['python']}"]
    lines.append(f"{'command'.ljust(width)}  {'min ms':>7}  {'median':>7}  {'ratio':>6}  target")
    for row in doc["rows"]:
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.2f}"
        lines.append(
            f"{row['label'].ljust(width)}  {_ms(row['min']):>7}  {_ms(row['median']):>7}  "
            f"{ratio:>6}  {_target(row)}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, metavar="N", help="rounds (default 10)")
    parser.add_argument(
        "--seed-dir",
        type=Path,
        default=None,
        metavar="PATH",
        help="folder with seed_numpy.py (default: $GRADFIT_SEED_DIR or <repo>/../shared/seed)",
    )
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="write JSON")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    doc = measure(args.repeat, args.seed_dir)
    if doc["seed_dir"] is None:
        print(f"{SEED} not found: the article's row is skipped")
    if doc["dont_write_bytecode"]:
        print("PYTHONDONTWRITEBYTECODE is set: modules without a .pyc are compiled at each start")
    print(markdown(doc) if args.markdown else text_table(doc))
    if args.json is not None:
        args.json.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
