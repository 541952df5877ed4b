"""Fuzz tests: crafted and damaged input files never give a traceback, and are never changed.

Property-based (Hypothesis): each test starts from a valid input - a CSV table, a ``.npy`` /
``.npz`` array, a model file written by ``--save``, a checkpoint written by ``--checkpoint`` -
mutates it, runs the command that reads it in this process (:func:`gradfit.cli.main`), and
asserts what every run must do, whatever the file holds (:func:`check_run`): exit 0 (a mutation
can leave a valid file), or 2 (bad input) or 1 (a run that failed, e.g. diverged) with exactly
one ``gradfit: error:`` line on stderr and no traceback; and the input file byte for byte as it
was.

The examples are derandomized (the same ones on every run) and sized so that the whole file
runs in well under a minute. A failure Hypothesis finds is shrunk; its input is kept under
``tests/data/fuzz/`` (``csv-0001.csv``, ``model-0001.json``, ...), and
:func:`test_fuzz_regression` runs every file there through the same check, so that a fixed bug
stays fixed. To keep a new one: rerun the failing test with ``GRADFIT_FUZZ_KEEP=1`` and the
shrunk input is written there (see :func:`keep_failure`).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradfit.training.checkpoint import Checkpoint, load_checkpoint, save_checkpoint

FUZZ_DATA = Path(__file__).resolve().parent / "data" / "fuzz"
PREFIX = "gradfit: error: "


def fuzz_settings(examples: int) -> settings:
    """Deterministic, no per-example deadline (the first run imports), fixtures allowed (each
    example works in its own temporary directory, not in the fixture's)."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        print_blob=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# --- the property every run must have -------------------------------------------------------


def check_run(capsys: pytest.CaptureFixture[str], args: list[str], inputs: list[Path]) -> int:
    """Run ``gradfit ARGS`` and assert: exit 0, or 1 or 2 with exactly one ``gradfit: error:``
    line on stderr (naming the file for exit 2) and no traceback; ``inputs`` unchanged."""
    before = {p: p.read_bytes() for p in inputs}
    with time_limit(60):  # a crafted input that makes a run endless fails, not hangs, CI
        code, _, err = cli(capsys, *args)
    assert "Traceback" not in err, err
    assert code in (0, 1, 2), (code, err)
    if code != 0:
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith(PREFIX), err
        if code == 2:
            assert any(p.name in lines[0] for p in inputs), err
    for p, data in before.items():
        assert p.read_bytes() == data, f"{p} was changed by the run"
    return code


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Fail the example with TimeoutError when it runs past ``seconds`` (SIGALRM; Unix)."""

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"the run took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def workdir() -> Iterator[Path]:
    """A fresh temporary directory for one example (the fixtures' tmp_path is shared by all)."""
    with tempfile.TemporaryDirectory(prefix="gradfit-fuzz-") as d:
        yield Path(d)


def keep_failure(kind: str, suffix: str, data: bytes) -> None:
    """Under ``GRADFIT_FUZZ_KEEP=1``, write ``data`` (an input that fails the check) as
    ``tests/data/fuzz/KIND-new-HASH.SUFFIX``, for the final (shrunk) example of each distinct
    failure only; rename it ``KIND-NNNN.SUFFIX`` to keep it."""
    from hypothesis.control import current_build_context

    if os.environ.get("GRADFIT_FUZZ_KEEP") != "1" or not current_build_context().is_final:
        return
    FUZZ_DATA.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(data).hexdigest()[:8]
    (FUZZ_DATA / f"{kind}-new-{digest}{suffix}").write_bytes(data)


def run_kept(check: Callable[[], Any], kind: str, suffix: str, data: bytes) -> None:
    """``check()``, keeping ``data`` as a regression file when it fails (see keep_failure)."""
    try:
        check()
    except BaseException:
        keep_failure(kind, suffix, data)
        raise


# --- byte mutations (CSV text, the checkpoint's JSON meta) ----------------------------------

SPECIAL = [
    b"\x00",
    b"\r",
    b"\r\n",
    b"\n",
    b"\n\n",
    b'"',
    b'"a,b"',
    b",",
    b",1",
    b",,",
    b";",
    b"\t",
    b" ",
    b"#",
    b"\xff",
    b"\xfe\xff",
    b"\xc3",
    b"\xef\xbb\xbf",
    b"nan",
    b"inf",
    b"-inf",
    b"1e400",
    b"-",
    b"NA",
    b"x",
    b"y",
    b"1,2,3",
    b"\xe2\x80\xa8",
    b"9" * 400,
    b"a" * 140_000,  # over the csv module's field limit
]

payloads = st.one_of(
    st.sampled_from(SPECIAL),
    st.binary(min_size=1, max_size=6),
    st.text(min_size=1, max_size=6).map(lambda s: s.encode("utf-8")),
)
mutation = st.tuples(
    st.sampled_from(["insert", "delete", "replace", "truncate"]),
    st.integers(0, 1 << 20),
    st.integers(1, 40),
    payloads,
)


def mutate_bytes(data: bytes, ops: list[tuple[str, int, int, bytes]]) -> bytes:
    """``data`` with each operation applied in turn: insert ``payload`` at a position, delete
    or replace ``length`` bytes there by it, or cut the data there."""
    for op, where, length, payload in ops:
        pos = where % (len(data) + 1)
        if op == "insert":
            data = data[:pos] + payload + data[pos:]
        elif op == "delete":
            data = data[:pos] + data[pos + length :]
        elif op == "replace":
            data = data[:pos] + payload + data[pos + len(payload) :]
        else:
            data = data[:pos]
    return data


# --- CSV text -------------------------------------------------------------------------------

VALID_CSV = (
    "x,y\n" + "".join(f"{x:.4f},{np.sin(x):.4f}\n" for x in np.linspace(-3, 3, 20))
).encode()


def check_data_file(capsys: pytest.CaptureFixture[str], path: Path) -> None:
    """``gradfit fit --data PATH`` with the manual (in memory) and the gram (streamed) method."""
    for method in ("manual", "gram"):
        args = ["fit", "--data", str(path), "--backend", "numpy", "--steps", "5", "--quiet"]
        check_run(capsys, [*args, "--method", method], [path])


@fuzz_settings(120)
@given(ops=st.lists(mutation, min_size=1, max_size=4))
def test_fuzz_csv(capsys: pytest.CaptureFixture[str], ops: list[Any]) -> None:
    data = mutate_bytes(VALID_CSV, ops)
    with workdir() as d:
        path = d / "data.csv"
        path.write_bytes(data)
        run_kept(lambda: check_data_file(capsys, path), "csv", ".csv", data)


# --- .npy and .npz headers ------------------------------------------------------------------


def valid_npy(fortran: bool = False) -> bytes:
    x = np.linspace(-3, 3, 20)
    table = np.stack([x, np.sin(x)], axis=1)
    buf = io.BytesIO()
    np.save(buf, np.asfortranarray(table) if fortran else table)
    return buf.getvalue()


SHAPES = ["(20, 2)", "(20,)", "()", "(0, 2)", "(20, 1)", "(21, 2)", "(2, 20)", "(20, 2, 1)",
          "(-1, 2)", "(99999999999, 2)", "(2**40, 2)", "(20, 0)", "(1e3, 2)", "('a', 2)",
          "(20, 2**62)", "[20, 2]", "None"]  # fmt: skip
DESCRS = ["'<f8'", "'>f8'", "'<f4'", "'<f2'", "'<i8'", "'|u1'", "'|b1'", "'<c16'", "'|O'",
          "'<U3'", "'|S4'", "'|V8'", "'<M8[s]'", "'<m8'", "'f8'", "'bogus'", "''", "3",
          "[('x', '<f8'), ('y', '<f8')]", "[('x', '<f8')]", "[('x', '|O')]", "[]",
          "[('x', '<f8', (2,))]", "{'names': ['x'], 'formats': ['<f8']}"]  # fmt: skip
FORTRAN = ["False", "True", "0", "1", "None", "'no'"]


@st.composite
def npy_bytes(draw: st.DrawFn) -> bytes:
    """A valid 2-column .npy with its header's shape, descr, fortran_order, header length or
    version changed, its data cut, or a few bytes of it mutated."""
    data = valid_npy(draw(st.booleans()))
    header_len = int.from_bytes(data[8:10], "little")
    header = data[10 : 10 + header_len].decode("latin1")
    body = data[10 + header_len :]
    if draw(st.booleans()):
        header = header.replace("(20, 2)", draw(st.sampled_from(SHAPES)))
    if draw(st.booleans()):
        header = header.replace("'<f8'", draw(st.sampled_from(DESCRS)))
    if draw(st.booleans()):
        old = "True" if "True" in header else "False"
        header = header.replace(old, draw(st.sampled_from(FORTRAN)))
    raw = header.encode("latin1")
    if draw(st.booleans()):  # keep the header's declared length honest, padded as NumPy does
        raw = raw.rstrip(b" \n")
        raw = raw + b" " * ((-(10 + len(raw) + 1)) % 64) + b"\n"
    length = len(raw).to_bytes(2, "little")
    if draw(st.booleans()):
        length = draw(st.integers(0, 0xFFFF)).to_bytes(2, "little")
    version = data[6:8]
    if draw(st.booleans()):
        version = draw(st.sampled_from([b"\x02\x00", b"\x03\x00", b"\x00\x00", b"\x09\x09"]))
    out = data[:6] + version + length + raw + body
    if version != b"\x01\x00" and version[0] in (2, 3):  # 4-byte header length
        out = data[:6] + version + len(raw).to_bytes(4, "little") + raw + body
    if draw(st.booleans()):
        out = out[: draw(st.integers(0, len(out)))]
    return mutate_bytes(out, draw(st.lists(mutation, max_size=2)))


@fuzz_settings(120)
@given(data=npy_bytes())
def test_fuzz_npy(capsys: pytest.CaptureFixture[str], data: bytes) -> None:
    with workdir() as d:
        path = d / "data.npy"
        path.write_bytes(data)
        run_kept(lambda: check_data_file(capsys, path), "npy", ".npy", data)


@st.composite
def npz_bytes(draw: st.DrawFn) -> bytes:
    """A valid .npz (named x and y columns, or one 2-D array) with a member's .npy header
    mutated (see :func:`npy_bytes`), a member renamed or dropped, or the archive's bytes cut."""
    x = np.linspace(-3, 3, 20)
    members: dict[str, bytes] = {}
    if draw(st.booleans()):
        for name, column in (("x", x), ("y", np.sin(x))):
            buf = io.BytesIO()
            np.save(buf, column)
            members[f"{name}.npy"] = buf.getvalue()
    else:
        members["table.npy"] = valid_npy()
    name = draw(st.sampled_from(sorted(members)))
    if draw(st.booleans()):
        members[name] = draw(npy_bytes())
    if draw(st.booleans()):
        new = draw(st.sampled_from(["meta", "x", "a/b.npy", "z.txt", "y.npy", "x.npy"]))
        members[new] = members.pop(name)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for member, blob in members.items():
            archive.writestr(member, blob)
    return mutate_bytes(buf.getvalue(), draw(st.lists(mutation, max_size=2)))


@fuzz_settings(80)
@given(data=npz_bytes())
def test_fuzz_npz(capsys: pytest.CaptureFixture[str], data: bytes) -> None:
    with workdir() as d:
        path = d / "data.npz"
        path.write_bytes(data)
        run_kept(lambda: check_data_file(capsys, path), "npz", ".npz", data)


# --- model JSON -----------------------------------------------------------------------------

DEEP = "\x00deep\x00"  # stands for a list nested 100000 deep (json.dumps would recurse)
HUGE = 10**400

json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.sampled_from([HUGE, -HUGE, 2**63, -(2**63) - 1, 0, 1, 3, -1]),
        st.floats(),  # NaN and infinities too: json writes and reads them
        st.text(max_size=8),
        st.sampled_from(["gradfit.model/1", "gradfit.model/9", "polynomial", "monomial", DEEP]),
    ),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


def dumps_json(doc: Any) -> bytes:
    """``doc`` as JSON text, each :data:`DEEP` replaced by a list nested 100000 deep."""
    text = json.dumps(doc)
    deep = "[" * 100_000 + "]" * 100_000
    return text.replace(json.dumps(DEEP), deep).encode("utf-8")


@st.composite
def mutated_document(draw: st.DrawFn, doc: Any) -> Any:
    """``doc`` (parsed JSON) with a few structural mutations: a value somewhere in it replaced
    by another JSON value, a key dropped or added, the whole document replaced."""
    doc = json.loads(json.dumps(doc))
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.integers(0, 19)) == 0:
            doc = draw(json_values)
            continue
        parent: Any = None
        key: Any = None
        node = doc
        while isinstance(node, (dict, list)) and node and draw(st.integers(0, 2)) > 0:
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            parent, key = node, draw(st.sampled_from(keys))
            node = node[key]
        target = node if isinstance(node, (dict, list)) else parent
        action = draw(st.sampled_from(["replace", "drop", "add"]))
        if action == "replace" and parent is not None:
            parent[key] = draw(json_values)
        elif action == "drop" and isinstance(target, dict) and target:
            del target[draw(st.sampled_from(sorted(target)))]
        elif action == "drop" and isinstance(target, list) and target:
            del target[draw(st.integers(0, len(target) - 1))]
        elif isinstance(target, dict):
            known = ["schema", "kind", "basis", "degree", "coef", "domain", "window",
                     "scaled_coef", "x_name", "y_name"]  # fmt: skip
            target[draw(st.sampled_from(known) | st.text(max_size=6))] = draw(json_values)
        elif isinstance(target, list):
            target.insert(draw(st.integers(0, len(target))), draw(json_values))
    return doc


