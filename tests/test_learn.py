"""``gradfit learn``: the exercises start as TODOs, the solutions pass, typical mistakes get the
right hint, and nothing the learner wrote is ever overwritten.

The learner's code runs in subprocesses (one per check, all files of a check in the same one),
so the planted mistakes are checked in one batch: torch is imported once.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import numpy as np
import pytest

from gradfit.cli import main
from gradfit.learn import EXERCISES, by_number, problem, solution_text, template
from gradfit.learn.check import run_checks
from gradfit.learn.diagnose import diagnose_loop, finite_difference


def gradfit(*args: str) -> tuple[int, str]:
    """``gradfit ARGS`` in-process: exit status and stdout + stderr."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(list(args))
    return code, out.getvalue()


def test_start_then_check_fails_on_exercise_1_with_a_hint(tmp_path: Path) -> None:
    folder = tmp_path / "ex"
    code, text = gradfit("learn", "start", str(folder))
    assert code == 0 and f"wrote {len(EXERCISES)} exercises" in text
    assert sorted(p.name for p in folder.glob("*.py")) == sorted(ex.file for ex in EXERCISES)
    assert len(EXERCISES) >= 10
    for ex in EXERCISES:  # each file: a task in words and a TODO where the answer goes
        body = (folder / ex.file).read_text(encoding="utf-8")
        assert body.startswith('"""Exercise') and 'raise NotImplementedError("TODO' in body
        assert "# SOLUTION" not in body and "# END" not in body
    code, text = gradfit("learn", "check", str(folder))
    assert code == 1
    first = text.splitlines()[0]
    assert first.startswith("FAIL  1  forward") and "ex01_forward.py" in first
    assert "still a TODO:\n       return a + b x + c x^2 + d x^3" in text
    assert "FAIL  2" not in text  # it stops at the first exercise that is not done


def test_start_never_overwrites(tmp_path: Path) -> None:
    folder = tmp_path / "ex"
    folder.mkdir()
    mine = folder / by_number(3).file
    mine.write_text("# my work\n", encoding="utf-8")
    code, text = gradfit("learn", "start", str(folder))
    assert code == 0
    assert mine.read_text(encoding="utf-8") == "# my work\n"
    assert f"wrote {len(EXERCISES) - 1} exercises" in text and "kept 1 file" in text
    assert str(mine) in text
    code, text = gradfit("learn", "start", str(folder))  # again: everything is kept
    assert "wrote" not in text and f"kept {len(EXERCISES)} files" in text


def test_solutions_pass_and_keep_the_learners_version(tmp_path: Path) -> None:
    folder = tmp_path / "ex"
    gradfit("learn", "start", str(folder))
    mine = folder / by_number(3).file
    mine.write_text(template(by_number(3)).replace("raise", "return 0  #"), encoding="utf-8")
    for ex in EXERCISES:
        code, text = gradfit("learn", "solution", str(folder), str(ex.number))
        assert code == 0 and f"to {folder / ex.file}" in text
    kept = folder / "ex03_gradients.mine.py"
    assert kept.read_text(encoding="utf-8").count("return 0  #") == 1  # the learner's, intact
    code, text = gradfit("learn", "solution", str(folder), "3")
    assert "already holds the reference solution" in text
    code, text = gradfit("learn", "check", str(folder))
    assert code == 0, text
    assert text.count("ok ") == len(EXERCISES) and f"All {len(EXERCISES)} exercises pass" in text
    code, text = gradfit("learn", "--dir", str(folder))
    assert code == 0 and f"{len(EXERCISES)} of {len(EXERCISES)} done" in text
    (folder / by_number(2).file).write_text("x = 1\n", encoding="utf-8")  # edited after passing
    code, text = gradfit("learn", "--dir", str(folder))
    assert f"{len(EXERCISES) - 1} of {len(EXERCISES)} done" in text
    assert "started  loss" in text


