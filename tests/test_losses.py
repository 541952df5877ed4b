"""Losses: the article's sum of squares, and the mean squared error as its scaled twin.

Oracles: the sum-of-squares run (the mean's iterates at n times the rate are the sum's), every
method against the others from the same start, and the closed-form optimum.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradfit
from gradfit.losses import LOSSES, make_loss


def run(**options: object) -> gradfit.FitResult:
    base = dict(backend="numpy", seed=3, steps=300, log_every=50)
    return gradfit.run(gradfit.FitConfig(**(base | options)))


def test_the_registry_offers_the_article_loss_first() -> None:
    assert LOSSES[0] == "squared"
    assert "mean" in LOSSES
    residual = np.array([1.0, -2.0, 3.0])
    mean = make_loss("mean", 3)
    assert mean.value(residual) == pytest.approx(14.0 / 3)
    np.testing.assert_allclose(mean.grad(residual), 2 * residual / 3)


@pytest.mark.parametrize("method", ["manual", "gram"])
def test_mean_at_n_times_the_rate_takes_the_sums_path(method: str) -> None:
    n = 2000
    total = run(method=method, lr=1e-6)
    mean = run(method=method, lr=1e-6 * n, loss="mean")
    np.testing.assert_allclose(mean.coef, total.coef, rtol=1e-9, atol=1e-12)
    sums = [v for _, v in total.loss_history]
    means = [v * n for _, v in mean.loss_history]
    np.testing.assert_allclose(means, sums, rtol=1e-9)
    assert mean.optimum.loss * n == pytest.approx(total.optimum.loss, rel=1e-12)


def test_every_method_agrees_on_the_mean_loss() -> None:
    runs = {
        m: run(method=m, lr=3e-3, loss="mean", backend="torch", dtype="float64")
        for m in ("manual", "autograd", "nn", "module", "gram")
    }
    first = runs["manual"]
    for r in runs.values():
        np.testing.assert_allclose(r.coef, first.coef, rtol=1e-9, atol=1e-12)


def test_lr_auto_on_the_mean_is_n_times_the_sums() -> None:
    total = run(lr="auto")
    mean = run(lr="auto", loss="mean")
    assert mean.config.lr == pytest.approx(2000 * total.config.lr, rel=1e-3)  # 4 digits each
    # the mean's run is the sum's run at 1/n of its rate, loss for loss
    twin = run(lr=mean.config.lr / 2000)
    assert mean.final_loss * 2000 == pytest.approx(twin.final_loss, rel=1e-9)


def test_an_unknown_loss_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from gradfit.cli import main

    assert main(["fit", "--loss", "huberish"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "huberish" in err and "squared" in err
