"""Annealing to a final value and holding it: cooldowns branched off a run, and SWA's rate."""

from __future__ import annotations

import jax
import jax.numpy as jnp

import jaxsched._kinds as kinds
from jaxsched._checks import check_choice, check_finite, check_non_negative
from jaxsched._combine import check_schedules
from jaxsched._config import register
from jaxsched._numerics import clamp01, lerp, safe_div
from jaxsched._schedule import Schedule, static_field
from jaxsched._shapes import check_shape, decay_fraction
from jaxsched._typing import ArrayLike


@register("cooldown")
class Cooldown(Schedule):
    """Follows `schedule` until `start_step`, then decays from its value there to `end_value`.

    For `step < start_step` the value is `schedule(step)`. From `start_step` the value goes
    from `v = schedule(start_step)` to `end_value` over `decay_steps` steps,
    `end + (v - end) * left(shape, (step - start_step) / decay_steps)`, where `left` is 1 at
    the start and 0 at the end ("linear": `1 - p`, "cosine": `(1 + cos(pi p)) / 2`,
    "1-sqrt": `1 - sqrt(p)`), and holds `end_value` from `start_step + decay_steps` on.

    This is how warmup-stable-decay gives results for many training lengths from one run: train
    with the stable schedule, and branch a short cooldown off any checkpoint by rebuilding the
    optimizer with `cooldown(stable, start_step=checkpoint_step, ...)` and the restored state
    (the count carries on, so the next update uses `cooldown(...)(checkpoint_step)`, which is
    still the stable value). `warmup_stable_decay(peak, total, w, d)` equals
    `cooldown(<its warmup and stable phase>, total - d, d, shape)`. Hägele et al. (2024),
    "Scaling Laws and Compute-Optimal Training Beyond Fixed Training Durations",
    https://arxiv.org/abs/2405.18392, found "1-sqrt" best. levanter's (deprecated) `cooldown`
    is `shape="linear"` branched at `num_train_steps - cooldown` towards `min_lr`.

    Args:
      schedule: the schedule to follow before the cooldown.
      start_step: the step at which the cooldown starts (non-negative).
      decay_steps: length of the cooldown (non-negative; 0 jumps to `end_value`).
      shape: "1-sqrt", "linear" or "cosine".
      end_value: value at the end of the cooldown and after.

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> stable = jaxsched.warmup(jaxsched.constant(1.0), warmup_steps=2)
      >>> branch = jaxsched.cooldown(stable, start_step=4, decay_steps=4, shape="linear")
      >>> print(branch(jnp.arange(10)))
      [0.   0.5  1.   1.   1.   0.75 0.5  0.25 0.   0.  ]
    """

    schedule: Schedule = kinds.schedules()
    start_step: ArrayLike = kinds.steps()
    decay_steps: ArrayLike = kinds.steps()
    shape: str = static_field(default="1-sqrt")
    end_value: ArrayLike = kinds.value(default=0.0)

    def __post_init__(self) -> None:
        check_schedules("schedule", self.schedule)
        check_non_negative("start_step", self.start_step)
        check_non_negative("decay_steps", self.decay_steps)
        check_shape("shape", self.shape)
        check_finite("end_value", self.end_value)

    def _at(self, step: jax.Array) -> jax.Array:
        start = jnp.asarray(self.start_step, step.dtype)
        progress = clamp01(safe_div(step - start, self.decay_steps))
        progress = jnp.where(step >= start + self.decay_steps, 1.0, progress)
        # One evaluation of the schedule: at the step before start_step, at start_step (the
        # branch value) from there on; two would double the work at every level of nesting.
        # The branch value is only read from start_step on, so a schedule that is not finite
        # there (a growing one at a huge start) cannot leak into the steps before.
        before_start = step < start
        inner = self.schedule(jnp.where(before_start, step, start))
        decayed = lerp(self.end_value, inner, decay_fraction(self.shape, progress))
        return jnp.where(before_start, inner, decayed)


_ANNEAL_STRATEGIES = ("cos", "linear")


@register("swa")
class Swa(Schedule):
    """Anneals from `init_value` to `swa_value` over `anneal_steps`, then holds `swa_value`.

    `init + (swa - init) * a(min(step / anneal_steps, 1))` with `a(p) = (1 - cos(pi p)) / 2`
    ("cos") or `p` ("linear"); `anneal_steps=0` gives `swa_value` from step 0. The learning
    rate of stochastic weight averaging, Izmailov et al. (2018),
    https://arxiv.org/abs/1803.05407.

    Equivalent: torch `SWALR(optimizer, swa_lr, anneal_epochs, anneal_strategy)` started on an
    optimizer whose learning rate is `init_value` (torch counts `scheduler.step()` calls; one
    per epoch is the usual use, one per update works the same). To start SWA from wherever
    another schedule is, as torch does when SWALR takes over a running optimizer, use
    `cooldown(schedule, start_step, anneal_steps, shape="cosine" or "linear",
    end_value=swa_value)`.

    Args:
      init_value: value at step 0 (the optimizer's learning rate when SWA starts).
      swa_value: value from `anneal_steps` on.
      anneal_steps: length of the anneal (non-negative).
      anneal_strategy: "cos" or "linear".

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> schedule = jaxsched.swa(1.0, swa_value=0.5, anneal_steps=2, anneal_strategy="linear")
      >>> print(schedule(jnp.arange(4)))
      [1.   0.75 0.5  0.5 ]
    """

    init_value: ArrayLike = kinds.value()
    swa_value: ArrayLike = kinds.value()
    anneal_steps: ArrayLike = kinds.steps(default=10)
    anneal_strategy: str = static_field(default="cos")

    def __post_init__(self) -> None:
        check_finite("init_value", self.init_value)
        check_finite("swa_value", self.swa_value)
        check_non_negative("anneal_steps", self.anneal_steps)
        check_choice("anneal_strategy", self.anneal_strategy, _ANNEAL_STRATEGIES)

    def _at(self, step: jax.Array) -> jax.Array:
        anneal = jnp.asarray(self.anneal_steps, step.dtype)
        progress = jnp.where(anneal > 0, clamp01(safe_div(step, anneal)), 1.0)
        if self.anneal_strategy == "cos":
            progress = 1.0 - decay_fraction("cosine", progress)
        return lerp(self.init_value, self.swa_value, progress)
