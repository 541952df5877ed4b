"""Streaming: generated problems and data files processed chunk by chunk, with the numbers of
the in-memory path and a peak memory bounded by the chunk size."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import losses, rel_err, run_cli

import gradfit
from gradfit.api import run
from gradfit.backends import resolve_backend
from gradfit.config import FitConfig
from gradfit.data import add_noise, generated, linspace_chunk, make_problem, open_file
from gradfit.errors import UsageError
from gradfit.stats import accumulate, array_chunks


@pytest.mark.parametrize("n", [1, 2, 7, 1000, 12345])
def test_linspace_chunks_are_numpys_linspace(n: int) -> None:
    full = np.linspace(-math.pi, math.pi, n)
    for size in (1, 7, max(n - 1, 1), n, 10 * n):
        parts = [
            linspace_chunk(-math.pi, math.pi, n, s, min(s + size, n)) for s in range(0, n, size)
        ]
        np.testing.assert_array_equal(np.concatenate(parts), full)


@pytest.mark.parametrize("target", ["sin", "exp(-x**2) * cos(3*x)"])
def test_generated_chunks_are_the_in_memory_problem(target: str) -> None:
    """Same x, same target, same noise stream: bit for bit, whatever the chunk size."""
    be = resolve_backend("numpy", "cpu", "float64")
    n = 5000
    problem = add_noise(make_problem(be, target, n, (-2.0, 3.0)), be, 0.1, 7)
    chunked = generated(target, n, (-2.0, 3.0), noise=0.1, seed=7)
    for size in (1, 7, n - 1, n, 10 * n):
        xs, ys = zip(*((x.copy(), y.copy()) for x, y in chunked.chunks(size)), strict=True)
        np.testing.assert_array_equal(np.concatenate(xs), problem.x)
        np.testing.assert_array_equal(np.concatenate(ys), problem.y)


def _write_npy(path: Path, n: int = 30_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(100.0, 200.0, n))
    y = 0.5 + 1e-3 * (x - 150) ** 2 + rng.standard_normal(n)
    np.save(path, np.column_stack([x, y]))
    return x, y


def test_streaming_a_file_gives_the_fit_of_loading_it_whole(tmp_path: Path) -> None:
    path = tmp_path / "big.npy"
    _write_npy(path)
    common = dict(data=str(path), backend="numpy", degree=3, steps=300, seed=1)
    streamed = run(FitConfig(method="gram", chunk_size=1000, **common))  # 30 chunks
    whole = run(FitConfig(method="manual", **common))  # read into memory, per-point loop
    assert streamed.data["streamed"] and not hasattr(streamed.dataset, "x")
    assert rel_err(losses(streamed), losses(whole)) < 1e-9
    np.testing.assert_allclose(streamed.coef, whole.coef, rtol=1e-9)
    np.testing.assert_allclose(streamed.optimum.coef, whole.optimum.coef, rtol=1e-7)
    assert streamed.optimum.loss == pytest.approx(whole.optimum.loss, rel=1e-10)
    # ... and the same as the statistics of the arrays in memory
    auto = run(FitConfig(chunk_size=4096, **common))
    assert auto.method == "gram"
    np.testing.assert_allclose(auto.coef, streamed.coef, rtol=1e-12)


@pytest.mark.parametrize("layout", ["C", "F", "structured"])
def test_npy_chunks_are_the_columns(tmp_path: Path, layout: str) -> None:
    rng = np.random.default_rng(0)
    a = rng.random((1001, 3))
    if layout == "structured":
        arr = np.zeros(1001, dtype=[("x", "<f8"), ("y", "<f4"), ("z", "<i4")])
        arr["x"], arr["y"], arr["z"] = a[:, 0], a[:, 1], np.arange(1001)
        cols, ref = ("x", "z"), (arr["x"], arr["z"])
    else:
        arr = a if layout == "C" else np.asfortranarray(a)
        cols, ref = (2, 1), (a[:, 2], a[:, 1])
    np.save(tmp_path / "t.npy", arr)
    chunked = open_file(str(tmp_path / "t.npy"), *cols)
    for size in (1, 7, 1000, 1001, 10_010):
        parts = [(x.copy(), y.copy()) for x, y in chunked.chunks(size)]
        np.testing.assert_array_equal(np.concatenate([p[0] for p in parts]), ref[0])
        np.testing.assert_array_equal(np.concatenate([p[1] for p in parts]), ref[1])


def test_a_streamed_fit_plots_a_sample(capsys, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "big.npy"
    _write_npy(path)
    png = tmp_path / "fit.png"
    proc = run_cli(
        capsys,
        "fit",
        "--data",
        str(path),
        "--backend",
        "numpy",
        "--method",
        "gram",
        "--plot",
        str(png),
        "--quiet",
    )
    assert proc.returncode == 0, proc.stderr
    assert png.stat().st_size > 1000


def test_streaming_parquet_row_groups(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    x, y = _write_npy(tmp_path / "a.npy", n=20_000)
    path = tmp_path / "big.parquet"
    pq.write_table(pa.table({"t": x, "v": y}), path, row_group_size=3000)
    common = dict(data=str(path), backend="numpy", steps=200, seed=1, x_column="t", y_column="v")
    streamed = run(FitConfig(method="gram", chunk_size=1000, **common))
    whole = run(FitConfig(method="manual", **common))
    assert streamed.data["streamed"]
    np.testing.assert_allclose(streamed.coef, whole.coef, rtol=1e-9)


def test_streamed_file_with_bad_rows(capsys, tmp_path: Path) -> None:
    path = tmp_path / "bad.npy"
    data = np.column_stack([np.linspace(0, 1, 20_000), np.linspace(1, 2, 20_000)])
    data[12_345, 1] = np.nan
    np.save(path, data)
    cfg = dict(data=str(path), backend="numpy", method="gram", chunk_size=1000, steps=10)
    with pytest.raises(UsageError, match="row 12345"):
        run(FitConfig(**cfg))
    result = run(FitConfig(drop_nonfinite=True, **cfg))
    assert result.data["dropped"] == 1 and result.data["used"] == 19_999
    proc = run_cli(capsys, "fit", "--data", str(path), "--backend", "numpy", "--method", "gram")
    assert proc.returncode == 2 and proc.stderr.startswith("gradfit: error:")


def test_chunk_size_does_not_change_the_fit() -> None:
    kw = dict(backend="numpy", points=30_000, method="gram", steps=100, seed=2, lr=1e-7)
    a = run(FitConfig(chunk_size=7, **kw))
    b = run(FitConfig(chunk_size=1 << 20, **kw))
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12)
    x = np.linspace(-math.pi, math.pi, 30_000)
    c = gradfit.fit(x, np.sin(x), method="gram", lr=1e-7, steps=100, seed=2)
    np.testing.assert_allclose(c.params, a.params, rtol=1e-12)
    stats = accumulate(array_chunks(x, np.sin(x), 1), "monomial", 3)
    assert stats.n == 30_000


MEMORY_SCRIPT = """
import sys
from gradfit.api import run
from gradfit.config import FitConfig
r = run(FitConfig(backend="numpy", points=10**7, method="gram", steps=100, lr="auto", seed=1))
assert r.n_points == 10**7 and "torch" not in sys.modules
status = open("/proc/self/status").read().split("VmHWM:")[1]
print(int(status.split()[0]))  # the process's peak resident set, kB
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_ten_million_generated_points_stay_in_bounded_memory() -> None:
    """10^7 points as arrays would be 160 MB (x and y in float64) before any work; streamed in
    chunks the whole process (interpreter, NumPy, gradfit) peaks near 50 MB."""
    proc = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    peak_kb = int(proc.stdout.split()[-1])
    assert peak_kb < 120_000, peak_kb


