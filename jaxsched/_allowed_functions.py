"""The functions a config may name: an allow-list, looked up by name, never imported.

`lambda_schedule`, `multiplicative` and `cyclic` take a user's function, which a config
writes as its `"module:qualname"`. A config can come from anywhere (a file, a command line,
another machine), so a name in it is only looked up among the functions the user allowed:
those registered with `jaxsched.register_function`, and those passed to one
`jaxsched.from_config(config, functions=[...])` call. Nothing is imported and nothing outside
the allow-list is called: `"os:system"` in a config is an error, not a command.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

# "module:qualname" -> function, filled by `register_function`.
_REGISTERED: dict[str, Callable[..., Any]] = {}
# The functions one `from_config(..., functions=...)` call allows, for the constructors it runs.
_ALLOWED_HERE: contextvars.ContextVar[dict[str, Callable[..., Any]] | None] = (
    contextvars.ContextVar("jaxsched_allowed_functions", default=None)
)


def register_function(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Allows configs to name `fn`: `from_config` and the constructors then find it by name.

    A config names a function by its `"module:qualname"` (as `to_config` and `repr` write
    it), and jaxsched never imports a module or calls a function a config names unless it is
    allowed here or in `from_config(config, functions=[...])`. Registering is for functions
    that configs from the command line or `jaxsched.get` name; it can be a decorator.

    Args:
      fn: a function defined at module level (not a lambda, a closure or a partial).

    Returns:
      `fn` itself.

    Raises:
      ValueError: if `fn` has no `"module:qualname"` (a lambda, a closure, a partial).

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> @jaxsched.register_function
      ... def halve_every(step, period):
      ...     return 0.5 ** jnp.floor(step / period)
      >>> schedule = jaxsched.lambda_schedule(halve_every, 0.1, params={"period": 2})
      >>> config = schedule.to_config()  # names the function by its "module:qualname"
      >>> jaxsched.from_config(config) == schedule
      True
    """
    _REGISTERED[function_reference(fn, "fn")] = fn
    return fn


@contextlib.contextmanager
def allowing(functions: Iterable[Callable[..., Any]]) -> Iterator[None]:
    """Allows `functions` to be named, besides the registered ones, inside the block."""
    if isinstance(functions, (str, Mapping)) or not isinstance(functions, Iterable):
        raise ValueError(
            f"functions must be a list of the functions the config may name, got "
            f"functions={functions!r}"
        )
    allowed = dict(_ALLOWED_HERE.get() or {})
    for fn in functions:
        allowed[function_reference(fn, "functions")] = fn
    token = _ALLOWED_HERE.set(allowed)
    try:
        yield
    finally:
        _ALLOWED_HERE.reset(token)


def function_reference(fn: Callable[..., Any], field_name: str) -> str:
    """`"module:qualname"` of a module-level function, for configs; ValueError otherwise."""
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
    if not callable(fn) or not module or not qualname or "<" in qualname:
        raise ValueError(
            f"{field_name}={fn!r} has no config: only a function defined at module level, "
            "found by its module and name (not a lambda, a closure or a partial), can be named "
            "in a config"
        )
    return f"{module}:{qualname}"


def resolve_function(value: Any, field_name: str) -> Callable[..., Any]:
    """A callable as it is, or the allowed function that a `"module:qualname"` string names."""
    if callable(value):
        return value
    if not isinstance(value, str) or value.count(":") != 1:
        raise ValueError(
            f"{field_name} must be a function or a 'module:qualname' string, got "
            f"{field_name}={value!r}"
        )
    fn = (_ALLOWED_HERE.get() or {}).get(value, _REGISTERED.get(value))
    if fn is None:
        raise ValueError(
            f"{field_name}={value!r} is not a function jaxsched may call: a config only names "
            "functions allowed by jaxsched.register_function(fn) or "
            "jaxsched.from_config(config, functions=[fn]); nothing is imported"
        )
    return fn
