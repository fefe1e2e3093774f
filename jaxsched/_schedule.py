"""The `Schedule` base class: an immutable, callable pytree mapping a step to a value.

Every schedule in jaxsched is a frozen dataclass registered as a JAX pytree. Numeric
hyperparameters are leaves, so a schedule can be an argument of a jitted function (changing
its numbers reuses the compiled program) and a stacked batch of schedules can be vmapped.
Strings and flags that change the shape of the computation are static metadata.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

import jax
import jax.numpy as jnp
import numpy as np

from jaxsched._allowed_functions import function_reference
from jaxsched._checks import short_repr
from jaxsched._numerics import Numeric, float_dtype

_T = TypeVar("_T")

# How deep schedules may nest in schedules. Real ones nest a handful of levels
# (`noise(warmup(cooldown(join(...))))` is four); each level costs a few Python frames in
# every evaluation, repr and config, so a bound keeps all of them far from RecursionError.
MAX_DEPTH = 32
# How many schedules one schedule may hold in all, counting each use: every evaluation visits
# each once. Ten thousand is far beyond a hand-written schedule; a table of values belongs in
# `piecewise_constant` or `piecewise_interpolate`.
MAX_SCHEDULES = 10_000


def static_field(default: Any = dataclasses.MISSING) -> Any:
    """A dataclass field that is pytree metadata (part of the structure, never traced)."""
    return dataclasses.field(default=default, metadata={"static": True})


def register_pytree(cls: type[_T]) -> type[_T]:
    """Registers a frozen dataclass as a JAX pytree whose unflatten never runs `__init__`.

    Numeric fields are children; `static_field`s are metadata. JAX rebuilds pytrees with
    whatever leaves a transform needs (None, `object()`, ShapeDtypeStruct, zeros, negative
    gradients, batched arrays, tracers), so unflatten stores them untouched: validation and
    conversion belong to the constructor, which users call. (`register_dataclass` would call
    the constructor, and with it `__post_init__`, on every rebuild.)
    """
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    data = tuple(f.name for f in fields if not f.metadata.get("static"))
    meta = tuple(f.name for f in fields if f.metadata.get("static"))
    keys = tuple(jax.tree_util.GetAttrKey(name) for name in data)

    def flatten(obj: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        return tuple(getattr(obj, n) for n in data), tuple(getattr(obj, n) for n in meta)

    def flatten_with_keys(obj: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        children = tuple(zip(keys, (getattr(obj, n) for n in data), strict=True))
        return children, tuple(getattr(obj, n) for n in meta)

    def unflatten(aux: tuple[Any, ...], children: Any) -> Any:
        obj = object.__new__(cls)
        for name, value in zip(data, children, strict=True):
            object.__setattr__(obj, name, value)
        for name, value in zip(meta, aux, strict=True):
            object.__setattr__(obj, name, value)
        return obj

    jax.tree_util.register_pytree_with_keys(cls, flatten_with_keys, unflatten, flatten)
    return cls


def set_field(obj: Any, name: str, value: Any) -> None:
    """Normalises a field of a frozen dataclass during `__post_init__`."""
    object.__setattr__(obj, name, value)


def as_float_leaf(value: Any) -> Any:
    """Python and NumPy scalars become Python floats.

    So 1 and 0.5 trace to the same type (no recompile), and a NumPy int64 of 2**40 steps never
    reaches JAX, which would cut it to int32. JAX arrays are kept as they are (a leaf the user
    put on a device stays there).
    """
    if isinstance(value, (bool, np.bool_)):
        return value
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iuf":
        return float(value)
    return value


def as_float_leaves(value: Any) -> Any:
    """`as_float_leaf` of a number, or of each number of a (nested) sequence, as tuples."""
    if isinstance(value, (tuple, list)):
        return tuple(as_float_leaves(v) for v in value)
    return as_float_leaf(value)


def normalise_floats(obj: Any, *names: str) -> None:
    for name in names:
        set_field(obj, name, as_float_leaf(getattr(obj, name)))


def as_step(step: Numeric) -> jax.Array:
    """Converts a step of any integer or float type to a float array; TypeError otherwise.

    Concrete Python and NumPy integers go through float64 first: `jnp.asarray(2**40)` would
    overflow (or wrap) in JAX's default int32. A step that is not a real number (None, a
    string, bytes, a bool, a complex number, a date or duration, any other object) is refused:
    NumPy would read `"3"` as 3 and None as NaN. A JAX array's dtype is known when tracing,
    so the check costs nothing inside `jax.jit`.
    """
    if isinstance(step, jax.Array):  # includes tracers
        _check_step_dtype(step, step.dtype)
        return step.astype(float_dtype())
    if isinstance(step, int) and not isinstance(step, bool):
        return jnp.asarray(np.float64(step), dtype=float_dtype())  # 2**70 has no NumPy int
    array = np.asarray(step)
    _check_step_dtype(step, array.dtype)
    return jnp.asarray(array.astype(np.float64), dtype=float_dtype())


def _check_step_dtype(step: Any, dtype: Any) -> None:
    # timedelta64 counts as an integer type in NumPy's hierarchy; it is a duration, not a step.
    real = jnp.issubdtype(dtype, jnp.integer) or jnp.issubdtype(dtype, jnp.floating)
    if not real or np.dtype(dtype).kind in "mM":
        if isinstance(step, jax.Array):  # a tracer's type name would say nothing
            shown = f"a JAX array of dtype {dtype}"
        elif isinstance(step, (np.ndarray, list, tuple)):
            shown = f"a {type(step).__name__} of dtype {dtype}"
        else:
            shown = f"{step!r} of type {type(step).__name__}"
        raise TypeError(
            "step must be a real number or an array of them (the count of updates applied), "
            f"got {shown}"
        )


def child_schedules(schedule: Any) -> list[Schedule]:
    """The schedules held in `schedule`'s fields (a `join`'s pieces, a `warmup`'s schedule)."""
    children: list[Schedule] = []
    for field in dataclasses.fields(schedule):
        value = getattr(schedule, field.name)
        values = value if isinstance(value, tuple) else (value,)
        children.extend(v for v in values if isinstance(v, Schedule))
    return children


