"""The study's schedule recipes, named with the library's own schedule names.

A recipe turns a base learning rate and a run's length into what the optimizer is given: the
learning-rate schedule, a momentum schedule (one-cycle cycles it) and a reduce-on-plateau
multiplier. Every horizon is a share of the run, so a longer budget stretches the schedule.
The study and time to accuracy both build their runs here.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jaxsched

RECIPES = (
    "constant",
    "step_decay",
    "multistep_decay",
    "exponential_decay",
    "cosine_decay",
    "warmup_cosine_decay",
    "cosine_restarts",
    "cyclic",
    "one_cycle",
    "warmup_stable_decay",
    "inverse_sqrt",
    "reduce_on_plateau",
    "warmup",
)
DESCRIPTIONS = {
    "constant": "constant",
    "step_decay": "step_decay: x0.3 every third of the run",
    "multistep_decay": "multistep_decay: x0.1 at 50% and 75%",
    "exponential_decay": "exponential_decay: to 1% at the end",
    "cosine_decay": "cosine_decay to 0",
    "warmup_cosine_decay": "warmup_cosine_decay: warmup 10% + cosine",
    "cosine_restarts": "cosine_restarts (SGDR, t_mul=2, 3 cycles)",
    "cyclic": "cyclic triangular2 (LR/10 to LR, 4 cycles)",
    "one_cycle": "one_cycle + cycled momentum 0.95-0.85",
    "warmup_stable_decay": "warmup_stable_decay: warmup 5%, 1-sqrt cooldown 20%",
    "inverse_sqrt": "inverse_sqrt, warmup 10%",
    "reduce_on_plateau": "reduce_on_plateau (val loss, x0.3, patience 0)",
    "warmup": "warmup 5%, then constant",
}


class Scheduled(NamedTuple):
    """What a recipe gives a run.

    Attributes:
      schedule: the learning-rate schedule.
      momentum: a momentum schedule, or None for the optimizer's own momentum.
      plateau: a reduce-on-plateau multiplier of the learning rate, or None.
    """

    schedule: jaxsched.Schedule
    momentum: jaxsched.Schedule | None = None
    plateau: jaxsched.ReduceOnPlateau | None = None


def build(recipe: str, learning_rate: float, total_steps: int) -> Scheduled:
    """The schedules of `recipe` at base (peak) rate `learning_rate` over `total_steps`.

    Raises:
      ValueError: for a name that is not in `RECIPES`.
    """
    t = total_steps
    share = {p: max(1, t // p) for p in (5, 7, 8, 10, 20)}
    builders: dict[str, Any] = {
        "constant": lambda: jaxsched.constant(learning_rate),
        "step_decay": lambda: jaxsched.step_decay(
            learning_rate, step_size=max(1, math.ceil(t / 3)), decay_rate=0.3
        ),
        "multistep_decay": lambda: jaxsched.multistep_decay(
            learning_rate, milestones=(t // 2, 3 * t // 4), decay_rate=0.1
        ),
        "exponential_decay": lambda: jaxsched.exponential_decay(
            learning_rate, decay_rate=0.01, transition_steps=t
        ),
        "cosine_decay": lambda: jaxsched.cosine_decay(learning_rate, decay_steps=t),
        "warmup_cosine_decay": lambda: jaxsched.warmup_cosine_decay(
            0.0, learning_rate, warmup_steps=share[10], decay_steps=t
        ),
        "cosine_restarts": lambda: jaxsched.cosine_restarts(
            learning_rate, first_decay_steps=share[7], t_mul=2.0
        ),
        "cyclic": lambda: jaxsched.cyclic(
            learning_rate / 10, learning_rate, step_size_up=share[8], mode="triangular2"
        ),
        "one_cycle": lambda: jaxsched.one_cycle(learning_rate, total_steps=t),
        "warmup_stable_decay": lambda: jaxsched.warmup_stable_decay(
            peak_value=learning_rate,
            total_steps=t,
            warmup_steps=share[20],
            decay_steps=share[5],
            decay_shape="1-sqrt",
        ),
        "inverse_sqrt": lambda: jaxsched.inverse_sqrt(
            peak_value=learning_rate, warmup_steps=share[10]
        ),
        "reduce_on_plateau": lambda: jaxsched.constant(learning_rate),
        "warmup": lambda: jaxsched.warmup(jaxsched.constant(learning_rate), warmup_steps=share[20]),
    }
    if recipe not in builders:
        raise ValueError(f"unknown recipe {recipe!r}; known: {', '.join(RECIPES)}")
    schedule = builders[recipe]()
    if recipe == "one_cycle":
        return Scheduled(schedule, momentum=jaxsched.one_cycle_momentum(total_steps=t))
    if recipe == "reduce_on_plateau":
        return Scheduled(schedule, plateau=jaxsched.reduce_on_plateau(factor=0.3, patience=0))
    return Scheduled(schedule)
