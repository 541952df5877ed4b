"""Data files: every format, column choice, and every way a file is refused (one line, exit 2)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, cli, run_cli, run_gradfit

import gradfit
from gradfit.data import can_stream, choose_xy, load_data, open_file, open_table, sniff
from gradfit.data import text as text_reader
from gradfit.data.load import read_whole

BAD = REPO / "tests" / "data" / "bad"


# --- formats ---------------------------------------------------------------------------------

X = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])
Y = 1.0 - 2.0 * X + 0.5 * X**2


def write_formats(tmp: Path) -> dict[str, tuple[Path, list[str]]]:
    """The same six points in every supported format: name -> (file, extra CLI args)."""
    files: dict[str, tuple[Path, list[str]]] = {}

    def text(name: str, body: str, *args: str) -> None:
        path = tmp / name
        path.write_text(body)
        files[name] = (path, list(args))

    rows = list(zip(X.tolist(), Y.tolist(), strict=True))
    text("header.csv", "x,y\n" + "".join(f"{a},{b}\n" for a, b in rows))
    text("no_header.csv", "".join(f"{a},{b}\n" for a, b in rows))
    text("spaced.csv", "x, y\n" + "".join(f"{a}, {b}\n" for a, b in rows))
    text("quoted.csv", '"x","y"\n' + "".join(f'"{a}","{b}"\n' for a, b in rows))
    text("tabs.tsv", "x\ty\n" + "".join(f"{a}\t{b}\n" for a, b in rows))
    text("semicolons.csv", "x;y\n" + "".join(f"{a};{b}\n" for a, b in rows))
    text(
        "comments.txt",
        "# measured 2026\n\nx y\n" + "".join(f"{a}   {b}\n" for a, b in rows) + "\n",
    )
    text(
        "named.csv",
        "id,y,note,x\n" + "".join(f"{i},{b},n{i},{a}\n" for i, (a, b) in enumerate(rows)),
    )
    text(
        "chosen.csv",
        "id,time,temp\n" + "".join(f"{i},{a},{b}\n" for i, (a, b) in enumerate(rows)),
        "--x",
        "time",
        "--y",
        "temp",
    )
    text(
        "by_index.dat",
        "".join(f"{i} 7 {a} {b}\n" for i, (a, b) in enumerate(rows)),
        "--x",
        "2",
        "--y",
        "3",
    )
    text("bom.csv", "\ufeffx,y\n" + "".join(f"{a},{b}\n" for a, b in rows))
    np.save(tmp / "pair.npy", np.column_stack([X, Y]))
    files["pair.npy"] = (tmp / "pair.npy", [])
    np.save(tmp / "wide.npy", np.column_stack([Y * 0, X, Y]))
    files["wide.npy"] = (tmp / "wide.npy", ["--x", "1", "--y", "2"])
    structured = np.zeros(X.size, dtype=[("t", "f8"), ("v", "f4"), ("y", "f8")])
    structured["t"], structured["y"] = X, Y
    np.save(tmp / "structured.npy", structured)
    files["structured.npy"] = (tmp / "structured.npy", ["--x", "t"])
    np.savez(tmp / "named.npz", x=X, y=Y, extra=np.arange(3))
    files["named.npz"] = (tmp / "named.npz", [])
    np.savez(tmp / "ints.npz", time=X.astype(np.float32), level=Y)
    files["ints.npz"] = (tmp / "ints.npz", [])
    np.savez(tmp / "table.npz", table=np.column_stack([X, Y]))
    files["table.npz"] = (tmp / "table.npz", [])
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return files
    pq.write_table(pa.table({"t": X, "y": Y}), tmp / "log.parquet", row_group_size=4)
    files["log.parquet"] = (tmp / "log.parquet", [])
    return files


FORMATS = [
    "header.csv",
    "no_header.csv",
    "spaced.csv",
    "quoted.csv",
    "tabs.tsv",
    "semicolons.csv",
    "comments.txt",
    "named.csv",
    "chosen.csv",
    "by_index.dat",
    "bom.csv",
    "pair.npy",
    "wide.npy",
    "structured.npy",
    "named.npz",
    "ints.npz",
    "table.npz",
]


@pytest.mark.parametrize("name", FORMATS)
def test_every_format_reads_the_same_points(tmp_path: Path, name: str) -> None:
    path, args = write_formats(tmp_path)[name]
    options = dict(zip(args[::2], args[1::2], strict=True))
    data = load_data(path, options.get("--x"), options.get("--y"), n_params=3)
    np.testing.assert_allclose(data.x, X, rtol=1e-7)  # float32 columns round to 1e-7
    np.testing.assert_array_equal(data.y, Y)
    assert data.rows == X.size and data.dropped == 0


@pytest.mark.parametrize("name", [*FORMATS, "log.parquet"])
def test_load_data_is_the_readers_blocks_and_the_stream(tmp_path: Path, name: str) -> None:
    """One reader per format: load_data concatenates its blocks, open_file streams the same
    blocks - the same arrays, bit for bit, whatever the block size."""
    if name.endswith(".parquet"):
        pytest.importorskip("pyarrow")
    path, args = write_formats(tmp_path)[name]
    options = dict(zip(args[::2], args[1::2], strict=True))
    x, y = options.get("--x"), options.get("--y")
    whole = load_data(path, x, y)
    table = open_table(path)
    ix, iy = choose_xy(table, x, y)
    assert table.count(ix, iy) == whole.rows
    for size in (1, 4, 1 << 16):
        got = [(bx.copy(), by.copy()) for bx, by in table.blocks(ix, iy, size)]
        assert all(b[0].dtype == b[1].dtype == np.float64 for b in got)
        np.testing.assert_array_equal(np.concatenate([b[0] for b in got]), whole.x)
        np.testing.assert_array_equal(np.concatenate([b[1] for b in got]), whole.y)
    if can_stream(path):
        streamed = open_file(str(path), x, y)
        assert len(streamed) == whole.rows
        for size in (1, 4, 1 << 16):
            got = [(bx.copy(), by.copy()) for bx, by in streamed.chunks(size)]
            np.testing.assert_array_equal(np.concatenate([b[0] for b in got]), whole.x)
            np.testing.assert_array_equal(np.concatenate([b[1] for b in got]), whole.y)
    else:
        assert name.endswith(".npz")  # read whole: not streamed


@pytest.mark.parametrize("name", [*FORMATS, "log.parquet"])
def test_every_readers_parts_are_the_whole_file(tmp_path: Path, name: str) -> None:
    """part=(rank, K) of every reader: the parts' rows in rank order are the file's rows."""
    if name.endswith(".parquet"):
        pytest.importorskip("pyarrow")
    path, args = write_formats(tmp_path)[name]
    options = dict(zip(args[::2], args[1::2], strict=True))
    table = open_table(path)
    ix, iy = choose_xy(table, options.get("--x"), options.get("--y"))
    whole = read_whole(table, ix, iy)
    for world in (1, 2, 3, 7):
        parts = [
            [(bx.copy(), by.copy()) for bx, by in table.blocks(ix, iy, 2, (rank, world))]
            for rank in range(world)
        ]
        counts = [table.count(ix, iy, (rank, world)) for rank in range(world)]
        assert counts == [sum(b[0].size for b in part) for part in parts]
        blocks = [b for part in parts for b in part]
        np.testing.assert_array_equal(np.concatenate([b[0] for b in blocks]), whole[0])
        np.testing.assert_array_equal(np.concatenate([b[1] for b in blocks]), whole[1])


def test_parquet_columns_by_name_and_index(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "log.parquet"
    table = pa.table(
        {
            "time": pa.array(X.tolist()),
            "count": pa.array([1, 2, 3, 4, 5, 6], type=pa.int32()),
            "temp": pa.array([str(v) for v in Y]),  # numbers stored as text are parsed
        }
    )
    pq.write_table(table, path)
    data = load_data(path, "time", "temp")
    np.testing.assert_array_equal(data.x, X)
    np.testing.assert_array_equal(data.y, Y)
    by_index = load_data(path, 0, "1")
    np.testing.assert_array_equal(by_index.y, [1, 2, 3, 4, 5, 6])


def test_large_npy_is_memory_mapped(tmp_path: Path) -> None:
    """Opening a .npy maps it (its header gives shape, dtype and layout): nothing is read until
    its rows are, a block at a time."""
    path = tmp_path / "big.npy"
    np.save(path, np.zeros((200_000, 3)))
    table = open_table(path)
    assert isinstance(table.array, np.memmap)
    assert table.count(1, 2) == 200_000


def test_cli_fit_on_a_file_of_a_known_cubic_recovers_it(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(12)
    truth = np.array([1.5, -2.0, 0.3, -0.01])
    x = rng.uniform(0, 20, 400)
    y = np.polynomial.polynomial.polyval(x, truth) + 0.01 * rng.standard_normal(x.size)
    path = tmp_path / "cubic.csv"
    np.savetxt(path, np.column_stack([x, y]), delimiter=",", header="time,temp", comments="")

    code, out, err = cli(capsys, "fit", "--data", str(path), "--backend", "numpy", "--json")
    assert code == 0, err
    doc = json.loads(out)
    optimum = gradfit.closed_form(x, y, 3)
    # Gradient descent reaches the least-squares optimum, which is the cubic up to the noise.
    np.testing.assert_allclose(doc["coef"], optimum.coef, rtol=1e-6)
    np.testing.assert_allclose(doc["coef"], truth, rtol=5e-3, atol=5e-3)
    assert doc["final_loss"] == pytest.approx(optimum.loss, rel=1e-9)
    assert doc["data"] == {
        "path": str(path),
        "x": "time",
        "y": "temp",
        "rows": 400,
        "dropped": 0,
        "used": 400,
    }
    assert doc["scaling"]["domain"] == [x.min(), x.max()]
    assert doc["config"]["scale"] is None and doc["config"]["lr"] > 1e-6  # auto

    # The article's default backend (torch float32) gets there too, to float32 precision.
    code, out, _ = cli(capsys, "fit", "--data", str(path), "--json")
    np.testing.assert_allclose(json.loads(out)["coef"], truth, rtol=2e-2, atol=2e-2)


def test_drop_nonfinite_leaves_the_bad_rows_out(capsys) -> None:
    path = BAD / "nonfinite.csv"
    code, out, err = cli(
        capsys, "fit", "--data", str(path), "--degree", "1", "--backend", "numpy", "--json",
        "--drop-nonfinite",
    )  # fmt: skip
    assert code == 0
    doc = json.loads(out)
    assert doc["data"]["dropped"] == 3 and doc["data"]["used"] == 4
    np.testing.assert_allclose(doc["coef"], [1.0, 1.0], rtol=1e-9, atol=1e-9)  # y = x + 1
    note = f"left out 3 row(s) of {path} with NaN, missing or infinite values"
    assert err == f"gradfit: note: {note}\n"


# --- refusals --------------------------------------------------------------------------------


def _npy(a: np.ndarray) -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        np.save(tmp / "f.npy", a)
        return tmp / "f.npy"

    return build


def _bytes(name: str, data: bytes) -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        (tmp / name).write_bytes(data)
        return tmp / name

    return build


def _lengths(tmp: Path) -> Path:
    np.savez(tmp / "f.npz", x=np.arange(5.0), y=np.arange(4.0))
    return tmp / "f.npz"


def _truncated_npy(tmp: Path) -> Path:
    np.save(tmp / "f.npy", np.zeros((50, 2)))
    data = (tmp / "f.npy").read_bytes()
    (tmp / "f.npy").write_bytes(data[:-100])
    return tmp / "f.npy"


def _parquet_text(tmp: Path) -> Path:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.table({"x": [0.0, 1.0, 2.0], "y": ["1", "two", "3"]}), tmp / "f.parquet")
    return tmp / "f.parquet"


def _a_directory(tmp: Path) -> Path:
    (tmp / "dir.csv").mkdir()
    return tmp / "dir.csv"


def _committed(name: str) -> Callable[[Path], Path]:
    return lambda tmp: BAD / name


BAD_FILES = [
    ("missing", lambda tmp: tmp / "nothere.csv", [], "nothere.csv: no such file"),
    ("directory", _a_directory, [], "dir.csv is a directory, not a data file"),
    ("not text", _committed("binary.csv"), [], "binary.csv is not a UTF-8 text table"),
    ("empty", _committed("empty.csv"), [], "empty.csv is empty"),
    ("comments only", _committed("comments_only.csv"), [], "comments_only.csv is empty (no"),
    ("header only", _committed("header_only.csv"), [], "has a header ('x', 'y') but no data rows"),
    ("unknown column", _committed("three_columns.csv"), ["--x", "nope", "--y", "b"],
     "three_columns.csv has no column 'nope' (--x); its columns are 'a', 'b', 'c'"),
    ("index out of range", _committed("three_columns.csv"), ["--x", "a", "--y", "7"],
     "has no column '7' (--y)"),
    ("columns not chosen", _committed("three_columns.csv"), [],
     "has 3 columns ('a', 'b', 'c'); choose with --x COL and --y COL"),
    ("non-numeric cell", _committed("non_numeric.csv"), [],
     "non_numeric.csv: line 4, column 'y': 'abc' is not a number"),
    ("decimal comma", _committed("decimal_comma.csv"), [],
     "'1,5' is not a number (decimal commas are not supported)"),
    ("nan and inf", _committed("nonfinite.csv"), [],
     "nonfinite.csv: 2 NaN or missing value(s) in 'y' and 1 infinite value(s) in 'y', first at "
     "line 3; fix the file or pass --drop-nonfinite"),
    ("ragged", _committed("ragged.csv"), [],
     "ragged.csv: line 3 has 3 field(s) but the header has 2"),
    ("different lengths", _lengths, [], "f.npz: x has 5 values but y has 4"),
    ("too few rows", _committed("few_rows.csv"), [],
     "few_rows.csv has 3 row(s) but a degree-3 polynomial has 4 coefficients"),
    ("constant x", _committed("constant_x.csv"), ["--degree", "1"],
     "constant_x.csv: x is constant (every value is 2.0), so a degree-1 polynomial is not"),
    ("too few distinct x", _npy(np.array([[0, 1], [0, 2], [1, 3], [1, 4], [1, 5.0]])), [],
     "x (0) takes only 2 distinct values but a degree-3 polynomial needs at least 4"),
    ("unsupported extension", _committed("spreadsheet.xlsx"), [],
     "spreadsheet.xlsx: unsupported file type (extension '.xlsx'); use one of .csv, .tsv"),
    ("no extension", _committed("noext"), [], "noext: unsupported file type (no extension)"),
    ("npy with one column", _npy(np.arange(5.0)), [], "has one column ('0'); fitting needs two"),
    ("npy of text", _npy(np.array([["a", "b"], ["c", "d"]])), [],
     "column '0' holds <U1 values, not real numbers"),
    ("npy of objects", _npy(np.array([1, "a", None], dtype=object)), [],
     "holds Python objects (pickled data), which gradfit never loads"),
    ("npy corrupt", _bytes("f.npy", b"\x93NUMPY\x01\x00garbage"), [], "cannot read"),
    ("npy truncated", _truncated_npy, [], "as a .npy array"),
    ("npz corrupt", _bytes("f.npz", b"PK\x03\x04garbage"), [], "as an .npz archive"),
    ("parquet corrupt", _bytes("f.parquet", b"garbage!garbage!"), [], "as Parquet"),
    ("parquet non-numeric", _parquet_text, [],
     "f.parquet: row 1 (0-based), column 'y': 'two' is not a number"),
]  # fmt: skip


@pytest.mark.parametrize(("build", "args", "message"), [c[1:] for c in BAD_FILES],
                         ids=[c[0] for c in BAD_FILES])  # fmt: skip
def test_bad_files_are_one_line_and_exit_2(capsys, tmp_path: Path, build, args, message) -> None:
    path = build(tmp_path)
    code, out, err = cli(capsys, "fit", "--data", str(path), "--backend", "numpy", *args)
    assert (code, out) == (2, "")
    assert err.startswith("gradfit: error: ") and err.count("\n") == 1, err
    assert message in err


def _parquet_two_ys(tmp: Path) -> Path:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    columns = [pa.array([0.0, 1.0, 2.0]), pa.array([1.0, 2.0, 3.0]), pa.array([3.0, 2.0, 1.0])]
    pq.write_table(pa.Table.from_arrays(columns, names=["x", "y", "y"]), tmp / "f.parquet")
    return tmp / "f.parquet"


HUGE = 200_000  # characters: over the csv module's field limit (131,072)

# Files that once gave a traceback, a huge error line, or a different answer per path.
WORST_FILES = [
    ("cell over the csv limit",
     _bytes("f.csv", b'x,y\n1,2\n2,"' + b"a" * HUGE + b'"\n3,4\n'),
     "f.csv: line 3: field larger than field limit (131072)"),
    ("header over the csv limit",
     _bytes("f.csv", b'x,"' + b"h" * HUGE + b'"\n1,2\n2,3\n'),
     "f.csv: line 1: field larger than field limit (131072)"),
    ("huge word", _bytes("f.txt", b"x y\n1 2\n2 " + b"a" * HUGE + b"\n3 4\n"),
     "f.txt: line 3, column 'y': '" + "a" * 60 + "'... (200000 characters) is not a number"),
    ("huge header name", _bytes("f.txt", b"x " + b"h" * HUGE + b" z\n1 2 3\n"),
     "f.txt has 3 columns ('x', '" + "h" * 60 + "'... (200000 characters), 'z')"),
    ("20 MB of NULs", _bytes("f.csv", b"\0" * (20 << 20)),
     "f.csv is not a UTF-8 text table (is it a binary file with the wrong extension?)"),
    ("NULs after the header", _bytes("f.csv", b"x,y\n1,2\n\0\0\0\n3,4\n"),
     "f.csv is not a UTF-8 text table (line 3: binary or non-UTF-8 bytes)"),
    ("CR-only line endings", _bytes("f.csv", b"x,y\r0,1\r1,2\r2,5\r3,3\r"),
     "f.csv has CR-only line endings (classic Mac OS); save it with LF or CRLF line endings"),
    ("quote not closed", _bytes("f.csv", b'x,y\n1,2\n2,"3\n3,4\n4,5\n'),
     "f.csv: line 3: a quoted field is not closed on its line"),
    ("parquet with two y columns", _parquet_two_ys, "f.parquet has 2 columns named 'y'; "
     "Parquet columns are read by name, so rename all but one"),
]  # fmt: skip


@pytest.mark.parametrize("method", ["manual", "gram"])  # read whole; streamed
@pytest.mark.parametrize(("build", "message"), [c[1:] for c in WORST_FILES],
                         ids=[c[0] for c in WORST_FILES])  # fmt: skip
def test_worst_files_are_one_short_line_on_both_paths(
    capsys, tmp_path: Path, build, message: str, method: str
) -> None:
    """The in-memory and the streamed path read a file with the same reader: the same one
    line, exit 2, and never more than a short excerpt of the file's own text."""
    path = build(tmp_path)
    code, out, err = cli(capsys, "fit", "--data", str(path), "--backend", "numpy",
                         "--method", method)  # fmt: skip
    assert (code, out) == (2, ""), err[:500]
    assert err.startswith("gradfit: error: ") and err.count("\n") == 1, err[:500]
    assert message in err and len(err) < 400, err[:500]


