"""Saved models: save -> load -> predict is exact, saves are atomic, bad files are refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import cli, run_cli

import gradfit
from gradfit.outputs import WriteError
from gradfit.saved import SCHEMA


def cubic_file(tmp: Path, lo: float = 0.0, hi: float = 20.0) -> tuple[Path, np.ndarray]:
    rng = np.random.default_rng(3)
    x = rng.uniform(lo, hi, 300)
    t = (2 * x - (lo + hi)) / (hi - lo)
    y = 1.0 + 2.0 * t - 0.5 * t**2 + 0.25 * t**3 + 0.01 * rng.standard_normal(x.size)
    path = tmp / "cubic.csv"
    np.savetxt(path, np.column_stack([x, y]), delimiter=",", header="time,temp", comments="")
    return path, x


@pytest.mark.parametrize(("scale", "backend"), [(True, "numpy"), (False, "numpy"), (True, "torch")])
def test_save_load_predict_equals_the_fitted_model(tmp_path: Path, scale, backend) -> None:
    x = np.linspace(-2, 3, 100)
    y = 0.5 - x + 0.25 * x**3
    lr = "auto" if scale else 1e-4
    r = gradfit.fit(x, y, backend=backend, lr=lr, steps=500, seed=1, scale=scale)
    path = tmp_path / "m.json"
    r.save(path)
    m = gradfit.load(path)
    new_x = np.concatenate([np.linspace(-5, 5, 41), [1e6, -1e-9, 0.0]])
    np.testing.assert_array_equal(m.predict(new_x), r.predict(new_x))  # bit for bit
    np.testing.assert_array_equal(m.coef, r.coef)
    assert m.formula() == r.formula() and m.degree == 3
    assert (m.domain is None) == (not scale)
    np.testing.assert_array_equal(m.to_polynomial().coef, r.to_polynomial().coef)
    assert float(m.predict(1.5)) == float(r.predict(1.5))


def test_model_file_contents(tmp_path: Path, capsys) -> None:
    data, _ = cubic_file(tmp_path)
    model = tmp_path / "model.json"
    code, out, _ = cli(capsys, "fit", "--data", str(data), "--backend", "numpy", "--seed", "4",
                       "--save", str(model))  # fmt: skip
    assert code == 0
    doc = json.loads(model.read_text())
    assert doc["schema"] == SCHEMA == "gradfit.model/1"
    assert (doc["kind"], doc["basis"], doc["degree"]) == ("polynomial", "monomial", 3)
    assert f"Result: {doc['formula']}\n" in out
    assert (doc["x_name"], doc["y_name"]) == ("time", "temp")
    assert doc["window"] == [-1.0, 1.0] and len(doc["domain"]) == 2
    assert len(doc["coef"]) == len(doc["scaled_coef"]) == 4
    assert doc["config"]["data"] == str(data) and doc["config"]["seed"] == 4
    assert doc["data"]["rows"] == 300
    m = doc["metrics"]
    assert m["mse"] == pytest.approx(m["final_loss"] / 300)
    assert m["rmse"] == pytest.approx(0.01, rel=0.2)  # the noise level
    assert m["excess_loss"] == pytest.approx(0, abs=1e-9)
    assert doc["versions"]["numpy"] == np.__version__ and doc["saved_at"].endswith("Z")
    assert not list(tmp_path.glob(".*tmp"))


def test_cli_predict_from_numbers_and_from_a_file(tmp_path: Path, capsys) -> None:
    data, x = cubic_file(tmp_path, 1e5, 3e6)
    model = tmp_path / "model.json"
    assert cli(capsys, "fit", "--data", str(data), "--save", str(model), "--quiet")[0] == 0
    m = gradfit.load(model)

    code, out, err = cli(capsys, "predict", str(model), "--x", "2e5", "1e6", "-3")
    assert (code, err) == (0, "")
    assert out == "".join(f"{v!r}\n" for v in m.predict([2e5, 1e6, -3]).tolist())

    code, out, _ = cli(capsys, "predict", str(model), "--data", str(data))
    lines = out.splitlines()
    assert code == 0 and lines[0] == "time,predicted_temp" and len(lines) == 301
    table = np.loadtxt(out.splitlines()[1:], delimiter=",")
    np.testing.assert_array_equal(table[:, 0], x)
    np.testing.assert_array_equal(table[:, 1], m.predict(x))  # repr round-trips exactly

    dest = tmp_path / "pred.tsv"
    code, out, _ = cli(capsys, "predict", str(model), "--data", str(data), "--out", str(dest))
    assert code == 0 and out == ""
    assert dest.read_text().splitlines()[:2] == [
        "time\tpredicted_temp",
        f"{float(x[0])!r}\t{float(m.predict(x[0]))!r}",
    ]

    npy = tmp_path / "new_x.npy"
    np.save(npy, np.array([1e5, 2e6]))
    code, out, _ = cli(capsys, "predict", str(model), "--data", str(npy))
    assert code == 0 and out.splitlines()[0] == "time,predicted_temp"


# --- refusals --------------------------------------------------------------------------------


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    x = np.linspace(0, 1, 30)
    gradfit.fit(x, 2 * x, degree=1, lr="auto", steps=100, seed=0, scale=True).save(
        tmp_path / "m.json"
    )
    return tmp_path / "m.json"


def _edit(path: Path, **changes) -> str:
    doc = json.loads(path.read_text())
    doc.update(changes)
    return json.dumps(doc)


BAD_MODELS = [
    ("truncated", lambda p: p.read_text()[: len(p.read_text()) // 2],
     "is not a valid gradfit model file: invalid JSON at line"),
    ("empty", lambda p: "", "is empty, not a gradfit model file"),
    ("garbage", lambda p: "\x00\x01 not json", "invalid JSON"),
    ("a list", lambda p: "[1, 2, 3]", "is not a gradfit model file"),
    ("foreign json", lambda p: '{"name": "something else"}', "is not a gradfit model file"),
    ("run report", lambda p: '{"schema": "gradfit.fit/1", "coef": [1]}',
     "is a run report (gradfit.fit/1, written by --json), not a model"),
    ("newer schema", lambda p: _edit(p, schema="gradfit.model/2"),
     "written by a newer gradfit: upgrade gradfit"),
    ("other kind", lambda p: _edit(p, kind="net"), "holds a 'net' model"),
    ("coef not numbers", lambda p: _edit(p, coef=[1, "2"]),
     'm.json: "coef"[1] must be a finite number, got "2"'),
    ("coef null", lambda p: _edit(p, coef=[1, None]),
     '"coef"[1] must be a finite number, got null'),
    ("degree mismatch", lambda p: _edit(p, degree=5), '"degree" is 5 but "coef" has 2 values'),
    ("bad domain", lambda p: _edit(p, domain=[3, 1]), '"domain" must be two numbers lo < hi'),
    ("scaled_coef short", lambda p: _edit(p, scaled_coef=[1.0]),
     '"scaled_coef" has 1 values but "coef" has 2'),
    ("other basis", lambda p: _edit(p, basis="legendre"),
     '"basis" must be "monomial" (the basis of "coef"), got "legendre"'),
]  # fmt: skip


@pytest.mark.parametrize(("corrupt", "message"), [b[1:] for b in BAD_MODELS],
                         ids=[b[0] for b in BAD_MODELS])  # fmt: skip
def test_corrupt_or_foreign_model_files_are_refused(capsys, model_file, corrupt, message) -> None:
    model_file.write_text(corrupt(model_file))
    with pytest.raises(gradfit.UsageError, match=r"m\.json"):
        gradfit.load(model_file)
    code, out, err = cli(capsys, "predict", str(model_file), "--x", "1")
    assert (code, out) == (2, "")
    assert err.startswith("gradfit: error: ") and err.count("\n") == 1
    assert message in err, err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nothere.json", "--x", "1"], "nothere.json: no such model file"),
        (["{model}"], "give the x values with --x X [X ...] or read them with --data FILE"),
        (["{model}", "--x", "1", "--data", "f.csv"], "give the x values with --x"),
        (["{model}", "--x", "1", "--column", "a"], "--column chooses a column of --data FILE"),
        (["{model}", "--x", "1", "--out", "p.json"], "write predictions to a .csv, .tsv or .txt"),
        (["{model}", "--x", "1", "--out", "/nonexistent/p.csv"], "does not exist"),
        (["{model}", "--x", "abc"], "not a number: 'abc'"),
        (["{model}", "--data", "nothere.csv"], "nothere.csv: no such file"),
        (["{model}", "--data", "{model}"], "unsupported file type (extension '.json')"),
    ],
)
def test_predict_usage_errors(capsys, model_file: Path, args: list[str], message: str) -> None:
    args = [a.replace("{model}", str(model_file)) for a in args]
    code, out, err = cli(capsys, "predict", *args)
    assert (code, out) == (2, "")
    assert err.startswith("gradfit: error: ") and err.count("\n") == 1 and message in err, err


def test_save_to_a_missing_directory_fails_before_the_run(capsys) -> None:
    code, out, err = cli(capsys, "fit", "--backend", "numpy", "--save", "/nonexistent/m.json")
    assert (code, out) == (2, "") and "directory /nonexistent does not exist" in err


# --- atomic saves ----------------------------------------------------------------------------


def test_a_failed_save_leaves_the_previous_file(model_file: Path, monkeypatch) -> None:
    before = model_file.read_bytes()
    x = np.linspace(0, 1, 30)
    r = gradfit.fit(x, 3 * x, degree=1, lr="auto", steps=100, seed=0)

    def fail(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(WriteError, match="No space left on device; the previous file is unchanged"):
        r.save(model_file)
    assert model_file.read_bytes() == before
    assert sorted(p.name for p in model_file.parent.iterdir()) == ["m.json"]  # no temp left


def test_a_divergent_run_keeps_the_previous_model(capsys, model_file: Path) -> None:
    before = model_file.read_bytes()
    proc = run_cli(capsys, "fit", "--backend", "numpy", "--lr", "1e-2", "--save", str(model_file))
    assert proc.returncode == 1 and model_file.read_bytes() == before


KILLED_SAVE = """
import os, sys, time
import numpy as np
import gradfit

