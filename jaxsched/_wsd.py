"""Warmup-stable-decay (WSD), the trapezoid schedule."""

from __future__ import annotations

import itertools
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
)
from jaxsched._config import register
from jaxsched._numerics import clamp01, lerp, safe_div
from jaxsched._schedule import Schedule, set_field, static_field
from jaxsched._shapes import check_shape, decay_fraction, warmup_fraction
from jaxsched._typing import ArrayLike


@register("warmup_stable_decay")
class WarmupStableDecay(Schedule):
    """Warm up to `peak_value`, hold it, then cool down to `end_value` at `total_steps`.

    Steps `[0, warmup_steps)` ramp from `init_value` to `peak_value`; the stable phase holds
    `peak_value` until `total_steps - decay_steps`; the last `decay_steps` steps cool down to
    `end_value`, which holds from `total_steps` on. Ramp shapes are "linear", "cosine" or
    "1-sqrt" (the cooldown that Hägele et al. found best).

    Equivalent: transformers `get_wsd_schedule(num_warmup_steps, num_decay_steps,
    num_training_steps, warmup_type, decay_type, min_lr_ratio)` with `init_value = end_value =
    min_lr_ratio * peak_value`. From MiniCPM, Hu et al. (2024), https://arxiv.org/abs/2404.06395,
    and Hägele et al. (2024), https://arxiv.org/abs/2405.18392.

    Args:
      peak_value: value of the stable phase.
      total_steps: length of the whole schedule (positive).
      warmup_steps: length of the warmup (non-negative).
      decay_steps: length of the cooldown (non-negative; `warmup_steps + decay_steps` at most
        `total_steps`).
      init_value: value at step 0.
      end_value: value at the end of the cooldown and after.
      warmup_shape: "linear", "cosine" or "1-sqrt".
      decay_shape: "linear", "cosine" or "1-sqrt".

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> schedule = jaxsched.warmup_stable_decay(1.0, total_steps=8, warmup_steps=2, decay_steps=4)
      >>> print(schedule(jnp.arange(10)))
      [0.   0.5  1.   1.   1.   0.75 0.5  0.25 0.   0.  ]
    """

    peak_value: ArrayLike = kinds.value()
    total_steps: ArrayLike = kinds.steps()
    warmup_steps: ArrayLike = kinds.steps()
    decay_steps: ArrayLike = kinds.steps()
    init_value: ArrayLike = kinds.value(default=0.0)
    end_value: ArrayLike = kinds.value(default=0.0)
    warmup_shape: str = static_field(default="linear")
    decay_shape: str = static_field(default="linear")

    def __post_init__(self) -> None:
        check_finite("peak_value", self.peak_value)
        check_positive("total_steps", self.total_steps)
        check_non_negative("warmup_steps", self.warmup_steps)
        check_non_negative("decay_steps", self.decay_steps)
        check_finite("init_value", self.init_value)
        check_finite("end_value", self.end_value)
        check_shape("warmup_shape", self.warmup_shape)
        check_shape("decay_shape", self.decay_shape)
        if all(is_concrete(v) for v in (self.total_steps, self.warmup_steps, self.decay_steps)):
            check(
                "total_steps",
                self.total_steps,
                lambda v: v >= self.warmup_steps + self.decay_steps,
                f"at least warmup_steps + decay_steps = {self.warmup_steps + self.decay_steps}",
            )

    def _at(self, step: jax.Array) -> jax.Array:
        warmup = jnp.asarray(self.warmup_steps, step.dtype)
        decay_start = jnp.asarray(self.total_steps - self.decay_steps, step.dtype)
        warm = warmup_fraction(self.warmup_shape, clamp01(safe_div(step, warmup)))
        ramp = lerp(self.init_value, self.peak_value, warm)
        left = decay_fraction(
            self.decay_shape, clamp01(safe_div(step - decay_start, self.decay_steps))
        )
        cooldown = lerp(self.end_value, self.peak_value, left)
        return jnp.where(
            step < warmup,
            ramp,
            jnp.where(
                step < decay_start,
                self.peak_value,
                jnp.where(step < self.total_steps, cooldown, self.end_value),
            ),
        )


def _per_cycle(name: str, value: Any, count: int) -> tuple[Any, ...]:
    """One number per cycle: a sequence of `count` numbers, or one number for every cycle."""
    if isinstance(value, (tuple, list)) or (is_concrete(value) and np.ndim(value) == 1):
        values = as_tuple(name, value)
        if len(values) != count:
            raise ValueError(
                f"{name} must have one entry per cycle ({count}), got {len(values)} entries"
            )
    else:
        values = (value,) * count
    for v in values:
        check_non_negative(name, v)
    return values