@pytest.mark.parametrize("method", ["manual", "gram"])
def test_an_unreadable_file_is_one_line_on_both_paths(
    capsys, tmp_path: Path, monkeypatch, method: str
) -> None:
    path = tmp_path / "f.csv"
    path.write_text("x,y\n0,1\n1,2\n2,5\n3,3\n")

    def refuse(file, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(file))

    # Tests may run as root, whom chmod does not stop: refuse the text reader's open instead.
    monkeypatch.setattr(text_reader, "open", refuse, raising=False)
    code, out, err = cli(capsys, "fit", "--data", str(path), "--backend", "numpy",
                         "--method", method)  # fmt: skip
    assert (code, out) == (2, "")
    assert err == f"gradfit: error: cannot read {path}: Permission denied\n"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads all")
def test_a_file_without_read_permission_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("x,y\n0,1\n1,2\n2,5\n3,3\n")
    path.chmod(0)
    for method in ("manual", "gram"):
        proc = run_gradfit("fit", "--data", str(path), "--backend", "numpy", "--method", method)
        assert proc.returncode == 2
        assert proc.stderr == f"gradfit: error: cannot read {path}: Permission denied\n"


def test_a_bad_file_in_a_real_process_has_no_traceback() -> None:
    proc = run_gradfit("fit", "--data", str(BAD / "non_numeric.csv"))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("gradfit: error: ") and proc.stderr.count("\n") == 1
    assert "Traceback" not in proc.stderr


