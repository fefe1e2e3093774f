"""Cyclical learning rates (CLR) and the one-cycle policy, with its momentum."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import jaxsched._kinds as kinds
from jaxsched._allowed_functions import resolve_function
from jaxsched._checks import (
    check,
    check_choice,
    check_computed,
    check_finite,
    check_positive,
    is_concrete,
)
from jaxsched._config import register
from jaxsched._numerics import PI, clamp01, floor_div, lerp, safe_div, times_power
from jaxsched._schedule import Schedule, set_field, static_field
from jaxsched._typing import ArrayLike

_CYCLIC_MODES = ("triangular", "triangular2", "exp_range")
_ANNEAL_STRATEGIES = ("cos", "linear")


def check_one_cycle_values(obj: Any) -> None:
    """The one-cycle values of `obj` (torch's and optax's): a finite peak, positive divisors,
    and start and final values that stay finite in the dtype schedules compute in."""
    check_finite("peak_value", obj.peak_value)
    check_positive("div_factor", obj.div_factor)
    check_positive("final_div_factor", obj.final_div_factor)
    check_computed(
        "div_factor", "peak_value / div_factor", lambda d, p: p / d, obj.div_factor,
        obj.peak_value,
    )  # fmt: skip
    check_computed(
        "final_div_factor", "peak_value / div_factor / final_div_factor",
        lambda f, p, d: p / d / f, obj.final_div_factor, obj.peak_value, obj.div_factor,
    )  # fmt: skip


@register("cyclic")
class Cyclic(Schedule):
    """Triangular cycles between `base_value` and `max_value` (cyclical learning rates).

    Each cycle climbs for `step_size_up` steps and falls for `step_size_down` steps (default:
    the same). Modes: "triangular" keeps the amplitude, "triangular2" halves it every cycle,
    "exp_range" multiplies it by `gamma ** step`. With a `scale_fn`, the amplitude is
    multiplied by `scale_fn(cycle)` instead, `cycle` counting from 1 as torch does
    (`scale_mode="cycle"`), or by `scale_fn(step)` (`scale_mode="iterations"`), and `mode`
    is not used. Cyclic by definition: it never stops.

    Equivalent: torch `CyclicLR(base_lr, max_lr, step_size_up, step_size_down, mode, gamma,
    scale_fn, scale_mode)` (learning rate); its momentum cycle (`cycle_momentum=True`) is
    `cyclic(max_momentum, base_momentum, ...)` with the same steps and mode: `base_value`
    may exceed `max_value`, and any finite values are accepted, momenta included.
    `scale_fn` must be jittable (`jax.numpy`) and is static; in a config it is written as
    `"module:qualname"`. From Smith (2017), https://arxiv.org/abs/1506.01186.

    Args:
      base_value: value at the start of each cycle.
      max_value: value at the top of each cycle (before scaling by the mode).
      step_size_up: steps from `base_value` to the top (positive).
      step_size_down: steps back down (positive); None means `step_size_up`.
      mode: "triangular", "triangular2" or "exp_range".
      gamma: per-step amplitude factor of "exp_range" (positive).
      scale_fn (Callable | str | None): None, or a function of the 1-based cycle (or of the
        step) giving the amplitude factor.
      scale_mode: "cycle" or "iterations": what `scale_fn` receives.

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> schedule = jaxsched.cyclic(0.0, 1.0, step_size_up=2, mode="triangular2")
      >>> print(schedule(jnp.arange(9)))
      [0.   0.5  1.   0.5  0.   0.25 0.5  0.25 0.  ]
    """

    base_value: ArrayLike = kinds.value()
    max_value: ArrayLike = kinds.value()
    step_size_up: ArrayLike = kinds.steps()
    step_size_down: ArrayLike | None = kinds.steps(default=None)
    mode: str = static_field(default="triangular")
    gamma: ArrayLike = kinds.ratio(default=1.0)
    scale_fn: Any = static_field(default=None)
    scale_mode: str = static_field(default="cycle")

    def __post_init__(self) -> None:
        if self.scale_fn is not None:
            set_field(self, "scale_fn", resolve_function(self.scale_fn, "scale_fn"))
        check_choice("scale_mode", self.scale_mode, ("cycle", "iterations"))
        check_finite("base_value", self.base_value)
        check_finite("max_value", self.max_value)
        check_positive("step_size_up", self.step_size_up)
        check_positive("step_size_down", self.step_size_down, optional=True)
        check_choice("mode", self.mode, _CYCLIC_MODES)
        check_positive("gamma", self.gamma)
        check_computed(
            "max_value", "max_value - base_value", np.subtract, self.max_value, self.base_value
        )

    def _at(self, step: jax.Array) -> jax.Array:
        up = jnp.asarray(self.step_size_up, step.dtype)
        down = up if self.step_size_down is None else jnp.asarray(self.step_size_down, step.dtype)
        total = up + down
        completed = floor_div(step, total)
        position = jnp.remainder(step, total)  # in [0, total): exact, also past float32's quotients
        height = jnp.where(position <= up, position / up, (total - position) / down)
        height = (self.max_value - self.base_value) * height
        if self.scale_fn is not None:
            argument = completed + 1.0 if self.scale_mode == "cycle" else step
            scale = jnp.asarray(self.scale_fn(argument), step.dtype)
            return self.base_value + height * jnp.broadcast_to(scale, step.shape)
        if self.mode == "triangular2":
            height = height * 0.5**completed
        elif self.mode == "exp_range":
            height = times_power(height, self.gamma, step)
        return self.base_value + height


def _anneal(start: Any, end: Any, progress: jax.Array, strategy: str) -> jax.Array:
    if strategy == "cos":
        progress = 0.5 * (1.0 - jnp.cos(PI * progress))
    return lerp(start, end, progress)


def _phase_ends(total_steps: Any, pct_start: Any, three_phase: bool) -> list[Any]:
    """The last step of each phase, as torch `OneCycleLR` places them (floats)."""
    first = pct_start * total_steps - 1
    if three_phase:
        return [first, 2 * pct_start * total_steps - 2, total_steps - 1]
    return [first, total_steps - 1]


def _phases(
    step: jax.Array, ends: Sequence[Any], points: Sequence[Any], strategy: str
) -> jax.Array:
    """Phase `i` anneals from `points[i]` to `points[i + 1]` over steps `(ends[i-1], ends[i]]`."""
    value = _anneal(points[0], points[1], clamp01(safe_div(step, ends[0])), strategy)
    for i in range(1, len(ends)):
        progress = clamp01(safe_div(step - ends[i - 1], ends[i] - ends[i - 1]))
        # A phase end computed in float32 can leave progress a hair below 1 on its last step.
        progress = jnp.where(step >= ends[i], 1.0, progress)
        value = jnp.where(
            step > ends[i - 1], _anneal(points[i], points[i + 1], progress, strategy), value
        )
    return value


def _check_one_cycle(
    total_steps: Any, pct_start: Any, anneal_strategy: str, three_phase: bool
) -> None:
    check_positive("total_steps", total_steps)
    check("pct_start", pct_start, lambda v: (v > 0) & (v < 1), "in the open interval (0, 1)")
    check_choice("anneal_strategy", anneal_strategy, _ANNEAL_STRATEGIES)
    if not (is_concrete(total_steps) and is_concrete(pct_start)):
        return
    # NumPy, not jnp: inside jit jnp would trace even these concrete numbers.
    ends = _phase_ends(np.asarray(total_steps, float), np.asarray(pct_start, float), three_phase)
    lengths = [ends[0]] + [b - a for a, b in itertools.pairwise(ends)]
    for i, length in enumerate(lengths):
        if not np.all(length > 0):
            raise ValueError(
                f"pct_start={pct_start} with total_steps={total_steps} leaves phase {i + 1} of "
                f"{len(lengths)} with no steps; need pct_start * total_steps > 1"
                + (" and pct_start * total_steps < (total_steps + 1) / 2" if three_phase else "")
            )


@register("one_cycle")
class OneCycle(Schedule):
    """The 1cycle learning rate: warm up to `peak_value`, then anneal far below the start.

    Starts at `peak_value / div_factor`, reaches `peak_value` at step
    `pct_start * total_steps - 1`, then anneals to `peak_value / div_factor / final_div_factor`
    at step `total_steps - 1` and holds it (torch raises past `total_steps`). With
    `three_phase=True` it first comes back down to the start value symmetrically and then
    anneals to the minimum. Phase boundaries are the fractional steps torch uses.

    Equivalent: torch `OneCycleLR(max_lr, total_steps, pct_start, anneal_strategy, div_factor,
    final_div_factor, three_phase)` (learning rate; see `one_cycle_momentum` for momentum).
    From Smith & Topin (2017), https://arxiv.org/abs/1708.07120.

    Args:
      peak_value: the highest value.
      total_steps: length of the cycle (positive).
      pct_start: share of the cycle spent climbing, in (0, 1).
      div_factor: start value is `peak_value / div_factor` (positive).
      final_div_factor: final value is the start value over this (positive).
      anneal_strategy: "cos" or "linear".
      three_phase: come back down to the start before the final anneal.

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> schedule = jaxsched.one_cycle(1.0, total_steps=6, pct_start=0.5, div_factor=10.0,
      ...                               final_div_factor=10.0, anneal_strategy="linear")
      >>> [round(float(v), 4) for v in schedule(jnp.arange(7))]
      [0.1, 0.55, 1.0, 0.67, 0.34, 0.01, 0.01]
    """

    peak_value: ArrayLike = kinds.value()
    total_steps: ArrayLike = kinds.steps()
    pct_start: ArrayLike = kinds.fraction(default=0.3)
    div_factor: ArrayLike = kinds.ratio(default=25.0)
    final_div_factor: ArrayLike = kinds.ratio(default=1e4)
    anneal_strategy: str = static_field(default="cos")
    three_phase: bool = static_field(default=False)

    def __post_init__(self) -> None:
        check_one_cycle_values(self)
        _check_one_cycle(self.total_steps, self.pct_start, self.anneal_strategy, self.three_phase)

    def _at(self, step: jax.Array) -> jax.Array:
        initial = self.peak_value / self.div_factor
        minimum = initial / self.final_div_factor
        ends = _phase_ends(self.total_steps, self.pct_start, self.three_phase)
        points: tuple[Any, ...] = (initial, self.peak_value, minimum)
        if self.three_phase:
            points = (initial, self.peak_value, initial, minimum)
        return _phases(step, ends, points, self.anneal_strategy)


@register("one_cycle_momentum")
class OneCycleMomentum(Schedule):
    """The 1cycle momentum: the mirror image of `one_cycle`'s learning rate.

    Momentum falls from `max_momentum` to `base_momentum` while the learning rate climbs and
    climbs back while it anneals (in three phases, it then stays at `max_momentum`). Use it
    with the same `total_steps`, `pct_start`, `anneal_strategy` and `three_phase` as the
    learning rate, for example as `b1` of Adam or `momentum` of SGD through `jaxsched.inject`.

    Any finite momenta are accepted, in either order: a schedule does not know what its value
    feeds (a momentum, Adam's `b1`, a loss weight), and torch accepts any (its own tests cycle
    momentum between 1 and 22). Every schedule in jaxsched that carries a momentum or a beta
    (this one, `cyclic` used for momentum) follows the same rule.

    Equivalent: torch `OneCycleLR(..., cycle_momentum=True, base_momentum, max_momentum)`
    (momentum). From Smith (2018), https://arxiv.org/abs/1803.09820.

    Args:
      total_steps: length of the cycle (positive).
      base_momentum: the momentum at the peak learning rate (any finite number).
      max_momentum: the momentum at the start and the end (any finite number).
      pct_start: share of the cycle spent with momentum falling, in (0, 1).
      anneal_strategy: "cos" or "linear".
      three_phase: as in `one_cycle`.

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> schedule = jaxsched.one_cycle_momentum(total_steps=6, pct_start=0.5,
      ...                                        anneal_strategy="linear")
      >>> [round(float(v), 4) for v in schedule(jnp.arange(7))]
      [0.95, 0.9, 0.85, 0.8833, 0.9167, 0.95, 0.95]
    """

    total_steps: ArrayLike = kinds.steps()
    base_momentum: ArrayLike = kinds.value(default=0.85)
    max_momentum: ArrayLike = kinds.value(default=0.95)
    pct_start: ArrayLike = kinds.fraction(default=0.3)
    anneal_strategy: str = static_field(default="cos")
    three_phase: bool = static_field(default=False)

    def __post_init__(self) -> None:
        check_finite("base_momentum", self.base_momentum)
        check_finite("max_momentum", self.max_momentum)
        check_computed(
            "max_momentum", "max_momentum - base_momentum", np.subtract, self.max_momentum,
            self.base_momentum,
        )  # fmt: skip
        _check_one_cycle(self.total_steps, self.pct_start, self.anneal_strategy, self.three_phase)

    def _at(self, step: jax.Array) -> jax.Array:
        ends = _phase_ends(self.total_steps, self.pct_start, self.three_phase)
        high, low = self.max_momentum, self.base_momentum
        points = (high, low, high, high) if self.three_phase else (high, low, high)
        return _phases(step, ends, points, self.anneal_strategy)
