"""Schedules by name: jaxsched's own names plus the Hugging Face transformers names."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

import jax.numpy as jnp
import numpy as np

from jaxsched._checks import (
    check_computed,
    check_finite,
    check_non_negative,
    check_positive,
    is_concrete,
)
from jaxsched._combine import Warmup
from jaxsched._config import REGISTRY
from jaxsched._constant import Constant
from jaxsched._cosine import CosineDecay, CosineRestarts, sgdr
from jaxsched._exponential import InverseSqrt
from jaxsched._polynomial import PolynomialDecay
from jaxsched._schedule import Schedule
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


def _check_common(peak_value: Any, num_warmup_steps: Any) -> None:
    """Checks the transformers arguments under the names the user passed.

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


def _hf_linear(peak_value: Any, num_warmup_steps: Any = 0, *, num_training_steps: Any) -> Schedule:
    _check_common(peak_value, num_warmup_steps)
    decay = PolynomialDecay(peak_value, 0.0, _decay_steps(num_warmup_steps, num_training_steps))
    return Warmup(decay, num_warmup_steps)


def _hf_cosine(
    peak_value: Any, num_warmup_steps: Any = 0, *, num_training_steps: Any, num_cycles: float = 0.5
) -> Schedule:
    _check_common(peak_value, num_warmup_steps)
    _only_half_cycle(num_cycles)
    return Warmup(
        CosineDecay(peak_value, _decay_steps(num_warmup_steps, num_training_steps)),
        num_warmup_steps,
    )


def _hf_cosine_with_restarts(
    peak_value: Any, num_warmup_steps: Any = 0, *, num_training_steps: Any, num_cycles: int = 1
) -> Schedule:
    _check_common(peak_value, num_warmup_steps)
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
    _check_common(peak_value, num_warmup_steps)
    check_finite("lr_end", lr_end)
    if is_concrete(peak_value) and is_concrete(lr_end) and not lr_end < peak_value:
        raise ValueError(
            f"lr_end must be smaller than peak_value={peak_value}, got lr_end={lr_end}"
        )
    decay = PolynomialDecay(
        peak_value, lr_end, _decay_steps(num_warmup_steps, num_training_steps), power
    )
    return Warmup(decay, num_warmup_steps)


def _hf_constant_with_warmup(peak_value: Any, num_warmup_steps: Any = 0) -> Schedule:
    _check_common(peak_value, num_warmup_steps)
    return Warmup(Constant(peak_value), num_warmup_steps)


def _hf_inverse_sqrt(peak_value: Any, num_warmup_steps: Any = 0, timescale: Any = None) -> Schedule:
    _check_common(peak_value, num_warmup_steps)
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
    _check_common(peak_value, num_warmup_steps)
    check_finite("min_lr", min_lr, optional=True)
    check_finite("min_lr_rate", min_lr_rate, optional=True)
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
    _check_common(peak_value, num_warmup_steps)
    check_non_negative("num_stable_steps", num_stable_steps, optional=True)
    check_finite("min_lr_ratio", min_lr_ratio)
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


_DURATION_NAMES = frozenset(
    {
        "transition_begin",
        "step_size",
        "step_size_up",
        "step_size_down",
        "milestones",
        "boundaries",
        "start_step",
        "timescale",
        "shift",
        "step_offset",
        "cycle_ends",
        "noise_start",
        "noise_end",
    }
)
_DURATION_UNITS = ("fraction", "epochs", "steps")


def _is_duration(key: str) -> bool:
    return key in _DURATION_NAMES or key.endswith("_steps")