def test_parquet_without_pyarrow_says_how_to_install(tmp_path, monkeypatch, capsys) -> None:
    path = tmp_path / "f.parquet"
    path.write_bytes(b"PAR1....PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now raises ImportError
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    code, _, err = cli(capsys, "fit", "--data", str(path), "--backend", "numpy")
    assert code == 2
    assert "needs pyarrow, which is not installed" in err
    assert "pip install 'gradfit[parquet]'" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--x", "a"], "--x and --y choose columns of a --data file"),
        (["--drop-nonfinite"], "--drop-nonfinite applies to --data files"),
        (["--data", "f.csv", "--noise", "0.1"], "--noise adds noise to a generated --target"),
        (["--data", "f.csv", "--range", "0", "1"], "--points and --range shape a generated"),
        (["--data", "f.csv", "--target", "x"], "--target and --data are alternatives"),
    ],
)
def test_options_that_do_not_go_with_data(capsys, args: list[str], message: str) -> None:
    code, _, err = cli(capsys, "fit", "--backend", "numpy", *args)
    assert code == 2 and message in err and err.count("\n") == 1


def test_help_lists_the_new_options_and_commands(capsys) -> None:
    proc = run_cli(capsys, "fit", "--help")
    assert proc.returncode == 0
    for option in ("--target", "--noise", "--data", "--x", "--y", "--drop-nonfinite", "--scale",
                   "--no-scale", "--save", "'auto'", "formulas (--target):"):  # fmt: skip
        assert option in proc.stdout, option
    assert "gradfit fit --data points.csv --save model.json" in proc.stdout
    proc = run_cli(capsys, "predict", "--help")
    assert proc.returncode == 0
    for text in ("MODEL.json", "--x", "--data", "--column", "--out", "examples:"):
        assert text in proc.stdout, text
    assert "predict" in run_cli(capsys, "--help").stdout