@register("warmup_stable_decay_cycles")
class WarmupStableDecayCycles(Schedule):
    """Several warmup-stable-decay cycles in a row, each re-warming from the last one's end.

    Cycle `k` runs from the previous cycle's end (0 for the first) to `cycle_ends[k]`. It
    ramps to `peak_value` over its warmup (`warmup_steps` for the first cycle, from
    `init_value`; `rewarmup_steps[k - 1]` for the others, from `end_value`: 0 steps jumps
    straight back up), holds `peak_value`, and decays to `end_value` over its last
    `decay_steps[k]` steps (None: every step after its warmup, with no stable phase). From the
    last end on the value holds `end_value`. Ramp shapes are "linear", "cosine" or "1-sqrt".

    Equivalent: levanter's `OptimizerConfig.lr_scheduler` with `cycles`, `warmup`,
    `rewarmup`, `decay`, `min_lr_ratio` and `lr_schedule` "linear" or "cosine"
    (`levanter/optim/config.py`): `cycle_ends` are levanter's cycle end points (for
    `cycles=n`, `int(num_train_steps / n * (i + 1))`, which `jaxsched.get(...,
    cycles=n, total_steps=...)` computes), its fractions converted to steps per cycle, and
    `end_value = min_lr_ratio * peak_value`. Formula-level parity, tested against a NumPy
    transcription of levanter's source. One cycle is `warmup_stable_decay`.

    Args:
      peak_value: value of every stable phase.
      cycle_ends: strictly increasing, positive steps where each cycle ends.
      warmup_steps: warmup of the first cycle (non-negative).
      decay_steps: decay length per cycle (a number for every cycle, one per cycle, or None).
      rewarmup_steps: warmup of each later cycle (a number, or one per later cycle).
      init_value: value at step 0.
      end_value: value at the end of each decay, where each re-warmup starts.
      warmup_shape: "linear", "cosine" or "1-sqrt", for warmups and re-warmups.
      decay_shape: "linear", "cosine" or "1-sqrt".

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> schedule = jaxsched.warmup_stable_decay_cycles(
      ...     1.0, cycle_ends=(4, 8), warmup_steps=1, decay_steps=2, rewarmup_steps=1)
      >>> print(schedule(jnp.arange(10)))
      [0.  1.  1.  0.5 0.  1.  1.  0.5 0.  0. ]
    """

    peak_value: ArrayLike = kinds.value()
    cycle_ends: Sequence[ArrayLike] = kinds.steps()
    warmup_steps: ArrayLike = kinds.steps()
    decay_steps: ArrayLike | Sequence[ArrayLike] | None = kinds.steps(default=None)
    rewarmup_steps: ArrayLike | Sequence[ArrayLike] = kinds.steps(default=0)
    init_value: ArrayLike = kinds.value(default=0.0)
    end_value: ArrayLike = kinds.value(default=0.0)
    warmup_shape: str = static_field(default="linear")
    decay_shape: str = static_field(default="linear")

    def __post_init__(self) -> None:
        check_finite("peak_value", self.peak_value)
        ends = as_tuple("cycle_ends", self.cycle_ends)
        if not ends:
            raise ValueError("cycle_ends must hold the end of at least one cycle")
        check_increasing("cycle_ends", ends)
        check_positive("cycle_ends", ends[0])
        set_field(self, "cycle_ends", ends)
        check_non_negative("warmup_steps", self.warmup_steps)
        rewarmups = _per_cycle("rewarmup_steps", self.rewarmup_steps, len(ends) - 1)
        set_field(self, "rewarmup_steps", rewarmups)
        if self.decay_steps is not None:
            set_field(self, "decay_steps", _per_cycle("decay_steps", self.decay_steps, len(ends)))
        check_finite("init_value", self.init_value)
        check_finite("end_value", self.end_value)
        check_shape("warmup_shape", self.warmup_shape)
        check_shape("decay_shape", self.decay_shape)
        warmups = (self.warmup_steps, *rewarmups)
        decays = self.decay_steps or (0.0,) * len(ends)
        numbers = (*ends, *warmups, *decays)
        if all(is_concrete(v) for v in numbers):
            for k, (start, end) in enumerate(itertools.pairwise((0.0, *ends))):
                length = float(end) - float(start)
                if float(warmups[k]) + float(decays[k]) > length:
                    name = "rewarmup_steps" if k else "warmup_steps"
                    if self.decay_steps is not None:
                        name += " and decay_steps"
                    raise ValueError(
                        f"{name} of cycle {k} must fit in its {length:g} steps, got warmup "
                        f"{float(warmups[k]):g} and decay {float(decays[k]):g}"
                    )

    def _at(self, step: jax.Array) -> jax.Array:
        result = jnp.broadcast_to(jnp.asarray(self.end_value, step.dtype), step.shape)
        starts = (0.0, *self.cycle_ends[:-1])
        warmups = (self.warmup_steps, *self.rewarmup_steps)
        for k in reversed(range(len(self.cycle_ends))):
            length = self.cycle_ends[k] - starts[k]
            warm = jnp.asarray(warmups[k], step.dtype)
            decay = length - warm if self.decay_steps is None else self.decay_steps[k]
            local = step - starts[k]
            begin = self.init_value if k == 0 else self.end_value
            done = warmup_fraction(self.warmup_shape, clamp01(safe_div(local, warm)))
            left = decay_fraction(
                self.decay_shape, clamp01(safe_div(local - (length - decay), decay))
            )
            value = jnp.where(
                local < warm,
                lerp(begin, self.peak_value, done),
                jnp.where(
                    local < length - decay,
                    self.peak_value,
                    lerp(self.end_value, self.peak_value, left),
                ),
            )
            result = jnp.where(step < self.cycle_ends[k], value, result)
        return result
