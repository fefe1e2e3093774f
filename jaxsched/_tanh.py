"""Hyperbolic-tangent decay (timm `TanhLRScheduler`)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import jaxsched._kinds as kinds
from jaxsched._checks import check, check_computed, check_finite, check_positive, is_concrete
from jaxsched._config import register
from jaxsched._numerics import safe_div
from jaxsched._schedule import Schedule
from jaxsched._typing import ArrayLike


@register("tanh_decay")
class TanhDecay(Schedule):
    """Decays along a tanh curve from about `init_value` to `end_value` over `decay_steps`.

    `end + 0.5 * (init - end) * (1 - tanh(lower + (upper - lower) * step / decay_steps))` for
    `step < decay_steps`, then exactly `end_value`. As in timm `TanhLRScheduler`, the curve
    starts slightly below `init_value` (`tanh(lower)` is not exactly -1) and lands slightly
    above `end_value` before the final step sets it. From Hsueh et al. (2019),
    https://arxiv.org/abs/1806.01593.

    Args:
      init_value: the value the curve starts from.
      end_value: the value from `decay_steps` on.
      decay_steps: length of the decay (positive).
      lower: tanh argument at step 0 (less than `upper`).
      upper: tanh argument at `decay_steps`.

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> schedule = jaxsched.tanh_decay(1.0, 0.0, decay_steps=4)
      >>> print(schedule(jnp.arange(6)))
      [0.99999917 0.9998766  0.9820138  0.2689414  0.         0.        ]
    """

    init_value: ArrayLike = kinds.value()
    end_value: ArrayLike = kinds.value()
    decay_steps: ArrayLike = kinds.steps()
    lower: ArrayLike = kinds.real(default=-7.0)
    upper: ArrayLike = kinds.real(default=3.0)

    def __post_init__(self) -> None:
        check_finite("init_value", self.init_value)
        check_finite("end_value", self.end_value)
        check_positive("decay_steps", self.decay_steps)
        check_finite("lower", self.lower)
        check_finite("upper", self.upper)
        check_computed(
            "init_value", "init_value - end_value", np.subtract, self.init_value, self.end_value
        )
        if is_concrete(self.lower) and is_concrete(self.upper):
            check("upper", self.upper, lambda v: v > self.lower, f"greater than lower={self.lower}")

    def _at(self, step: jax.Array) -> jax.Array:
        progress = safe_div(step, self.decay_steps)
        argument = self.lower * (1.0 - progress) + self.upper * progress
        curve = self.end_value + 0.5 * (self.init_value - self.end_value) * (
            1.0 - jnp.tanh(argument)
        )
        return jnp.where(step < self.decay_steps, curve, self.end_value)
