"""timm's schedulers: `create_scheduler_v2(sched=...)` and its scheduler classes by name.

Each builder takes timm's keyword arguments and `lr`, the learning rate the optimizer was
built with (timm's `base_values`). The schedule's step is timm's `t`: the epoch passed to
`scheduler.step(epoch)` (timm's default, `step_on_epochs=True`), or the update count passed
to `scheduler.step_update(num_updates)` (`step_on_epochs=False`, with `updates_per_epoch`).
`t_in_epochs` and `initialize` change neither and are accepted. timm's noise
(`noise_range_t`, ...) becomes `jaxsched.noise`: the same distribution, not the same draws.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jaxsched._checks import as_tuple, is_concrete
from jaxsched._combine import Product, Warmup
from jaxsched._constant import Constant
from jaxsched._cosine import CosineRestarts
from jaxsched._exponential import InverseSqrt
from jaxsched._noise import Noise
from jaxsched._plateau import ReduceOnPlateau
from jaxsched._polynomial import PolynomialDecay
from jaxsched._schedule import Schedule
from jaxsched._step import MultistepDecay, StepDecay
from jaxsched._tanh import TanhDecay
from jaxsched._wsd import WarmupStableDecay

_SHAPES = ("linear", "cosine", "1-sqrt")


def _noisy(
    schedule: Schedule,
    noise_range_t: Any = None,
    noise_pct: Any = 0.67,
    noise_std: Any = 1.0,
    noise_seed: Any = 42,
    noise_type: str = "normal",
) -> Schedule:
    """timm's noise: from `noise_range_t` on (a number), or within it (a pair)."""
    if noise_range_t is None:
        return schedule
    if isinstance(noise_range_t, (list, tuple)):
        start, end = noise_range_t
    else:
        start, end = noise_range_t, None
    seed = 42 if noise_seed is None else noise_seed
    return Noise(schedule, start, end, noise_pct, noise_std, noise_type, seed)


def _warmup(schedule: Schedule, warmup_t: Any, warmup_lr_init: Any, prefix: bool) -> Schedule:
    if is_concrete(warmup_t) and warmup_t == 0:
        return schedule
    return Warmup(schedule, warmup_t, warmup_lr_init, prefix=prefix)


def _one_cycle(name: str, cycle_limit: Any) -> None:
    if cycle_limit != 1:
        raise ValueError(
            f"{name} with cycle_limit={cycle_limit!r}: only one cycle has a jaxsched equivalent "
            "(timm restarts the curve); restarts are CosineLRScheduler's (cosine_restarts)"
        )


def cosine_lr_scheduler(
    lr: Any, t_initial: Any, lr_min: Any = 0.0, cycle_mul: Any = 1.0, cycle_decay: Any = 1.0,
    cycle_limit: Any = 1, warmup_t: Any = 0, warmup_lr_init: Any = 0.0,
    warmup_prefix: bool = False, t_in_epochs: bool = True, noise_range_t: Any = None,
    noise_pct: Any = 0.67, noise_std: Any = 1.0, noise_seed: Any = 42, k_decay: Any = 1.0,
    initialize: bool = True,
) -> Schedule:  # fmt: skip
    del t_in_epochs, initialize
    restarts = CosineRestarts(lr, t_initial, cycle_mul, end_value=lr_min, cycle_limit=cycle_limit,
                              cycle_decay=cycle_decay, k_decay=k_decay)  # fmt: skip
    schedule = _warmup(restarts, warmup_t, warmup_lr_init, warmup_prefix)
    return _noisy(schedule, noise_range_t, noise_pct, noise_std, noise_seed)


def tanh_lr_scheduler(
    lr: Any, t_initial: Any, lb: Any = -7.0, ub: Any = 3.0, lr_min: Any = 0.0,
    cycle_mul: Any = 1.0, cycle_decay: Any = 1.0, cycle_limit: Any = 1, warmup_t: Any = 0,
    warmup_lr_init: Any = 0.0, warmup_prefix: bool = False, t_in_epochs: bool = True,
    noise_range_t: Any = None, noise_pct: Any = 0.67, noise_std: Any = 1.0,
    noise_seed: Any = 42, initialize: bool = True,
) -> Schedule:  # fmt: skip
    del cycle_mul, cycle_decay, t_in_epochs, initialize  # one cycle: neither applies
    _one_cycle("TanhLRScheduler", cycle_limit)
    tanh = TanhDecay(lr, lr_min, t_initial, lb, ub)
    # timm's tanh warmup (unlike its others) heads for the value where the warmup ends.
    schedule: Schedule = tanh
    if not (is_concrete(warmup_t) and warmup_t == 0):
        schedule = Warmup(tanh, warmup_t, warmup_lr_init, prefix=warmup_prefix, continuous=True)
    return _noisy(schedule, noise_range_t, noise_pct, noise_std, noise_seed)


