"""The building blocks of :data:`gradfit.config.COMBINATIONS`: a :class:`Combination` of
options that cannot go together, and the tests its fields are read with."""

from __future__ import annotations

from collections.abc import Callable, Iterable
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


# One stage's rules as the check reads them: ((field, test) pairs, message), in table order.
Rules = tuple[tuple[tuple[tuple[str, Callable[[Any], bool]], ...], str], ...]


def by_stage(rules: Iterable[Combination]) -> dict[str, Rules]:
    """The rules of each stage, in their order, ready for :func:`first_refused` (the table is
    read once per stage of every validation: a small fit's validation is mostly this)."""
    out: dict[str, list[Any]] = {}
    for rule in rules:
        out.setdefault(rule.stage, []).append((tuple(rule.when.items()), rule.message))
    return {stage: tuple(staged) for stage, staged in out.items()}


def first_refused(rules: Rules, facts: dict[str, Any]) -> str | None:
    """The message of the first rule whose every test holds for ``facts``, else None."""
    for when, message in rules:
        for name, test in when:
            if not test(facts[name]):
                break
        else:
            return message
    return None
