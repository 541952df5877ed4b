"""A scikit-learn estimator: gradfit's polynomial fit inside Pipeline, GridSearchCV and friends.

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
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "gradfit.sklearn needs scikit-learn >= 1.6 (failed to import it: "
        f"{exc}); install it with: pip install 'gradfit[sklearn]'"
    ) from exc

from .api import fit as gradfit_fit
from .data import Domain

__all__ = ["GDPolynomialRegressor"]


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
    intercept_ : float
    coef_ : ndarray of shape (n_features, degree)
        Monomial coefficients of x_j, x_j**2, ..., in the original (unscaled) features.
    result_ : FitResult (one feature only)
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

    def fit(self, X: Any, y: Any) -> GDPolynomialRegressor:
        """Fit the polynomial to ``X`` (n_samples, n_features) and ``y`` (n_samples,)."""
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
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
        if k == 1:
            self._fit_one(X[:, 0], y, seed)
        else:
            self._fit_additive(X, y, seed)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predictions for ``X`` (n_samples, n_features), float64."""
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        if self.result_ is not None:
            return np.asarray(self.result_.predict(X[:, 0]), dtype=np.float64)
        return self._design(X) @ self.scaled_params_

    def _seed(self) -> int | None:
        if self.random_state is None:
            return None
        if isinstance(self.random_state, (int, np.integer)):
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(0, 2**31 - 1))

    def _fit_one(self, x: np.ndarray, y: np.ndarray, seed: int | None) -> None:
        result = gradfit_fit(
            x,
            y,
            degree=self.degree,
            backend=self.backend,
            dtype=self.dtype,
            lr=self.lr,
            steps=self.steps,
            log_every=self.steps,
            seed=seed,
            scale=self.scale,
            reference=False,
        )
        self.result_ = result
        self.intercept_ = float(result.coef[0])
        self.coef_ = np.asarray(result.coef[1:], dtype=np.float64).reshape(1, -1)
        self.domains_ = [result.domain]
        self.scaled_params_ = (
            result.scaled_coef if result.scaled_coef is not None else result.coef.copy()
        )
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
        result = gradfit_fit(
            np.column_stack(columns),
            y,
            model="additive",
            degree=self.degree,
            backend=self.backend,
            dtype=self.dtype,
            lr=self.lr,
            steps=self.steps,
            log_every=self.steps,
            seed=seed,
            reference=False,
        )
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
