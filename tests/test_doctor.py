"""gradfit doctor: the installation report, and stand-in files (torch.py, numpy/) found by path.

The subprocess tests run the real command in a temporary directory, the way a user hits the
article's trap: a torch.py (or a numpy/ package) in the folder Python starts in.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import cli, run_cli, run_gradfit

from gradfit import doctor
from gradfit.doctor import checks, selftest

# The article's check, saved under the name that breaks it. It leaves a marker when it runs:
# the doctor must find it without running it.
ARTICLE_TORCH_PY = """\
from pathlib import Path
from types import SimpleNamespace
Path(__file__).with_name("RAN").write_text("ran")
import torch
x = torch.rand(5, 3)
print(x)
"""


def gradfit_script() -> Path:
    """The installed ``gradfit`` console script of this environment."""
    script = Path(sys.executable).with_name("gradfit")
    if not script.exists():
        pytest.skip("the gradfit console script is not installed in this environment")
    return script


def run_script(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(gradfit_script()), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )


@pytest.fixture
def torch_py(tmp_path: Path) -> Path:
    path = tmp_path / "torch.py"
    path.write_text(ARTICLE_TORCH_PY)
    return path


@pytest.fixture
def numpy_pkg(tmp_path: Path) -> Path:
    pkg = tmp_path / "numpy"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    return pkg


# --- the command, in a real process --------------------------------------------------------


def test_clean_directory_exits_0(tmp_path: Path) -> None:
    proc = run_gradfit("doctor", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == ""
    assert "FAIL" not in proc.stdout
    assert "torch.rand(5, 3) on cpu" in proc.stdout
    assert "10-step fit on torch float64 on cpu matches numpy" in proc.stdout
    assert "\033[" not in proc.stdout  # plain text in a pipe
    assert proc.stdout.splitlines()[-1].startswith("gradfit doctor: ")


def test_torch_py_in_the_current_directory(tmp_path: Path, torch_py: Path) -> None:
    # python -m puts the current directory first on sys.path: this very process is affected.
    proc = run_gradfit("doctor", cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    fail = [line for line in proc.stdout.splitlines() if line.startswith("FAIL")]
    assert len(fail) == 1 and f"{torch_py} hides PyTorch" in fail[0], proc.stdout
    assert f"fix: rename {torch_py}" in proc.stdout
    assert not (tmp_path / "RAN").exists()  # found by path, never imported


def test_gradfit_doctor_torch_py_names_the_script(tmp_path: Path, torch_py: Path) -> None:
    for proc in (
        run_script("doctor", "torch.py", cwd=tmp_path),
        run_gradfit("doctor", "torch.py", cwd=tmp_path),
    ):
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert f"your script {torch_py} is named like PyTorch" in proc.stdout, proc.stdout
        assert "Traceback" not in proc.stderr
    assert not (tmp_path / "RAN").exists()


def test_console_script_sees_torch_py_it_does_not_import(tmp_path: Path, torch_py: Path) -> None:
    # The gradfit command's own sys.path starts at its bin folder: torch imports fine, and the
    # report still fails for the file that would break `python` started here.
    proc = run_script("doctor", cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "torch.rand(5, 3) on cpu" in proc.stdout
    assert f"FAIL  {torch_py} hides PyTorch" in proc.stdout


def test_numpy_package_in_the_current_directory(tmp_path: Path, numpy_pkg: Path) -> None:
    # Here `import gradfit` itself fails (it needs numpy): the doctor still runs and reports.
    for proc in (run_gradfit("doctor", cwd=tmp_path), run_script("doctor", cwd=tmp_path)):
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert f"{numpy_pkg} hides NumPy" in proc.stdout, proc.stdout
        assert f"rename the folder {numpy_pkg}" in proc.stdout
        assert "Traceback" not in proc.stderr


def test_json_when_numpy_is_hidden(tmp_path: Path, numpy_pkg: Path) -> None:
    proc = run_gradfit("doctor", "--json", cwd=tmp_path)
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "gradfit.doctor/1" and doc["status"] == "fail"
    (shadow,) = doc["shadowing"]
    assert shadow["path"] == str(numpy_pkg) and shadow["kind"] == "package"
    assert shadow["active"] is True and shadow["name"] == "numpy"


def test_stale_bytecode_is_named_in_the_fix(tmp_path: Path, torch_py: Path) -> None:
    pyc = Path(importlib.util.cache_from_source(str(torch_py)))
    pyc.parent.mkdir()
    pyc.write_bytes(b"")
    proc = run_gradfit("doctor", cwd=tmp_path)
    assert f"fix: rename {torch_py} (e.g. to my_torch.py) and delete {pyc}" in proc.stdout


def test_missing_script_is_a_usage_error(tmp_path: Path) -> None:
    proc = run_gradfit("doctor", "nope.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("gradfit: error: no such script: nope.py")


def test_help_has_an_example(capsys) -> None:
    proc = run_cli(capsys, "doctor", "--help")
    assert proc.returncode == 0
    assert "gradfit doctor torch.py" in proc.stdout and "--json" in proc.stdout
    assert "doctor" in run_cli(capsys, "--help").stdout


# --- the library, in this process ----------------------------------------------------------


def test_json_matches_torchs_own_answers(tmp_path: Path, monkeypatch) -> None:
    import numpy as np
    import torch

    monkeypatch.chdir(tmp_path)
    report = doctor.run_doctor()
    doc = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert report.exit_code == 0, report.format_text()
    assert doc["python"]["version"] == platform.python_version()
    assert doc["python"]["executable"] == sys.executable
    assert doc["packages"]["numpy"]["version"] == np.__version__
    assert doc["packages"]["numpy"]["path"] == os.path.dirname(np.__file__)
    assert doc["packages"]["torch"]["version"] == torch.__version__
    assert doc["packages"]["torch"]["path"] == os.path.dirname(torch.__file__)
    facts = doc["torch"]
    assert facts["version"] == torch.__version__
    assert facts["cuda"] == torch.version.cuda
    assert facts["hip"] == torch.version.hip
    assert facts["cuda_available"] == torch.cuda.is_available()
    assert facts["cuda_device_count"] == torch.cuda.device_count()
    assert facts["mps_available"] == torch.backends.mps.is_available()
    cuda = [d for d in doc["devices"] if d["type"] == "cuda"]
    n_cuda = torch.cuda.device_count() if torch.cuda.is_available() else 0
    assert [d["device"] for d in cuda] == [f"cuda:{i}" for i in range(n_cuda)]
    for i, d in enumerate(cuda):
        assert d["name"] == torch.cuda.get_device_name(i)
        assert d["memory_bytes"] == torch.cuda.get_device_properties(i).total_memory
    assert doc["devices"][0]["device"] == "cpu"
    assert ("mps" in [d["device"] for d in doc["devices"]]) == torch.backends.mps.is_available()
    # torch.rand(5, 3) ran on every device listed, and every torch device fit like numpy.
    ids = {c["id"]: c for c in doc["checks"]}
    for d in doc["devices"]:
        assert ids[f"rand:{d['device']}"]["status"] == "ok"
        assert ids[f"fit:torch:{d['device']}"]["data"]["max_rel_diff"] <= 1e-9 or d["type"] == "mps"


def test_cli_json_matches_this_environment(tmp_path: Path, capsys, monkeypatch) -> None:
    import torch

    monkeypatch.chdir(tmp_path)
    code, out, err = cli(capsys, "doctor", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["schema"] == "gradfit.doctor/1" and doc["exit_code"] == 0
    assert doc["packages"]["torch"]["version"] == torch.__version__
    assert doc["torch"]["cuda_device_count"] == torch.cuda.device_count()


def test_a_failing_check_makes_exit_code_1(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(selftest, "FIT_TOL", {"float64": -1.0, "float32": -1.0})
    report = doctor.run_doctor()
    assert report.exit_code == 1
    assert [c.id for c in report.checks if c.status == "fail"] == ["fit:torch:cpu"]


def test_syntax_error_in_a_script_is_a_warning(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    script = tmp_path / "broken.py"
    script.write_text("def (:\n")
    report = doctor.run_doctor([script], runtime=False)
    (check,) = [c for c in report.checks if c.id == "script:broken.py"]
    assert check.status == "warn" and "SyntaxError" in check.summary


def test_a_script_too_deeply_nested_to_parse_is_a_warning(tmp_path: Path, monkeypatch) -> None:
    # Python's parser gives up on deep nesting with MemoryError (10**6 minus signs in the issue).
    monkeypatch.chdir(tmp_path)
    script = tmp_path / "deep.py"
    script.write_text("x = " + "-" * 100_000 + "1\n")
    report = doctor.run_doctor([script], runtime=False)
    (check,) = [c for c in report.checks if c.id == "script:deep.py"]
    assert check.status == "warn" and "too deeply nested to parse" in check.summary
    assert f"cannot read the imports of {script}" in check.summary
    assert report.exit_code == 0


def test_missing_packages() -> None:
    required = checks.Dep("gradfit_no_such_pkg", "gradfit-no-such-pkg", True)
    check, info, module = checks.check_package(required)
    assert info["required"] is True
    assert check.status == "fail" and module is None
    assert check.fix == f"{sys.executable} -m pip install gradfit-no-such-pkg"
    optional = checks.Dep("gradfit_no_such_pkg", "gradfit-no-such-pkg", False)
    assert checks.check_package(optional)[0].status == "ok"  # optional and absent is fine


class _FakeCudaTorch:
    """torch as a CUDA build with two GPUs whose kernels don't run (no GPU needed)."""

    __version__ = "9.9.9+cu124"
    version = SimpleNamespace(cuda="12.4", hip=None)
    backends = SimpleNamespace(
        mps=SimpleNamespace(is_built=lambda: False, is_available=lambda: False),
        cudnn=SimpleNamespace(version=lambda: 90100),
    )

    def __init__(self, gpus: int) -> None:
        self.cuda = SimpleNamespace(
            is_available=lambda: gpus > 0,
            device_count=lambda: gpus,
            get_device_properties=lambda i: SimpleNamespace(
                name=f"Fake GPU {i}", total_memory=(i + 1) * 2**30, major=9, minor=0
            ),
        )

    @staticmethod
    def get_num_threads() -> int:
        return 4

    @staticmethod
    def rand(*shape: int, device: str) -> object:
        import torch

        if device != "cpu":
            raise RuntimeError("CUDA error: no kernel image is available for execution\nmore")
        return torch.rand(*shape, device=device)


