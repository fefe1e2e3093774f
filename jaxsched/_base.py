"""The `Schedule` base class: an immutable, callable pytree mapping a step to a value.

Every schedule in jaxsched is a frozen dataclass registered as a JAX pytree. Numeric
hyperparameters are leaves, so a schedule can be an argument of a jitted function (changing
its numbers reuses the compiled program) and a stacked batch of schedules can be vmapped.
Strings and flags that change the shape of the computation are static metadata.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import itertools
import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar, dataclass_transform

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxsched._typing import ArrayLike as Numeric

_S = TypeVar("_S", bound="Schedule")
_T = TypeVar("_T")

# name -> class, filled by `register`; read by `jaxsched.get` and `from_config`.
REGISTRY: dict[str, type[Schedule]] = {}


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
                    set_field(self, field.name, _floats(getattr(self, field.name)))

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
            f"{f.name}={_short_repr(getattr(self, f.name))}"
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
        )
        return f"{self.name}({args})"


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


def _from_json(value: Any) -> Any:
    if isinstance(value, Mapping) and "name" in value:
        return from_config(value)
    if isinstance(value, list):
        return tuple(_from_json(v) for v in value)
    return value


def _short_repr(value: Any) -> str:
    if isinstance(value, (jax.Array, np.ndarray, np.generic)) and not isinstance(
        value, jax.core.Tracer
    ):
        value = np.asarray(value)
        return repr(value.item()) if value.ndim == 0 else repr(value.tolist())
    if isinstance(value, tuple):
        return (
            "(" + ", ".join(_short_repr(v) for v in value) + ("," if len(value) == 1 else "") + ")"
        )
    if inspect.isfunction(value):  # its import path, which the constructors also take
        return repr(f"{value.__module__}:{value.__qualname__}")
    return repr(value)


def float_dtype() -> Any:
    """JAX's default float dtype: float32, or float64 when `jax_enable_x64` is on."""
    return jnp.result_type(float)


def as_step(step: Numeric) -> jax.Array:
    """Converts a step of any integer or float type to a float array.

    Concrete Python and NumPy integers go through float64 first: `jnp.asarray(2**40)` would
    overflow (or wrap) in JAX's default int32.
    """
    if isinstance(step, jax.Array):  # includes tracers
        return step.astype(float_dtype())
    return jnp.asarray(np.asarray(step, dtype=np.float64), dtype=float_dtype())


def is_concrete(value: Any) -> bool:
    """True for values whose numbers are known now (not traced, not a placeholder)."""
    if isinstance(value, jax.core.Tracer):
        return False
    return isinstance(value, (int, float, np.ndarray, np.number, jax.Array))


def check_number(name: str, value: Any) -> None:
    """Raises ValueError naming `name` unless `value` is one real number.

    A number is a Python int or float, or a NumPy or JAX scalar (a 0-d array, traced or not)
    of an integer or floating dtype. A bool is not a number here (`first_decay_steps=False`
    would divide by zero), nor is a string, a complex number or an array of several values:
    each would otherwise pass the checks and fail, or silently misbehave, at the first call.
    """
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be a number, not a bool, got {name}={value!r}")
    if isinstance(value, (int, float)):
        return
    dtype = getattr(value, "dtype", None)
    if isinstance(value, (np.ndarray, np.generic, jax.Array)) and dtype is not None:
        if not (jnp.issubdtype(dtype, jnp.integer) or jnp.issubdtype(dtype, jnp.floating)):
            raise ValueError(f"{name} must be a real number, got {name} of dtype {dtype}")
        if np.shape(value) != ():
            raise ValueError(
                f"{name} must be a single number, got an array of shape {np.shape(value)}; "
                "use jaxsched.stack to batch schedules"
            )
        return
    raise ValueError(f"{name} must be a number, got {name}={value!r}")


