"""gradfit compare: one start, several ways, one table whose numbers can be checked."""

from __future__ import annotations

import json

import numpy as np
import pytest

import gradfit
from gradfit.cli import main
from gradfit.presets import preset_config
from gradfit.understand.compare import compare


def test_compare_runs_every_valid_combination_from_one_start() -> None:
    table = compare(
        preset_config(seed=7, steps=400, log_every=100),
        ["manual", "autograd", "nn"],
        ["numpy", "torch"],
        ["sgd", "adam"],
    )
    labels = [r.label for r in table.rows]
    assert labels == [
        "manual/numpy/sgd",
        "manual/numpy/adam",
        "manual/torch/sgd",
        "manual/torch/adam",
        "autograd/torch/sgd",
        "autograd/torch/adam",
        "nn/torch/sgd",
        "nn/torch/adam",
    ]
    assert table.skipped == [
        "autograd/numpy/sgd (autograd needs torch)",
        "autograd/numpy/adam (autograd needs torch)",
        "nn/numpy/sgd (nn needs torch)",
        "nn/numpy/adam (nn needs torch)",
    ]
    assert np.array_equal(table.init, np.random.default_rng(7).standard_normal(4))
    by = {r.label: r for r in table.rows}
    # sgd runs agree with each other (float64), as do adam runs; sgd and adam do not.
    sgd = [r for r in table.rows if r.optimizer == "sgd"]
    assert all(r.first_difference < 1e-9 for r in sgd)
    for r in table.rows:
        assert r.dtype == "float64" and r.error is None
        assert r.excess_loss == pytest.approx(r.final_loss - table.optimum.loss)
        assert r.optimum_distance == pytest.approx(
            np.max(np.abs(np.array(r.coef) - table.optimum.coef))
        )
    adam_gap = abs(by["manual/numpy/adam"].final_loss - by["autograd/torch/adam"].final_loss)
    assert adam_gap < 1e-9 * by["manual/numpy/adam"].final_loss
    assert by["manual/numpy/adam"].first_difference > 1e-3


def test_compare_reports_a_diverged_run_in_its_row() -> None:
    table = compare(preset_config(seed=1, lr=1e-3, steps=200), ["manual"], ["numpy"], ["sgd"])
    assert table.rows[0].error and "diverged" in table.rows[0].error


def test_compare_cli_table_and_json(capsys, tmp_path) -> None:
    dest = tmp_path / "cmp.json"
    code = main(["compare", "--seed", "3", "--steps", "200", "--json", str(dest)])
    out = capsys.readouterr().out
    doc = json.loads(dest.read_text())
    assert code == 0
    assert doc["schema"] == "gradfit.understand.compare/1"
    assert [f"{r['method']}/{r['backend']}/{r['optimizer']}" for r in doc["runs"]] == [
        "manual/numpy/sgd",
        "manual/torch/sgd",
        "autograd/torch/sgd",
        "nn/torch/sgd",
        "module/torch/sgd",
    ]
    for run in doc["runs"]:
        assert f"{run['method']}/{run['backend']}/{run['optimizer']}" in out
    assert "skipped: autograd/numpy/sgd (autograd needs torch)" in out
    assert "closed-form least-squares optimum" in out


def test_compare_with_nothing_runnable_is_a_usage_error(capsys) -> None:
    assert main(["compare", "--methods", "nn", "--backends", "numpy"]) == 2
    assert capsys.readouterr().err.startswith("gradfit: error: no runnable combination")


def test_result_of_fit_matches_compare_row() -> None:
    table = compare(preset_config(seed=9, steps=300), ["manual"], ["numpy"], ["sgd"])
    direct = gradfit.run(preset_config(seed=9, steps=300, backend="numpy"), reference=False)
    assert table.rows[0].coef == direct.coef.tolist()