# (exercise, text in the solution, what replaces it, what the hint must say)
GRAD_C = "grad_c = (grad_y_pred * x**2).sum()"
MISTAKES = {
    "factor 2": (3, GRAD_C, "grad_c = 2 * (grad_y_pred * x**2).sum()",
                 ["grad_c is off by a factor of 2 at every point",
                  "d/dc (y_pred - y)^2 = 2 (y_pred - y) x^2"]),
    "wrong power": (3, GRAD_C, "grad_c = (grad_y_pred * x**3).sum()",
                    ["grad_c uses x^3 where it needs x^2"]),
    "sign flipped": (3, "grad_b = (grad_y_pred * x).sum()", "grad_b = -(grad_y_pred * x).sum()",
                     ["grad_b has the wrong sign"]),
    "forward power": (1, "c * x**2", "c * x**3", ["c multiplies x^3 where the model has x^2"]),
    "mean loss": (2, ".sum())", ".mean())", ["your loss is the mean, the article's is the sum"]),
    "update sign": (4, "p - lr * g", "p + lr * g", ["you moved up the gradient"]),
    "lr too large": (5, "LEARNING_RATE = 1e-6", "LEARNING_RATE = 1e-5",
                     ["your loop diverges at step 1: lr 1e-05 is 2.8x the stable rate 3.558e-06"]),
    "1/lambda_max": (6, "return float(2.0 /", "return float(1.0 /",
                     ["half the stable rate 3.558e-06", "not 1 / lambda_max"]),
    "grad kept": (8, "                p.grad = None\n", "", ["your gradients accumulate",
                                                            "the update grows", "p.grad = None"]),
    "no zero_grad": (9, "        optimizer.zero_grad()\n", "",
                     ["missing zero_grad", "call optimizer.zero_grad() before loss.backward()"]),
    "MSELoss mean": (9, 'MSELoss(reduction="sum")', "MSELoss()",
                     ["your loss is the mean, the article's is the sum", 'reduction="sum"']),
    "backward sign": (10, "return grad_output * 1.5", "return -grad_output * 1.5",
                      ["backward has the wrong sign"]),
    "dampening": (11, "v = momentum * v + grad", "v = momentum * v + (1 - momentum) * grad",
                  ["(1 - momentum)"]),
    "chain rule": (12, "(2.0 * r * b1 * x * e).sum()", "(2.0 * r * b1 * e).sum()",
                   ["grad_b2 misses the factor x"]),
    "syntax error": (4, "return tuple(p - lr * g", "return tuple(p - lr * g:",
                     ["SyntaxError at line 13 of syntax_error.py"]),
    "exception": (1, "return a + b * x", "return a + b * z",
                  ["NameError at line 15 of exception.py", "name 'z' is not defined"]),
    "no return": (2, "return float(np.square(y_pred - y).sum())", "np.square(y_pred - y).sum()",
                  ["loss() returned None", "`return` missing"]),
}  # fmt: skip


def test_planted_mistakes_get_the_right_hint(tmp_path: Path) -> None:
    items = []
    for name, (number, old, new, _) in MISTAKES.items():
        ex = by_number(number)
        source = solution_text(ex)
        assert old in source, name  # the mistake is planted, not a no-op
        path = tmp_path / f"{name.replace(' ', '_').replace('/', '_')}.py"
        path.write_text(source.replace(old, new), encoding="utf-8")
        items.append((ex, path))
    outcomes = run_checks(items)
    assert len(outcomes) == len(items)
    for (name, (*_, wanted)), outcome in zip(MISTAKES.items(), outcomes, strict=True):
        assert outcome.status == "fail", (name, outcome)
        for words in wanted:
            assert words in outcome.hint, (name, outcome.hint)


def test_a_loop_that_never_ends_costs_only_itself(tmp_path: Path) -> None:
    forever = tmp_path / "forever.py"
    forever.write_text(
        solution_text(by_number(5)).replace("for _ in range(steps):", "while True:"),
        encoding="utf-8",
    )
    after = tmp_path / "after.py"
    after.write_text(solution_text(by_number(1)), encoding="utf-8")
    outcomes = run_checks([(by_number(5), forever), (by_number(1), after)], time_limit=1.5)
    assert outcomes[0].status == "fail"
    assert "your loop did not finish in 1.5 s" in outcomes[0].hint
    assert outcomes[1].passed  # a fresh runner checked the file after it


