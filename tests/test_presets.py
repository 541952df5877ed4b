"""Each preset against its source program, written here from the published settings.

The sources are the article's script and the rungs of PyTorch's "Learning PyTorch with
Examples" (same sin(x) problem, float32, CPU). Each reference below is a plain program with the
tutorial's model, loss, update and hyper-parameters; it starts from the preset's initial
parameters, and its last printed loss must be within 1% of the preset's.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch
from conftest import run_cli

import gradfit
from gradfit.presets import PRESETS, preset_config


def data() -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.linspace(-math.pi, math.pi, 2000, dtype=torch.float)
    return x, torch.sin(x)


def ref_article_torch(init: np.ndarray, steps: int) -> float:
    x, y = data()
    a, b, c, d = (torch.tensor(v, dtype=torch.float) for v in init)
    for _ in range(steps):
        y_pred = a + b * x + c * x**2 + d * x**3
        loss = (y_pred - y).pow(2).sum().item()
        g = 2.0 * (y_pred - y)
        a, b, c, d = (
            a - 1e-6 * g.sum(),
            b - 1e-6 * (g * x).sum(),
            c - 1e-6 * (g * x**2).sum(),
            d - 1e-6 * (g * x**3).sum(),
        )
    return loss


def ref_article_numpy(init: np.ndarray, steps: int) -> float:
    x = np.linspace(-math.pi, math.pi, 2000)
    y = np.sin(x)
    a, b, c, d = init
    for _ in range(steps):
        y_pred = a + b * x + c * x**2 + d * x**3
        loss = np.square(y_pred - y).sum()
        g = 2.0 * (y_pred - y)
        a, b, c, d = (
            a - 1e-6 * g.sum(),
            b - 1e-6 * (g * x).sum(),
            c - 1e-6 * (g * x**2).sum(),
            d - 1e-6 * (g * x**3).sum(),
        )
    return float(loss)


def ref_autograd(init: np.ndarray, steps: int) -> float:
    x, y = data()
    params = [torch.tensor(v, dtype=torch.float, requires_grad=True) for v in init]
    a, b, c, d = params
    for _ in range(steps):
        loss = (a + b * x + c * x**2 + d * x**3 - y).pow(2).sum()
        last = loss.item()
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= 1e-6 * p.grad
                p.grad = None
    return last


class P3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z):
        ctx.save_for_backward(z)
        return 0.5 * (5 * z**3 - 3 * z)

    @staticmethod
    def backward(ctx, grad_output):
        (z,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * z**2 - 1)


def ref_custom_function(init: np.ndarray, steps: int) -> float:
    x, y = data()
    params = [torch.full((), v, dtype=torch.float, requires_grad=True) for v in init]
    a, b, c, d = params
    for _ in range(steps):
        loss = (a + b * P3.apply(c + d * x) - y).pow(2).sum()
        last = loss.item()
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= 5e-6 * p.grad
                p.grad = None
    return last


def _linear_model(init: np.ndarray) -> tuple[torch.nn.Module, torch.Tensor]:
    x, _ = data()
    xx = x.unsqueeze(-1).pow(torch.tensor([1, 2, 3]))
    model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
    with torch.no_grad():
        model[0].bias.fill_(float(init[0]))
        model[0].weight.copy_(torch.tensor(np.asarray(init[1:]).reshape(1, -1), dtype=torch.float))
    return model, xx


def ref_nn(init: np.ndarray, steps: int) -> float:
    _, y = data()
    model, xx = _linear_model(init)
    loss_fn = torch.nn.MSELoss(reduction="sum")
    for _ in range(steps):
        loss = loss_fn(model(xx), y)
        last = loss.item()
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= 1e-6 * p.grad
    return last


def ref_optim(init: np.ndarray, steps: int) -> float:
    _, y = data()
    model, xx = _linear_model(init)
    loss_fn = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    for _ in range(steps):
        loss = loss_fn(model(xx), y)
        last = loss.item()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return last


class Polynomial3(torch.nn.Module):
    def __init__(self, init):
        super().__init__()
        self.a, self.b, self.c, self.d = (torch.nn.Parameter(torch.tensor(float(v))) for v in init)

    def forward(self, x):
        return self.a + self.b * x + self.c * x**2 + self.d * x**3


class DynamicNet(torch.nn.Module):
    def __init__(self, init):
        super().__init__()
        self.a, self.b, self.c, self.d, self.e = (
            torch.nn.Parameter(torch.tensor(float(v))) for v in init
        )

    def forward(self, x):
        y = self.a + self.b * x + self.c * x**2 + self.d * x**3
        for exp in range(4, random.randint(4, 6)):
            y = y + self.e * x**exp
        return y


def _train_module(model, steps, optimizer) -> float:
    x, y = data()
    criterion = torch.nn.MSELoss(reduction="sum")
    for _ in range(steps):
        loss = criterion(model(x), y)
        last = loss.item()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return last


def ref_module(init: np.ndarray, steps: int) -> float:
    model = Polynomial3(init)
    return _train_module(model, steps, torch.optim.SGD(model.parameters(), lr=1e-6))


def ref_dynamic(init: np.ndarray, steps: int, seed: int) -> float:
    random.seed(seed)
    model = DynamicNet(init)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-8, momentum=0.9)
    return _train_module(model, steps, optimizer)


REFERENCES = {
    "article-torch": ref_article_torch,
    "article-numpy": ref_article_numpy,
    "autograd": ref_autograd,
    "custom-function": ref_custom_function,
    "nn": ref_nn,
    "optim": ref_optim,
    "module": ref_module,
    "dynamic": ref_dynamic,
}


def test_every_preset_has_a_reference() -> None:
    assert set(REFERENCES) == set(PRESETS)


# The tutorial's step counts; the comparison runs fewer steps of the same program (the same
# updates from the same start: agreeing on the first steps shows the same as on all of them).
PUBLISHED_STEPS = {name: 30000 if name == "dynamic" else 2000 for name in PRESETS}
STEPS = {name: 4000 if name == "dynamic" else 500 for name in PRESETS}


@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_matches_its_source_program(name: str) -> None:
    assert preset_config(name).steps == PUBLISHED_STEPS[name]
    steps = STEPS[name]
    result = gradfit.run(preset_config(name, seed=2024, steps=steps), reference=False)
    init = result.init_params
    seeded = name == "dynamic"  # the dynamic net's random orders come from the seed too
    expected = ref_dynamic(init, steps, result.seed) if seeded else REFERENCES[name](init, steps)
    assert result.loss_history[-1][0] == steps - 1  # the loss before the last update
    ours = result.loss_history[-1][1]
    assert ours == pytest.approx(expected, rel=0.01)
    if name == "custom-function":
        assert result.config.init is None  # the tutorial's start, rounded to float32:
        np.testing.assert_array_equal(init, np.float32([0.0, -1.0, 0.0, 0.3]))


def test_options_after_a_preset_override_it(capsys) -> None:
    from gradfit.cli import main

    assert main(["fit", "--preset", "optim", "--steps", "300", "--lr", "1e-2", "--json"]) == 0
    import json

    doc = json.loads(capsys.readouterr().out)
    assert doc["method"] == "nn" and doc["optimizer"]["name"] == "rmsprop"
    assert doc["config"]["steps"] == 300 and doc["optimizer"]["lr"] == 1e-2


def test_presets_command_lists_every_preset(capsys) -> None:
    proc = run_cli(capsys, "presets")
    assert proc.returncode == 0
    listed = [line.split()[0] for line in proc.stdout.splitlines() if not line.startswith(" ")]
    assert listed == list(PRESETS)


def test_unknown_preset_is_a_one_line_error(capsys) -> None:
    proc = run_cli(capsys, "fit", "--preset", "nope")
    assert proc.returncode == 2
    assert (
        proc.stderr == "gradfit: error: unknown preset 'nope'; run 'gradfit presets' to list them\n"
    )
