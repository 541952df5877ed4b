"""Fitted models on disk: ``--save MODEL.json``, :func:`load`, and what ``predict`` uses.

A model file is one JSON document (schema ``gradfit.model/1``)::

    {
      "schema": "gradfit.model/1",
      "kind": "polynomial",          # the model family
      "basis": "monomial",           # the basis of "coef" (always monomial in x)
      "degree": 3,
      "coef": [c0, c1, c2, c3],      # y = c0 + c1 x + ... (what the Result line prints)
      "domain": [lo, hi] | null,     # scaled fits: x in [lo, hi] was mapped onto "window"
      "window": [-1, 1] | null,
      "scaled_coef": [...] | null,   # scaled fits: the trained parameters, a polynomial in t
      "formula": "y = ...",
      "x_name": "x", "y_name": "y",  # column names, when fitted from a file
      "problem": "...", "data": {...} | null,
      "config": {...},               # every option of the run that produced it
      "metrics": {"final_loss": ..., "mse": ..., "rmse": ..., "n_points": ..., ...},
      "params": {...}, "param_errors": {...} | null,   # as a run's --json has them
      "covariance": [[...]] | null, "statistics": {...} | null,
      "versions": {...}, "saved_at": "2026-...Z"
    }

A formula model (``"kind": "formula"``) records its ``"expression"``, its ``"param_names"`` and,
in ``"coef"``, their values.

Predictions use ``scaled_coef`` in t when the fit was scaled (the well-conditioned form) and
``coef`` in x otherwise, with the same function as :meth:`FitResult.predict`, so a loaded model
predicts exactly what the fitted one did. Files are written atomically (a temporary file, then a
rename): an interrupted save leaves the previous file as it was.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from .data import WINDOW, Domain, evaluate
from .errors import UsageError
from .models import format_polynomial
from .outputs import dumps, write_text_atomic
from .schemas import MODEL_KINDS, check_document, model_schema

SCHEMA = "gradfit.model/1"
SCHEMA_PREFIX = "gradfit.model/"
RUN_SCHEMA_PREFIX = "gradfit.fit/"


@dataclass(frozen=True)
class SavedModel:
    """A fitted polynomial read from a model file. ``predict(x)`` evaluates it.

    ``coef`` are the monomial coefficients in x (lowest power first); a scaled fit also has its
    ``domain`` and ``scaled_coef`` (the polynomial in t = off + scl * x), which ``predict`` uses.
    ``document`` is the whole file, config and metrics included.
    """

    coef: np.ndarray
    domain: Domain | None = None
    scaled_coef: np.ndarray | None = None
    x_name: str = "x"
    y_name: str = "y"
    document: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    model: Any = field(default=None, repr=False, compare=False)  # a formula's FormulaModel

    @property
    def degree(self) -> int | None:
        return None if self.model is not None else int(self.coef.size) - 1

    def predict(self, x: Any) -> np.ndarray:
        """The model at ``x``, float64 (a scalar gives a 0-d array)."""
        if self.model is not None:  # a formula: coef holds its parameters
            return self.model.predict(self.coef, x)
        return evaluate(x, self.coef, self.domain, self.scaled_coef)

    def formula(self) -> str:
        """``y = a + b x + ...`` as the fit's Result line printed it."""
        if self.model is not None:
            return self.model.format(self.coef)
        return format_polynomial(self.coef)

    def to_polynomial(self) -> np.polynomial.Polynomial:
        """A ``numpy.polynomial.Polynomial`` (with the fit's domain and window when scaled)."""
        if self.domain is not None and self.scaled_coef is not None:
            return self.domain.polynomial(self.scaled_coef)
        return np.polynomial.Polynomial(self.coef)