def test_without_torch_the_torch_exercises_are_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Python where ``import torch`` fails: the torch exercises are skipped, not failed."""
    (tmp_path / "sitecustomize.py").write_text(
        "import sys\nsys.modules['torch'] = None\n", encoding="utf-8"
    )
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])
    )
    path = tmp_path / "loop.py"
    path.write_text(solution_text(by_number(7)), encoding="utf-8")
    (outcome,) = run_checks([(by_number(7), path)])
    assert outcome.status == "skip" and "PyTorch" in outcome.hint


# --- the references themselves, against independent oracles (no subprocess) -------------


def test_the_stable_rate_is_two_over_the_largest_hessian_eigenvalue() -> None:
    x, _ = problem.data()
    X = np.vander(x, 4, increasing=True)
    lam = np.linalg.eigvals(2.0 * X.T @ X).real.max()  # a different routine than eigvalsh
    assert problem.stable_lr(x) == pytest.approx(2.0 / lam, rel=1e-10)
    # below it the article's loop converges; above it, it diverges
    below = problem.loop(0.9 * problem.stable_lr(x), steps=500)[0]
    above = problem.loop(1.1 * problem.stable_lr(x), steps=500)[0]
    assert below[-1] < below[0] and not above[-1] < above[0]


def test_the_reference_gradients_match_finite_differences() -> None:
    x, y = problem.data()
    for point in problem.POINTS:

        def loss(*w: float) -> float:
            return float(np.square(problem.predict(x, *w) - y).sum())

        fd = finite_difference(loss, point)
        assert np.allclose(problem.gradients(x, y, *point), fd, rtol=1e-6)
    for point in problem.FORMULA_POINTS:
        fd = finite_difference(problem.formula_loss, point)
        assert np.allclose(problem.formula_gradients(*point), fd, rtol=1e-6)


def test_the_loop_reference_is_the_articles_loop(seed_scripts: Path) -> None:
    """The reference loop from a start is the article's script from that start: compare the
    losses it prints every 100 steps (the script's own random start, set by monkeypatching)."""
    import runpy
    from unittest import mock

    start = iter(problem.START)
    printed: list[float] = []
    with (
        mock.patch("numpy.random.randn", lambda: next(start)),
        mock.patch(
            "builtins.print", lambda *a, **k: printed.append(float(a[1])) if len(a) == 2 else None
        ),
    ):
        runpy.run_path(str(seed_scripts / "seed_numpy.py"))
    losses, _ = problem.loop()
    assert len(printed) == 20
    assert np.allclose(printed, [losses[t] for t in range(99, problem.STEPS, 100)], rtol=1e-9)


def test_diagnose_loop_names_the_step_and_the_rate() -> None:
    losses, params = problem.loop(1e-5, steps=50)
    hint = diagnose_loop({"lr": 1e-5, "losses": losses, "params": params})
    assert hint is not None and "diverges at step 1" in hint and "3.558e-06" in hint
    losses, params = problem.loop()
    assert diagnose_loop({"lr": problem.LR, "losses": losses, "params": params}) is None


def test_progress_here_and_clear_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, text = gradfit("learn")  # not in a folder of exercises: the list and how to start
    assert code == 0 and "gradfit learn start ex" in text and "done" not in text
    gradfit("learn", "start", str(tmp_path / "ex"))
    monkeypatch.chdir(tmp_path / "ex")
    code, text = gradfit("learn")  # here holds exercises: the progress in it
    assert code == 0 and f"Exercises in .: 0 of {len(EXERCISES)} done" in text
    for args, words in [
        (["learn", "check", ".", "13"], "there is no exercise 13"),
        (["learn", "check", str(tmp_path)], "holds no exercises"),
        (["learn", "solution", "nowhere", "1"], "no folder nowhere"),
        (["learn", "check", ".", "--time-limit", "0"], "--time-limit must be a positive"),
    ]:
        code, text = gradfit(*args)
        assert code == 2 and text.startswith("gradfit: error: ") and words in text
        assert "Traceback" not in text
