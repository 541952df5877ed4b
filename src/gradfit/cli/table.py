"""The run options of fit, explain and compare, generated from :data:`gradfit.options.OPTIONS`,
and the way back: parsed arguments -> :class:`~gradfit.config.FitConfig`.

Every table option is added with ``default=None``, so that only the options the user gave
override a preset; the real defaults live in FitConfig and are quoted in the help text.
"""

from __future__ import annotations

import argparse
import math
import re
from dataclasses import fields
from typing import Any

from ..config import FitConfig
from ..errors import UsageError
from ..options import GROUPS, Option, options_for
from .common import learning_rate, number, number_list

# How each of the table's value types is parsed (None: the text as given).
PARSERS: dict[str, Any] = {
    "str": None,
    "int": int,
    "float": float,
    "number": number,
    "lr": learning_rate,
    "numbers": number_list,
}

# Options of these commands that are not FitConfig fields (they choose where the config comes
# from, what to compare, or where the results go), by dest.
CLI_ONLY = frozenset(
    {"help", "preset", "json", "plot", "quiet", "report", "save", "debug", "plain", "animate"}
    | {"methods", "backends", "optimizers"}
)

_DEFAULTS = {f.name: f.default for f in fields(FitConfig)}


def default_text(option: Option) -> str:
    """FitConfig's default for ``option``, written as one would type it (``-pi pi``, ``1e-8``)."""
    value = _DEFAULTS[option.field]
    values = value if isinstance(value, tuple) else (value,)
    return " ".join(_typed(v) for v in values)


def _typed(value: Any) -> str:
    if isinstance(value, float):
        if abs(value) == math.pi:
            return "-pi" if value < 0 else "pi"
        return re.sub(r"e([+-])0*(\d)", r"e\1\2", f"{value:g}")
    return str(value)


def help_text(option: Option) -> str:
    """The option's help, with its default and choices filled in."""
    return option.help.format(default=default_text(option), choices=" | ".join(option.choices))


def add_table_options(parser: argparse.ArgumentParser, command: str) -> None:
    """Add the table's options for ``command``, group by group (basics first, with --preset)."""
    offered = options_for(command)
    for key, title in GROUPS.items():
        members = [o for o in offered if o.group == key]
        if not members:
            continue
        group = parser.add_argument_group(title)
        if key == "basics":
            group.add_argument(
                "--preset",
                default=None,
                metavar="NAME",
                help="start from a preset (see 'gradfit presets'); other options override it",
            )
        for option in members:
            _add(group, option)


def _add(group: Any, option: Option) -> None:
    kwargs: dict[str, Any] = {"dest": option.field, "default": None, "help": help_text(option)}
    if option.action == "boolean":
        kwargs["action"] = argparse.BooleanOptionalAction
    elif option.action is not None:
        kwargs["action"] = option.action
    else:
        kwargs.update(type=PARSERS[option.type], metavar=option.metavar, nargs=option.nargs)
    group.add_argument(*option.flags, **kwargs)


def given_options(args: argparse.Namespace) -> dict[str, Any]:
    """The FitConfig fields of ``args``: each table option of the command, None where not given
    (sequences of numbers as tuples)."""
    values: dict[str, Any] = {}
    for option in options_for(args.command):
        value = getattr(args, option.field)
        if option.nargs is not None and value is not None:
            value = tuple(value)
        values[option.field] = value
    return values


def check_target_or_data(values: dict[str, Any]) -> None:
    """--target and --data both say what to fit: only one may be given."""
    if values.get("data") is not None and values.get("target") is not None:
        raise UsageError("--target and --data are alternatives: fit a formula or a file")


def config_from_args(args: argparse.Namespace) -> FitConfig:
    """Preset (if any) <- options the user gave; everything else keeps FitConfig's default."""
    from ..presets import preset_config

    values = given_options(args)
    check_target_or_data(values)
    return preset_config(args.preset, **values).validated()


__all__ = ["CLI_ONLY", "add_table_options", "config_from_args", "given_options", "help_text"]
