"""The example notebooks run, top to bottom, in a real Jupyter kernel, without an error.

Each notebook in ``examples/`` is executed with nbclient in a fresh kernel of this interpreter
(a kernel spec written for the test), whose ``PYTHONPATH`` starts with the directory this
``gradfit`` is imported from (so a checkout that is not installed tests its own code; a last
cell checks both). A cell that raises fails the test with
the cell's error. The files must also be exactly what ``examples/make_notebooks.py`` writes:
cells edited in one place, and no outputs committed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

import gradfit

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))
MISSING = [m for m in ("nbclient", "nbformat", "ipykernel") if importlib.util.find_spec(m) is None]
pytestmark = pytest.mark.skipif(
    bool(MISSING),
    reason=f"running notebooks needs {', '.join(MISSING)} (pip install -e '.[test]')",
)


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("make_notebooks", EXAMPLES / "make_notebooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_examples_are_the_generated_notebooks_without_outputs() -> None:
    make = _generator()
    assert [p.name for p in NOTEBOOKS] == sorted(make.NOTEBOOKS)
    for path in NOTEBOOKS:
        assert path.read_text(encoding="utf-8") == make.text(path.name), (
            f"{path.name} differs from what examples/make_notebooks.py writes: run it"
        )


KERNEL = "gradfit-tests"  # a kernel spec of this interpreter, made for the test


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Jupyter data directory whose one kernel runs ``sys.executable`` (whatever kernels
    the machine has installed, the notebooks run on the interpreter running the tests)."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    doc = {"argv": argv, "display_name": "gradfit tests", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(doc), encoding="utf-8")
    return root


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_in_a_kernel(
    path: Path, tmp_path: Path, kernel_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    monkeypatch.setenv("JUPYTER_PATH", str(kernel_dir))  # searched first for kernel specs
    nb = nbformat.read(path, as_version=4)
    # One more cell, the test's: which Python and which gradfit the kernel ran.
    nb.cells.append(
        nbformat.v4.new_code_cell("import sys, gradfit\nprint(sys.executable, gradfit.__file__)")
    )
    src = str(Path(gradfit.__file__).resolve().parents[1])  # where this gradfit lives
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    env["MPLBACKEND"] = "Agg"  # no display here
    client = NotebookClient(
        nb,
        kernel_name=KERNEL,
        timeout=120,
        resources={"metadata": {"path": str(tmp_path)}},  # files a notebook writes go there
    )
    try:
        client.execute(env=env)
    except CellExecutionError as exc:  # the cell, its error and traceback, as Jupyter shows it
        pytest.fail(f"{path.name} failed:\n{exc}", pytrace=False)
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert nb.cells.pop().outputs[0]["text"].split() == [sys.executable, gradfit.__file__]
    if path.name == "01_article.ipynb":
        # progress=True: a live display, found in the kernel, updated to its end
        live = [o for o in outputs if "gradfit-live" in o.get("data", {}).get("text/html", "")]
        assert len(live) == 1 and "done: step 2000 / 2000" in live[0]["data"]["text/html"]
        # the result displayed itself: Result line, PNG
        shown = nb.cells[-1].outputs[0]["data"]
        assert "Result: y = " in shown["text/html"]
        if importlib.util.find_spec("matplotlib") is not None:
            assert '<img src="data:image/png;base64,' in shown["text/html"]
            assert "image/png" in shown
