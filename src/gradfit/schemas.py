"""The JSON documents gradfit reads back, described field by field as JSON Schema (2020-12).

Two documents come from files a user may hand over from anywhere: a model file (``--save``,
read by ``gradfit predict`` and :func:`gradfit.load`) and a checkpoint's metadata (the JSON
member ``meta`` of a ``--checkpoint`` archive, read by ``--resume``). Each field's type, range,
length and nesting are said here, once, as a schema; :func:`check_document` validates a parsed
document against one with ``jsonschema`` and turns the first problem into one error line that
names the file and the field (``m.json: "coef"[2] must be a finite number, got "x"``). What a
schema cannot say stays in the code that reads the document: facts across fields (``degree``
is ``len(coef) - 1``, ``lo < hi``), arrays named by the metadata that the archive must hold.

Unknown keys are accepted at the top level of both documents (a newer gradfit may add fields;
an older one reads what it knows). To add a field, add one entry to :data:`MODEL_FIELDS` (or
:data:`CHECKPOINT_FIELDS`); to add a kind of model, one entry to :data:`MODEL_KINDS` naming its
required fields and any rule of its own. Each schema's ``description`` is the wording an error
line uses ("must be <description>"), so a field and its message live together.

``jsonschema`` is imported only when a document is checked, so that commands which read no
model or checkpoint (``gradfit --help``, a plain ``gradfit fit``) never load it.
"""

from __future__ import annotations

import functools
import json
import sys
from typing import Any

from .errors import UsageError

DIALECT = "https://json-schema.org/draft/2020-12/schema"
MAX_FLOAT = sys.float_info.max
MAX_DEPTH = 64  # nesting (objects and lists) past which a document is refused unread
MESSAGE_LIMIT = 200  # characters of an error line's detail, at most

# --- building blocks ---------------------------------------------------------------------------

# A JSON number that is a finite float64: the range refuses 1e400 (parsed as inf) and a
# 400-digit integer; NaN is not JSON and is refused when a model file is parsed.
FINITE: dict[str, Any] = {
    "type": "number",
    "minimum": -MAX_FLOAT,
    "maximum": MAX_FLOAT,
    "description": "a finite number",
}


def _numbers(description: str, **more: Any) -> dict[str, Any]:
    return {"type": "array", "items": FINITE, "description": description, **more}


def _nullable(schema: dict[str, Any], description: str) -> dict[str, Any]:
    """``schema`` or null (its ``type`` widened), with the wording for both."""
    kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    return {**schema, "type": [*kinds, "null"], "description": description}


STRING = {"type": "string", "description": "a string"}
OBJECT = {"type": "object", "description": "an object"}

# --- model files (gradfit.model/1) -------------------------------------------------------------

# Every field a model file of any kind may hold: its type, range and length, in one place.
MODEL_FIELDS: dict[str, dict[str, Any]] = {
    "schema": STRING,
    "kind": STRING,
    "basis": {"const": "monomial", "description": '"monomial" (the basis of "coef")'},
    "degree": {
        "type": ["integer", "null"],
        "minimum": 0,
        "description": "a non-negative integer or null",
    },
    "coef": _numbers("a non-empty list of finite numbers", minItems=1),
    "domain": _nullable(
        _numbers("", minItems=2, maxItems=2), "null or a list of two finite numbers lo < hi"
    ),
    "window": {"enum": [None, [-1, 1]], "description": "null or [-1, 1]"},
    "scaled_coef": _nullable(_numbers(""), "null or a list of finite numbers"),
    "formula": STRING,
    "expression": {
        "type": "string",
        "minLength": 1,
        "maxLength": 1000,
        "description": "a formula in x of at most 1000 characters",
    },
    "param_names": {
        "type": "array",
        "items": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_]*$"},
        "minItems": 1,
        "maxItems": 300,
        "description": "a non-empty list of parameter names",
    },
    "x_name": STRING,
    "y_name": STRING,
    "problem": _nullable(STRING, "a string or null"),
    "data": _nullable(OBJECT, "an object or null"),
    "config": OBJECT,
    "seed": {"type": ["integer", "null"], "description": "an integer or null"},
    "metrics": OBJECT,
    # the fit's uncertainty, as a run's --json has it (null: not computed)
    "params": _nullable(OBJECT, "an object or null"),
    "param_errors": _nullable(OBJECT, "an object or null"),
    "covariance": _nullable({"type": "array"}, "a list of rows or null"),
    "statistics": _nullable(OBJECT, "an object or null"),
    "versions": OBJECT,
    "saved_at": STRING,
}

