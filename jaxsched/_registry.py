"""Schedules by name: jaxsched's own, transformers' `SchedulerType` and the peers' names."""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any, Literal, overload

import jax.numpy as jnp
import numpy as np

from jaxsched._checks import check_computed, check_finite, check_positive
from jaxsched._config import REGISTRY
from jaxsched._cosine import sgdr
from jaxsched._plateau import ReduceOnPlateau
from jaxsched._port import PEERS, did_you_mean, parameters, resolve, unexpected
from jaxsched._port_transformers import SCHEDULER_TYPES
from jaxsched._schedule import Schedule

# Names shared with jaxsched's own schedules switch to the transformers meaning when one of
# these (transformers-only) arguments is given.
_TRANSFORMERS_MARKERS = ("num_warmup_steps", "num_training_steps")
# The names whose schedule is a state machine: `get` returns a `ReduceOnPlateau` for them.
PlateauName = Literal[
    "ReduceLROnPlateau",
    "reduce_lr_on_plateau",
    "get_reduce_on_plateau_schedule",
    "PlateauLRScheduler",
]


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
        "steps",
        "min_step",
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


def _check_arguments(
    name: str, builder: Callable[..., Any], kwargs: Mapping[str, Any], peer: str | None
) -> None:
    """ValueError for an argument `builder` does not take, or a required one left out."""
    params = parameters(builder)
    accepted = [p.name for p in params]
    takes_any = any(
        p.kind is inspect.Parameter.VAR_KEYWORD
        for p in inspect.signature(builder).parameters.values()
    )
    for key in kwargs:
        if key not in accepted and not takes_any:
            raise ValueError(unexpected(name, key, accepted, peer))
    missing = [
        p.name for p in params if p.default is inspect.Parameter.empty and p.name not in kwargs
    ]
    if missing:
        lr = " (lr: the learning rate the optimizer was built with)" if "lr" in missing else ""
        raise ValueError(f"bad arguments for {name!r}: missing {', '.join(missing)}{lr}")


def _build_peer(name: str, /, **kwargs: Any) -> Any:
    """A peer's scheduler from that library's arguments (no durations: the peer's numbers)."""
    found = resolve(name)
    if found is None:
        raise ValueError(f"name={name!r} is not a peer scheduler{did_you_mean(name, PEERS)}")
    library, bare, builder = found
    _check_arguments(bare, builder, kwargs, library)
    if "build" in inspect.signature(builder).parameters:  # SequentialLR, ChainedScheduler
        kwargs = {**kwargs, "build": _build_peer}
    return builder(**kwargs)


def _known_names() -> list[str]:
    return sorted(set(REGISTRY) | set(SCHEDULER_TYPES) | set(BUILDERS) | set(PEERS))


@overload
def get(
    name: PlateauName,
    /,
    *,
    run_steps: int | None = None,
    steps_per_epoch: int | None = None,
    **kwargs: Any,
) -> ReduceOnPlateau: ...


@overload
def get(
    name: str, /, *, run_steps: int | None = None, steps_per_epoch: int | None = None, **kwargs: Any
) -> Schedule: ...