@pytest.fixture(scope="module")
def base_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Valid inputs written by gradfit itself: a model (plain and scaled) and checkpoints (the
    default SGD and Adam, whose state holds arrays and a step count)."""
    from gradfit.cli import main

    d = tmp_path_factory.mktemp("fuzz-base")
    files = {
        "model": d / "m.json",
        "scaled": d / "scaled.json",
        "ckpt": d / "c.npz",
        "adam": d / "adam.npz",
    }
    common = ["fit", "--backend", "numpy", "--steps", "20", "--seed", "1", "--quiet"]
    assert main([*common, "--save", str(files["model"]), "--checkpoint", str(files["ckpt"])]) == 0
    assert main([*common, "--scale", "--lr", "auto", "--save", str(files["scaled"])]) == 0
    assert main([*common, "--optimizer", "adam", "--checkpoint", str(files["adam"])]) == 0
    return files


def check_model_file(capsys: pytest.CaptureFixture[str], path: Path) -> None:
    check_run(capsys, ["predict", str(path), "--x", "0.5"], [path])


@fuzz_settings(150)
@given(data=st.data())
def test_fuzz_model_json(
    capsys: pytest.CaptureFixture[str], base_files: dict[str, Path], data: st.DataObject
) -> None:
    base = json.loads(base_files[data.draw(st.sampled_from(["model", "scaled"]))].read_text())
    text = dumps_json(data.draw(mutated_document(base)))
    with workdir() as d:
        path = d / "model.json"
        path.write_bytes(text)
        run_kept(lambda: check_model_file(capsys, path), "model", ".json", text)


# --- checkpoint metadata --------------------------------------------------------------------

DTYPES = ["float64", "float32", "float16", "int64", "int8", "uint8", "bool", "complex128",
          "<U2", "|S3", "datetime64[s]"]  # fmt: skip


def array_values() -> st.SearchStrategy[np.ndarray]:
    """Arrays of the shapes and dtypes a crafted checkpoint could hold in place of the state's."""
    shapes = st.lists(st.integers(0, 5), max_size=3).map(tuple)
    return st.builds(
        lambda shape, dtype, fill: np.full(shape, fill).astype(dtype),
        shapes,
        st.sampled_from(DTYPES),
        st.sampled_from([0, 1, -1, np.nan, np.inf, 1e300]),
    )


