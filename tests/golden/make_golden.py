"""Record what the article's two scripts print from fixed starts, as golden numbers for clones.

The fidelity oracle is the article itself (../shared/seed/seed_torch.py and seed_numpy.py), but a
clone of the repository has no ../shared. This script runs the unmodified scripts once, with
their random initial weights replaced by the fixed starts in INITS (torch.randn /
np.random.randn are patched before the script runs, exactly as tests/test_fidelity.py does), and
writes what they print - the 20 loss lines and the final coefficients - to tests/golden/
article.json, together with the inits, each script's sha256 and the versions and CPU kernels
that produced the numbers. tests/test_fidelity.py then checks gradfit against that file on any
machine, and, where the scripts are present, checks that the file is not stale.

Example (from the repository root)::

    python tests/golden/make_golden.py                      # ../shared/seed -> article.json
    python tests/golden/make_golden.py --seed-dir /path/to/seed --output /tmp/article.json
    python tests/golden/make_golden.py --check              # exit 1 if article.json is stale

This file needs only the standard library plus whatever the article's scripts import (torch,
numpy); it is imported by the tests but is not itself a test.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).with_name("article.json")
BACKENDS = ("torch", "numpy")
SCRIPTS = {backend: f"seed_{backend}.py" for backend in BACKENDS}

# The fixed starts (a, b, c, d). The first two are the ones the script-running fidelity test has
# always used; the zero start is the degenerate case where every weight begins equal.
INITS: list[tuple[float, float, float, float]] = [
    (0.3, -0.7, 0.1, 0.05),
    (-1.2138, 0.4483, 1.0987, -0.2365),
    (0.0, 0.0, 0.0, 0.0),
]

# Code run before the article's script: its randn hands out the fixed start, one value per call.
PRELUDE = {
    "torch": (
        "import torch\n"
        "_values = iter({init!r})\n"
        "def _randn(*size, **kw):\n"
        "    return torch.tensor(next(_values), dtype=kw.get('dtype'), device=kw.get('device'))\n"
        "torch.randn = _randn\n"
    ),
    "numpy": (
        "import numpy as np\n"
        "_values = iter({init!r})\n"
        "np.random.randn = lambda *size: next(_values)\n"
    ),
}

NOTE = (
    "What the article's scripts print from fixed starts (tests/golden/make_golden.py wrote this; "
    "tests/test_fidelity.py reads it). The torch script computes in float32, the numpy script in "
    "float64. The numbers are exact for the versions and CPU kernels recorded under "
    "'environment': another torch build or CPU capability (AVX2 vs AVX512 kernels sum in a "
    "different order) may differ in the last float32 bits, and another numpy build or CPU "
    "dispatch target (e.g. its SIMD pow for x ** 3) in the last float64 bits. The tests compare "
    "the printed text exactly where the backend's fingerprint matches the installed one, and to "
    "the project's promise otherwise: 1e-5 relative for float32, 1e-10 relative for float64."
)

# Relative tolerance used where the fingerprint differs: the project's promised precision.
RTOL = {"torch": 1e-5, "numpy": 1e-10}

# What each run prints: the loss at t = 99, 199, ..., 1999, then the result line.
LINES = 21

Runner = Callable[[Path, str, Sequence[tuple[float, ...]]], list[list[str]]]


def default_seed_dir() -> Path:
    """$GRADFIT_SEED_DIR if set, else ../shared/seed beside the repository (as tests/conftest)."""
    env = os.environ.get("GRADFIT_SEED_DIR")
    return Path(env) if env else REPO.parent / "shared" / "seed"


def run_seed_script(
    path: Path, backend: str, inits: Sequence[tuple[float, ...]]
) -> list[list[str]]:
    """Run one article script unmodified from each start in ``inits``; each run's stdout lines.

    One interpreter runs the script once per start (``runpy`` gives each run fresh globals), its
    randn patched to hand out the starts' values in turn: importing torch once instead of once per
    start keeps the tests fast. Each run prints 20 loss lines and the result line.
    """
    values = [value for init in inits for value in init]
    code = PRELUDE[backend].format(init=values) + (
        "import runpy\n"
        f"for _ in range({len(inits)}):\n"
        f"    runpy.run_path({str(path)!r}, run_name='__main__')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=path.parent,
        encoding="utf-8",
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{path.name} failed (exit {proc.returncode}):\n{proc.stderr}")
    lines = proc.stdout.splitlines()
    if len(lines) != LINES * len(inits):
        raise RuntimeError(f"{path.name} printed {len(lines)} lines, expected {LINES} per start")
    return [lines[i : i + LINES] for i in range(0, len(lines), LINES)]


def coefficient_texts(result_line: str) -> list[str]:
    """The four numbers, as printed, of ``...: y = a + b x + c x^2 + d x^3``.

    The article's line starts with ``結果:`` and gradfit's with ``Result:``; only the numbers
    after ``y = `` are compared.
    """
    formula = result_line.split("y = ", 1)[1]
    return [term.split()[0] for term in formula.split(" + ")]


def sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes: which version of the article's script made the numbers."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def environment() -> dict[str, Any]:
    """The versions and CPU kernels that decide the last bits of the article's numbers."""
    import numpy
    import torch

    try:  # private but stable since numpy 1.20; moved from numpy.core to numpy._core in 2.0
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:  # pragma: no cover - numpy 1.x
        try:
            from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__
        except ImportError:
            __cpu_dispatch__, __cpu_features__ = [], {}
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "torch": torch.__version__,
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "numpy": numpy.__version__,
        "numpy_cpu_dispatch": [f for f in __cpu_dispatch__ if __cpu_features__.get(f)],
    }


