"""Exact jumps: gram runs the steps of sgd, momentum and nesterov between logged ones as one affine
map (gradfit.methods.jumps) and must take the same iterates as stepping - manual's, and its own.

Oracles: the manual method from the same start (float64, the article's problem), gram with the
jumps switched off, the optimizer's own update applied k times, the closed-form optimum that
10^9 steps reach, and the divergence step found without jumps.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import assert_coef_close, losses, rel_err

import gradfit
from gradfit import FitConfig
from gradfit.errors import DivergenceError
from gradfit.methods import jumps
from gradfit.methods.gram import GramMethod
from gradfit.optim import SGD, Adam, MomentumState
from gradfit.optim.pure import Preconditioned
from gradfit.training.loop import _next_event

X = np.linspace(-math.pi, math.pi, 2000)  # the article's problem
Y = np.sin(X)
INIT = (0.3, -0.7, 0.1, 0.05)


def _fit(method: str, jumps_on: bool = True, **kw: Any) -> gradfit.FitResult:
    options: dict[str, Any] = dict(lr=1e-6, steps=2000, init=INIT, reference=False) | kw
    original = GramMethod.jumps
    GramMethod.jumps = jumps_on
    try:
        return gradfit.fit(X, Y, method=method, **options)
    finally:
        GramMethod.jumps = original


@pytest.fixture
def jumped(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The k of every jump taken (so a test knows the jumps ran)."""
    seen: list[int] = []
    apply = jumps.AffineJumps.apply

    def spy(self: jumps.AffineJumps, k: int, w: Any, state: Any) -> Any:
        seen.append(k)
        return apply(self, k, w, state)

    monkeypatch.setattr(jumps.AffineJumps, "apply", spy)
    return seen


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov"])
@pytest.mark.parametrize("l2", [0.0, 50.0])
def test_jumps_give_manuals_iterates(
    backend: str, optimizer: str, l2: float, jumped: list[int]
) -> None:
    if backend == "torch":
        pytest.importorskip("torch")
    kw = dict(backend=backend, dtype="float64", optimizer=optimizer, l2=l2)
    manual, gram = _fit("manual", **kw), _fit("gram", **kw)
    assert jumped and set(jumped) == {99}  # 99 steps jumped, the logged one stepped
    assert [t for t, _ in gram.loss_history] == [t for t, _ in manual.loss_history]
    assert len(gram.loss_history) == 20
    assert rel_err(losses(gram), losses(manual)) < 1e-9
    assert rel_err([gram.final_loss], [manual.final_loss]) < 1e-9
    assert_coef_close(gram.params, manual.params, rtol=1e-12)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov"])
def test_jumps_equal_gram_stepping_over_a_long_run(optimizer: str, jumped: list[int]) -> None:
    kw = dict(backend="numpy", optimizer=optimizer, steps=100_000, log_every=25_000)
    stepped, jumping = _fit("gram", False, **kw), _fit("gram", **kw)
    assert set(jumped) == {24_999}
    assert rel_err(losses(jumping), losses(stepped)) < 1e-12
    assert_coef_close(jumping.params, stepped.params, rtol=1e-12)


def test_a_billion_steps_reach_the_closed_form_optimum_at_once() -> None:
    result = _fit("gram", backend="numpy", steps=10**9, log_every=10**8)
    assert [t for t, _ in result.loss_history] == [10**8 * i - 1 for i in range(1, 11)]
    assert result.timings["loop_s"] < 1.0  # ten jumps and ten steps, not 10^9 steps
    best = np.polynomial.polynomial.polyfit(X, Y, 3)
    assert_coef_close(result.params, best, rtol=1e-9)
    sse = float(np.sum((np.polynomial.polynomial.polyval(X, best) - Y) ** 2))
    assert abs(result.final_loss - sse) < 1e-9 * sse


