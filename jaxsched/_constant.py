"""The constant schedule."""

from __future__ import annotations

import jax
import jax.numpy as jnp

import jaxsched._kinds as kinds
from jaxsched._checks import check_finite
from jaxsched._config import register
from jaxsched._numerics import float_dtype
from jaxsched._schedule import Schedule
from jaxsched._typing import ArrayLike


@register("constant")
class Constant(Schedule):
    """The same value at every step.

    `constant(lr)` gives bit-identical optimizer trajectories to passing the float `lr`,
    and it can still be traced, vmapped and swapped without recompiling.

    Args:
      value: the value.

    Examples:
      >>> import jaxsched
      >>> schedule = jaxsched.constant(0.1)
      >>> print(schedule(0), schedule(10**12))
      0.1 0.1
    """

    value: ArrayLike = kinds.value()

    def __post_init__(self) -> None:
        check_finite("value", self.value)

    def _at(self, step: jax.Array) -> jax.Array:
        return jnp.full_like(step, self.value, dtype=float_dtype())
