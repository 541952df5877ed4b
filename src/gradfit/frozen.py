"""``evolve``: :func:`dataclasses.replace` for gradfit's frozen records, at a fraction of its cost.

``replace`` calls the class's generated ``__init__`` with every field by keyword - about 15 us
for FitConfig's forty fields, paid several times by every small fit. A frozen dataclass whose
``__init__`` only stores its fields (no ``__post_init__``, no ``InitVar``) is copied exactly by
copying those fields: that is what :func:`evolve` does, and it falls back to ``replace`` for any
other class.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, TypeVar

T = TypeVar("T")


def evolve(record: T, **changes: Any) -> T:
    """A copy of the dataclass ``record`` with ``changes``; only its fields are copied (an
    attribute that is not a field, such as FitConfig's validated mark, is not), as
    ``dataclasses.replace`` would. A change that names no field is a TypeError."""
    cls = type(record)
    names = cls.__dataclass_fields__  # type: ignore[attr-defined]
    if hasattr(cls, "__post_init__") or getattr(cls, "__slots__", None) is not None:
        return replace(record, **changes)  # type: ignore[type-var]
    values = dict(record.__dict__)
    if len(values) != len(names):  # attributes that are not fields: left behind
        values = {name: values[name] for name in names}
    for name in changes:
        if name not in names:
            raise TypeError(f"{cls.__name__} has no field {name!r}")
    values.update(changes)
    copy = object.__new__(cls)
    copy.__dict__.update(values)
    return copy