def mutate_state(draw: st.DrawFn, state: Any) -> Any:
    """The method's snapshot with an array replaced (other shape or dtype), a part replaced by
    another value, or a tuple lengthened or shortened."""
    if isinstance(state, np.ndarray):
        return draw(array_values() | json_values.filter(lambda v: DEEP not in json.dumps(v)))
    if isinstance(state, (tuple, list)) and state and draw(st.booleans()):
        items = list(state)
        i = draw(st.integers(0, len(items) - 1))
        items[i] = mutate_state(draw, items[i])
        return type(state)(items)
    if isinstance(state, dict) and state and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(state)))
        return {**state, key: mutate_state(draw, state[key])}
    choice = draw(st.integers(0, 3))
    if choice == 0 and isinstance(state, (tuple, list)):
        return type(state)([*state, draw(array_values())])
    if choice == 1 and isinstance(state, (tuple, list)) and state:
        return type(state)(list(state)[:-1])
    if choice == 2:
        return draw(array_values())
    return draw(json_values.filter(lambda v: DEEP not in json.dumps(v)))


SMALL_INTS = st.integers(-3, 60) | st.sampled_from([HUGE, 2**63, -(2**63) - 1])
CONFIG_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 8),
    st.sampled_from([HUGE, 2**63, 0.0, -1.0, 1e300, float("nan"), float("inf")]),
    st.floats(-10, 10),
    st.text(max_size=6),
    st.sampled_from(
        [
            "numpy",
            "torch",
            "cuda",
            "float32",
            "adam",
            "gram",
            "nn",
            "legendre",
            "sin",
            "x**2",
            "../c.npz",
            "auto",
        ]
    ),
    st.lists(st.floats(-5, 5) | st.integers(-2, 5) | st.none(), max_size=5),
    st.dictionaries(st.text(max_size=3), st.integers(0, 3), max_size=2),
)