def step_lr_scheduler(
    lr: Any, decay_t: Any, decay_rate: Any = 1.0, warmup_t: Any = 0, warmup_lr_init: Any = 0.0,
    warmup_prefix: bool = True, t_in_epochs: bool = True, noise_range_t: Any = None,
    noise_pct: Any = 0.67, noise_std: Any = 1.0, noise_seed: Any = 42, initialize: bool = True,
) -> Schedule:  # fmt: skip
    del t_in_epochs, initialize
    schedule = _warmup(StepDecay(lr, decay_t, decay_rate), warmup_t, warmup_lr_init, warmup_prefix)
    return _noisy(schedule, noise_range_t, noise_pct, noise_std, noise_seed)


def multi_step_lr_scheduler(
    lr: Any, decay_t: Any, decay_rate: Any = 1.0, warmup_t: Any = 0, warmup_lr_init: Any = 0.0,
    warmup_prefix: bool = True, t_in_epochs: bool = True, noise_range_t: Any = None,
    noise_pct: Any = 0.67, noise_std: Any = 1.0, noise_seed: Any = 42, initialize: bool = True,
) -> Schedule:  # fmt: skip
    del t_in_epochs, initialize
    milestones = as_tuple("decay_t", decay_t)
    if all(is_concrete(m) for m in milestones) and list(milestones) != sorted(milestones):
        raise ValueError(f"decay_t must be sorted (timm bisects it), got decay_t={decay_t!r}")
    # timm decays one step early: milestone m applies from t = m - 1 (bisect of t + 1).
    early = tuple(max(m - 1, 0) for m in milestones)
    decay = MultistepDecay(lr, early, decay_rate)
    schedule = _warmup(decay, warmup_t, warmup_lr_init, warmup_prefix)
    return _noisy(schedule, noise_range_t, noise_pct, noise_std, noise_seed)


def poly_lr_scheduler(
    lr: Any, t_initial: Any, power: Any = 0.5, lr_min: Any = 0.0, cycle_mul: Any = 1.0,
    cycle_decay: Any = 1.0, cycle_limit: Any = 1, warmup_t: Any = 0, warmup_lr_init: Any = 0.0,
    warmup_prefix: bool = False, t_in_epochs: bool = True, noise_range_t: Any = None,
    noise_pct: Any = 0.67, noise_std: Any = 1.0, noise_seed: Any = 42, k_decay: Any = 1.0,
    initialize: bool = True,
) -> Schedule:  # fmt: skip
    del cycle_mul, cycle_decay, t_in_epochs, initialize
    _one_cycle("PolyLRScheduler", cycle_limit)
    poly = PolynomialDecay(lr, lr_min, t_initial, power, k_decay=k_decay)
    schedule = _warmup(poly, warmup_t, warmup_lr_init, warmup_prefix)
    return _noisy(schedule, noise_range_t, noise_pct, noise_std, noise_seed)


