"""What makes a small fit cheap must not change a number it returns.

A result's statistics are computed when first read (:class:`gradfit.result.Deferred`): they must
equal, to the bit, the ones computed at once from the same plan; survive pickling, copies and
saving; and not see arrays the user changed after the fit. The cheaper copies
(:func:`gradfit.frozen.evolve`), the combination table read by stage and the LM stepper's
shortcuts must equal what they replace.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import pickle
import random

import numpy as np
import pytest

import gradfit
from gradfit.combination import by_stage, first_refused
from gradfit.config import COMBINATIONS, FitConfig, is_validated
from gradfit.data import Domain, Problem
from gradfit.frozen import evolve
from gradfit.optim import levenberg
from gradfit.plan import plan
from gradfit.result import Deferred, FitResult
from gradfit.training.execute import execute, fit_statistics_of

X = np.linspace(0.0, 5.0, 40)
Y = 3.0 * np.exp(-0.7 * X) + 0.02 * np.sin(7.0 * X)
DECAY = "b1*exp(-b2*x)"


def _config(**options: object) -> FitConfig:
    base = dict(backend="numpy", dtype="float64", target=None, points=X.size)
    return FitConfig(**(base | options)).validated()


# (config options, sigma, weights): a formula by LM, a polynomial by manual and by gram
# (statistics from the gram matrix), weighted and with measurement errors.
CASES = {
    "formula": (dict(model=DECAY, optimizer="lm", init={"b1": 1.0, "b2": 0.1}), None, None),
    "poly": (dict(degree=3, lr="auto", steps=200, init=(0.0, 0.0, 0.0, 0.0)), None, None),
    "gram": (dict(degree=3, method="gram", lr="auto", steps=200, seed=1), None, None),
    "weights": (
        dict(model=DECAY, optimizer="lm", init={"b1": 1.0, "b2": 0.1}),
        None,
        np.linspace(0.5, 2.0, X.size),
    ),
    "sigma": (dict(degree=2, lr="auto", steps=100, seed=2), np.linspace(0.1, 0.3, X.size), None),
    "gram sigma": (dict(degree=2, method="gram", lr="auto", steps=100, seed=2), 0.2, None),
}


def _same_statistics(a: object, b: object) -> None:
    """Every field of two FitStatistics equal, arrays to the bit (NaN where NaN)."""
    assert a is not None and b is not None
    for f in dataclasses.fields(a):
        u, v = getattr(a, f.name), getattr(b, f.name)
        if isinstance(u, np.ndarray) or isinstance(v, np.ndarray):
            np.testing.assert_array_equal(u, v, strict=True)
        elif isinstance(u, float) and math.isnan(u):
            assert isinstance(v, float) and math.isnan(v), f.name
        else:
            assert u == v, f.name


@pytest.mark.parametrize("case", CASES)
def test_deferred_statistics_equal_those_computed_at_once(case: str) -> None:
    options, sigma, weights = CASES[case]
    planned = plan(_config(**options), data=(X, Y, sigma, weights))
    result = execute(planned, None, True)
    assert type(result.__dict__["_statistics_value"]) is Deferred  # not computed yet
    eager = fit_statistics_of(planned, result.params)
    _same_statistics(result.statistics, eager)
    assert "statistics_s" in result.timings
    assert result.statistics is result.statistics  # computed once, then kept


def test_deferred_statistics_do_not_see_arrays_changed_after_the_fit() -> None:
    x, y, w = X.copy(), Y.copy(), np.linspace(0.5, 2.0, X.size)
    options = dict(model=DECAY, init={"b1": 1.0, "b2": 0.1}, optimizer="lm", weights=w)
    result = gradfit.fit(x, y, **options)
    x[:], y[:], w[:] = 1.0, np.nan, 0.0  # the user's arrays, reused
    result.params[:] = 0.0  # and the result's own
    fresh = gradfit.fit(X.copy(), Y.copy(), **(options | {"weights": np.linspace(0.5, 2, 40)}))
    _same_statistics(result.statistics, fresh.statistics)


def test_a_pickled_or_copied_result_carries_its_statistics() -> None:
    result = gradfit.fit(X, Y, model=DECAY, init={"b1": 1.0, "b2": 0.1}, optimizer="lm")
    twin = gradfit.fit(X, Y, model=DECAY, init={"b1": 1.0, "b2": 0.1}, optimizer="lm")
    back = pickle.loads(pickle.dumps(result))
    assert type(back.__dict__["_statistics_value"]) is not Deferred  # the values, not a task
    _same_statistics(back.statistics, twin.statistics)
    for other in (copy.copy(twin), copy.deepcopy(twin), dataclasses.replace(twin, seed=7)):
        _same_statistics(other.statistics, twin.statistics)


def test_to_dict_and_saved_models_carry_the_deferred_statistics(tmp_path) -> None:
    result = gradfit.fit(X, Y, degree=2, lr=1e-4, steps=50, seed=0)
    doc = result.to_dict()
    assert doc["param_errors"] == result.statistics.errors()
    assert doc["statistics"]["n"] == X.size and "statistics_s" in doc["timings"]
    path = tmp_path / "model.json"
    gradfit.fit(X, Y, degree=2, lr=1e-4, steps=50, seed=0).save(path)
    assert json.loads(path.read_text())["param_errors"] == doc["param_errors"]


def test_statistics_given_or_left_out_read_as_before() -> None:
    result = gradfit.fit(X, Y, degree=1, lr=1e-4, steps=5, seed=0)
    fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(FitResult)}
    assert FitResult(**(fields | {"statistics": None})).statistics is None
    del fields["statistics"]
    assert FitResult(**fields).statistics is None  # the default
    result.statistics = None
    assert result.statistics is None


def test_a_nonlinear_loss_has_no_statistics_to_defer() -> None:
    result = gradfit.fit(X, Y, degree=1, lr=1e-4, steps=5, seed=0, loss="huber")
    assert "_statistics_value" in result.__dict__ and result.statistics is None


def test_the_loss_of_the_last_lm_step_does_not_depend_on_what_is_logged() -> None:
    kwargs = dict(model=DECAY, init={"b1": 1.0, "b2": 0.1}, optimizer="lm")
    every = gradfit.fit(X, Y, log_every=1, **kwargs)
    rarely = gradfit.fit(X, Y, log_every=1000, **kwargs)
    assert rarely.loss_history == [every.loss_history[-1]]
    np.testing.assert_array_equal(every.params, rarely.params)


# --- cheaper copies and checks --------------------------------------------------------------


def test_evolve_is_dataclasses_replace() -> None:
    config = FitConfig(lr=0.5, steps=7)
    assert evolve(config, seed=3, dtype="float64") == dataclasses.replace(
        config, seed=3, dtype="float64"
    )
    checked = config.validated()
    assert is_validated(checked) and not is_validated(evolve(checked, steps=8))
    assert evolve(checked, steps=8).__dict__ == dataclasses.replace(checked, steps=8).__dict__
    problem = Problem(X, Y, "p")
    assert evolve(problem, name="q") == Problem(X, Y, "q")
    with pytest.raises(TypeError, match="no field 'nope'"):
        evolve(config, nope=1)
    domain = Domain(0.0, 2.0)  # has __post_init__: dataclasses.replace itself
    assert evolve(domain, hi=4.0) == dataclasses.replace(domain, hi=4.0)


def _refused_naively(stage: str, facts: dict) -> str | None:
    for rule in COMBINATIONS:
        if rule.stage == stage and all(test(facts[k]) for k, test in rule.when.items()):
            return rule.message
    return None


def test_the_table_by_stage_refuses_what_the_table_refuses() -> None:
    choices = {
        "data": [None, "f.csv"], "x_column": [None, "a"], "y_column": [None, 1],
        "weighted": [False, True], "sigma_column": [None, "s"], "weight_column": [None, "w"],
        "drop_nonfinite": [False, True], "noise": [0.0, 0.1], "points": [2000, 50],
        "x_range": [FitConfig.x_range, (0.0, 1.0)], "model": ["poly", "formula", "callable"],
        "backend": ["numpy", "torch"], "method": ["auto", "manual", "gram", "nn", "autograd"],
        "checkpoint": [None, "c.npz"], "optimizer": ["sgd", "lbfgs", "lm", "adam"],
        "batch_size": [None, 8], "shuffle": [False, True], "precondition": [False, True],
        "workers": [None, 2], "distributed": [False, True], "resume": [None, "c.npz"],
        "loss_scale": [1.0, 2.0], "loss": ["squared", "huber", "absolute"], "l1": [0.0, 0.1],
        "lr": [None, "auto", 0.1], "penalty": [False, True], "checkpoint_every": [None, 5],
    }  # fmt: skip
    table = by_stage(COMBINATIONS)
    assert set(table) == {rule.stage for rule in COMBINATIONS}
    rng = random.Random(0)
    refused = 0
    for _ in range(3000):
        facts = {k: rng.choice(v) for k, v in choices.items()}
        for stage in table:
            expected = _refused_naively(stage, facts)
            assert first_refused(table[stage], facts) == expected
            refused += expected is not None
    assert refused > 1000  # the draws reach the rules


def test_the_svd_shortcut_is_numpys_svd() -> None:
    rng = np.random.default_rng(3)
    for shape in [(14, 2), (60, 3), (250, 7), (5, 5), (3, 1)]:
        a = rng.standard_normal(shape) * 10.0 ** rng.uniform(-6, 6, shape[1])
        numpys = np.linalg.svd(a, full_matrices=False)
        for ours, theirs in zip(levenberg._svd(a), numpys, strict=True):
            np.testing.assert_array_equal(ours, theirs, strict=True)
    with pytest.raises(np.linalg.LinAlgError):
        levenberg._svd(np.full((4, 2), np.nan))


def test_the_gradient_test_and_the_start_radius_keep_numpys_arithmetic() -> None:
    rng = np.random.default_rng(4)
    for p in (1, 2, 3, 5, 9):
        g, norms = rng.standard_normal(p) * 1e3, np.abs(rng.standard_normal(p))
        norms[rng.integers(p)] = 0.0
        ss = float(rng.uniform(0.1, 10.0))
        expected = float((np.abs(g) / np.where(norms > 0, norms, 1.0)).max()) / math.sqrt(ss)
        assert levenberg._gradient_cosine(g, norms, ss) == expected
        J, w = rng.standard_normal((20, p)), rng.standard_normal(p) * 1e4
        state = levenberg.lm_init(w, rng.standard_normal(20), J)
        assert state.radius == 100.0 * float(np.linalg.norm(state.scale * w))
