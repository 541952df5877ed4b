"""The JSON Schemas of model files and checkpoint metadata (gradfit.schemas), the error lines they
give, and damaged Parquet pages on every read path: always one ``gradfit: error:`` line naming
the file (and the field), exit status 2, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import cli

import gradfit
from gradfit.errors import UsageError
from gradfit.schemas import (
    CHECKPOINT_SCHEMA,
    MAX_DEPTH,
    MESSAGE_LIMIT,
    MODEL_KINDS,
    check_document,
    model_schema,
    nesting_depth,
    pointer,
)
from gradfit.training.checkpoint import load_checkpoint

# --- the schemas themselves -----------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(MODEL_KINDS))
def test_the_schemas_are_valid_draft_2020_12(kind: str) -> None:
    from jsonschema.validators import Draft202012Validator

    Draft202012Validator.check_schema(model_schema(kind))
    Draft202012Validator.check_schema(CHECKPOINT_SCHEMA)
    assert model_schema(kind) is model_schema(kind)  # one object: its validator is compiled once


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Files gradfit writes: models (plain and scaled) and checkpoints (SGD and Adam)."""
    from gradfit.cli import main

    d = tmp_path_factory.mktemp("schemas")
    names = {"model": "m.json", "scaled": "s.json", "ckpt": "c.npz", "adam": "a.npz"}
    out = {k: d / name for k, name in names.items()}
    run = ["fit", "--backend", "numpy", "--steps", "20", "--seed", "1", "--quiet"]
    assert main([*run, "--save", str(out["model"]), "--checkpoint", str(out["ckpt"])]) == 0
    assert main([*run, "--scale", "--lr", "auto", "--save", str(out["scaled"])]) == 0
    assert main([*run, "--optimizer", "adam", "--checkpoint", str(out["adam"])]) == 0
    return out


def _meta(path: Path) -> dict[str, Any]:
    with np.load(path, allow_pickle=False) as npz:
        return json.loads(bytes(npz["meta"]).decode("utf-8"))


def test_what_gradfit_writes_is_valid(files: dict[str, Path]) -> None:
    for name in ("model", "scaled"):
        doc = json.loads(files[name].read_text())
        check_document(doc, model_schema(doc["kind"]), "gradfit model file", name)
    for name in ("ckpt", "adam"):
        check_document(_meta(files[name]), CHECKPOINT_SCHEMA, "checkpoint metadata", name)


def test_unknown_top_level_keys_are_accepted(files: dict[str, Path], tmp_path: Path) -> None:
    """A newer gradfit may add fields (a formula model's params, statistics): an older one reads
    what it knows and predicts the same numbers."""
    doc = json.loads(files["scaled"].read_text())
    doc.update(params={"a": 1.0}, statistics={"r2": [0.5, {"x": None}]}, covariance=[[1.0]])
    path = tmp_path / "m.json"
    path.write_text(json.dumps(doc))
    np.testing.assert_array_equal(
        gradfit.load(path).predict([0.25, 2.0]), gradfit.load(files["scaled"]).predict([0.25, 2.0])
    )


# --- the error line: file, JSON path, what was wanted, what was there -----------------------


def test_json_paths_are_written_as_in_the_file() -> None:
    assert pointer(["coef", 2], "model") == '"coef"[2]'
    assert pointer(["config", "lr"], "model") == '"config"."lr"'
    assert pointer(["history", 0, 1], "meta") == '"history"[0][1]'
    assert pointer([], "gradfit model file") == "the gradfit model file"


