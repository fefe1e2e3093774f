"""Exponential, inverse-time and inverse-square-root decay."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxsched._base import (
    Schedule,
    check_finite,
    check_non_negative,
    check_positive,
    floor_div,
    register,
    safe_div,
    static_field,
    times_power,
)


@register("exponential_decay")
class ExponentialDecay(Schedule):
    """`init_value * decay_rate ** ((step - transition_begin) / transition_steps)`.

    The value is `init_value` up to `transition_begin`. With `staircase=True` the exponent is
    floored, so the value drops once every `transition_steps`. If `end_value` is given the
    value never passes it: it is a lower bound when `decay_rate < 1` and an upper bound when
    `decay_rate > 1`, as in optax.

    Equivalents: torch `ExponentialLR(gamma)` (`transition_steps=1`); keras
    `ExponentialDecay(initial_learning_rate, decay_steps, decay_rate, staircase)`
    (`transition_steps=decay_steps`); optax `exponential_decay`.

    Args:
      init_value: value at the start.
      decay_rate: factor per `transition_steps` (positive; above 1 grows).
      transition_steps: steps per factor of `decay_rate` (positive).
      staircase: decay in whole steps of `transition_steps`.
      transition_begin: steps to hold `init_value` first (non-negative).
      end_value: optional bound that the value never passes.

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> schedule = jaxsched.exponential_decay(1.0, decay_rate=0.5, end_value=0.2)
      >>> print(schedule(jnp.arange(5)))
      [1.   0.5  0.25 0.2  0.2 ]
    """

    init_value: Any
    decay_rate: Any
    transition_steps: Any = 1
    staircase: bool = static_field(default=False)
    transition_begin: Any = 0
    end_value: Any = None

    def __post_init__(self) -> None:
        check_finite("init_value", self.init_value)
        check_positive("decay_rate", self.decay_rate)
        check_positive("transition_steps", self.transition_steps)
        check_non_negative("transition_begin", self.transition_begin)
        check_finite("end_value", self.end_value, optional=True)

    def _at(self, step: jax.Array) -> jax.Array:
        count = step - self.transition_begin
        count = jnp.maximum(count, 0.0)
        if self.staircase:
            exponent = floor_div(count, self.transition_steps)
        else:
            exponent = safe_div(count, self.transition_steps)
        value = times_power(self.init_value, self.decay_rate, exponent)
        if self.end_value is not None:
            # A bound by selection, not max/min: at a tie the derivative goes to the bound
            # alone (max would split it in halves between two equal, flat sides).
            decaying = jnp.asarray(self.decay_rate) < 1
            passed = jnp.where(decaying, value <= self.end_value, value >= self.end_value)
            value = jnp.where(passed, self.end_value, value)
        return value


@register("inverse_time_decay")
class InverseTimeDecay(Schedule):
    """`init_value / (1 + decay_rate * step / decay_steps)`, as keras `InverseTimeDecay`.

    With `staircase=True`, `step / decay_steps` is floored.

    Args:
      init_value: value at step 0.
      decay_rate: how fast the value falls (non-negative).
      decay_steps: steps per unit of decay (positive).
      staircase: decay in whole steps of `decay_steps`.

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> schedule = jaxsched.inverse_time_decay(1.0, decay_rate=1.0, decay_steps=1)
      >>> print(schedule(jnp.arange(4)))
      [1.         0.5        0.33333334 0.25      ]
    """

    init_value: Any
    decay_rate: Any
    decay_steps: Any
    staircase: bool = static_field(default=False)

    def __post_init__(self) -> None:
        check_finite("init_value", self.init_value)
        check_non_negative("decay_rate", self.decay_rate)
        check_positive("decay_steps", self.decay_steps)

    def _at(self, step: jax.Array) -> jax.Array:
        if self.staircase:
            progress = floor_div(step, self.decay_steps)
        else:
            progress = safe_div(step, self.decay_steps)
        return self.init_value / (1.0 + self.decay_rate * progress)


@register("inverse_sqrt")
class InverseSqrt(Schedule):
    """Linear warmup to `peak_value`, then decay as one over the square root of the step.

    For `step < warmup_steps`: `peak_value * step / warmup_steps`. After:
    `peak_value * sqrt(timescale / (step - warmup_steps + timescale))`, so the value is
    `peak_value` at the end of warmup. `timescale` defaults to `warmup_steps`, or 10,000 if
    there is no warmup, as in transformers `get_inverse_sqrt_schedule`. With
    `timescale = warmup_steps` it is the Transformer schedule of Vaswani et al. (2017),
    https://arxiv.org/abs/1706.03762.

    Args:
      peak_value: value at the end of warmup.
      warmup_steps: length of the linear warmup from 0 (non-negative).
      timescale: how slowly the value decays after warmup, in steps (positive).

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> schedule = jaxsched.inverse_sqrt(1.0, warmup_steps=2)
      >>> print(schedule(jnp.array([0, 1, 2, 8])))
      [0.  0.5 1.  0.5]
    """

    peak_value: Any
    warmup_steps: Any
    timescale: Any = None

    def __post_init__(self) -> None:
        check_finite("peak_value", self.peak_value)
        check_non_negative("warmup_steps", self.warmup_steps)
        check_positive("timescale", self.timescale, optional=True)

    def _at(self, step: jax.Array) -> jax.Array:
        warmup = jnp.asarray(self.warmup_steps, step.dtype)
        if self.timescale is None:
            timescale = jnp.where(warmup > 0, warmup, 10_000.0)
        else:
            timescale = jnp.asarray(self.timescale, step.dtype)
        ramp = self.peak_value * safe_div(step, warmup)
        decay = self.peak_value * jnp.sqrt(
            timescale / (jnp.maximum(step - warmup, 0.0) + timescale)
        )
        return jnp.where(step < warmup, ramp, decay)
