"""scikit-learn estimators: gradfit's polynomial and formula fits inside Pipeline, GridSearchCV
and friends (:class:`GDPolynomialRegressor`, :class:`GDFormulaRegressor`).

Needs scikit-learn (``pip install 'gradfit[sklearn]'``); ``import gradfit`` does not import it.

>>> import numpy as np
>>> from gradfit.sklearn import GDPolynomialRegressor
>>> x = np.linspace(0, 10, 200).reshape(-1, 1)
>>> y = 1 - 2 * x[:, 0] + 0.5 * x[:, 0] ** 2
>>> model = GDPolynomialRegressor(degree=2, random_state=0).fit(x, y)
>>> np.round(model.result_.coef, 6).tolist()
[1.0, -2.0, 0.5]
>>> round(model.score(x, y), 6)
1.0
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:
    from sklearn.base import BaseEstimator, RegressorMixin
    from sklearn.utils import check_random_state
    from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "gradfit.sklearn needs scikit-learn >= 1.6 (failed to import it: "
        f"{exc}); install it with: pip install 'gradfit[sklearn]'"
    ) from exc

from .api import fit as gradfit_fit
from .data import Domain
from .formula import parse_formula
from .models import is_formula

__all__ = ["GDFormulaRegressor", "GDPolynomialRegressor"]


class GDPolynomialRegressor(RegressorMixin, BaseEstimator):
    """Least-squares polynomial regression by gradient descent, the gradfit way.

    With one feature (X of shape ``(n, 1)``) this is :func:`gradfit.fit`: a degree-``degree``
    polynomial in x, trained by gradient descent on the sum of squared errors with the
    hand-derived gradient, on x scaled to [-1, 1] (``scale=True``) and reported in x;
    ``result_`` is the :class:`~gradfit.FitResult`, ``result_.coef`` the article's a, b, c, d.

    With several features it fits an *additive* polynomial, one polynomial per feature and no
    cross terms: ``y = b + sum_j sum_{p=1..degree} c[j, p-1] * x_j**p``, trained by the same
    loop on each feature scaled to [-1, 1] (with fewer samples than coefficients it still
    runs, like a linear model, and reaches one of the least-squares solutions). For
    interactions, put ``sklearn.preprocessing.PolynomialFeatures`` in front with ``degree=1``.

    Parameters
    ----------
    degree : int, default 3
        Polynomial degree (per feature).
    lr : float or "auto", default "auto"
        Learning rate; "auto" is gradfit's ``--lr auto``: for plain gradient descent on least
        squares, the rate with the lowest predicted loss after ``steps`` updates from this start
        (exact, from the Hessian of the loss on the scaled training data).
    steps : int, default 2000
        Gradient-descent steps.
    scale : bool, default True
        Train on each feature mapped from its training range to [-1, 1].
    backend : "numpy" or "torch", default "numpy"
    dtype : "float32", "float64" or None (the backend's default)
    random_state : int, RandomState or None
        Seed of the initial coefficients (standard normal).

    Attributes
    ----------
    intercept_ : float, or ndarray of shape (n_targets,) for a 2-D y
    coef_ : ndarray of shape (n_features, degree)
        Monomial coefficients of x_j, x_j**2, ..., in the original (unscaled) features; for a
        2-D y, (n_targets, degree) with one feature, else (n_targets, n_features, degree).
    result_ : FitResult (one feature only); a ManyFitResult for one feature and a y of two or
        more columns (multi-output: each column its own fit from the same start, one loop)
    loss_history_ : list of (step, loss)
    n_features_in_ : int
    """

    def __init__(
        self,
        degree: int = 3,
        *,
        lr: float | str = "auto",
        steps: int = 2000,
        scale: bool = True,
        backend: str = "numpy",
        dtype: str | None = None,
        random_state: Any = None,
    ) -> None:
        self.degree = degree
        self.lr = lr
        self.steps = steps
        self.scale = scale
        self.backend = backend
        self.dtype = dtype
        self.random_state = random_state

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> GDPolynomialRegressor:
        """Fit the polynomial to ``X`` (n_samples, n_features) and ``y`` (n_samples,), or to
        every column of ``y`` (n_samples, n_targets): multi-output, each target its own fit
        from the same start (one feature: :func:`gradfit.fit` on the 2-D y, one loop).
        ``sample_weight`` weighs each point's squared error (gradfit's ``weights=``): a weight
        of 2 counts the point twice."""
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64, multi_output=True)
        self._weights = (
            None
            if sample_weight is None
            else _check_sample_weight(sample_weight, X, dtype=np.float64)
        )
        n, k = X.shape
        degree = self.degree
        if k == 1 and isinstance(degree, (int, np.integer)) and 0 <= n <= degree:
            # One feature is gradfit.fit, which refuses an underdetermined polynomial.
            raise ValueError(
                f"got {n} sample(s), which cannot determine the {degree + 1} coefficients of "
                f"a degree-{degree} polynomial; need n_samples >= {degree + 1}"
            )
        seed = self._seed()
        self.degree_ = degree
        self.n_targets_ = None if y.ndim == 1 else int(y.shape[1])
        try:
            if y.ndim == 2:
                self._fit_targets(X, y, seed)
            elif k == 1:
                self._fit_one(X[:, 0], y, seed)
            else:
                self._fit_additive(X, y, seed)
        finally:
            del self._weights  # the fit's input, not part of the model (nor of its pickle)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predictions for ``X`` (n_samples, n_features), float64."""
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        if self.result_ is not None:
            out = np.asarray(self.result_.predict(X[:, 0]), dtype=np.float64)
            return out if self.n_targets_ is None else out.reshape(X.shape[0], -1)
        return self._design(X) @ self.scaled_params_

    def _fit_targets(self, X: np.ndarray, Y: np.ndarray, seed: int | None) -> None:
        """Several targets: one feature and two or more targets is :func:`gradfit.fit` on the
        2-D y (a :class:`gradfit.many.ManyFitResult`); otherwise each target is fitted alone
        from the same seed and the parameters stacked as columns."""
        if X.shape[1] == 1 and Y.shape[1] >= 2:
            self._fit_one(X[:, 0], Y, seed)
            return
        fits = []
        for j in range(Y.shape[1]):
            if X.shape[1] == 1:
                self._fit_one(X[:, 0], Y[:, j], seed)
            else:
                self._fit_additive(X, Y[:, j], seed)
            fits.append((self.intercept_, self.coef_, self.scaled_params_, self.result_))
        self.intercept_ = np.array([f[0] for f in fits])
        coef = np.stack([f[1] for f in fits])  # (targets, features, degree)
        self.coef_ = coef[:, 0, :] if X.shape[1] == 1 else coef
        self.scaled_params_ = np.column_stack([f[2] for f in fits])
        self.result_ = None  # predictions from the stacked parameters (the design below)

    def _seed(self) -> int | None:
        return _seed(self.random_state)

    def _gradfit(self, x: np.ndarray, y: np.ndarray, seed: int | None, **options: Any) -> Any:
        """:func:`gradfit.fit` with the estimator's parameters (and ``options``): quiet, no
        reference optimum, logging only the last step."""
        return gradfit_fit(
            x,
            y,
            degree=self.degree,
            backend=self.backend,
            dtype=self.dtype,
            lr=self.lr,
            steps=self.steps,
            log_every=self.steps,
            seed=seed,
            reference=False,
            weights=self._weights,
            progress=False,  # no live display per fit (GridSearchCV fits hundreds)
            **options,
        )

    def _fit_one(self, x: np.ndarray, y: np.ndarray, seed: int | None) -> None:
        """One feature: ``gradfit.fit`` itself, on a 1-D y or on a 2-D y (several targets, one
        loop: a :class:`gradfit.many.ManyFitResult`)."""
        result = self._gradfit(x, y, seed, scale=self.scale)
        self.result_ = result
        if y.ndim == 1:
            self.intercept_ = float(result.coef[0])
            self.coef_ = np.asarray(result.coef[1:], dtype=np.float64).reshape(1, -1)
        else:
            self.intercept_ = np.asarray(result.coef[0], dtype=np.float64)
            self.coef_ = np.asarray(result.coef[1:].T, dtype=np.float64)
        self.domains_ = [result.domain]
        scaled = result.scaled_coef if result.scaled_coef is not None else result.coef
        self.scaled_params_ = np.array(scaled)
        self.loss_history_ = list(result.loss_history)
        self.n_iter_ = int(self.steps)

    def _fit_additive(self, X: np.ndarray, y: np.ndarray, seed: int | None) -> None:
        """Several features: gradfit's additive model on each feature mapped to [-1, 1]
        (the estimator's preprocessing), fitted by the same plan and loop as one feature."""
        self.domains_ = [
            Domain(float(c.min()), float(c.max())) if self.scale and c.min() < c.max() else None
            for c in X.T
        ]
        columns = [
            c if d is None else d.to_window(c) for c, d in zip(X.T, self.domains_, strict=True)
        ]
        result = self._gradfit(np.column_stack(columns), y, seed, model="additive")
        self.result_ = None  # a FitResult predicts one x; this model is the design below
        params = result.params
        self.scaled_params_ = params
        self.loss_history_ = list(result.loss_history)
        self.n_iter_ = int(self.steps)
        degree = self.degree
        intercept = float(params[0])
        coef = np.zeros((X.shape[1], degree))
        for j, domain in enumerate(self.domains_):
            block = np.concatenate([[0.0], params[1 + j * degree : 1 + (j + 1) * degree]])
            in_x = block if domain is None else domain.to_x(block)
            intercept += float(in_x[0])
            coef[j] = in_x[1:]
        self.intercept_ = intercept
        self.coef_ = coef

    def _design(self, X: np.ndarray) -> np.ndarray:
        """``[1, t_1, t_1**2, ..., t_k**degree]`` with ``t_j`` feature j mapped to [-1, 1]."""
        columns = [np.ones(X.shape[0])]
        for j, domain in enumerate(self.domains_):
            t = X[:, j] if domain is None else domain.to_window(X[:, j])
            columns.extend(t**p for p in range(1, self.degree_ + 1))
        return np.column_stack(columns)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # y may have several columns (see fit)
        return tags