def stall(fd):  # the new model is written to the temporary file; stop before the rename
    open(sys.argv[2], "w").close()
    time.sleep(60)

os.fsync = stall
x = np.linspace(0, 1, 30)
gradfit.fit(x, 5 * x, degree=1, lr="auto", steps=100, seed=0).save(sys.argv[1])
"""


def test_a_save_killed_midway_leaves_the_previous_file(model_file: Path, tmp_path) -> None:
    before = model_file.read_bytes()
    signal = tmp_path / "writing"
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_SAVE, str(model_file), str(signal)],
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not signal.exists():
            assert child.poll() is None, child.stderr.read().decode()
            assert time.monotonic() < deadline, "the child never reached the write"
            time.sleep(0.02)
        child.kill()  # SIGKILL: no cleanup handler runs
    finally:
        child.wait(timeout=30)
        child.stderr.close()
    assert model_file.read_bytes() == before
    np.testing.assert_array_equal(gradfit.load(model_file).predict([1.0]), [2.0 * 1.0 + 0.0])
    # What the killed process left is its temporary file, never a half-written m.json.
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".m.json.")]
    assert len(leftovers) == 1 and leftovers[0].endswith(".tmp")
    assert leftovers[0].startswith(f".m.json.{child.pid}.")  # named by the writer's pid
    # The next write of m.json removes what the dead writer left (its pid is gone).
    gradfit.load(model_file)  # reading leaves it alone
    gradfit.fit(np.arange(5.0), 2 * np.arange(5.0), degree=1, lr="auto", steps=50).save(model_file)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".m.json.")]
