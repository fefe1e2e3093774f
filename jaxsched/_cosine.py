"""Cosine annealing: plain, after a linear warmup, and with warm restarts (SGDR)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import jaxsched._kinds as kinds
from jaxsched._checks import (
    check,
    check_computed,
    check_finite,
    check_greater,
    check_non_negative,
    check_positive,
)
from jaxsched._combine import Join
from jaxsched._config import register
from jaxsched._numerics import PI, clamp01, lerp, power, safe_div, snap_to_whole, times_power
from jaxsched._schedule import Schedule
from jaxsched._typing import ArrayLike


def _cosine(init_value: Any, end_value: Any, progress: jax.Array, exponent: Any = 1.0) -> jax.Array:
    """Half a cosine from `init_value` (progress 0) to `end_value` (progress 1)."""
    return lerp(end_value, init_value, power(0.5 * (1.0 + jnp.cos(PI * progress)), exponent))


@register("cosine_decay")
class CosineDecay(Schedule):
    """Half a cosine from `init_value` to `end_value` over `decay_steps`, then `end_value`.

    `end + (init - end) * (0.5 * (1 + cos(pi * min(step, decay_steps) / decay_steps))) ** exponent`.

    Equivalents: optax `cosine_decay_schedule(init_value, decay_steps, alpha, exponent)` with
    `end_value = alpha * init_value`; torch `CosineAnnealingLR(T_max, eta_min)` for steps up to
    `T_max` (torch then climbs back up; this schedule holds `end_value`). From SGDR,
    Loshchilov & Hutter (2017), https://arxiv.org/abs/1608.03983.

    Args:
      init_value: value at step 0.
      decay_steps: length of the decay (positive).
      end_value: value from `decay_steps` on.
      exponent: power applied to the cosine factor (positive).

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> schedule = jaxsched.cosine_decay(1.0, decay_steps=4)
      >>> print(schedule(jnp.arange(6)))
      [1. 0.8536 0.5 0.1464 0. 0. ]
    """

    init_value: ArrayLike = kinds.value()
    decay_steps: ArrayLike = kinds.steps()
    end_value: ArrayLike = kinds.value(default=0.0)
    exponent: ArrayLike = kinds.ratio(default=1.0)

    def __post_init__(self) -> None:
        check_finite("init_value", self.init_value)
        check_positive("decay_steps", self.decay_steps)
        check_finite("end_value", self.end_value)
        check_positive("exponent", self.exponent)

    def _at(self, step: jax.Array) -> jax.Array:
        progress = clamp01(safe_div(step, self.decay_steps))
        return _cosine(self.init_value, self.end_value, progress, self.exponent)


@register("warmup_cosine_decay")
class WarmupCosineDecay(Schedule):
    """Linear warmup from `init_value` to `peak_value`, then cosine decay to `end_value`.

    The warmup takes `warmup_steps`; the cosine takes the rest of `decay_steps`, which counts
    the warmup (the value reaches `end_value` at step `decay_steps` and holds it). Unlike optax
    `warmup_cosine_decay_schedule`, which it matches step for step, `peak_value` may be traced
    (optax divides by it in Python) and `peak_value=0` is allowed.

    Args:
      init_value: value at step 0.
      peak_value: value at the end of warmup.
      warmup_steps: length of the warmup (non-negative, less than `decay_steps`).
      decay_steps: total length of warmup plus decay (positive).
      end_value: value from `decay_steps` on.
      exponent: power applied to the cosine factor (positive).

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> schedule = jaxsched.warmup_cosine_decay(0.0, 1.0, warmup_steps=2, decay_steps=4)
      >>> print(schedule(jnp.arange(6)))
      [0.  0.5 1.  0.5 0.  0. ]
    """

    init_value: ArrayLike = kinds.value()
    peak_value: ArrayLike = kinds.value()
    warmup_steps: ArrayLike = kinds.steps()
    decay_steps: ArrayLike = kinds.steps()
    end_value: ArrayLike = kinds.value(default=0.0)
    exponent: ArrayLike = kinds.ratio(default=1.0)

    def __post_init__(self) -> None:
        check_finite("init_value", self.init_value)
        check_finite("peak_value", self.peak_value)
        check_non_negative("warmup_steps", self.warmup_steps)
        check_positive("decay_steps", self.decay_steps)
        check_finite("end_value", self.end_value)
        check_positive("exponent", self.exponent)
        check_greater(
            "decay_steps", self.decay_steps, "warmup_steps", self.warmup_steps,
            " (decay_steps counts the warmup)",
        )  # fmt: skip

    def _at(self, step: jax.Array) -> jax.Array:
        warmup = jnp.asarray(self.warmup_steps, step.dtype)
        ramp = lerp(self.init_value, self.peak_value, safe_div(step, warmup))
        progress = clamp01(safe_div(step - warmup, self.decay_steps - warmup))
        decay = _cosine(self.peak_value, self.end_value, progress, self.exponent)
        return jnp.where(step < warmup, ramp, decay)


@register("cosine_restarts")
class CosineRestarts(Schedule):
    """Cosine annealing with warm restarts (SGDR).

    Cycle `i` (from 0) lasts `first_decay_steps * t_mul ** i` steps and anneals from its peak
    `end_value + (init_value * cycle_decay ** i - end_value) * m_mul ** i` down towards
    `end_value`; at its end the value jumps back up. Within a cycle the cosine runs on
    `progress ** k_decay`, `progress` the share of the cycle done. `t_mul` may be fractional.
    After `cycle_limit` cycles, if given, the value holds `end_value`. Restart steps are exact
    (computed from the closed form and then corrected), so a restart never lands one step
    early or late.

    Equivalents: torch `CosineAnnealingWarmRestarts(T_0, T_mult, eta_min)` (`m_mul=1`, integer
    `t_mul`); keras `CosineDecayRestarts(initial_learning_rate, first_decay_steps, t_mul, m_mul,
    alpha)` with `end_value = alpha * initial_learning_rate` (`m_mul` scales the part above
    `end_value`, so with `end_value=0` it scales each cycle's peak); timm
    `CosineLRScheduler(t_initial, lr_min, cycle_mul, cycle_decay, cycle_limit, k_decay)` with
    `t_mul = cycle_mul` (timm's `cycle_decay` scales each cycle's peak, `lr_min` stays;
    timm's default `cycle_limit` is 1) and its `warmup_t`, `warmup_lr_init` and
    `warmup_prefix` as `warmup(cosine_restarts(...), warmup_t, warmup_lr_init,
    prefix=warmup_prefix)`. From Loshchilov & Hutter (2017), SGDR,
    https://arxiv.org/abs/1608.03983; `k_decay` from Zhang et al. (2020), k-decay,
    https://arxiv.org/abs/2004.05909.

    Args:
      init_value: value at the start of the first cycle.
      first_decay_steps: length of the first cycle (positive).
      t_mul: factor by which each cycle is longer than the last (at least 1).
      m_mul: factor by which each cycle's amplitude above `end_value` is smaller than the
        last (non-negative; keras).
      end_value: value at the end of every cycle.
      cycle_limit: number of cycles after which the value holds `end_value`; None cycles
        forever.
      cycle_decay: factor by which each cycle's peak is smaller than the last
        (non-negative; timm).
      k_decay: exponent of the progress inside a cycle (positive; timm).

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> schedule = jaxsched.cosine_restarts(1.0, first_decay_steps=2, t_mul=2.0, m_mul=0.5)
      >>> print(schedule(jnp.array([0, 1, 2, 4, 6])))  # restarts at steps 2 and 6
      [1. 0.5 0.5 0.25 0.25 ]
    """

    init_value: ArrayLike = kinds.value()
    first_decay_steps: ArrayLike = kinds.steps()
    t_mul: ArrayLike = kinds.ratio(default=1.0)
    m_mul: ArrayLike = kinds.ratio(default=1.0)
    end_value: ArrayLike = kinds.value(default=0.0)
    cycle_limit: ArrayLike | None = kinds.steps(default=None)
    cycle_decay: ArrayLike = kinds.ratio(default=1.0)
    k_decay: ArrayLike = kinds.ratio(default=1.0)

    def __post_init__(self) -> None:
        check_finite("init_value", self.init_value)
        check_positive("first_decay_steps", self.first_decay_steps)
        check("t_mul", self.t_mul, lambda v: np.isfinite(v) & (v >= 1), "finite and at least 1")
        check_non_negative("m_mul", self.m_mul)
        check_finite("end_value", self.end_value)
        check_positive("cycle_limit", self.cycle_limit, optional=True)
        check_non_negative("cycle_decay", self.cycle_decay)
        check_positive("k_decay", self.k_decay)
        check_computed(
            "init_value", "init_value - end_value", np.subtract, self.init_value, self.end_value
        )

    def _at(self, step: jax.Array) -> jax.Array:
        cycle, progress = _cycle_position(step, self.first_decay_steps, self.t_mul)
        top = times_power(self.init_value, self.cycle_decay, cycle)
        peak = self.end_value + times_power(top - self.end_value, self.m_mul, cycle)
        value = _cosine(peak, self.end_value, power(progress, self.k_decay))
        if self.cycle_limit is not None:
            value = jnp.where(cycle >= self.cycle_limit, self.end_value, value)
        return value


def _cycle_position(step: jax.Array, first: Any, t_mul: Any) -> tuple[jax.Array, jax.Array]:
    """The cycle index of `step` and how far through that cycle it is, in [0, 1).

    Cycle `i` starts at `first * (t_mul**i - 1) / (t_mul - 1)` (at `first * i` when
    `t_mul == 1`). The log formula for `i` can be one off at exact restart steps in floating
    point, so it is corrected against the start steps themselves, which are snapped to whole
    steps when they are within rounding of one (`snap_to_whole`).
    """
    t_mul = jnp.asarray(t_mul, step.dtype)
    first = jnp.asarray(first, step.dtype)
    geometric = t_mul != 1.0
    growth = jnp.where(geometric, t_mul, 2.0)  # any value != 1 keeps the unused branch finite

    def start(i: jax.Array) -> jax.Array:
        # At t_mul == 1 the sum first * (1 + t_mul + ... + t_mul**(i-1)) is first * i; the
        # (t_mul - 1) term is zero there but gives the sum's derivative in t_mul.
        uniform = first * (i + (t_mul - 1.0) * i * (i - 1.0) / 2.0)
        exact = jnp.where(geometric, first * (growth**i - 1.0) / (growth - 1.0), uniform)
        return snap_to_whole(exact)

    ratio = step / first
    guess = jnp.where(
        geometric, jnp.floor(jnp.log1p(ratio * (growth - 1.0)) / jnp.log(growth)), jnp.floor(ratio)
    )
    cycle = jnp.maximum(guess, 0.0)
    cycle = jnp.where(start(cycle + 1.0) <= step, cycle + 1.0, cycle)
    cycle = jnp.where(start(cycle) > step, cycle - 1.0, cycle)
    length = first * t_mul**cycle
    progress = clamp01((step - start(cycle)) / length)
    return cycle, progress


def sgdr(cosine_kwargs: Sequence[Mapping[str, Any]]) -> Join:
    """SGDR with a warmup in every cycle: `warmup_cosine_decay` cycles laid end to end.

    Cycle `i` is `warmup_cosine_decay(**cosine_kwargs[i])`; it starts when the previous one's
    `decay_steps` (which count its warmup) are over, and counts its steps from there. After
    the last cycle the value holds that cycle's `end_value`.

    Equivalent: optax `sgdr_schedule(cosine_kwargs)`, step for step. From Loshchilov &
    Hutter (2017), SGDR, https://arxiv.org/abs/1608.03983.

    Args:
      cosine_kwargs: one dict of `warmup_cosine_decay` arguments per cycle (`init_value`,
        `peak_value`, `warmup_steps`, `decay_steps`, optionally `end_value`, `exponent`).

    Returns:
      A `join` of the cycles.

    Raises:
      ValueError: if there is no cycle, or a cycle's arguments are missing or invalid.

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> cycle = dict(init_value=0.0, peak_value=1.0, warmup_steps=1, decay_steps=3)
      >>> print(jaxsched.sgdr([cycle, cycle])(jnp.arange(7)))
      [0.  1.  0.5 0.  1.  0.5 0. ]
    """
    if isinstance(cosine_kwargs, Mapping) or not isinstance(cosine_kwargs, Sequence):
        raise ValueError(
            f"cosine_kwargs must be a list of dicts of warmup_cosine_decay arguments, got "
            f"cosine_kwargs={cosine_kwargs!r}"
        )
    cycles, boundaries, start = [], [], 0.0
    for i, kwargs in enumerate(cosine_kwargs):
        if not isinstance(kwargs, Mapping):
            raise ValueError(f"cosine_kwargs[{i}] must be a dict, got {kwargs!r}")
        try:
            cycles.append(WarmupCosineDecay(**kwargs))
        except TypeError as e:
            raise ValueError(f"bad arguments in cosine_kwargs[{i}]: {e}") from None
        except ValueError as e:
            raise ValueError(f"cosine_kwargs[{i}]: {e}") from None
        if i:
            boundaries.append(start)
        start = start + cycles[-1].decay_steps
    if not cycles:
        raise ValueError("cosine_kwargs must hold at least one cycle")
    return Join(tuple(cycles), tuple(boundaries))
