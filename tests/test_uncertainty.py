"""Standard errors and goodness of fit (gradfit.understand.uncertainty) against oracles:
scipy's curve_fit, the textbook formulas on numpy's lstsq, the gram method against the
per-point pass, a scaled fit against an unscaled one, and a design the data cannot determine."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from scipy.optimize import curve_fit

import gradfit
from gradfit.cli import main
from gradfit.understand.uncertainty import fit_statistics, format_estimate

NAMES = ["c0", "c1", "c2", "c3"]


def noisy_cubic(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.linspace(-2.0, 3.0, n)
    y = 0.5 - 1.2 * x + 0.3 * x**2 + 0.1 * x**3 + 0.2 * rng.standard_normal(n)
    return x, y


def cubic(x: np.ndarray, *c: float) -> np.ndarray:
    return np.polynomial.polynomial.polyval(x, c)


def least_squares(x: np.ndarray, y: np.ndarray, degree: int = 3) -> tuple[np.ndarray, np.ndarray]:
    V = np.polynomial.polynomial.polyvander(x, degree)
    w, *_ = np.linalg.lstsq(V, y, rcond=None)
    return V, w


def assert_cov_close(a: np.ndarray, b: np.ndarray, rtol: float) -> None:
    """Entry by entry, relative to the diagonal's scale (off-diagonal zeros are rounding)."""
    scale = np.sqrt(np.outer(np.diag(b), np.diag(b)))
    assert np.all(np.abs(a - b) <= rtol * scale), (a, b)


def test_matches_curve_fit_without_sigma() -> None:
    x, y = noisy_cubic()
    V, w = least_squares(x, y)
    _, pcov = curve_fit(cubic, x, y, p0=w)  # starts at the optimum: its pcov is exact
    st = fit_statistics(V, y - V @ w, names=NAMES, n=x.size)
    assert_cov_close(st.covariance, pcov, 1e-6)
    np.testing.assert_allclose(st.standard_errors, np.sqrt(np.diag(pcov)), rtol=1e-6)
    assert st.dof == x.size - 4 and st.chi2 is None and st.reduced_chi2 is None
    assert st.unidentified == () and st.rank == 4


def test_matches_curve_fit_with_absolute_sigma() -> None:
    x, y = noisy_cubic(seed=1)
    sigma = np.linspace(0.1, 0.4, x.size)
    Vw, yw = np.polynomial.polynomial.polyvander(x, 3) / sigma[:, None], y / sigma
    w, *_ = np.linalg.lstsq(Vw, yw, rcond=None)
    _, pcov = curve_fit(cubic, x, y, p0=w, sigma=sigma, absolute_sigma=True)
    V = np.polynomial.polynomial.polyvander(x, 3)
    st = fit_statistics(V, y - V @ w, names=NAMES, n=x.size, sigma=sigma)
    assert_cov_close(st.covariance, pcov, 1e-6)
    chi2 = float(np.sum(((y - V @ w) / sigma) ** 2))
    assert st.chi2 == pytest.approx(chi2, rel=1e-12)
    assert st.reduced_chi2 == pytest.approx(chi2 / (x.size - 4), rel=1e-12)
    assert st.aic == pytest.approx(chi2 + 8, rel=1e-12)


def test_textbook_formulas_and_sufficient_statistics_agree() -> None:
    x, y = noisy_cubic(seed=2)
    V, w = least_squares(x, y)
    r = y - V @ w
    ssr, n, tss = float(r @ r), x.size, float(np.sum((y - y.mean()) ** 2))
    s2 = ssr / (n - 4)
    textbook = s2 * np.linalg.inv(V.T @ V)
    full = fit_statistics(V, r, names=NAMES, n=n, y_tss=tss)
    suff = fit_statistics(None, None, names=NAMES, n=n, jtj=V.T @ V, ssr=ssr, y_tss=tss)
    for st in (full, suff):
        assert_cov_close(st.covariance, textbook, 1e-9)
        assert st.s2 == pytest.approx(s2, rel=1e-12)
        assert st.r2 == pytest.approx(1 - ssr / tss, rel=1e-12)
        assert st.rmse == pytest.approx(math.sqrt(ssr / n), rel=1e-12)
        assert st.aic == pytest.approx(n * math.log(ssr / n) + 8, rel=1e-12)
        assert st.bic == pytest.approx(n * math.log(ssr / n) + 4 * math.log(n), rel=1e-12)
        assert st.condition == pytest.approx(np.linalg.cond(V), rel=1e-6)
        corr = textbook / np.sqrt(np.outer(np.diag(textbook), np.diag(textbook)))
        np.testing.assert_allclose(st.correlation, corr, atol=1e-9)


