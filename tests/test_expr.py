"""--target formulas: what they compute, that hostile input is refused, and that none of it runs."""

from __future__ import annotations

import ast
import builtins
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import cli

import gradfit
from gradfit.backends import resolve_backend
from gradfit.cli import main
from gradfit.data import make_problem
from gradfit.expr import MAX_LENGTH, parse_expression

XS = np.linspace(-2.5, 2.5, 101)

VALID = [
    ("sin(x)", np.sin(XS)),
    ("exp(-x**2) * cos(3*x)", np.exp(-(XS**2)) * np.cos(3 * XS)),
    ("abs(x)", np.abs(XS)),
    ("pi", np.full_like(XS, math.pi)),
    ("e * x", math.e * XS),
    ("-x**2 + 2.5e-1 * x - 3", -(XS**2) + 0.25 * XS - 3),
    ("2 ** x", 2.0**XS),
    ("x / (1 + x**2)", XS / (1 + XS**2)),
    ("arctan(x) + atan2(x, 2) + hypot(x, 1)", np.arctan(XS) + np.arctan2(XS, 2) + np.hypot(XS, 1)),
    ("maximum(x, 0) - minimum(0, x)", np.maximum(XS, 0) - np.minimum(0, XS)),
    ("sqrt(1 + x**2) * tanh(x) + log1p(x**2) + sign(x) + floor(x) + ceil(x)",
     np.sqrt(1 + XS**2) * np.tanh(XS) + np.log1p(XS**2) + np.sign(XS) + np.floor(XS)
     + np.ceil(XS)),
    ("sin(pi / 2) * x", XS),
    ("+x", XS),
    ("tau / 2", np.full_like(XS, math.pi)),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), VALID, ids=[v[0] for v in VALID])
def test_formulas_compute_what_numpy_computes(text: str, expected: np.ndarray) -> None:
    np.testing.assert_allclose(parse_expression(text)(np, XS), expected, rtol=1e-14, atol=1e-14)


def test_a_formula_on_torch_float32_is_the_builtin_target_exactly() -> None:
    be = resolve_backend("torch", "cpu", "float32")
    builtin = make_problem(be, "sin")
    formula = make_problem(be, "sin(x)")
    assert formula.y.dtype == torch.float32
    assert torch.equal(builtin.y, formula.y) and torch.equal(builtin.x, formula.x)


def test_cli_target_sin_prints_the_articles_run(capsys) -> None:
    init = ["--init", "0.3,-0.7,0.1,0.05"]
    assert main(["fit", *init]) == 0
    article, _ = capsys.readouterr()
    assert main(["fit", "--target", "sin(x)", *init]) == 0
    ours, _ = capsys.readouterr()
    assert ours == article and ours.splitlines()[0] == "99 1728.6517333984375"


def test_cli_fits_a_formula_and_names_it(capsys) -> None:
    code = main(
        ["fit", "--target", "exp(-x**2) * cos(3*x)", "--range", "-2", "2", "--lr", "auto",
         "--steps", "5000", "--backend", "numpy", "--json", "--seed", "0"]
    )  # fmt: skip
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert doc["problem"]["name"] == "exp(-x**2) * cos(3*x)"
    assert doc["scaling"] is None  # generated targets are not scaled unless asked
    assert doc["final_loss"] == pytest.approx(doc["optimum"]["loss"], rel=1e-6)


# --- hostile input ---------------------------------------------------------------------------

