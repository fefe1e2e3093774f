"""Warmup-stable-decay (WSD), the trapezoid schedule."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxsched._base import (
    Schedule,
    check,
    check_finite,
    check_non_negative,
    check_positive,
    clamp01,
    is_concrete,
    lerp,
    register,
    safe_div,
    static_field,
)
from jaxsched._shapes import check_shape, decay_fraction, warmup_fraction


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

    peak_value: Any
    total_steps: Any
    warmup_steps: Any
    decay_steps: Any
    init_value: Any = 0.0
    end_value: Any = 0.0
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