def model_document(result: Any) -> dict[str, Any]:
    """The model file's JSON document for a :class:`~gradfit.result.FitResult`."""
    data = result.data or {}
    n = max(int(result.n_points), 1)
    final = _float(result.final_loss)
    metrics: dict[str, Any] = {
        "loss": "sum of squared errors",
        "final_loss": final,
        "mse": None if final is None else final / n,
        "rmse": None if final is None else math.sqrt(final / n),
        "n_points": int(result.n_points),
        "steps": int(result.config.steps),
        "optimum_loss": None,
        "excess_loss": None,
    }
    if result.optimum is not None:
        metrics["optimum_loss"] = _float(result.optimum.loss)
        metrics["excess_loss"] = _float(result.final_loss - result.optimum.loss)
    scaled = result.domain is not None and result.scaled_coef is not None
    if result.model.kind == "callable":
        raise UsageError(
            "a model given as a Python function cannot be saved (a function is not data); "
            "keep result.params, or write the model as a formula"
        )
    if result.model.kind == "formula":  # the expression, and its parameters' values in coef
        model: dict[str, Any] = {
            "kind": "formula",
            "expression": result.model.text,
            "param_names": list(result.model.param_names),
            "degree": None,
            "coef": _floats(result.params),
        }
    else:
        model = {
            "kind": "polynomial",
            "basis": "monomial",
            "degree": int(np.asarray(result.coef).size - 1),
            "coef": _floats(result.coef),
            "domain": result.domain.as_list() if scaled else None,
            "window": list(WINDOW) if scaled else None,
            "scaled_coef": _floats(result.scaled_coef) if scaled else None,
        }
    return {
        "schema": SCHEMA,
        **model,
        "formula": result.formula(),
        "x_name": str(data.get("x", "x")),
        "y_name": str(data.get("y", "y")),
        "problem": result.problem,
        "data": result.data,
        "config": result.config.to_dict(),
        "seed": result.seed,
        "metrics": metrics,
        **_uncertainty(result),
        "versions": dict(result.versions),
        "saved_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _uncertainty(result: Any) -> dict[str, Any]:
    """The fit's standard errors, covariance and goodness of fit, as the run's JSON has them
    (null when they were not computed)."""
    doc = result.to_dict()
    return {k: doc.get(k) for k in ("params", "param_errors", "covariance", "statistics")}


def save_model(result: Any, path: str | os.PathLike[str]) -> None:
    """Write ``result``'s model to ``path`` (JSON), atomically: temporary file, then rename."""
    write_text_atomic(path, savable_text(result, path))


def savable_text(result: Any, path: str | os.PathLike[str]) -> str:
    """The model file's text for ``result``; :class:`UsageError` if it cannot be saved (the
    fitted coefficients are not finite), before anything is written."""
    doc = model_document(result)
    scaled = doc.get("scaled_coef")
    if any(v is None for v in doc["coef"]) or (scaled and None in scaled):
        raise UsageError(f"cannot save {path}: the fitted coefficients are not finite")
    return dumps(doc)


def load(path: str | os.PathLike[str]) -> SavedModel:
    """Read a model file written by ``--save`` / :meth:`FitResult.save`.

    A missing, truncated, corrupt or foreign file raises :class:`UsageError` saying which.

    >>> import numpy as np, gradfit, tempfile, pathlib
    >>> x = np.linspace(0, 1, 20)
    >>> r = gradfit.fit(x, 1 + 2 * x, degree=1, lr="auto", steps=200, seed=0, scale=True)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "m.json"
    >>> r.save(path)
    >>> m = gradfit.load(path)
    >>> bool(np.all(m.predict([0.0, 0.5]) == r.predict([0.0, 0.5])))
    True
    """
    p = Path(path)
    label = str(path)
    if not p.exists():
        raise UsageError(f"{label}: no such model file")
    if p.is_dir():
        raise UsageError(f"{label} is a directory, not a model file")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{label} is not a gradfit model file (it is not UTF-8 text)") from None
    except OSError as exc:
        raise UsageError(f"cannot read {label}: {exc.strerror}") from None
    if not text.strip():
        raise UsageError(f"{label} is empty, not a gradfit model file")
    try:
        doc = json.loads(text, parse_constant=_not_json)
    except _NotJSON as exc:  # gradfit writes strict JSON: a NaN is a damaged or foreign file
        raise UsageError(f"{label} is not a valid gradfit model file: {exc}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{label} is not a valid gradfit model file: invalid JSON at line {exc.lineno}, "
            f"column {exc.colno} ({exc.msg}); is it truncated or corrupt?"
        ) from None
    except (ValueError, RecursionError) as exc:  # a 5000-digit number, 10^5 nested lists
        what = "nested too deeply" if isinstance(exc, RecursionError) else "a number too long"
        raise UsageError(f"{label} is not a valid gradfit model file: {what}") from None
    return from_document(doc, label)


def from_document(doc: Any, label: str = "model") -> SavedModel:
    """Check a parsed model document and build the :class:`SavedModel` it describes."""
    schema = doc.get("schema") if isinstance(doc, dict) else None
    if not isinstance(schema, str) or not schema.startswith("gradfit."):
        raise UsageError(f'{label} is not a gradfit model file (no \'"schema": "{SCHEMA}"\')')
    if schema.startswith(RUN_SCHEMA_PREFIX):
        raise UsageError(
            f"{label} is a run report ({schema}, written by --json), not a model; "
            "write model files with --save MODEL.json"
        )
    if schema != SCHEMA:
        newer = schema.startswith(SCHEMA_PREFIX)
        raise UsageError(
            f"{label} has schema {schema!r}, which this gradfit cannot read"
            + ("; it was probably written by a newer gradfit: upgrade gradfit" if newer else "")
        )

    kind = doc.get("kind")
    if not (isinstance(kind, str) and kind in MODEL_KINDS):
        raise UsageError(f"{label} holds a {_clip(kind)} model, which this gradfit cannot evaluate")
    check_document(doc, model_schema(kind), "gradfit model file", label)

    # What the schema cannot say: facts across fields.
    def corrupt(what: str) -> UsageError:
        return UsageError(f"{label}: {what}")

    coef = np.asarray(doc["coef"], dtype=np.float64)
    if kind == "formula":
        return _formula_model(doc, coef, label)
    degree = doc.get("degree")
    if degree is not None and degree != coef.size - 1:
        raise corrupt(f'"degree" is {_clip(degree)} but "coef" has {coef.size} values')
    domain = None
    scaled = None
    if doc.get("domain") is not None:
        lo, hi = (float(v) for v in doc["domain"])
        if not lo < hi:
            raise corrupt(f'"domain" must be two numbers lo < hi, got [{lo:g}, {hi:g}]')
        domain = Domain(lo, hi)
        scaled = np.asarray(doc["scaled_coef"], dtype=np.float64)
        if scaled.size != coef.size:
            raise corrupt(f'"scaled_coef" has {scaled.size} values but "coef" has {coef.size}')
    return SavedModel(coef, domain, scaled, doc.get("x_name", "x"), doc.get("y_name", "y"), doc)


def _formula_model(doc: dict[str, Any], coef: np.ndarray, label: str) -> SavedModel:
    """A saved formula model: its expression parsed by the same whitelist as --model (never
    run as Python), its parameter names checked against the expression's."""
    from .models import FormulaModel

    model = FormulaModel.from_text(doc["expression"], f'{label}: "expression"')
    names = list(doc["param_names"])
    if names != list(model.param_names):
        raise UsageError(
            f'{label}: "param_names" {_clip(names)} are not the parameters of the '
            f"expression ({', '.join(model.param_names)})"
        )
    if coef.size != len(names):
        raise UsageError(f'{label}: "coef" has {coef.size} values for {len(names)} parameters')
    x_name, y_name = doc.get("x_name", "x"), doc.get("y_name", "y")
    return SavedModel(coef, None, None, x_name, y_name, doc, model)


class _NotJSON(ValueError):
    """NaN or Infinity in a model file: Python's json reads them, JSON has no such tokens."""


def _not_json(token: str) -> Any:
    raise _NotJSON(f"{token} is not JSON (a model file holds finite numbers only)")


def _clip(value: Any) -> str:
    try:
        text = repr(value)
    except ValueError:  # an integer too long to print
        return "a number too long to show"
    return text if len(text) <= 60 else text[:57] + "..."


def _float(v: Any) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def _floats(a: Any) -> list[float | None]:
    return [_float(v) for v in np.asarray(a, dtype=np.float64).tolist()]
