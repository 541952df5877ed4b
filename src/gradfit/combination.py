"""The building blocks of :data:`gradfit.config.COMBINATIONS`: a :class:`Combination` of
options that cannot go together, and the tests its fields are read with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def given(value: Any) -> bool:
    return value is not None


def absent(value: Any) -> bool:
    return value is None


def on(value: Any) -> bool:
    return bool(value)


def one_of(*values: Any) -> Callable[[Any], bool]:
    return lambda value: value in values


def none_of(*values: Any) -> Callable[[Any], bool]:
    return lambda value: value not in values


@dataclass(frozen=True)
class Combination:
    """Options each valid alone that cannot go together.

    Refused when every test in ``when`` holds for its field's (checked) value; ``message`` is
    formatted with those values (``{method}``, ``{model}``: the model's kind, ``{optimizer}``).
    ``stage`` is when it is checked: right after the fields it reads, so that the first problem
    reported is the same as a field-by-field reading of the options would find.
    """

    stage: str
    when: dict[str, Callable[[Any], bool]]
    message: str