HOSTILE = [
    # imports, attributes, dunders, builtins
    ("__import__('os').system('touch PWNED')", "attribute access"),
    ("__import__('os')", "unknown function '__import__'"),
    ("open('PWNED', 'w')", "unknown function 'open'"),
    ("eval('1')", "unknown function 'eval'"),
    ("exec('1')", "unknown function 'exec'"),
    ("compile('1', 'f', 'eval')", "unknown function 'compile'"),
    ("getattr(x, 'real')", "unknown function 'getattr'"),
    ("globals()", "unknown function 'globals'"),
    ("breakpoint()", "unknown function 'breakpoint'"),
    ("__builtins__", "unknown name '__builtins__'"),
    ("x.__class__", "attribute access"),
    ("().__class__.__base__.__subclasses__()", "attribute access"),
    ("sin.__globals__", "attribute access"),
    ("(1).real", "attribute access"),
    ("x[0]", "indexing"),
    ("__debug__", "unknown name '__debug__'"),
    ("__name__ * x", "unknown name '__name__'"),
    # other constructs
    ("lambda: 1", "lambda is not allowed"),
    ("(lambda: open('PWNED', 'w'))()", "only functions called by name"),
    ("[open('PWNED', 'w') for _ in [1]]", "comprehensions are not allowed"),
    ("{k: 1 for k in 'ab'}", "comprehensions are not allowed"),
    ("sum(i for i in [1])", "unknown function 'sum'"),
    ("(f := 1)", "assignment (:=) is not allowed"),
    ("f'{x}'", "strings are not allowed"),
    ("'abc'", "is not a number"),
    ("b'abc'", "is not a number"),
    ("x if x else 1", "if/else is not allowed"),
    ("x < 1", "comparisons are not allowed"),
    ("x and 1", "and/or are not allowed"),
    ("not x", "only unary + and - are allowed"),
    ("~x", "only unary + and - are allowed"),
    ("x @ x", "only the operators"),
    ("x % 2", "only the operators"),
    ("x // 2", "only the operators"),
    ("x << 2", "only the operators"),
    ("[x]", "lists are not allowed"),
    ("(x, x)", "tuples are not allowed"),
    ("{x}", "sets are not allowed"),
    ("sin(*[x])", "unpacking is not allowed"),
    ("sin(x=1)", "takes no keyword arguments"),
    ("sin(x, x)", "takes 1 argument(s), got 2"),
    ("1j * x", "is not a number"),
    ("True * x", "is not a number"),
    ("None", "is not a number"),
    ("...", "is not a number"),
    ("y + 1", "unknown name 'y'"),
    ("sin", "sin is a function; call it"),
    ("x(2)", "x is not a function"),
    ("foo(x)", "unknown function 'foo'"),
    # statements and malformed text
    ("import os", "is not a valid formula"),
    ("x; open('PWNED', 'w')", "is not a valid formula"),
    ("x = 1", "is not a valid formula"),
    ("sin(x", "is not a valid formula"),
    ("x +", "is not a valid formula"),
    ("x\x00", "is not a valid formula"),
    ("", "is empty"),
    ("   ", "is empty"),
    # blow-ups
    ("9**9**9", "'9**9**9' is not finite"),
    ("10**10**10 * x", "is not finite"),
    ("2**1e300 + x", "is not finite"),
    ("1/0", "is not finite"),
    ("(-8)**(1/3)", "is not finite"),
    ("1e400 * x", "is too large for a float"),
    ("9" * 400, "is too large for a float"),
    ("(" * 250 + "x" + ")" * 250, "is not a valid formula"),
    ("-" * 500 + "x", "is too complex"),
    ("+".join(["x"] * 200), "is too complex"),
    ("sin(" * 100 + "x" + ")" * 100, "is too complex"),
    ("x + " * 300 + "x", "characters long; formulas are limited to 1000"),
]


@pytest.mark.parametrize(("text", "message"), HOSTILE, ids=[h[0][:40] for h in HOSTILE])
def test_hostile_formulas_are_refused(text: str, message: str) -> None:
    start = time.perf_counter()
    with pytest.raises(gradfit.UsageError, match=r"^--target") as info:
        parse_expression(text)
    assert time.perf_counter() - start < 0.5  # refused at once, nothing blows up
    assert message in str(info.value)
    assert "\n" not in str(info.value) and len(str(info.value)) < 400


def test_nothing_is_ever_eval_exec_or_compiled_to_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tripwires on every way Python text could run: parsing and evaluating never touch them."""

    def tripwire(*args, **kwargs):
        raise AssertionError(f"called with {args!r}")

    real_compile = builtins.compile

    def ast_only_compile(source, filename, mode, flags=0, *args, **kwargs):
        # ast.parse is compile(..., flags=PyCF_ONLY_AST): a syntax tree, never a code object.
        assert flags & ast.PyCF_ONLY_AST, "compile() asked for a code object"
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "eval", tripwire)
    monkeypatch.setattr(builtins, "exec", tripwire)
    monkeypatch.setattr(builtins, "open", tripwire)
    monkeypatch.setattr(builtins, "compile", ast_only_compile)
    monkeypatch.setattr(os, "system", tripwire)
    monkeypatch.setattr(subprocess, "Popen", tripwire)
    for text, _ in HOSTILE:
        with pytest.raises(gradfit.UsageError):
            parse_expression(text)
    for text, expected in VALID:
        np.testing.assert_allclose(parse_expression(text)(np, XS), expected, rtol=1e-14)


PAYLOADS = [
    "__import__('os').system('touch PWNED')",
    "open('PWNED', 'w')",
    "__import__('pathlib').Path('PWNED').touch()",
    "[open('PWNED', 'w') for _ in [1]]",
    "(lambda: open('PWNED', 'w'))()",
    "sin(x) + len(str(open('PWNED', 'w')))",
    "exec(\"open('PWNED', 'w')\")",
    "getattr(__import__('os'), 'system')('touch PWNED')",
    "(f := open('PWNED', 'w'))",
    "f\"{open('PWNED', 'w')}\"",
]


EVAL_EACH = """
import os, sys
from math import sin
x = 0.0
for folder, payload in zip(sys.argv[1::2], sys.argv[2::2]):
    os.chdir(folder)
    try:
        eval(payload)
    except Exception:
        pass
