"""Schedules by name: the registry every schedule class joins, and configs back to schedules.

`register` makes a class a frozen dataclass, a JAX pytree and a registry entry;
`from_config` builds a schedule from the dict that `Schedule.to_config` wrote.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, dataclass_transform

import numpy as np

from jaxsched._schedule import (
    Schedule,
    as_float_leaves,
    register_pytree,
    set_field,
    static_field,
)

_S = TypeVar("_S", bound=Schedule)

# name -> class, filled by `register`; read by `jaxsched.get` and `from_config`.
REGISTRY: dict[str, type[Schedule]] = {}


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, static_field))
def register(name: str) -> Callable[[type[_S]], type[_S]]:
    """Class decorator: frozen dataclass, JAX pytree, and registry entry under `name`.

    The constructor checks flags (a static field whose default is a bool takes only a bool),
    runs the class's own `__post_init__` checks, then stores Python and NumPy scalars as
    Python floats: `1` and `0.5` (or 100 and 100.0 steps) then trace to one type and share a
    compiled program, and `2**40` steps cannot overflow int32. None of this runs when JAX
    rebuilds the pytree (`register_pytree`).
    """

    def wrap(cls: type[_S]) -> type[_S]:
        validate = cls.__dict__.get("__post_init__")

        def post_init(self: Any) -> None:
            check_flags(self)
            if validate is not None:
                validate(self)
            for field in dataclasses.fields(self):
                if not field.metadata.get("static"):
                    set_field(self, field.name, as_float_leaves(getattr(self, field.name)))

        cls.__post_init__ = post_init  # type: ignore[attr-defined]
        cls = dataclasses.dataclass(frozen=True, repr=False)(cls)
        register_pytree(cls)
        cls.name = name
        REGISTRY[name] = cls
        return cls

    return wrap


def check_flags(obj: Any) -> None:
    """Raises ValueError for a flag (a static field with a bool default) that is not a bool.

    `staircase="false"` would otherwise be truthy and turn the staircase on.
    """
    for field in dataclasses.fields(obj):
        if field.metadata.get("static") and isinstance(field.default, bool):
            value = getattr(obj, field.name)
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{field.name} must be True or False, got {field.name}={value!r}")
            set_field(obj, field.name, bool(value))


def from_config(config: Mapping[str, Any]) -> Schedule:
    """Builds the schedule that `Schedule.to_config` described.

    Args:
      config: a dict with a ``"name"`` key naming a registered schedule and its arguments;
        nested schedules (in `join`, `warmup`, ...) are nested configs.

    Returns:
      The schedule, validated exactly as if it had been constructed by hand.

    Raises:
      ValueError: if the name is unknown or an argument is missing or invalid.
    """
    if not isinstance(config, Mapping) or "name" not in config:
        raise ValueError(f"config must be a dict with a 'name' key, got {config!r}")
    kwargs = dict(config)
    name = kwargs.pop("name")
    if name not in REGISTRY:
        raise ValueError(f"name={name!r} is not a jaxsched schedule; known: {sorted(REGISTRY)}")
    cls = REGISTRY[name]
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if field.name in kwargs:
            kwargs[field.name] = _from_json(kwargs[field.name])
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise ValueError(f"bad arguments for {name}: {e}") from None


def _from_json(value: Any) -> Any:
    if isinstance(value, Mapping) and "name" in value:
        return from_config(value)
    if isinstance(value, list):
        return tuple(_from_json(v) for v in value)
    return value
