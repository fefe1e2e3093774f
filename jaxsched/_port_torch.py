"""PyTorch's schedulers by their class names, with torch's arguments (`jaxsched.get`).

Each builder takes the scheduler's own keyword arguments and `lr`, the learning rate the
optimizer was built with (torch reads it from the optimizer; jaxsched has no optimizer to read
it from). `OneCycleLR` and `CyclicLR` set their own learning rates and take no `lr`. The
values are torch's `optimizer.param_groups[0]["lr"]` before update `t`, step for step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from jaxsched._combine import Join, Product
from jaxsched._cooldown import Swa
from jaxsched._cosine import CosineDecay, CosineRestarts
from jaxsched._cyclic import Cyclic, OneCycle
from jaxsched._exponential import ExponentialDecay
from jaxsched._function import LambdaSchedule, Multiplicative
from jaxsched._plateau import ReduceOnPlateau
from jaxsched._polynomial import Linear, PolynomialDecay
from jaxsched._schedule import Schedule
from jaxsched._step import ConstantFactor, MultistepDecay, StepDecay


def step_lr(lr: Any, step_size: Any, gamma: Any = 0.1) -> Schedule:
    return StepDecay(lr, step_size, gamma)


def multi_step_lr(lr: Any, milestones: Any, gamma: Any = 0.1) -> Schedule:
    return MultistepDecay(lr, milestones, gamma)


def constant_lr(lr: Any, factor: Any = 1.0 / 3, total_iters: Any = 5) -> Schedule:
    return ConstantFactor(lr, factor, total_iters)


def linear_lr(
    lr: Any, start_factor: Any = 1.0 / 3, end_factor: Any = 1.0, total_iters: Any = 5
) -> Schedule:
    return Linear(lr * start_factor, lr * end_factor, total_iters)


def exponential_lr(lr: Any, gamma: Any) -> Schedule:
    return ExponentialDecay(lr, gamma)


def polynomial_lr(lr: Any, total_iters: Any = 5, power: Any = 1.0) -> Schedule:
    return PolynomialDecay(lr, 0.0, total_iters, power)


def cosine_annealing_lr(lr: Any, T_max: Any, eta_min: Any = 0.0) -> Schedule:  # noqa: N803
    return CosineDecay(lr, T_max, eta_min)


def cosine_annealing_warm_restarts(
    lr: Any,
    T_0: Any,  # noqa: N803
    T_mult: Any = 1,  # noqa: N803
    eta_min: Any = 0.0,
) -> Schedule:
    return CosineRestarts(lr, T_0, T_mult, end_value=eta_min)


def cyclic_lr(
    base_lr: Any,
    max_lr: Any,
    step_size_up: Any = 2000,
    step_size_down: Any = None,
    mode: str = "triangular",
    gamma: Any = 1.0,
    scale_fn: Any = None,
    scale_mode: str = "cycle",
    cycle_momentum: bool = True,
    base_momentum: Any = 0.8,
    max_momentum: Any = 0.9,
) -> Schedule:
    # The momentum arguments only shape the momentum, which is
    # `cyclic(max_momentum, base_momentum, ...)`; the learning rate ignores them, as torch's.
    del cycle_momentum, base_momentum, max_momentum
    return Cyclic(base_lr, max_lr, step_size_up, step_size_down, mode, gamma, scale_fn, scale_mode)


def one_cycle_lr(
    max_lr: Any,
    total_steps: Any = None,
    epochs: Any = None,
    steps_per_epoch: Any = None,
    pct_start: Any = 0.3,
    anneal_strategy: str = "cos",
    cycle_momentum: bool = True,
    base_momentum: Any = 0.85,
    max_momentum: Any = 0.95,
    div_factor: Any = 25.0,
    final_div_factor: Any = 1e4,
    three_phase: bool = False,
) -> Schedule:
    # The momentum is `one_cycle_momentum(total_steps, base_momentum, max_momentum, ...)`.
    del cycle_momentum, base_momentum, max_momentum
    if total_steps is None:
        if epochs is None or steps_per_epoch is None:
            raise ValueError(
                "OneCycleLR needs total_steps, or epochs and steps_per_epoch, got "
                f"total_steps=None, epochs={epochs!r}, steps_per_epoch={steps_per_epoch!r}"
            )
        total_steps = epochs * steps_per_epoch
    return OneCycle(
        max_lr, total_steps, pct_start, div_factor, final_div_factor, anneal_strategy, three_phase
    )


def lambda_lr(lr: Any, lr_lambda: Any) -> Schedule:
    return LambdaSchedule(lr_lambda, lr)


def multiplicative_lr(lr: Any, lr_lambda: Any, max_steps: Any = None) -> Schedule:
    if max_steps is None:
        raise ValueError(
            "MultiplicativeLR needs max_steps, jaxsched's own argument: torch multiplies for "
            "ever, jaxsched tabulates the products up to max_steps and then holds"
        )
    return Multiplicative(lr_lambda, max_steps, lr)


def swalr(lr: Any, swa_lr: Any, anneal_epochs: Any = 10, anneal_strategy: str = "cos") -> Schedule:
    return Swa(lr, swa_lr, anneal_epochs, anneal_strategy)


def reduce_lr_on_plateau(
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
    return ReduceOnPlateau(
        init_value=lr,
        factor=factor,
        patience=patience,
        threshold=threshold,
        threshold_mode=threshold_mode,
        mode=mode,
        cooldown=cooldown,
        min_value=min_lr,
        eps=eps,
    )


# Schedulers whose recursive (chainable) form multiplies the learning rate by a factor of the
# step alone, so that a chain of them is the product of their factors.
_CHAINABLE = ("StepLR", "MultiStepLR", "ExponentialLR", "ConstantLR", "LinearLR", "PolynomialLR")


def _configs(name: str, schedulers: Any, allowed: Sequence[str]) -> list[tuple[str, dict]]:
    """The nested scheduler configs of `SequentialLR` or `ChainedScheduler`, checked."""
    if isinstance(schedulers, (str, Mapping)) or not isinstance(schedulers, Sequence):
        raise ValueError(
            f"{name}'s schedulers must be a list of scheduler configs, got "
            f"schedulers={schedulers!r}"
        )
    configs = []
    for i, config in enumerate(schedulers):
        child = config.get("name") if isinstance(config, Mapping) else None
        if child not in allowed:
            raise ValueError(
                f"{name}'s schedulers[{i}] must be a config dict naming one of {list(allowed)}, "
                f"got {config!r}; compose other schedules with jaxsched.join or jaxsched.product"
            )
        if "lr" in config:
            raise ValueError(f"give lr once, to {name}, not in schedulers[{i}]: {config!r}")
        configs.append((str(child), {k: v for k, v in config.items() if k != "name"}))
    if not configs:
        raise ValueError(f"{name}'s schedulers must hold at least one scheduler")
    return configs


def sequential_lr(lr: Any, schedulers: Any, milestones: Any, *, build: Any) -> Schedule:
    # Schedulers that set the optimizer's learning rate when built (OneCycleLR, CyclicLR)
    # give torch values that depend on the order they were built in: not ported.
    allowed = (*_CHAINABLE, "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "LambdaLR",
               "MultiplicativeLR", "SWALR")  # fmt: skip
    configs = _configs("SequentialLR", schedulers, allowed)
    return Join(tuple(build(name, lr=lr, **kwargs) for name, kwargs in configs), milestones)


def chained_scheduler(lr: Any, schedulers: Any, *, build: Any) -> Schedule:
    # The first factor carries lr, the others are multipliers (built with lr 1).
    configs = _configs("ChainedScheduler", schedulers, _CHAINABLE)
    factors = [build(name, lr=lr if i == 0 else 1.0, **kw) for i, (name, kw) in enumerate(configs)]
    return factors[0] if len(factors) == 1 else Product(tuple(factors))


TORCH: dict[str, Callable[..., Any]] = {
    "StepLR": step_lr,
    "MultiStepLR": multi_step_lr,
    "ConstantLR": constant_lr,
    "LinearLR": linear_lr,
    "ExponentialLR": exponential_lr,
    "PolynomialLR": polynomial_lr,
    "CosineAnnealingLR": cosine_annealing_lr,
    "CosineAnnealingWarmRestarts": cosine_annealing_warm_restarts,
    "CyclicLR": cyclic_lr,
    "OneCycleLR": one_cycle_lr,
    "LambdaLR": lambda_lr,
    "MultiplicativeLR": multiplicative_lr,
    "SWALR": swalr,
    "ReduceLROnPlateau": reduce_lr_on_plateau,
    "SequentialLR": sequential_lr,
    "ChainedScheduler": chained_scheduler,
}
