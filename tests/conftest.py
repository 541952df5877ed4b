"""Shared test helpers: the article's scripts, the CLI (in-process and in a subprocess), what a
run imports, float comparisons, and Hessian oracles."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# The tests' problems are small: one thread each for torch and NumPy's BLAS (here and in the
# subprocesses) is as fast on a quiet machine and far faster on a busy two-core one. Set
# before numpy and torch are imported; an OMP_NUM_THREADS already set is kept.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def seed_dir() -> Path | None:
    """Where the article's scripts live: $GRADFIT_SEED_DIR, else ../shared/seed beside the repo."""
    env = os.environ.get("GRADFIT_SEED_DIR")
    path = Path(env) if env else REPO.parent / "shared" / "seed"
    return (
        path if (path / "seed_torch.py").is_file() and (path / "seed_numpy.py").is_file() else None
    )


@pytest.fixture
def seed_scripts() -> Path:
    path = seed_dir()
    if path is None:
        pytest.skip("the article's scripts (../shared/seed) are not present")
    return path


def run_gradfit(
    *args: str, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """``python -m gradfit ARGS`` in a subprocess, text output captured."""
    return subprocess.run(
        [sys.executable, "-m", "gradfit", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )


def rel_err(a: object, b: object) -> float:
    """Largest elementwise relative difference of two float sequences."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    scale = np.maximum(np.abs(a), np.abs(b))
    scale[scale == 0] = 1.0
    return float(np.max(np.abs(a - b) / scale)) if a.size else 0.0


def assert_coef_close(a: object, b: object, rtol: float) -> None:
    """Equal to ``rtol`` of the largest coefficient (a tiny one has no relative scale)."""
    b = np.asarray(b, dtype=np.float64)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * float(np.abs(b).max()))


# --- the command line in-process, and what a run imports ----------------------------------------


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``gradfit ARGS`` in this process (``gradfit.cli.main``): exit code, stdout, stderr."""
    from gradfit.cli import main

    try:
        code = main(list(args))
    except SystemExit as exc:  # --help, from argparse
        code = exc.code or 0
    out, err = capsys.readouterr()
    return code, out, err


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> subprocess.CompletedProcess:
    """:func:`cli` shaped like :func:`run_gradfit`'s answer, for tests not about the process."""
    code, out, err = cli(capsys, *args)
    return subprocess.CompletedProcess(["gradfit", *args], code, out, err)


HEAVY = ("torch", "matplotlib", "sklearn", "pyarrow")

_IMPORTS_SCRIPT = """
import json, sys
import gradfit
from gradfit.cli import main

HEAVY = {heavy!r}
report = [["import gradfit", sorted(m for m in HEAVY if m in sys.modules), ""]]
for argv in json.loads(sys.argv[1]):
    sys.stdout = out = __import__("io").StringIO()
    try:
        main(argv)
    except SystemExit:  # --help
        pass
    sys.stdout = sys.__stdout__
    report.append([" ".join(argv), sorted(m for m in HEAVY if m in sys.modules), out.getvalue()])
print(json.dumps(report))
"""


def heavy_imports(*commands: list[str]) -> list[tuple[str, list[str], str]]:
    """Run ``import gradfit`` then each command in one fresh Python, in order.

    Returns one row per step: the command, the heavy modules (:data:`HEAVY`) imported so far, and
    what the command printed. One process for all the commands (starting Python is the cost).
    """
    import json

    proc = subprocess.run(
        [sys.executable, "-c", _IMPORTS_SCRIPT.format(heavy=HEAVY), json.dumps(commands)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return [tuple(row) for row in json.loads(proc.stdout.splitlines()[-1])]


# --- oracles: the loss's Hessian from NumPy directly, and the results' losses ---------------------


def losses(result: object) -> list[float]:
    """The logged losses of a :class:`gradfit.FitResult`, without their steps."""
    return [loss for _, loss in result.loss_history]


def hessian_eigs(x: object, degree: int, basis: str = "monomial") -> np.ndarray:
    """Eigenvalues (ascending) of the sum-of-squares Hessian ``2 V^T V`` of a degree-``degree``
    polynomial in ``basis`` on points ``x``, from NumPy's Vandermonde matrices."""
    vander = {
        "monomial": np.polynomial.polynomial.polyvander,
        "legendre": np.polynomial.legendre.legvander,
    }[basis]
    v = vander(np.asarray(x, dtype=np.float64), degree)
    return np.linalg.eigvalsh(2 * v.T @ v)


def best_lr(x: object, degree: int, basis: str = "monomial") -> float:
    """``2 / (lambda_min + lambda_max)``: the constant rate that contracts fastest overall."""
    eigs = hessian_eigs(x, degree, basis)
    return float(2 / (eigs[0] + eigs[-1]))


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Under tests/, only test_*.py files are collected: --doctest-modules (pyproject.toml) is
    for the package's docstrings, and would otherwise import scripts kept here (which may do
    their work on import) to look for examples."""
    tests = Path(__file__).resolve().parent
    path = collection_path.resolve()
    if (
        path.suffix == ".py"
        and tests in path.parents
        and path.name != "conftest.py"
        and not path.name.startswith("test_")
    ):
        return True
    return None