def check_nesting(name: str, schedules: tuple[Schedule, ...]) -> None:
    """Raises ValueError if a schedule made of `schedules` is too deep or too large.

    Too deep: schedules nested more than MAX_DEPTH levels. Too large: more than
    MAX_SCHEDULES schedules in all, a schedule used twice counting twice (each use is
    evaluated, printed and written to the config), so that `join((s, s))` nested n times
    cannot ask for 2**n evaluations. The walk is iterative and stops at the first limit:
    it costs at most MAX_SCHEDULES steps, whatever was passed.
    """
    count, stack = 1, [(schedule, 2) for schedule in schedules]
    while stack:
        schedule, level = stack.pop()
        count += 1
        if level > MAX_DEPTH:
            raise ValueError(
                f"{name} nests schedules {level} deep, more than jaxsched's limit of "
                f"{MAX_DEPTH} (MAX_DEPTH); flatten the combination, for example one join "
                "instead of nested joins"
            )
        if count > MAX_SCHEDULES:
            raise ValueError(
                f"{name} holds more than {MAX_SCHEDULES} schedules in all, jaxsched's limit "
                "(MAX_SCHEDULES; a schedule used twice counts twice, as it is evaluated twice)"
            )
        stack.extend((child, level + 1) for child in child_schedules(schedule))


class Schedule:
    """Base class of every jaxsched schedule: `schedule(step) -> value`.

    `step` is the 0-based number of updates already applied: a Python int, a NumPy or JAX
    integer or float, a scalar or an array, traced or not. The result is a JAX float array
    of the same shape as `step`, in JAX's default float dtype.
    """

    name: ClassVar[str]

    def __call__(self, step: Numeric) -> jax.Array:
        # Every number becomes an array of the float dtype first, so the arithmetic between
        # hyperparameters is the same float32 arithmetic whether they are Python floats
        # (eager, or constants under jit) or traced arrays: in Python, `pct_start *
        # total_steps` would be float64 in one mode and float32 in the other.
        dtype = float_dtype()
        schedule = jax.tree.map(lambda leaf: jnp.asarray(leaf, dtype), self)
        return schedule._at(as_step(step))

    def _at(self, step: jax.Array) -> jax.Array:
        """The value at a float `step` (already converted by `as_step`)."""
        raise NotImplementedError

    def to_config(self) -> dict[str, Any]:
        """A JSON-safe dict that `jaxsched.from_config` turns back into this schedule."""
        config: dict[str, Any] = {"name": self.name}
        for field in dataclasses.fields(self):  # type: ignore[arg-type]
            config[field.name] = _to_json(getattr(self, field.name), field.name)
        return config

    def __repr__(self) -> str:
        args = ", ".join(
            f"{f.name}={short_repr(getattr(self, f.name))}"
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
        )
        return f"{self.name}({args})"


def _to_json(value: Any, field_name: str) -> Any:
    if isinstance(value, Schedule):
        return value.to_config()
    if isinstance(value, Mapping):
        return {str(k): _to_json(v, field_name) for k, v in value.items()}
    if callable(value) and not isinstance(value, (jax.Array, np.ndarray, np.generic)):
        return function_reference(value, field_name)
    if isinstance(value, (tuple, list)):
        return [_to_json(v, field_name) for v in value]
    if value is None or isinstance(value, (bool, str, int, float)):
        return value
    if isinstance(value, jax.core.Tracer):
        raise ValueError(f"{field_name} is traced; only concrete schedules have a config")
    return np.asarray(value).tolist()