def test_transform_is_applied_as_a_cov_a_transpose() -> None:
    x, y = noisy_cubic(seed=3)
    V, w = least_squares(x, y)
    A = np.array([[1.0, 1, 0, 0], [0, 2, 0, 0], [0, 0, 1, -1], [0.5, 0, 0, 3]])
    plain = fit_statistics(V, y - V @ w, names=NAMES, n=x.size)
    mapped = fit_statistics(V, y - V @ w, names=list("pqrs"), n=x.size, transform=A)
    assert_cov_close(mapped.covariance, A @ plain.covariance @ A.T, 1e-10)
    assert mapped.names == ("p", "q", "r", "s")


def test_a_singular_design_names_the_unidentified_parameters() -> None:
    # x in {-1, 0, 1}: x^3 - x vanishes there, so c1 and c3 are not determined; c0, c2 are.
    x = np.repeat([-1.0, 0.0, 1.0], 4)
    y = 1.0 + x**2 + 0.01 * np.sin(np.arange(x.size))
    V = np.polynomial.polynomial.polyvander(x, 3)
    w, *_ = np.linalg.lstsq(V, y, rcond=None)
    for st in (
        fit_statistics(V, y - V @ w, names=NAMES, n=x.size),
        fit_statistics(None, None, names=NAMES, n=x.size, jtj=V.T @ V, ssr=1e-3),
    ):
        assert st.unidentified == ("c1", "c3") and st.rank == 3
        assert np.isnan(st.standard_errors[[1, 3]]).all()
        assert np.isfinite(st.standard_errors[[0, 2]]).all()
        assert st.condition == math.inf and st.dof == x.size - 3
    # the identified ones are those of the 3-parameter model of the same points
    V3 = V[:, [0, 1, 2]]
    w3, *_ = np.linalg.lstsq(V3, y, rcond=None)
    ok = fit_statistics(V3, y - V3 @ w3, names=NAMES[:3], n=x.size)
    st = fit_statistics(V, y - V @ w, names=NAMES, n=x.size)
    assert st.standard_errors[0] == pytest.approx(ok.standard_errors[0], rel=1e-8)
    assert st.standard_errors[2] == pytest.approx(ok.standard_errors[2], rel=1e-8)


def test_bad_input_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="residuals"):
        fit_statistics(np.eye(2), None, names=["a", "b"], n=2)
    with pytest.raises(ValueError, match="names"):
        fit_statistics(np.eye(2), np.zeros(2), names=["a"], n=2)
    with pytest.raises(ValueError, match="sigma"):
        fit_statistics(None, None, names=["a"], n=3, jtj=np.eye(1), ssr=1.0, sigma=np.ones(3))


@pytest.mark.parametrize(
    ("value", "error", "text"),
    [
        (0.02103, 0.00142, "0.0210 +/- 0.0014"),
        (0.856, 0.0011, "0.8560 +/- 0.0011"),
        (1.234e-7, 1.2e-9, "1.234e-07 +/- 1.2e-09"),
        (12.0, 345.0, "12 +/- 345"),
        (0.1, math.nan, "0.1 +/- nan"),
    ],
)
def test_estimates_are_printed_to_the_errors_digits(value: float, error: float, text: str) -> None:
    assert format_estimate(value, error) == text


