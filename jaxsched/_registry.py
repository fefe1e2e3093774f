"""Schedules by name: jaxsched's own names plus the Hugging Face transformers names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jaxsched._base import REGISTRY, Schedule, check_positive, is_concrete
from jaxsched._combine import Warmup
from jaxsched._constant import Constant
from jaxsched._cosine import CosineDecay, CosineRestarts
from jaxsched._exponential import InverseSqrt
from jaxsched._polynomial import PolynomialDecay
from jaxsched._wsd import WarmupStableDecay

# Names shared with jaxsched's own schedules switch to the transformers meaning when one of
# these (transformers-only) arguments is given.
_TRANSFORMERS_MARKERS = ("num_warmup_steps", "num_training_steps")


def _decay_steps(num_warmup_steps: Any, num_training_steps: Any) -> Any:
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


def _only_half_cycle(num_cycles: Any) -> None:
    if num_cycles != 0.5:
        raise ValueError(
            f"num_cycles must be 0.5 (one cosine half-wave that ends at the horizon), got "
            f"num_cycles={num_cycles}; use 'cosine_with_restarts' for several cycles"
        )


def _hf_linear(peak_value: Any, num_warmup_steps: Any = 0, *, num_training_steps: Any) -> Schedule:
    decay = PolynomialDecay(peak_value, 0.0, _decay_steps(num_warmup_steps, num_training_steps))
    return Warmup(decay, num_warmup_steps)


def _hf_cosine(
    peak_value: Any, num_warmup_steps: Any = 0, *, num_training_steps: Any, num_cycles: float = 0.5
) -> Schedule:
    _only_half_cycle(num_cycles)
    return Warmup(
        CosineDecay(peak_value, _decay_steps(num_warmup_steps, num_training_steps)),
        num_warmup_steps,
    )


def _hf_cosine_with_restarts(
    peak_value: Any, num_warmup_steps: Any = 0, *, num_training_steps: Any, num_cycles: int = 1
) -> Schedule:
    check_positive("num_cycles", num_cycles)
    cycle_steps = _decay_steps(num_warmup_steps, num_training_steps) / num_cycles
    return Warmup(CosineRestarts(peak_value, cycle_steps, cycle_limit=num_cycles), num_warmup_steps)


def _hf_polynomial(
    peak_value: Any,
    num_warmup_steps: Any = 0,
    *,
    num_training_steps: Any,
    lr_end: float = 1e-7,
    power: float = 1.0,
) -> Schedule:
    if is_concrete(peak_value) and is_concrete(lr_end) and not lr_end < peak_value:
        raise ValueError(
            f"lr_end must be smaller than peak_value={peak_value}, got lr_end={lr_end}"
        )
    decay = PolynomialDecay(
        peak_value, lr_end, _decay_steps(num_warmup_steps, num_training_steps), power
    )
    return Warmup(decay, num_warmup_steps)


def _hf_constant_with_warmup(peak_value: Any, num_warmup_steps: Any = 0) -> Schedule:
    return Warmup(Constant(peak_value), num_warmup_steps)


def _hf_inverse_sqrt(peak_value: Any, num_warmup_steps: Any = 0, timescale: Any = None) -> Schedule:
    return InverseSqrt(peak_value, num_warmup_steps, timescale)


def _hf_cosine_with_min_lr(
    peak_value: Any,
    num_warmup_steps: Any = 0,
    *,
    num_training_steps: Any,
    num_cycles: float = 0.5,
    min_lr: Any = None,
    min_lr_rate: Any = None,
) -> Schedule:
    _only_half_cycle(num_cycles)
    if (min_lr is None) == (min_lr_rate is None):
        raise ValueError(
            f"exactly one of min_lr and min_lr_rate must be given, got min_lr={min_lr} and "
            f"min_lr_rate={min_lr_rate}"
        )
    end_value = min_lr if min_lr is not None else min_lr_rate * peak_value
    decay = CosineDecay(peak_value, _decay_steps(num_warmup_steps, num_training_steps), end_value)
    return Warmup(decay, num_warmup_steps)


def _hf_warmup_stable_decay(
    peak_value: Any,
    num_warmup_steps: Any = 0,
    *,
    num_decay_steps: Any,
    num_training_steps: Any = None,
    num_stable_steps: Any = None,
    warmup_type: str = "linear",
    decay_type: str = "cosine",
    min_lr_ratio: Any = 0.0,
    num_cycles: float = 0.5,
) -> Schedule:
    _only_half_cycle(num_cycles)
    if (num_training_steps is None) == (num_stable_steps is None):
        raise ValueError(
            "exactly one of num_training_steps and num_stable_steps must be given, got "
            f"num_training_steps={num_training_steps} and num_stable_steps={num_stable_steps}"
        )
    if num_training_steps is None:
        num_training_steps = num_warmup_steps + num_stable_steps + num_decay_steps
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


TRANSFORMERS_NAMES: dict[str, Callable[..., Schedule]] = {
    "linear": _hf_linear,
    "cosine": _hf_cosine,
    "cosine_with_restarts": _hf_cosine_with_restarts,
    "polynomial": _hf_polynomial,
    "constant_with_warmup": _hf_constant_with_warmup,
    "inverse_sqrt": _hf_inverse_sqrt,
    "cosine_with_min_lr": _hf_cosine_with_min_lr,
    "warmup_stable_decay": _hf_warmup_stable_decay,
}


def get(name: str, **kwargs: Any) -> Schedule:
    """Builds a schedule from its name and keyword arguments.

    `name` is a jaxsched schedule (`"cosine_decay"`, `"one_cycle"`, ...: the arguments are the
    schedule's own) or a Hugging Face transformers scheduler name (`"linear"`, `"cosine"`,
    `"cosine_with_restarts"`, `"polynomial"`, `"constant"`, `"constant_with_warmup"`,
    `"inverse_sqrt"`, `"cosine_with_min_lr"`, `"warmup_stable_decay"`). Transformers names take
    `peak_value` (the optimizer's learning rate), `num_warmup_steps`, `num_training_steps`
    and the scheduler's own keywords (`num_cycles`, `lr_end`, `power`, `timescale`, `min_lr`,
    `min_lr_rate`, `num_decay_steps`, `num_stable_steps`, `warmup_type`, `decay_type`,
    `min_lr_ratio`), and give the transformers values times `peak_value`, step for step. Where
    a name is both (`"linear"`, `"inverse_sqrt"`, `"warmup_stable_decay"`), passing
    `num_warmup_steps` or `num_training_steps` selects the transformers meaning. `"constant"`
    takes `value`.

    Args:
      name: a schedule name.
      **kwargs: its arguments.

    Returns:
      The schedule.

    Raises:
      ValueError: for an unknown name, or missing, unknown or invalid arguments.

    Examples:
      >>> import jaxsched
      >>> jaxsched.get("cosine_decay", init_value=0.1, decay_steps=100)
      cosine_decay(init_value=0.1, decay_steps=100.0, end_value=0.0, exponent=1.0)
      >>> schedule = jaxsched.get(
      ...     "linear", peak_value=1.0, num_warmup_steps=2, num_training_steps=6
      ... )
      >>> print(schedule(1), schedule(4))
      0.5 0.5
    """
    transformers_style = name in TRANSFORMERS_NAMES and (
        name not in REGISTRY or any(k in kwargs for k in _TRANSFORMERS_MARKERS)
    )
    if transformers_style:
        builder: Callable[..., Schedule] = TRANSFORMERS_NAMES[name]
    elif name in REGISTRY:
        builder = REGISTRY[name]
    else:
        known = sorted(set(REGISTRY) | set(TRANSFORMERS_NAMES))
        raise ValueError(f"name={name!r} is not a known schedule; known names: {known}")
    try:
        return builder(**kwargs)
    except TypeError as e:
        raise ValueError(f"bad arguments for {name!r}: {e}") from None
