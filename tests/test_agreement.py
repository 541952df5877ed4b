"""One loop, two backends: NumPy and PyTorch from the same start give the same trajectory.

(float64 on both, every method, degrees 1 to 5: tests/test_methods.py.)"""

from __future__ import annotations

import math

import numpy as np
import torch
from conftest import assert_coef_close, losses, rel_err

import gradfit

INIT = [0.3, -0.7, 0.1, 0.05]


def article_data() -> tuple[np.ndarray, np.ndarray]:
    x = np.linspace(-math.pi, math.pi, 2000)
    return x, np.sin(x)


def test_torch_float32_agrees_with_numpy_float64_to_float32_precision() -> None:
    x, y = article_data()
    a = gradfit.fit(x, y, backend="numpy", init=INIT, reference=False)
    b = gradfit.fit(
        torch.as_tensor(x, dtype=torch.float32),
        torch.as_tensor(y, dtype=torch.float32),
        init=INIT,
        reference=False,
    )
    assert b.dtype == "float32"
    assert rel_err(losses(a), losses(b)) < 1e-4
    assert_coef_close(a.coef, b.coef, 1e-4)
    # ... and float32 is really in use: the two differ at the float32 rounding level.
    assert rel_err(losses(a), losses(b)) > 1e-9


def test_same_seed_gives_same_initial_coefficients_on_every_backend() -> None:
    config = gradfit.FitConfig(seed=1234, steps=1)
    on_torch32 = gradfit.run(config, reference=False)
    on_numpy = gradfit.run(gradfit.FitConfig(seed=1234, steps=1, backend="numpy"), reference=False)
    expected = np.random.default_rng(1234).standard_normal(4)
    np.testing.assert_array_equal(on_numpy.init_coef, expected)
    np.testing.assert_allclose(on_torch32.init_coef, expected, rtol=1e-7)  # float32-rounded
    assert on_numpy.seed == on_torch32.seed == 1234


def test_without_seed_a_seed_is_drawn_reported_and_replays_the_run() -> None:
    first = gradfit.run(gradfit.FitConfig(backend="numpy", steps=300), reference=False)
    again = gradfit.run(
        gradfit.FitConfig(backend="numpy", steps=300, seed=first.seed), reference=False
    )
    assert isinstance(first.seed, int)
    np.testing.assert_array_equal(first.init_coef, again.init_coef)
    assert first.loss_history == again.loss_history