def as_float_array(value: Any) -> np.ndarray:
    """A concrete number as a NumPy array of JAX's default float dtype, the one schedules use."""
    with np.errstate(over="ignore", under="ignore"):
        return np.asarray(np.asarray(value, np.float64), dtype=float_dtype())


def check(
    name: str,
    value: Any,
    ok: Callable[[np.ndarray], Any],
    requirement: str,
    optional: bool = False,
) -> None:
    """Raises ValueError naming `name` unless `value` is a number and, if concrete, is `ok`.

    None is an error unless `optional`. A concrete value must also be `ok` in the dtype the
    schedule computes in (JAX's default float, float32 unless `jax_enable_x64` is on): 1e39 is
    finite in float64 but infinite in float32, and a step count of 1e-46 is zero there. Traced
    values are checked for type only.
    """
    if value is None:
        if optional:
            return
        raise ValueError(f"{name} must be a number, got {name}=None")
    check_number(name, value)
    if not is_concrete(value):
        return
    if not bool(np.all(ok(np.asarray(value, dtype=np.float64)))):
        raise ValueError(f"{name} must be {requirement}, got {name}={_short_repr(value)}")
    if not bool(np.all(ok(as_float_array(value)))):
        raise ValueError(
            f"{name} must be {requirement} in {np.dtype(float_dtype()).name}, the dtype "
            f"schedules compute in (enable jax_enable_x64 for float64), got "
            f"{name}={_short_repr(value)}"
        )


def check_finite(name: str, value: Any, optional: bool = False) -> None:
    check(name, value, np.isfinite, "finite", optional)


def check_positive(name: str, value: Any, optional: bool = False) -> None:
    check(name, value, lambda v: np.isfinite(v) & (v > 0), "positive and finite", optional)


def check_non_negative(name: str, value: Any, optional: bool = False) -> None:
    check(name, value, lambda v: np.isfinite(v) & (v >= 0), "non-negative and finite", optional)


def check_computed(name: str, formula: str, compute: Callable[..., Any], *values: Any) -> None:
    """Raises ValueError naming `name` if `formula`, computed from `values`, overflows.

    The computation runs in the dtype schedules compute in, so a range such as
    `max_value - base_value` that is infinite in float32 is refused when the schedule is
    built rather than turning into inf or NaN at some step. Traced values are not checked.
    """
    if not all(is_concrete(v) for v in values):
        return
    with np.errstate(all="ignore"):
        result = compute(*(as_float_array(v) for v in values))
    if not bool(np.all(np.isfinite(result))):
        raise ValueError(
            f"{name} makes {formula} overflow in {np.dtype(float_dtype()).name}, the dtype "
            f"schedules compute in, got {name}={_short_repr(values[0])}"
        )


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {name}={value!r}")