MODEL_ERRORS = [
    ({"coef": [1, "x", 3, 4]}, '"coef"[1] must be a finite number, got "x"'),
    ({"coef": [10**400]}, '"coef"[0] must be a finite number, got 1000000000'),
    ({"coef": []}, '"coef" must be a non-empty list of finite numbers, got []'),
    ({"coef": None}, '"coef" must be a non-empty list of finite numbers, got null'),
    ({"degree": -1}, '"degree" must be a non-negative integer or null, got -1'),
    ({"degree": True}, '"degree" must be a non-negative integer or null, got true'),
    ({"basis": "legendre"}, '"basis" must be "monomial" (the basis of "coef"), got "legendre"'),
    ({"domain": [0, 1, 2]}, '"domain" must be null or a list of two finite numbers lo < hi'),
    ({"domain": [0, "1"]}, '"domain"[1] must be a finite number, got "1"'),
    ({"domain": [0, 1, 2], "scaled_coef": [0, 0, 0, 0]}, '"domain" must be null or a list of'),
    ({"domain": [0, 1], "scaled_coef": None}, '"scaled_coef" must be a list of finite numbers '
     '(the model has a "domain"), got null'),
    ({"window": [0, 1]}, '"window" must be null or [-1, 1], got [0, 1]'),
    ({"x_name": 3}, '"x_name" must be a string, got 3'),
    ({"config": [1]}, '"config" must be an object, got [1]'),
]  # fmt: skip


@pytest.mark.parametrize(("change", "says"), MODEL_ERRORS, ids=[m[1][:30] for m in MODEL_ERRORS])
def test_a_bad_model_field_is_named_with_its_path(
    change: dict[str, Any], says: str, files: dict[str, Path], tmp_path: Path, capsys
) -> None:
    doc = json.loads(files["model"].read_text())
    doc.update(change)
    path = tmp_path / "m.json"
    path.write_text(json.dumps(doc))
    code, out, err = cli(capsys, "predict", str(path), "--x", "1")
    assert (code, out) == (2, "")
    assert err.startswith(f"gradfit: error: {path}: {says}") and err.count("\n") == 1, err


def test_a_missing_field_is_named(files: dict[str, Path]) -> None:
    doc = json.loads(files["model"].read_text())
    del doc["basis"]
    with pytest.raises(UsageError, match=r'^m\.json: "basis" is missing$'):
        gradfit.saved.from_document(doc, "m.json")


def test_an_infinite_coefficient_is_refused(files: dict[str, Path]) -> None:
    doc = json.loads(files["model"].read_text())
    doc["coef"][3] = float("inf")  # from Python (a file cannot hold it: NaN is not JSON, below)
    with pytest.raises(UsageError, match=r'^m\.json: "coef"\[3\] must be a finite number, got In'):
        gradfit.saved.from_document(doc, "m.json")


