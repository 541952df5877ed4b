"""``gradfit presets``: list the presets for ``gradfit fit --preset NAME``."""

from __future__ import annotations

import argparse
from typing import Any

from .common import HelpFormatter


def add_parser(sub: Any) -> None:
    """``gradfit presets``: no options."""
    presets = sub.add_parser(
        "presets",
        help="list the presets: the article's runs and the PyTorch tutorial's rungs",
        description="List the presets for 'gradfit fit --preset NAME'.",
        epilog="example:\n  gradfit presets\n  gradfit fit --preset custom-function",
        formatter_class=HelpFormatter,
    )
    presets.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print each preset and the command line it stands for."""
    from ..options import BY_FIELD
    from ..presets import PRESETS

    width = max(len(name) for name in PRESETS)
    for name, (description, values) in PRESETS.items():
        flags = (
            " ".join(f"{BY_FIELD[k].flags[0]} {v}" for k, v in values.items() if k != "backend")
            or "(the defaults)"
        )
        backend = values.get("backend", "torch")
        print(f"{name.ljust(width)}  {description}")
        print(f"{''.ljust(width)}  = gradfit fit --backend {backend} {flags}".rstrip())
    return 0