def _floats(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return tuple(_floats(v) for v in value)
    return as_float_leaf(value)


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


def as_tuple(name: str, value: Any) -> tuple[Any, ...]:
    """Sequences of numbers are stored as tuples: one pytree leaf per number."""
    if isinstance(value, tuple):
        return value
    if isinstance(value, (list, range)):
        return tuple(value)
    if is_concrete(value) and np.ndim(value) == 1:
        return tuple(np.asarray(value))
    raise ValueError(f"{name} must be a sequence of numbers, got {name}={value!r}")


def check_increasing(name: str, boundaries: tuple[Any, ...]) -> None:
    """Raises ValueError unless concrete `boundaries` are non-negative and strictly increasing."""
    for boundary in boundaries:
        check_non_negative(name, boundary)
    if not all(is_concrete(b) for b in boundaries):
        return
    for previous, current in itertools.pairwise(boundaries):
        if np.any(np.asarray(previous) >= np.asarray(current)):
            raise ValueError(
                f"{name} must be strictly increasing, got {name}={_short_repr(tuple(boundaries))}"
            )


def set_field(obj: Any, name: str, value: Any) -> None:
    """Normalises a field of a frozen dataclass during `__post_init__`."""
    object.__setattr__(obj, name, value)


def normalise_floats(obj: Any, *names: str) -> None:
    for name in names:
        set_field(obj, name, as_float_leaf(getattr(obj, name)))


def safe_div(numerator: jax.Array, denominator: Numeric) -> jax.Array:
    """numerator / denominator, with a zero denominator read as one (its branch is unused)."""
    denominator = jnp.asarray(denominator, dtype=float_dtype())
    return numerator / jnp.where(denominator == 0, 1.0, denominator)


def floor_div(numerator: jax.Array, denominator: Numeric) -> jax.Array:
    """`floor(numerator / denominator)`, exact when the numerator is a multiple.

    In float32 `21 / 7` can round to 2.9999998 and floor to 2, which would move a staircase or
    a cycle boundary by one step; the quotient is corrected against the product.
    """
    denominator = jnp.asarray(denominator, numerator.dtype)
    denominator = jnp.where(denominator == 0, 1.0, denominator)
    quotient = jnp.floor(numerator / denominator)
    quotient = jnp.where((quotient + 1.0) * denominator <= numerator, quotient + 1.0, quotient)
    return jnp.where(quotient * denominator > numerator, quotient - 1.0, quotient)


def snap_to_whole(x: jax.Array) -> jax.Array:
    """`x` rounded to the nearest whole number when it is within a few ulps of it.

    A step computed by a formula (a restart at `first * (t_mul**i - 1) / (t_mul - 1)`) lands
    on a whole step in exact arithmetic but can miss it by an ulp in floating point, and by
    a different ulp under `jax.jit` with the schedule's numbers as constants, where XLA
    multiplies by a rounded reciprocal instead of dividing. Snapping makes the jump happen at
    the same step in every evaluation mode.
    """
    whole = jnp.round(x)
    tolerance = 16 * jnp.finfo(x.dtype).eps * jnp.maximum(jnp.abs(x), 1.0)
    # The snapped value keeps `x`'s derivative: the step still moves with its hyperparameters.
    return jnp.where(jnp.abs(x - whole) <= tolerance, x + lax.stop_gradient(whole - x), x)


def power(base: jax.Array, exponent: Any) -> jax.Array:
    """`base ** exponent` for `base >= 0`, with a finite derivative at `base == 0`.

    The derivative `exponent * base ** (exponent - 1)` is infinite at 0 for exponents below 1
    (and 0 * inf is NaN after a clamp), which would turn the gradient of a whole training loss
    with respect to a schedule's numbers into NaN at one step; it is taken as 0 there.
    """
    base = jnp.asarray(base)
    smooth = (base > 0) | (exponent >= 1)
    safe = jnp.where(smooth, base, 1.0)
    return jnp.where(smooth, safe**exponent, lax.stop_gradient(base**exponent))


def times_power(scale: Any, base: Any, exponent: jax.Array) -> jax.Array:
    """`scale * base ** exponent`, with a zero `scale` giving 0 even where the power is inf.

    A growing factor overflows to inf at huge steps; 0 * inf would be NaN. Where the power is
    finite the value is the plain product, so its derivative with respect to `scale` is the
    power even when `scale` is 0.
    """
    factor = power(jnp.asarray(base, exponent.dtype), exponent)
    overflow = ~jnp.isfinite(factor)
    finite = scale * jnp.where(overflow, 1.0, factor)
    infinite = lax.stop_gradient(jnp.where(jnp.asarray(scale) == 0, 0.0, scale * factor))
    return jnp.where(overflow, infinite, finite)


def lerp(start: Numeric, end: Numeric, fraction: jax.Array) -> jax.Array:
    """`start` at fraction 0, `end` at fraction 1, exactly at both ends.

    `start + (end - start) * fraction` loses the small end of a wide range in float32 (one-cycle
    ends 1e5 times below its start); this form does not.
    """
    return start * (1.0 - fraction) + end * fraction


def clamp01(x: jax.Array) -> jax.Array:
    return jnp.clip(x, 0.0, 1.0)


PI = math.pi