@pytest.mark.parametrize("shape", [(), (3,)])
@pytest.mark.parametrize(
    "optimizer",
    [
        SGD(0.02),
        SGD(0.02, 0.9),
        SGD(0.01, 0.7, nesterov=True),
        Preconditioned(SGD(0.02, 0.5), (0.5, 2.0, 1.0, 0.25)),
    ],
    ids=["sgd", "momentum", "nesterov", "preconditioned"],
)
def test_a_jump_is_the_optimizers_own_steps(optimizer: Any, shape: tuple[int, ...]) -> None:
    """Against the update applied k times, from a mid-run state (a started momentum buffer), for
    one column of parameters and for a block of columns alike."""
    if shape and isinstance(optimizer, Preconditioned):
        pytest.skip("Preconditioned's own update scales one column of parameters")
    rng = np.random.default_rng(7)
    d = 4
    J = rng.normal(size=(3 * d, d))
    H, b = J.T @ J / 12, rng.normal(size=(d, *shape))
    w = rng.normal(size=(d, *shape))
    state = optimizer.init(w)
    for _ in range(3):  # a state part-way through a run
        w, state = optimizer.update(2 * (H @ w - b), state, w)
    jump = jumps.affine_jumps(optimizer, H, b, np.asarray)
    assert jump is not None
    for k in (1, 2, 7, 100, 1000):
        ws, ss = w, state
        for _ in range(k):
            ws, ss = optimizer.update(2 * (H @ ws - b), ss, ws)
        wj, sj = jump.apply(k, w, state)
        assert wj.shape == w.shape
        np.testing.assert_allclose(wj, ws, rtol=1e-12, atol=1e-12 * np.abs(ws).max())
        if isinstance(ss, MomentumState):
            assert sj.count == ss.count
            scale = np.abs(state.buf).max()  # the buffer decays to 0: compare on its start
            np.testing.assert_allclose(sj.buf, ss.buf, rtol=1e-11, atol=1e-12 * scale)
    assert len(jump._cache) == 5


def test_no_jump_where_the_steps_are_not_an_affine_map_or_do_not_converge() -> None:
    H, b = np.diag([1.0, 4.0]), np.ones(2)
    assert jumps.affine_jumps(Adam(1e-3), H, b, np.asarray) is None
    assert jumps.affine_jumps(SGD(0.1), H, b, np.asarray) is not None
    assert jumps.affine_jumps(SGD(0.3), H, b, np.asarray) is None  # |1 - 2 lr 4| > 1