WORK = ("degree", "chunk_size", "batch_size", "log_every", "model")


@st.composite
def mutated_checkpoint(draw: st.DrawFn, ckpt: Checkpoint) -> Checkpoint:
    """``ckpt`` with some of config, history, step, seed, method, bound and state changed (kept
    to values :func:`save_checkpoint` can write; the raw-meta test covers the others). Values
    that would make an honest but big run (a million points) are left out: they are slow, not
    wrong."""
    config = dict(ckpt.config)
    step, seed, method, bound = ckpt.step, ckpt.seed, ckpt.method, ckpt.bound
    history, state, dtype = list(ckpt.history), ckpt.state, ckpt.dtype
    fields_ = draw(
        st.lists(
            st.sampled_from(
                ["config", "history", "step", "seed", "method", "bound", "state", "dtype"]
            ),
            min_size=1,
            max_size=3,
        )
    )
    for name in fields_:
        if name == "config":
            for _ in range(draw(st.integers(1, 3))):
                key = draw(st.sampled_from(sorted(config)) | st.text(max_size=5))
                if draw(st.integers(0, 4)) == 0:
                    config.pop(key, None)
                else:
                    config[key] = draw(CONFIG_VALUES)
            if not isinstance(config.get("points"), int) or abs(config["points"]) > 10**5:
                config["points"] = draw(st.sampled_from([2000, 0, 1, -1, 3]))
            for key in WORK:  # how much work the run does: kept (slow, not wrong)
                config[key] = ckpt.config.get(key)
        elif name == "history":
            pair = st.tuples(SMALL_INTS, st.floats() | st.sampled_from([HUGE]))
            history = draw(st.lists(pair, max_size=5))
        elif name == "step":
            step = draw(SMALL_INTS)
        elif name == "seed":
            seed = draw(SMALL_INTS)
        elif name == "method":
            method = draw(st.sampled_from(["manual", "gram", "autograd", "nn", "auto", "", "x"]))
        elif name == "bound":
            bound = draw(st.none() | st.floats() | st.sampled_from([0.0, -1.0]))
        elif name == "dtype":
            dtype = draw(st.sampled_from(["float32", "float16", "int64", "", "bogus"]))
        else:
            state = mutate_state(draw, state)
    return Checkpoint(step, state, history, config, seed, method, ckpt.backend, dtype, bound,
                      dict(ckpt.extra))  # fmt: skip


