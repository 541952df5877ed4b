"""model=f: a Python function on torch tensors, fitted by autograd and by lm, against the same
model written as a formula."""

from __future__ import annotations

import numpy as np
import pytest

import gradfit
from gradfit.errors import UsageError

torch = pytest.importorskip("torch")

X = torch.linspace(0, 3, 120, dtype=torch.float64)
Y = 2 * torch.exp(-1.3 * X) + 0.5 + 0.01 * torch.sin(40 * X)


def decay(x, p):
    return p[0] * torch.exp(-p[1] * x) + p[2]


@pytest.mark.parametrize("optimizer, extra", [("lm", {}), ("sgd", {"lr": 1e-3, "steps": 500})])
def test_a_function_fits_as_its_formula_does(optimizer: str, extra: dict) -> None:
    start = {"a": 1.0, "b": 1.0, "c": 0.0}
    kw = {"optimizer": optimizer, "steps": 200, **extra}
    f = gradfit.fit(X, Y, model=decay, init=start, **kw)
    g = gradfit.fit(X, Y, model="a*exp(-b*x) + c", init=start, method="autograd", **kw)
    assert f.method == "autograd" and list(f.model.param_names) == ["a", "b", "c"]
    np.testing.assert_allclose(f.params, g.params, rtol=1e-10)
    np.testing.assert_allclose(f.predict([0.0, 1.5]), g.predict([0.0, 1.5]), rtol=1e-12)
    if optimizer == "lm":
        assert f.stop_reason.startswith("converged")
        np.testing.assert_allclose(
            f.statistics.standard_errors, g.statistics.standard_errors, rtol=1e-6
        )


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({}, "needs init="),
        ({"init": [1, 1, 0], "backend": "numpy"}, "runs on torch tensors"),
        ({"init": [1, 1, 0], "method": "manual"}, "has no hand-derived gradient"),
    ],
)
def test_refused_in_one_line(kwargs: dict, words: str) -> None:
    with pytest.raises(UsageError, match=words):
        gradfit.fit(X, Y, model=decay, steps=5, **kwargs)


def test_a_function_is_not_saved(tmp_path) -> None:
    r = gradfit.fit(X, Y, model=decay, init=[1.0, 1.0, 0.0], optimizer="lm")
    with pytest.raises(UsageError, match="cannot be saved"):
        r.save(tmp_path / "m.json")
    assert not (tmp_path / "m.json").exists()
    assert r.to_dict()["config"]["model"] == "python function decay"
