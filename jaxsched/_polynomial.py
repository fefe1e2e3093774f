"""Linear and polynomial decay (optax `polynomial_schedule`, torch `LinearLR`/`PolynomialLR`)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

import jaxsched._kinds as kinds
from jaxsched._checks import check_finite, check_non_negative, check_positive
from jaxsched._config import register
from jaxsched._numerics import clamp01, floor_div, lerp, power, safe_div
from jaxsched._schedule import Schedule, static_field
from jaxsched._typing import ArrayLike


@register("linear")
class Linear(Schedule):
    """Moves linearly from `init_value` to `end_value`, then holds `end_value`.

    The value is `init_value` up to `transition_begin`, reaches `end_value` at
    `transition_begin + transition_steps`, and stays there.

    Equivalents: optax `linear_schedule`; torch `LinearLR(start_factor, end_factor,
    total_iters)` with `init_value = lr * start_factor`, `end_value = lr * end_factor`,
    `transition_steps = total_iters`.

    Args:
      init_value: value at steps up to `transition_begin`.
      end_value: value from `transition_begin + transition_steps` on.
      transition_steps: length of the ramp, in steps (positive).
      transition_begin: steps to hold `init_value` before the ramp starts (non-negative).

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> schedule = jaxsched.linear(init_value=0.0, end_value=1.0, transition_steps=4)
      >>> print(schedule(jnp.arange(6)))
      [0.   0.25 0.5  0.75 1.   1.  ]
    """

    init_value: ArrayLike = kinds.value()
    end_value: ArrayLike = kinds.value()
    transition_steps: ArrayLike = kinds.steps()
    transition_begin: ArrayLike = kinds.steps(default=0)

    def __post_init__(self) -> None:
        check_finite("init_value", self.init_value)
        check_finite("end_value", self.end_value)
        check_positive("transition_steps", self.transition_steps)
        check_non_negative("transition_begin", self.transition_begin)

    def _at(self, step: jax.Array) -> jax.Array:
        progress = clamp01(safe_div(step - self.transition_begin, self.transition_steps))
        return lerp(self.init_value, self.end_value, progress)


@register("polynomial_decay")
class PolynomialDecay(Schedule):
    """Decays as `(init - end) * (1 - p) ** power + end` where `p` is the share of decay done.

    With `cycle=False`, `p = min(step - transition_begin, decay_steps) / decay_steps` (clipped
    below at 0), so the value holds `end_value` after the decay. With `cycle=True`, the horizon
    grows to the next multiple of `decay_steps` each time it is reached, as in keras
    `PolynomialDecay(cycle=True)`: the value jumps back up at `decay_steps + 1`,
    `2 * decay_steps + 1`, ... and never stays at `end_value` except at exact multiples.

    With `k_decay` the share of decay done is raised to that power first, `(1 - p ** k_decay)
    ** power`: above 1 the value stays high longer, below 1 it falls sooner.

    Equivalents: keras `PolynomialDecay` (including `cycle`); torch `PolynomialLR(total_iters,
    power)` with `end_value=0`; optax `polynomial_schedule` (`transition_begin`); timm
    `PolyLRScheduler(t_initial, power, lr_min, k_decay)` for one cycle (its default), with
    `end_value = lr_min`; praxis `Polynomial(origin="limit")`. The "poly" policy comes from
    Chen et al. (2016), DeepLab, https://arxiv.org/abs/1606.00915; `k_decay` from Zhang et al.
    (2020), k-decay, https://arxiv.org/abs/2004.05909.

    Args:
      init_value: value at the start of the decay.
      end_value: value at the end of the decay.
      decay_steps: length of the decay, in steps (positive).
      power: exponent of the decay (positive).
      transition_begin: steps to hold `init_value` before decaying (non-negative).
      cycle: restart the decay from a higher value instead of holding `end_value`.
      k_decay: exponent of the share of decay done (positive; timm).

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> schedule = jaxsched.polynomial_decay(1.0, 0.0, decay_steps=4, power=2.0)
      >>> print(schedule(jnp.arange(6)))
      [1.     0.5625 0.25   0.0625 0.     0.    ]
    """

    init_value: ArrayLike = kinds.value()
    end_value: ArrayLike = kinds.value()
    decay_steps: ArrayLike = kinds.steps()
    power: ArrayLike = kinds.ratio(default=1.0)
    transition_begin: ArrayLike = kinds.steps(default=0)
    cycle: bool = static_field(default=False)
    k_decay: ArrayLike = kinds.ratio(default=1.0)

    def __post_init__(self) -> None:
        check_finite("init_value", self.init_value)
        check_finite("end_value", self.end_value)
        check_positive("decay_steps", self.decay_steps)
        check_positive("power", self.power)
        check_non_negative("transition_begin", self.transition_begin)
        check_positive("k_decay", self.k_decay)

    def _at(self, step: jax.Array) -> jax.Array:
        count = jnp.maximum(step - self.transition_begin, 0.0)
        if self.cycle:
            cycles = jnp.maximum(-floor_div(-count, self.decay_steps), 1.0)  # ceil, at least 1
            # At most 1, but float32 may round `decay_steps * cycles` below `count`
            # (step 1e15): clamped so that `1 - progress` never goes negative under `power`.
            progress = clamp01(safe_div(count, self.decay_steps * cycles))
        else:
            progress = clamp01(safe_div(count, self.decay_steps))
        progress = power(progress, self.k_decay)
        return lerp(self.end_value, self.init_value, power(1.0 - progress, self.power))


@register("polynomial_ramp")
class PolynomialRamp(Schedule):
    """Moves from `init_value` to `end_value` along a power of the share of the ramp done.

    `init + (end - init) * p ** power` with `p = clip((step - transition_begin) /
    transition_steps, 0, 1)`, then `end_value`. The curve is anchored at its start: flat
    there for `power > 1` and steep for `power < 1`, where `polynomial_decay`, `end + (init -
    end) * (1 - p) ** power`, is anchored at its end. The value may rise or fall.

    Equivalents: praxis `Polynomial(power, start=(x0, y0), limit=(x1, y1), origin="start")`
    with `init_value=y0`, `end_value=y1`, `transition_begin=x0`, `transition_steps=x1 - x0`
    (its `origin="limit"` is `polynomial_decay`); fastai `SchedPoly(start, end, power)` over
    a phase of `transition_steps` steps (fastai's `pos` is `p`). Formula-level parity, tested
    against NumPy transcriptions of both sources.

    Args:
      init_value: value up to `transition_begin`.
      end_value: value from `transition_begin + transition_steps` on.
      transition_steps: length of the ramp, in steps (positive).
      power: exponent of the share of the ramp done (positive).
      transition_begin: steps to hold `init_value` before the ramp starts (non-negative).

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> schedule = jaxsched.polynomial_ramp(0.0, 1.0, transition_steps=4, power=2.0)
      >>> print(schedule(jnp.arange(6)))
      [0.     0.0625 0.25   0.5625 1.     1.    ]
    """

    init_value: ArrayLike = kinds.value()
    end_value: ArrayLike = kinds.value()
    transition_steps: ArrayLike = kinds.steps()
    power: ArrayLike = kinds.ratio(default=1.0)
    transition_begin: ArrayLike = kinds.steps(default=0)

    def __post_init__(self) -> None:
        check_finite("init_value", self.init_value)
        check_finite("end_value", self.end_value)
        check_positive("transition_steps", self.transition_steps)
        check_positive("power", self.power)
        check_non_negative("transition_begin", self.transition_begin)

    def _at(self, step: jax.Array) -> jax.Array:
        progress = clamp01(safe_div(step - self.transition_begin, self.transition_steps))
        return lerp(self.init_value, self.end_value, power(progress, self.power))


@register("warmup_constant")
class WarmupConstant(Schedule):
    """Linear warmup from `init_value` to `peak_value`, then `peak_value` for ever.

    Equivalent: optax `warmup_constant_schedule(init_value, peak_value, warmup_steps)`, step
    for step for `warmup_steps > 0`; with `warmup_steps=0` optax logs and returns
    `init_value` for ever, this schedule gives `peak_value` from step 0. transformers
    `get_constant_schedule_with_warmup` is `init_value=0`.

    Args:
      init_value: value at step 0.
      peak_value: value from `warmup_steps` on.
      warmup_steps: length of the warmup (non-negative).

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> print(jaxsched.warmup_constant(0.0, 1.0, warmup_steps=4)(jnp.arange(6)))
      [0.   0.25 0.5  0.75 1.   1.  ]
    """

    init_value: ArrayLike = kinds.value()
    peak_value: ArrayLike = kinds.value()
    warmup_steps: ArrayLike = kinds.steps()

    def __post_init__(self) -> None:
        check_finite("init_value", self.init_value)
        check_finite("peak_value", self.peak_value)
        check_non_negative("warmup_steps", self.warmup_steps)

    def _at(self, step: jax.Array) -> jax.Array:
        warmup = jnp.asarray(self.warmup_steps, step.dtype)
        progress = jnp.where(warmup > 0, clamp01(safe_div(step, warmup)), 1.0)
        return lerp(self.init_value, self.peak_value, progress)
