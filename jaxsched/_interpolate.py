"""Piecewise interpolation between accumulated scales, and optax's one-cycle layouts on it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import jaxsched._kinds as kinds
from jaxsched._checks import (
    check,
    check_choice,
    check_finite,
    check_increasing,
    check_positive,
    is_concrete,
)
from jaxsched._config import register
from jaxsched._cyclic import check_one_cycle_values
from jaxsched._numerics import PI, lerp, snap_to_whole
from jaxsched._schedule import Schedule, static_field
from jaxsched._step import split_boundaries_and_scales
from jaxsched._typing import ArrayLike

_INTERPOLATE_TYPES = ("linear", "cosine")


def _interpolate(kind: str, start: Any, end: Any, fraction: jax.Array) -> jax.Array:
    if kind == "cosine":
        fraction = 0.5 * (1.0 - jnp.cos(PI * fraction))
    return lerp(start, end, fraction)


def _piecewise(
    step: jax.Array, bounds: Sequence[Any], values: Sequence[Any], kind: str
) -> jax.Array:
    """`values[i]` at `bounds[i]` (`bounds[0]` is 0), interpolated in between, as optax does.

    Between two bounds the value moves from one value to the next over `max(length, 1)`
    steps; from the last bound on it holds the last value. A zero-length interval is skipped.
    """
    result = jnp.broadcast_to(jnp.asarray(values[-1], step.dtype), step.shape)
    for i in reversed(range(len(bounds) - 1)):
        size = jnp.maximum(bounds[i + 1] - bounds[i], 1.0)
        inside = (bounds[i] <= step) & (step < bounds[i + 1])
        fraction = jnp.where(inside, (step - bounds[i]) / size, 0.0)
        result = jnp.where(inside, _interpolate(kind, values[i], values[i + 1], fraction), result)
    return result


@register("piecewise_interpolate")
class PiecewiseInterpolate(Schedule):
    """Interpolates between `init_value` scaled by the product of the scales passed so far.

    The value is `init_value` at step 0 and `init_value * scales[0] * ... * scales[i]` at
    `boundaries[i]`; in between it moves linearly, or along half a cosine, from one to the
    next; from the last boundary on it holds the full product. Boundaries may be given as
    optax's dict, `piecewise_interpolate(1.0, {4: 0.1, 8: 0.01})`.

    Equivalent: optax `piecewise_interpolate_schedule(interpolate_type, init_value,
    boundaries_and_scales)`, step for step.

    Args:
      init_value: value at step 0.
      boundaries (Sequence[ArrayLike] | Mapping | None): strictly increasing, non-negative
        steps; or a `{step: scale}` dict; None for none (the value is `init_value` for ever).
      scales (Sequence[ArrayLike] | None): the non-negative factor reached at each boundary
        (left out with a dict).
      interpolate_type: "linear" or "cosine".

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> schedule = jaxsched.piecewise_interpolate(1.0, {4: 0.1, 8: 0.01})
      >>> print(schedule(jnp.arange(0, 11, 2)))
      [1.     0.55   0.1    0.0505 0.001  0.001 ]
    """

    init_value: ArrayLike = kinds.value()
    boundaries: Any = kinds.steps(default=None)
    scales: Any = kinds.ratio(default=None)
    interpolate_type: str = static_field(default="linear")

    def __post_init__(self) -> None:
        check_finite("init_value", self.init_value)
        split_boundaries_and_scales(self, sort=True)
        check_increasing("boundaries", self.boundaries)
        check_choice("interpolate_type", self.interpolate_type, _INTERPOLATE_TYPES)

    def _at(self, step: jax.Array) -> jax.Array:
        values = [self.init_value]
        for scale in self.scales:
            values.append(values[-1] * scale)
        bounds = [0.0, *self.boundaries]
        return _piecewise(step, bounds, values, self.interpolate_type)


def _whole(x: Any) -> jax.Array:
    """optax's `int(x)` of a non-negative step count, the same in every evaluation mode."""
    return jnp.floor(snap_to_whole(jnp.asarray(x)))


def _int(x: float) -> float:
    """`_whole` for a concrete Python number, in float64 (for the checks)."""
    whole = round(x)
    return (
        float(whole)
        if abs(x - whole) <= 16 * np.finfo(np.float32).eps * max(abs(x), 1)
        else float(np.floor(x))
    )


