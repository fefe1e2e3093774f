"""Keras' `LearningRateSchedule` classes by name, with Keras' arguments (`jaxsched.get`).

Keras schedules carry their own learning rate (`initial_learning_rate`); `alpha` is Keras'
end value as a share of it. `name` is accepted and ignored. The values are the Keras
schedule's at each step, with jaxsched's conventions where they differ on purpose (see the
conventions table).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jaxsched._checks import as_tuple
from jaxsched._cosine import CosineDecay, CosineRestarts, WarmupCosineDecay
from jaxsched._exponential import ExponentialDecay, InverseTimeDecay
from jaxsched._polynomial import PolynomialDecay
from jaxsched._schedule import Schedule
from jaxsched._step import PiecewiseConstant


def exponential_decay(
    initial_learning_rate: Any,
    decay_steps: Any,
    decay_rate: Any,
    staircase: bool = False,
    name: str = "ExponentialDecay",
) -> Schedule:
    del name
    return ExponentialDecay(initial_learning_rate, decay_rate, decay_steps, staircase)


def piecewise_constant_decay(
    boundaries: Any, values: Any, name: str = "PiecewiseConstant"
) -> Schedule:
    # Keras keeps the earlier value AT a boundary and switches one step later.
    del name
    return PiecewiseConstant(tuple(b + 1 for b in as_tuple("boundaries", boundaries)), values)


def polynomial_decay(
    initial_learning_rate: Any,
    decay_steps: Any,
    end_learning_rate: Any = 0.0001,
    power: Any = 1.0,
    cycle: bool = False,
    name: str = "PolynomialDecay",
) -> Schedule:
    del name
    return PolynomialDecay(
        initial_learning_rate, end_learning_rate, decay_steps, power, cycle=cycle
    )


def inverse_time_decay(
    initial_learning_rate: Any,
    decay_steps: Any,
    decay_rate: Any,
    staircase: bool = False,
    name: str = "InverseTimeDecay",
) -> Schedule:
    del name
    return InverseTimeDecay(initial_learning_rate, decay_rate, decay_steps, staircase)


def cosine_decay(
    initial_learning_rate: Any,
    decay_steps: Any,
    alpha: Any = 0.0,
    name: str = "CosineDecay",
    warmup_target: Any = None,
    warmup_steps: Any = 0,
) -> Schedule:
    del name
    if warmup_target is None:
        return CosineDecay(initial_learning_rate, decay_steps, alpha * initial_learning_rate)
    # Keras counts decay_steps after the warmup; jaxsched's decay_steps include it.
    return WarmupCosineDecay(
        initial_learning_rate,
        warmup_target,
        warmup_steps,
        warmup_steps + decay_steps,
        alpha * warmup_target,
    )


def cosine_decay_restarts(
    initial_learning_rate: Any,
    first_decay_steps: Any,
    t_mul: Any = 2.0,
    m_mul: Any = 1.0,
    alpha: Any = 0.0,
    name: str = "SGDRDecay",
) -> Schedule:
    del name
    return CosineRestarts(
        initial_learning_rate, first_decay_steps, t_mul, m_mul, alpha * initial_learning_rate
    )


KERAS: dict[str, Callable[..., Any]] = {
    "ExponentialDecay": exponential_decay,
    "PiecewiseConstantDecay": piecewise_constant_decay,
    "PolynomialDecay": polynomial_decay,
    "InverseTimeDecay": inverse_time_decay,
    "CosineDecay": cosine_decay,
    "CosineDecayRestarts": cosine_decay_restarts,
}
