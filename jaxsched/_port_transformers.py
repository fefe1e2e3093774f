"""Hugging Face transformers' schedulers: its `SchedulerType` names and its `get_*` functions.

Two vocabularies, both giving transformers' values times the learning rate, step for step:

- `SCHEDULER_TYPES`: the names `get_scheduler(name, optimizer, num_warmup_steps,
  num_training_steps, scheduler_specific_kwargs)` takes, which the HF Trainer passes both
  step counts for every name; each builder takes `peak_value` (the optimizer's learning
  rate), both counts (ignoring those its scheduler does not use, as `get_scheduler` does)
  and the scheduler's own keywords.
- `FUNCTIONS`: the `get_*_schedule*` functions by name, each with exactly its own
  arguments and `lr`, the optimizer's learning rate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jaxsched._checks import check_finite, check_non_negative, check_positive, is_concrete
from jaxsched._combine import Advance, Join, Warmup
from jaxsched._constant import Constant
from jaxsched._cosine import CosineDecay, CosineRestarts
from jaxsched._exponential import InverseSqrt
from jaxsched._plateau import ReduceOnPlateau
from jaxsched._polynomial import PolynomialDecay
from jaxsched._port_torch import reduce_lr_on_plateau
from jaxsched._schedule import Schedule
from jaxsched._wsd import WarmupStableDecay


def _decay_steps(num_warmup_steps: Any, num_training_steps: Any) -> Any:
    if num_training_steps is None:
        raise ValueError("num_training_steps must be given (the run's number of updates)")
    check_positive("num_training_steps", num_training_steps)
    if (
        is_concrete(num_warmup_steps)
        and is_concrete(num_training_steps)
        and num_training_steps <= num_warmup_steps
    ):
        raise ValueError(
            f"num_training_steps must be greater than num_warmup_steps={num_warmup_steps}, "
            f"got num_training_steps={num_training_steps}"
        )
    return num_training_steps - num_warmup_steps


def _check_common(peak_value: Any, num_warmup_steps: Any) -> None:
    """Checks the shared arguments under their transformers names.

    The schedules built from them would report `init_value` and `warmup_steps` instead.
    """
    check_finite("peak_value", peak_value)
    check_non_negative("num_warmup_steps", num_warmup_steps)


def _only_half_cycle(num_cycles: Any) -> None:
    if num_cycles != 0.5:
        raise ValueError(
            f"num_cycles must be 0.5 (one cosine half-wave that ends at the horizon), got "
            f"num_cycles={num_cycles}; use 'cosine_with_restarts' for several cycles"
        )


def _end_value(peak_value: Any, min_lr: Any, min_lr_rate: Any) -> Any:
    check_finite("min_lr", min_lr, optional=True)
    check_finite("min_lr_rate", min_lr_rate, optional=True)
    if (min_lr is None) == (min_lr_rate is None):
        raise ValueError(
            f"exactly one of min_lr and min_lr_rate must be given, got min_lr={min_lr} and "
            f"min_lr_rate={min_lr_rate}"
        )
    return min_lr if min_lr is not None else min_lr_rate * peak_value


def linear(peak_value: Any, num_warmup_steps: Any = 0, num_training_steps: Any = None) -> Schedule:
    _check_common(peak_value, num_warmup_steps)
    decay = PolynomialDecay(peak_value, 0.0, _decay_steps(num_warmup_steps, num_training_steps))
    return Warmup(decay, num_warmup_steps)


def cosine(
    peak_value: Any,
    num_warmup_steps: Any = 0,
    num_training_steps: Any = None,
    num_cycles: Any = 0.5,
) -> Schedule:
    _check_common(peak_value, num_warmup_steps)
    _only_half_cycle(num_cycles)
    return Warmup(
        CosineDecay(peak_value, _decay_steps(num_warmup_steps, num_training_steps)),
        num_warmup_steps,
    )


def cosine_with_restarts(
    peak_value: Any,
    num_warmup_steps: Any = 0,
    num_training_steps: Any = None,
    num_cycles: Any = 1,
) -> Schedule:
    _check_common(peak_value, num_warmup_steps)
    check_positive("num_cycles", num_cycles)
    cycle_steps = _decay_steps(num_warmup_steps, num_training_steps) / num_cycles
    return Warmup(CosineRestarts(peak_value, cycle_steps, cycle_limit=num_cycles), num_warmup_steps)


def polynomial(
    peak_value: Any,
    num_warmup_steps: Any = 0,
    num_training_steps: Any = None,
    lr_end: Any = 1e-7,
    power: Any = 1.0,
) -> Schedule:
    _check_common(peak_value, num_warmup_steps)
    check_finite("lr_end", lr_end)
    if is_concrete(peak_value) and is_concrete(lr_end) and not lr_end < peak_value:
        raise ValueError(
            f"lr_end must be smaller than the learning rate {peak_value}, got lr_end={lr_end}"
        )
    decay = PolynomialDecay(
        peak_value, lr_end, _decay_steps(num_warmup_steps, num_training_steps), power
    )
    return Warmup(decay, num_warmup_steps)


def constant(
    peak_value: Any, num_warmup_steps: Any = None, num_training_steps: Any = None
) -> Schedule:
    del num_warmup_steps, num_training_steps  # get_scheduler ignores both for "constant"
    return Constant(peak_value)


def constant_with_warmup(
    peak_value: Any, num_warmup_steps: Any = 0, num_training_steps: Any = None
) -> Schedule:
    _check_common(peak_value, num_warmup_steps)
    del num_training_steps
    return Warmup(Constant(peak_value), num_warmup_steps)


def inverse_sqrt(
    peak_value: Any,
    num_warmup_steps: Any = 0,
    num_training_steps: Any = None,
    timescale: Any = None,
) -> Schedule:
    _check_common(peak_value, num_warmup_steps)
    del num_training_steps
    return InverseSqrt(peak_value, num_warmup_steps, timescale)


def cosine_with_min_lr(
    peak_value: Any,
    num_warmup_steps: Any = 0,
    num_training_steps: Any = None,
    num_cycles: Any = 0.5,
    min_lr: Any = None,
    min_lr_rate: Any = None,
) -> Schedule:
    _check_common(peak_value, num_warmup_steps)
    _only_half_cycle(num_cycles)
    end_value = _end_value(peak_value, min_lr, min_lr_rate)
    decay = CosineDecay(peak_value, _decay_steps(num_warmup_steps, num_training_steps), end_value)
    return Warmup(decay, num_warmup_steps)


def cosine_warmup_with_min_lr(
    peak_value: Any,
    num_warmup_steps: Any = 0,
    num_training_steps: Any = None,
    num_cycles: Any = 0.5,
    min_lr: Any = None,
    min_lr_rate: Any = None,
    warmup_lr_rate: Any = None,
) -> Schedule:
    """transformers' `get_cosine_with_min_lr_schedule_with_warmup_lr_rate`.

    Its warmup reaches the peak one step early, at `num_warmup_steps - 1` (from
    `warmup_lr_rate`, default `1 / num_warmup_steps`), and its cosine runs one step ahead:
    `progress = (step - num_warmup_steps + 1) / (num_training_steps - num_warmup_steps)`.
    """
    _check_common(peak_value, num_warmup_steps)
    _only_half_cycle(num_cycles)
    end_value = _end_value(peak_value, min_lr, min_lr_rate)
    decay = CosineDecay(peak_value, _decay_steps(num_warmup_steps, num_training_steps), end_value)
    if is_concrete(num_warmup_steps) and num_warmup_steps < 1:
        return Advance(decay, 1.0)
    if warmup_lr_rate is None:
        warmup_lr_rate = 1.0 / num_warmup_steps
    if is_concrete(num_warmup_steps) and num_warmup_steps == 1:
        # Step 0 is the warmup (warmup_lr_rate); from step 1 the cosine is one step ahead.
        return Join((Constant(warmup_lr_rate * peak_value), Advance(decay, 1.0)), (1.0,))
    return Warmup(decay, num_warmup_steps - 1, warmup_lr_rate * peak_value)


def warmup_stable_decay(
    peak_value: Any,
    num_warmup_steps: Any = 0,
    num_training_steps: Any = None,
    num_decay_steps: Any = None,
    num_stable_steps: Any = None,
    warmup_type: str = "linear",
    decay_type: str = "cosine",
    min_lr_ratio: Any = 0.0,
    num_cycles: Any = 0.5,
) -> Schedule:
    _check_common(peak_value, num_warmup_steps)
    check_non_negative("num_stable_steps", num_stable_steps, optional=True)
    check_finite("min_lr_ratio", min_lr_ratio)
    _only_half_cycle(num_cycles)
    if num_decay_steps is None:
        raise ValueError("num_decay_steps must be given (the length of the decay)")
    if num_stable_steps is not None:  # transformers uses it when both are given
        num_training_steps = num_warmup_steps + num_stable_steps + num_decay_steps
    elif num_training_steps is None:
        raise ValueError("one of num_training_steps and num_stable_steps must be given")
    floor = min_lr_ratio * peak_value
    return WarmupStableDecay(
        peak_value,
        num_training_steps,
        num_warmup_steps,
        num_decay_steps,
        init_value=floor,
        end_value=floor,
        warmup_shape=warmup_type,
        decay_shape=decay_type,
    )


def reduce_on_plateau(
    peak_value: Any,
    num_warmup_steps: Any = None,
    num_training_steps: Any = None,
    mode: str = "min",
    factor: Any = 0.1,
    patience: Any = 10,
    threshold: Any = 1e-4,
    threshold_mode: str = "rel",
    cooldown: Any = 0,
    min_lr: Any = 0.0,
    eps: Any = 1e-8,
) -> ReduceOnPlateau:
    del num_warmup_steps, num_training_steps  # get_scheduler ignores both here
    return reduce_lr_on_plateau(
        peak_value, mode, factor, patience, threshold, threshold_mode, cooldown, min_lr, eps
    )


GREEDY_REFUSAL = (
    "transformers' GreedyLR ('greedy', get_greedy_schedule) raises and lowers the learning "
    "rate from the loss and has no jaxsched equivalent; use jaxsched.reduce_on_plateau "
    "(its reductions) with jaxsched.inject and jaxsched.set_scale"
)


def greedy(peak_value: Any = None, **kwargs: Any) -> Schedule:
    raise ValueError(GREEDY_REFUSAL)


SCHEDULER_TYPES: dict[str, Callable[..., Any]] = {
    "linear": linear,
    "cosine": cosine,
    "cosine_with_restarts": cosine_with_restarts,
    "polynomial": polynomial,
    "constant": constant,
    "constant_with_warmup": constant_with_warmup,
    "inverse_sqrt": inverse_sqrt,
    "reduce_lr_on_plateau": reduce_on_plateau,
    "cosine_with_min_lr": cosine_with_min_lr,
    "cosine_warmup_with_min_lr": cosine_warmup_with_min_lr,
    "warmup_stable_decay": warmup_stable_decay,
    "greedy": greedy,
}


# The `get_*` functions, with their own signatures (`optimizer` and `last_epoch` left out,
# `lr` added).
def get_constant_schedule(lr: Any) -> Schedule:
    check_finite("lr", lr)
    return constant(lr)


def get_constant_schedule_with_warmup(lr: Any, num_warmup_steps: Any) -> Schedule:
    check_finite("lr", lr)
    return constant_with_warmup(lr, num_warmup_steps)


def get_linear_schedule_with_warmup(
    lr: Any, num_warmup_steps: Any, num_training_steps: Any
) -> Schedule:
    check_finite("lr", lr)
    return linear(lr, num_warmup_steps, num_training_steps)


def get_cosine_schedule_with_warmup(
    lr: Any, num_warmup_steps: Any, num_training_steps: Any, num_cycles: Any = 0.5
) -> Schedule:
    check_finite("lr", lr)
    return cosine(lr, num_warmup_steps, num_training_steps, num_cycles)


def get_cosine_with_hard_restarts_schedule_with_warmup(
    lr: Any, num_warmup_steps: Any, num_training_steps: Any, num_cycles: Any = 1
) -> Schedule:
    check_finite("lr", lr)
    return cosine_with_restarts(lr, num_warmup_steps, num_training_steps, num_cycles)


def get_polynomial_decay_schedule_with_warmup(
    lr: Any, num_warmup_steps: Any, num_training_steps: Any, lr_end: Any = 1e-7, power: Any = 1.0
) -> Schedule:
    check_finite("lr", lr)
    return polynomial(lr, num_warmup_steps, num_training_steps, lr_end, power)


def get_inverse_sqrt_schedule(lr: Any, num_warmup_steps: Any, timescale: Any = None) -> Schedule:
    check_finite("lr", lr)
    return inverse_sqrt(lr, num_warmup_steps, timescale=timescale)


def get_cosine_with_min_lr_schedule_with_warmup(
    lr: Any,
    num_warmup_steps: Any,
    num_training_steps: Any,
    num_cycles: Any = 0.5,
    min_lr: Any = None,
    min_lr_rate: Any = None,
) -> Schedule:
    check_finite("lr", lr)
    return cosine_with_min_lr(lr, num_warmup_steps, num_training_steps, num_cycles, min_lr,
                              min_lr_rate)  # fmt: skip


def get_cosine_with_min_lr_schedule_with_warmup_lr_rate(
    lr: Any,
    num_warmup_steps: Any,
    num_training_steps: Any,
    num_cycles: Any = 0.5,
    min_lr: Any = None,
    min_lr_rate: Any = None,
    warmup_lr_rate: Any = None,
) -> Schedule:
    check_finite("lr", lr)
    return cosine_warmup_with_min_lr(lr, num_warmup_steps, num_training_steps, num_cycles,
                                     min_lr, min_lr_rate, warmup_lr_rate)  # fmt: skip


def get_wsd_schedule(
    lr: Any,
    num_warmup_steps: Any,
    num_decay_steps: Any,
    num_training_steps: Any = None,
    num_stable_steps: Any = None,
    warmup_type: str = "linear",
    decay_type: str = "cosine",
    min_lr_ratio: Any = 0.0,
    num_cycles: Any = 0.5,
) -> Schedule:
    check_finite("lr", lr)
    return warmup_stable_decay(lr, num_warmup_steps, num_training_steps, num_decay_steps,
                               num_stable_steps, warmup_type, decay_type, min_lr_ratio,
                               num_cycles)  # fmt: skip


def get_reduce_on_plateau_schedule(
    lr: Any,
    mode: str = "min",
    factor: Any = 0.1,
    patience: Any = 10,
    threshold: Any = 1e-4,
    threshold_mode: str = "rel",
    cooldown: Any = 0,
    min_lr: Any = 0.0,
    eps: Any = 1e-8,
) -> ReduceOnPlateau:
    return reduce_lr_on_plateau(lr, mode, factor, patience, threshold, threshold_mode, cooldown,
                                min_lr, eps)  # fmt: skip


def get_greedy_schedule(lr: Any = None, **kwargs: Any) -> Schedule:
    raise ValueError(GREEDY_REFUSAL)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    f.__name__: f
    for f in (
        get_constant_schedule,
        get_constant_schedule_with_warmup,
        get_linear_schedule_with_warmup,
        get_cosine_schedule_with_warmup,
        get_cosine_with_hard_restarts_schedule_with_warmup,
        get_polynomial_decay_schedule_with_warmup,
        get_inverse_sqrt_schedule,
        get_cosine_with_min_lr_schedule_with_warmup,
        get_cosine_with_min_lr_schedule_with_warmup_lr_rate,
        get_wsd_schedule,
        get_reduce_on_plateau_schedule,
        get_greedy_schedule,
    )
}
# The function behind each `SchedulerType` name (transformers' TYPE_TO_SCHEDULER_FUNCTION).
FUNCTION_OF_TYPE: dict[str, str] = {
    "linear": "get_linear_schedule_with_warmup",
    "cosine": "get_cosine_schedule_with_warmup",
    "cosine_with_restarts": "get_cosine_with_hard_restarts_schedule_with_warmup",
    "polynomial": "get_polynomial_decay_schedule_with_warmup",
    "constant": "get_constant_schedule",
    "constant_with_warmup": "get_constant_schedule_with_warmup",
    "inverse_sqrt": "get_inverse_sqrt_schedule",
    "reduce_lr_on_plateau": "get_reduce_on_plateau_schedule",
    "cosine_with_min_lr": "get_cosine_with_min_lr_schedule_with_warmup",
    "cosine_warmup_with_min_lr": "get_cosine_with_min_lr_schedule_with_warmup_lr_rate",
    "warmup_stable_decay": "get_wsd_schedule",
    "greedy": "get_greedy_schedule",
}