def fingerprint(env: dict[str, Any], backend: str) -> dict[str, Any]:
    """The part of ``environment()`` that must match for ``backend``'s numbers to be bit-exact."""
    keys = {
        "torch": ("machine", "torch", "torch_cpu_capability"),
        "numpy": ("machine", "numpy", "numpy_cpu_dispatch"),
    }[backend]
    return {key: env.get(key) for key in keys}


def record(seed_dir: Path, run: Runner = run_seed_script) -> dict[str, Any]:
    """Run both scripts from every start in INITS; the golden data, environment excluded.

    ``run`` is the script runner (tests pass a cached one so that each script runs only once).
    """
    runs = []
    for backend in BACKENDS:
        outputs = run(seed_dir / SCRIPTS[backend], backend, INITS)
        for init, lines in zip(INITS, outputs, strict=True):
            runs.append(
                {
                    "backend": backend,
                    "init": list(init),
                    "losses": lines[:20],
                    "result": lines[20],
                    "coefficients": coefficient_texts(lines[20]),
                }
            )
    return {
        "inits": [list(init) for init in INITS],
        "scripts": {name: sha256(seed_dir / name) for name in SCRIPTS.values()},
        "runs": runs,
    }


def golden_document(seed_dir: Path) -> dict[str, Any]:
    """The whole golden file: a note, the date, the environment, then ``record(seed_dir)``."""
    return {
        "note": NOTE,
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
        "environment": environment(),
        **record(seed_dir),
    }


def load(path: Path = GOLDEN) -> dict[str, Any]:
    """The committed golden file."""
    return json.loads(path.read_text(encoding="utf-8"))


def dumps(doc: dict[str, Any]) -> str:
    """JSON text for the golden file, one number list (an init) per line so diffs read well."""
    text = json.dumps(doc, indent=1, ensure_ascii=False)
    # Collapse arrays holding only numbers: "[\n  0.3,\n  -0.7\n ]" -> "[0.3, -0.7]".
    text = re.sub(
        r"\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]",
        lambda m: "[" + ", ".join(v.strip() for v in m.group(1).split(",")) + "]",
        text,
    )
    return text + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or with --check, verify) the golden file; returns the exit status."""
    parser = argparse.ArgumentParser(
        description=(
            "Run the article's scripts (seed_torch.py, seed_numpy.py) from fixed starts and "
            "record what they print as golden numbers for tests/test_fidelity.py."
        ),
        epilog=(
            "example: python tests/golden/make_golden.py --seed-dir ../shared/seed "
            "--output tests/golden/article.json"
        ),
    )
    parser.add_argument(
        "--seed-dir",
        type=Path,
        default=default_seed_dir(),
        help="directory holding seed_torch.py and seed_numpy.py "
        "(default: $GRADFIT_SEED_DIR, else ../shared/seed beside the repository)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=GOLDEN,
        help="golden file to write (default: tests/golden/article.json)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if the output file's numbers differ from a fresh run",
    )
    args = parser.parse_args(argv)
    for name in SCRIPTS.values():
        if not (args.seed_dir / name).is_file():
            parser.error(f"{args.seed_dir / name} not found")
    doc = golden_document(args.seed_dir)
    if args.check:
        old = load(args.output)
        stale = [key for key in ("inits", "scripts", "runs") if old.get(key) != doc[key]]
        if stale:
            print(f"{args.output}: stale ({', '.join(stale)} differ)", file=sys.stderr)
            if old.get("environment") != doc["environment"]:
                print("(it was made with other versions or CPU kernels)", file=sys.stderr)
            return 1
        print(f"{args.output}: up to date")
        return 0
    args.output.write_text(dumps(doc), encoding="utf-8")
    print(f"wrote {args.output} ({len(doc['runs'])} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
