"""gradfit's optimizers follow torch.optim's formulas: the same run, step for step."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import assert_coef_close, losses, rel_err

import gradfit
from gradfit.optim import OptimizerSpec, make_array_optimizer, make_torch_optimizer

CASES = [
    ("sgd", 1e-6, {}),
    ("momentum", 1e-7, {}),
    ("momentum", 1e-7, {"momentum": 0.5}),
    ("nesterov", 1e-7, {}),
    ("rmsprop", 1e-3, {}),
    ("rmsprop", 1e-3, {"momentum": 0.5, "alpha": 0.9}),
    ("adam", 1e-2, {}),
    ("adam", 1e-2, {"betas": (0.8, 0.99), "eps": 1e-6}),
]


@pytest.mark.parametrize(("name", "lr", "options"), CASES)
def test_numpy_optimizer_matches_its_torch_optim_twin(name: str, lr: float, options: dict) -> None:
    """numpy + gradfit.optim against torch float64 + torch.optim (autograd), every step."""
    common = dict(optimizer=name, lr=lr, steps=300, log_every=1, seed=3, **options)
    ours = gradfit.run(
        gradfit.FitConfig(backend="numpy", method="manual", **common), reference=False
    )
    twin = gradfit.run(
        gradfit.FitConfig(backend="torch", dtype="float64", method="autograd", **common),
        reference=False,
    )
    a = losses(ours)
    b = losses(twin)
    assert len(a) == 300
    assert rel_err(a, b) < 1e-9
    assert_coef_close(ours.coef, twin.coef, 1e-9)
    assert a[-1] < a[0]  # it optimised


@pytest.mark.parametrize(("name", "lr", "options"), CASES)
def test_array_optimizer_on_random_gradients_matches_torch_optim(
    name: str, lr: float, options: dict
) -> None:
    """The update rule alone, on an arbitrary gradient sequence (no model involved)."""
    spec = OptimizerSpec(name, lr, **options).validated()
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal(6)
    ours = w0.copy()
    opt = make_array_optimizer(spec)
    state = opt.init(ours)
    theirs = torch.tensor(w0, requires_grad=True)
    torch_opt = make_torch_optimizer(spec, [theirs])
    for _ in range(50):
        g = rng.standard_normal(6) * 100
        ours, state = opt.update(g, state, ours)
        theirs.grad = torch.tensor(g)
        torch_opt.step()
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-12, atol=1e-15)
    assert not np.allclose(ours, w0)


def test_hyperparameters_are_validated() -> None:
    for bad in [dict(momentum=1.5), dict(betas=(1.0, 0.9)), dict(eps=0.0), dict(alpha=1.0)]:
        with pytest.raises(gradfit.UsageError):
            OptimizerSpec("adam", 1e-3, **bad).validated()
    with pytest.raises(gradfit.UsageError, match="unknown optimizer"):
        OptimizerSpec("adagrad").validated()


def test_tutorial_sgd_is_torch_optim_sgd() -> None:
    """Plain SGD on the torch methods is the tutorial's hand-written update; it must move the
    parameters exactly as torch.optim.SGD does."""
    from gradfit.optim import TutorialSGD

    rng = np.random.default_rng(1)
    ours = torch.tensor(rng.standard_normal(5), requires_grad=True)
    theirs = ours.detach().clone().requires_grad_(True)
    fast, reference = TutorialSGD([ours], 1e-3), torch.optim.SGD([theirs], lr=1e-3)
    for _ in range(100):
        g = torch.tensor(rng.standard_normal(5))
        fast.zero_grad()
        reference.zero_grad()
        ours.grad, theirs.grad = g.clone(), g.clone()
        fast.step()
        reference.step()
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-15)
    assert isinstance(make_torch_optimizer(OptimizerSpec("sgd", 1e-3), [ours]), TutorialSGD)
    assert isinstance(
        make_torch_optimizer(OptimizerSpec("momentum", 1e-3), [ours]), torch.optim.SGD
    )


@pytest.mark.parametrize(("name", "lr", "options"), CASES)
@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_update_is_pure_and_its_state_holds_only_arrays_and_ints(
    name: str, lr: float, options: dict, kind: str
) -> None:
    """``update`` changes none of its inputs, and returns a record of the kind ``init`` made:
    arrays and ints, no array module (what a checkpoint stores and a snapshot shares)."""
    spec = OptimizerSpec(name, lr, **options).validated()
    opt = make_array_optimizer(spec)
    as_array = np.asarray if kind == "numpy" else torch.tensor

    def host(a: object) -> np.ndarray:  # a copy of the values, whichever the array type
        return a.numpy().copy() if isinstance(a, torch.Tensor) else np.array(a)

    rng = np.random.default_rng(2)
    w = as_array(rng.standard_normal(4))
    state = opt.init(w)
    for _ in range(3):
        g = as_array(rng.standard_normal(4))
        inputs = [w, g, *(v for v in state if hasattr(v, "shape"))]
        before = [host(a) for a in inputs]
        new_w, new_state = opt.update(g, state, w)
        for a, b in zip(inputs, before, strict=True):
            assert np.array_equal(host(a), b)  # nothing changed in place
        assert type(new_state) is type(state) and new_state._fields == state._fields
        for value in new_state:
            assert isinstance(value, int) or type(value) is type(w), type(value)
        assert type(new_w) is type(w) and new_w.dtype == w.dtype
        w, state = new_w, new_state


def test_load_state_rebuilds_a_checkpointed_record_on_the_runs_backend() -> None:
    """A checkpoint gives the state back as a dict of its fields (host arrays); load_state puts
    it in the record ``init`` made, arrays converted by the run's ``asarray``."""
    from gradfit.optim import AdamState, load_state

    opt = make_array_optimizer(OptimizerSpec("adam", 1e-2))
    like = opt.init(torch.zeros(3, dtype=torch.float32))
    saved = {"count": 4, "m": np.arange(3.0), "v": np.ones(3)}
    state = load_state(like, saved, lambda a: torch.as_tensor(a, dtype=torch.float32))
    assert isinstance(state, AdamState) and state.count == 4
    assert state.m.dtype == torch.float32 and state.m.tolist() == [0.0, 1.0, 2.0]
    assert load_state(like, like, np.asarray) is like  # a snapshot: as it is
    with pytest.raises(gradfit.UsageError, match="does not fit"):
        load_state(like, {"square_avg": np.ones(3), "buf": np.ones(3)}, np.asarray)