@register("linear_onecycle")
class LinearOneCycle(Schedule):
    """optax's linear one-cycle: up to `peak_value`, back down to the start, then far below it.

    With `init = peak_value / div_factor`, the value climbs linearly from `init` at step 0 to
    `peak_value` at `a = int(pct_start * transition_steps)`, comes back to `init` at
    `b = int(pct_final * transition_steps)`, then goes to `init / final_div_factor` at
    `transition_steps` and holds it. (`int` truncates; a product within rounding of a whole
    number counts as that number, so `0.29 * 100` is step 29 here where optax's float64
    arithmetic gives 28.)

    Equivalent: optax `linear_onecycle_schedule(transition_steps, peak_value, pct_start,
    pct_final, div_factor, final_div_factor)`, step for step. Unlike torch's `OneCycleLR`
    (`jaxsched.one_cycle`) the phase ends are whole steps counted from 0 and there are three
    linear phases. From Smith & Topin (2017), https://arxiv.org/abs/1708.07120.

    Args:
      transition_steps: length of the cycle (positive).
      peak_value: the highest value.
      pct_start: share of the cycle spent climbing, in [0, 1].
      pct_final: share of the cycle at whose end the value is back at the start, in [0, 1];
        `a < b < transition_steps` must hold.
      div_factor: start value is `peak_value / div_factor` (positive).
      final_div_factor: final value is the start value over this (positive).

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> schedule = jaxsched.linear_onecycle(10, 1.0, pct_start=0.2, pct_final=0.6,
      ...                                     div_factor=10.0, final_div_factor=10.0)
      >>> [round(float(v), 4) for v in schedule(jnp.arange(0, 12, 2))]
      [0.1, 1.0, 0.55, 0.1, 0.055, 0.01]
    """

    transition_steps: ArrayLike = kinds.steps()
    peak_value: ArrayLike = kinds.value()
    pct_start: ArrayLike = kinds.fraction(default=0.3)
    pct_final: ArrayLike = kinds.fraction(default=0.85)
    div_factor: ArrayLike = kinds.ratio(default=25.0)
    final_div_factor: ArrayLike = kinds.ratio(default=1e4)

    def __post_init__(self) -> None:
        check_positive("transition_steps", self.transition_steps)
        check("pct_start", self.pct_start, lambda v: (v >= 0) & (v <= 1), "in [0, 1]")
        check("pct_final", self.pct_final, lambda v: (v >= 0) & (v <= 1), "in [0, 1]")
        check_one_cycle_values(self)
        if all(is_concrete(v) for v in (self.transition_steps, self.pct_start, self.pct_final)):
            total = float(self.transition_steps)
            a = _int(float(self.pct_start) * total)
            b = _int(float(self.pct_final) * total)
            if not a < b:
                raise ValueError(
                    f"pct_final must end the second phase after the first: int(pct_start * "
                    f"transition_steps)={a:g} and int(pct_final * transition_steps)={b:g}, got "
                    f"pct_final={self.pct_final}"
                )
            if not b < total:
                raise ValueError(
                    f"pct_final must leave steps for the third phase: int(pct_final * "
                    f"transition_steps)={b:g} with transition_steps={total:g}, got "
                    f"pct_final={self.pct_final}"
                )

    def _at(self, step: jax.Array) -> jax.Array:
        init = self.peak_value / self.div_factor
        bounds = [
            0.0,
            _whole(self.pct_start * self.transition_steps),
            _whole(self.pct_final * self.transition_steps),
            self.transition_steps,
        ]
        values = [init, self.peak_value, init, init / self.final_div_factor]
        return _piecewise(step, bounds, values, "linear")


@register("cosine_onecycle")
class CosineOneCycle(Schedule):
    """optax's cosine one-cycle: up to `peak_value` along half a cosine, then down to the end.

    With `init = peak_value / div_factor`, the value climbs from `init` at step 0 to
    `peak_value` at `a = int(pct_start * transition_steps)`, then falls to
    `init / final_div_factor` at `int(transition_steps)`, each along half a cosine, and holds
    it. (`int` as in `linear_onecycle`.)

    Equivalent: optax `cosine_onecycle_schedule(transition_steps, peak_value, pct_start,
    div_factor, final_div_factor)`, step for step. torch's `OneCycleLR`
    (`jaxsched.one_cycle`) lays the phases out differently: it peaks at the fractional step
    `pct_start * total_steps - 1` and reaches the end at `total_steps - 1`. From Smith &
    Topin (2017), https://arxiv.org/abs/1708.07120.

    Args:
      transition_steps: length of the cycle (positive).
      peak_value: the highest value.
      pct_start: share of the cycle spent climbing, in [0, 1).
      div_factor: start value is `peak_value / div_factor` (positive).
      final_div_factor: final value is the start value over this (positive).

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> schedule = jaxsched.cosine_onecycle(4, 1.0, pct_start=0.5, div_factor=10.0,
      ...                                     final_div_factor=10.0)
      >>> [round(float(v), 4) for v in schedule(jnp.arange(6))]
      [0.1, 0.55, 1.0, 0.505, 0.01, 0.01]
    """

    transition_steps: ArrayLike = kinds.steps()
    peak_value: ArrayLike = kinds.value()
    pct_start: ArrayLike = kinds.fraction(default=0.3)
    div_factor: ArrayLike = kinds.ratio(default=25.0)
    final_div_factor: ArrayLike = kinds.ratio(default=1e4)

    def __post_init__(self) -> None:
        check_positive("transition_steps", self.transition_steps)
        check("pct_start", self.pct_start, lambda v: (v >= 0) & (v < 1), "in [0, 1)")
        check_one_cycle_values(self)
        if is_concrete(self.transition_steps) and is_concrete(self.pct_start):
            total = float(self.transition_steps)
            a, end = _int(float(self.pct_start) * total), float(np.floor(total))
            if not a < end:
                raise ValueError(
                    f"pct_start must leave steps for the decay: int(pct_start * "
                    f"transition_steps)={a:g} and int(transition_steps)={end:g}, got "
                    f"pct_start={self.pct_start}"
                )

    def _at(self, step: jax.Array) -> jax.Array:
        init = self.peak_value / self.div_factor
        bounds = [
            0.0,
            _whole(self.pct_start * self.transition_steps),
            jnp.floor(self.transition_steps),
        ]
        values = [init, self.peak_value, init / self.final_div_factor]
        return _piecewise(step, bounds, values, "cosine")
