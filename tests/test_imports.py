"""What each command imports: guards on start-up cost, not timings.

Each command runs in a fresh Python, as ``python -m gradfit ARGS`` does, and reports the modules
it loaded. ``gradfit --help`` and ``import gradfit`` load neither NumPy nor any of gradfit's run
code; ``gradfit fit --help`` loads the option table (and so NumPy and the model, loss, method and
optimizer registries) but nothing that runs a fit; a NumPy run never loads torch; ``gradfit
predict`` loads nothing that only ``fit`` needs. ``benchmarks/bench_startup.py`` has the times.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gradfit
from gradfit.cli import COMMANDS

# Run ``python -m gradfit ARGS`` in this process (runpy, as -m does), then write what it loaded.
_SCRIPT = """
import json, runpy, sys
out, argv = sys.argv[1], sys.argv[2:]
sys.argv = ["gradfit", *argv]
code = 0
if argv != ["--import-only"]:
    try:
        runpy.run_module("gradfit", run_name="__main__")
    except SystemExit as exc:
        code = exc.code
else:
    import gradfit
with open(out, "w", encoding="utf-8") as f:
    json.dump({"code": code, "modules": sorted(sys.modules)}, f)
"""

# Never loaded by a short command or a NumPy run (each only where its feature is used).
HEAVY = ("torch", "matplotlib", "scipy", "sklearn", "pyarrow", "pandas")
# What running a fit takes, beyond the option table: none of it is needed to print help.
RUN_CODE = (
    "gradfit.api",
    "gradfit.plan",
    "gradfit.training",
    "gradfit.data",
    "gradfit.understand",
    "gradfit.distributed",
    "gradfit.result",
    "gradfit.saved",
    "gradfit.outputs",
    "gradfit.shadowing",
    "gradfit.doctor.run",
    "gradfit.formula",
    "gradfit.expr",
)
# The option table and what it reads its choices and defaults from.
OPTION_TABLE = ("gradfit.config", "gradfit.options", "gradfit.models", "gradfit.losses")


def loaded(tmp_path: Path, *argv: str) -> set[str]:
    """The modules a fresh ``python -m gradfit ARGV`` had loaded when it finished."""
    out = tmp_path / "modules.json"
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(out), *argv],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["code"] in (0, None), (argv, proc.stdout, proc.stderr)
    return set(doc["modules"])


def present(modules: set[str], names: tuple[str, ...]) -> list[str]:
    """Which of ``names`` (a package counts with its submodules) are in ``modules``."""
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


def test_import_gradfit_loads_no_numpy_and_no_submodule(tmp_path: Path) -> None:
    modules = loaded(tmp_path, "--import-only")
    assert present(modules, ("numpy", *HEAVY)) == []
    assert present(modules, ("gradfit",)) == ["gradfit", "gradfit._version", "gradfit.errors"]


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["--version"],
        ["predict", "--help"],
        ["presets", "--help"],
        ["doctor", "--help"],
        ["learn", "--help"],
    ],
    ids=" ".join,
)
def test_help_without_the_option_table_loads_no_numpy(tmp_path: Path, argv: list[str]) -> None:
    modules = loaded(tmp_path, *argv)
    assert present(modules, ("numpy", "array_api_compat", *HEAVY)) == []
    assert present(modules, RUN_CODE + OPTION_TABLE) == []


@pytest.mark.parametrize("command", ["fit", "explain", "compare", "landscape"])
def test_command_help_loads_the_option_table_only(tmp_path: Path, command: str) -> None:
    modules = loaded(tmp_path, command, "--help")
    assert present(modules, ("gradfit.config", "gradfit.options")) == [
        "gradfit.config",
        "gradfit.options",
    ]
    assert present(modules, ("array_api_compat", "jsonschema", "rich", *HEAVY)) == []
    assert present(modules, RUN_CODE) == []


def test_a_numpy_run_loads_no_torch(tmp_path: Path) -> None:
    modules = loaded(tmp_path, "fit", "--backend", "numpy", "--steps", "10", "--quiet")
    assert "gradfit.training" in modules  # it did run
    assert present(modules, ("jsonschema", "rich", *HEAVY)) == []
    assert present(modules, ("array_api_compat.torch", "gradfit.doctor.run")) == []
    assert present(modules, ("gradfit.understand.plot", "gradfit.sklearn")) == []
    # NumPy 2 is its own Array API namespace: array_api_compat's copy of it would load
    # numpy.f2py and numpy.testing (about 90 ms, a third of the run's start-up)
    assert present(modules, ("array_api_compat.numpy", "numpy.f2py", "numpy.testing")) == []


def test_predict_loads_nothing_only_fit_needs(tmp_path: Path) -> None:
    x = np.linspace(-1.0, 1.0, 20)
    gradfit.fit(x, x**2, degree=2, backend="numpy", steps=5).save(tmp_path / "model.json")
    modules = loaded(tmp_path, "predict", "model.json", "--x", "0.5")
    assert present(modules, HEAVY) == []
    fit_only = ("gradfit.api", "gradfit.plan", "gradfit.training", "gradfit.config")
    assert present(modules, (*fit_only, "gradfit.optim", "gradfit.methods")) == []
    assert present(modules, ("gradfit.distributed", "gradfit.understand")) == []


# --- the lazy surface behaves as the eager one did ---------------------------------------------


def test_every_public_name_loads_and_dir_lists_them() -> None:
    import gradfit.api
    import gradfit.saved

    for name in gradfit.__all__:
        assert getattr(gradfit, name) is not None, name
    assert set(gradfit.__all__) <= set(dir(gradfit))
    assert gradfit.fit is gradfit.api.fit and gradfit.load is gradfit.saved.load
    from gradfit import FitConfig, closed_form, fit  # noqa: F401  (the `from` form works)

    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        gradfit.no_such_name  # noqa: B018


@pytest.mark.parametrize("command", COMMANDS)
def test_lazy_help_is_the_full_parsers_help(capsys: pytest.CaptureFixture[str], command: str):
    """main() adds a command's options only when it is used; its help is still every option's
    (the oracle: the parser built with all the options, as docs and tests see it)."""
    import argparse

    from gradfit.cli import build_parser, main

    full = build_parser()
    sub = next(a for a in full._actions if isinstance(a, argparse._SubParsersAction))
    expected = sub.choices[command].format_help()
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert capsys.readouterr().out == expected
    with pytest.raises(SystemExit):
        main(["--help"])
    assert capsys.readouterr().out == full.format_help()


# --- benchmarks/bench_startup.py: the paired ratios it reports ---------------------------------


def test_bench_startup_pairs_each_subject_with_its_reference(monkeypatch, tmp_path: Path) -> None:
    import importlib.util

    bench = Path(__file__).resolve().parents[1] / "benchmarks"
    monkeypatch.setattr(sys, "path", [str(bench), *sys.path])
    spec = importlib.util.spec_from_file_location("bench_startup", bench / "bench_startup.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_startup", module)
    spec.loader.exec_module(module)
    py = sys.executable
    sleep = "import time; time.sleep(0.2)"  # far above the start-up noise of `pass`
    rows = [
        {"label": "pass", "argv": [py, "-c", "pass"]},
        {"label": "sleep", "argv": [py, "-c", sleep], "ref": "pass", "target_ratio": 1.1},
        {"label": "fast", "argv": [py, "-c", "pass"], "target_s": 60.0},
    ]
    monkeypatch.setattr(module, "subjects", lambda seed_dir: rows)
    doc = module.measure(repeat=2, seed_dir=tmp_path)  # no seed_numpy.py there
    assert doc["seed_dir"] is None
    by = {r["label"]: r for r in doc["rows"]}
    assert [len(r["samples"]) for r in doc["rows"]] == [2, 2, 2]
    assert by["sleep"]["min"] >= 0.2 and by["sleep"]["ratio"] > 1.1 and by["sleep"]["ok"] is False
    assert by["fast"]["ratio"] is None and by["fast"]["ok"] is True and by["pass"]["ok"] is None
    table = module.markdown(doc)
    assert "| `sleep` |" in table and "NOT met" in table and "(met)" in table
    with pytest.raises(ValueError):
        module.measure(repeat=0, seed_dir=tmp_path)