def get(
    name: str,
    /,
    *,
    run_steps: int | None = None,
    steps_per_epoch: int | None = None,
    **kwargs: Any,
) -> Schedule | ReduceOnPlateau:
    """Builds a schedule from its name and keyword arguments, in jaxsched's or a peer's words.

    `name` is one of:

    - a jaxsched schedule (`"cosine_decay"`, `"one_cycle"`, ...), with the schedule's own
      arguments;
    - a Hugging Face transformers `SchedulerType` name (`"linear"`, `"cosine"`,
      `"cosine_with_restarts"`, `"polynomial"`, `"constant"`, `"constant_with_warmup"`,
      `"inverse_sqrt"`, `"reduce_lr_on_plateau"`, `"cosine_with_min_lr"`,
      `"cosine_warmup_with_min_lr"`, `"warmup_stable_decay"`; `"greedy"` is refused, with
      what to use instead), as `transformers.get_scheduler` takes it: `peak_value` (the
      optimizer's learning rate), `num_warmup_steps` and `num_training_steps` for every
      name (each ignoring the count it does not use, as transformers does), and the
      scheduler's own keywords. Where a name is also jaxsched's (`"linear"`,
      `"inverse_sqrt"`, `"warmup_stable_decay"`, `"constant"`), passing `num_warmup_steps`
      or `num_training_steps` selects the transformers meaning;
    - a peer's scheduler by its own name, with that library's keyword arguments: a PyTorch
      scheduler class (`"OneCycleLR"`, `"StepLR"`, `"ReduceLROnPlateau"`, ...), a Keras
      `LearningRateSchedule` class (`"CosineDecay"`, ...), a transformers `get_*` function
      (`"get_cosine_schedule_with_warmup"`, ...), a timm scheduler class
      (`"CosineLRScheduler"`, ...) or `"create_scheduler_v2"` with timm's `sched=`. The
      learning rate the optimizer was built with is `lr` (Keras schedules carry their own
      `initial_learning_rate`; `OneCycleLR` and `CyclicLR` set their own). A module path
      may be kept (`"torch.optim.lr_scheduler.StepLR"`). The values are the peer's, step
      for step, under its conventions; the porting page of the docs lists every name with
      its one-line call, each tested against the peer's recorded values.

    The plateau names (`"ReduceLROnPlateau"`, `"reduce_lr_on_plateau"`,
    `"get_reduce_on_plateau_schedule"`, `"PlateauLRScheduler"`) return a
    `jaxsched.ReduceOnPlateau`, whose value follows the metrics it is given.

    Durations: every argument of a jaxsched or `SchedulerType` name that counts steps
    (`*_steps`, `transition_begin`, `step_size*`, `milestones`, `boundaries`, `start_step`,
    `timescale`, `shift`, `step_offset`, `cycle_ends`, `noise_start`, `noise_end`, `steps`,
    `min_step`, also inside `cosine_kwargs`) may be given as a number of steps, `"10%"` of
    `run_steps`, `"2 epochs"` (times `steps_per_epoch`), `"300 steps"`, or
    `{"fraction": 0.1}`, `{"epochs": 2}`, `{"steps": 300}`; converted values are rounded to
    the nearest step. These forms are JSON, so a trainer's `--schedule-args` can use them
    directly. A peer's name takes the peer's own numbers; `run_steps` and `steps_per_epoch`
    do not change them (`OneCycleLR` reads `steps_per_epoch` as torch does). Keras' names
    (`"CosineDecay"`, `"ExponentialDecay"`, ...) are also the CamelCase names of jaxsched's
    classes; `get` reads them as Keras', with Keras' arguments.

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
      The schedule (a `ReduceOnPlateau` for the plateau names).

    Raises:
      ValueError: for an unknown name (with the closest known names), or a missing, unknown
        or invalid argument (an argument in a peer's words names jaxsched's: `max_lr` is
        `peak_value`).

    Examples:
      >>> import jaxsched
      >>> jaxsched.get("cosine_decay", init_value=0.1, decay_steps=100)
      cosine_decay(init_value=0.1, decay_steps=100.0, end_value=0.0, exponent=1.0)
      >>> schedule = jaxsched.get(
      ...     "linear", peak_value=1.0, num_warmup_steps=2, num_training_steps=6
      ... )
      >>> print(schedule(1), schedule(4))
      0.5 0.5
      >>> torch_recipe = jaxsched.get("OneCycleLR", max_lr=0.1, total_steps=1000, pct_start=0.25)
      >>> torch_recipe == jaxsched.one_cycle(0.1, 1000, pct_start=0.25)
      True
      >>> schedule = jaxsched.get("warmup_cosine_decay", init_value=0.0, peak_value=1.0,
      ...     warmup_steps="10%", decay_steps="2 epochs", min_lr_ratio=0.1,
      ...     run_steps=1000, steps_per_epoch=500)
      >>> print(schedule.warmup_steps, schedule.decay_steps, schedule.end_value)
      100.0 1000.0 0.1
    """
    if name not in REGISTRY and name not in SCHEDULER_TYPES and resolve(name) is not None:
        return _get_peer(name, steps_per_epoch, kwargs)
    kwargs = {k: _convert(k, v, run_steps, steps_per_epoch) for k, v in kwargs.items()}
    transformers_style = name in SCHEDULER_TYPES and (
        name not in REGISTRY or any(k in kwargs for k in _TRANSFORMERS_MARKERS)
    )
    if transformers_style:
        builder: Callable[..., Any] = SCHEDULER_TYPES[name]
    elif name in BUILDERS:
        builder = BUILDERS[name]
    elif name in REGISTRY:
        builder = REGISTRY[name]
        if name == "warmup_stable_decay_cycles" and "cycles" in kwargs:
            _cycle_ends(kwargs, run_steps)
        if "min_lr_ratio" in kwargs:
            _min_lr_ratio(name, REGISTRY[name], kwargs)
    else:
        hint = did_you_mean(name, _known_names()) or f"; known names: {_known_names()}"
        raise ValueError(f"name={name!r} is not a known schedule{hint}")
    _check_arguments(name, builder, kwargs, "transformers" if transformers_style else None)
    return builder(**kwargs)


def _get_peer(name: str, steps_per_epoch: Any, kwargs: dict[str, Any]) -> Any:
    """A peer's name: `run_steps` and `steps_per_epoch` are context for jaxsched's durations
    (a trainer passes them for every name); only `OneCycleLR` reads `steps_per_epoch`."""
    found = resolve(name)
    assert found is not None
    takes_steps_per_epoch = "steps_per_epoch" in inspect.signature(found[2]).parameters
    if steps_per_epoch is not None and takes_steps_per_epoch and "steps_per_epoch" not in kwargs:
        kwargs = {**kwargs, "steps_per_epoch": steps_per_epoch}
    return _build_peer(name, **kwargs)
