"""Stand-ins (torch.py, numpy/, random.py) found by path, never imported, and every gradfit entry
point explaining one in one line, not a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_gradfit

from gradfit import shadowing

ARTICLE_TORCH_PY = "import torch\nx = torch.rand(5, 3)\nprint(x)\n"
ARTICLE_NUMPY_PY = "import numpy as np\nx = np.linspace(-3.14, 3.14, 2000)\n"


def python(code: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def assert_one_line(proc: subprocess.CompletedProcess, path: Path) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"gradfit: error: {path} hides ")
    assert f"fix: rename {'the folder ' if path.is_dir() else ''}{path}" in lines[0]


@pytest.mark.parametrize("shape", ["file", "package"])
def test_fit_with_torch_hidden(tmp_path: Path, shape: str) -> None:
    if shape == "file":  # found before importing: the user's torch.py never runs
        path = tmp_path / "torch.py"
        path.write_text("raise SystemExit('the stand-in ran')\n")
    else:  # imported, fails like the article's error, then explained
        path = tmp_path / "torch"
        path.mkdir()
        (path / "__init__.py").write_text(ARTICLE_TORCH_PY)
    assert_one_line(run_gradfit("fit", "--steps", "2", cwd=tmp_path), path)


@pytest.mark.parametrize("shape", ["file", "package"])
def test_any_command_with_numpy_hidden(tmp_path: Path, shape: str) -> None:
    # `import gradfit` itself needs numpy, so this fails before the command line is parsed.
    if shape == "file":
        path = tmp_path / "numpy.py"
        path.write_text(ARTICLE_NUMPY_PY)
    else:
        path = tmp_path / "numpy"
        path.mkdir()
        (path / "__init__.py").write_text("")
    assert_one_line(run_gradfit("fit", "--backend", "numpy", cwd=tmp_path), path)
    assert_one_line(run_gradfit("--version", cwd=tmp_path), path)


def test_the_gradfit_command_with_numpy_on_pythonpath(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("gradfit")
    if not script.exists():
        pytest.skip("the gradfit console script is not installed in this environment")
    (tmp_path / "numpy.py").write_text(ARTICLE_NUMPY_PY)
    proc = subprocess.run(
        [str(script), "fit", "--backend", "numpy"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )
    assert_one_line(proc, tmp_path / "numpy.py")
    assert "or take" in proc.stderr and "off PYTHONPATH" in proc.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    (tmp_path / "torch.py").write_text(ARTICLE_TORCH_PY)
    proc = run_gradfit("fit", "--steps", "2", "--debug", cwd=tmp_path)
    assert proc.returncode == 1 and "Traceback" in proc.stderr
    assert "ShadowedModuleError" in proc.stderr


def test_import_gradfit_from_a_folder_hiding_numpy(tmp_path: Path) -> None:
    path = tmp_path / "numpy.py"
    path.write_text(ARTICLE_NUMPY_PY)
    code = """
try:
    import gradfit
except ImportError as exc:
    print(type(exc).__name__, exc)
"""
    proc = python(code, tmp_path)
    assert proc.stdout.startswith(f"ShadowedModuleError {path} hides NumPy (numpy)"), proc.stdout


def test_library_fit_beside_a_torch_py(tmp_path: Path) -> None:
    # The user's program imports gradfit; torch is hidden by their torch.py: a clear error
    # (an ImportError and a gradfit UsageError), raised before the stand-in runs.
    path = tmp_path / "torch.py"
    path.write_text("raise SystemExit('the stand-in ran')\n")
    code = """
import numpy as np, gradfit
x = np.linspace(-1, 1, 10)
try:
    gradfit.fit(x, x, backend="torch", steps=1)
except gradfit.UsageError as exc:
    print(isinstance(exc, ImportError), exc)
