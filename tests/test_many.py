"""Many curves at once: ``gradfit.fit(x, Y)`` with Y (N, K), ``--y a,b`` / ``--y 'glob*'``, and
the estimator's multi-output y. The oracle for every column is its own single fit from the same
start (and numpy.polyfit on the 2-D Y for converged fits)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_coef_close, cli

import gradfit
from gradfit.errors import DivergenceError, UsageError
from gradfit.many import ManyFitResult

X = np.linspace(-np.pi, np.pi, 400)
_RNG = np.random.default_rng(3)
# Four curves, none fitted exactly by a cubic (noise), on the article's x.
Y = np.column_stack(
    [np.sin(X), np.cos(X), 0.3 * X**2 - X, np.exp(-(X**2))]
) + 0.05 * _RNG.standard_normal((X.size, 4))
INIT = [0.1, -0.2, 0.3, -0.4]
RATES = {"sgd": 1e-5, "momentum": 1e-5, "adam": 1e-2}


def _losses(history: list[tuple[int, float]]) -> np.ndarray:
    return np.array([v for _, v in history])


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("method", ["gram", "manual"])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_each_column_is_its_own_single_fit(backend: str, method: str, optimizer: str) -> None:
    if backend == "torch":
        pytest.importorskip("torch")
    options = dict(
        init=INIT,
        lr=RATES[optimizer],
        steps=300,
        log_every=50,
        method=method,
        optimizer=optimizer,
        backend=backend,
        dtype="float64",
    )
    many = gradfit.fit(X, Y, **options)
    assert isinstance(many, ManyFitResult) and len(many) == 4
    assert many.coef.shape == (4, 4) and many.method == method
    total = np.zeros(len(many.loss_history))
    for k in range(4):
        single = gradfit.fit(X, Y[:, k], **options)
        column = many[k]
        assert column.method == single.method == method
        np.testing.assert_array_equal(column.init_params, single.init_params)
        assert_coef_close(column.coef, single.coef, 1e-12)
        assert_coef_close(many.coef[:, k], single.coef, 1e-12)
        # gram's losses are L* + d^T G d, with L* = y^T y - b^T w*: to rounding of y^T y
        expected = _losses(single.loss_history)
        tol = 1e-12 * float(Y[:, k] @ Y[:, k])
        np.testing.assert_allclose(_losses(column.loss_history), expected, 1e-12, tol)
        assert [t for t, _ in column.loss_history] == [t for t, _ in single.loss_history]
        assert column.final_loss == pytest.approx(single.final_loss, rel=1e-12, abs=tol)
        assert column.optimum.loss == pytest.approx(single.optimum.loss, rel=1e-12, abs=tol)
        assert_coef_close(column.optimum.coef, single.optimum.coef, 1e-9)
        np.testing.assert_allclose(
            column.statistics.standard_errors, single.statistics.standard_errors, rtol=1e-8
        )
        total += _losses(column.loss_history)
    # the loop logs the sum over the columns (what its guard watches)
    np.testing.assert_allclose(_losses(many.loss_history), total, rtol=1e-11)
    assert many.final_loss == pytest.approx(float(many.final_losses.sum()), rel=1e-12)


@pytest.mark.parametrize(("optimizer", "lr"), [("nesterov", 1e-5), ("rmsprop", 1e-3)])
def test_the_other_elementwise_optimizers(optimizer: str, lr: float) -> None:
    options = dict(init=INIT, lr=lr, steps=200, optimizer=optimizer, method="gram")
    many = gradfit.fit(X, Y, **options)
    for k in (0, 2):
        assert_coef_close(many[k].coef, gradfit.fit(X, Y[:, k], **options).coef, 1e-12)


def test_manual_numpy_columns_are_bit_for_bit_single_fits() -> None:
    """Each column's sums run over a contiguous row of its own: the single fit's arithmetic."""
    many = gradfit.fit(X, Y, init=INIT, lr=1e-5, steps=200, method="manual")
    for k in range(4):
        single = gradfit.fit(X, Y[:, k], init=INIT, lr=1e-5, steps=200, method="manual")
        assert many[k].loss_history == single.loss_history
        np.testing.assert_array_equal(many[k].params, single.params)


@pytest.mark.parametrize("basis", ["legendre", "chebyshev"])
@pytest.mark.parametrize("loss", ["squared", "mean"])
def test_bases_scaling_mean_loss_and_a_drawn_start(basis: str, loss: str) -> None:
    options = dict(degree=4, basis=basis, scale=True, lr="auto", optimizer="momentum")
    options |= dict(loss=loss, seed=7, steps=400)
    many = gradfit.fit(X, Y, method="gram", **options)
    for k in (0, 3):
        single = gradfit.fit(X, Y[:, k], method="gram", **options)
        assert single.seed == many.seed == 7
        np.testing.assert_array_equal(many[k].init_params, single.init_params)  # one draw
        assert single.config.lr == many.config.lr  # the momentum rule needs X only
        assert_coef_close(many[k].coef, single.coef, 1e-12)
        tol = 1e-12 * float(Y[:, k] @ Y[:, k]) * many.plan.loss.factor
        assert many[k].final_loss == pytest.approx(single.final_loss, rel=1e-12, abs=tol)
    assert many.domain is not None and many.scaled_coef.shape == (5, 4)


def test_weights_are_shared_by_every_column() -> None:
    w = np.random.default_rng(1).uniform(0.5, 2.0, X.size)
    for method in ("gram", "manual"):
        many = gradfit.fit(X, Y, init=INIT, lr=1e-5, steps=200, method=method, weights=w)
        for k in (1, 2):
            single = gradfit.fit(
                X, Y[:, k], init=INIT, lr=1e-5, steps=200, method=method, weights=w
            )
            assert_coef_close(many[k].coef, single.coef, 1e-12)
            tol = 1e-12 * float(w @ Y[:, k] ** 2)
            assert many[k].final_loss == pytest.approx(single.final_loss, rel=1e-12, abs=tol)
            assert many[k].optimum.loss == pytest.approx(single.optimum.loss, rel=1e-12, abs=tol)


def test_converged_fits_match_numpy_polyfit_on_the_2d_y() -> None:
    """numpy.polyfit fits every column of a 2-D y at once: the oracle for converged fits."""
    expected = np.polyfit(X, Y, 3)[::-1]  # (d, K), lowest power first
    many = gradfit.fit(X, Y, scale=True, lr="auto", optimizer="momentum", steps=3000, seed=0)
    assert "one rate" not in many.lr_auto.rule  # momentum's rule is X's alone
    assert_coef_close(many.coef, expected, 1e-8)
    for k in range(4):
        assert_coef_close(many[k].optimum.coef, expected[:, k], 1e-9)
        closed = gradfit.closed_form(X, Y[:, k], 3)
        assert many[k].optimum.loss == pytest.approx(closed.loss, rel=1e-9)
    new = np.linspace(-2, 2, 7)
    np.testing.assert_allclose(
        many.predict(new), np.polynomial.polynomial.polyval(new, expected).T, atol=1e-8
    )


def test_lr_auto_for_sgd_is_one_rate_from_x() -> None:
    many = gradfit.fit(X, Y, scale=True, lr="auto", seed=0, steps=50)
    assert "one rate for every column" in many.lr_auto.rule
    single = gradfit.fit(X, Y[:, 0], scale=True, lr=many.config.lr, seed=0, steps=50)
    assert_coef_close(many[0].coef, single.coef, 1e-12)


def test_auto_method_and_result_access() -> None:
    many = gradfit.fit(X, Y[:, :2], init=INIT, lr=1e-5, steps=10)
    assert many.method == "gram" and "several y columns" in many.method_auto
    assert many.columns == ["y0", "y1"]
    assert many["y1"] is many[1] is many[-1]
    with pytest.raises(KeyError):
        many["nope"]
    with pytest.raises(IndexError):
        many[2]
    assert [r.formula() for r in many] == many.formulas()
    doc = many.to_dict()
    assert doc["schema"] == "gradfit.many/1" and [c["column"] for c in doc["columns"]] == [
        "y0",
        "y1",
    ]
    assert doc["columns"][1]["coef"] == pytest.approx(many.coef[:, 1].tolist(), rel=1e-12)
    json.dumps(doc)
    # a single column stays one fit
    assert not isinstance(gradfit.fit(X, Y[:, :1], init=INIT, lr=1e-5, steps=10), ManyFitResult)


def test_float32_torch_auto_keeps_the_per_point_loop() -> None:
    torch = pytest.importorskip("torch")
    many = gradfit.fit(torch.tensor(X, dtype=torch.float32), torch.tensor(Y[:, :2]), lr=1e-5)
    assert many.method == "manual" and many[0].dtype == "float32"


@pytest.mark.parametrize("method", ["gram", "manual"])
def test_float32_runs_fit_the_values_the_run_sees(method: str) -> None:
    """A float32 run rounds y as a single fit does (gram then steps in float64)."""
    pytest.importorskip("torch")
    options = dict(backend="torch", method=method, init=INIT, lr=1e-5, steps=100)
    many = gradfit.fit(X, Y[:, :2], **options)
    single = gradfit.fit(X, Y[:, 1], **options)
    assert many[1].dtype == single.dtype == "float32"
    assert_coef_close(many[1].coef, single.coef, 1e-12 if method == "gram" else 0.0)


def test_divergence_is_reported_for_the_sum() -> None:
    with pytest.raises(DivergenceError, match="several y columns"):
        gradfit.fit(X, Y, init=INIT, lr=1.0, steps=100)


@pytest.mark.parametrize(
    ("options", "what"),
    [
        ({"model": "a*x + b"}, "--model"),
        ({"model": "legendre3"}, "--model legendre3"),
        ({"loss": "huber"}, "--loss huber"),
        ({"method": "autograd", "backend": "torch"}, "--method autograd"),
        ({"optimizer": "lbfgs", "backend": "torch"}, "--optimizer lbfgs"),
        ({"batch_size": 50}, "--batch-size"),
        ({"l2": 0.1}, "--l2/--l1"),
    ],
)
def test_unsupported_combinations_are_one_line(options: dict, what: str) -> None:
    with pytest.raises(UsageError, match="not supported with several y columns") as info:
        gradfit.fit(X, Y, steps=5, lr=1e-5, **options)
    assert what in str(info.value) and "\n" not in str(info.value)


def test_bad_y_matrices() -> None:
    bad = Y.copy()
    bad[5, 2] = np.nan
    with pytest.raises(UsageError, match=r"NaN or infinite value.*column 2"):
        gradfit.fit(X, bad, steps=5, lr=1e-5)
    with pytest.raises(UsageError, match="different lengths"):
        gradfit.fit(X, Y[:-1], steps=5, lr=1e-5)


# --- the command line ----------------------------------------------------------------------


@pytest.fixture
def sensors(tmp_path: Path) -> Path:
    t = np.linspace(0.0, 10.0, 60)
    rng = np.random.default_rng(0)
    cols = {
        "t": t,
        "sensor_a": 1 + 0.5 * t + rng.normal(0, 0.1, t.size),
        "sensor_b": 3 - 0.2 * t + 0.01 * t**2 + rng.normal(0, 0.1, t.size),
        "other": rng.normal(0, 1, t.size),
        "sensor_c": -1 + 0.1 * t + rng.normal(0, 0.1, t.size),
    }
    path = tmp_path / "sensors.csv"
    rows = [",".join(cols)] + [
        ",".join(repr(float(v[i])) for v in cols.values()) for i in range(t.size)
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _json_run(capsys, *args: str) -> dict:
    code, out, err = cli(capsys, "fit", *args, "--json", "-")
    assert code == 0, err
    return json.loads(out)


def test_cli_list_and_glob_give_each_columns_single_run(capsys, sensors: Path) -> None:
    common = ("--data", str(sensors), "--x", "t", "--degree", "2", "--backend", "numpy")
    common += ("--lr", "0.01", "--seed", "3", "--steps", "500")
    listed = _json_run(capsys, *common, "--y", "sensor_a,sensor_b")
    assert listed["schema"] == "gradfit.many/1"
    assert [c["column"] for c in listed["columns"]] == ["sensor_a", "sensor_b"]
    globbed = _json_run(capsys, *common, "--y", "sensor_*")
    assert [c["column"] for c in globbed["columns"]] == ["sensor_a", "sensor_b", "sensor_c"]
    for doc in globbed["columns"]:
        single = _json_run(capsys, *common, "--y", doc["column"], "--method", "gram")
        assert doc["data"]["y"] == single["data"]["y"] == doc["column"]
        assert doc["data"]["path"] == single["data"]["path"]
        assert_coef_close(doc["coef"], single["coef"], 1e-12)
        assert doc["final_loss"] == pytest.approx(single["final_loss"], rel=1e-12)
        assert doc["param_errors"]["c1"] == pytest.approx(single["param_errors"]["c1"], rel=1e-8)
    # text: one Result line per column, prefixed with its name
    code, out, err = cli(capsys, "fit", *common, "--y", "sensor_c,sensor_a", "--quiet")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert [line.split(": Result: y = ")[0] for line in lines] == ["sensor_c", "sensor_a"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--y", "nothing_*"), "no column matches 'nothing_*'"),
        (("--y", "sensor_a,nope"), "has no column 'nope'"),
        (("--y", "t,sensor_a"), "the x column"),
        (("--y", "sensor_*", "--save", "m.json"), "--save writes one fit"),
        (("--y", "sensor_*", "--model", "a*x+b"), "not supported with several y columns"),
    ],
)
def test_cli_errors(capsys, sensors: Path, args: tuple[str, ...], message: str) -> None:
    code, out, err = cli(capsys, "fit", "--data", str(sensors), "--x", "t", *args)
    assert code == 2 and out == ""
    assert err.startswith("gradfit: error: ") and message in err and err.count("\n") == 1


def test_cli_drops_rows_with_a_bad_value_in_any_column(capsys, tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("x,a,b\n0,1,2\n1,2,nan\n2,3,4\n3,4,5\n4,5,7\n", encoding="utf-8")
    code, _, err = cli(capsys, "fit", "--data", str(path), "--y", "a,b", "--degree", "1")
    assert code == 2 and "line 3, column 'b'" in err and "--drop-nonfinite" in err
    args = ("fit", "--data", str(path), "--y", "a,b", "--degree", "1", "--drop-nonfinite")
    code, out, err = cli(capsys, *args, "--quiet", "--backend", "numpy")
    assert code == 0 and "left out 1 row(s)" in err and out.count("Result:") == 2


# --- scikit-learn ----------------------------------------------------------------------------


def test_estimator_multi_output_equals_per_target_fits() -> None:
    pytest.importorskip("sklearn")
    from gradfit.sklearn import GDPolynomialRegressor

    x = X.reshape(-1, 1)
    model = GDPolynomialRegressor(degree=3, lr=1e-3, steps=300, random_state=0).fit(x, Y)
    assert isinstance(model.result_, ManyFitResult)
    assert model.predict(x).shape == Y.shape and model.coef_.shape == (4, 3)
    for k in range(4):
        one = GDPolynomialRegressor(degree=3, lr=1e-3, steps=300, random_state=0).fit(x, Y[:, k])
        np.testing.assert_allclose(model.predict(x)[:, k], one.predict(x), rtol=1e-11, atol=1e-11)
        assert model.intercept_[k] == pytest.approx(one.intercept_, rel=1e-11, abs=1e-12)
    column = GDPolynomialRegressor(degree=3, lr=1e-3, steps=50, random_state=0).fit(x, Y[:, :1])
    assert column.predict(x).shape == (X.size, 1)
    assert model.__sklearn_tags__().target_tags.multi_output


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov"])
def test_many_gram_jumps_equal_its_own_stepping(optimizer: str, monkeypatch) -> None:
    """The (d, K) block jumps between logged steps (one matrix power for every column); the
    same run stepped one step at a time gives the same coefficients and losses."""
    from gradfit.methods.many import ManyGram

    options = dict(init=INIT, lr=1e-5, steps=5003, log_every=1000, optimizer=optimizer)
    jumped = gradfit.fit(X, Y, method="gram", **options)
    monkeypatch.setattr(ManyGram, "exact_jumps", property(lambda self: False))
    stepped = gradfit.fit(X, Y, method="gram", **options)
    assert_coef_close(jumped.coef, stepped.coef, 1e-12)
    np.testing.assert_allclose(jumped.final_losses, stepped.final_losses, rtol=1e-11)
    np.testing.assert_allclose(
        _losses(jumped.loss_history), _losses(stepped.loss_history), rtol=1e-11
    )


def test_the_window_map_is_the_domains_own_conversion() -> None:
    """ManyFitResult's coefficients in x come from one (d, d) matrix (binomial expansion of
    t = off + scl x); each column equals Domain.to_x, numpy.polynomial's conversion."""
    from gradfit.data.scaling import Domain
    from gradfit.many import _window_to_x

    domain = Domain(-3.0, 7.5)
    rng = np.random.default_rng(2)
    coef_t = rng.standard_normal((6, 5))
    M = _window_to_x(domain, 6)
    for k in range(5):
        np.testing.assert_allclose(M @ coef_t[:, k], domain.to_x(coef_t[:, k]), rtol=1e-12)