def wsd_lr_scheduler(
    lr: Any, t_initial: Any, decay_t: Any, lr_min: Any = 0.0, stable_fn: str = "constant",
    stable_timescale: Any = None, stable_power: Any = 0.5, decay_fn: str = "1-sqrt",
    decay_power: Any = 0.5, decay_ratio: Any = 0.1, warmup_t: Any = 0,
    warmup_lr_init: Any = 0.0, t_in_epochs: bool = True, noise_range_t: Any = None,
    noise_pct: Any = 0.67, noise_std: Any = 1.0, noise_seed: Any = 42, initialize: bool = True,
) -> Schedule:  # fmt: skip
    del decay_power, decay_ratio, t_in_epochs, initialize  # for decay_fn "power" and "exp"
    if decay_fn not in _SHAPES:
        raise ValueError(
            f"decay_fn must be one of {_SHAPES} to have a jaxsched equivalent, got "
            f"decay_fn={decay_fn!r}"
        )
    total = warmup_t + t_initial
    if stable_fn == "constant":
        schedule: Schedule = WarmupStableDecay(lr, total, warmup_t, decay_t, warmup_lr_init, lr_min,
                                               decay_shape=decay_fn)  # fmt: skip
    elif stable_fn == "rsqrt" and is_concrete(lr_min) and lr_min == 0:
        # The decay multiplies the still-decaying rsqrt value: a product, exact for lr_min=0.
        timescale = warmup_t if stable_timescale is None else stable_timescale
        stable = _warmup(InverseSqrt(lr, 0.0, timescale), warmup_t, warmup_lr_init, True)
        factor = WarmupStableDecay(1.0, total, 0.0, decay_t, 1.0, 0.0, decay_shape=decay_fn)
        schedule = Product((stable, factor))
    else:
        raise ValueError(
            f"stable_fn={stable_fn!r} with lr_min={lr_min!r} has no jaxsched equivalent; "
            "'constant' has, and 'rsqrt' with lr_min=0"
        )
    del stable_power
    return _noisy(schedule, noise_range_t, noise_pct, noise_std, noise_seed)


def plateau_lr_scheduler(
    lr: Any, decay_rate: Any = 0.1, patience_t: Any = 10, threshold: Any = 1e-4,
    cooldown_t: Any = 0, warmup_t: Any = 0, warmup_lr_init: Any = 0.0, lr_min: Any = 0.0,
    mode: str = "max", noise_range_t: Any = None, noise_type: str = "normal",
    noise_pct: Any = 0.67, noise_std: Any = 1.0, noise_seed: Any = None,
    initialize: bool = True,
) -> ReduceOnPlateau:  # fmt: skip
    del warmup_lr_init, noise_type, noise_pct, noise_std, noise_seed, initialize
    if warmup_t != 0 or noise_range_t is not None:
        raise ValueError(
            "PlateauLRScheduler with a warmup or noise has no jaxsched equivalent (timm "
            "deprecates it); with warmup_t=0 and no noise it is jaxsched.reduce_on_plateau, "
            f"got warmup_t={warmup_t!r}, noise_range_t={noise_range_t!r}"
        )
    return ReduceOnPlateau(lr, decay_rate, patience_t, threshold, "rel", mode, cooldown_t, lr_min)


CLASSES: dict[str, Callable[..., Any]] = {
    "CosineLRScheduler": cosine_lr_scheduler,
    "TanhLRScheduler": tanh_lr_scheduler,
    "StepLRScheduler": step_lr_scheduler,
    "MultiStepLRScheduler": multi_step_lr_scheduler,
    "PolyLRScheduler": poly_lr_scheduler,
    "WSDLRScheduler": wsd_lr_scheduler,
    "PlateauLRScheduler": plateau_lr_scheduler,
}


def _in_updates(value: Any, step_on_epochs: bool, updates_per_epoch: Any) -> Any:
    """An epoch count in timm's `t`: epochs, or updates when not stepping on epochs."""
    if value is None or step_on_epochs:
        return value
    if isinstance(value, (list, tuple)):
        return [v * updates_per_epoch for v in value]
    return value * updates_per_epoch


def _wsd_decay_t(decay_epochs: Any, decay_t: Any, t_sched: Any) -> int:
    """timm's WSD decay length: a share of the stable + decay length below 1, rounded."""
    if 0 < decay_epochs < 1:
        decay_t = decay_epochs * t_sched
    decay_t = round(float(decay_t))  # Python's round, as timm: halves to even
    if not 0 < decay_t <= t_sched:
        raise ValueError(
            f"decay_epochs={decay_epochs!r} gives a decay of {decay_t} steps, which must be in "
            f"(0, {t_sched}] (the stable + decay length)"
        )
    return decay_t


