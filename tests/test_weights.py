"""Per-point weights (--sigma COL, --weight COL; gradfit.fit(sigma=, weights=)) against oracles:
numpy's weighted polyfit, scipy's curve_fit (absolute and relative sigma), the methods against
each other step by step, a hand-written weighted mini-batch step, and unit weights against the
unweighted run bit for bit. Then the column in every file format, and every bad input as one
error line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import cli
from scipy.optimize import curve_fit

import gradfit
from gradfit.data import load_data

P = np.polynomial.polynomial


def weighted_data(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A noisy quadratic on [-1, 2] whose noise grows with x, and its sigmas."""
    rng = np.random.default_rng(seed)
    x = np.linspace(-1.0, 2.0, n)
    sigma = 0.05 + 0.2 * (x + 1.0)
    y = 0.5 - 1.2 * x + 0.7 * x**2 + sigma * rng.standard_normal(n)
    return x, y, sigma


def polyfit_w(x: np.ndarray, y: np.ndarray, w: np.ndarray, degree: int = 2) -> np.ndarray:
    """numpy's weighted least squares: its ``w`` multiplies the residuals, so sqrt(w)."""
    return P.polyfit(x, y, degree, w=np.sqrt(w))


# --- the optimum and the methods -----------------------------------------------------------


def test_reference_optimum_is_numpys_weighted_polyfit() -> None:
    x, y, _ = weighted_data()
    w = np.random.default_rng(1).uniform(0.2, 3.0, x.size)
    r = gradfit.fit(x, y, degree=2, weights=w, steps=1, lr=1e-6, seed=0)
    expected = polyfit_w(x, y, w)
    np.testing.assert_allclose(r.optimum.coef, expected, rtol=1e-10, atol=1e-12)
    residual = P.polyval(x, expected) - y
    assert r.optimum.loss == pytest.approx(float(w @ residual**2), rel=1e-10)


@pytest.mark.parametrize(
    ("method", "backend"),
    [("manual", "numpy"), ("gram", "numpy"), ("autograd", "torch"), ("nn", "torch")],
)
def test_every_method_converges_to_the_weighted_polyfit(method: str, backend: str) -> None:
    x, y, _ = weighted_data()
    w = np.random.default_rng(2).uniform(0.2, 3.0, x.size)
    r = gradfit.fit(
        x, y, degree=2, weights=w, method=method, backend=backend, dtype="float64",
        lr="auto", steps=4000, seed=0, scale=True,
    )  # fmt: skip
    np.testing.assert_allclose(r.coef, polyfit_w(x, y, w), rtol=1e-7, atol=1e-9)
    assert r.final_loss == pytest.approx(r.optimum.loss, rel=1e-9)