@pytest.mark.parametrize("lr", [1e-5, 3.57e-6])
def test_divergence_is_located_at_the_same_step(lr: float, monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard finds the same first bad step whether the steps ran one by one (manual, gram
    stepping) or as jumps - here forced on the unstable map, which gram itself never jumps."""
    found = {}
    for name, method, jumps_on in [
        ("manual", "manual", True),
        ("stepping", "gram", False),
        ("default", "gram", True),
    ]:
        with pytest.raises(DivergenceError) as info:
            _fit(method, jumps_on, backend="numpy", lr=lr)
        found[name] = info.value.step
    monkeypatch.setattr(jumps, "_STABLE", math.inf)
    with pytest.raises(DivergenceError) as info:
        _fit("gram", backend="numpy", lr=lr)
    found["forced jumps"] = info.value.step
    assert len(set(found.values())) == 1, found


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_steps_not_a_multiple_of_log_every(optimizer: str, jumped: list[int]) -> None:
    lr = 1e-6 if optimizer == "momentum" else 1e-3
    kw = dict(backend="numpy", optimizer=optimizer, lr=lr, steps=2051, log_every=100)
    manual, gram = _fit("manual", **kw), _fit("gram", **kw)
    assert [t for t, _ in gram.loss_history] == [100 * i + 99 for i in range(20)]
    assert rel_err(losses(gram), losses(manual)) < 1e-9
    assert rel_err([gram.final_loss], [manual.final_loss]) < 1e-9
    assert_coef_close(gram.params, manual.params, rtol=1e-12)
    if optimizer == "momentum":
        assert sorted(set(jumped)) == [50, 99]  # the remainder: steps 2000..2049, then 2050
    else:
        assert not jumped


def _config(**kw: Any) -> FitConfig:
    base = dict(backend="numpy", method="gram", optimizer="nesterov", lr=1e-6, seed=3)
    return FitConfig(**(base | dict(steps=1000, log_every=100) | kw))


def test_resume_after_a_checkpoint(tmp_path: Path) -> None:
    whole = gradfit.run(_config(), reference=False)
    ckpt = str(tmp_path / "run.ckpt")
    # Checkpointed on a logged step: the segments are the same, so is every bit.
    gradfit.run(_config(steps=500, checkpoint=ckpt), reference=False)
    resumed = gradfit.run(_config(resume=ckpt), reference=False)
    assert resumed.loss_history == whole.loss_history
    assert resumed.params.tobytes() == whole.params.tobytes()
    # Checkpointed mid-interval (450) and every 70 steps: the jumps are split elsewhere, so the
    # numbers agree to rounding, not bit for bit.
    gradfit.run(_config(steps=450, checkpoint=ckpt, checkpoint_every=70), reference=False)
    resumed = gradfit.run(_config(resume=ckpt), reference=False)
    assert [t for t, _ in resumed.loss_history] == [t for t, _ in whole.loss_history]
    assert rel_err(losses(resumed), losses(whole)) < 1e-12
    assert_coef_close(resumed.params, whole.params, rtol=1e-12)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_progress_ticks_do_not_change_the_numbers(optimizer: str, jumped: list[int]) -> None:
    """A progress bar (a terminal) and none (a pipe) give the same digits: an exact jump is not
    split for a tick, which is reported at the next step the loop runs."""
    lr = 1e-6 if optimizer == "sgd" else 1e-3
    config = _config(optimizer=optimizer, lr=lr, steps=1000)
    plain = gradfit.run(config, reference=False)
    ticks: list[int] = []
    ticking = gradfit.run(config, reference=False, on_step=ticks.append, step_stride=7)
    assert ticking.loss_history == plain.loss_history
    assert ticking.params.tobytes() == plain.params.tobytes()
    assert ticks == sorted(set(ticks)) and all(t % 7 == 0 for t in ticks)
    assert ticks[-1] == 994
    if optimizer == "sgd":
        assert set(jumped) == {99} and len(ticks) == 10  # one tick a log interval
    else:
        assert ticks == list(range(7, 1000, 7))  # stepping: every tick on time


def test_next_event_is_the_first_step_the_loop_must_run() -> None:
    rng = np.random.default_rng(0)
    for _ in range(300):
        steps, log_every = int(rng.integers(1, 400)), int(rng.integers(1, 60))
        splits = tuple(int(v) for v in rng.integers(0, 40, size=3))
        t = int(rng.integers(0, steps))
        brute = next(
            e
            for e in range(t, steps)
            if e % log_every == log_every - 1
            or e == steps - 1
            or any(s and (e + 1) % s == 0 for s in splits)
        )
        assert _next_event(t, steps, log_every, splits) == brute


def test_jumps_on_torch_equal_numpys(jumped: list[int]) -> None:
    pytest.importorskip("torch")
    kw = dict(optimizer="nesterov", dtype="float64", steps=5000, log_every=500)
    a, b = _fit("gram", backend="numpy", **kw), _fit("gram", backend="torch", **kw)
    assert set(jumped) == {499}
    assert rel_err(losses(a), losses(b)) < 1e-12
    assert_coef_close(b.params, a.params, rtol=1e-12)


def test_preconditioned_jumps_give_manuals_iterates(jumped: list[int]) -> None:
    kw = dict(backend="numpy", optimizer="nesterov", precondition=True, lr=1e-2, steps=3000)
    manual, gram = _fit("manual", **kw), _fit("gram", **kw)
    assert set(jumped) == {99}
    assert rel_err(losses(gram), losses(manual)) < 1e-9
    assert_coef_close(gram.params, manual.params, rtol=1e-12)