def create_scheduler_v2(
    lr: Any, sched: str = "cosine", num_epochs: Any = 300, decay_epochs: Any = None,
    decay_milestones: Any = (90, 180, 270), cooldown_epochs: Any = 0, patience_epochs: Any = 10,
    decay_rate: Any = 0.1, min_lr: Any = 0.0, warmup_lr: Any = 1e-5, warmup_epochs: Any = 0,
    warmup_prefix: bool = False, noise: Any = None, noise_pct: Any = 0.67, noise_std: Any = 1.0,
    noise_seed: Any = 42, cycle_mul: Any = 1.0, cycle_decay: Any = 0.1, cycle_limit: Any = 1,
    k_decay: Any = 1.0, decay_fn: Any = None, stable_timescale: Any = None,
    plateau_mode: str = "max", step_on_epochs: bool = True, updates_per_epoch: Any = 0,
) -> Schedule:  # fmt: skip
    # cooldown_epochs only lengthens the num_epochs timm returns: the schedule holds min_lr.
    del cooldown_epochs, patience_epochs, plateau_mode
    if sched == "plateau":
        raise ValueError(
            "sched='plateau' is stateful: use jaxsched.get('PlateauLRScheduler', "
            "lr=..., decay_rate=..., patience_t=..., lr_min=..., mode=...)"
        )
    if not step_on_epochs and not updates_per_epoch > 0:
        raise ValueError(
            "updates_per_epoch must be the number of updates per epoch when step_on_epochs is "
            f"False, got updates_per_epoch={updates_per_epoch!r}"
        )
    if decay_epochs is None:
        decay_epochs = 0.2 if sched in ("wsd", "rsqrt") else 90
    t_initial, warmup_t, decay_t, milestones, timescale = (
        _in_updates(v, step_on_epochs, updates_per_epoch)
        for v in (num_epochs, warmup_epochs, decay_epochs, list(decay_milestones), stable_timescale)
    )  # fmt: skip
    noise_range = None
    if noise is not None:
        noise_range = [n * t_initial for n in noise] if isinstance(noise, (list, tuple)) else (
            noise * t_initial)  # fmt: skip
        if isinstance(noise_range, list) and len(noise_range) == 1:
            noise_range = noise_range[0]
    noisy = dict(noise_range_t=noise_range, noise_pct=noise_pct, noise_std=noise_std,
                 noise_seed=noise_seed)  # fmt: skip
    warm = dict(warmup_t=warmup_t, warmup_lr_init=warmup_lr, warmup_prefix=warmup_prefix)
    cycles = dict(cycle_mul=cycle_mul, cycle_decay=cycle_decay, cycle_limit=cycle_limit)
    if sched == "cosine":
        return cosine_lr_scheduler(lr, t_initial, min_lr, k_decay=k_decay, **cycles, **warm,
                                   **noisy)  # fmt: skip
    if sched == "tanh":
        return tanh_lr_scheduler(lr, t_initial, lr_min=min_lr, **cycles, **warm, **noisy)
    if sched in ("step", "constant"):
        step, rate = (decay_t, decay_rate) if sched == "step" else (1, 1.0)
        return step_lr_scheduler(lr, step, rate, **warm, **noisy)
    if sched == "multistep":
        return multi_step_lr_scheduler(lr, milestones, decay_rate, **warm, **noisy)
    if sched == "poly":
        return poly_lr_scheduler(lr, t_initial, decay_rate, min_lr, k_decay=k_decay, **cycles,
                                 **warm, **noisy)  # fmt: skip
    if sched in ("wsd", "rsqrt"):
        t_sched = t_initial if warmup_prefix else t_initial - warmup_t
        return wsd_lr_scheduler(
            lr, t_sched, _wsd_decay_t(decay_epochs, decay_t, t_sched), min_lr,
            "rsqrt" if sched == "rsqrt" else "constant", timescale,
            decay_fn=decay_fn or ("linear" if sched == "rsqrt" else "1-sqrt"), warmup_t=warmup_t,
            warmup_lr_init=warmup_lr, **noisy,
        )  # fmt: skip
    if sched == "none":  # timm leaves the optimizer's learning rate alone
        return Constant(lr)
    raise ValueError(
        "sched must be one of 'cosine', 'tanh', 'step', 'constant', 'multistep', 'poly', "
        f"'wsd', 'rsqrt', 'none' ('plateau' has its own name), got sched={sched!r}"
    )


TIMM: dict[str, Callable[..., Any]] = {**CLASSES, "create_scheduler_v2": create_scheduler_v2}
