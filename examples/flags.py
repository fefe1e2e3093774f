"""Command-line flags from a config dataclass: every field is a `--field-name` flag.

`parse` turns every field of a frozen config dataclass, nested ones included, into one flat
flag, its help taken from the `Attributes:` section of the declaring dataclass's docstring and
its default from the default config, and builds the config from what was given, so that the
dataclasses' own checks judge the values. Booleans get `--x/--no-x`, tuples take
comma-separated values, `option(..., choices=...)` limits the values. Presets (`--smoke`) set
several fields; `--config FILE` starts from a JSON object of flag values (as `write` makes);
the command line wins over both. JSON goes through `loads`, which refuses more than
`MAX_JSON_BYTES` or `MAX_JSON_DEPTH` before parsing (json recurses per level).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import re
import shlex
import stat
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import accumulate
from typing import Any, NoReturn, TypeVar

C = TypeVar("C")

# A config file holds a few dozen flags; a schedule's arguments nest a few levels.
MAX_JSON_BYTES = 2**20
MAX_JSON_DEPTH = 32
# Counts of steps, epochs, examples and devices: past int32, JAX's step counters wrap.
MAX_INT = 2**31 - 1
_STRING = re.compile(r'"(?:[^"\\]|\\.)*+"?', re.DOTALL)  # possessive: linear time


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser with one-line errors (exit status 2), a help text required for every
    flag (`%` escaped: argparse %-formats it), every default shown, and the first paragraph of
    `description` (a module's docstring) as the description."""

    def __init__(self, *, description: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        super().__init__(description=(description or "").split("\n\n")[0], **kwargs)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        help_text = kwargs.get("help")
        if help_text is None:
            raise ValueError(f"{args[0]} has no help text")
        if help_text is not argparse.SUPPRESS:
            kwargs["help"] = help_text.replace("%", "%%")
        return super().add_argument(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def option(
    default: Any, *, choices: Iterable[str] = (), at_least: int | None = None, **metadata: Any
) -> Any:
    """A config field with a default, the values its flag accepts (`choices`; numbers of
    `at_least` or more; `check` enforces both) and other marks (`metadata`)."""
    metadata = {"choices": tuple(choices), "at_least": at_least, **metadata}
    return dataclasses.field(default=default, metadata=metadata)


def flag(name: str) -> str:
    """The flag of a field: `--` and the name with dashes."""
    return "--" + name.replace("_", "-")


def render(values: Mapping[str, Any]) -> str:
    """Flag values as a command line gives them: `--epochs 3 --no-plot --keep-steps 20,48`."""
    words = []
    for name, value in values.items():
        if isinstance(value, bool):
            words.append(flag(name) if value else "--no-" + flag(name)[2:])
            continue
        text = ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
        words.append(f"{flag(name)} {shlex.quote(text)}")
    return " ".join(words)


def check(config: Any) -> None:
    """Raises ValueError naming the flag of `config` (nested included) whose value is not among
    its `choices`, below its `at_least`, beyond `MAX_INT`, or not finite (a tuple's elements
    each)."""
    for _, field, _, value in leaves(config):
        choices, low = field.metadata.get("choices", ()), field.metadata.get("at_least")
        name, numbers = flag(field.name), value if isinstance(value, tuple) else (value,)
        unknown = [repr(n) for n in numbers if choices and n not in choices]
        if unknown:
            raise ValueError(
                f"{name} must be one of {', '.join(choices)}; got {', '.join(unknown)}"
            )
        if any(type(n) is float and not math.isfinite(n) for n in numbers):
            raise ValueError(f"{name} must be a finite number, got {value}")
        if any(type(n) is int and abs(n) > MAX_INT for n in numbers):
            raise ValueError(f"{name} must be at most 2**31 - 1 = {MAX_INT}, got {value}")
        if low is not None and any(n is not None and n < low for n in numbers):
            raise ValueError(
                f"{name} must be {'0 or more' if low == 0 else f'at least {low}'}, got {value}"
            )


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


def _is_config(hint: Any) -> bool:
    return dataclasses.is_dataclass(hint) and isinstance(hint, type)


def leaves(config: Any) -> Iterator[tuple[type, dataclasses.Field[Any], Any, Any]]:
    """Every flag of `config`: (the dataclass declaring it, its field, its type, its value),
    nested configs walked in field order."""
    hints = typing.get_type_hints(type(config))
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if _is_config(hints[field.name]):
            yield from leaves(value)
        else:
            yield type(config), field, hints[field.name], value


def as_flags(config: Any) -> dict[str, Any]:
    """The flag values of `config`, nested configs flattened: {field name: value}."""
    return {field.name: value for _, field, _, value in leaves(config)}


def _element_type(hint: Any) -> Any:
    """The type a flag's text or a file's value becomes: Optional's type."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    return hint


def _argument_type(hint: Any) -> Callable[[str], Any]:
    hint = _element_type(hint)
    if typing.get_origin(hint) is not tuple:
        return typing.cast(Callable[[str], Any], hint)
    element = typing.get_args(hint)[0]

    def parse_tuple(text: str) -> tuple[Any, ...]:
        try:
            return tuple(element(x.strip()) for x in text.split(",") if x.strip())
        except ValueError as e:
            raise argparse.ArgumentTypeError(f"{text!r}: {e}") from None

    return parse_tuple


def _from_json(name: str, hint: Any, value: Any) -> Any:
    """A value read from a config file, checked against the field's type."""
    optional = _element_type(hint) is not hint
    hint = _element_type(hint)
    if value is None and optional:
        return None
    if typing.get_origin(hint) is tuple and isinstance(value, list):
        return tuple(_from_json(name, typing.get_args(hint)[0], item) for item in value)
    if (hint is float and type(value) in (int, float)) or type(value) is hint:
        return value
    raise ValueError(f"{name} must be {getattr(hint, '__name__', hint)}, got {value!r}")


def loads(text: str | bytes, what: str) -> Any:
    """`json.loads(text)` within `MAX_JSON_BYTES` and `MAX_JSON_DEPTH`; ValueError, starting
    with `what`, for bad JSON or a limit passed."""
    if len(text) > MAX_JSON_BYTES:
        raise ValueError(f"{what} is over {MAX_JSON_BYTES} bytes, the limit (MAX_JSON_BYTES)")
    chars = text.decode(errors="replace") if isinstance(text, bytes) else text
    # The brackets outside strings (an unclosed one runs to the end), counted without recursion.
    brackets = _STRING.sub("", chars)
    if max(accumulate((c in "[{") - (c in "]}") for c in brackets), default=0) > MAX_JSON_DEPTH:
        raise ValueError(
            f"{what} nests more than {MAX_JSON_DEPTH} levels deep, the limit (MAX_JSON_DEPTH)"
        )
    try:
        return json.loads(text)
    except ValueError as e:
        raise ValueError(f"{what} is not valid JSON ({e})") from None


def read(path: str, config_type: type) -> dict[str, Any]:
    """The flag values in the JSON file `path` (opened without blocking: a FIFO would wait
    forever), checked against `config_type`'s fields; ValueError for anything else."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ValueError("not a regular file")
            text = f.read(MAX_JSON_BYTES + 1)
    except (OSError, ValueError) as e:
        raise ValueError(f"cannot read {path}: {e}") from None
    values = loads(text, path)
    if not isinstance(values, dict):
        raise ValueError(f"{path} must hold a JSON object of flag values")
    types_of = {field.name: hint for _, field, hint, _ in leaves(config_type())}
    unknown = sorted(set(values) - set(types_of))
    if unknown:
        raise ValueError(f"{path}: {', '.join(unknown)} not among the flags")
    return {name: _from_json(f"{path}: {name}", types_of[name], v) for name, v in values.items()}


def write_whole(path: str, text: str) -> None:
    """Writes `text` to `path.tmp`, then renames it over `path`: a reader (or a run cut off)
    never sees half a file."""
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def write(config: Any, path: str, leave_out: Sequence[str] = ()) -> None:
    """Writes the flag values of `config` (but `leave_out`) to `path` as a JSON object."""
    values = {k: v for k, v in as_flags(config).items() if k not in leave_out}
    write_whole(path, json.dumps(values, indent=1) + "\n")


def build(config_type: type[C], values: Mapping[str, Any], base: Any = None) -> C:
    """A `config_type` with `values` (flag names) over `base` (None: the default config)."""
    base = config_type() if base is None else base
    hints, kwargs = typing.get_type_hints(config_type), {}
    for field in dataclasses.fields(base):
        value, hint = getattr(base, field.name), hints[field.name]
        nested = _is_config(hint)
        kwargs[field.name] = build(hint, values, value) if nested else values.get(field.name, value)
    return config_type(**kwargs)


def add_flags(parser: argparse.ArgumentParser, config: Any) -> None:
    """Adds one flag per field of `config` and its nested configs, showing `config`'s values
    as defaults; a flag that is not given is left out of the parsed namespace."""
    for owner, field, hint, default in leaves(config):
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        # A tuple's elements are checked by `check`: argparse would test the whole tuple.
        choices = None if isinstance(default, tuple) else field.metadata.get("choices") or None
        kind: dict[str, Any] = {"action": argparse.BooleanOptionalAction}
        if hint is not bool:
            metavar = None if choices else field.name.upper()
            kind = {"type": _argument_type(hint), "choices": choices, "metavar": metavar}
        help_text = f"{field_help(owner, field.name)} (default: {shown})"
        parser.add_argument(flag(field.name), default=argparse.SUPPRESS, help=help_text, **kind)


def parse(
    config_type: type[C],
    argv: Sequence[str] | None,
    *,
    prog: str,
    description: str | None,
    epilog: str | None = None,
    presets: Mapping[str, tuple[str, Mapping[str, Any]]] | None = None,
    extra: Callable[[argparse.ArgumentParser], None] | None = None,
) -> tuple[C, argparse.Namespace]:
    """Parses `argv` into a `config_type`; exits with a one-line error if a flag is bad.

    `presets` maps a name to (help, flag values) for exclusive flags `--name`; `extra` adds
    flags that are not fields. Returns the config and the namespace of the extra flags, whose
    `given` is the set of flags that `--config`, a preset or the command line set.
    """
    usage = f"{prog} [-h] [--config FILE]{' [--PRESET]' if presets else ''} [--FLAG VALUE ...]"
    parser = ArgumentParser(prog=prog, usage=usage, description=description, epilog=epilog)
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="start from this JSON object of flag values, such as a run's config.json; "
        "flags given beside it win",
    )
    if presets:
        group = parser.add_mutually_exclusive_group()
        for name, (help_text, _) in presets.items():
            group.add_argument(flag(name), action="store_true", help=help_text)
    add_flags(parser, config_type())
    if extra is not None:
        extra(parser)
    namespace = parser.parse_args(argv)
    fields = {field.name for _, field, _, _ in leaves(config_type())}
    try:
        values = read(namespace.config, config_type) if namespace.config else {}
        for name, (_, preset) in (presets or {}).items():
            if getattr(namespace, name):
                values.update(preset)
        values.update({k: v for k, v in vars(namespace).items() if k in fields})
        config = build(config_type, values)
        check(config)  # also for a config whose __post_init__ does not
    except ValueError as e:
        parser.error(str(e))
    for name in fields & set(vars(namespace)):
        delattr(namespace, name)
    namespace.given = frozenset(values)
    return config, namespace
