"""The article's own scripts are the oracle: same initial weights, same printed numbers.

Each seed script runs unmodified in a subprocess; only its random initial weights are replaced
by fixed values (torch.randn / np.random.randn are patched before it runs). gradfit's CLI, given
the same values with --init, must print the same loss lines and the same final coefficients.
They are computed with the same operations in the same order, so the match is exact - stronger
than the 5 (float32) and 10 (float64) significant digits the project promises.

The scripts live outside the repository (../shared/seed), so what they print from the fixed
starts is also recorded in tests/golden/article.json (written by tests/golden/make_golden.py).
A clone checks gradfit against those numbers; a machine with the scripts also runs them, and
checks that the recorded numbers are still what they print.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import rel_err, run_gradfit

from gradfit.cli import main as gradfit_main


def _load_make_golden() -> Any:
    """tests/golden/make_golden.py as a module (tests/golden is a folder of data, not a package)."""
    name = "gradfit_tests_make_golden"
    if name in sys.modules:  # loaded once per session, whoever asks first
        return sys.modules[name]
    path = Path(__file__).with_name("golden") / "make_golden.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


make_golden = _load_make_golden()
INITS = make_golden.INITS
GOLDEN = make_golden.load()
ENVIRONMENT = make_golden.environment()
STEPS = [str(t) for t in range(99, 2000, 100)]


@functools.cache
def article_output(seed_dir: Path, backend: str) -> tuple[tuple[str, ...], ...]:
    """What the article's script prints from each start in INITS; run once per session."""
    outputs = make_golden.run_seed_script(seed_dir / f"seed_{backend}.py", backend, INITS)
    return tuple(tuple(lines) for lines in outputs)


def cached_runner(path: Path, backend: str, inits: list) -> list[list[str]]:
    """make_golden's runner, served from ``article_output`` (same scripts, same starts)."""
    assert [tuple(init) for init in inits] == [tuple(init) for init in INITS]
    return [list(lines) for lines in article_output(path.parent, backend)]


def coefficients(result_line: str) -> list[float]:
    """The four numbers of `...: y = a + b x + c x^2 + d x^3`."""
    return [float(text) for text in make_golden.coefficient_texts(result_line)]


def fit_args(backend: str, init: tuple | list) -> list[str]:
    """``gradfit fit`` arguments reproducing the article's ``backend`` script from ``init``."""
    args = ["fit", "--init", ",".join(map(repr, init))]
    if backend == "numpy":
        args += ["--backend", "numpy"]
    return args


def exact_here(backend: str) -> bool:
    """Whether the golden numbers were made with this machine's versions and CPU kernels."""
    recorded = make_golden.fingerprint(GOLDEN["environment"], backend)
    return recorded == make_golden.fingerprint(ENVIRONMENT, backend)


@pytest.mark.parametrize("init", INITS)
@pytest.mark.parametrize("backend", ["torch", "numpy"])
def test_cli_prints_the_articles_numbers(seed_scripts: Path, backend: str, init: tuple) -> None:
    article = list(article_output(seed_scripts, backend)[INITS.index(init)])
    proc = run_gradfit(*fit_args(backend, init))
    assert proc.returncode == 0, proc.stderr
    ours = proc.stdout.splitlines()

    # 20 loss lines t = 99, 199, ..., 1999, then the result line (and gradfit's uncertainty
    # block after it: indented lines, see test_uncertainty.py).
    assert len(article) == 21 and len(ours) > 21
    assert all(line.startswith("  ") for line in ours[21:])
    ours = ours[:21]
    article_losses = [float(line.split()[1]) for line in article[:20]]
    our_losses = [float(line.split()[1]) for line in ours[:20]]
    assert [line.split()[0] for line in ours[:20]] == STEPS
    digits = make_golden.RTOL[backend]
    assert rel_err(our_losses, article_losses) < digits
    assert rel_err(coefficients(ours[20]), coefficients(article[20])) < digits
    # Same operations in the same order: the printed text is identical, bar the word "Result".
    assert ours[:20] == article[:20]
    assert ours[20] == "Result: " + article[20].split(": ", 1)[1]


@pytest.mark.parametrize(
    "run",
    GOLDEN["runs"],
    ids=[f"{run['backend']}-init{GOLDEN['inits'].index(run['init'])}" for run in GOLDEN["runs"]],
)
def test_cli_prints_the_golden_numbers(run: dict, capsys: pytest.CaptureFixture[str]) -> None:
    """Never skips: gradfit against what the article printed (tests/golden/article.json)."""
    backend = run["backend"]
    assert gradfit_main(fit_args(backend, run["init"])) == 0
    ours = capsys.readouterr().out.splitlines()
    assert len(ours) > 21 and all(line.startswith("  ") for line in ours[21:])  # uncertainty
    ours = ours[:21]

    assert len(ours) == len(run["losses"]) + 1 == 21
    assert [line.split()[0] for line in ours[:20]] == STEPS
    assert ours[20].startswith("Result: y = ")
    if exact_here(backend):
        # The article prints f"{t} {float(loss)}": the text is identical, digit for digit.
        assert ours[:20] == run["losses"]
        assert make_golden.coefficient_texts(ours[20]) == run["coefficients"]
    else:
        # Another torch/numpy build or CPU kernel: the project's promised digits.
        rtol = make_golden.RTOL[backend]
        our_losses = [float(line.split()[1]) for line in ours[:20]]
        golden_losses = [float(line.split()[1]) for line in run["losses"]]
        assert rel_err(our_losses, golden_losses) < rtol
        assert rel_err(coefficients(ours[20]), [float(c) for c in run["coefficients"]]) < rtol


def test_golden_file_covers_every_start_and_backend() -> None:
    """The committed file holds one run per (backend, start), starts as in make_golden.INITS."""
    assert GOLDEN["inits"] == [list(init) for init in INITS]
    pairs = [(run["backend"], run["init"]) for run in GOLDEN["runs"]]
    assert sorted(pairs) == sorted((b, list(i)) for b in make_golden.BACKENDS for i in INITS)
    for run in GOLDEN["runs"]:
        assert [line.split()[0] for line in run["losses"]] == STEPS
        assert run["result"].split("y = ", 1)[0].endswith(": ")
        assert make_golden.coefficient_texts(run["result"]) == run["coefficients"]


def test_golden_file_is_what_the_scripts_print(seed_scripts: Path) -> None:
    """Where the scripts are present: regenerated golden data equals the committed file."""
    fresh = make_golden.record(seed_scripts, run=cached_runner)
    assert fresh["scripts"] == GOLDEN["scripts"], "the article's scripts changed: rerun make_golden"
    assert fresh["inits"] == GOLDEN["inits"], "INITS changed: rerun tests/golden/make_golden.py"
    assert len(fresh["runs"]) == len(GOLDEN["runs"])
    for new, old in zip(fresh["runs"], GOLDEN["runs"], strict=True):
        assert (new["backend"], new["init"]) == (old["backend"], old["init"])
        if exact_here(new["backend"]):
            assert new == old, "tests/golden/article.json is stale: rerun make_golden.py"
        else:
            rtol = make_golden.RTOL[new["backend"]]
            new_losses = [float(line.split()[1]) for line in new["losses"]]
            old_losses = [float(line.split()[1]) for line in old["losses"]]
            assert rel_err(new_losses, old_losses) < rtol
            new_coefs = [float(c) for c in new["coefficients"]]
            assert rel_err(new_coefs, [float(c) for c in old["coefficients"]]) < rtol