def check_checkpoint_file(capsys: pytest.CaptureFixture[str], path: Path) -> None:
    check_run(capsys, ["fit", "--resume", str(path), "--steps", "40", "--quiet"], [path])


@fuzz_settings(120)
@given(data=st.data())
def test_fuzz_checkpoint(
    capsys: pytest.CaptureFixture[str], base_files: dict[str, Path], data: st.DataObject
) -> None:
    base = load_checkpoint(base_files[data.draw(st.sampled_from(["ckpt", "adam"]))])
    ckpt = data.draw(mutated_checkpoint(base))
    with workdir() as d:
        path = d / "c.npz"
        try:
            save_checkpoint(path, ckpt)
        except (TypeError, ValueError, OverflowError):  # not writable this way: the raw test's
            return
        blob = path.read_bytes()
        run_kept(lambda: check_checkpoint_file(capsys, path), "ckpt", ".npz", blob)


def rezip_meta(original: Path, meta: bytes) -> bytes:
    """The checkpoint ``original`` with its ``meta`` member's JSON replaced by ``meta``."""
    with np.load(original, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    arrays["meta"] = np.frombuffer(meta, dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, allow_pickle=False, **arrays)
    return buf.getvalue()


@fuzz_settings(120)
@given(data=st.data())
def test_fuzz_checkpoint_meta(
    capsys: pytest.CaptureFixture[str], base_files: dict[str, Path], data: st.DataObject
) -> None:
    source = base_files[data.draw(st.sampled_from(["ckpt", "adam"]))]
    with np.load(source, allow_pickle=False) as npz:
        meta = json.loads(bytes(npz["meta"]).decode("utf-8"))
    if data.draw(st.booleans()):  # structurally, as JSON
        meta_doc = data.draw(mutated_document(meta))
        if isinstance(meta_doc, dict) and isinstance(meta_doc.get("config"), dict):
            points = meta_doc["config"].get("points")
            if not isinstance(points, int) or abs(points) > 10**5:
                meta_doc["config"]["points"] = 2000  # big runs are slow, not wrong
        raw = dumps_json(meta_doc)
    else:  # as bytes
        raw = mutate_bytes(json.dumps(meta).encode(), data.draw(st.lists(mutation, max_size=3)))
    blob = rezip_meta(source, raw)
    with workdir() as d:
        path = d / "c.npz"
        path.write_bytes(blob)
        run_kept(lambda: check_checkpoint_file(capsys, path), "ckpt", ".npz", blob)


# --- the kept failures ----------------------------------------------------------------------

CHECKS: dict[str, tuple[str, Callable[..., None]]] = {
    "csv": ("data.csv", check_data_file),
    "npy": ("data.npy", check_data_file),
    "npz": ("data.npz", check_data_file),
    "model": ("model.json", check_model_file),
    "ckpt": ("c.npz", check_checkpoint_file),
}


def kept_files() -> list[Path]:
    return sorted(FUZZ_DATA.glob("*-*.*")) if FUZZ_DATA.is_dir() else []


@pytest.mark.parametrize("kept", kept_files(), ids=lambda p: p.name)
def test_fuzz_regression(capsys: pytest.CaptureFixture[str], tmp_path: Path, kept: Path) -> None:
    """Every input the fuzz tests once failed on passes the same check now."""
    name, check = CHECKS[kept.name.split("-")[0]]
    path = tmp_path / name
    shutil.copyfile(kept, path)
    check(capsys, path)
