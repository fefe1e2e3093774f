"""Exponential, inverse-time and inverse-square-root decay."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

import jaxsched._kinds as kinds
from jaxsched._checks import check_finite, check_non_negative, check_positive
from jaxsched._config import register
from jaxsched._numerics import clamp01, floor_div, lerp, safe_div, times_power
from jaxsched._schedule import Schedule, static_field
from jaxsched._typing import ArrayLike


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

    init_value: ArrayLike = kinds.value()
    decay_rate: ArrayLike = kinds.ratio()
    transition_steps: ArrayLike = kinds.steps(default=1)
    staircase: bool = static_field(default=False)
    transition_begin: ArrayLike = kinds.steps(default=0)
    end_value: ArrayLike | None = kinds.value(default=None)

    def __post_init__(self) -> None:
        check_finite("init_value", self.init_value)
        check_positive("decay_rate", self.decay_rate)
        check_positive("transition_steps", self.transition_steps)
        check_non_negative("transition_begin", self.transition_begin)
        check_finite("end_value", self.end_value, optional=True)

    def _at(self, step: jax.Array) -> jax.Array:
        return _exponential(self, self.init_value, step)


def _exponential(schedule: Any, init_value: Any, step: jax.Array) -> jax.Array:
    """`exponential_decay`'s value at `step` with `schedule`'s decay settings."""
    count = jnp.maximum(step - schedule.transition_begin, 0.0)
    if schedule.staircase:
        exponent = floor_div(count, schedule.transition_steps)
    else:
        exponent = safe_div(count, schedule.transition_steps)
    value = times_power(init_value, schedule.decay_rate, exponent)
    if schedule.end_value is not None:
        # A bound by selection, not max/min: at a tie the derivative goes to the bound
        # alone (max would split it in halves between two equal, flat sides).
        decaying = jnp.asarray(schedule.decay_rate) < 1
        passed = jnp.where(decaying, value <= schedule.end_value, value >= schedule.end_value)
        value = jnp.where(passed, schedule.end_value, value)
    return value


@register("warmup_exponential_decay")
class WarmupExponentialDecay(Schedule):
    """Linear warmup from `init_value` to `peak_value`, then exponential decay from the peak.

    For `step < warmup_steps` the value is `init_value + (peak_value - init_value) * step /
    warmup_steps`; from `warmup_steps` on it is `exponential_decay(peak_value, decay_rate,
    transition_steps, staircase, transition_begin, end_value)` at `step - warmup_steps`.

    Equivalent: optax `warmup_exponential_decay_schedule(init_value, peak_value, warmup_steps,
    transition_steps, decay_rate, transition_begin, staircase, end_value)`, step for step
    (with `warmup_steps=0` optax's warmup piece is never used either).

    Args:
      init_value: value at step 0.
      peak_value: value at the end of warmup.
      warmup_steps: length of the warmup (non-negative).
      transition_steps: steps per factor of `decay_rate` (positive).
      decay_rate: factor per `transition_steps` (positive).
      transition_begin: steps to hold `peak_value` after the warmup (non-negative).
      staircase: decay in whole steps of `transition_steps`.
      end_value: optional bound that the decay never passes.

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> schedule = jaxsched.warmup_exponential_decay(0.0, 1.0, 2, 1, decay_rate=0.5)
      >>> print(schedule(jnp.arange(5)))
      [0.   0.5  1.   0.5  0.25]
    """

    init_value: ArrayLike = kinds.value()
    peak_value: ArrayLike = kinds.value()
    warmup_steps: ArrayLike = kinds.steps()
    transition_steps: ArrayLike = kinds.steps()
    decay_rate: ArrayLike = kinds.ratio()
    transition_begin: ArrayLike = kinds.steps(default=0)
    staircase: bool = static_field(default=False)
    end_value: ArrayLike | None = kinds.value(default=None)

    def __post_init__(self) -> None:
        check_finite("init_value", self.init_value)
        check_finite("peak_value", self.peak_value)
        check_non_negative("warmup_steps", self.warmup_steps)
        check_positive("transition_steps", self.transition_steps)
        check_positive("decay_rate", self.decay_rate)
        check_non_negative("transition_begin", self.transition_begin)
        check_finite("end_value", self.end_value, optional=True)

    def _at(self, step: jax.Array) -> jax.Array:
        warmup = jnp.asarray(self.warmup_steps, step.dtype)
        ramp = lerp(self.init_value, self.peak_value, clamp01(safe_div(step, warmup)))
        decay = _exponential(self, self.peak_value, jnp.maximum(step - warmup, 0.0))
        return jnp.where(step < warmup, ramp, decay)


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

    init_value: ArrayLike = kinds.value()
    decay_rate: ArrayLike = kinds.ratio()
    decay_steps: ArrayLike = kinds.steps()
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
    """Linear warmup to a peak, then decay as one over the square root of the step.

    With `s = max(step - step_offset, 0)`: for `s < warmup_steps` the value is
    `peak_value / sqrt(1 + shift / timescale) * s / warmup_steps`; after it is
    `peak_value / sqrt(1 + (s - warmup_steps + shift) / timescale)`. With `shift=0` the value
    is `peak_value` at the end of warmup. `timescale` defaults to `warmup_steps`, or 10,000 if
    there is no warmup, as in transformers `get_inverse_sqrt_schedule`. With
    `timescale = warmup_steps` it is the Transformer schedule of Vaswani et al. (2017),
    https://arxiv.org/abs/1706.03762.

    Equivalents: transformers `get_inverse_sqrt_schedule(num_warmup_steps, timescale)`
    (golden parity); big_vision `create_learning_rate_schedule(decay_type="rsqrt", base,
    warmup_steps, timescale, shift)` (`big_vision/utils.py`; `timescale` given explicitly,
    big_vision's default is 10,000 whatever the warmup); t5x `create_learning_rate_scheduler(
    "constant * linear_warmup * rsqrt_normalized_decay", base_learning_rate, warmup_steps,
    step_offset)` (`t5x/utils.py`) with `timescale = warmup_steps`, and its
    `rsqrt_decay` with `peak_value = base_learning_rate / sqrt(warmup_steps)` (t5x's
    `min_learning_rate` floor is `jaxsched.clip`). big_vision and t5x parity is formula-level,
    tested against a NumPy transcription of their source.

    Args:
      peak_value: value at the end of warmup when `shift` is 0.
      warmup_steps: length of the linear warmup from 0 (non-negative).
      timescale: how slowly the value decays after warmup, in steps (positive).
      shift: steps of decay already done at the end of warmup (non-negative; big_vision's
        `shift`, to continue a run smoothly after changing the batch size).
      step_offset: steps to hold the step-0 value (0 after a warmup) before the schedule
        starts (non-negative; t5x's `step_offset`).

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> schedule = jaxsched.inverse_sqrt(1.0, warmup_steps=2)
      >>> print(schedule(jnp.array([0, 1, 2, 8])))
      [0.  0.5 1.  0.5]
      >>> print(jaxsched.inverse_sqrt(1.0, 0, timescale=2, shift=6)(jnp.array([0, 8])))
      [0.5        0.35355338]
    """

    peak_value: ArrayLike = kinds.value()
    warmup_steps: ArrayLike = kinds.steps()
    timescale: ArrayLike | None = kinds.steps(default=None)
    shift: ArrayLike = kinds.steps(default=0.0)
    step_offset: ArrayLike = kinds.steps(default=0.0)

    def __post_init__(self) -> None:
        check_finite("peak_value", self.peak_value)
        check_non_negative("warmup_steps", self.warmup_steps)
        check_positive("timescale", self.timescale, optional=True)
        check_non_negative("shift", self.shift)
        check_non_negative("step_offset", self.step_offset)

    def _at(self, step: jax.Array) -> jax.Array:
        step = jnp.maximum(step - self.step_offset, 0.0)
        warmup = jnp.asarray(self.warmup_steps, step.dtype)
        if self.timescale is None:
            timescale = jnp.where(warmup > 0, warmup, 10_000.0)
        else:
            timescale = jnp.asarray(self.timescale, step.dtype)
        start = self.peak_value / jnp.sqrt(1.0 + self.shift / timescale)
        ramp = start * safe_div(step, warmup)
        decay = self.peak_value / jnp.sqrt(
            1.0 + (jnp.maximum(step - warmup, 0.0) + self.shift) / timescale
        )
        return jnp.where(step < warmup, ramp, decay)
