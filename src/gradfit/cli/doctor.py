"""``gradfit doctor``: its options, handler and help text live in :mod:`gradfit.doctor`."""

from __future__ import annotations

from typing import Any


def add_parser(sub: Any) -> None:
    """Add ``gradfit doctor`` as :mod:`gradfit.doctor` describes it."""
    from .. import doctor

    doctor.configure_parser(sub.add_parser("doctor", **doctor.parser_kwargs()))