"""
    proc = python(code, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"True {path} hides PyTorch (torch)"), proc.stdout


def test_a_script_named_torch_py_that_uses_gradfit(tmp_path: Path) -> None:
    script = tmp_path / "torch.py"
    script.write_text(
        "import numpy as np, gradfit\n"
        "x = np.linspace(-1, 1, 10)\n"
        "gradfit.fit(x, x, backend='torch', steps=1)\n"
    )
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"gradfit.errors.ShadowedModuleError: your script {script}"), last


def test_a_random_py_that_breaks_gradfits_own_imports(tmp_path: Path) -> None:
    path = tmp_path / "random.py"
    path.write_text("")  # no SystemRandom: `import secrets` fails inside gradfit's imports
    proc = run_gradfit("fit", "--backend", "numpy", cwd=tmp_path)
    assert_one_line(proc, path)
    assert "the standard library's random" in proc.stderr


# --- gradfit.shadowing, in this process ----------------------------------------------------


def test_shadowing_and_the_doctor_need_only_the_standard_library() -> None:
    # Every command, and `import gradfit` when a stand-in breaks it, relies on them: they import
    # neither numpy nor torch, nor the rest of gradfit (loaded here without gradfit/__init__.py).
    code = (
        "import json, sys, types\n"
        "pkg = types.ModuleType('gradfit')\n"
        f"pkg.__path__ = [{str(Path(shadowing.__file__).parent)!r}]\n"
        "sys.modules['gradfit'] = pkg\n"
        "import gradfit.shadowing, gradfit.doctor\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout)
    assert not [m for m in loaded if m.split(".")[0] in ("numpy", "torch")], loaded
    ours = {m for m in loaded if m.startswith("gradfit.")}
    assert {m.split(".")[1] for m in ours} == {"doctor", "errors", "shadowing"}, ours


def test_a_script_too_deeply_nested_to_parse(tmp_path: Path) -> None:
    script = tmp_path / "deep.py"
    script.write_text("x = " + "-" * 100_000 + "1\n")
    with pytest.raises(ValueError, match="too deeply nested to parse"):
        shadowing.script_imports(script)
    assert shadowing.find_shadowing([script], cwd=tmp_path) == []


def test_script_imports_are_read_not_run(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(
        "import os.path, numpy as np\n"
        "from torch.nn import functional\n"
        "from . import sibling\n"
        "import importlib\n"
        "def f():\n"
        "    import random\n"
        "    return importlib.import_module('statistics'), __import__('json')\n"
        "raise SystemExit('never run')\n"
    )
    assert shadowing.script_imports(script) == {
        "os",
        "numpy",
        "torch",
        "importlib",
        "random",
        "statistics",
        "json",
    }


def names_found(tmp_path: Path, *scripts: Path) -> dict[str, shadowing.Shadow]:
    return {s.name: s for s in shadowing.find_shadowing(scripts, cwd=tmp_path)}


def test_a_script_folder_hiding_the_standard_library(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    script = folder / "train.py"
    script.write_text("import statistics\nimport helpers\n")
    (folder / "statistics.py").write_text("")  # hides the standard library: fail
    (folder / "helpers.py").write_text("")  # the script's own module: fine
    (folder / "sys.py").write_text("")  # built in: no file can hide it
    (folder / "matplotlib").mkdir()  # a plain folder (no __init__.py) hides nothing
    found = names_found(tmp_path, script)
    assert set(found) == {"statistics"}
    shadow = found["statistics"]
    assert shadow.status == "fail" and shadow.path == str(folder / "statistics.py")
    assert shadow.where == f"it is beside {script}" and not shadow.active
    assert "the standard library's statistics" in shadow.summary


def test_a_script_named_like_a_module_it_needs_indirectly(tmp_path: Path) -> None:
    # numpy.py imports torch, and torch imports numpy: the script loads itself.
    script = tmp_path / "sub" / "numpy.py"
    script.parent.mkdir()
    script.write_text("import torch\n")
    shadow = names_found(tmp_path, script)["numpy"]
    assert shadow.script == str(script) and shadow.status == "fail"
    assert shadow.summary.startswith(f"your script {script} is named like NumPy")


def test_pythonpath_entry_ahead_of_numpy(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "lib"
    folder.mkdir()
    (folder / "numpy.py").write_text("")
    monkeypatch.setenv("PYTHONPATH", str(folder))
    monkeypatch.setattr(sys, "path", [str(folder), *sys.path])
    shadow = shadowing.diagnose()
    assert shadow is not None and shadow.path == str(folder / "numpy.py")
    assert shadow.active and shadow.via == "pythonpath"
    assert f"take {folder} off PYTHONPATH" in shadow.fix
    # A real install there (pip install --target) is not a stand-in.
    (folder / "numpy-2.0.0.dist-info").mkdir()
    assert shadowing.diagnose() is None


def test_clean_environment_has_nothing_to_diagnose(tmp_path: Path, monkeypatch) -> None:
    import torch

    monkeypatch.chdir(tmp_path)
    assert shadowing.diagnose() is None
    assert shadowing.find_shadowing(cwd=tmp_path) == []
    assert shadowing.import_checked("torch") is torch


def test_diagnose_blames_a_stand_in_only_for_what_it_can_cause(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "statistics.py").write_text("")
    (tmp_path / "numpy.py").write_text("")
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    named = shadowing.diagnose(ImportError("cannot import name 'mean' from 'statistics' (...)"))
    assert named is not None and named.name == "statistics"
    assert shadowing.diagnose(ImportError("something else")) is not None  # a stand-in's symptom
    assert shadowing.diagnose(OSError("libcudart.so.12: cannot open shared object file")) is None
