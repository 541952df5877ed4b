"""The gram method: the same iterates as manual from one pass of sufficient statistics, and
--method auto's choice."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import losses, rel_err, run_cli

import gradfit
from gradfit.config import FitConfig
from gradfit.errors import UsageError
from gradfit.models import make_model
from gradfit.stats import accumulate, array_chunks, statistics

X = np.linspace(-math.pi, math.pi, 2000)
Y = np.sin(X)


def _pair(method_kw: dict, **kw: object) -> tuple:
    manual = gradfit.fit(X, Y, method="manual", **kw)
    gram = gradfit.fit(X, Y, method="gram", **kw)
    return manual, gram


@pytest.mark.parametrize(
    ("degree", "basis", "optimizer", "lr"),
    [
        (3, "monomial", "sgd", 1e-6),  # the article's run, float64
        (1, "monomial", "momentum", 1e-5),
        (5, "monomial", "sgd", 1e-9),
        (3, "legendre", "adam", 1e-2),
        (6, "chebyshev", "momentum", "auto"),
        (4, "legendre", "sgd", "auto"),
        (0, "monomial", "adam", 1e-1),
    ],
)
def test_gram_gives_manuals_iterates(degree: int, basis: str, optimizer: str, lr: object) -> None:
    # auto rates on x mapped to [-1, 1]: well conditioned, as gradfit fits data files
    kw = dict(degree=degree, basis=basis, optimizer=optimizer, lr=lr, steps=1500, seed=3)
    kw["scale"] = lr == "auto"
    manual, gram = _pair({}, **kw)
    assert manual.method == "manual" and gram.method == "gram"
    assert [t for t, _ in gram.loss_history] == [t for t, _ in manual.loss_history]
    assert rel_err(losses(gram), losses(manual)) < 1e-9
    assert rel_err([gram.final_loss], [manual.final_loss]) < 1e-9
    np.testing.assert_allclose(gram.params, manual.params, rtol=1e-9, atol=1e-12)


def test_gram_on_torch_matches_numpy() -> None:
    pytest.importorskip("torch")
    kw = dict(degree=3, lr=1e-6, steps=500, seed=1, method="gram")
    a = gradfit.fit(X, Y, backend="numpy", **kw)
    b = gradfit.fit(X, Y, backend="torch", dtype="float64", **kw)
    assert b.method == "gram"
    assert rel_err(losses(a), losses(b)) < 1e-12


def test_gram_loss_is_accurate_near_the_optimum() -> None:
    """A nearly exact fit: the expanded w^T G w - 2 w^T b + y^T y would lose every digit; the
    loss as L* + (w - w*)^T G (w - w*) agrees with the sum of squared residuals to 1e-9."""
    rng = np.random.default_rng(0)
    x = np.linspace(-1, 1, 5000)
    y = 3 + 2 * x - x**3 + 1e-6 * rng.standard_normal(x.size)
    model = make_model("poly", 3, "monomial")
    stats = statistics(model, x, y)
    w_star, best = stats.optimum
    V = np.polynomial.polynomial.polyvander(x, 3)
    for offset in (0.0, 1e-9, 1e-7, 1e-4):
        w = w_star + offset
        residual = V @ w - y
        exact = float(residual @ residual)
        assert abs(stats.loss(w) - exact) <= 1e-9 * exact
    naive = float(w_star @ stats.gram @ w_star - 2 * w_star @ stats.xty + stats.yty)
    assert abs(naive - best) > 1e-6 * best  # the cancellation this avoids


@pytest.mark.parametrize("size", [1, 7, 99, 100, 1000])
@pytest.mark.parametrize("basis", ["monomial", "legendre", "chebyshev"])
def test_chunked_statistics_equal_in_memory(size: int, basis: str) -> None:
    """Chunk sizes 1, 7, N-1, N and 10N (N = 100) give the in-memory statistics."""
    rng = np.random.default_rng(5)
    x, y = rng.uniform(-1, 1, 100), rng.standard_normal(100)
    V = gradfit.stats.VANDER[basis](x, 4)
    stats = accumulate(array_chunks(x, y, size), basis, 4)
    np.testing.assert_allclose(stats.gram, V.T @ V, rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(stats.xty, V.T @ y, rtol=1e-13, atol=1e-12)
    assert stats.yty == pytest.approx(float(y @ y), rel=1e-14)
    assert stats.n == 100


def test_auto_keeps_the_article_and_picks_gram_at_scale() -> None:
    small = gradfit.fit(X, Y, lr=1e-6, steps=10, seed=1)
    assert small.method == "manual" and "fewer than" in small.method_auto
    x = np.linspace(-1, 1, 20000)
    big = gradfit.fit(x, np.sin(x), lr=1e-5, steps=10, seed=1)
    assert big.method == "gram" and big.to_dict()["method_auto"]
    f32 = gradfit.fit(x.astype(np.float32), np.sin(x), dtype="float32", lr=1e-5, steps=10, seed=1)
    assert f32.method == "manual"
    dyn = gradfit.fit(x, np.sin(x), model="dynamic", steps=10, seed=1)
    assert dyn.method == "manual"


def test_cli_says_which_method_ran(capsys) -> None:
    proc = run_cli(
        capsys,
        "fit",
        "--backend",
        "numpy",
        "--points",
        "20000",
        "--steps",
        "200",
        "--lr",
        "auto",
        "--seed",
        "2",
    )
    assert proc.returncode == 0, proc.stderr
    assert "method auto: gram" in proc.stdout


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"method": "gram", "model": "dynamic"}, "linear in its parameters"),
        ({"method": "gram", "optimizer": "lbfgs", "backend": "torch"}, "own optimizers"),
        ({"method": "gram", "batch_size": 10}, "full batch"),
        ({"chunk_size": 0}, "--chunk-size"),
    ],
)
def test_bad_gram_options_are_usage_errors(options: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        FitConfig(**{"backend": "numpy", **options}).validated()


def test_cli_gram_with_lbfgs_exits_2(capsys) -> None:
    proc = run_cli(capsys, "fit", "--method", "gram", "--optimizer", "lbfgs")
    assert proc.returncode == 2
    assert proc.stderr.startswith("gradfit: error:") and len(proc.stderr.splitlines()) == 1
