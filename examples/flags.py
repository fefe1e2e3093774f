"""Command-line flags from a config dataclass: every field is a `--field-name` flag.

The examples' CLIs (the trainer, the study, time to accuracy) and the benchmarks describe
their settings as one frozen dataclass each. `parse` turns its fields into flags, takes each
flag's help from the `Attributes:` section of the dataclass's docstring and its default from
the field, and builds the dataclass from what was given, so the dataclass's own checks
(`__post_init__`) judge the values. Booleans get `--x/--no-x`, tuples take comma-separated
values. Named presets (`--smoke`) set several fields at once; explicit flags win over them.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

C = TypeVar("C")


def flag(name: str) -> str:
    """The flag of a field: `--` and the name with dashes."""
    return "--" + name.replace("_", "-")


def field_help(config_type: type, name: str) -> str:
    """The description of field `name` in the `Attributes:` section of the docstring."""
    doc = config_type.__doc__ or ""
    collected: list[str] = []
    for line in doc.split("Attributes:", 1)[-1].splitlines():
        stripped = line.strip()
        names = [n.strip() for n in stripped.split(":", 1)[0].split(",")]
        if ":" in stripped and name in names and all(n.isidentifier() for n in names):
            collected.append(stripped.split(":", 1)[1].strip())
        elif collected and stripped and not stripped.split(":")[0].isidentifier():
            collected.append(stripped)
        elif collected:
            break
    return " ".join(collected)


def _parse_tuple(element: Callable[[str], Any]) -> Callable[[str], tuple[Any, ...]]:
    def parse(text: str) -> tuple[Any, ...]:
        try:
            return tuple(element(x.strip()) for x in text.split(",") if x.strip())
        except ValueError as e:
            raise argparse.ArgumentTypeError(f"{text!r}: {e}") from None

    return parse


def _argument_type(hint: Any) -> Callable[[str], Any]:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    if typing.get_origin(hint) is tuple:
        return _parse_tuple(typing.get_args(hint)[0])
    return typing.cast(Callable[[str], Any], hint)


def add_flags(
    parser: argparse.ArgumentParser,
    config_type: type,
    choices: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Adds one flag per field of `config_type`; a flag that is not given is left out of the
    parsed namespace (its default is the field's)."""
    hints = typing.get_type_hints(config_type)
    for field in dataclasses.fields(config_type):
        default = field.default
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        help_text = f"{field_help(config_type, field.name)} (default: {shown})"
        if hints[field.name] is bool:
            parser.add_argument(
                flag(field.name),
                action=argparse.BooleanOptionalAction,
                default=argparse.SUPPRESS,
                help=help_text,
            )
            continue
        field_choices = (choices or {}).get(field.name)
        parser.add_argument(
            flag(field.name),
            type=_argument_type(hints[field.name]),
            default=argparse.SUPPRESS,
            choices=field_choices,
            metavar=None if field_choices else field.name.upper(),
            help=help_text,
        )


def parse(
    config_type: type[C],
    argv: Sequence[str] | None,
    *,
    prog: str,
    description: str,
    epilog: str | None = None,
    choices: Mapping[str, Sequence[str]] | None = None,
    presets: Mapping[str, tuple[str, Mapping[str, Any]]] | None = None,
    extra: Callable[[argparse.ArgumentParser], None] | None = None,
) -> tuple[C, argparse.Namespace]:
    """Parses `argv` into a `config_type`; exits with a usage message if a flag is bad.

    Args:
      config_type: the config dataclass.
      argv: the arguments (None: `sys.argv[1:]`).
      prog, description, epilog: for `--help`.
      choices: the allowed values of some fields.
      presets: name -> (help, field values) for mutually exclusive flags `--name`.
      extra: adds flags that are not fields (an action such as `--replot`).

    Returns:
      The config, and the namespace with the extra flags.
    """
    parser = argparse.ArgumentParser(prog=prog, description=description, epilog=epilog)
    if presets:
        group = parser.add_mutually_exclusive_group()
        for name, (help_text, _) in presets.items():
            group.add_argument(flag(name), action="store_true", help=help_text)
    add_flags(parser, config_type, choices)
    if extra is not None:
        extra(parser)
    namespace = parser.parse_args(argv)
    values: dict[str, Any] = {}
    for name, (_, preset) in (presets or {}).items():
        if getattr(namespace, name):
            values.update(preset)
    fields = {field.name for field in dataclasses.fields(config_type)}  # type: ignore[arg-type]
    values.update({k: v for k, v in vars(namespace).items() if k in fields})
    try:
        return config_type(**values), namespace
    except ValueError as e:
        parser.error(str(e))


def add_replot(parser: argparse.ArgumentParser) -> None:
    """`--replot`: redraw the tables and figures from results.json instead of training."""
    parser.add_argument(
        "--replot", action="store_true", help="train nothing: redraw from --out/results.json"
    )