# Each kind of model: the fields it requires (beyond "schema" and "kind") and rules of its own.
MODEL_KINDS: dict[str, dict[str, Any]] = {
    # a formula model: "coef" holds its parameters' values, in the order of "param_names"
    "formula": {"required": ["expression", "param_names", "coef"]},
    "polynomial": {
        "required": ["basis", "coef"],
        # a scaled fit is evaluated in t: its domain comes with the coefficients in t
        "if": {"required": ["domain"], "properties": {"domain": {"type": "array"}}},
        "then": {
            "required": ["scaled_coef"],
            "properties": {
                "scaled_coef": {
                    "type": "array",
                    "description": 'a list of finite numbers (the model has a "domain")',
                }
            },
        },
    },
}


@functools.cache
def model_schema(kind: str) -> dict[str, Any]:
    """The whole schema of a model file of ``kind`` (a key of :data:`MODEL_KINDS`); one object
    per kind, so that its compiled validator is reused."""
    rules = dict(MODEL_KINDS[kind])
    required = ["schema", "kind", *rules.pop("required", [])]
    return {
        "$schema": DIALECT,
        "type": "object",
        "description": "a JSON object",
        "properties": MODEL_FIELDS,
        "required": required,
        **rules,
    }


# --- checkpoint metadata (gradfit.checkpoint/2) ------------------------------------------------

_SCALAR = ["null", "boolean", "number", "string"]
# The method's snapshot as training/checkpoint.py encodes it: JSON scalars and lists, and
# objects that stand for an array member, a tensor, a tuple, a dict or a record.
ENCODED: dict[str, Any] = {
    "description": "an encoded value (a number, a string, a list, or an array, tuple, dict or "
    "record entry)",
    "anyOf": [
        {"type": _SCALAR},
        {"type": "array", "items": {"$ref": "#/$defs/encoded"}},
        {
            "type": "object",
            "required": ["__ndarray__"],
            "properties": {"__ndarray__": STRING, "scalar": {"type": "boolean"}},
        },
        {"type": "object", "required": ["__tensor__"], "properties": {"__tensor__": STRING}},
        {
            "type": "object",
            "required": ["__tuple__"],
            "properties": {"__tuple__": {"type": "array", "items": {"$ref": "#/$defs/encoded"}}},
        },
        {
            "type": "object",
            "required": ["__dict__"],
            "properties": {"__dict__": {"type": "array", "items": {"$ref": "#/$defs/pair"}}},
        },
        {
            "type": "object",
            "required": ["__record__", "fields"],
            "properties": {
                "__record__": STRING,
                "fields": {"type": "array", "items": {"$ref": "#/$defs/field"}},
            },
        },
    ],
}


def _pair(first: dict[str, Any], second: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "type": "array",
        "prefixItems": [first, second],
        "minItems": 2,
        "maxItems": 2,
        "description": description,
    }


CHECKPOINT_FIELDS: dict[str, dict[str, Any]] = {
    "schema": STRING,
    "step": {"type": "integer", "minimum": 0, "description": "a non-negative integer"},
    "state": {"$ref": "#/$defs/encoded"},
    "history": {
        "type": "array",
        "items": _pair(
            {"type": "integer", "description": "an integer (a step)"},
            {"type": "number", "description": "a number (a loss)"},
            "a pair [step, loss]",
        ),
        "description": "a list of [step, loss] pairs",
    },
    # The run's options: each is checked by FitConfig.validated() with the option's own words;
    # here only that they are JSON scalars or flat lists of them.
    "config": {
        "type": "object",
        "additionalProperties": {
            "type": [*_SCALAR, "array"],
            "items": {"type": _SCALAR, "description": "a number, a string, true, false or null"},
            "description": "a number, a string, true, false, null or a list of those",
        },
        "description": "an object of options",
    },
    "seed": {"type": "integer", "minimum": 0, "description": "a non-negative integer"},
    "method": STRING,
    "backend": STRING,
    "dtype": STRING,
    "bound": {"type": ["number", "null"], "description": "a number or null"},
    "extra": _nullable(OBJECT, "an object or null"),
}

CHECKPOINT_SCHEMA: dict[str, Any] = {
    "$schema": DIALECT,
    "type": "object",
    "description": "a JSON object",
    "properties": CHECKPOINT_FIELDS,
    "required": [k for k in CHECKPOINT_FIELDS if k != "extra"],
    "$defs": {
        "encoded": ENCODED,
        # a dict's key: a scalar (hashable), as the states gradfit writes have
        "pair": _pair(
            {"type": _SCALAR, "description": "a number, a string, true, false or null (a key)"},
            {"$ref": "#/$defs/encoded"},
            "a [key, value] pair",
        ),
        "field": _pair(STRING, {"$ref": "#/$defs/encoded"}, "a [name, value] pair"),
    },
}


