"""Seeded multiplicative noise on a schedule, a pure function of the step and the seed."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import jaxsched._kinds as kinds
from jaxsched._checks import check, check_choice, check_non_negative, check_positive, is_concrete
from jaxsched._combine import check_schedules
from jaxsched._config import register
from jaxsched._schedule import Schedule, static_field
from jaxsched._typing import ArrayLike

_NOISE_TYPES = ("normal", "uniform")
_HALF = 2.0**31  # steps are folded into the key in two parts below this
_LAST = 2.0**62  # the last step with its own draw: high part 2**31 fits a uint32


def noise_draw(
    step: jax.Array, seed: Any, noise_pct: Any, noise_std: Any, noise_type: str
) -> jax.Array:
    """The relative noise at each (whole) step: one draw per step, in (-noise_pct, noise_pct).

    The key is `jax.random.key(seed)` folded with the step (in two parts, so that steps past
    2**32 do not wrap; steps from 2**62 on share the draw of step 2**62, so no part overflows a
    uint32). "normal" draws `noise_std * z` with `z` a standard normal truncated to
    `|noise_std * z| < noise_pct`; "uniform" draws uniformly in `[-noise_pct, noise_pct)`.
    """
    whole = jnp.clip(jnp.floor(step), 0.0, _LAST)
    high = jnp.floor(whole / _HALF)
    low = whole - high * _HALF
    base = jax.random.key(jnp.asarray(seed).astype(jnp.uint32))

    def one(high: jax.Array, low: jax.Array) -> jax.Array:
        key = jax.random.fold_in(
            jax.random.fold_in(base, high.astype(jnp.uint32)), low.astype(jnp.uint32)
        )
        if noise_type == "normal":
            bound = noise_pct / noise_std
            return noise_std * jax.random.truncated_normal(key, -bound, bound, dtype=step.dtype)
        return noise_pct * jax.random.uniform(key, dtype=step.dtype, minval=-1.0, maxval=1.0)

    flat = jax.vmap(one)(high.reshape(-1), low.reshape(-1))
    return flat.reshape(step.shape)


@register("noise")
class Noise(Schedule):
    """`schedule(step) * (1 + n(step))` for steps in the noise range, with seeded noise `n`.

    Within `[noise_start, noise_end)` (from `noise_start` on when `noise_end` is None) each
    whole step gets its own relative noise `n`, drawn from a key made from `seed` and the
    step, so the value is a pure, jittable function of the step and the seed: the same in
    every evaluation mode, on every device, after a restart. "normal" noise is
    `noise_std * z`, `z` standard normal, redrawn until `|n| < noise_pct` (a truncated
    normal); "uniform" noise is uniform in `[-noise_pct, noise_pct)`. Outside the range the
    value is `schedule(step)`.

    Equivalent: timm's scheduler noise (`noise_range_t`, `noise_type`, `noise_pct`,
    `noise_std`, `noise_seed`) on any of its schedulers, in distribution: timm draws with
    torch's generator seeded by `noise_seed + t`, this schedule with JAX's, so the draws are
    not the same numbers. `seed` is a leaf: vmap over seeds for independent runs.

    Args:
      schedule: the schedule to perturb.
      noise_start: first step with noise (non-negative).
      noise_end: first step without noise again, or None for no end.
      noise_pct: bound of the relative noise (positive; timm's default 0.67).
      noise_std: standard deviation of the "normal" noise before truncation (positive).
      noise_type: "normal" or "uniform".
      seed: a whole number in [0, 2**24) (float32 holds every such whole number exactly).

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> noisy = jaxsched.noise(jaxsched.constant(1.0), noise_start=2, noise_pct=0.1, seed=0)
      >>> values = noisy(jnp.arange(6))
      >>> print(values[:2], bool(jnp.all(jnp.abs(values[2:] - 1.0) < 0.1)))
      [1. 1.] True
      >>> bool(jnp.all(values == noisy(jnp.arange(6))))  # the same draws every time
      True
    """

    schedule: Schedule = kinds.schedules()
    noise_start: ArrayLike = kinds.steps(default=0)
    noise_end: ArrayLike | None = kinds.steps(default=None)
    noise_pct: ArrayLike = kinds.ratio(default=0.67)
    noise_std: ArrayLike = kinds.ratio(default=1.0)
    noise_type: str = static_field(default="normal")
    seed: ArrayLike = kinds.seed(default=42)

    def __post_init__(self) -> None:
        check_schedules("schedule", self.schedule)
        check_non_negative("noise_start", self.noise_start)
        check_non_negative("noise_end", self.noise_end, optional=True)
        check_positive("noise_pct", self.noise_pct)
        check_positive("noise_std", self.noise_std)
        check_choice("noise_type", self.noise_type, _NOISE_TYPES)
        check(
            "seed",
            self.seed,
            lambda v: (v >= 0) & (v < 2**24) & (v == np.floor(v)),
            "a whole number in [0, 2**24)",
        )
        if is_concrete(self.noise_start) and is_concrete(self.noise_end):
            check(
                "noise_end",
                self.noise_end,
                lambda v: v >= self.noise_start,
                f"at least noise_start={self.noise_start}",
            )

    def _at(self, step: jax.Array) -> jax.Array:
        value = self.schedule(step)
        inside = step >= self.noise_start
        if self.noise_end is not None:
            inside = inside & (step < self.noise_end)
        draw = noise_draw(step, self.seed, self.noise_pct, self.noise_std, self.noise_type)
        return jnp.where(inside, value + value * draw, value)