def test_nan_is_not_json(files: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(files["model"].read_text().replace('"noise": 0.0', '"noise": NaN'))
    assert '"noise": NaN' in path.read_text()
    with pytest.raises(UsageError, match="NaN is not JSON"):
        gradfit.load(path)


def test_the_error_line_is_clipped() -> None:
    schema = model_schema("polynomial")
    doc = {"schema": "s", "kind": "polynomial", "basis": "monomial", "coef": ["y" * 10_000]}
    doc["k" * 10_000] = 1
    with pytest.raises(UsageError) as info:
        check_document(doc, schema, "gradfit model file", "m.json")
    text = str(info.value)
    assert text.startswith('m.json: "coef"[0] must be a finite number, got "yyy')
    assert len(text) <= len("m.json: ") + MESSAGE_LIMIT and text.endswith("...")


def _depth(doc: Any) -> int:
    """The oracle: nesting depth by recursion (fine for the shallow documents here)."""
    if isinstance(doc, dict):
        return 1 + max((_depth(v) for v in doc.values()), default=0)
    if isinstance(doc, list):
        return 1 + max((_depth(v) for v in doc), default=0)
    return 0


def _nested(depth: int) -> Any:
    doc: Any = 1
    for i in range(depth):
        doc = [doc] if i % 2 else {"k": doc, "s": [2, {}]}
    return doc


@pytest.mark.parametrize("doc", [1, [], {}, [[], [[1]]], {"a": [{"b": {}}], "c": 2}, _nested(30)])
def test_nesting_depth_matches_a_recursive_count(doc: Any) -> None:
    assert nesting_depth(doc) == _depth(doc)


def test_a_document_nested_too_deeply_is_refused_before_validation(files: dict[str, Path]) -> None:
    doc = json.loads(files["model"].read_text())
    deep: Any = []
    for _ in range(MAX_DEPTH - 2):
        deep = [deep]
    doc["unknown"] = deep  # MAX_DEPTH - 1 lists in the document's object: at the limit
    assert nesting_depth(doc) == MAX_DEPTH
    gradfit.saved.from_document(doc, "m.json")
    doc["unknown"] = [deep]
    with pytest.raises(UsageError, match=f"nested more than {MAX_DEPTH} levels deep"):
        gradfit.saved.from_document(doc, "m.json")


# --- checkpoint metadata --------------------------------------------------------------------


def _write_meta(source: Path, meta: dict[str, Any], path: Path) -> None:
    with np.load(source, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(path, allow_pickle=False, **arrays)


CHECKPOINT_ERRORS = [
    ({"step": -3}, '"step" must be a non-negative integer, got -3'),
    ({"step": "5"}, '"step" must be a non-negative integer, got "5"'),
    ({"seed": 1.5}, '"seed" must be a non-negative integer, got 1.5'),
    ({"history": [["a", 1.0]]}, '"history"[0][0] must be an integer (a step), got "a"'),
    ({"history": [[1]]}, '"history"[0] must be a pair [step, loss], got [1]'),
    ({"config": {"lr": {"a": 1}}}, '"config"."lr" must be a number, a string, true, false, null'),
    ({"config": {"init": [[1]]}}, '"config"."init"[0] must be a number, a string, true, false or'),
    ({"state": {"x": 1}}, '"state" must be an encoded value'),
    ({"state": [{"__ndarray__": "a99"}]}, "the checkpoint names an array 'a99' that it does not"),
    ({"state": {"__dict__": [[[1], 2]]}},
     '"state"."__dict__"[0][0] must be a number, a string, true, false or null (a key), got [1]'),
    ({"state": [1, {"__tuple__": [{"__dict__": 5}]}]},
     '"state"[1]."__tuple__"[0]."__dict__" must be a list, got 5'),
    ({"method": 3}, '"method" must be a string, got 3'),
    ({"bound": "x"}, '"bound" must be a number or null, got "x"'),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "says"), CHECKPOINT_ERRORS, ids=[c[1][:30] for c in CHECKPOINT_ERRORS]
)
def test_a_bad_checkpoint_field_is_named_with_its_path(
    change: dict[str, Any], says: str, files: dict[str, Path], tmp_path: Path, capsys
) -> None:
    meta = _meta(files["ckpt"])
    for key, value in change.items():
        meta[key] = {**meta[key], **value} if key == "config" else value
    path = tmp_path / "c.npz"
    _write_meta(files["ckpt"], meta, path)
    code, out, err = cli(capsys, "fit", "--resume", str(path), "--steps", "40", "--quiet")
    assert (code, out) == (2, "")
    assert err.startswith(f"gradfit: error: cannot resume from {path}: {says}"), err
    assert err.count("\n") == 1


def test_a_missing_checkpoint_field_is_named(files: dict[str, Path], tmp_path: Path) -> None:
    meta = _meta(files["adam"])
    del meta["history"]
    path = tmp_path / "c.npz"
    _write_meta(files["adam"], meta, path)
    with pytest.raises(UsageError, match=r'c\.npz: "history" is missing$'):
        load_checkpoint(path)


def test_a_checkpoint_round_trips_through_the_schema(files: dict[str, Path]) -> None:
    """Adam's state (a record of arrays and a step count) is read back as written."""
    ckpt = load_checkpoint(files["adam"])
    meta = _meta(files["adam"])
    assert (ckpt.step, ckpt.seed, ckpt.method) == (meta["step"], meta["seed"], meta["method"])
    assert ckpt.history == [(int(t), float(v)) for t, v in meta["history"]]


# --- jsonschema is imported only when a document is read ------------------------------------

_IMPORTS = """
import io, json, sys
from gradfit.cli import main
seen = ["jsonschema" in sys.modules]
sys.stdout = io.StringIO()
main(["fit", "--backend", "numpy", "--steps", "5", "--quiet"])
seen.append("jsonschema" in sys.modules)
main(["predict", sys.argv[1], "--x", "1"])
seen.append("jsonschema" in sys.modules)
sys.stdout = sys.__stdout__
print(json.dumps(seen))
"""


def test_jsonschema_is_imported_only_to_read_a_file(files: dict[str, Path]) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _IMPORTS, str(files["model"])],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    # not by importing the CLI, not by a fit; by predict, which reads a model file
    assert json.loads(proc.stdout.splitlines()[-1]) == [False, False, True]


