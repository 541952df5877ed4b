"""GDFormulaRegressor: scikit-learn's checks, scipy's curve_fit as the oracle, Pipeline,
GridSearchCV, pickling, and the errors of bad formulas."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

pytest.importorskip("sklearn")

from scipy.optimize import curve_fit
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import FitFailedWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import check_estimator, parametrize_with_checks

import gradfit
from gradfit.sklearn import GDFormulaRegressor

# A formula has one variable, so the default estimator (x_column=None) refuses X with several
# columns, and every check that feeds such X fails on that refusal (a ValueError saying so).
# check_fit2d_1sample gives 10 columns and one row; check_positive_only_tag_during_fit reports
# the same ValueError as "raised unexpectedly". With x_column set, all of them pass.
MULTI_COLUMN = "X has several columns; a formula in x needs x_column to choose one"
EXPECTED_FAILED = dict.fromkeys(
    [
        "check_dict_unchanged",
        "check_dont_overwrite_parameters",
        "check_dtype_object",
        "check_estimators_dtypes",
        "check_estimators_fit_returns_self",
        "check_estimators_nan_inf",
        "check_estimators_overwrite_params",
        "check_estimators_pickle",
        "check_f_contiguous_array_estimator",
        "check_fit2d_1sample",
        "check_fit2d_predict1d",
        "check_fit_check_is_fitted",
        "check_fit_idempotent",
        "check_fit_score_takes_y",
        "check_methods_sample_order_invariance",
        "check_methods_subset_invariance",
        "check_n_features_in",
        "check_n_features_in_after_fitting",
        "check_pipeline_consistency",
        "check_positive_only_tag_during_fit",
        "check_readonly_memmap_input",
        "check_regressor_data_not_an_array",
        "check_regressors_int",
        "check_regressors_no_decision_function",
        "check_regressors_train",
        "check_sample_weight_equivalence_on_dense_data",
        "check_sample_weights_list",
        "check_sample_weights_not_an_array",
        "check_sample_weights_pandas_series",
        "check_sample_weights_not_overwritten",
        "check_sample_weights_shape",
        "check_supervised_y_2d",
    ],
    MULTI_COLUMN,
)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
@parametrize_with_checks(
    [
        GDFormulaRegressor(x_column=0),
        GDFormulaRegressor(optimizer="gauss-newton", x_column=-1, random_state=0),
        GDFormulaRegressor("a*exp(-b*x) + c", init={"b": 0.1}, x_column=0),
        GDFormulaRegressor("a + b*x", optimizer="adam", lr=0.05, precondition=True, x_column=0),
    ]
)
def test_sklearn_checks_pass_with_x_column(estimator, check) -> None:
    check(estimator)


def test_default_fails_exactly_the_multi_column_checks() -> None:
    """With the default x_column=None, the expected failures are exactly the checks that give
    several columns, each failing on the refusal of several columns; the rest pass."""
    results = check_estimator(
        GDFormulaRegressor(), expected_failed_checks=EXPECTED_FAILED, on_fail=None, on_skip=None
    )
    status: dict[str, set[str]] = {}
    for r in results:
        status.setdefault(r["status"], set()).add(r["check_name"])
    assert set(status) <= {"passed", "xfail", "skipped"}
    assert status["xfail"] == set(EXPECTED_FAILED)
    assert len(status["passed"]) >= 20 and "check_fit1d" in status["passed"]
    for r in results:
        if r["status"] != "xfail":
            continue
        if r["check_name"] == "check_positive_only_tag_during_fit":
            assert "raised ValueError unexpectedly" in str(r["exception"])
        elif r["check_name"] == "check_sample_weights_pandas_series":  # sklearn rewords it
            assert "raises error if 'sample_weight'" in str(r["exception"])
        else:
            assert "a formula has one variable, x, but X has" in str(r["exception"])
    with pytest.raises(ValueError, match="x_column"):
        GDFormulaRegressor().fit(np.ones((5, 2)), np.ones(5))


# NIST StRD Misra1a (x, y) and its certified values; NIST's first start is b1=500, b2=1e-4.
X_MISRA = np.array(
    [77.6, 114.9, 141.1, 190.8, 239.9, 289.0, 332.8, 378.4, 434.8, 477.3, 536.8, 593.1, 689.1, 760]
)
Y_MISRA = np.array(
    [
        10.07,
        14.73,
        17.94,
        23.93,
        29.61,
        35.18,
        40.02,
        44.82,
        50.76,
        55.05,
        61.01,
        66.4,
        75.47,
        81.78,
    ]
)
MISRA = "b1*(1 - exp(-b2*x))"
MISRA_START = {"b1": 500.0, "b2": 1e-4}


@pytest.mark.parametrize("optimizer", ["lm", "gauss-newton"])
def test_misra1a_agrees_with_curve_fit(optimizer: str) -> None:
    est = GDFormulaRegressor(MISRA, init=MISRA_START, optimizer=optimizer, random_state=0)
    est.fit(X_MISRA.reshape(-1, 1), Y_MISRA)
    popt, pcov = curve_fit(
        lambda x, b1, b2: b1 * (1 - np.exp(-b2 * x)), X_MISRA, Y_MISRA, p0=[500.0, 1e-4]
    )
    assert est.param_names_ == ("b1", "b2")
    np.testing.assert_allclose(list(est.params_.values()), popt, rtol=1e-6)
    np.testing.assert_allclose([2.3894212918e02, 5.5015643181e-04], popt, rtol=1e-6)
    np.testing.assert_allclose(
        list(est.standard_errors_.values()), np.sqrt(np.diag(pcov)), rtol=1e-4
    )
    assert est.stop_reason_.startswith("converged") and est.n_iter_ < est.steps
    x_new = np.array([[100.0], [1000.0]])
    np.testing.assert_allclose(est.predict(x_new), popt[0] * (1 - np.exp(-popt[1] * x_new[:, 0])))
    assert est.score(X_MISRA.reshape(-1, 1), Y_MISRA) == pytest.approx(
        r2_score(Y_MISRA, est.predict(X_MISRA.reshape(-1, 1))), abs=1e-15
    )
    assert est.n_features_in_ == 1 and est.x_column_ == 0


def test_same_as_gradfit_fit_and_deterministic() -> None:
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 4, 60)
    y = 1.5 * np.exp(-0.8 * x) + 0.2 + 0.01 * rng.standard_normal(60)
    kwargs = {"init": {"a": 1.0, "b": 0.5, "c": 0.0}, "optimizer": "sgd", "steps": 300}
    direct = gradfit.fit(x, y, model="a*exp(-b*x) + c", seed=4, reference=False, **kwargs)
    est = GDFormulaRegressor("a*exp(-b*x) + c", random_state=4, **kwargs)
    first = est.fit(x.reshape(-1, 1), y).result_
    np.testing.assert_array_equal(first.params, direct.params)
    assert first.loss_history[-1] == direct.loss_history[-1]
    second = clone(est).fit(x.reshape(-1, 1), y).result_
    np.testing.assert_array_equal(second.params, first.params)
    assert est.stop_reason_ is None and est.n_iter_ == 300


def test_x_column_by_index_and_by_dataframe_name() -> None:
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(5)
    X = np.column_stack([rng.normal(size=40), np.linspace(0, 3, 40)])
    y = 2.0 + 3.0 * X[:, 1]
    one = GDFormulaRegressor().fit(X[:, [1]], y)
    by_index = GDFormulaRegressor(x_column=1).fit(X, y)
    frame = pd.DataFrame(X, columns=["noise", "t"])
    by_name = GDFormulaRegressor(x_column="t").fit(frame, y)
    np.testing.assert_allclose(list(one.params_.values()), [2.0, 3.0], rtol=1e-9)
    assert by_index.params_ == one.params_ == by_name.params_
    assert by_name.x_column_ == 1 and list(by_name.feature_names_in_) == ["noise", "t"]
    np.testing.assert_array_equal(by_name.predict(frame), one.predict(X[:, [1]]))
    with pytest.raises(ValueError, match="not a column index"):
        GDFormulaRegressor(x_column=2).fit(X, y)
    with pytest.raises(ValueError, match="not a DataFrame"):
        GDFormulaRegressor(x_column="t").fit(X, y)
    with pytest.raises(ValueError, match="'u' is not a column"):
        GDFormulaRegressor(x_column="u").fit(frame, y)


def test_pipeline_and_grid_search_choose_the_formula() -> None:
    rng = np.random.default_rng(6)
    X = np.column_stack([rng.normal(size=120), rng.uniform(0, 5, 120)])
    y = 3.0 * np.exp(-0.6 * X[:, 1]) + 0.5 + 0.01 * rng.standard_normal(120)
    pipe = Pipeline(
        [
            ("x", ColumnTransformer([("x", "passthrough", [1])])),  # the column x is in
            ("fit", GDFormulaRegressor(init={"b": 0.3})),
        ]
    )
    grid = {"fit__formula": ["a + b*x", "a*exp(-b*x) + c"], "fit__optimizer": ["lm", "sgd"]}
    search = GridSearchCV(pipe, grid, cv=3).fit(X, y)
    assert search.best_params_["fit__formula"] == "a*exp(-b*x) + c"
    assert search.score(X, y) > 0.999
    params = search.best_estimator_.named_steps["fit"].params_
    np.testing.assert_allclose(list(params.values()), [3.0, 0.6, 0.5], rtol=0.02)


def test_params_clone_and_pickle() -> None:
    est = GDFormulaRegressor(MISRA, init=MISRA_START, steps=50)
    assert est.get_params() == {
        "formula": MISRA,
        "init": MISRA_START,
        "optimizer": "lm",
        "steps": 50,
        "lr": None,
        "precondition": False,
        "x_column": None,
        "random_state": None,
    }
    assert est.set_params(optimizer="gauss-newton") is est and est.optimizer == "gauss-newton"
    X = X_MISRA.reshape(-1, 1)
    est.fit(X, Y_MISRA)
    again = pickle.loads(pickle.dumps(est))  # result_ holds the parsed formula: it pickles
    np.testing.assert_array_equal(again.predict(X), est.predict(X))
    assert again.params_ == est.params_ and again.result_.model.param_names == ("b1", "b2")
    big = GDFormulaRegressor().fit(np.linspace(0, 1, 20000).reshape(-1, 1), np.ones(20000))
    assert len(pickle.dumps(big)) < 20000  # the model, not the 320 kB of training data
    fresh = clone(est)
    assert fresh.get_params() == est.get_params() and not hasattr(fresh, "params_")
    assert MISRA_START == {"b1": 500.0, "b2": 1e-4}  # fit did not change the init it was given


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"formula": "a +"}, "formula 'a \\+' is not a valid formula"),
        ({"formula": "__import__('os')"}, "unknown function '__import__'"),
        ({"formula": "__import__('os').system('true')"}, "attribute access"),
        ({"formula": "open('f')*x"}, "unknown function 'open'"),
        ({"formula": "2*x"}, "no parameters to fit"),
        ({"formula": "a*exp(-b*x)", "init": {"z": 1.0}}, "z"),
        ({"precondition": True}, "--precondition"),
        ({"optimizer": "newton"}, "newton"),
    ],
)
def test_bad_parameters_are_usage_errors(kwargs: dict, match: str) -> None:
    X, y = X_MISRA.reshape(-1, 1), Y_MISRA
    with pytest.raises(gradfit.UsageError, match=match) as info:
        GDFormulaRegressor(**kwargs).fit(X, y)
    assert isinstance(info.value, ValueError)  # what scikit-learn expects of bad parameters


def test_other_refusals() -> None:
    X, y = X_MISRA.reshape(-1, 1), Y_MISRA
    for name in ("poly", "a", None, 3):  # a model's name would fit a polynomial: refused
        with pytest.raises(ValueError, match="is not a formula in x"):
            GDFormulaRegressor(name).fit(X, y)
    with pytest.raises(ValueError, match="got 2 sample"):
        GDFormulaRegressor("a*exp(-b*x) + c").fit(X[:2], y[:2])
    with pytest.raises(ValueError, match="Expected 2D array"):
        GDFormulaRegressor().fit(X_MISRA, y)  # 1-D X: reshape it to one column
    est = GDFormulaRegressor().fit(X, y)
    with pytest.raises(ValueError, match="features"):
        est.predict(np.ones((3, 2)))


@pytest.mark.filterwarnings("ignore:One or more of the test scores are non-finite")
def test_a_diverging_run_raises_and_grid_search_scores_it_nan() -> None:
    x = np.linspace(0, 10, 50).reshape(-1, 1)
    y = 1.0 + 2.0 * x[:, 0]
    with pytest.raises(gradfit.FitFailedError, match="diverged at step"):
        GDFormulaRegressor(optimizer="sgd", lr=10.0).fit(x, y)
    search = GridSearchCV(
        GDFormulaRegressor(optimizer="sgd", steps=2000), {"lr": [10.0, None]}, cv=2
    )
    with pytest.warns(FitFailedWarning, match="DivergenceError"):
        search.fit(x, y)
    assert np.isnan(search.cv_results_["mean_test_score"][0])
    assert search.best_params_ == {"lr": None} and search.score(x, y) > 0.999


def test_sample_weight_is_gradfits_weights() -> None:
    """sample_weight weighs each squared error: the same fit as gradfit.fit(weights=), and a
    weight of 2 is the point counted twice."""
    import gradfit

    x = np.linspace(0.0, 3.0, 40)
    y = 2.0 * np.exp(-1.3 * x) + 0.5 + 0.05 * np.sin(17 * x)
    w = np.where(np.arange(40) % 3 == 0, 2.0, 1.0)
    est = GDFormulaRegressor("a*exp(-b*x) + c").fit(x[:, None], y, sample_weight=w)
    direct = gradfit.fit(x, y, model="a*exp(-b*x) + c", optimizer="lm", steps=200, weights=w)
    np.testing.assert_allclose(list(est.params_.values()), direct.params, rtol=1e-12)
    twice = np.repeat(np.arange(40), w.astype(int))
    dup = GDFormulaRegressor("a*exp(-b*x) + c").fit(x[twice, None], y[twice])
    np.testing.assert_allclose(list(est.params_.values()), list(dup.params_.values()), rtol=1e-8)
