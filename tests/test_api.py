"""The library surface: gradfit.fit on user arrays, FitResult, and what the loop syncs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import gradfit
from gradfit.backends import resolve_backend
from gradfit.data import make_problem
from gradfit.methods import make_method
from gradfit.models import Polynomial
from gradfit.optim import OptimizerSpec
from gradfit.training.loop import train


def test_fit_result_api() -> None:
    x = np.linspace(-1, 1, 50)
    y = 0.5 - x + 2 * x**2
    r = gradfit.fit(x, y, degree=2, lr=0.005, steps=3000, log_every=500, seed=0)
    assert r.coef.shape == (3,) and r.coef.dtype == np.float64
    assert r.optimum is not None
    np.testing.assert_allclose(r.coef, [0.5, -1.0, 2.0], atol=1e-6)
    np.testing.assert_allclose(r.predict([0.0, 1.0, 3.0]), [0.5, 1.5, 15.5], rtol=1e-5)
    poly = r.to_polynomial()
    assert isinstance(poly, np.polynomial.Polynomial)
    np.testing.assert_allclose(poly(x), r.predict(x))
    assert r.final_loss == pytest.approx(float(np.sum((r.predict(x) - y) ** 2)), rel=1e-9)
    assert [t for t, _ in r.loss_history] == list(range(499, 3000, 500))
    doc = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert doc["coef"] == r.coef.tolist()
    assert doc["config"]["target"] is None and doc["problem"]["points"] == 50


def test_backend_follows_the_data() -> None:
    x = np.linspace(-1, 1, 30)
    on_numpy = gradfit.fit(x, x**2, degree=2, steps=1, reference=False)
    assert (on_numpy.config.backend, on_numpy.dtype) == ("numpy", "float64")
    xt = torch.linspace(-1, 1, 30, dtype=torch.float64)
    on_torch = gradfit.fit(xt, xt**2, degree=2, steps=1, reference=False)
    assert (on_torch.config.backend, on_torch.dtype, on_torch.device) == ("torch", "float64", "cpu")
    # lists and a (N, 1) column are accepted as well
    col = gradfit.fit(x.reshape(-1, 1), list(x**2), degree=2, steps=1, reference=False)
    assert col.n_points == 30


def test_fit_does_not_modify_the_callers_arrays() -> None:
    x = np.linspace(-1, 1, 30)
    y = np.cos(x)
    init = np.array([0.1, 0.2, 0.3])
    before = (x.copy(), y.copy(), init.copy())
    gradfit.fit(x, y, degree=2, init=init, lr=0.01, steps=50, reference=False)
    for a, b in zip((x, y, init), before, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("x", "y", "kwargs", "message"),
    [
        ([1.0, 2.0, 3.0], [1.0, 2.0], {"degree": 1}, "different lengths"),
        ([1.0, 2.0], [1.0, 2.0], {"degree": 3}, "cannot determine 4 coefficients"),
        ([1.0, math.nan, 3.0], [1.0, 2.0, 3.0], {"degree": 1}, "1 NaN or infinite"),
        (np.ones((3, 2)), [1.0, 2.0, 3.0], {"degree": 1}, "one-dimensional"),
        ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], {"degree": 1, "lr": -1}, "--lr"),
        ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], {"degree": 1, "init": [1, 2, 3]}, "--init has 3"),
    ],
)
def test_bad_arrays_raise_usage_error(x, y, kwargs, message: str) -> None:
    with pytest.raises(gradfit.UsageError, match=message):
        gradfit.fit(x, y, **kwargs)


@pytest.mark.parametrize(
    ("method", "optimizer"),
    [
        ("manual", "sgd"),
        ("manual", "adam"),
        ("autograd", "momentum"),
        ("nn", "rmsprop"),
        ("module", "sgd"),
    ],
)
def test_the_loop_reads_back_only_on_logged_steps(
    monkeypatch: pytest.MonkeyPatch, method: str, optimizer: str
) -> None:
    """Device-to-host reads (a sync on a GPU) happen on logged steps only, never in between."""
    be = resolve_backend("torch", "cpu", "float32")
    problem = make_problem(be)
    spec = OptimizerSpec(optimizer, 1e-6)
    m = make_method(method, Polynomial(3), problem, be, spec, np.array([0.1, 0.2, 0.3, 0.4]))
    reads: list[str] = []
    for name in ("__float__", "__bool__", "__int__", "item", "tolist", "numpy", "cpu"):
        original = getattr(torch.Tensor, name)

        def counting(self, *a, _name=name, _original=original, **k):
            reads.append(_name)
            return _original(self, *a, **k)

        monkeypatch.setattr(torch.Tensor, name, counting)
    outcome = train(m, be, steps=200, log_every=50, bound=1e30)  # divergence guard on
    assert [t for t, _ in outcome.history] == [49, 99, 149, 199]
    assert reads == ["__float__"] * 5  # the 4 logged losses and the final one


def test_every_module_of_the_package_imports() -> None:
    """The doctest run skips a module it cannot import (--doctest-ignore-import-errors, for
    gradfit.sklearn without scikit-learn); here any other failing import is an error."""
    import importlib
    import importlib.util
    import pkgutil

    names = [m.name for m in pkgutil.walk_packages(gradfit.__path__, "gradfit.")]
    assert {"gradfit.api", "gradfit.cli.fit", "gradfit.distributed.launcher"} <= set(names)
    left_out = {"gradfit.__main__"}  # runs the command line
    if importlib.util.find_spec("sklearn") is None:
        left_out.add("gradfit.sklearn")
    for name in names:
        if name not in left_out:
            importlib.import_module(name)