def to_steps(name: str, value: Any, run_steps: Any = None, steps_per_epoch: Any = None) -> Any:
    """A duration as a whole number of steps; numbers are returned unchanged.

    Accepted forms: a number of steps; `"10%"` (a share of `run_steps`); `"2 epochs"`,
    `"1 epoch"` (times `steps_per_epoch`); `"300 steps"` or `"300"`; or one of
    `{"fraction": 0.1}`, `{"epochs": 2}`, `{"steps": 300}`. Converted values are rounded to
    the nearest step (halves up).
    """
    if isinstance(value, Mapping):
        if len(value) != 1 or next(iter(value)) not in _DURATION_UNITS:
            raise ValueError(
                f"{name} as a dict must be one of {{'fraction': x}}, {{'epochs': x}} or "
                f"{{'steps': x}}, got {name}={value!r}"
            )
        unit, amount = next(iter(value.items()))
    elif isinstance(value, str):
        text = value.strip().lower()
        unit, amount = "steps", text
        if text.endswith("%"):
            unit, amount = "percent", text[:-1]
        else:
            for suffix, word in (("epochs", "epochs"), ("epoch", "epochs"), ("steps", "steps"),
                                 ("step", "steps")):  # fmt: skip
                if text.endswith(suffix):
                    unit, amount = word, text[: -len(suffix)]
                    break
        try:
            amount = float(amount)
        except ValueError:
            raise ValueError(
                f"{name} must be a number of steps or a duration such as '10%', '2 epochs' or "
                f"'300 steps', got {name}={value!r}"
            ) from None
        if unit == "percent":
            unit, amount = "fraction", amount / 100.0
    else:
        return value
    if (
        isinstance(amount, bool)
        or not isinstance(amount, (int, float))
        or not math.isfinite(amount)
    ):
        raise ValueError(f"{name} must be a finite duration, got {name}={value!r}")
    if unit == "fraction":
        if run_steps is None:
            raise ValueError(
                f"{name}={value!r} is a share of the run: pass run_steps (the run's number of "
                "updates) to jaxsched.get"
            )
        steps = amount * run_steps
    elif unit == "epochs":
        if steps_per_epoch is None:
            raise ValueError(f"{name}={value!r} is in epochs: pass steps_per_epoch to jaxsched.get")
        steps = amount * steps_per_epoch
    else:
        steps = amount
    if isinstance(steps, (int, float)):
        return math.floor(steps + 0.5)
    return jnp.floor(steps + 0.5)  # a traced run_steps or steps_per_epoch


def _convert(key: str, value: Any, run_steps: Any, steps_per_epoch: Any) -> Any:
    """Converts the durations in one argument of `get`, and builds nested schedule configs."""
    if isinstance(value, Mapping) and "name" in value:
        config = dict(value)
        return get(
            config.pop("name"), run_steps=run_steps, steps_per_epoch=steps_per_epoch, **config
        )
    if (
        isinstance(value, (list, tuple))
        and value
        and all(isinstance(v, Mapping) and "name" in v for v in value)
    ):
        return tuple(_convert(key, v, run_steps, steps_per_epoch) for v in value)
    if key == "cosine_kwargs" and isinstance(value, (list, tuple)):
        return [
            {k: _convert(k, v, run_steps, steps_per_epoch) for k, v in cycle.items()}
            if isinstance(cycle, Mapping) else cycle
            for cycle in value
        ]  # fmt: skip
    if not _is_duration(key):
        return value
    if (
        key == "boundaries"
        and isinstance(value, Mapping)
        and not (len(value) == 1 and next(iter(value)) in _DURATION_UNITS)
    ):
        return {
            to_steps(key, _number_key(k), run_steps, steps_per_epoch): v
            for k, v in value.items()
        }  # fmt: skip
    if isinstance(value, (list, tuple)):
        return [to_steps(key, v, run_steps, steps_per_epoch) for v in value]
    return to_steps(key, value, run_steps, steps_per_epoch)


def _number_key(key: Any) -> Any:
    """A JSON dict key ("100") as a number; durations ("10%") stay strings for `to_steps`."""
    if isinstance(key, str):
        try:
            return float(key)
        except ValueError:
            return key
    return key


def _min_lr_ratio(name: str, cls: type[Schedule], kwargs: dict[str, Any]) -> None:
    """Replaces `min_lr_ratio` with `end_value = min_lr_ratio * peak` (levanter, MaxText)."""
    ratio = kwargs.pop("min_lr_ratio")
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    peak_name = next((n for n in ("peak_value", "init_value", "value") if n in kwargs), None)
    if "end_value" not in fields or peak_name is None:
        raise ValueError(
            f"min_lr_ratio needs a schedule with an end_value and a peak_value (or init_value), "
            f"which {name!r} with {sorted(kwargs)} is not"
        )
    if "end_value" in kwargs:
        raise ValueError(
            f"min_lr_ratio and end_value both set the end value; give one, got "
            f"min_lr_ratio={ratio!r} and end_value={kwargs['end_value']!r}"
        )
    check_finite("min_lr_ratio", ratio)
    check_computed(
        "min_lr_ratio", f"min_lr_ratio * {peak_name}", np.multiply, ratio, kwargs[peak_name]
    )
    kwargs["end_value"] = ratio * kwargs[peak_name]