def test_the_library_reports_the_textbook_errors_at_its_parameters() -> None:
    x, y = noisy_cubic(seed=4)
    r = gradfit.fit(x, y, backend="numpy", seed=0, steps=3000, lr="auto", scale=True)
    st = r.statistics
    s2 = float(np.sum((y - cubic(x, *r.coef)) ** 2)) / (x.size - 4)  # at the run's parameters
    V = np.polynomial.polynomial.polyvander(x, 3)
    assert_cov_close(st.covariance, s2 * np.linalg.inv(V.T @ V), 1e-6)
    assert st.names == tuple(NAMES) and list(r.to_dict()["param_errors"]) == NAMES


def test_gram_and_manual_give_the_same_statistics() -> None:
    x, y = noisy_cubic(2000, seed=5)
    runs = [
        gradfit.fit(x, y, backend="numpy", method=m, seed=1, steps=4000, lr="auto", scale=True)
        for m in ("gram", "manual")
    ]
    a, b = (r.statistics for r in runs)
    np.testing.assert_allclose(a.standard_errors, b.standard_errors, rtol=1e-6)
    assert a.r2 == pytest.approx(b.r2, rel=1e-9) and a.aic == pytest.approx(b.aic, rel=1e-9)
    assert a.n == b.n == 2000


def test_a_scaled_fit_reports_the_unscaled_fits_monomial_errors() -> None:
    x, y = noisy_cubic(seed=6)
    opts = {"backend": "numpy", "method": "gram", "seed": 2, "steps": 20000, "lr": "auto"}
    scaled = gradfit.fit(x, y, scale=True, **opts)
    legendre = gradfit.fit(x, y, scale=True, basis="legendre", **opts)
    V, w = least_squares(x, y)
    want = fit_statistics(V, y - V @ w, names=NAMES, n=x.size)
    for r in (scaled, legendre):
        np.testing.assert_allclose(r.statistics.standard_errors, want.standard_errors, rtol=1e-6)
        assert_cov_close(r.statistics.covariance, want.covariance, 1e-6)


def test_legendre3_errors_match_curve_fit() -> None:
    x = np.linspace(-1.0, 1.0, 400)
    z = 0.05 + 0.9 * x
    y = 0.1 + 0.4 * (5 * z**3 - 3 * z) + 0.05 * np.random.default_rng(7).standard_normal(x.size)
    opts = {"backend": "numpy", "seed": 0, "steps": 20000, "optimizer": "adam", "lr": 1e-2}
    r = gradfit.fit(x, y, model="legendre3", **opts)
    assert r.excess_loss() < 1e-9  # converged: the errors are those of the optimum

    def f(x: np.ndarray, a: float, b: float, c: float, d: float) -> np.ndarray:
        z = c + d * x
        return a + b * 0.5 * (5 * z**3 - 3 * z)

    _, pcov = curve_fit(f, x, y, p0=r.params)
    np.testing.assert_allclose(r.statistics.standard_errors, np.sqrt(np.diag(pcov)), rtol=1e-4)
    assert r.statistics.names == ("a", "b", "c", "d")


def test_a_singular_design_through_the_library_names_unidentified() -> None:
    # legendre3 on two distinct x: the four parameters give two numbers, no more.
    x = np.repeat([-0.5, 0.5], 6)
    y = np.sign(x) + 0.01 * np.cos(np.arange(x.size))
    with warnings.catch_warnings():  # the reference cubic on 2 points warns; not the subject
        warnings.simplefilter("ignore")
        r = gradfit.fit(x, y, model="legendre3", backend="numpy", method="manual", steps=100)
    st = r.statistics
    assert st.unidentified == ("a", "b", "c", "d") and st.rank == 2 and st.dof == x.size - 2
    assert np.isnan(st.standard_errors).all() and np.isnan(st.covariance).all()
    doc = json.loads(json.dumps(r.to_dict()))  # JSON-safe: null, not NaN
    assert doc["param_errors"] == dict.fromkeys("abcd") and doc["covariance"][0][0] is None
    assert doc["statistics"]["unidentified"] == ["a", "b", "c", "d"]


