"""Reduce-on-plateau: a value that drops by a factor when a monitored metric stops improving."""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxsched._checks import (
    check,
    check_choice,
    check_finite,
    check_non_negative,
    check_real,
    short_repr,
)
from jaxsched._numerics import Numeric, float_dtype
from jaxsched._schedule import normalise_floats, register_pytree, static_field
from jaxsched._typing import ArrayLike


class PlateauState(NamedTuple):
    """The state of `reduce_on_plateau`: a pytree of scalars that checkpoints with the rest.

    Attributes:
      value: the current value (what `ReduceOnPlateau.value` returns).
      best: the best metric seen so far (`inf` in "min" mode, `-inf` in "max" mode, until a
        finite metric arrives).
      num_bad_epochs: updates since the last improvement (reset by a reduction and in cooldown).
      cooldown_counter: updates left in the cooldown after the last reduction.
      average: the running mean of the metrics accumulated towards the next decision.
      count: how many metrics that mean holds (0 right after a decision).
    """

    value: jax.Array
    best: jax.Array
    num_bad_epochs: jax.Array
    cooldown_counter: jax.Array
    average: ArrayLike = 0.0
    count: ArrayLike = 0


@register_pytree
@dataclasses.dataclass(frozen=True, repr=False)
class ReduceOnPlateau:
    """Reduce a value by `factor` when a metric has stopped improving (torch semantics).

    A pure, jittable state machine: `state = p.init()`, then once per evaluation (usually per
    epoch) `state = p.update(state, metric)`; `p.value(state)` is the value after that metric.
    The object is a pytree whose numbers are leaves (changing them does not recompile) and
    the state is a `PlateauState` of scalars.

    It follows torch `ReduceLROnPlateau(mode, factor, patience, threshold, threshold_mode,
    cooldown, min_lr, eps)` step for step: a metric is an improvement when it beats the best
    by more than `threshold` (relative: `metric < best * (1 - threshold)` in "min" mode, which
    for negative metrics is torch's formula too; absolute: `metric < best - threshold`);
    after more than `patience` updates without one, the value becomes
    `max(value * factor, min_value)` (skipped when that changes it by `eps` or less), the
    bad-update count restarts and the next `cooldown` updates count no bad epochs.

    With `accumulation_size=n`, the metrics of `n` updates are averaged and only their mean
    takes a decision (optax's `accumulation_size`: feed it minibatch losses and it decides
    once per `n` of them); in between, `update` only accumulates, and `patience` and
    `cooldown` count decisions. `atol` asks an improvement to beat the best by that much more:
    in "rel" mode `metric < best * (1 - threshold) - atol` ("min"), which is optax's
    `rtol`/`atol` rule with `rtol = threshold`.

    A NaN or infinite metric counts as not an improvement and never becomes the best, so one
    bad evaluation cannot corrupt the state (with accumulation, a NaN makes its whole mean
    NaN). (torch agrees for NaN and for an infinity in the
    worsening direction; for `-inf` in "min" mode, or `inf` in "max" mode, torch would store
    it as the best and then never see an improvement again.)

    To use the value as a learning-rate multiplier on top of a decay schedule, inject the
    schedule with `jaxsched.inject` and write the value into the optimizer state with
    `jaxsched.set_scale` after each update of the plateau state: nothing recompiles.

    Args:
      init_value: the value before any reduction (1.0 makes it a multiplier).
      factor: multiplier applied at each reduction, in [0, 1).
      patience: updates without improvement tolerated before a reduction (non-negative).
      threshold: how much better a metric must be to count as an improvement (non-negative).
      threshold_mode: "rel" (relative to the best) or "abs".
      mode: "min" (lower metric is better) or "max".
      cooldown: updates after a reduction during which bad epochs are not counted.
      min_value: the value never drops below this (non-negative).
      eps: reductions that change the value by `eps` or less are skipped (non-negative).
      atol: an absolute margin an improvement must also beat (non-negative).
      accumulation_size: metrics averaged per decision (a positive int).

    Examples:
      >>> import jaxsched
      >>> plateau = jaxsched.reduce_on_plateau(factor=0.5, patience=1)
      >>> state = plateau.init()
      >>> for loss in [3.0, 2.0, 2.5, 2.4, 2.1, 2.2]:
      ...     state = plateau.update(state, loss)
      ...     print(plateau.value(state), end=" ")
      1.0 1.0 1.0 0.5 0.5 0.25

    Equivalents: torch `ReduceLROnPlateau` (golden parity); optax.contrib
    `reduce_on_plateau(factor, patience, rtol, atol, cooldown, accumulation_size, min_scale)`
    is `reduce_on_plateau(factor=factor, patience=patience - 1, threshold=rtol, atol=atol,
    cooldown=cooldown, accumulation_size=accumulation_size, min_value=min_scale, eps=0.0)`
    (optax reduces after `patience` bad decisions, torch after more than `patience`).

    References:
      torch.optim.lr_scheduler.ReduceLROnPlateau; the Keras callback of the same name;
      optax.contrib.reduce_on_plateau.
    """

    init_value: ArrayLike = 1.0
    factor: ArrayLike = 0.1
    patience: ArrayLike = 10
    threshold: ArrayLike = 1e-4
    threshold_mode: str = static_field(default="rel")
    mode: str = static_field(default="min")
    cooldown: ArrayLike = 0
    min_value: ArrayLike = 0.0
    eps: ArrayLike = 1e-8
    atol: ArrayLike = 0.0
    accumulation_size: ArrayLike = 1

    def __post_init__(self) -> None:
        check_finite("init_value", self.init_value)
        check("factor", self.factor, lambda v: np.isfinite(v) & (v >= 0) & (v < 1), "in [0, 1)")
        _check_count("patience", self.patience)
        check_non_negative("threshold", self.threshold)
        check_choice("threshold_mode", self.threshold_mode, ("rel", "abs"))
        check_choice("mode", self.mode, ("min", "max"))
        _check_count("cooldown", self.cooldown)
        check_non_negative("min_value", self.min_value)
        check_non_negative("eps", self.eps)
        check_non_negative("atol", self.atol)
        check(
            "accumulation_size",
            self.accumulation_size,
            lambda v: np.isfinite(v) & (v >= 1) & (v == np.floor(v)),
            "a positive int",
        )
        # Counts are floats too, like a schedule's step counts: one compiled program serves
        # patience=2 and patience=2.0, and every leaf can be differentiated.
        normalise_floats(
            self,
            "init_value",
            "factor",
            "patience",
            "threshold",
            "cooldown",
            "min_value",
            "eps",
            "atol",
            "accumulation_size",
        )

    def init(self) -> PlateauState:
        """The state before any metric: `init_value`, no best, no bad epochs, no cooldown."""
        dtype = float_dtype()
        worst = jnp.inf if self.mode == "min" else -jnp.inf
        return PlateauState(
            value=jnp.asarray(self.init_value, dtype),
            best=jnp.asarray(worst, dtype),
            num_bad_epochs=jnp.zeros((), jnp.int32),
            cooldown_counter=jnp.zeros((), jnp.int32),
            average=jnp.zeros((), dtype),
            count=jnp.zeros((), jnp.int32),
        )

    def update(self, state: PlateauState, metric: Numeric) -> PlateauState:
        """The state after observing `metric` (a scalar; pure and jittable)."""
        # A non-finite metric is allowed (it never counts as an improvement); a string,
        # None or a complex number is a mistake that NumPy would report without its name.
        check_real("metric", metric, "a real number (the monitored loss or score)", finite=False)
        metric = jnp.asarray(metric, state.best.dtype)
        count = state.count + 1
        # optax's running mean: exact for one metric, the mean of all of them otherwise.
        average = (state.average * state.count + metric) / count
        decide = count >= self.accumulation_size
        decided = self._decide(state, average.astype(state.best.dtype))
        waiting = state._replace(average=average.astype(state.best.dtype), count=count)
        return jax.tree.map(lambda a, b: jnp.where(decide, a, b), decided, waiting)

    def _decide(self, state: PlateauState, metric: jax.Array) -> PlateauState:
        improved = self._is_better(metric, state.best) & jnp.isfinite(metric)
        best = jnp.where(improved, metric, state.best)
        bad = jnp.where(improved, 0, state.num_bad_epochs + 1)
        in_cooldown = state.cooldown_counter > 0
        cooldown = jnp.where(in_cooldown, state.cooldown_counter - 1, state.cooldown_counter)
        bad = jnp.where(in_cooldown, 0, bad)
        reduce = bad > self.patience
        reduced = jnp.maximum(state.value * self.factor, self.min_value).astype(state.value.dtype)
        worth_it = state.value - reduced > self.eps
        value = jnp.where(reduce & worth_it, reduced, state.value)
        cooldown = jnp.where(reduce, self.cooldown, cooldown).astype(jnp.int32)
        bad = jnp.where(reduce, 0, bad).astype(jnp.int32)
        return PlateauState(
            value=value,
            best=best,
            num_bad_epochs=bad,
            cooldown_counter=cooldown,
            average=jnp.zeros_like(state.best),
            count=jnp.zeros((), jnp.int32),
        )

    def value(self, state: PlateauState) -> jax.Array:
        """The current value: `init_value` reduced by every reduction so far."""
        return state.value

    def _is_better(self, metric: jax.Array, best: jax.Array) -> jax.Array:
        sign = 1.0 if self.mode == "max" else -1.0
        if self.threshold_mode == "rel":
            return sign * metric > sign * (best * (1.0 + sign * self.threshold)) + self.atol
        return sign * metric > sign * best + self.threshold + self.atol

    def __repr__(self) -> str:
        args = ", ".join(
            f"{f.name}={short_repr(getattr(self, f.name))}" for f in dataclasses.fields(self)
        )
        return f"reduce_on_plateau({args})"


def _check_count(name: str, value: Any) -> None:
    check(
        name, value, lambda v: np.isfinite(v) & (v >= 0) & (v == np.floor(v)), "a non-negative int"
    )
