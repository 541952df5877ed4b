"""Domain scaling: the t <-> x conversions, and descent that converges where raw x cannot."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import assert_coef_close, best_lr, hessian_eigs

import gradfit
from gradfit.cli import main
from gradfit.data import Domain
from gradfit.models import Polynomial
from gradfit.understand.analysis import hessian_spectrum

NpPolynomial = np.polynomial.Polynomial


def test_mapping_is_numpy_polynomials() -> None:
    d = Domain(1e5, 3e6)
    off, scl = d.mapping
    assert (off, scl) == tuple(np.polynomial.polyutils.mapparms([1e5, 3e6], [-1, 1]))
    np.testing.assert_allclose(d.to_window([1e5, 1.55e6, 3e6]), [-1.0, 0.0, 1.0], atol=1e-15)


@pytest.mark.parametrize(("lo", "hi"), [(0.0, 20.0), (-3.0, 5.0), (1e5, 3e6)])
def test_coefficients_round_trip_between_t_and_x(lo: float, hi: float) -> None:
    d = Domain(lo, hi)
    coef_t = np.array([0.7, -1.3, 2.1, 0.4])
    coef_x = d.to_x(coef_t)
    np.testing.assert_allclose(d.from_x(coef_x), coef_t, rtol=1e-6, atol=1e-9)
    x = np.linspace(lo, hi, 50)
    expected = np.polynomial.polynomial.polyval(d.to_window(x), coef_t)
    np.testing.assert_allclose(np.polynomial.polynomial.polyval(x, coef_x), expected, rtol=1e-7)
    np.testing.assert_allclose(d.polynomial(coef_t)(x), expected, rtol=1e-12)


def test_converted_least_squares_fit_in_t_is_closed_form_in_x() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 20, 300)
    y = 1.5 - 2 * x + 0.3 * x**2 - 0.01 * x**3 + 0.05 * rng.standard_normal(x.size)
    d = Domain.of(x)
    coef_t = np.linalg.lstsq(np.vander(d.to_window(x), 4, increasing=True), y, rcond=None)[0]
    np.testing.assert_allclose(d.to_x(coef_t), gradfit.closed_form(x, y, 3).coef, rtol=1e-8)


def test_trailing_zero_coefficients_are_kept() -> None:
    d = Domain(0.0, 2.0)
    assert d.to_x([1.0, 0.0, 0.0]).shape == (3,)
    assert d.from_x([1.0, 0.0, 0.0, 0.0]).shape == (4,)


def test_chunked_hessian_equals_the_whole_one() -> None:
    x = np.linspace(-2, 3, 1001)
    whole = hessian_eigs(x, 3)
    for chunk in (1, 7, 1000, 1001, 10**6):
        spectrum = hessian_spectrum(Polynomial(3), x, chunk=chunk)
        np.testing.assert_allclose(spectrum.eigenvalues, whole, rtol=1e-10)


def big_x_problem() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    x = np.sort(rng.uniform(1e5, 3e6, 1000))
    t = Domain(1e5, 3e6).to_window(x)
    return x, 2.0 + 3.0 * t - t**2 + 0.5 * t**3 + 0.01 * rng.standard_normal(x.size)


def test_scaling_converges_on_x_in_1e5_to_3e6_where_raw_x_does_not() -> None:
    x, y = big_x_problem()
    optimum = gradfit.closed_form(x, y, 3)
    scaled = gradfit.fit(x, y, lr="auto", scale=True, seed=0)
    assert scaled.final_loss == pytest.approx(optimum.loss, rel=1e-9)
    exact = NpPolynomial.fit(x, y, 3)(x)  # numpy's own well-conditioned least-squares fit
    np.testing.assert_allclose(scaled.predict(x), exact, rtol=1e-9, atol=1e-9)
    assert_coef_close(scaled.coef, optimum.coef, rtol=1e-6)

    # The same descent on raw x: the safe rate is ~1e-41 and nothing but the top coefficient
    # moves; the loss stays thousands of times the optimum.
    raw = gradfit.fit(x, y, lr="auto", scale=False, seed=0)
    assert raw.final_loss > 1000 * optimum.loss
    # The article's rate on raw x diverges, and the message points at --scale.
    with pytest.raises(gradfit.FitFailedError, match=r"diverged at step 1 .* or --scale"):
        gradfit.fit(x, y, lr=1e-6, seed=0)


def test_cli_scales_data_by_default_and_not_targets(tmp_path, capsys) -> None:
    x, y = big_x_problem()
    path = tmp_path / "big.npy"
    np.save(path, np.column_stack([x, y]))
    assert main(["fit", "--data", str(path), "--backend", "numpy", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["scaling"]["domain"] == [x.min(), x.max()]
    assert doc["scaling"]["window"] == [-1.0, 1.0]
    assert doc["final_loss"] == pytest.approx(doc["optimum"]["loss"], rel=1e-9)
    # In t the answer is numpy's own scaled least-squares fit (same domain: the data's range).
    np.testing.assert_allclose(doc["scaling"]["coef"], NpPolynomial.fit(x, y, 3).coef, rtol=1e-7)

    code = main(["fit", "--data", str(path), "--backend", "numpy", "--no-scale", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["scaling"] is None
    assert doc["final_loss"] > 1000 * doc["optimum"]["loss"]

    assert main(["fit", "--backend", "numpy", "--steps", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["scaling"] is None


def test_scale_on_the_articles_problem_converges_with_auto_lr(capsys) -> None:
    """--scale on a generated target: trained on t, reported in x, on torch float32 too."""
    for backend in ("numpy", "torch"):
        code = main(["fit", "--scale", "--backend", backend, "--seed", "1", "--json"])
        doc = json.loads(capsys.readouterr().out)
        assert code == 0
        # the best constant rate, cut to 4 significant digits by --lr auto
        assert doc["config"]["lr"] == pytest.approx(best_lr(np.linspace(-1, 1, 2000), 3), rel=1e-3)
        rel = 1e-9 if backend == "numpy" else 1e-4
        assert doc["final_loss"] == pytest.approx(doc["optimum"]["loss"], rel=rel)
        assert_coef_close(doc["coef"], doc["optimum"]["coef"], rtol=1e-3)


def test_scaled_results_report_x_and_keep_t() -> None:
    x = np.linspace(0.0, 20.0, 200)
    y = 1.0 + 0.5 * x - 0.02 * x**2
    r = gradfit.fit(x, y, degree=2, lr="auto", steps=3000, scale=True, seed=3, init=[1, 2, 3])
    d = r.domain
    assert d == Domain(0.0, 20.0)
    np.testing.assert_array_equal(r.scaled_init_coef, [1.0, 2.0, 3.0])  # --init is in t
    np.testing.assert_allclose(r.init_coef, d.to_x([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(r.coef, [1.0, 0.5, -0.02], rtol=1e-8)
    np.testing.assert_allclose(r.coef, d.to_x(r.scaled_coef), rtol=1e-12)
    poly = r.to_polynomial()
    assert list(poly.domain) == [0.0, 20.0] and list(poly.window) == [-1.0, 1.0]
    np.testing.assert_array_equal(poly.coef, r.scaled_coef)
    np.testing.assert_allclose(poly.convert().coef, r.coef, rtol=1e-12)
    doc = r.to_dict()
    assert doc["scaling"]["coef"] == r.scaled_coef.tolist()
    assert doc["coef"] == r.coef.tolist()


def test_unscaled_fit_is_unchanged_by_default() -> None:
    x = np.linspace(-1, 1, 50)
    r = gradfit.fit(x, x**2, degree=2, lr=0.005, steps=10, seed=0)
    assert r.domain is None and r.scaled_coef is None
    assert r.to_dict()["scaling"] is None and r.to_dict()["data"] is None


def test_constant_x_is_refused_by_fit_too() -> None:
    with pytest.raises(gradfit.UsageError, match="the data: x is constant"):
        gradfit.fit(np.full(10, 2.0), np.arange(10.0), degree=1)
    r = gradfit.fit(np.full(10, 2.0), np.arange(10.0), degree=0, lr="auto", scale=True, seed=0)
    assert r.coef[0] == pytest.approx(4.5) and r.domain is None


def test_the_reference_optimum_is_exact_far_from_zero() -> None:
    """x in [1e6, 1e6 + 10]: the monomial coefficients cancel badly; the loss must not."""
    rng = np.random.default_rng(0)
    x = np.sort(rng.uniform(1e6, 1e6 + 10, 500))
    y = np.sin(x - 1e6) + 0.01 * rng.standard_normal(x.size)
    exact = float(np.sum((NpPolynomial.fit(x, y, 3)(x) - y) ** 2))
    r = gradfit.fit(x, y, lr="auto", scale=True, seed=0, steps=5000)
    assert r.optimum.loss == pytest.approx(exact, rel=1e-9)
    assert r.final_loss == pytest.approx(exact, rel=1e-6)
    np.testing.assert_allclose(r.predict(x), NpPolynomial.fit(x, y, 3)(x), atol=1e-9)


def test_auto_lr_on_raw_x_that_overflows_is_a_usage_error() -> None:
    x = np.linspace(1e60, 2e60, 10)
    with pytest.raises(gradfit.UsageError, match="use --scale, or give --lr"):
        gradfit.fit(x, x, degree=3, lr="auto")
