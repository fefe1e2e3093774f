"""Schedules by name: the registry every schedule class joins, and configs back to schedules.

`register` makes a class a frozen dataclass, a JAX pytree and a registry entry;
`from_config` builds a schedule from the dict that `Schedule.to_config` wrote.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar, dataclass_transform

import numpy as np

import jaxsched._kinds as kinds
from jaxsched._allowed_functions import allowing
from jaxsched._schedule import (
    MAX_DEPTH,
    MAX_SCHEDULES,
    Schedule,
    as_float_leaves,
    register_pytree,
    set_field,
    static_field,
)

_S = TypeVar("_S", bound=Schedule)

# name -> class, filled by `register`; read by `jaxsched.get` and `from_config`.
REGISTRY: dict[str, type[Schedule]] = {}

# How deep dicts and lists may nest in a config: two per schedule level (its dict and a list
# of schedules, as in a join), and one for a field's own dict (`params`) at the bottom. The
# walk that checks it runs before anything recursive, so a hostile config cannot reach
# Python's recursion limit.
MAX_CONFIG_DEPTH = 2 * MAX_DEPTH + 2


@dataclass_transform(
    frozen_default=True,
    field_specifiers=(
        dataclasses.field,
        static_field,
        kinds.value,
        kinds.steps,
        kinds.fraction,
        kinds.ratio,
        kinds.real,
        kinds.seed,
        kinds.schedules,
    ),
)
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


def from_config(
    config: Mapping[str, Any], *, functions: Iterable[Callable[..., Any]] = ()
) -> Schedule:
    """Builds the schedule that `Schedule.to_config` described, running no code it names.

    A config can come from anywhere, so it is data: it names jaxsched's own schedules (by
    their registered names) and nothing else runs. A function in it (`lambda_schedule`'s
    `fn`, `multiplicative`'s, `cyclic`'s `scale_fn`, written as `"module:qualname"`) must be
    allowed, here in `functions` or for every config with `jaxsched.register_function`; no
    module is imported and no other function is looked up.

    Args:
      config: a dict with a ``"name"`` key naming a registered schedule and its arguments;
        nested schedules (in `join`, `warmup`, ...) are nested configs.
      functions: functions the config may name, besides the registered ones.

    Returns:
      The schedule, validated exactly as if it had been constructed by hand.

    Raises:
      ValueError: if the name is unknown, an argument is missing or invalid, a function is
        not allowed, dicts and lists nest deeper than `MAX_CONFIG_DEPTH` (66), or it holds
        more than `MAX_SCHEDULES` (10,000) schedules.

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> config = {"name": "warmup", "warmup_steps": 2,
      ...           "schedule": {"name": "cosine_decay", "init_value": 1.0, "decay_steps": 2}}
      >>> print(jaxsched.from_config(config)(jnp.arange(5)))
      [0.  0.5 1.  0.5 0. ]
      >>> jaxsched.from_config({"name": "lambda_schedule", "fn": "os:system"})
      Traceback (most recent call last):
      ...
      ValueError: fn='os:system' is not a function jaxsched may call: ...
    """
    check_config_size(config)
    with allowing(functions):
        return _build(config)


def _build(config: Any) -> Schedule:
    if not isinstance(config, Mapping) or "name" not in config:
        hint = ""
        if isinstance(config, str):
            hint = " (parse JSON text first: from_config(json.loads(text)))"
        raise ValueError(f"config must be a dict with a 'name' key{hint}, got {config!r}")
    kwargs = dict(config)
    name = kwargs.pop("name")
    if not isinstance(name, str) or name not in REGISTRY:
        raise ValueError(f"name={name!r} is not a jaxsched schedule; known: {sorted(REGISTRY)}")
    cls = REGISTRY[name]
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if field.name in kwargs:
            kwargs[field.name] = _from_json(kwargs[field.name])
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise ValueError(f"bad arguments for {name}: {e}") from None


def check_config_size(config: Any) -> None:
    """Raises ValueError if `config` nests deeper than MAX_CONFIG_DEPTH or is too large.

    Too large: more than MAX_SCHEDULES schedule configs (dicts with a "name"), the limit of
    the schedules themselves, refused before any is built. Iterative, so it answers for a
    config of any depth (a recursive walk, or `from_config` itself, would raise
    RecursionError), and it visits each dict and list once.
    """
    stack: list[tuple[Any, int]] = [(config, 1)]
    schedules = 0
    while stack:
        value, depth = stack.pop()
        if depth > MAX_CONFIG_DEPTH:
            raise ValueError(
                f"config nests dicts and lists more than {MAX_CONFIG_DEPTH} deep, jaxsched's "
                f"limit (MAX_CONFIG_DEPTH; schedules nest at most MAX_DEPTH={MAX_DEPTH} deep)"
            )
        if isinstance(value, Mapping):
            schedules += "name" in value
            children = value.values()
        else:
            children = value
        if schedules > MAX_SCHEDULES:
            raise ValueError(
                f"config holds more than {MAX_SCHEDULES} schedules, jaxsched's limit "
                "(MAX_SCHEDULES)"
            )
        stack.extend((v, depth + 1) for v in children if isinstance(v, (Mapping, list, tuple)))


def _from_json(value: Any) -> Any:
    if isinstance(value, Mapping) and "name" in value:
        return _build(value)
    if isinstance(value, list):
        return tuple(_from_json(v) for v in value)
    return value