def test_streaming_a_csv_in_blocks(tmp_path: Path) -> None:
    x, y = _write_npy(tmp_path / "a.npy", n=12_000)
    path = tmp_path / "big.csv"
    rows = [f"{float(a)!r},{float(b)!r},1" for a, b in zip(x, y, strict=True)]
    path.write_text("# a comment\ntime,value,other\n" + "\n".join(rows) + "\n\n")
    common = dict(data=str(path), backend="numpy", steps=200, seed=1, x_column=0, y_column="value")
    streamed = run(FitConfig(method="gram", chunk_size=1000, **common))
    whole = run(FitConfig(method="manual", **common))
    assert streamed.data["streamed"] and streamed.n_points == 12_000
    np.testing.assert_allclose(streamed.coef, whole.coef, rtol=1e-9)
    rows[5000] = "xyz,1,1"
    path.write_text("# a comment\ntime,value,other\n" + "\n".join(rows) + "\n")
    with pytest.raises(UsageError, match=r"line 5003, column 'time': 'xyz' is not a number"):
        run(FitConfig(method="gram", chunk_size=1000, **common))


# --- parts: what each rank of a distributed run reads --------------------------------------


def _rows(problem, size: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = zip(*((x.copy(), y.copy()) for x, y in problem.chunks(size)), strict=True)
    return np.concatenate(xs), np.concatenate(ys)


def _assert_parts_are_the_whole(opener, worlds=(1, 2, 3, 7)) -> None:
    """The parts' rows, in rank order, are the whole source's rows, bit for bit."""
    whole = _rows(opener(None))
    for world in worlds:
        parts = [opener((rank, world)) for rank in range(world)]
        assert sum(len(p) for p in parts) == whole[0].size
        for size in (1 << 16, 333):
            got = [_rows(p, size) if len(p) else (np.empty(0), np.empty(0)) for p in parts]
            np.testing.assert_array_equal(np.concatenate([g[0] for g in got]), whole[0])
            np.testing.assert_array_equal(np.concatenate([g[1] for g in got]), whole[1])


def test_generated_parts_are_the_whole_problem_noise_included() -> None:
    _assert_parts_are_the_whole(
        lambda part: generated("sin", 10_001, (-2.0, 3.0), noise=0.1, seed=7, part=part)
    )


@pytest.mark.parametrize("layout", ["C", "F"])
def test_npy_parts_are_the_whole_file(tmp_path: Path, layout: str) -> None:
    path = tmp_path / "d.npy"
    x, y = _write_npy(path, n=5003)
    np.save(path, np.asarray(np.column_stack([x, y]), order=layout))
    _assert_parts_are_the_whole(lambda part: open_file(str(path), part=part))


def test_parquet_parts_read_only_their_row_groups(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    x = np.linspace(0.0, 1.0, 5003)
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"x": x, "y": x**2}), path, row_group_size=700)
    _assert_parts_are_the_whole(lambda part: open_file(str(path), part=part))


