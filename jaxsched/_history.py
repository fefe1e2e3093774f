"""A schedule's history: schedules that took over from one another at given steps."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp

import jaxsched._kinds as kinds
from jaxsched._combine import check_pieces
from jaxsched._config import register
from jaxsched._schedule import Schedule
from jaxsched._typing import ArrayLike


@register("history")
class History(Schedule):
    """`schedules[i]` from step `boundaries[i - 1]` on, each evaluated at the global step.

    The record of a schedule that changed during training, as population-based training
    (Jaderberg et al. 2017, https://arxiv.org/abs/1711.09846) changes it: a member trains
    with one schedule, then from step `boundaries[0]` with a perturbed copy of a better
    member's schedule, and so on. Unlike `join`, a piece is not restarted at its boundary: it
    sees the same step count the run did, so the history reproduces the learning rates the
    member trained with, step for step, and can be plotted, written with `to_config` and
    trained alone.

    Args:
      schedules: the schedules in the order they took over; one more than `boundaries`.
      boundaries: strictly increasing, non-negative steps at which the next schedule takes
        over.

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> first = jaxsched.linear(1.0, 0.0, transition_steps=4)
      >>> second = jaxsched.linear(2.0, 0.0, transition_steps=4)
      >>> print(jaxsched.history((first, second), boundaries=(2,))(jnp.arange(5)))
      [1.   0.75 1.   0.5  0.  ]
    """

    schedules: Sequence[Schedule] = kinds.schedules()
    boundaries: Sequence[ArrayLike] = kinds.steps()

    def __post_init__(self) -> None:
        check_pieces(self)

    def _at(self, step: jax.Array) -> jax.Array:
        value = self.schedules[0](step)
        for boundary, schedule in zip(self.boundaries, self.schedules[1:], strict=True):
            value = jnp.where(step >= boundary, schedule(step), value)
        return value
