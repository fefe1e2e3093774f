"""Schedules made of schedules: joins, warmups, turns, advances, products, scaling, clipping."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import jaxsched._kinds as kinds
from jaxsched._checks import (
    as_tuple,
    check,
    check_finite,
    check_increasing,
    check_non_negative,
    check_positive,
    is_concrete,
    short_repr,
)
from jaxsched._config import register
from jaxsched._numerics import as_float_array, clamp01, float_dtype, lerp, safe_div
from jaxsched._schedule import Schedule, check_nesting, set_field, static_field
from jaxsched._shapes import check_shape, warmup_fraction
from jaxsched._typing import ArrayLike


def check_schedules(name: str, schedules: Any) -> tuple[Schedule, ...]:
    schedules = tuple(schedules) if isinstance(schedules, (list, tuple)) else (schedules,)
    for schedule in schedules:
        if not isinstance(schedule, Schedule):
            raise ValueError(
                f"{name} must hold jaxsched schedules, got {type(schedule).__name__}; "
                "wrap a number in jaxsched.constant"
            )
    if not schedules:
        raise ValueError(f"{name} must hold at least one schedule")
    check_nesting(name, schedules)
    return schedules


def check_pieces(obj: Any) -> None:
    """Checks and stores a piecewise schedule's `schedules` and `boundaries` (join, history):
    one boundary fewer than schedules, strictly increasing."""
    schedules = check_schedules("schedules", obj.schedules)
    boundaries = as_tuple("boundaries", obj.boundaries)
    set_field(obj, "schedules", schedules)
    set_field(obj, "boundaries", boundaries)
    if len(boundaries) != len(schedules) - 1:
        raise ValueError(
            f"boundaries must have one entry fewer than schedules, got "
            f"len(boundaries)={len(boundaries)} and len(schedules)={len(schedules)}"
        )
    check_increasing("boundaries", boundaries)


def one_per_schedule(obj: Any, name: str) -> tuple[Any, ...]:
    """Checks and stores `obj.schedules` and the numbers of field `name`, one per schedule
    (by_fraction's fractions, alternate's steps); returns the numbers as a tuple."""
    schedules = check_schedules("schedules", obj.schedules)
    numbers = as_tuple(name, getattr(obj, name))
    set_field(obj, "schedules", schedules)
    set_field(obj, name, numbers)
    if len(numbers) != len(schedules):
        raise ValueError(
            f"{name} must have one entry per schedule, got len({name})={len(numbers)} and "
            f"len(schedules)={len(schedules)}"
        )
    return numbers


def _join(step: jax.Array, schedules: Sequence[Schedule], boundaries: Sequence[Any]) -> jax.Array:
    value = schedules[0](step)
    for boundary, schedule in zip(boundaries, schedules[1:], strict=True):
        value = jnp.where(step >= boundary, schedule(step - boundary), value)
    return value


@register("join")
class Join(Schedule):
    """Runs `schedules[0]`, then `schedules[1]` from `boundaries[0]`, and so on.

    Each piece sees the step counted from its own start: from `boundaries[i - 1]` on the value
    is `schedules[i](step - boundaries[i - 1])`. The switch happens AT the boundary step, as in
    optax `join_schedules`.

    Args:
      schedules: the pieces, in order.
      boundaries: strictly increasing, non-negative steps where each next piece starts; one
        fewer than `schedules`.

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> ramp = jaxsched.linear(0.0, 1.0, transition_steps=2)
      >>> decay = jaxsched.exponential_decay(1.0, decay_rate=0.5)
      >>> print(jaxsched.join((ramp, decay), boundaries=(2,))(jnp.arange(5)))
      [0.   0.5  1.   0.5  0.25]
    """

    schedules: Sequence[Schedule] = kinds.schedules()
    boundaries: Sequence[ArrayLike] = kinds.steps()

    def __post_init__(self) -> None:
        check_pieces(self)

    def _at(self, step: jax.Array) -> jax.Array:
        return _join(step, self.schedules, self.boundaries)


@register("by_fraction")
class ByFraction(Schedule):
    """Lays `schedules` end to end, each taking its share of `total_steps`.

    Piece `i` starts at step `round(total_steps * sum(fractions[:i]))` and sees the step
    counted from there, as in `join`. Changing `total_steps` stretches the whole layout; it is
    a leaf, so it can be traced or vmapped.

    Args:
      total_steps: the length of the run (positive).
      fractions: the positive share of each piece, summing to 1.
      schedules: the pieces, one per fraction.

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> pieces = (jaxsched.constant(1.0), jaxsched.constant(0.1))
      >>> schedule = jaxsched.by_fraction(4, fractions=(0.75, 0.25), schedules=pieces)
      >>> print(schedule(jnp.arange(5)))
      [1.  1.  1.  0.1 0.1]
    """

    total_steps: ArrayLike = kinds.steps()
    fractions: Sequence[ArrayLike] = kinds.fraction()
    schedules: Sequence[Schedule] = kinds.schedules()

    def __post_init__(self) -> None:
        check_positive("total_steps", self.total_steps)
        fractions = one_per_schedule(self, "fractions")
        for fraction in fractions:
            check_positive("fractions", fraction)
        if all(is_concrete(f) for f in fractions):
            total = np.sum(np.asarray(fractions, np.float64), axis=0)
            if not bool(np.all(np.abs(total - 1) < 1e-6)):
                raise ValueError(
                    f"fractions must sum to 1, got fractions={short_repr(fractions)} (sum "
                    f"{short_repr(total)})"
                )

    def _at(self, step: jax.Array) -> jax.Array:
        starts, share = [], 0.0
        for fraction in self.fractions[:-1]:
            share = share + fraction
            # round, not floor: 0.7 + 0.1 is 0.7999... in floating point
            starts.append(jnp.round(self.total_steps * share))
        return _join(step, self.schedules, starts)


@register("warmup")
class Warmup(Schedule):
    """Ramps from `init_value` to `schedule(0)` over `warmup_steps`, then runs `schedule`.

    With `prefix=True` (the default) the wrapped schedule starts from its own step 0 when the
    warmup ends: at step `warmup_steps + k` the value is `schedule(k)`. With `prefix=False`
    the warmup replaces the first `warmup_steps` steps of the schedule instead of delaying it:
    from `warmup_steps` on the value is `schedule(step)`, as timm's schedulers do with
    `warmup_t` and `warmup_prefix=False` (their default). The ramp then still heads for
    `schedule(0)`, as timm's cosine, poly, step and multistep schedulers do, so the value
    jumps where the schedule takes over; with `continuous=True` it heads for
    `schedule(warmup_steps)` instead and meets the schedule there, as timm's
    `TanhLRScheduler` does. The ramp shape is "linear", "cosine" or "1-sqrt". A warmup of 0
    steps is the schedule itself. From Goyal et al. (2017), https://arxiv.org/abs/1706.02677.

    Args:
      schedule: the schedule to run after the warmup.
      warmup_steps: length of the ramp (non-negative).
      init_value: value at step 0.
      shape: "linear", "cosine" or "1-sqrt".
      prefix: delay the schedule by the warmup (True) or overlay its first steps (False).
      continuous: with `prefix=False`, ramp to the schedule's value where the warmup ends
        rather than its value at step 0 (with `prefix=True` the two are the same).

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> schedule = jaxsched.warmup(jaxsched.cosine_decay(1.0, 2), warmup_steps=2)
      >>> print(schedule(jnp.arange(6)))
      [0.  0.5 1.  0.5 0.  0. ]
    """

    schedule: Schedule = kinds.schedules()
    warmup_steps: ArrayLike = kinds.steps()
    init_value: ArrayLike = kinds.value(default=0.0)
    shape: str = static_field(default="linear")
    prefix: bool = static_field(default=True)
    continuous: bool = static_field(default=False)

    def __post_init__(self) -> None:
        check_schedules("schedule", self.schedule)
        check_non_negative("warmup_steps", self.warmup_steps)
        check_finite("init_value", self.init_value)
        check_shape("shape", self.shape)

    def _at(self, step: jax.Array) -> jax.Array:
        warmup = jnp.asarray(self.warmup_steps, step.dtype)
        after = step if not self.prefix else jnp.maximum(step - warmup, 0.0)
        # One evaluation of the schedule: at the ramp's target step during the warmup (0, or
        # `warmup_steps` when `continuous`), at `after` from its end. Two would double the work
        # at every level of nesting.
        anchor = warmup if self.continuous and not self.prefix else 0.0
        warming = step < warmup
        inner = self.schedule(jnp.where(warming, anchor, after))
        progress = warmup_fraction(self.shape, clamp01(safe_div(step, warmup)))
        return jnp.where(warming, lerp(self.init_value, inner, progress), inner)


@register("alternate")
class Alternate(Schedule):
    """Takes turns between `schedules`, each for its number of `steps`, on the absolute step.

    With the period `P = sum(steps)`, step `t` uses `schedules[i]` for the piece `i` that holds
    `t mod P`: `steps[0]` steps of the first schedule, then `steps[1]` of the second, and so
    on, round and round. Unlike `join`, every schedule sees the absolute step `t`, not the
    step counted from its own start, so two decays alternate while both keep decaying. A
    piece of 0 steps is never used. It never stops.

    Equivalent: praxis `CycleSchedule(schedules, steps)` (`praxis/schedules.py`),
    formula-level parity, tested against a NumPy transcription of its source.

    Args:
      schedules: the schedules to take turns between.
      steps: the non-negative number of steps each one runs per turn, with a positive sum.

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> fast = jaxsched.exponential_decay(1.0, decay_rate=0.5)
      >>> schedule = jaxsched.alternate((fast, jaxsched.constant(0.1)), steps=(2, 1))
      >>> print(schedule(jnp.arange(7)))
      [1.       0.5      0.1      0.125    0.0625   0.1      0.015625]
    """

    schedules: Sequence[Schedule] = kinds.schedules()
    steps: Sequence[ArrayLike] = kinds.steps()

    def __post_init__(self) -> None:
        steps = one_per_schedule(self, "steps")
        for count in steps:
            check_non_negative("steps", count)
        if all(is_concrete(c) for c in steps):
            period = sum(as_float_array(c) for c in steps)  # in the dtype schedules compute in
            if not np.all(period > 0):
                raise ValueError(
                    f"steps must sum to a positive period in {np.dtype(float_dtype()).name}, "
                    f"got steps={short_repr(steps)}"
                )

    def _at(self, step: jax.Array) -> jax.Array:
        period = sum(self.steps[1:], self.steps[0])
        # `remainder` is exact (an fmod); `step - floor(step / period) * period` goes negative
        # once float32 cannot hold the quotient (step 1e18).
        position = jnp.remainder(step, period)
        value = self.schedules[0](step)
        start = self.steps[0]
        for count, schedule in zip(self.steps[1:], self.schedules[1:], strict=True):
            value = jnp.where(position >= start, schedule(step), value)
            start = start + count
        return value


@register("advance")
class Advance(Schedule):
    """`schedule(max(step + steps, min_step))`: a schedule run ahead of, or behind, the step.

    `steps=1` evaluates the schedule one step ahead (transformers'
    `cosine_warmup_with_min_lr` decays as if one step later); a negative `steps` runs it
    behind, holding `schedule(min_step)` until it starts; `min_step=1` clamps the step to at
    least 1 (praxis' `LinearRampupSqrtDecay` gives step 0 the value of step 1).

    Args:
      schedule: the schedule to evaluate.
      steps: added to the step (finite, either sign).
      min_step: the smallest step the schedule sees (non-negative).

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> ramp = jaxsched.linear(0.0, 1.0, transition_steps=4)
      >>> print(jaxsched.advance(ramp, steps=1)(jnp.arange(5)))
      [0.25 0.5  0.75 1.   1.  ]
      >>> print(jaxsched.advance(ramp, min_step=1)(jnp.arange(3)))
      [0.25 0.25 0.5 ]
    """

    schedule: Schedule = kinds.schedules()
    steps: ArrayLike = kinds.real(default=0.0)
    min_step: ArrayLike = kinds.steps(default=0.0)

    def __post_init__(self) -> None:
        check_schedules("schedule", self.schedule)
        check_finite("steps", self.steps)
        check_non_negative("min_step", self.min_step)

    def _at(self, step: jax.Array) -> jax.Array:
        return self.schedule(jnp.maximum(step + self.steps, self.min_step))


@register("product")
class Product(Schedule):
    """The product of several schedules, step by step (build it with `jaxsched.product`)."""

    schedules: Sequence[Schedule] = kinds.schedules()

    def __post_init__(self) -> None:
        set_field(self, "schedules", check_schedules("schedules", self.schedules))

    def _at(self, step: jax.Array) -> jax.Array:
        value = jnp.ones_like(step, dtype=float_dtype())
        zero = jnp.zeros_like(step, dtype=bool)
        for schedule in self.schedules:
            factor = schedule(step)
            zero = zero | (factor == 0)
            value = value * factor
        # A factor of exactly 0 makes the product 0 even where another one overflowed to inf
        # at a huge step (0 * inf is NaN); elsewhere the plain product keeps its derivatives.
        return jnp.where(zero & jnp.isnan(value), 0.0, value)


def product(*schedules: Schedule) -> Product:
    """The step-by-step product of `schedules`, for example a decay times a cyclic factor.

    Args:
      *schedules: one or more schedules.

    Returns:
      A schedule whose value is the product of theirs.

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> decay = jaxsched.exponential_decay(1.0, decay_rate=0.5)
      >>> wave = jaxsched.cyclic(0.0, 1.0, step_size_up=1)
      >>> print(jaxsched.product(decay, wave)(jnp.arange(4)))
      [0.    0.5   0.    0.125]
    """
    return Product(schedules)


@register("scale")
class Scale(Schedule):
    """`factor * schedule(step)`.

    Args:
      schedule: the schedule to scale.
      factor: the multiplier.

    Examples:
      >>> import jaxsched
      >>> print(jaxsched.scale(jaxsched.constant(0.5), factor=0.2)(0))
      0.1
    """

    schedule: Schedule = kinds.schedules()
    factor: ArrayLike = kinds.real()

    def __post_init__(self) -> None:
        check_schedules("schedule", self.schedule)
        check_finite("factor", self.factor)

    def _at(self, step: jax.Array) -> jax.Array:
        return self.factor * self.schedule(step)


@register("clip")
class Clip(Schedule):
    """`schedule(step)` kept within `[min_value, max_value]` (either bound may be None).

    Args:
      schedule: the schedule to clip.
      min_value: lower bound, or None.
      max_value: upper bound, or None (at least `min_value`).

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> decay = jaxsched.exponential_decay(1.0, decay_rate=0.1)
      >>> print(jaxsched.clip(decay, min_value=0.05)(jnp.arange(4)))
      [1.   0.1  0.05 0.05]
    """

    schedule: Schedule = kinds.schedules()
    min_value: ArrayLike | None = kinds.value(default=None)
    max_value: ArrayLike | None = kinds.value(default=None)

    def __post_init__(self) -> None:
        check_schedules("schedule", self.schedule)
        check_finite("min_value", self.min_value, optional=True)
        check_finite("max_value", self.max_value, optional=True)
        if is_concrete(self.min_value) and is_concrete(self.max_value):
            check(
                "max_value",
                self.max_value,
                lambda v: v >= self.min_value,
                f"at least min_value={self.min_value}",
            )

    def _at(self, step: jax.Array) -> jax.Array:
        return jnp.clip(self.schedule(step), self.min_value, self.max_value)


def stack(schedules: Sequence[Schedule]) -> Schedule:
    """Stacks schedules of one structure into one schedule with a leading batch axis.

    Use it with `jax.vmap` to evaluate or train with many schedules at once: the result has
    the same type and static settings, and every numeric leaf gains a leading axis.

    Args:
      schedules: schedules with the same type, static settings and nesting.

    Returns:
      One schedule whose leaves are stacked along axis 0.

    Raises:
      ValueError: if the schedules differ in structure (for example two families, or a
        different `mode`); group them by structure first.

    Examples:
      >>> import jax, jaxsched
      >>> batch = jaxsched.stack([jaxsched.cosine_decay(v, 10) for v in (0.1, 0.2, 0.4)])
      >>> print(jax.vmap(lambda schedule: schedule(5))(batch))
      [0.05 0.1 0.2]
    """
    schedules = list(schedules)
    if not schedules:
        raise ValueError("schedules must hold at least one schedule")
    structures = {jax.tree.structure(s) for s in schedules}
    if len(structures) != 1:
        raise ValueError(
            "schedules must share one structure to be stacked, got "
            + ", ".join(sorted({repr(s) for s in schedules}))
        )
    return jax.tree.map(
        lambda *leaves: jnp.stack([jnp.asarray(leaf) for leaf in leaves]), *schedules
    )
