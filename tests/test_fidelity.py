"""The article's own scripts are the oracle: same initial weights, same printed numbers.

Each seed script runs unmodified in a subprocess; only its random initial weights are replaced
by fixed values (torch.randn / np.random.randn are patched before it runs). gradfit's CLI, given
the same values with --init, must print the same loss lines and the same final coefficients.
They are computed with the same operations in the same order, so the match is exact - stronger
than the 5 (float32) and 10 (float64) significant digits the project promises.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import rel_err, run_gradfit

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

INITS = [
    (0.3, -0.7, 0.1, 0.05),
    (-1.2138, 0.4483, 1.0987, -0.2365),
]


def run_seed_script(path: Path, backend: str, init: tuple[float, ...]) -> list[str]:
    code = PRELUDE[backend].format(init=list(init)) + (
        f"import runpy\nrunpy.run_path({str(path)!r}, run_name='__main__')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=path.parent,
        encoding="utf-8",
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def coefficients(result_line: str) -> list[float]:
    """The four numbers of `...: y = a + b x + c x^2 + d x^3`."""
    formula = result_line.split("y = ", 1)[1]
    return [float(term.split()[0]) for term in formula.split(" + ")]


@pytest.mark.parametrize("init", INITS)
@pytest.mark.parametrize("backend", ["torch", "numpy"])
def test_cli_prints_the_articles_numbers(seed_scripts: Path, backend: str, init: tuple) -> None:
    article = run_seed_script(seed_scripts / f"seed_{backend}.py", backend, init)
    args = ["fit", "--init", ",".join(map(repr, init))]
    if backend == "numpy":
        args += ["--backend", "numpy"]
    proc = run_gradfit(*args)
    assert proc.returncode == 0, proc.stderr
    ours = proc.stdout.splitlines()

    # 20 loss lines t = 99, 199, ..., 1999, then the result line.
    assert len(article) == len(ours) == 21
    article_losses = [float(line.split()[1]) for line in article[:20]]
    our_losses = [float(line.split()[1]) for line in ours[:20]]
    assert [line.split()[0] for line in ours[:20]] == [str(t) for t in range(99, 2000, 100)]
    digits = {"torch": 1e-5, "numpy": 1e-10}[backend]
    assert rel_err(our_losses, article_losses) < digits
    assert rel_err(coefficients(ours[20]), coefficients(article[20])) < digits
    # Same operations in the same order: the printed text is identical, bar the word "Result".
    assert ours[:20] == article[:20]
    assert ours[20] == "Result: " + article[20].split(": ", 1)[1]
