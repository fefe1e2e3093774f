"""Functions named in configs: a `"module:qualname"` string and the function it names."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def function_reference(fn: Callable[..., Any], field_name: str) -> str:
    """`"module:qualname"` of a module-level function, for configs; ValueError otherwise."""
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
    if module and qualname and "<" not in qualname:
        try:
            if resolve_function(f"{module}:{qualname}", field_name) is fn:
                return f"{module}:{qualname}"
        except ValueError:
            pass
    raise ValueError(
        f"{field_name}={fn!r} has no config: only a function importable by its module and "
        "name (not a lambda, a closure or a partial) can be written to a config"
    )


def resolve_function(value: Any, field_name: str) -> Callable[..., Any]:
    """A callable as it is, or the function a `"module:qualname"` string names."""
    if callable(value):
        return value
    if not isinstance(value, str) or value.count(":") != 1:
        raise ValueError(
            f"{field_name} must be a function or a 'module:qualname' string, got "
            f"{field_name}={value!r}"
        )
    module_name, qualname = value.split(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"{field_name}={value!r} cannot be imported: {e}") from None
    if not callable(obj):
        raise ValueError(f"{field_name}={value!r} is not callable")
    return obj
