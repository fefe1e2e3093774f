"""Piecewise-constant schedules: step decay, multistep decay and explicit pieces."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxsched._base import (
    Schedule,
    as_tuple,
    check_finite,
    check_increasing,
    check_non_negative,
    check_positive,
    floor_div,
    register,
    set_field,
    times_power,
)


@register("step_decay")
class StepDecay(Schedule):
    """Multiplies the value by `decay_rate` every `step_size` steps.

    `init_value * decay_rate ** floor(step / step_size)`, as torch `StepLR(step_size, gamma)`.
    Used for the ResNets of He et al. (2016), https://arxiv.org/abs/1512.03385.

    Args:
      init_value: value for the first `step_size` steps.
      step_size: steps between decays (positive).
      decay_rate: factor applied at each decay (non-negative).

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> schedule = jaxsched.step_decay(1.0, step_size=2, decay_rate=0.5)
      >>> print(schedule(jnp.arange(6)))
      [1.   1.   0.5  0.5  0.25 0.25]
    """

    init_value: Any
    step_size: Any
    decay_rate: Any = 0.1

    def __post_init__(self) -> None:
        check_finite("init_value", self.init_value)
        check_positive("step_size", self.step_size)
        check_non_negative("decay_rate", self.decay_rate)

    def _at(self, step: jax.Array) -> jax.Array:
        decays = floor_div(step, self.step_size)
        return times_power(self.init_value, self.decay_rate, decays)


@register("multistep_decay")
class MultistepDecay(Schedule):
    """Multiplies the value by `decay_rate` at each milestone step.

    `init_value * decay_rate ** (number of milestones <= step)`, as torch `MultiStepLR`:
    milestones need not be sorted and a repeated milestone decays twice.

    Args:
      init_value: value before the first milestone.
      milestones: steps at which the value is multiplied by `decay_rate` (non-negative).
      decay_rate: factor applied at each milestone (non-negative).

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> schedule = jaxsched.multistep_decay(1.0, milestones=(2, 4), decay_rate=0.1)
      >>> print(schedule(jnp.arange(6)))
      [1.   1.   0.1  0.1  0.01 0.01]
    """

    init_value: Any
    milestones: Any
    decay_rate: Any = 0.1

    def __post_init__(self) -> None:
        check_finite("init_value", self.init_value)
        set_field(self, "milestones", as_tuple("milestones", self.milestones))
        for milestone in self.milestones:
            check_non_negative("milestones", milestone)
        check_non_negative("decay_rate", self.decay_rate)

    def _at(self, step: jax.Array) -> jax.Array:
        passed = jnp.zeros_like(step)
        for milestone in self.milestones:
            passed = passed + (step >= milestone)
        return times_power(self.init_value, self.decay_rate, passed)


@register("piecewise_constant")
class PiecewiseConstant(Schedule):
    """`values[i]` from `boundaries[i - 1]` (inclusive) up to `boundaries[i]` (exclusive).

    The value switches AT `step == boundary`. keras `PiecewiseConstantDecay` switches one
    step later (its value at `step == boundary` is still the earlier one), so keras
    boundaries `b` are ours `b + 1`. Values are absolute, not multipliers.

    Args:
      boundaries: strictly increasing, non-negative steps where the value changes.
      values: one more value than boundaries.

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> schedule = jaxsched.piecewise_constant(boundaries=(2, 4), values=(1.0, 0.5, 0.1))
      >>> print(schedule(jnp.arange(6)))
      [1.  1.  0.5 0.5 0.1 0.1]
    """

    boundaries: Any
    values: Any

    def __post_init__(self) -> None:
        boundaries = as_tuple("boundaries", self.boundaries)
        values = as_tuple("values", self.values)
        set_field(self, "boundaries", boundaries)
        set_field(self, "values", values)
        if len(values) != len(boundaries) + 1:
            raise ValueError(
                f"values must have one more entry than boundaries, got "
                f"len(values)={len(values)} and len(boundaries)={len(boundaries)}"
            )
        for value in values:
            check_finite("values", value)
        check_increasing("boundaries", boundaries)

    def _at(self, step: jax.Array) -> jax.Array:
        result = jnp.full_like(step, self.values[0])
        for boundary, value in zip(self.boundaries, self.values[1:], strict=True):
            result = jnp.where(step >= boundary, value, result)
        return result