def test_methods_take_the_same_weighted_steps() -> None:
    """manual, gram and autograd from the same start with the same rate: the same iterates."""
    x, y, _ = weighted_data(n=40)
    w = np.random.default_rng(3).uniform(0.0, 2.0, x.size)
    kwargs = dict(degree=2, weights=w, init=[0.1, -0.2, 0.3], lr=1e-3, steps=200, seed=0)
    manual = gradfit.fit(x, y, method="manual", **kwargs)
    gram = gradfit.fit(x, y, method="gram", **kwargs)
    autograd = gradfit.fit(x, y, method="autograd", backend="torch", dtype="float64", **kwargs)
    for other in (gram, autograd):
        np.testing.assert_allclose(other.params, manual.params, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(
            [v for _, v in other.loss_history], [v for _, v in manual.loss_history], rtol=1e-12
        )
    # The first step by hand: grad = 2 X^T W (X w0 - y).
    V = P.polyvander(x, 2)
    w0 = np.array([0.1, -0.2, 0.3])
    first = gradfit.fit(x, y, method="manual", **{**kwargs, "steps": 1})
    step = w0 - 1e-3 * 2.0 * V.T @ (w * (V @ w0 - y))
    np.testing.assert_allclose(first.params, step, rtol=1e-14)


def test_unit_weights_are_the_unweighted_run_bit_for_bit() -> None:
    x = np.linspace(-np.pi, np.pi, 2000)
    for backend, dtype in (("numpy", "float64"), ("torch", "float32")):
        kwargs = dict(init=[0.1, 0.2, 0.3, 0.4], lr=1e-6, steps=300, backend=backend, dtype=dtype)
        plain = gradfit.fit(x, np.sin(x), **kwargs)
        ones = gradfit.fit(x, np.sin(x), weights=np.ones_like(x), **kwargs)
        assert ones.loss_history == plain.loss_history
        assert np.array_equal(ones.params, plain.params)
        assert ones.optimum.loss == plain.optimum.loss
    big = np.linspace(-1, 1, 20000)  # --method auto: gram, its weighted statistics
    plain = gradfit.fit(big, big**3, steps=50, lr=1e-5, seed=1)
    ones = gradfit.fit(big, big**3, weights=np.ones_like(big), steps=50, lr=1e-5, seed=1)
    assert ones.method == plain.method == "gram"
    assert np.array_equal(ones.params, plain.params)
    assert ones.loss_history == plain.loss_history


def test_one_sigma_for_all_points_scales_the_loss() -> None:
    x, y, _ = weighted_data()
    kwargs = dict(degree=2, init=[0.0, 0.0, 0.0], lr="auto", steps=3000, scale=True, seed=0)
    plain = gradfit.fit(x, y, **kwargs)
    scaled = gradfit.fit(x, y, sigma=0.5, **kwargs)
    np.testing.assert_allclose(scaled.coef, plain.coef, rtol=1e-9, atol=1e-12)
    assert scaled.final_loss == pytest.approx(plain.final_loss / 0.25, rel=1e-9)
    assert scaled.statistics.chi2 == pytest.approx(plain.statistics.ssr / 0.25, rel=1e-9)


def test_lr_auto_takes_the_weighted_curvature() -> None:
    """Weights of 100 make the curvature 100 times larger: the rate 100 times smaller."""
    x, y, _ = weighted_data()
    kwargs = dict(degree=2, init=[0.0, 0.0, 0.0], lr="auto", steps=500, seed=0)
    plain = gradfit.fit(x, y, **kwargs)
    heavy = gradfit.fit(x, y, weights=np.full(x.size, 100.0), **kwargs)
    assert heavy.lr_auto["lr"] == pytest.approx(plain.lr_auto["lr"] / 100.0, rel=1e-3)
    w = np.random.default_rng(4).uniform(0.1, 10.0, x.size)
    uneven = gradfit.fit(x, y, weights=w, optimizer="momentum", **kwargs)
    V = P.polyvander(x, 2)
    lam = np.linalg.eigvalsh(2.0 * V.T @ (w[:, None] * V))
    root = np.sqrt(lam[-1]) + np.sqrt(lam[0])
    assert uneven.lr_auto["lr"] == pytest.approx(4.0 / root**2, rel=1e-9)  # Polyak's rate


def test_a_robust_loss_sees_the_weighted_residuals() -> None:
    """Weights of 4 scale every residual by 2: the fit of 2 y from 2 w0 at 4 times the rate,
    halved, step for step (powers of two: exact)."""
    x, y, _ = weighted_data(n=40)
    y = y + np.where(np.arange(x.size) % 7 == 0, 3.0, 0.0)  # outliers: huber's linear part
    w0 = np.array([0.1, 0.2, 0.3])
    kwargs = dict(degree=2, loss="huber", backend="numpy", steps=300, seed=0)
    weighted = gradfit.fit(x, y, weights=np.full(x.size, 4.0), init=w0, lr=1e-3, **kwargs)
    doubled = gradfit.fit(x, 2.0 * y, init=2.0 * w0, lr=4e-3, **kwargs)
    assert np.array_equal(2.0 * weighted.params, doubled.params)
    assert weighted.loss_history == doubled.loss_history


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_ridge_reference_is_weighted_ridge(backend: str) -> None:
    x, y, _ = weighted_data()
    t = (x - 0.5) / 1.5  # on [-1, 1]: no scaling, the trained parameters are the coefficients
    w = np.random.default_rng(7).uniform(0.2, 3.0, x.size)
    r = gradfit.fit(t, y, degree=2, weights=w, l2=0.5, lr="auto", steps=3000, seed=0,
                    backend=backend, dtype="float64")  # fmt: skip
    V = P.polyvander(t, 2)
    expected = np.linalg.solve(V.T @ (w[:, None] * V) + 0.5 * np.eye(3), V.T @ (w * y))
    np.testing.assert_allclose(r.optimum.coef, expected, rtol=1e-10)
    np.testing.assert_allclose(r.coef, expected, rtol=1e-8)
    residual = V @ expected - y
    assert r.optimum.loss == pytest.approx(w @ residual**2 + 0.5 * expected @ expected, rel=1e-10)


# --- statistics: scipy's curve_fit ------------------------------------------------------------


TIGHT = {"ftol": 1e-15, "xtol": 1e-15, "gtol": 1e-15}  # curve_fit to its optimum's last digits


def decay(x: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    return a * np.exp(-b * x) + c


def decay_data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    x = np.linspace(0.0, 4.0, 50)
    sigma = 0.02 + 0.05 * rng.uniform(size=x.size)
    return x, decay(x, 2.0, 1.3, 0.4) + sigma * rng.standard_normal(x.size), sigma


def test_sigma_with_lm_is_curve_fit_with_absolute_sigma() -> None:
    x, y, sigma = decay_data()
    p0 = [1.0, 1.0, 0.0]
    popt, pcov = curve_fit(decay, x, y, p0=p0, sigma=sigma, absolute_sigma=True, **TIGHT)
    r = gradfit.fit(
        x, y, model="a*exp(-b*x) + c", init={"a": 1.0, "b": 1.0, "c": 0.0}, sigma=sigma,
        optimizer="lm", steps=200,
    )  # fmt: skip
    np.testing.assert_allclose(r.params, popt, rtol=1e-7)
    np.testing.assert_allclose(r.statistics.covariance, pcov, rtol=1e-5)
    chi2 = float(np.sum(((y - decay(x, *popt)) / sigma) ** 2))
    assert r.statistics.chi2 == pytest.approx(chi2, rel=1e-9)
    assert r.statistics.reduced_chi2 == pytest.approx(chi2 / (x.size - 3), rel=1e-9)


def test_weights_give_curve_fits_relative_errors() -> None:
    x, y, sigma = decay_data()
    w = 1.0 / sigma**2 * 7.0  # relative: a common factor changes nothing
    popt, pcov = curve_fit(decay, x, y, p0=[1.0, 1.0, 0.0], sigma=1 / np.sqrt(w), **TIGHT)
    r = gradfit.fit(
        x, y, model="a*exp(-b*x) + c", init={"a": 1.0, "b": 1.0, "c": 0.0}, weights=w,
        optimizer="lm", steps=200,
    )  # fmt: skip
    np.testing.assert_allclose(r.params, popt, rtol=1e-7)
    np.testing.assert_allclose(r.statistics.covariance, pcov, rtol=1e-5)
    assert r.statistics.chi2 is None


@pytest.mark.parametrize("method", ["gram", "manual"])
def test_polynomial_errors_with_sigma_match_curve_fit(method: str) -> None:
    """From the weighted statistics (gram) and from the per-point pass (manual) alike."""
    x, y, sigma = weighted_data()
    popt, pcov = curve_fit(
        lambda t, *c: P.polyval(t, c), x, y, p0=[0, 0, 0], sigma=sigma, absolute_sigma=True
    )
    r = gradfit.fit(x, y, degree=2, sigma=sigma, method=method, lr="auto", steps=4000,
                    scale=True, seed=0)  # fmt: skip
    np.testing.assert_allclose(r.coef, popt, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(r.statistics.covariance, pcov, rtol=1e-6, atol=1e-12)
    wmean = np.sum(y / sigma**2) / np.sum(1 / sigma**2)
    tss = np.sum((y - wmean) ** 2 / sigma**2)
    assert r.statistics.r2 == pytest.approx(1 - r.statistics.chi2 / tss, rel=1e-9)


# --- mini-batches --------------------------------------------------------------------------


def test_weighted_mini_batch_steps_by_hand() -> None:
    x, y, _ = weighted_data(n=30)
    w = np.random.default_rng(6).uniform(0.1, 2.0, x.size)
    w0, lr, batch = np.array([0.2, -0.1]), 1e-2, 8
    r = gradfit.fit(x, y, degree=1, weights=w, init=w0, lr=lr, steps=7, batch_size=batch)
    V = P.polyvander(x, 1)
    c = w0.copy()
    start = 0
    for _ in range(7):  # batches in data order, the last of an epoch short
        rows = slice(start, min(start + batch, x.size))
        c = c - lr * 2.0 * V[rows].T @ (w[rows] * (V[rows] @ c - y[rows]))
        start = rows.stop % x.size
    np.testing.assert_allclose(r.params, c, rtol=1e-13)


# --- reading the column --------------------------------------------------------------------


def write_formats(folder: Path) -> dict[str, tuple[Path, list[str]]]:
    """The same x, y, sigma as CSV, .npy (3 columns), .npz and Parquet, with their options."""
    x, y, sigma = weighted_data(n=25)
    csv = folder / "d.csv"
    rows = np.column_stack([x, y, sigma]).tolist()
    csv.write_text("x,y,err\n" + "".join(f"{a!r},{b!r},{c!r}\n" for a, b, c in rows))
    npy = folder / "d.npy"
    np.save(npy, np.column_stack([x, y, sigma]))
    npz = folder / "d.npz"
    np.savez(npz, x=x, y=y, err=sigma)
    out = {
        "csv": (csv, ["--sigma", "err"]),
        "npy": (npy, ["--x", "0", "--y", "1", "--sigma", "2"]),
        "npz": (npz, ["--sigma", "err"]),
    }
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - an optional dependency
        return out
    pq.write_table(pa.table({"x": x, "y": y, "err": sigma}), folder / "d.parquet")
    out["parquet"] = (folder / "d.parquet", ["--sigma", "err"])
    return out


@pytest.mark.parametrize("fmt", ["csv", "npy", "npz", "parquet"])
def test_every_format_reads_the_sigma_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    files = write_formats(tmp_path)
    if fmt not in files:
        pytest.skip("pyarrow is not installed")
    path, options = files[fmt]
    x, y, sigma = weighted_data(n=25)
    kind = options[options.index("--sigma") + 1]
    data = load_data(path, *(("0", "1") if fmt == "npy" else (None, None)), sigma=kind)
    np.testing.assert_array_equal(data.weights, 1.0 / sigma**2)
    assert data.absolute and data.info()["sigma"] == (kind if fmt != "npy" else "2")
    code, out, err = cli(capsys, "fit", "--data", str(path), *options, "--degree", "2",
                         "--backend", "numpy", "--steps", "3000", "--json", "-")  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert doc["config"]["sigma_column"] == kind
    np.testing.assert_allclose(doc["coef"], polyfit_w(x, y, 1 / sigma**2), rtol=1e-6, atol=1e-8)
    assert doc["statistics"]["chi2"] == pytest.approx(doc["final_loss"], rel=1e-9)
    assert doc["statistics"]["reduced_chi2"] == pytest.approx(doc["final_loss"] / 22, rel=1e-9)


@pytest.mark.parametrize("suffix", [".csv", ".npy"])
def test_a_streamed_weighted_file_is_the_in_memory_fit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    """--method gram streams a weighted file (chunks of x, y, w): the same weighted statistics,
    fit and errors as the arrays in memory, and numpy's weighted polyfit."""
    rng = np.random.default_rng(8)
    x = rng.uniform(0.0, 10.0, 3000)
    sigma = 0.5 + 0.1 * x
    y = 1.0 + 2.0 * x - 0.1 * x**2 + sigma * rng.standard_normal(x.size)
    path = tmp_path / f"big{suffix}"
    if suffix == ".csv":
        np.savetxt(path, np.column_stack([x, y, sigma]), delimiter=",", header="x,y,err",
                   comments="")  # fmt: skip
        x, y, sigma = np.loadtxt(path, delimiter=",", skiprows=1).T  # as the file holds them
        options = ["--sigma", "err"]
    else:
        np.save(path, np.column_stack([x, y, sigma]))
        options = ["--x", "0", "--y", "1", "--sigma", "2"]
    code, out, err = cli(capsys, "fit", "--data", str(path), *options, "--degree", "2",
                         "--method", "gram", "--chunk-size", "700", "--backend", "numpy",
                         "--seed", "0", "--json", "-")  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert doc["data"]["streamed"] is True and doc["method"] == "gram"
    held = gradfit.fit(x, y, degree=2, sigma=sigma, method="gram", scale=True, lr="auto",
                       seed=0)  # fmt: skip
    np.testing.assert_allclose(doc["coef"], held.coef, rtol=1e-12)
    np.testing.assert_allclose(doc["coef"], polyfit_w(x, y, 1 / sigma**2), rtol=1e-9)
    assert doc["statistics"]["chi2"] == pytest.approx(held.statistics.chi2, rel=1e-12)
    np.testing.assert_allclose(
        list(doc["param_errors"].values()), held.statistics.standard_errors, rtol=1e-9
    )


def test_a_streamed_file_checks_the_column_chunk_by_chunk(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "s.csv"
    rows = [f"{i},{2 * i},{1 if i != 1500 else 0}" for i in range(3000)]
    path.write_text("x,y,e\n" + "\n".join(rows) + "\n")
    args = ["fit", "--data", str(path), "--degree", "1", "--method", "gram", "--chunk-size", "500"]
    code, _, err = cli(capsys, *args, "--sigma", "e")
    assert code == 2 and err.count("\n") == 1, err
    assert "line 1502, column 'e': sigma 0 is not > 0" in err, err
    code, _, err = cli(capsys, *args, "--weight", "e")  # zero weights are fine
    assert code == 0, err
    (tmp_path / "z.csv").write_text("x,y,e\n" + "\n".join(f"{i},{i},0" for i in range(9)) + "\n")
    code, _, err = cli(capsys, *args[:2], str(tmp_path / "z.csv"), *args[3:], "--weight", "e")
    assert code == 2 and "only 0 point(s) have a positive weight" in err, err


def test_text_output_shows_the_reduced_chi_square(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, options = write_formats(tmp_path)["csv"]
    code, out, _ = cli(capsys, "fit", "--data", str(path), *options, "--degree", "2")
    assert code == 0 and "chi^2/dof " in out
    code, out, _ = cli(capsys, "fit", "--data", str(path), "--weight", "err", "--degree", "2")
    assert code == 0 and "chi^2/dof" not in out and "R^2" in out


def test_a_row_with_a_missing_sigma_is_dropped_like_a_bad_y(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("x,y,s\n0,1,0.5\n1,2,nan\n2,2.5,1\n3,4,\n4,5,2\n")
    with pytest.raises(gradfit.UsageError, match=r"2 NaN or missing value\(s\) in 's'"):
        load_data(path, sigma="s")
    data = load_data(path, sigma="s", drop_nonfinite=True)
    assert data.dropped == 2 and data.x.tolist() == [0.0, 2.0, 4.0]
    np.testing.assert_array_equal(data.weights, [4.0, 1.0, 0.25])


BAD = [
    ("x,y,e\n0,1,1\n1,2,0\n2,3,1\n", ["--sigma", "e"], "line 3, column 'e': sigma 0 is not > 0"),
    ("x,y,e\n0,1,1\n1,2,1\n2,3,-2\n", ["--sigma", "e"], "line 4, column 'e': sigma -2 is not > 0"),
    ("x,y,e\n0,1,1\n1,2,abc\n2,3,1\n", ["--sigma", "e"], "line 3, column 'e': 'abc' is not a"),
    ("x,y,e\n0,1,1\n1,2,1\n2,3,1\n", ["--sigma", "f"], "has no column 'f' (--sigma)"),
    ("x,y,w\n0,1,1\n1,2,-1\n2,3,1\n", ["--weight", "w"], "line 3, column 'w': weight -1 is neg"),
    ("x,y,w\n0,1,1\n1,2,0\n2,3,0\n", ["--weight", "w"], "only 1 point(s) have a positive weight"),
    ("x,y,e\n0,1,1\n1,2,1\n2,3,1\n", ["--sigma", "y"], "--sigma 'y' is the y column"),
    ("x,y,e\n0,1,1\n1,2,1\n2,3,1\n", ["--sigma", "e", "--weight", "e"], "not both"),
]


@pytest.mark.parametrize(("text", "options", "says"), BAD)
def test_bad_columns_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, options: list, says: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    code, out, err = cli(capsys, "fit", "--data", str(path), *options, "--degree", "1")
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert err.startswith("gradfit: error: ") and says in err, err


def test_a_binary_file_names_the_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "d.npy"
    np.save(path, np.array([[0.0, 1.0, 1.0], [1.0, 2.0, 0.0], [2.0, 3.0, 1.0]]))
    code, _, err = cli(capsys, "fit", "--data", str(path), "--x", "0", "--y", "1",
                       "--sigma", "2", "--degree", "1")  # fmt: skip
    assert code == 2 and "row 1 (0-based), column '2': sigma 0 is not > 0" in err, err


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["fit", "--sigma", "e"], "--sigma and --weight choose columns of a --data file"),
        (["fit", "--weight", "2"], "give --data FILE"),
        (["explain", "--data", "d.csv", "--sigma", "e"], "unrecognized arguments: --sigma"),
    ],
)
def test_options_without_their_data_are_refused(
    capsys: pytest.CaptureFixture[str], args: list, says: str
) -> None:
    code, _, err = cli(capsys, *args)
    assert code == 2 and err.count("\n") == 1 and says in err, err


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"sigma": 0.0}, "sigma 0 is not > 0"),
        ({"sigma": [1.0, 2.0]}, "sigma must be a number or one value per point (5)"),
        ({"weights": [1.0, 1.0, np.nan, 1.0, 1.0]}, "weight[2] is nan"),
        ({"weights": [1.0, -1.0, 1.0, 1.0, 1.0]}, "index 1: weight -1 is negative"),
        ({"weights": np.ones(5), "sigma": 1.0}, "not both"),
    ],
)
def test_library_arrays_are_checked(kwargs: dict, says: str) -> None:
    x = np.arange(5.0)
    with pytest.raises(gradfit.UsageError) as info:
        gradfit.fit(x, 2 * x, degree=1, steps=1, **kwargs)
    assert says in str(info.value)


def test_compare_measures_against_the_weighted_optimum(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, options = write_formats(tmp_path)["csv"]
    code, out, err = cli(capsys, "compare", "--data", str(path), *options, "--degree", "2",
                         "--methods", "manual,gram", "--backends", "numpy", "--steps", "3000",
                         "--json", "-")  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    x, y, sigma = weighted_data(n=25)
    np.testing.assert_allclose(doc["optimum"]["coef"], polyfit_w(x, y, 1 / sigma**2), rtol=1e-9)