def test_text_parts_split_by_bytes_keep_every_line_once(tmp_path: Path) -> None:
    """Each line belongs to the byte range it starts in: with a header, comments, blank lines,
    CRLF endings and a byte-order mark, the parts still hold every row exactly once."""
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=997), rng.normal(size=997)
    lines = ["# a comment", "x,y"]
    for i, (a, b) in enumerate(zip(x.tolist(), y.tolist(), strict=True)):
        lines.append(f"{a!r},{b!r}")
        if i % 97 == 0:
            lines += ["", "# note"]
    path = tmp_path / "d.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    _assert_parts_are_the_whole(lambda part: open_file(str(path), part=part), (1, 2, 3, 7, 500))
    np.testing.assert_array_equal(_rows(open_file(str(path)))[0], x)


def test_a_bad_line_in_a_later_part_is_named_by_its_file_line(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    body = [f"{i},{i * i}" for i in range(200)]
    body[150] = "150,oops"
    path.write_text("x,y\n" + "\n".join(body) + "\n")
    with pytest.raises(UsageError, match=r"line 152, column 'y': 'oops' is not a number"):
        _rows(open_file(str(path), part=(1, 2)))


def test_a_file_that_goes_away_while_streamed_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("x,y\n" + "".join(f"{i},{i * i}\n" for i in range(100)))
    chunked = open_file(str(path))
    path.unlink()
    with pytest.raises(UsageError, match=r"^cannot read .*d\.csv: No such file or directory$"):
        _rows(chunked)
