"""Piecewise-constant schedules: step decay, multistep decay and explicit pieces."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp

import jaxsched._kinds as kinds
from jaxsched._checks import (
    as_tuple,
    check,
    check_finite,
    check_increasing,
    check_non_negative,
    check_positive,
)
from jaxsched._config import register
from jaxsched._numerics import floor_div, times_power
from jaxsched._schedule import Schedule, set_field
from jaxsched._typing import ArrayLike


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

    init_value: ArrayLike = kinds.value()
    step_size: ArrayLike = kinds.steps()
    decay_rate: ArrayLike = kinds.ratio(default=0.1)

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

    init_value: ArrayLike = kinds.value()
    milestones: Sequence[ArrayLike] = kinds.steps()
    decay_rate: ArrayLike = kinds.ratio(default=0.1)

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

    boundaries: Sequence[ArrayLike] = kinds.steps()
    values: Sequence[ArrayLike] = kinds.value()

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


def split_boundaries_and_scales(obj: Any, sort: bool) -> None:
    """Accepts optax's `{step: scale}` dict in `boundaries` (with `scales` left out).

    Dict keys may be strings (as JSON writes them). With `sort`, the pairs are sorted by step.
    No boundaries (None, like optax's `boundaries_and_scales=None`) is an empty dict.
    """
    if obj.boundaries is None and obj.scales is None:
        set_field(obj, "boundaries", {})
    if isinstance(obj.boundaries, Mapping):
        if obj.scales is not None:
            raise ValueError(
                "scales must be left out when boundaries is a {step: scale} dict, got "
                f"scales={obj.scales!r}"
            )
        try:
            pairs = [(float(step), scale) for step, scale in obj.boundaries.items()]
        except (TypeError, ValueError):
            raise ValueError(
                f"boundaries must map steps to scales, got boundaries={obj.boundaries!r}"
            ) from None
        if sort:
            pairs.sort(key=lambda pair: pair[0])
        set_field(obj, "boundaries", tuple(step for step, _ in pairs))
        set_field(obj, "scales", tuple(scale for _, scale in pairs))
    if obj.scales is None:
        raise ValueError("scales must be given (or boundaries as a {step: scale} dict)")
    set_field(obj, "boundaries", as_tuple("boundaries", obj.boundaries))
    set_field(obj, "scales", as_tuple("scales", obj.scales))
    if len(obj.boundaries) != len(obj.scales):
        raise ValueError(
            f"boundaries and scales must have the same length, got "
            f"len(boundaries)={len(obj.boundaries)} and len(scales)={len(obj.scales)}"
        )
    for scale in obj.scales:
        check_non_negative("scales", scale)


@register("piecewise_constant_scales")
class PiecewiseConstantScales(Schedule):
    """`init_value` times the product of the scales whose boundary the step has reached.

    `init_value * prod(scales[i] for boundaries[i] <= step)`: each scale multiplies the value
    from its boundary on (order does not matter; a repeated boundary multiplies twice).
    Boundaries may be given as optax's dict, `piecewise_constant_scales(1.0, {100: 0.1})`.

    Equivalent: optax `piecewise_constant_schedule(init_value, boundaries_and_scales)`, step
    for step (the scale applies AT the boundary). For absolute values per piece use
    `piecewise_constant`.

    Args:
      init_value: value before the first boundary.
      boundaries (Sequence[ArrayLike] | Mapping | None): non-negative steps; or a
        `{step: scale}` dict; None for none.
      scales (Sequence[ArrayLike] | None): the non-negative factor applied at each boundary
        (left out with a dict).

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> schedule = jaxsched.piecewise_constant_scales(1.0, {2: 0.1, 4: 0.5})
      >>> print(schedule(jnp.arange(6)))
      [1.   1.   0.1  0.1  0.05 0.05]
    """

    init_value: ArrayLike = kinds.value()
    boundaries: Any = kinds.steps(default=None)
    scales: Any = kinds.ratio(default=None)

    def __post_init__(self) -> None:
        check_finite("init_value", self.init_value)
        split_boundaries_and_scales(self, sort=False)
        for boundary in self.boundaries:
            check_non_negative("boundaries", boundary)

    def _at(self, step: jax.Array) -> jax.Array:
        value = jnp.full_like(step, self.init_value)
        for boundary, scale in zip(self.boundaries, self.scales, strict=True):
            value = jnp.where(step >= boundary, value * scale, value)
        return value


@register("constant_factor")
class ConstantFactor(Schedule):
    """`value * factor` for the first `transition_steps` steps, then `value`.

    Equivalent: torch `ConstantLR(factor, total_iters)` on an optimizer with learning rate
    `value` (`transition_steps = total_iters`; torch's recursive form never undoes the
    factor when `total_iters=0`, its closed form gives `value` from step 0, as this does).

    Args:
      value: the value after `transition_steps`.
      factor: multiplier before `transition_steps`, in [0, 1] (torch's default 1/3).
      transition_steps: steps at the reduced value (non-negative).

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> print(jaxsched.constant_factor(1.0, factor=0.5, transition_steps=2)(jnp.arange(4)))
      [0.5 0.5 1.  1. ]
    """

    value: ArrayLike = kinds.value()
    factor: ArrayLike = kinds.fraction(default=1.0 / 3)
    transition_steps: ArrayLike = kinds.steps(default=5)

    def __post_init__(self) -> None:
        check_finite("value", self.value)
        check("factor", self.factor, lambda v: (v >= 0) & (v <= 1), "in [0, 1]")
        check_non_negative("transition_steps", self.transition_steps)

    def _at(self, step: jax.Array) -> jax.Array:
        value = jnp.full_like(step, self.value)
        return jnp.where(step < self.transition_steps, value * self.factor, value)