def torch_and_rand_checks(torch: object) -> tuple[list, dict, list, list[str]]:
    """The build and devices checks, then torch.rand(5, 3) on each device, as run_doctor does."""
    found, info, devices = checks.torch_checks(torch)
    rand, working = selftest.rand_checks(torch, devices)
    return found + rand, info, devices, working


def test_cuda_devices_are_listed_and_each_is_tried() -> None:
    checks, info, devices, working = torch_and_rand_checks(_FakeCudaTorch(gpus=2))
    assert info["cuda"] == "12.4" and info["cudnn"] == 90100
    assert [d["device"] for d in devices] == ["cpu", "cuda:0", "cuda:1"]
    assert devices[2] == {
        "device": "cuda:1",
        "type": "cuda",
        "name": "Fake GPU 1",
        "memory_bytes": 2 * 2**30,
        "capability": "9.0",
    }
    by_id = {c.id: c for c in checks}
    assert by_id["torch.build"].status == "ok" and "CUDA 12.4" in by_id["torch.build"].summary
    assert "cuda:1 (Fake GPU 1, 2.0 GiB)" in by_id["torch.devices"].summary
    assert by_id["rand:cpu"].status == "ok"
    assert by_id["rand:cuda:0"].status == "fail"
    assert "RuntimeError: CUDA error: no kernel image" in by_id["rand:cuda:0"].summary
    assert working == ["cpu"]  # only working devices get the test fit


def test_a_cuda_build_without_a_gpu_is_a_warning() -> None:
    checks, _, devices, working = torch_and_rand_checks(_FakeCudaTorch(gpus=0))
    assert checks[0].status == "warn" and "sees no GPU" in checks[0].summary
    assert [d["device"] for d in devices] == ["cpu"] and working == ["cpu"]