def test_fast_and_careful_text_parsers_agree(tmp_path: Path, monkeypatch) -> None:
    """Plain numbers take NumPy's C parser; a missing value sends the file to the cell-by-cell
    one. Both must read the same numbers."""
    rows = [f"{a!r},{b!r}" for a, b in zip(X.tolist(), Y.tolist(), strict=True)]
    fast = tmp_path / "fast.csv"
    fast.write_text("x,y\n" + "\n".join([*rows, "7.0,nan"]) + "\n")
    careful = tmp_path / "careful.csv"
    careful.write_text("x,y\n" + "\n".join([*rows, "7.0,NA"]) + "\n")
    calls = []

    def split_cells(lines: list[str], delimiter: str | None) -> list[list[str]]:
        calls.append(len(lines))
        return sniff.split_cells(lines, delimiter)

    monkeypatch.setattr(text_reader, "split_cells", split_cells)
    tables = [open_table(fast), open_table(careful)]
    a = read_whole(tables[0], 0, 1)
    assert calls == [1, 1]  # the two headers only: the data took the fast path
    b = read_whole(tables[1], 0, 1)
    assert calls == [1, 1, 7]  # then the careful parser, for the file with NA
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)  # NaN == NaN for assert_array_equal
    assert tables[0].where(6) == tables[1].where(6) == "line 8"
