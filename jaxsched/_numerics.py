"""Float32 numerics shared by the schedules: exact floors, snapped steps, safe powers, lerp.

Schedules compute in JAX's default float dtype (float32 unless `jax_enable_x64` is on), where
`21 / 7` floors to 2 and `start + (end - start) * w` loses the small end of a wide range.
Each helper here names the surprise it handles.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

Numeric = Any  # a Python number, a NumPy or JAX scalar or array, or a tracer

PI = math.pi


def float_dtype() -> Any:
    """JAX's default float dtype: float32, or float64 when `jax_enable_x64` is on."""
    return jnp.result_type(float)


def as_float_array(value: Any) -> np.ndarray:
    """A concrete number as a NumPy array of JAX's default float dtype, the one schedules use."""
    with np.errstate(over="ignore", under="ignore"):
        return np.asarray(np.asarray(value, np.float64), dtype=float_dtype())


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