# --- damaged Parquet pages ------------------------------------------------------------------


def _damaged_parquet(path: Path, where: str, checksum: bool = False) -> Path:
    """A valid Parquet file (snappy, 5 row groups of 1000 rows) with 8 bytes of the third row
    group's y page flipped: its page header, or the middle of its compressed body."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    x = np.repeat(np.linspace(-3, 3, 50), 100)
    if checksum:  # incompressible values: only the CRC tells the page was changed
        x = np.random.default_rng(0).normal(size=5000)
    y = np.round(np.sin(x), 2 if not checksum else 17)
    table = pa.table({"x": x, "y": y})
    pq.write_table(table, path, compression="snappy", row_group_size=1000,
                   use_dictionary=False, write_page_checksum=checksum)  # fmt: skip
    chunk = pq.ParquetFile(path).metadata.row_group(2).column(1)
    at = chunk.data_page_offset + (0 if where == "header" else chunk.total_compressed_size // 2)
    data = bytearray(path.read_bytes())
    data[at : at + 8] = bytes(b ^ 0xFF for b in data[at : at + 8])
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("where", ["header", "body"])
@pytest.mark.parametrize("method", ["gram", "manual"])
def test_a_damaged_parquet_page_is_one_line(
    method: str, where: str, tmp_path: Path, capsys
) -> None:
    path = _damaged_parquet(tmp_path / "f.parquet", where)
    before = path.read_bytes()
    args = ["fit", "--data", str(path), "--method", method, "--backend", "numpy", "--quiet"]
    code, out, err = cli(capsys, *args, "--chunk-size", "1000")
    assert (code, out) == (2, "")
    assert err.startswith(f"gradfit: error: cannot read {path} as Parquet") and "\n" not in err[:-1]
    assert err[:-1].isprintable()  # the raw bytes pyarrow's message quotes are escaped
    if method == "gram":  # streamed 1000 rows at a time: the rows of the damaged row group
        assert "(rows 2000 to 2999, 0-based)" in err, err
    assert path.read_bytes() == before


def test_a_page_that_fails_its_checksum_is_refused(tmp_path: Path, capsys) -> None:
    pa = pytest.importorskip("pyarrow")
    if int(pa.__version__.split(".")[0]) < 15:
        pytest.skip("pyarrow < 15 does not verify page checksums")
    path = _damaged_parquet(tmp_path / "f.parquet", "body", checksum=True)
    code, _, err = cli(capsys, "fit", "--data", str(path), "--method", "gram", "--backend", "numpy")
    assert code == 2 and "CRC checksum verification failed" in err and err.count("\n") == 1, err


def test_a_damaged_parquet_page_under_two_workers_is_one_line(tmp_path: Path) -> None:
    path = _damaged_parquet(tmp_path / "f.parquet", "body")
    proc = subprocess.run(
        [sys.executable, "-m", "gradfit", "fit", "--data", str(path), "--method", "gram",
         "--backend", "numpy", "--workers", "2", "--quiet"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2 and proc.stdout == "", proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"gradfit: error: cannot read {path}"), lines
