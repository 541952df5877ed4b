"""FitResult: everything a run produced, with ways to use and export it."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .config import FitConfig
from .data import Domain, evaluate
from .understand.analysis import Optimum
from .understand.uncertainty import FitStatistics, json_matrix

SCHEMA = "gradfit.fit/1"


class Deferred:
    """A value not computed yet: ``compute()`` gives it, once, when it is first read.

    What :func:`gradfit.training.execute.result_of` puts in ``FitResult.statistics`` when
    the statistics can wait: a library fit that never reads them does not pay for them.
    """

    __slots__ = ("compute",)

    def __init__(self, compute: Callable[[], Any]) -> None:
        self.compute = compute


class _OnFirstRead:
    """A dataclass field whose value may be a :class:`Deferred`: computed on its first read
    and kept (the field's default is None)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_{name}_value"

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:  # the class's attribute: the field's default
            return None
        value = obj.__dict__.get(self.slot)
        if type(value) is Deferred:
            value = value.compute()
            obj.__dict__[self.slot] = value
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.slot] = value


@dataclass
class FitResult:
    """The outcome of :func:`gradfit.fit`.

    ``coef`` are the fitted coefficients in the monomial basis of x, lowest power first (the
    article's a, b, c, d); ``params`` the model's own parameters (the same for a monomial
    polynomial; Legendre coefficients, or legendre3's a, b, c, d); ``loss_history`` holds
    ``(step, loss)`` for every logged step, the loss being the one *before* that step's update
    (what the article prints); ``final_loss`` is the loss at the final parameters;
    ``statistics`` the standard errors and goodness of fit at them (a
    :class:`gradfit.understand.uncertainty.FitStatistics` of the parameters :meth:`reported`
    names; None for the dynamic net or a loss that is not a sum of squares), computed when
    first read where the run could defer them (a fit that never reads them does not pay for
    them; pickling, copying and :meth:`to_dict` read them).
    """

    config: FitConfig
    seed: int
    model: Any
    method: str
    optimizer: dict[str, Any]
    init_params: np.ndarray
    params: np.ndarray
    init_coef: np.ndarray
    coef: np.ndarray
    loss_history: list[tuple[int, float]]
    final_loss: float
    n_points: int
    problem: str
    device: str
    dtype: str
    optimum: Optimum | None = None
    timings: dict[str, float] = field(default_factory=dict)
    versions: dict[str, Any] = field(default_factory=dict)
    lr_auto: dict[str, Any] | None = None  # what --lr auto chose and why
    domain: Domain | None = None  # the x interval mapped to [-1, 1]; None: trained on x itself
    scaled_coef: np.ndarray | None = None  # monomial coefficients in t (lowest first) when scaled
    scaled_init_coef: np.ndarray | None = None
    data: dict[str, Any] | None = None  # the file and columns fitted, when read from a file
    dataset: Any = field(default=None, repr=False)  # the Problem fitted (for plots; not saved)
    method_auto: str | None = None  # --method auto: why it chose `method`

    distributed: dict[str, Any] | None = None  # world size, rank, backend of a distributed run
    seed_drawn: bool = False  # the seed was drawn for this run and shaped it (not saved)
    stop_reason: str | None = None  # why the run ended before --steps (lm: converged)
    steps_done: int | None = None  # the steps run when it ended early
    # Standard errors, covariance, R^2, AIC... at the fitted parameters (None: not computed);
    # computed on first read when the run deferred them (a Deferred given here).
    statistics: FitStatistics | None = _OnFirstRead()  # type: ignore[assignment]

    def __getstate__(self) -> dict[str, Any]:
        """What pickle and copy keep: every field, the deferred statistics computed first (a
        pickled result carries their values, not the way to compute them)."""
        self.statistics  # noqa: B018 - computes a Deferred value in place
        return self.__dict__

    def __repr__(self) -> str:
        from .notebook import result_text

        return result_text(self)

    def _repr_html_(self) -> str:
        """Jupyter's view: the Result line, the loss table, the standard errors, the plot."""
        from .notebook import result_html

        return result_html(self)

    def _repr_png_(self) -> bytes | None:
        """The ``--plot`` figure, where HTML is not shown (None: no matplotlib)."""
        from .notebook import result_png

        return result_png(self)

    def predict(self, x: Any) -> np.ndarray:
        """The fitted model at ``x`` (float64 NumPy); in the scaled variable when scaled."""
        if hasattr(self.model, "predict"):  # a formula or a function: not a polynomial
            return self.model.predict(self.params, x)
        return evaluate(x, self.coef, self.domain, self.scaled_coef)

    def to_polynomial(self) -> np.polynomial.Polynomial:
        """The fit as a ``numpy.polynomial.Polynomial``.

        Unscaled: the monomial coefficients of x, no domain mapping. Scaled: the coefficients in
        t with the fit's domain and window, as ``Polynomial.fit`` returns them (``.convert()``
        gives the monomial form in x).
        """
        if self.domain is not None and self.scaled_coef is not None:
            return self.domain.polynomial(self.scaled_coef)
        return np.polynomial.Polynomial(self.coef)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the fitted model to ``path`` as JSON, atomically (see :mod:`gradfit.saved`)."""
        from .saved import save_model

        save_model(self, path)

    def formula(self) -> str:
        """The model with its fitted parameters, e.g. the article's ``y = a + b x + c x^2 + d x^3``
        (the ``Result:`` line without ``Result:``). A scaled fit is shown in powers of x: its own
        parameters belong to t, the mapped variable."""
        if self.domain is not None:
            return self.monomial_formula()
        return self.model.format(self.params)

    def monomial_formula(self) -> str:
        """The same fit in powers of x (the expected prediction for the dynamic net); a formula
        has no powers of x: its own formula."""
        from .models import format_polynomial

        if hasattr(self.model, "predict"):
            return self.formula()

        return format_polynomial(self.coef)

    def schedule(self) -> str:
        """How it ran, in words: ``sgd, lr 1e-06, 2000 steps`` or ``lm, 25 steps (converged,
        at most 2000)``: second-order optimizers use no learning rate and stop early."""
        name, steps = self.optimizer["name"], self.config.steps
        if name in ("lm", "gauss-newton"):
            if self.steps_done is not None:
                return f"{name}, {self.steps_done} steps (stopped; at most {steps})"
            return f"{name}, {steps} steps"
        return f"{name}, lr {self.config.lr:.6g}, {steps} steps"

    def reported(self) -> dict[str, float]:
        """The fitted parameters as reported, by name: a polynomial's monomial coefficients of
        x (``c0`` the constant, ``ck`` the coefficient of x^k), whatever its basis or scaling;
        the other models' own parameters (legendre3's a, b, c, d)."""
        if self.model.kind == "poly":
            values = np.asarray(self.coef, dtype=np.float64)
            names = [f"c{k}" for k in range(values.size)]
        else:
            values = np.asarray(self.params, dtype=np.float64)
            names = list(self.model.param_names)
        return dict(zip(names, values.tolist(), strict=True))

    def excess_loss(self) -> float | None:
        """How far the final loss is above the least-squares optimum, relative (None: no
        optimum known, or it is 0)."""
        if self.optimum is None or not self.optimum.loss > 0:
            return None
        return (self.final_loss - self.optimum.loss) / self.optimum.loss

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready document (non-finite numbers become ``null``).

        ``params`` is ``{name: value}`` of :meth:`reported`, ``param_errors`` their standard
        errors, ``covariance`` their covariance (rows in the order of ``params``) and
        ``statistics`` the goodness of fit (see :mod:`gradfit.understand.uncertainty`); the
        last three are ``null`` when not computed. ``model_params`` are the model's own trained
        parameters (Legendre coefficients, coefficients in t when scaled).
        """
        st = self.statistics
        doc: dict[str, Any] = {
            "schema": SCHEMA,
            "config": self.config.to_dict(),
            "seed": self.seed,
            "problem": {"name": self.problem, "points": self.n_points},
            "model": {
                "kind": self.model.kind,
                "degree": self.model.degree,
                "basis": getattr(self.model, "basis", "monomial"),
                "description": self.model.describe(),
                "param_names": list(self.model.param_names),
            },
            "method": self.method,
            "method_auto": self.method_auto,
            "optimizer": self.optimizer,
            "device": self.device,
            "dtype": self.dtype,
            "init_params": _floats(self.init_params),
            "params": {k: _float(v) for k, v in self.reported().items()},
            "param_errors": None
            if st is None
            else {k: _float(v) for k, v in zip(st.names, st.standard_errors.tolist(), strict=True)},
            "covariance": None if st is None else json_matrix(st.covariance),
            "statistics": None if st is None else st.to_dict(),
            "model_params": _floats(self.params),
            "init_coef": _floats(self.init_coef),
            "coef": _floats(self.coef),
            "formula": self.formula(),
            "monomial_formula": self.monomial_formula(),
            "loss_history": [[t, _float(v)] for t, v in self.loss_history],
            "final_loss": _float(self.final_loss),
            "stop": None
            if self.stop_reason is None
            else {"reason": self.stop_reason, "steps": self.steps_done},
            "optimum": None,
            "lr_auto": self.lr_auto,
            "status": "ok",
            "timings": dict(self.timings),
            "versions": dict(self.versions),
            "scaling": None,
            "data": None if self.data is None else dict(self.data),
        }
        if self.distributed is not None:
            doc["distributed"] = dict(self.distributed)
        if self.domain is not None:
            doc["scaling"] = {
                "domain": self.domain.as_list(),
                "window": list(self.domain.window),
                "init_coef": _floats(self.scaled_init_coef),
                "coef": _floats(self.scaled_coef),
            }
        if self.optimum is not None:
            doc["optimum"] = {
                "coef": _floats(self.optimum.coef),
                "loss": _float(self.optimum.loss),
                "excess_loss": _float(self.final_loss - self.optimum.loss),
            }
        return doc


def _float(v: float) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def _floats(a: Any) -> list[float | None]:
    return [_float(v) for v in np.asarray(a, dtype=np.float64).tolist()]
