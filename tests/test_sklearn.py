"""The scikit-learn estimator: check_estimator, Pipeline, GridSearchCV, and what it fits."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

import gradfit
from gradfit.sklearn import GDPolynomialRegressor


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
def test_check_estimator_passes() -> None:
    # Every check runs (pandas is in the dev extra); only the array-API one skips itself
    # unless SCIPY_ARRAY_API=1 is set.
    check_estimator(
        GDPolynomialRegressor(),
        expected_failed_checks={
            "check_sample_weight_equivalence_on_dense_data": "gradfit refuses a weighted fit "
            "with fewer positive weights than parameters (its standard errors need them); the "
            "check's data has 9 such points for 91 parameters (test_sample_weight_* below)"
        },
    )


def cubic(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 5, n)
    y = 1.0 - 2.0 * x + 0.5 * x**2 - 0.1 * x**3 + 0.05 * rng.standard_normal(n)
    return x.reshape(-1, 1), y


def test_one_column_is_gradfit_fit() -> None:
    X, y = cubic()
    est = GDPolynomialRegressor(degree=3, random_state=7).fit(X, y)
    direct = gradfit.fit(X[:, 0], y, lr="auto", scale=True, seed=7, log_every=2000)
    np.testing.assert_array_equal(est.result_.coef, direct.coef)
    np.testing.assert_array_equal(est.predict(X), direct.predict(X[:, 0]))
    assert est.intercept_ == direct.coef[0]
    np.testing.assert_array_equal(est.coef_, direct.coef[None, 1:])
    np.testing.assert_allclose(direct.coef, gradfit.closed_form(X[:, 0], y, 3).coef, rtol=1e-6)
    assert est.score(X, y) > 0.999
    assert est.n_features_in_ == 1 and est.n_iter_ == 2000


def test_pipeline_and_grid_search_pick_the_cubic() -> None:
    X, y = cubic(300)
    pipe = Pipeline([("scale", StandardScaler()), ("poly", GDPolynomialRegressor(random_state=0))])
    search = GridSearchCV(pipe, {"poly__degree": [1, 2, 3]}, cv=3)
    search.fit(X, y)
    assert search.best_params_ == {"poly__degree": 3}
    assert search.score(X, y) > 0.999
    assert clone(search.best_estimator_).get_params()["poly__degree"] == 3


def test_several_columns_fit_an_additive_polynomial() -> None:
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.uniform(0, 10, 400), rng.uniform(-1e3, 1e3, 400)])
    y = 3.0 + 0.5 * X[:, 0] - 0.02 * X[:, 0] ** 2 + 1e-6 * X[:, 1] ** 2
    est = GDPolynomialRegressor(degree=2, steps=5000, random_state=0).fit(X, y)
    assert est.result_ is None and est.coef_.shape == (2, 2)
    assert est.intercept_ == pytest.approx(3.0, abs=1e-4)
    np.testing.assert_allclose(est.coef_[0], [0.5, -0.02], rtol=1e-4)
    np.testing.assert_allclose(est.coef_[1], [0.0, 1e-6], atol=1e-9)
    np.testing.assert_allclose(est.predict(X), y, atol=1e-4)


def test_params_pickle_and_errors() -> None:
    X, y = cubic(50)
    est = GDPolynomialRegressor(degree=2, lr=0.001, steps=10, scale=False)
    assert est.get_params() == {
        "degree": 2,
        "lr": 0.001,
        "steps": 10,
        "scale": False,
        "backend": "numpy",
        "dtype": None,
        "random_state": None,
    }
    assert est.set_params(degree=3) is est and est.degree == 3
    est.set_params(lr="auto", steps=500, scale=True, random_state=0).fit(X, y)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(X), est.predict(X))
    with pytest.raises(ValueError, match="Expected 2D array"):
        est.fit(X[:, 0], y)  # 1-D X: say which column is x
    with pytest.raises(ValueError, match="got 3 sample"):
        GDPolynomialRegressor(degree=3).fit(X[:3], y[:3])
    with pytest.raises(gradfit.UsageError, match="--degree"):
        GDPolynomialRegressor(degree=-1).fit(X, y)


def test_torch_backend_works_too() -> None:
    pytest.importorskip("torch")
    X, y = cubic(100)
    est = GDPolynomialRegressor(backend="torch", dtype="float64", random_state=0).fit(X, y)
    ref = GDPolynomialRegressor(random_state=0).fit(X, y)
    np.testing.assert_allclose(est.predict(X), ref.predict(X), rtol=1e-9)


@pytest.mark.parametrize("features", [1, 2])
def test_sample_weight_of_two_is_the_point_counted_twice(features: int) -> None:
    """Integer weights equal repeated rows (the same sum of squares, so the same iterates from
    the same seed); a zero weight equals leaving the point out (the range of x kept)."""
    rng = np.random.default_rng(5)
    X = rng.uniform(-2, 2, (60, features))
    X[0], X[1] = -2.0, 2.0  # the extremes keep their weight: the same scaling both ways
    y = np.sin(X).sum(axis=1) + 0.1 * rng.standard_normal(60)
    w = rng.integers(0, 3, 60).astype(float)
    w[:2] = 1.0
    options = dict(degree=3, random_state=3, steps=300)
    weighted = GDPolynomialRegressor(**options).fit(X, y, sample_weight=w)
    rows = np.repeat(np.arange(60), w.astype(int))
    repeated = GDPolynomialRegressor(**options).fit(X[rows], y[rows])
    np.testing.assert_allclose(weighted.intercept_, repeated.intercept_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-9, atol=1e-12)
    plain = GDPolynomialRegressor(**options).fit(X, y)
    assert not np.allclose(plain.coef_, weighted.coef_, rtol=1e-6)
    assert not hasattr(weighted, "_weights")  # not kept in the model (nor its pickle)


def test_sample_weight_with_several_targets_is_shared() -> None:
    X, y = cubic(80)
    Y = np.column_stack([y, 2 * y + 1])
    w = np.linspace(0.5, 2.0, 80)
    both = GDPolynomialRegressor(degree=3, random_state=1).fit(X, Y, sample_weight=w)
    for j in range(2):
        one = GDPolynomialRegressor(degree=3, random_state=1).fit(X, Y[:, j], sample_weight=w)
        np.testing.assert_allclose(both.predict(X)[:, j], one.predict(X), rtol=1e-10)
