"""Shared test helpers: the article's scripts, subprocess runs of the CLI, float comparisons."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