def _seed(random_state: Any) -> int | None:
    """gradfit's seed from a scikit-learn ``random_state`` (None: gradfit draws one)."""
    if random_state is None:
        return None
    if isinstance(random_state, (int, np.integer)):
        return int(random_state)
    return int(check_random_state(random_state).randint(0, 2**31 - 1))


class GDFormulaRegressor(RegressorMixin, BaseEstimator):
    """Nonlinear least squares for a formula in x, the gradfit way: :func:`gradfit.fit` with
    ``model=formula``.

    The formula is checked against gradfit's whitelist (:mod:`gradfit.formula`; nothing is
    evaluated as Python): every name other than ``x``, a constant (pi, e, tau) or a function
    is a parameter, in order of first appearance. A formula has one variable, so x is one
    column of X: by default X must have exactly one column; ``x_column`` picks one of several
    (the command line's ``--x``), and the other columns are then ignored.

    >>> import numpy as np
    >>> from gradfit.sklearn import GDFormulaRegressor
    >>> x = np.linspace(0, 5, 50).reshape(-1, 1)
    >>> y = 2.0 * np.exp(-0.7 * x[:, 0]) + 0.3
    >>> model = GDFormulaRegressor("a*exp(-b*x) + c", init={"b": 0.5}).fit(x, y)
    >>> {k: round(v, 6) for k, v in model.params_.items()}
    {'a': 2.0, 'b': 0.7, 'c': 0.3}
    >>> round(model.score(x, y), 6), model.stop_reason_.startswith("converged")
    (1.0, True)

    Parameters
    ----------
    formula : str, default "a + b*x"
        The model, in x and named parameters, as in ``"b1*(1 - exp(-b2*x))"``.
    init : dict or sequence of float, default None
        Initial parameters: ``{name: value}`` (a parameter not named starts at 1.0), or one
        value per parameter in the formula's order; None: all start at 1.0.
    optimizer : str, default "lm"
        ``lm`` (Levenberg-Marquardt), ``gauss-newton``, or a first-order one of gradfit's
        (``sgd``, ``momentum``, ``nesterov``, ``rmsprop``, ``adam``, ``lbfgs``).
    steps : int, default 200
        At most this many steps; lm and gauss-newton stop early when converged
        (``stop_reason_`` says why).
    lr : float, "auto" or None, default None
        Learning rate of a first-order optimizer; None: gradfit's default for a formula (for
        sgd, momentum and nesterov the rate from the curvature at the start).
    precondition : bool, default False
        First-order steps on parameters scaled by the Jacobian's column norms at the start
        (``--precondition``); not with lm, gauss-newton or lbfgs.
    x_column : int, str or None, default None
        The column of X holding x: a 0-based index, or a name when X is a DataFrame. None: X
        must have exactly one column.
    random_state : int, RandomState or None
        gradfit's seed. The start is ``init`` (not drawn), so the fit is deterministic; the
        seed is recorded in ``result_``.

    Bad parameters (a bad or unsafe formula, an unknown parameter in ``init``, an optimizer
    option that does not apply) raise :class:`gradfit.UsageError` at fit time, which is a
    ``ValueError`` as scikit-learn expects. A run that diverges raises
    :class:`gradfit.FitFailedError` (GridSearchCV scores that candidate nan and goes on).

    Attributes
    ----------
    params_ : dict of str to float
        The fitted parameters by name, in the formula's order.
    param_names_ : tuple of str
    result_ : FitResult
        gradfit's record of the run (``result_.statistics``: R^2, covariance, ...).
    stop_reason_ : str or None
        Why the run ended before ``steps`` (None: it ran them all).
    n_iter_ : int
        Steps run.
    standard_errors_ : dict of str to float, or None
        Each parameter's standard error (None when gradfit has no statistics for the run).
    x_column_ : int
        The index of x in X.
    n_features_in_ : int
    feature_names_in_ : ndarray of str (when X has string column names)
    """

    def __init__(
        self,
        formula: str = "a + b*x",
        *,
        init: Any = None,
        optimizer: str = "lm",
        steps: int = 200,
        lr: float | str | None = None,
        precondition: bool = False,
        x_column: int | str | None = None,
        random_state: Any = None,
    ) -> None:
        self.formula = formula
        self.init = init
        self.optimizer = optimizer
        self.steps = steps
        self.lr = lr
        self.precondition = precondition
        self.x_column = x_column
        self.random_state = random_state

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> GDFormulaRegressor:
        """Fit the formula to column ``x_column`` of ``X`` (n_samples, n_features) and ``y``;
        ``sample_weight`` weighs each point's squared error (gradfit's ``weights=``)."""
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        weights = None
        if sample_weight is not None:
            weights = _check_sample_weight(sample_weight, X, dtype=np.float64)
        formula = self.formula
        if not is_formula(formula):  # a plain name would be a model's ("poly") or unknown
            raise ValueError(
                f"formula={formula!r} is not a formula in x and named parameters; write one "
                "such as 'a + b*x' or 'a*exp(-b*x) + c'"
            )
        n_params = len(parse_formula(formula, option="formula").params)  # UsageError if bad
        column = self._column(X.shape[1])
        if X.shape[0] < n_params:
            raise ValueError(
                f"got {X.shape[0]} sample(s), which cannot determine the {n_params} parameters "
                f"of {formula!r}; need n_samples >= {n_params}"
            )
        steps = self.steps
        result = gradfit_fit(
            X[:, column],
            y,
            model=formula,
            init=self.init,
            optimizer=self.optimizer,
            lr=self.lr,
            steps=steps,
            log_every=steps if isinstance(steps, (int, np.integer)) and steps > 0 else 100,
            seed=_seed(self.random_state),
            precondition=self.precondition,
            reference=False,
            progress=False,  # no live display per fit (GridSearchCV fits hundreds)
            weights=weights,
        )
        result.dataset = None  # the training data: not part of the model (nor of its pickle)
        names = tuple(result.model.param_names)
        self.result_ = result
        self.x_column_ = column
        self.param_names_ = names
        self.params_ = dict(zip(names, np.asarray(result.params, float).tolist(), strict=True))
        self.stop_reason_ = result.stop_reason
        self.n_iter_ = int(result.steps_done if result.steps_done is not None else steps)
        stats = result.statistics
        self.standard_errors_ = None if stats is None else stats.errors()
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The fitted formula at column ``x_column_`` of ``X``, float64."""
        check_is_fitted(self, "result_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return np.asarray(self.result_.predict(X[:, self.x_column_]), dtype=np.float64)

    def _column(self, k: int) -> int:
        """The index of x in X's ``k`` columns, from ``x_column``."""
        col = self.x_column
        if col is None:
            if k != 1:
                raise ValueError(
                    f"a formula has one variable, x, but X has {k} columns; pass X of shape "
                    "(n_samples, 1), or choose x's column with x_column=<index or name>"
                )
            return 0
        if isinstance(col, str):
            names = list(getattr(self, "feature_names_in_", ()))
            if col not in names:
                raise ValueError(
                    f"x_column={col!r} is not a column of X (its columns: "
                    f"{names if names else 'unnamed; X is not a DataFrame'})"
                )
            return names.index(col)
        if isinstance(col, (int, np.integer)) and not isinstance(col, bool) and -k <= col < k:
            return int(col) % k
        raise ValueError(f"x_column={col!r} is not a column index of X's {k} columns")

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        # check_regressors_train expects R^2 > 0.5 on data whose signal lies in one of ten
        # columns; a one-variable formula sees one column, and the formula is the user's.
        tags.regressor_tags.poor_score = True
        return tags