"""


def test_payloads_that_create_a_file_when_evaluated_create_nothing(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    """Each payload really does create a file under Python's eval (one fresh Python evaluates
    each in its own folder); under gradfit fit --target, run here, none does."""
    folders = [tmp_path / f"eval{i}" for i in range(len(PAYLOADS))]
    for folder in folders:
        folder.mkdir()
    pairs = [arg for folder, p in zip(folders, PAYLOADS, strict=True) for arg in (str(folder), p)]
    subprocess.run([sys.executable, "-c", EVAL_EACH, *pairs], capture_output=True, timeout=60)
    for folder, payload in zip(folders, PAYLOADS, strict=True):
        assert (folder / "PWNED").exists(), f"not a real payload: {payload}"

    run_dir = tmp_path / "gradfit"
    run_dir.mkdir()
    monkeypatch.chdir(run_dir)
    for payload in PAYLOADS:
        code, out, err = cli(capsys, "fit", "--backend", "numpy", "--target", payload)
        assert code == 2, (payload, err)
        assert err.startswith("gradfit: error: --target") and out == ""
        assert "Traceback" not in err and err.count("\n") == 1
    assert list(run_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "log(x)"], "--target 'log(x)' is not finite at 1000 of 2000 points"),
        (["--target", "1/x", "--range", "-1", "1", "--points", "5"],
         "is not finite at 1 of 5 points of --range [-1, 1] (first at x=0)"),
        (["--target", "sqrt(x)", "--range", "-1", "1"], "(first at x=-1)"),
        (["--target", "exp(x)", "--range", "0", "1000"], "is not finite at"),
        (["--target", "sin(x"], "--target 'sin(x' is not a valid formula"),
        (["--target", "y"], "unknown name 'y'"),
        (["--target", "cos"], "cos is a function; call it, as in cos(x)"),
        (["--noise", "-1"], "--noise must be a finite number >= 0"),
        (["--noise", "nan"], "--noise must be a finite number >= 0"),
    ],
)  # fmt: skip
def test_bad_targets_are_one_line_and_exit_2(capsys, args: list[str], message: str) -> None:
    code = main(["fit", "--backend", "numpy", *args])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.startswith("gradfit: error: ") and err.count("\n") == 1
    assert message in err, err


def test_a_formula_without_x_is_a_constant_target() -> None:
    r = gradfit.run(gradfit.FitConfig(backend="numpy", target="pi", degree=0, lr="auto", seed=0))
    assert r.coef[0] == pytest.approx(math.pi, rel=1e-12)


# --- noise -----------------------------------------------------------------------------------


def noisy(seed: int, noise: float, backend: str = "numpy") -> gradfit.FitResult:
    config = gradfit.FitConfig(backend=backend, noise=noise, seed=seed, steps=1, log_every=1)
    return gradfit.run(config)


def test_noise_is_reproducible_and_leaves_the_start_alone() -> None:
    a, b, c, clean = noisy(1, 0.1), noisy(1, 0.1), noisy(2, 0.1), noisy(1, 0.0)
    assert a.to_dict()["optimum"] == b.to_dict()["optimum"]
    assert a.to_dict()["optimum"] != c.to_dict()["optimum"]
    assert a.init_coef.tolist() == clean.init_coef.tolist()  # same seed, same initial weights
    # The noise is N(0, sigma^2): its sum of squares is about n * sigma^2.
    x = np.linspace(-np.pi, np.pi, 2000)
    rng = np.random.default_rng(np.random.SeedSequence(1, spawn_key=(1,)))
    y = np.sin(x) + 0.1 * rng.standard_normal(2000)
    assert a.optimum.loss == pytest.approx(gradfit.closed_form(x, y, 3).loss, rel=1e-9)
    assert 0.8 * 2000 * 0.01 < a.optimum.loss - clean.optimum.loss < 1.2 * 2000 * 0.01


def test_noise_is_the_same_on_both_backends() -> None:
    on_numpy = noisy(3, 0.5)
    on_torch = noisy(3, 0.5, backend="torch")
    np.testing.assert_allclose(on_numpy.optimum.coef, on_torch.optimum.coef, rtol=1e-5)


def test_formula_length_limit_is_the_documented_one() -> None:
    assert MAX_LENGTH == 1000
    parse_expression("x" + " + x" * 60)  # long but reasonable formulas are fine