# --- checking ----------------------------------------------------------------------------------

# id(schema) -> (schema, its compiled validator); the schema is kept so that its id stays its own
_VALIDATORS: dict[int, tuple[dict[str, Any], Any]] = {}


def check_document(doc: Any, schema: dict[str, Any], what: str, label: str) -> None:
    """Raise :class:`UsageError` unless ``doc`` (parsed JSON) is valid against ``schema``.

    The line names ``label`` (the file, as the message should show it) and the JSON path of the
    first bad field: ``m.json: "coef"[2] must be a finite number, got "x"``; ``what`` names the
    document when the document itself is wrong (``the gradfit model file must be ...``). A
    document nested deeper than :data:`MAX_DEPTH` is refused before it is validated.
    """
    if nesting_depth(doc) > MAX_DEPTH:
        raise UsageError(f"{label}: the {what} is nested more than {MAX_DEPTH} levels deep")
    error = _first_error(doc, schema)
    if error is not None:
        raise UsageError(f"{label}: {_clip(describe(error, what), MESSAGE_LIMIT)}")


def _first_error(doc: Any, schema: dict[str, Any]) -> Any:
    from jsonschema.exceptions import best_match

    entry = _VALIDATORS.get(id(schema))
    if entry is None or entry[0] is not schema:
        from jsonschema.validators import Draft202012Validator

        entry = _VALIDATORS[id(schema)] = (schema, Draft202012Validator(schema))
    errors = list(entry[1].iter_errors(doc))
    # A field's own error before one from a rule across fields ("if"/"then"), which may only
    # be its consequence (a bad "domain" also fails "then it has scaled_coef").
    own = [e for e in errors if not (e.schema_path and e.schema_path[0] in ("then", "else"))]
    return best_match(own or errors)


def nesting_depth(doc: Any) -> int:
    """How deeply objects and lists nest in ``doc`` (a scalar: 0), counted without recursion."""
    deepest, stack = 0, [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, depth)
            if depth <= MAX_DEPTH:  # deeper: refused whatever lies below, no need to look
                children = node.values() if isinstance(node, dict) else node
                stack.extend((child, depth + 1) for child in children)
    return deepest


def describe(error: Any, what: str) -> str:
    """One jsonschema error in words: ``"coef"[2] must be a finite number, got "x"``."""
    # An error of one branch of anyOf at the choice's own place (no branch fits) is worded as
    # the choice; one deeper inside a branch (it got past the choice) is worded as itself.
    parent = error.parent
    choice = parent is not None and parent.validator in ("anyOf", "oneOf")
    if choice and len(error.absolute_path) <= len(parent.absolute_path):
        error = parent
    where = pointer(error.absolute_path, what)
    if error.validator == "required":
        missing = next(k for k in error.validator_value if k not in error.instance)
        return f"{pointer([*error.absolute_path, missing], what)} is missing"
    wanted = error.schema.get("description") if isinstance(error.schema, dict) else None
    if not wanted:
        wanted = _wanted(error)
    return f"{where} must be {wanted}, got {_shown(error.instance)}"


def pointer(path: Any, what: str) -> str:
    """A JSON path as ``"coef"[2]`` or ``"config"."lr"``; the root as ``the <what>``."""
    parts = list(path)
    if not parts:
        return f"the {what}"
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else ("." if text else "") + _quote(part)
    return text


def _wanted(error: Any) -> str:
    """What a keyword asked for, for a schema without a description."""
    value = error.validator_value
    kind = error.validator
    if kind == "type":
        kinds = value if isinstance(value, list) else [value]
        return " or ".join(_TYPE_WORDS.get(k, k) for k in kinds)
    if kind == "const":
        return _shown(value)
    if kind == "enum":
        return "one of " + ", ".join(_shown(v) for v in value)
    if kind in ("minItems", "maxItems"):
        return f"{'at least' if kind == 'minItems' else 'at most'} {value} item(s) long"
    if kind in ("minimum", "maximum"):
        return f"{'>=' if kind == 'minimum' else '<='} {value}"
    return _clip(error.message, 80)  # a keyword not worded here: jsonschema's own words


_TYPE_WORDS = {
    "number": "a number",
    "integer": "an integer",
    "string": "a string",
    "array": "a list",
    "object": "an object",
    "boolean": "true or false",
    "null": "null",
}


def _quote(key: str) -> str:
    return _clip(json.dumps(key), 40)


def _shown(value: Any) -> str:
    """``value`` as JSON, cut short (a 400-digit integer, a long list)."""
    try:
        text = json.dumps(value, allow_nan=True)
    except (ValueError, TypeError, RecursionError):
        text = type(value).__name__
    return _clip(text, 60)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