def _cycle_ends(kwargs: dict[str, Any], run_steps: Any) -> None:
    """levanter's `cycles=n`: ends at `int(total_steps / n * (i + 1))`, the last at the total."""
    cycles = kwargs.pop("cycles")
    total = kwargs.pop("total_steps", run_steps)
    if "cycle_ends" in kwargs:
        raise ValueError("give cycles or cycle_ends, not both")
    if isinstance(cycles, bool) or not (isinstance(cycles, int) and cycles >= 1):
        raise ValueError(f"cycles must be a positive int, got cycles={cycles!r}")
    if total is None:
        raise ValueError("cycles needs total_steps (or run_steps) to place the cycles")
    check_positive("total_steps", total)
    kwargs["cycle_ends"] = [int(total / cycles * (i + 1)) for i in range(cycles - 1)] + [total]


# jaxsched's own names that build a combination of schedules rather than one class.
BUILDERS: dict[str, Callable[..., Schedule]] = {"sgdr": sgdr}


def get(
    name: str,
    /,
    *,
    run_steps: Any = None,
    steps_per_epoch: Any = None,
    **kwargs: Any,
) -> Schedule:
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
    takes `value`. `"sgdr"` takes optax's `cosine_kwargs`.

    Durations: every argument that counts steps (`*_steps`, `transition_begin`, `step_size*`,
    `milestones`, `boundaries`, `start_step`, `timescale`, `shift`, `step_offset`,
    `cycle_ends`, `noise_start`, `noise_end`, also inside `cosine_kwargs`) may be given as a
    number of steps, `"10%"` of `run_steps`, `"2 epochs"` (times `steps_per_epoch`),
    `"300 steps"`, or `{"fraction": 0.1}`, `{"epochs": 2}`, `{"steps": 300}`; converted values
    are rounded to the nearest step. These forms are JSON, so a trainer's `--schedule-args`
    can use them directly.

    `min_lr_ratio` (levanter's and MaxText's end value as a share of the peak) sets
    `end_value = min_lr_ratio * peak_value` (or `* init_value`) for any jaxsched schedule with
    an `end_value`; for the transformers `"warmup_stable_decay"` it keeps its transformers
    meaning. `"warmup_stable_decay_cycles"` also takes levanter's `cycles=n` with
    `total_steps` (default `run_steps`) in place of `cycle_ends`. A nested schedule (in
    `cooldown`, `warmup`, `join`, ...) may be a config dict with a `"name"`, itself built by
    `get` with the same `run_steps` and `steps_per_epoch`.

    Args:
      name: a schedule name.
      run_steps: the run's number of updates, for durations given as a share of the run.
      steps_per_epoch: updates per epoch, for durations given in epochs.
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
      >>> schedule = jaxsched.get("warmup_cosine_decay", init_value=0.0, peak_value=1.0,
      ...     warmup_steps="10%", decay_steps="2 epochs", min_lr_ratio=0.1,
      ...     run_steps=1000, steps_per_epoch=500)
      >>> print(schedule.warmup_steps, schedule.decay_steps, schedule.end_value)
      100.0 1000.0 0.1
    """
    kwargs = {k: _convert(k, v, run_steps, steps_per_epoch) for k, v in kwargs.items()}
    transformers_style = name in TRANSFORMERS_NAMES and (
        name not in REGISTRY or any(k in kwargs for k in _TRANSFORMERS_MARKERS)
    )
    if transformers_style:
        builder: Callable[..., Schedule] = TRANSFORMERS_NAMES[name]
    elif name in BUILDERS:
        builder = BUILDERS[name]
    elif name in REGISTRY:
        builder = REGISTRY[name]
        if name == "warmup_stable_decay_cycles" and "cycles" in kwargs:
            _cycle_ends(kwargs, run_steps)
        if "min_lr_ratio" in kwargs:
            _min_lr_ratio(name, REGISTRY[name], kwargs)
    else:
        known = sorted(set(REGISTRY) | set(TRANSFORMERS_NAMES) | set(BUILDERS))
        raise ValueError(f"name={name!r} is not a known schedule; known names: {known}")
    try:
        return builder(**kwargs)
    except TypeError as e:
        raise ValueError(f"bad arguments for {name!r}: {e}") from None