def test_a_polynomial_the_data_cannot_determine_is_refused_before_it_runs() -> None:
    x = np.repeat([-1.0, 0.0, 1.0], 5)
    with pytest.raises(gradfit.errors.UsageError, match="3 distinct values"):
        gradfit.fit(x, x**2, backend="numpy", method="manual", degree=4)


def test_the_dynamic_net_has_no_statistics() -> None:
    x = np.linspace(-1, 1, 50)
    r = gradfit.fit(x, np.sin(x), model="dynamic", backend="numpy", seed=0, steps=10)
    doc = r.to_dict()
    assert r.statistics is None and doc["param_errors"] is None and doc["statistics"] is None
    assert list(doc["params"]) == ["a", "b", "c", "d", "e"]


def test_json_round_trip(tmp_path, capsys) -> None:
    out = tmp_path / "run.json"
    args = ["fit", "--backend", "numpy", "--seed", "3", "--noise", "0.1", "--steps", "500"]
    assert main([*args, "--json", str(out)]) == 0
    text = capsys.readouterr().out
    doc = json.loads(out.read_text())
    r = gradfit.run(gradfit.FitConfig(backend="numpy", seed=3, noise=0.1, steps=500))
    assert doc["params"] == r.reported() and list(doc["params"]) == NAMES
    assert doc["param_errors"] == r.statistics.errors()
    assert np.array_equal(np.array(doc["covariance"]), r.statistics.covariance)
    stats = doc["statistics"]
    assert stats["n"] == 2000 and stats["dof"] == 1996 and stats["r2"] == r.statistics.r2
    assert stats["unidentified"] == [] and len(stats["correlation"]) == 4
    assert doc["model_params"] == r.params.tolist()
    # the text shows the same numbers, under the Result line
    lines = text.splitlines()
    block = lines[lines.index(f"Result: {r.formula()}") + 1 :]
    se = r.statistics.standard_errors
    assert block[0].startswith(f"  c0 = {format_estimate(r.coef[0], se[0])}   c1 = ")
    assert block[1].startswith(f"  RMSE {r.statistics.rmse:.4g}  R^2 {r.statistics.r2:.6f}")


def test_quiet_prints_only_the_result_line(capsys) -> None:
    assert main(["fit", "--backend", "numpy", "--seed", "3", "--steps", "50", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("Result: y = ")


def test_report_and_plot_show_the_uncertainty(tmp_path) -> None:
    from gradfit.understand.plot import Z, fit_band, fit_plot_data
    from gradfit.understand.report import markdown_report

    x, y = noisy_cubic(seed=8)
    r = gradfit.fit(x, y, backend="numpy", method="gram", seed=0, steps=3000, lr="auto")
    text = markdown_report(r)
    assert "## Uncertainty" in text and f"| c3 | {r.coef[3]:.8g} |" in text
    data = fit_plot_data(r)
    # the band at a point is 1.96 sqrt(row cov row^T), the design row of x there
    row = np.polynomial.polynomial.polyvander(data.x_fit[:5], 3)
    se = np.sqrt(np.einsum("ij,jk,ik->i", row, r.statistics.covariance, row))
    np.testing.assert_allclose(fit_band(r, data.x_fit[:5]), se, rtol=1e-9)
    np.testing.assert_allclose(data.band[1][:5] - data.curves[0].y_fit[:5], Z * se, rtol=1e-9)
    np.testing.assert_allclose(data.residuals, data.y - r.predict(data.x), atol=0)


@pytest.mark.parametrize("method", ["gram", "manual"])
def test_a_run_that_diverged_has_no_statistics(method: str) -> None:
    x = np.linspace(-3, 3, 200)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the statistics add no overflow warning of their own
        r = gradfit.fit(
            x, np.sin(x), backend="numpy", method=method, lr=10.0, guard=False, steps=300, seed=1
        )
    assert not np.isfinite(r.final_loss) and r.statistics is None
    assert json.loads(json.dumps(r.to_dict()))["param_errors"] is None
