"""Every rung of the ladder computes the same thing: manual, autograd, nn and module agree."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import assert_coef_close, losses, rel_err

import gradfit
from gradfit.backends import resolve_backend
from gradfit.data import make_problem
from gradfit.methods import make_method
from gradfit.models import Dynamic, Legendre3, Polynomial
from gradfit.optim import OptimizerSpec

METHODS = ["manual", "autograd", "nn", "module"]


def run64(method: str, backend: str = "torch", **kw) -> gradfit.FitResult:
    return gradfit.run(
        gradfit.FitConfig(method=method, backend=backend, dtype="float64", **kw), reference=False
    )


@pytest.mark.parametrize("degree", [1, 2, 3, 4, 5])
def test_all_methods_agree_on_polynomials(degree: int) -> None:
    lr = {1: 5e-5, 2: 2e-6, 3: 1e-6, 4: 1e-7, 5: 2e-8}[degree]
    init = tuple(np.linspace(0.4, -0.3, degree + 1))
    common = dict(degree=degree, lr=lr, init=init, steps=500, log_every=50)
    reference = run64("manual", "numpy", **common)
    for method in METHODS:  # on torch float64; the reference is NumPy's
        r = run64(method, **common)
        assert [t for t, _ in r.loss_history] == list(range(49, 500, 50))
        assert rel_err(losses(r), losses(reference)) < 1e-9, method
        assert_coef_close(r.coef, reference.coef, 1e-9)
        assert (r.dtype, r.device) == ("float64", "cpu")
    # ... and the steps really moved the parameters.
    x = np.linspace(-math.pi, math.pi, 2000)
    initial = float(np.sum((np.polynomial.polynomial.polyval(x, init) - np.sin(x)) ** 2))
    assert reference.final_loss < 0.9 * initial


def test_all_methods_agree_on_legendre3() -> None:
    common = dict(model="legendre3", steps=500, log_every=50)
    reference = run64("manual", "numpy", **common)
    assert reference.init_params.tolist() == [0.0, -1.0, 0.0, 0.3]  # the tutorial's start
    assert reference.config.lr == 5e-6
    for method in METHODS:
        r = run64(method, **common)
        assert rel_err(losses(r), losses(reference)) < 1e-9, method
        assert_coef_close(r.params, reference.params, 1e-8)


def test_all_methods_agree_on_the_dynamic_net_under_one_seed() -> None:
    common = dict(model="dynamic", lr=1e-8, steps=600, log_every=50, seed=21)
    reference = run64("manual", "numpy", **common)
    for method in METHODS:
        r = run64(method, **common)
        assert rel_err(losses(r), losses(reference)) < 1e-9, method
    other_seed = run64("manual", "numpy", **{**common, "seed": 22})
    assert losses(other_seed) != losses(reference)


def test_dynamic_net_with_momentum_shows_where_torch_optim_skips_unused_weights() -> None:
    """On a pass that uses no extra order, e's ``.grad`` is None in an nn.Module and torch.optim
    skips e (its momentum neither decays nor moves it); a gradient vector has a 0 there and
    momentum keeps moving e. Same model, same draws, two documented semantics."""
    common = dict(model="dynamic", optimizer="momentum", lr=1e-8, steps=200, log_every=1, seed=21)
    manual = run64("manual", "numpy", **common)
    assert rel_err(losses(run64("autograd", **common)), losses(manual)) < 1e-9
    module = run64("module", **common)
    first_pass_without_e = 1 + next(
        i for i, top in enumerate(_draws(21, 200)) if top == 4 and i > 0
    )
    diff = np.abs(np.array(losses(module)) - losses(manual)) / np.array(losses(manual))
    assert np.all(diff[:first_pass_without_e] < 1e-12)
    assert diff.max() > 1e-3


def _draws(seed: int, n: int) -> list[int]:
    import random

    rng = random.Random(seed)
    return [rng.randint(4, 6) for _ in range(n)]


@pytest.mark.parametrize("basis", ["legendre", "chebyshev"])
def test_orthogonal_bases_reach_the_same_least_squares_polynomial(basis: str) -> None:
    x = np.linspace(-1, 1, 400)
    y = np.exp(x) * np.cos(3 * x)
    r = gradfit.fit(
        x,
        y,
        degree=6,
        basis=basis,
        lr=1e-3,
        optimizer="momentum",
        steps=4000,
        log_every=1000,
        seed=0,
    )
    assert r.optimum is not None
    assert r.final_loss == pytest.approx(r.optimum.loss, rel=1e-6)
    assert_coef_close(r.coef, r.optimum.coef, 1e-5)
    # params are in the chosen basis; coef is the same polynomial in powers of x
    series = (np.polynomial.Legendre if basis == "legendre" else np.polynomial.Chebyshev)(r.params)
    np.testing.assert_allclose(series(x), r.predict(x), atol=1e-10)
    np.testing.assert_allclose(
        series.convert(kind=np.polynomial.Polynomial).coef, r.coef, atol=1e-10
    )


def test_legendre_basis_methods_agree() -> None:
    common = dict(
        basis="legendre", degree=4, lr=1e-4, x_range=(-1.0, 1.0), steps=300, log_every=30, seed=5
    )
    reference = run64("manual", "numpy", **common)
    for method in METHODS:
        assert rel_err(losses(run64(method, **common)), losses(reference)) < 1e-9


def test_legendre3_custom_backward_passes_gradcheck() -> None:
    """On torch, Legendre3's forward runs P3 as a custom autograd Function with a hand-written
    backward; torch.autograd.gradcheck compares its gradient in (a, b, c, d) - c and d reach
    it through z = c + d x - with central finite differences."""
    be = resolve_backend("torch", "cpu", "float64")
    cache = Legendre3().prepare(torch.linspace(-1.5, 1.5, 25, dtype=torch.float64), be)
    w = torch.tensor([0.1, -2.2, 0.05, 0.9], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda w: Legendre3().forward(w, cache), (w,), eps=1e-6, atol=1e-8
    )


def test_manual_legendre3_gradient_matches_autograd() -> None:
    be = resolve_backend("torch", "cpu", "float64")
    problem = make_problem(be)
    rng = np.random.default_rng(3)
    for _ in range(5):
        w = rng.standard_normal(4) * [1, 1, 0.3, 0.3]
        manual = make_method("manual", Legendre3(), problem, be, OptimizerSpec(), w)
        _, grad = manual.loss_and_grad(True)
        wt = torch.tensor(w, requires_grad=True)
        cache = Legendre3().prepare(problem.x, be)
        loss = ((Legendre3().forward(wt, cache) - problem.y) ** 2).sum()
        loss.backward()
        np.testing.assert_allclose(grad.numpy(), wt.grad.numpy(), rtol=1e-10, atol=1e-9)


def test_legendre3_monomial_expansion() -> None:
    params = np.array([0.1, -2.2, 0.05, 0.26])
    x = np.linspace(-3, 3, 13)
    z = params[2] + params[3] * x
    direct = params[0] + params[1] * 0.5 * (5 * z**3 - 3 * z)
    np.testing.assert_allclose(
        np.polynomial.polynomial.polyval(x, Legendre3().to_monomial(params)), direct, rtol=1e-12
    )


def test_dynamic_net_uses_zero_one_or_two_extra_orders() -> None:
    be = resolve_backend("numpy")
    x = be.asarray([2.0])
    cache = Dynamic().prepare(x, be, seed=0)
    w = np.array([0.0, 0.0, 0.0, 0.0, 1.0])
    seen = {float(Dynamic().forward(w, cache)[0]) for _ in range(200)}
    assert seen == {0.0, 16.0, 16.0 + 32.0}  # none, e x^4, e x^4 + e x^5 at x = 2


@pytest.mark.parametrize("method", ["manual", "autograd", "nn", "module"])
def test_lbfgs_on_torch_reaches_the_optimum(method: str) -> None:
    r = run64(method, optimizer="lbfgs", lr=1.0, steps=20, log_every=5, seed=2)
    x = np.linspace(-math.pi, math.pi, 2000)
    opt = gradfit.closed_form(x, np.sin(x), 3)
    assert r.final_loss == pytest.approx(opt.loss, rel=1e-6)


def test_nn_method_handles_degree_zero() -> None:
    r = run64("nn", degree=0, lr=1e-4, steps=200, log_every=100, seed=1)
    x = np.linspace(-math.pi, math.pi, 2000)
    assert r.coef[0] == pytest.approx(np.mean(np.sin(x)), abs=1e-6)


def test_polynomial_model_rejects_bad_basis() -> None:
    with pytest.raises(gradfit.UsageError, match="unknown basis"):
        Polynomial(3, "hermite")
