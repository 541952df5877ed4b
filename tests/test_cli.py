"""The command line: exact line shapes, JSON, and one-line errors with the right exit codes."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import cli, heavy_imports, run_cli, run_gradfit

import gradfit
from gradfit.cli.table import CLI_ONLY, PARSERS, default_text, help_text
from gradfit.options import BY_FIELD, OPTIONS, options_for

FLOAT = r"-?\d+(?:\.\d+)?(?:e[-+]\d+)?|nan|inf|-inf"
LOSS_LINE = re.compile(rf"^(\d+) ({FLOAT})$")
CUBIC_LINE = re.compile(
    rf"^Result: y = ({FLOAT}) \+ ({FLOAT}) x \+ ({FLOAT}) x\^2 \+ ({FLOAT}) x\^3$"
)


@pytest.mark.parametrize("backend", ["torch", "numpy"])
def test_default_run_prints_the_articles_line_shapes(capsys, backend: str) -> None:
    code, out, err = cli(capsys, "fit", "--backend", backend, "--seed", "5")
    assert code == 0 and err == ""
    lines = out.splitlines()
    # the article's 21 lines, then the uncertainty block (indented: parameters, fit, a note)
    assert len(lines) in (23, 24) and all(line.startswith("  c") for line in lines[21:22])
    assert lines[22].startswith("  RMSE ")
    steps = [int(LOSS_LINE.match(line).group(1)) for line in lines[:20]]
    assert steps == list(range(99, 2000, 100))
    match = CUBIC_LINE.match(lines[20])
    assert match, lines[20]
    losses = [float(LOSS_LINE.match(line).group(2)) for line in lines[:20]]
    assert losses == sorted(losses, reverse=True)  # lr 1e-6 is stable here: the loss falls


def test_result_line_matches_library_numbers(capsys) -> None:
    code, out, _ = cli(capsys, "fit", "--backend", "numpy", "--seed", "9", "--quiet")
    r = gradfit.run(gradfit.FitConfig(backend="numpy", seed=9), reference=False)
    assert code == 0
    assert out == f"Result: {r.formula()}\n"
    assert [float(v) for v in CUBIC_LINE.match(out.strip()).groups()] == r.coef.tolist()


@pytest.mark.parametrize(
    ("degree", "pattern"),
    [
        ("0", rf"^Result: y = {FLOAT}$"),
        ("1", rf"^Result: y = {FLOAT} \+ {FLOAT} x$"),
        ("5", rf"^Result: y = {FLOAT} \+ {FLOAT} x( \+ {FLOAT} x\^[2-5]){{4}}$"),
    ],
)
def test_result_line_for_other_degrees(capsys, degree: str, pattern: str) -> None:
    code, out, _ = cli(
        capsys,
        "fit",
        "--backend",
        "numpy",
        "--degree",
        degree,
        "--lr",
        "1e-8",
        "--steps",
        "10",
        "--quiet",
    )
    assert code == 0
    assert re.match(pattern, out.strip()), out


def test_log_every_and_quiet(capsys) -> None:
    _, out, _ = cli(capsys, "fit", "--backend", "numpy", "--steps", "1000", "--log-every", "250")
    lines = out.splitlines()
    assert [line.split()[0] for line in lines[:4]] == ["249", "499", "749", "999"]
    assert lines[4].startswith("Result: ") and lines[5].startswith("  c0 = ")
    _, out, _ = cli(capsys, "fit", "--backend", "numpy", "--steps", "1000", "--quiet")
    assert len(out.splitlines()) == 1 and out.startswith("Result: ")


def test_negative_values_after_options(capsys) -> None:
    code, out, _ = cli(
        capsys,
        "fit",
        "--backend",
        "numpy",
        "--init",
        "-0.5,1,-2e-1,0.25",
        "--range",
        "-pi",
        "2",
        "--steps",
        "1",
        "--json",
    )
    doc = json.loads(out)
    assert code == 0
    assert doc["init_coef"] == [-0.5, 1.0, -0.2, 0.25]
    assert doc["config"]["x_range"] == [-np.pi, 2.0]


def test_json_on_stdout_is_the_whole_run(capsys) -> None:
    code, out, err = cli(capsys, "fit", "--backend", "numpy", "--seed", "3", "--json")
    assert code == 0 and err == ""
    doc = json.loads(out)  # nothing but JSON on stdout
    assert doc["schema"] == "gradfit.fit/1"
    assert doc["seed"] == 3 and doc["config"]["seed"] == 3
    assert doc["config"]["lr"] == 1e-6 and doc["config"]["steps"] == 2000
    assert doc["device"] == "cpu" and doc["dtype"] == "float64"
    assert [t for t, _ in doc["loss_history"]] == list(range(99, 2000, 100))
    assert doc["init_coef"] == np.random.default_rng(3).standard_normal(4).tolist()
    x = np.linspace(-np.pi, np.pi, 2000)
    opt = gradfit.closed_form(x, np.sin(x), 3)
    assert doc["optimum"]["loss"] == pytest.approx(opt.loss, rel=1e-12)
    assert doc["optimum"]["coef"] == pytest.approx(opt.coef.tolist(), rel=1e-9)
    assert doc["final_loss"] > doc["optimum"]["loss"]
    assert doc["timings"]["loop_s"] > 0
    assert doc["versions"]["numpy"] == np.__version__
    assert doc["versions"]["python"].count(".") == 2


def test_json_file_and_text_together(capsys, tmp_path: Path) -> None:
    dest = tmp_path / "run.json"
    code, out, _ = cli(capsys, "fit", "--backend", "numpy", "--seed", "4", "--json", str(dest))
    doc = json.loads(dest.read_text())
    assert code == 0
    last_logged = out.splitlines()[19]
    assert last_logged == f"{doc['loss_history'][-1][0]} {doc['loss_history'][-1][1]}"
    assert out.splitlines()[20] == f"Result: {doc['formula']}"
    assert not list(tmp_path.glob(".*tmp"))  # no temporary file left behind


BAD_INPUTS = [
    (["--backend", "jax"], "unknown backend 'jax'"),
    (["--device", "tpu"], "unknown device 'tpu'"),
    (["--device", "cuda"], "not available"),
    (["--device", "cuda:3"], "not available"),
    (["--backend", "numpy", "--device", "cuda"], "CPU only"),
    (["--dtype", "float16"], "unknown dtype 'float16'"),
    (["--init", "1,2,3"], "--init has 3 value(s)"),
    (["--init", "1,2,3,4,5"], "--init has 5 value(s)"),
    (["--init", "1,x,3,4"], "not a number"),
    (["--points", "0"], "--points must be a positive integer"),
    (["--points", "-5"], "--points must be a positive integer"),
    (["--points", "3"], "fewer than the 4 coefficients"),
    (["--steps", "0"], "--steps must be a positive integer"),
    (["--lr", "0"], "--lr must be a positive"),
    (["--lr", "-1e-6"], "--lr must be a positive"),
    (["--lr", "nan"], "--lr must be a positive"),
    (["--lr", "abc"], "not a number or 'auto'"),
    (["--degree", "-1"], "--degree must be"),
    (["--log-every", "0"], "--log-every must be a positive integer"),
    (["--range", "1", "1"], "finite A < B"),
    (["--range", "3"], "expected 2 arguments"),
    (["--bogus"], "unrecognized arguments"),
    (["--json", "/nonexistent-dir/run.json"], "does not exist"),
    (["--backend", "numpy", "--method", "nn"], "the nn method needs the torch backend"),
    (["--backend", "numpy", "--method", "autograd"], "the autograd method needs the torch"),
    (["--backend", "numpy", "--optimizer", "lbfgs"], "lbfgs optimizer is not available"),
    (["--method", "magic"], "unknown method 'magic'"),
    (["--optimizer", "adagrad"], "unknown optimizer 'adagrad'"),
    (["--model", "mlp"], "unknown model 'mlp'"),
    (["--basis", "hermite"], "unknown basis 'hermite'"),
    (["--model", "legendre3", "--init", "1,2,3"], "the legendre3 model has 4 parameters"),
    (["--optimizer", "momentum", "--momentum", "1.5"], "--momentum must be in [0, 1)"),
    (["--optimizer", "adam", "--betas", "0.9", "1.2"], "--betas must both be in [0, 1)"),
    (["--preset", "nope"], "unknown preset 'nope'"),
]


@pytest.mark.parametrize(("args", "message"), BAD_INPUTS)
def test_bad_input_is_one_line_and_exit_2(capsys, args: list[str], message: str) -> None:
    if args[:2] == ["--device", "cuda"] or args[:2] == ["--device", "cuda:3"]:
        import torch

        if torch.cuda.is_available() and args[1] == "cuda":
            pytest.skip("a GPU is present")
    code, out, err = cli(capsys, "fit", *args)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("gradfit: error: "), err
    assert message in err


def test_bad_input_in_a_real_process_has_no_traceback() -> None:
    proc = run_gradfit("fit", "--backend", "numpy", "--init", "1,2")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("gradfit: error: --init has 2 value(s)")
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1


def test_divergence_exits_1_and_the_json_records_it(capsys, tmp_path: Path) -> None:
    dest = tmp_path / "run.json"
    proc = run_cli(capsys, "fit", "--backend", "numpy", "--lr", "1e-2", "--json", str(dest))
    assert proc.returncode == 1
    assert proc.stderr.startswith("gradfit: error: diverged at step 1 ")
    assert "largest stable learning rate here is 3.558e-06" in proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    doc = json.loads(dest.read_text())
    assert doc["status"] == "diverged" and doc["step"] == 1
    assert doc["config"]["lr"] == 1e-2


def test_usage_error_keeps_the_users_file(capsys, tmp_path: Path) -> None:
    dest = tmp_path / "run.json"
    dest.write_text("precious")
    proc = run_cli(capsys, "fit", "--lr", "-1", "--json", str(dest))
    assert proc.returncode == 2 and dest.read_text() == "precious"


def test_help_and_numpy_runs_import_no_heavy_module(tmp_path: Path) -> None:
    """``import gradfit``, ``--help``, and NumPy runs (generated, a CSV, a streamed .npy, gram
    with --lr auto, predict) import none of torch, matplotlib, scikit-learn, pyarrow: one fresh
    Python runs them all in turn and reports what is loaded after each."""
    csv = tmp_path / "d.csv"
    x = np.linspace(0.0, 2.5, 6)
    np.savetxt(csv, np.column_stack([x, 1.0 - 2.0 * x + 0.5 * x**2]), delimiter=",")
    npy = tmp_path / "d.npy"
    x = np.linspace(0, 1, 20_000)
    np.save(npy, np.column_stack([x, np.cos(x)]))
    model = tmp_path / "m.json"
    x = np.linspace(0, 1, 30)
    gradfit.fit(x, 2 * x, degree=1, lr="auto", steps=300, seed=0, scale=True).save(model)
    numpy = ["--backend", "numpy", "--quiet"]
    rows = heavy_imports(
        ["--help"],
        ["fit", "--help"],
        ["fit", *numpy, "--steps", "5"],
        ["fit", "--data", str(csv), *numpy],
        ["fit", "--data", str(npy), *numpy],
        ["fit", *numpy, "--points", "20000", "--method", "gram", "--lr", "auto"],
        ["predict", str(model), "--x", "0.5"],
    )
    assert [(command, heavy) for command, heavy, _ in rows] == [
        (command, []) for command, _, _ in rows
    ]
    assert len(rows) == 8 and "usage:" in rows[1][2] and "examples:" in rows[2][2]
    assert float(rows[-1][2]) == pytest.approx(1.0, rel=1e-9)  # predict's answer, 2 * 0.5


def test_python_dash_m_and_help_text() -> None:
    proc = run_gradfit("fit", "--help")
    assert proc.returncode == 0
    for option in (
        "--backend",
        "--device",
        "--dtype",
        "--points",
        "--range",
        "--degree",
        "--lr",
        "--steps",
        "--log-every",
        "--seed",
        "--init",
        "--quiet",
        "--json",
    ):
        assert option in proc.stdout
    assert "examples:" in proc.stdout


def test_legendre3_prints_the_tutorials_result_line_and_the_monomial_form(capsys) -> None:
    code, out, _ = cli(capsys, "fit", "--preset", "custom-function", "--quiet")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2
    assert re.match(
        rf"^Result: y = ({FLOAT}) \+ ({FLOAT}) \* P3\(({FLOAT}) \+ ({FLOAT}) x\)$", lines[0]
    )
    assert CUBIC_LINE.match(lines[1].replace("In powers of x:", "Result:"))


def test_orthogonal_basis_prints_both_forms(capsys) -> None:
    code, out, _ = cli(
        capsys,
        "fit",
        "--basis",
        "chebyshev",
        "--range",
        "-1",
        "1",
        "--lr",
        "1e-4",
        "--quiet",
        "--backend",
        "numpy",
        "--seed",
        "1",
    )
    lines = out.splitlines()
    assert code == 0
    assert re.match(
        rf"^Result: y = {FLOAT} \+ {FLOAT} T1\(x\) \+ {FLOAT} T2\(x\) \+ "
        rf"{FLOAT} T3\(x\)$",
        lines[0],
    )
    assert lines[1].startswith("In powers of x: y = ")


# The command line is generated from the option table; the table agrees with FitConfig.


def _subparser(command: str) -> argparse.ArgumentParser:
    from gradfit.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[command]


def test_every_fitconfig_field_is_one_table_option() -> None:
    assert [o.field for o in OPTIONS] == list(BY_FIELD)  # one record per field
    assert set(BY_FIELD) == {f.name for f in dataclasses.fields(gradfit.FitConfig)}


@pytest.mark.parametrize("command", ["fit", "explain", "compare"])
def test_parser_options_are_the_tables(command: str) -> None:
    actions = {a.dest: a for a in _subparser(command)._actions}
    defaults = {f.name: f.default for f in dataclasses.fields(gradfit.FitConfig)}
    for option in options_for(command):
        action = actions.pop(option.field)
        assert tuple(action.option_strings[: len(option.flags)]) == option.flags
        assert action.default is None  # only given options override a preset
        assert action.help == help_text(option)
        assert " | ".join(option.choices) in action.help
        if "{default}" in option.help:  # the help quotes FitConfig's default, as one types it
            text = default_text(option)
            assert f"default: {text}" in action.help
            parse = PARSERS[option.type] or str
            parsed = tuple(parse(t) for t in text.split())
            assert parsed == (defaults[option.field],) or parsed == defaults[option.field]
    assert set(actions) <= CLI_ONLY, set(actions) - CLI_ONLY  # the rest are documented CLI-only


def test_fit_help_leads_with_the_basics_and_fits_100_columns() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gradfit", "fit", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "300"},
    )
    lines = proc.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100
    groups = [line for line in lines if line.endswith(":") and not line.startswith(" ")]
    assert groups[:2] == ["options:", "basics (the options most runs need):"]
    basics = lines[lines.index("examples:") + 1 : lines.index("more examples:")]
    more = lines[lines.index("more examples:") + 1 :]
    assert len([line for line in basics if line.strip()]) <= 8
    examples = [line for line in basics + more if "gradfit fit" in line]
    assert len(examples) == 24  # every example there was, some under 'more examples'


def test_a_validated_config_is_not_validated_again(monkeypatch) -> None:
    from gradfit import config as config_module

    checked = gradfit.FitConfig(backend="numpy", steps=10).validated()
    assert config_module.is_validated(checked)
    assert not config_module.is_validated(gradfit.FitConfig())

    def fail(*args: object) -> None:
        raise AssertionError("validated twice")

    monkeypatch.setattr(config_module, "make_model", fail)
    assert checked.validated() is checked
    changed = dataclasses.replace(checked, steps=0)  # a changed copy is checked again
    assert not config_module.is_validated(changed)
    with pytest.raises(AssertionError, match="validated twice"):
        changed.validated()


def _line(x, p):  # a model given as a Python function (the library's model=f)
    return p[0] * x


COMBINATION_CASES = [
    ({"x_column": "t"}, "--x and --y choose columns of a --data file"),
    ({"y_column": "1"}, "--x and --y choose columns of a --data file"),
    ({"drop_nonfinite": True}, "--drop-nonfinite applies to --data files"),
    ({"sigma_column": "err"}, "--sigma and --weight choose columns of a --data file"),
    ({"data": "f.csv", "sigma_column": 2, "weight_column": 3}, "give --sigma (measurement"),
    ({"data": "f.csv", "weight_column": "w", "workers": 2}, "--weight run in one process"),
    ({"data": "f.csv", "sigma_column": "e", "distributed": True}, "(no --distributed)"),
    ({"data": "f.csv", "noise": 0.1}, "--noise adds noise to a generated --target"),
    ({"data": "f.csv", "points": 10}, "--points and --range shape a generated target"),
    ({"data": "f.csv", "x_range": (0, 1)}, "--points and --range shape a generated target"),
    ({"backend": "numpy", "method": "module"}, "the module method needs the torch backend"),
    ({"backend": "numpy", "optimizer": "lbfgs"}, "the lbfgs optimizer is not available"),
    ({"method": "gram", "batch_size": 10}, "the gram method is full batch"),
    ({"optimizer": "lbfgs", "batch_size": 10}, "--batch-size does not apply to lbfgs"),
    ({"shuffle": True}, "--shuffle reorders mini-batches"),
    ({"method": "gram", "model": "dynamic"}, "(poly), not dynamic; use --method manual"),
    ({"method": "gram", "optimizer": "lbfgs"}, "the gram method runs gradfit's own optimizers"),
    ({"checkpoint_every": 5}, "--checkpoint-every N needs --checkpoint FILE"),
    # robust losses and penalties
    ({"loss_scale": 2.0}, "--loss-scale applies to the huber, soft_l1 and cauchy losses"),
    ({"method": "gram", "loss": "cauchy"}, "the gram method needs a sum of squares"),
    ({"method": "gram", "l1": 0.1}, "the gram method has no --l1"),
    ({"loss": "absolute", "lr": "auto"}, "the absolute loss has none: give --lr"),
    ({"l2": 0.1, "workers": 2}, "--l2 and --l1 are not available with --workers"),
    ({"l1": 0.1, "distributed": True}, "--l2 and --l1 are not available in a distributed run"),
    # second-order optimizers and preconditioning
    ({"optimizer": "lm", "method": "gram"}, "takes its steps from the model's Jacobian"),
    ({"optimizer": "lm", "batch_size": 10}, "solves for all the points at once"),
    ({"optimizer": "lm", "checkpoint": "c.ckpt"}, "--checkpoint is not supported"),
    ({"optimizer": "lm", "resume": "c.ckpt"}, "runs cannot be resumed yet"),
    ({"optimizer": "lm", "distributed": True}, "in one process for now (no --distributed)"),
    ({"optimizer": "lm", "workers": 2}, "in one process for now (no --workers)"),
    ({"precondition": True, "method": "autograd"}, "--precondition scales gradfit's own"),
    ({"precondition": True, "optimizer": "lbfgs"}, "--precondition is for the first-order"),
    ({"precondition": True, "workers": 2}, "--precondition runs in one process"),
    ({"precondition": True, "distributed": True}, "--precondition runs in one process"),
    ({"model": _line, "init": (1.0,), "backend": "numpy"}, "runs on torch tensors"),
    ({"model": _line, "init": (1.0,), "method": "manual"}, "has no hand-derived gradient"),
    ({"model": _line, "init": (1.0,), "checkpoint": "c.ckpt"}, "cannot be checkpointed"),
    # the first problem found is reported, in the order the options are read
    ({"backend": "numpy", "method": "nn", "optimizer": "adagrad"}, "the nn method needs"),
    ({"method": "gram", "batch_size": 0}, "--batch-size must be a positive integer"),
    ({"checkpoint_every": 5, "workers": 0}, "--checkpoint-every N needs --checkpoint FILE"),
]


@pytest.mark.parametrize(("fields", "message"), COMBINATION_CASES)
def test_combinations_are_refused_with_their_message(fields: dict, message: str) -> None:
    with pytest.raises(gradfit.UsageError) as info:
        gradfit.FitConfig(**fields).validated()
    assert message in str(info.value)


def test_every_combination_rule_is_exercised() -> None:
    from gradfit.config import COMBINATIONS

    raised = []
    for fields, _ in COMBINATION_CASES:
        with pytest.raises(gradfit.UsageError) as info:
            gradfit.FitConfig(**fields).validated()
        raised.append(str(info.value))
    for rule in COMBINATIONS:
        pattern = re.sub(r"\\\{\w+\\\}", r"\\w+", re.escape(rule.message))
        assert any(re.fullmatch(pattern, m) for m in raised), rule.message


@pytest.mark.parametrize("option", [o for o in OPTIONS if o.type == "int"], ids=lambda o: o.field)
def test_int_options_are_checked_against_the_tables_minimum(option) -> None:
    kind = "a non-negative" if option.minimum == 0 else "a positive"
    with pytest.raises(gradfit.UsageError, match=f"^{option.flags[0]} must be {kind} integer"):
        gradfit.FitConfig(**{option.field: option.minimum - 1}).validated()
