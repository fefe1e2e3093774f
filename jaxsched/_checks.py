"""Argument checks: every bad value raises ValueError naming the parameter and the value passed.

Checks run on concrete values at construction, in the dtype schedules compute in; a traced
value is checked for its type only (its numbers are not known, and a check must never run
inside `jax.jit`).
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxsched._numerics import as_float_array, float_dtype


def is_concrete(value: Any) -> bool:
    """True for values whose numbers are known now (not traced, not a placeholder)."""
    if isinstance(value, jax.core.Tracer):
        return False
    return isinstance(value, (int, float, np.ndarray, np.number, jax.Array))


def short_repr(value: Any) -> str:
    """`value` as the user would have typed it: arrays as numbers, functions by import path."""
    if isinstance(value, (jax.Array, np.ndarray, np.generic)) and not isinstance(
        value, jax.core.Tracer
    ):
        value = np.asarray(value)
        return repr(value.item()) if value.ndim == 0 else repr(value.tolist())
    if isinstance(value, tuple):
        return (
            "(" + ", ".join(short_repr(v) for v in value) + ("," if len(value) == 1 else "") + ")"
        )
    if inspect.isfunction(value):  # its import path, which the constructors also take
        return repr(f"{value.__module__}:{value.__qualname__}")
    return repr(value)


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


def check_real(
    name: str, value: Any, what: str = "a finite real number", finite: bool = True
) -> None:
    """Raises ValueError naming `name` unless `value` is a real number or an array of them.

    For numbers that are not a schedule's (an optimizer's hyperparameters, `set_scale`'s
    multipliers), where arrays of any shape may be meant: a bool, a string, a complex number
    or any other object is refused, and so is a concrete value that is not finite (unless
    `finite` is False). A traced value is checked for its dtype only.
    """
    dtype = getattr(value, "dtype", None)
    if isinstance(value, (bool, np.bool_, int, float)) or not hasattr(value, "shape"):
        real = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        real = dtype is not None and (
            jnp.issubdtype(dtype, jnp.integer) or jnp.issubdtype(dtype, jnp.floating)
        )
    if not real:
        raise ValueError(f"{name} must be {what}, got {name}={value!r}")
    if not finite or not is_concrete(value):
        return
    try:
        finite = bool(np.all(np.isfinite(np.asarray(value, np.float64))))
    except OverflowError:  # a Python int beyond float64
        finite = False
    if not finite:
        raise ValueError(f"{name} must be {what}, got {name}={short_repr(value)}")


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
        raise ValueError(f"{name} must be {requirement}, got {name}={short_repr(value)}")
    if not bool(np.all(ok(as_float_array(value)))):
        raise ValueError(
            f"{name} must be {requirement} in {np.dtype(float_dtype()).name}, the dtype "
            f"schedules compute in (enable jax_enable_x64 for float64), got "
            f"{name}={short_repr(value)}"
        )


def check_finite(name: str, value: Any, optional: bool = False) -> None:
    check(name, value, np.isfinite, "finite", optional)


def check_positive(name: str, value: Any, optional: bool = False) -> None:
    check(name, value, lambda v: np.isfinite(v) & (v > 0), "positive and finite", optional)


def check_non_negative(name: str, value: Any, optional: bool = False) -> None:
    check(name, value, lambda v: np.isfinite(v) & (v >= 0), "non-negative and finite", optional)


def check_greater(name: str, value: Any, other_name: str, other: Any, note: str = "") -> None:
    """Raises ValueError unless concrete `value > other`, reporting both as the user passed them.

    For a constraint between two arguments: the message names both and their values, never
    a difference computed from them.
    """
    if not (is_concrete(value) and is_concrete(other)):
        return
    if not bool(np.all(np.asarray(value, np.float64) > np.asarray(other, np.float64))):
        raise ValueError(
            f"{name} must be greater than {other_name}={short_repr(other)}{note}, got "
            f"{name}={short_repr(value)}"
        )


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
            f"schedules compute in, got {name}={short_repr(values[0])}"
        )


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {name}={value!r}")


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
                f"{name} must be strictly increasing, got {name}={short_repr(tuple(boundaries))}"
            )
