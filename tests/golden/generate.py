"""Generate golden parity sequences for jaxsched from the real reference libraries.

Every case calls one reference implementation (torch, transformers, keras, optax or timm),
records the value it produces at each step, and stores it next to the jaxsched config that is
meant to reproduce it. Run it from the repository root with a virtualenv that has
``torch==2.13.0 keras transformers timm optax`` installed, for example::

    /tmp/golden/bin/python tests/golden/generate.py

It writes ``tests/golden/golden.json`` and the porting table of ``docs/porting.md``
(``tests/port_table.py`` renders it from the port cases of ``generate_port.py``); with the same
library versions the output is byte-identical from run to run.

Each case has an ``id``, a human-readable ``reference`` call, the ``quantity`` recorded (``"lr"``
or ``"momentum"``), a ``config`` and ``values``. The config is either a jaxsched config dict
(``{"name": ..., <param>: <value>}``, for ``jaxsched.from_config``) or a registry call
(``{"get": <name>, "kwargs": {...}}``, for ``jaxsched.get``). ``values[i]`` is the value used by
the update at step ``steps[i]``; ``steps`` is written only when it is not ``0..len(values) - 1``.

How each library is sampled:

* torch and transformers: ``optimizer.param_groups[0][quantity]`` read before each
  ``optimizer.step(); scheduler.step()`` pair, so value ``t`` is the one update ``t`` uses.
* keras and optax: the schedule called on the step, in float64 (keras on its torch backend
  with ``floatx`` float64, because its numpy and jax backends compute in float32 whatever
  ``floatx`` says; optax with ``jax_enable_x64``).
* timm: the learning rate that ``scheduler.step(t)`` (``t_in_epochs=True``) puts in the
  optimizer, which is ``_get_lr(t)``.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import importlib.util
import json
import os
import sys
import types
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jax
import numpy as np
import optax
import torch
import transformers

OUTPUT = Path(__file__).with_name("golden.json")
# The functions that LambdaLR, MultiplicativeLR and CyclicLR's scale_fn cases use live in
# tests/reference.py, where the jaxsched configs import them from.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
BASE_LR = 0.1
# Step counts past int32 range, to check that closed-form schedules do not overflow.
HUGE_STEPS = [2**31 - 1, 2**31 + 5, 10**12]
REFERENCE_PACKAGES = ["torch", "keras", "optax", "transformers", "timm", "jax"]

Case = dict[str, Any]
Config = dict[str, Any]
Steps = Sequence[int]


def _kwargs_repr(kwargs: dict[str, Any]) -> str:
    """Formats keyword arguments as source text, e.g. ``step_size=3, gamma=0.5``.

    Args:
        kwargs: The keyword arguments, in call order.

    Returns:
        The arguments as they would be written in a Python call.
    """
    return ", ".join(f"{key}={value!r}" for key, value in kwargs.items())


def _call_repr(name: str, kwargs: dict[str, Any]) -> str:
    """Formats a call as source text, e.g. ``StepLR(step_size=3, gamma=0.5)``.

    Args:
        name: The dotted name of the callable.
        kwargs: The keyword arguments, in call order.

    Returns:
        The call as it would be written in Python.
    """
    return f"{name}({_kwargs_repr(kwargs)})"


def _case(
    case_id: str,
    reference: str,
    config: Config,
    steps: Steps,
    values: Sequence[float],
    quantity: str = "lr",
) -> Case:
    """Assembles one golden case in the JSON layout.

    Args:
        case_id: A unique, descriptive identifier.
        reference: The reference call that produced the values.
        config: The jaxsched config (or registry call) expected to reproduce them.
        steps: The step numbers at which the values were taken.
        values: The reference values, one per step.
        quantity: What was recorded, ``"lr"`` or ``"momentum"``.

    Returns:
        The case as a JSON-ready dict.
    """
    steps = list(steps)
    case: Case = {"id": case_id, "reference": reference, "quantity": quantity, "config": config}
    if steps != list(range(len(steps))):
        case["steps"] = steps
    case["values"] = [float(value) for value in values]
    return case


def _record_torch(
    make_scheduler: Callable[[torch.optim.Optimizer], Any],
    base_lr: float,
    steps: Steps,
    quantity: str = "lr",
) -> list[float]:
    """Drives a torch scheduler the way a training loop does and records a hyperparameter.

    Args:
        make_scheduler: Builds the scheduler around the optimizer it is given.
        base_lr: The learning rate the SGD optimizer is created with.
        steps: Increasing update counts at which to record.
        quantity: The param-group entry to record, ``"lr"`` or ``"momentum"``.

    Returns:
        For each step ``t``, ``param_groups[0][quantity]`` as used by update ``t``.
    """
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=base_lr, momentum=0.9)
    values = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler = make_scheduler(optimizer)
        count = 0
        for step in steps:
            while count < step:
                optimizer.step()
                scheduler.step()
                count += 1
            values.append(optimizer.param_groups[0][quantity])
    return values


def _formula_case(
    module: types.ModuleType,
    case_id: str,
    factory: str,
    kwargs: dict[str, Any],
    config: Config,
    steps: Steps,
) -> Case:
    """Builds a case from a stateless schedule (keras or optax) called on each step.

    Args:
        module: The module that holds the schedule factory.
        case_id: A unique, descriptive identifier.
        factory: The factory's name in ``module``.
        kwargs: The factory's keyword arguments.
        config: The jaxsched config expected to reproduce the schedule.
        steps: The steps at which to call the schedule.

    Returns:
        The golden case.

    Raises:
        TypeError: If the schedule did not compute in float64.
    """
    schedule = getattr(module, factory)(**kwargs)
    values = []
    for step in steps:
        value = np.asarray(schedule(step))
        if value.dtype != np.float64:
            raise TypeError(f"{case_id}: {module.__name__}.{factory} returned {value.dtype}")
        values.append(value)
    reference = _call_repr(f"{module.__name__}.{factory}", kwargs)
    return _case(case_id, reference, config, steps, values)


def _torch_case(
    case_id: str,
    scheduler: str,
    kwargs: dict[str, Any],
    config: Config,
    steps: Steps,
    quantity: str = "lr",
) -> Case:
    """Builds a case from a ``torch.optim.lr_scheduler`` class on an SGD optimizer at BASE_LR.

    Args:
        case_id: A unique, descriptive identifier.
        scheduler: The scheduler class name in ``torch.optim.lr_scheduler``.
        kwargs: The scheduler's keyword arguments (besides the optimizer).
        config: The jaxsched config expected to reproduce it.
        steps: Increasing steps at which to record.
        quantity: The param-group entry to record, ``"lr"`` or ``"momentum"``.

    Returns:
        The golden case.
    """
    scheduler_cls = getattr(torch.optim.lr_scheduler, scheduler)
    values = _record_torch(lambda opt: scheduler_cls(opt, **kwargs), BASE_LR, steps, quantity)
    reference = f"{_call_repr(f'torch.optim.lr_scheduler.{scheduler}', kwargs)}, base lr {BASE_LR}"
    return _case(case_id, reference, config, steps, values, quantity)


def torch_cases() -> list[Case]:
    """Golden cases for the ``torch.optim.lr_scheduler`` classes (base lr 0.1).

    Returns:
        The torch cases.
    """
    c = _torch_case
    init = BASE_LR
    return [
        # StepLR -> step_decay.
        c("torch_steplr_basic", "StepLR", {"step_size": 3, "gamma": 0.5},
          {"name": "step_decay", "init_value": init, "step_size": 3, "decay_rate": 0.5},
          range(20)),
        c("torch_steplr_step_size_1", "StepLR", {"step_size": 1, "gamma": 0.9},
          {"name": "step_decay", "init_value": init, "step_size": 1, "decay_rate": 0.9},
          range(30)),
        c("torch_steplr_default_gamma", "StepLR", {"step_size": 5},
          {"name": "step_decay", "init_value": init, "step_size": 5}, range(26)),
        # MultiStepLR -> multistep_decay; torch counts a repeated milestone once per repeat.
        c("torch_multisteplr_basic", "MultiStepLR", {"milestones": [5, 10, 15], "gamma": 0.5},
          {"name": "multistep_decay", "init_value": init, "milestones": [5, 10, 15],
           "decay_rate": 0.5}, range(25)),
        c("torch_multisteplr_unsorted", "MultiStepLR", {"milestones": [12, 3, 7], "gamma": 0.3},
          {"name": "multistep_decay", "init_value": init, "milestones": [12, 3, 7],
           "decay_rate": 0.3}, range(20)),
        c("torch_multisteplr_duplicate", "MultiStepLR", {"milestones": [4, 4, 9], "gamma": 0.5},
          {"name": "multistep_decay", "init_value": init, "milestones": [4, 4, 9],
           "decay_rate": 0.5}, range(15)),
        c("torch_multisteplr_milestone_zero", "MultiStepLR", {"milestones": [0, 6], "gamma": 0.5},
          {"name": "multistep_decay", "init_value": init, "milestones": [0, 6],
           "decay_rate": 0.5}, range(10)),
        c("torch_multisteplr_default_gamma", "MultiStepLR", {"milestones": [2, 5]},
          {"name": "multistep_decay", "init_value": init, "milestones": [2, 5]}, range(8)),
        # ExponentialLR -> exponential_decay with transition_steps=1.
        c("torch_exponentiallr_decay", "ExponentialLR", {"gamma": 0.9},
          {"name": "exponential_decay", "init_value": init, "decay_rate": 0.9}, range(40)),
        c("torch_exponentiallr_growth", "ExponentialLR", {"gamma": 1.05},
          {"name": "exponential_decay", "init_value": init, "decay_rate": 1.05}, range(20)),
        # LinearLR -> linear with init = base * start_factor, end = base * end_factor.
        c("torch_linearlr_warmup", "LinearLR",
          {"start_factor": 0.25, "end_factor": 1.0, "total_iters": 8},
          {"name": "linear", "init_value": 0.025, "end_value": init, "transition_steps": 8},
          range(15)),
        c("torch_linearlr_decay", "LinearLR",
          {"start_factor": 1.0, "end_factor": 0.1, "total_iters": 10},
          {"name": "linear", "init_value": init, "end_value": 0.01, "transition_steps": 10},
          range(16)),
        c("torch_linearlr_to_zero", "LinearLR",
          {"start_factor": 0.5, "end_factor": 0.0, "total_iters": 6},
          {"name": "linear", "init_value": 0.05, "end_value": 0.0, "transition_steps": 6},
          range(10)),
        c("torch_linearlr_defaults", "LinearLR", {},
          {"name": "linear", "init_value": init / 3, "end_value": init, "transition_steps": 5},
          range(9)),
        # PolynomialLR -> polynomial_decay with end_value 0.
        c("torch_polynomiallr_power1", "PolynomialLR", {"total_iters": 10, "power": 1.0},
          {"name": "polynomial_decay", "init_value": init, "end_value": 0.0, "decay_steps": 10,
           "power": 1.0}, range(15)),
        c("torch_polynomiallr_power2", "PolynomialLR", {"total_iters": 12, "power": 2.0},
          {"name": "polynomial_decay", "init_value": init, "end_value": 0.0, "decay_steps": 12,
           "power": 2.0}, range(18)),
        c("torch_polynomiallr_power_half", "PolynomialLR", {"total_iters": 7, "power": 0.5},
          {"name": "polynomial_decay", "init_value": init, "end_value": 0.0, "decay_steps": 7,
           "power": 0.5}, range(10)),
        c("torch_polynomiallr_defaults", "PolynomialLR", {},
          {"name": "polynomial_decay", "init_value": init, "end_value": 0.0, "decay_steps": 5},
          range(8)),
        # ConstantLR -> piecewise_constant switching to the base lr at total_iters.
        c("torch_constantlr", "ConstantLR", {"factor": 0.5, "total_iters": 4},
          {"name": "piecewise_constant", "boundaries": [4], "values": [0.05, init]}, range(10)),
        # CosineAnnealingLR -> cosine_decay, recorded up to T_max only (torch rises again after).
        c("torch_cosineannealinglr_basic", "CosineAnnealingLR", {"T_max": 10},
          {"name": "cosine_decay", "init_value": init, "decay_steps": 10}, range(11)),
        c("torch_cosineannealinglr_eta_min", "CosineAnnealingLR", {"T_max": 25, "eta_min": 0.01},
          {"name": "cosine_decay", "init_value": init, "decay_steps": 25, "end_value": 0.01},
          range(26)),
        c("torch_cosineannealinglr_odd", "CosineAnnealingLR", {"T_max": 7, "eta_min": 0.02},
          {"name": "cosine_decay", "init_value": init, "decay_steps": 7, "end_value": 0.02},
          range(8)),
        c("torch_cosineannealinglr_t_max_1", "CosineAnnealingLR", {"T_max": 1},
          {"name": "cosine_decay", "init_value": init, "decay_steps": 1}, range(2)),
        # CosineAnnealingWarmRestarts -> cosine_restarts (m_mul 1, end_value = eta_min).
        c("torch_warmrestarts_t0_5", "CosineAnnealingWarmRestarts", {"T_0": 5},
          {"name": "cosine_restarts", "init_value": init, "first_decay_steps": 5}, range(23)),
        c("torch_warmrestarts_eta_min", "CosineAnnealingWarmRestarts",
          {"T_0": 4, "T_mult": 1, "eta_min": 0.01},
          {"name": "cosine_restarts", "init_value": init, "first_decay_steps": 4, "t_mul": 1.0,
           "end_value": 0.01}, range(30)),
        c("torch_warmrestarts_t_mult_2", "CosineAnnealingWarmRestarts",
          {"T_0": 3, "T_mult": 2, "eta_min": 0.001},
          {"name": "cosine_restarts", "init_value": init, "first_decay_steps": 3, "t_mul": 2.0,
           "end_value": 0.001}, range(50)),
        c("torch_warmrestarts_t_mult_3", "CosineAnnealingWarmRestarts", {"T_0": 2, "T_mult": 3},
          {"name": "cosine_restarts", "init_value": init, "first_decay_steps": 2, "t_mul": 3.0},
          range(60)),
        c("torch_warmrestarts_t0_1", "CosineAnnealingWarmRestarts", {"T_0": 1},
          {"name": "cosine_restarts", "init_value": init, "first_decay_steps": 1}, range(6)),
        # CyclicLR -> cyclic.
        c("torch_cycliclr_triangular", "CyclicLR",
          {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4, "cycle_momentum": False},
          {"name": "cyclic", "base_value": 0.01, "max_value": 0.1, "step_size_up": 4},
          range(30)),
        c("torch_cycliclr_triangular_asymmetric", "CyclicLR",
          {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 3, "step_size_down": 7,
           "cycle_momentum": False},
          {"name": "cyclic", "base_value": 0.01, "max_value": 0.1, "step_size_up": 3,
           "step_size_down": 7}, range(35)),
        c("torch_cycliclr_triangular2", "CyclicLR",
          {"base_lr": 0.001, "max_lr": 0.1, "step_size_up": 5, "mode": "triangular2",
           "cycle_momentum": False},
          {"name": "cyclic", "base_value": 0.001, "max_value": 0.1, "step_size_up": 5,
           "mode": "triangular2"}, range(45)),
        c("torch_cycliclr_triangular2_asymmetric", "CyclicLR",
          {"base_lr": 0.001, "max_lr": 0.1, "step_size_up": 2, "step_size_down": 6,
           "mode": "triangular2", "cycle_momentum": False},
          {"name": "cyclic", "base_value": 0.001, "max_value": 0.1, "step_size_up": 2,
           "step_size_down": 6, "mode": "triangular2"}, range(40)),
        c("torch_cycliclr_exp_range", "CyclicLR",
          {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4, "mode": "exp_range", "gamma": 0.95,
           "cycle_momentum": False},
          {"name": "cyclic", "base_value": 0.01, "max_value": 0.1, "step_size_up": 4,
           "mode": "exp_range", "gamma": 0.95}, range(40)),
        c("torch_cycliclr_exp_range_asymmetric", "CyclicLR",
          {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 6, "step_size_down": 2,
           "mode": "exp_range", "gamma": 0.9, "cycle_momentum": False},
          {"name": "cyclic", "base_value": 0.01, "max_value": 0.1, "step_size_up": 6,
           "step_size_down": 2, "mode": "exp_range", "gamma": 0.9}, range(40)),
        # OneCycleLR learning rate -> one_cycle, steps 0..total_steps-1 (torch raises beyond).
        c("torch_onecyclelr_defaults", "OneCycleLR", {"max_lr": 0.1, "total_steps": 100},
          {"name": "one_cycle", "peak_value": 0.1, "total_steps": 100}, range(100)),
        c("torch_onecyclelr_linear", "OneCycleLR",
          {"max_lr": 0.1, "total_steps": 50, "pct_start": 0.25, "anneal_strategy": "linear"},
          {"name": "one_cycle", "peak_value": 0.1, "total_steps": 50, "pct_start": 0.25,
           "anneal_strategy": "linear"}, range(50)),
        c("torch_onecyclelr_three_phase", "OneCycleLR",
          {"max_lr": 0.1, "total_steps": 60, "three_phase": True},
          {"name": "one_cycle", "peak_value": 0.1, "total_steps": 60, "three_phase": True},
          range(60)),
        c("torch_onecyclelr_three_phase_linear_fractional", "OneCycleLR",
          {"max_lr": 0.05, "total_steps": 37, "pct_start": 0.35, "anneal_strategy": "linear",
           "three_phase": True},
          {"name": "one_cycle", "peak_value": 0.05, "total_steps": 37, "pct_start": 0.35,
           "anneal_strategy": "linear", "three_phase": True}, range(37)),
        c("torch_onecyclelr_fractional_divs", "OneCycleLR",
          {"max_lr": 0.1, "total_steps": 33, "pct_start": 0.3, "div_factor": 10.0,
           "final_div_factor": 100.0},
          {"name": "one_cycle", "peak_value": 0.1, "total_steps": 33, "pct_start": 0.3,
           "div_factor": 10.0, "final_div_factor": 100.0}, range(33)),
        c("torch_onecyclelr_short_three_phase", "OneCycleLR",
          {"max_lr": 1.0, "total_steps": 11, "pct_start": 0.5, "three_phase": True},
          {"name": "one_cycle", "peak_value": 1.0, "total_steps": 11, "pct_start": 0.5,
           "three_phase": True}, range(11)),
        # OneCycleLR momentum -> one_cycle_momentum.
        c("torch_onecyclelr_momentum_defaults", "OneCycleLR", {"max_lr": 0.1, "total_steps": 100},
          {"name": "one_cycle_momentum", "total_steps": 100}, range(100), "momentum"),
        c("torch_onecyclelr_momentum_three_phase_linear", "OneCycleLR",
          {"max_lr": 0.1, "total_steps": 37, "pct_start": 0.35, "anneal_strategy": "linear",
           "three_phase": True, "base_momentum": 0.8, "max_momentum": 0.9},
          {"name": "one_cycle_momentum", "total_steps": 37, "base_momentum": 0.8,
           "max_momentum": 0.9, "pct_start": 0.35, "anneal_strategy": "linear",
           "three_phase": True}, range(37), "momentum"),
        c("torch_onecyclelr_momentum_fractional", "OneCycleLR",
          {"max_lr": 0.1, "total_steps": 33, "pct_start": 0.3},
          {"name": "one_cycle_momentum", "total_steps": 33, "pct_start": 0.3}, range(33),
          "momentum"),
        c("torch_onecyclelr_momentum_short_three_phase", "OneCycleLR",
          {"max_lr": 1.0, "total_steps": 11, "pct_start": 0.5, "three_phase": True},
          {"name": "one_cycle_momentum", "total_steps": 11, "pct_start": 0.5,
           "three_phase": True}, range(11), "momentum"),
    ]  # fmt: skip


def _transformers_case(
    case_id: str, function: str, kwargs: dict[str, Any], config: Config, steps: Steps
) -> Case:
    """Builds a case from a ``transformers.get_*_schedule`` function at base lr 0.1.

    Args:
        case_id: A unique, descriptive identifier.
        function: The schedule function's name in ``transformers``.
        kwargs: Its keyword arguments (besides the optimizer).
        config: The jaxsched config expected to reproduce it.
        steps: Increasing steps at which to record.

    Returns:
        The golden case.
    """
    make = getattr(transformers, function)
    values = _record_torch(lambda opt: make(opt, **kwargs), BASE_LR, steps)
    reference = f"{_call_repr(f'transformers.{function}', kwargs)}, base lr {BASE_LR}"
    return _case(case_id, reference, config, steps, values)


def transformers_cases() -> list[Case]:
    """Golden cases for transformers schedules expressed as jaxsched configs.

    Returns:
        The transformers cases that use jaxsched config dicts.
    """
    c = _transformers_case
    peak = BASE_LR
    return [
        # get_inverse_sqrt_schedule -> inverse_sqrt; timescale None means num_warmup_steps, or
        # 10_000 when that is 0.
        c("transformers_inverse_sqrt_warmup", "get_inverse_sqrt_schedule",
          {"num_warmup_steps": 10},
          {"name": "inverse_sqrt", "peak_value": peak, "warmup_steps": 10}, range(60)),
        c("transformers_inverse_sqrt_timescale", "get_inverse_sqrt_schedule",
          {"num_warmup_steps": 5, "timescale": 20},
          {"name": "inverse_sqrt", "peak_value": peak, "warmup_steps": 5, "timescale": 20},
          range(60)),
        c("transformers_inverse_sqrt_no_warmup_default_timescale", "get_inverse_sqrt_schedule",
          {"num_warmup_steps": 0},
          {"name": "inverse_sqrt", "peak_value": peak, "warmup_steps": 0},
          [*range(10), 100, 9999, 10000, 10001, 30000]),
        c("transformers_inverse_sqrt_no_warmup_timescale", "get_inverse_sqrt_schedule",
          {"num_warmup_steps": 0, "timescale": 50},
          {"name": "inverse_sqrt", "peak_value": peak, "warmup_steps": 0, "timescale": 50},
          range(40)),
        c("transformers_inverse_sqrt_warmup_1", "get_inverse_sqrt_schedule",
          {"num_warmup_steps": 1},
          {"name": "inverse_sqrt", "peak_value": peak, "warmup_steps": 1}, range(20)),
        # get_wsd_schedule -> warmup_stable_decay with init_value = end_value = min_lr_ratio *
        # peak; decay covers [total - decay, total), then min_lr_ratio * peak forever.
        c("transformers_wsd_linear_linear", "get_wsd_schedule",
          {"num_warmup_steps": 5, "num_decay_steps": 10, "num_training_steps": 40,
           "warmup_type": "linear", "decay_type": "linear"},
          {"name": "warmup_stable_decay", "peak_value": peak, "total_steps": 40,
           "warmup_steps": 5, "decay_steps": 10}, range(50)),
        c("transformers_wsd_cosine_cosine_min_ratio", "get_wsd_schedule",
          {"num_warmup_steps": 6, "num_decay_steps": 12, "num_training_steps": 40,
           "warmup_type": "cosine", "decay_type": "cosine", "min_lr_ratio": 0.1},
          {"name": "warmup_stable_decay", "peak_value": peak, "total_steps": 40,
           "warmup_steps": 6, "decay_steps": 12, "init_value": 0.01, "end_value": 0.01,
           "warmup_shape": "cosine", "decay_shape": "cosine"}, range(50)),
        c("transformers_wsd_1sqrt_1sqrt_min_ratio", "get_wsd_schedule",
          {"num_warmup_steps": 8, "num_decay_steps": 12, "num_training_steps": 50,
           "warmup_type": "1-sqrt", "decay_type": "1-sqrt", "min_lr_ratio": 0.05},
          {"name": "warmup_stable_decay", "peak_value": peak, "total_steps": 50,
           "warmup_steps": 8, "decay_steps": 12, "init_value": 0.005, "end_value": 0.005,
           "warmup_shape": "1-sqrt", "decay_shape": "1-sqrt"}, range(60)),
        c("transformers_wsd_no_warmup", "get_wsd_schedule",
          {"num_warmup_steps": 0, "num_decay_steps": 10, "num_training_steps": 30,
           "warmup_type": "linear", "decay_type": "cosine"},
          {"name": "warmup_stable_decay", "peak_value": peak, "total_steps": 30,
           "warmup_steps": 0, "decay_steps": 10, "decay_shape": "cosine"}, range(35)),
        c("transformers_wsd_no_stable", "get_wsd_schedule",
          {"num_warmup_steps": 10, "num_decay_steps": 20, "num_training_steps": 30,
           "warmup_type": "cosine", "decay_type": "1-sqrt"},
          {"name": "warmup_stable_decay", "peak_value": peak, "total_steps": 30,
           "warmup_steps": 10, "decay_steps": 20, "warmup_shape": "cosine",
           "decay_shape": "1-sqrt"}, range(36)),
    ]  # fmt: skip


def _registry_case(case_id: str, name: str, kwargs: dict[str, Any], steps: Steps) -> Case:
    """Builds a registry case from ``transformers.get_scheduler`` under the same name.

    ``peak_value`` (``value`` for ``constant``) becomes the optimizer's base lr,
    ``num_warmup_steps`` and ``num_training_steps`` are passed as such, and every other kwarg
    goes into ``scheduler_specific_kwargs``.

    Args:
        case_id: A unique, descriptive identifier.
        name: The transformers ``SchedulerType`` value, which is also the jaxsched registry name.
        kwargs: The jaxsched registry kwargs.
        steps: Increasing steps at which to record.

    Returns:
        The golden case, with config ``{"get": name, "kwargs": kwargs}``.
    """
    specific = dict(kwargs)
    base_lr = specific.pop("value") if name == "constant" else specific.pop("peak_value")
    call = {
        "num_warmup_steps": specific.pop("num_warmup_steps", None),
        "num_training_steps": specific.pop("num_training_steps", None),
        "scheduler_specific_kwargs": specific or None,
    }
    values = _record_torch(
        lambda opt: transformers.get_scheduler(name, opt, **call), base_lr, steps
    )
    function = transformers.optimization.TYPE_TO_SCHEDULER_FUNCTION[name].__name__
    reference = (
        f"transformers.get_scheduler({name!r}, optimizer, {_kwargs_repr(call)})"
        f" -> {function}, base lr {base_lr}"
    )
    return _case(case_id, reference, {"get": name, "kwargs": kwargs}, steps, values)


def registry_cases() -> list[Case]:
    """Golden registry cases (``jaxsched.get``) for the transformers scheduler names.

    Returns:
        The registry cases.
    """
    c = _registry_case
    peak = BASE_LR
    return [
        c("registry_linear", "linear",
          {"peak_value": peak, "num_warmup_steps": 5, "num_training_steps": 30}, range(36)),
        c("registry_linear_no_warmup", "linear",
          {"peak_value": peak, "num_warmup_steps": 0, "num_training_steps": 20}, range(25)),
        # cosine rises again after num_training_steps, so only 0..num_training_steps.
        c("registry_cosine", "cosine",
          {"peak_value": peak, "num_warmup_steps": 5, "num_training_steps": 40}, range(41)),
        c("registry_cosine_no_warmup", "cosine",
          {"peak_value": peak, "num_warmup_steps": 0, "num_training_steps": 30}, range(31)),
        c("registry_cosine_with_restarts_1", "cosine_with_restarts",
          {"peak_value": peak, "num_warmup_steps": 5, "num_training_steps": 35,
           "num_cycles": 1}, range(40)),
        c("registry_cosine_with_restarts_3", "cosine_with_restarts",
          {"peak_value": peak, "num_warmup_steps": 3, "num_training_steps": 33,
           "num_cycles": 3}, range(40)),
        c("registry_cosine_with_restarts_3_uneven", "cosine_with_restarts",
          {"peak_value": peak, "num_warmup_steps": 0, "num_training_steps": 20,
           "num_cycles": 3}, range(25)),
        c("registry_polynomial_defaults", "polynomial",
          {"peak_value": peak, "num_warmup_steps": 5, "num_training_steps": 30}, range(40)),
        c("registry_polynomial_power2", "polynomial",
          {"peak_value": peak, "num_warmup_steps": 4, "num_training_steps": 24,
           "lr_end": 0.01, "power": 2.0}, range(30)),
        c("registry_polynomial_no_warmup_sqrt", "polynomial",
          {"peak_value": peak, "num_warmup_steps": 0, "num_training_steps": 15,
           "lr_end": 0.001, "power": 0.5}, range(20)),
        c("registry_constant", "constant", {"value": 0.05}, range(10)),
        c("registry_constant_with_warmup", "constant_with_warmup",
          {"peak_value": peak, "num_warmup_steps": 7}, range(15)),
        c("registry_constant_with_warmup_0", "constant_with_warmup",
          {"peak_value": peak, "num_warmup_steps": 0}, range(5)),
        c("registry_inverse_sqrt", "inverse_sqrt",
          {"peak_value": peak, "num_warmup_steps": 10}, range(40)),
        c("registry_inverse_sqrt_timescale", "inverse_sqrt",
          {"peak_value": peak, "num_warmup_steps": 4, "timescale": 16}, range(40)),
        c("registry_inverse_sqrt_no_warmup", "inverse_sqrt",
          {"peak_value": peak, "num_warmup_steps": 0, "timescale": 100}, range(30)),
        # cosine_with_min_lr also rises again after num_training_steps.
        c("registry_cosine_with_min_lr", "cosine_with_min_lr",
          {"peak_value": peak, "num_warmup_steps": 5, "num_training_steps": 40,
           "min_lr": 0.001}, range(41)),
        c("registry_cosine_with_min_lr_rate", "cosine_with_min_lr",
          {"peak_value": peak, "num_warmup_steps": 0, "num_training_steps": 30,
           "min_lr_rate": 0.1}, range(31)),
        # warmup_stable_decay defaults to decay_type="cosine" in transformers.
        c("registry_wsd_defaults", "warmup_stable_decay",
          {"peak_value": peak, "num_warmup_steps": 5, "num_training_steps": 40,
           "num_decay_steps": 10}, range(50)),
        c("registry_wsd_training_steps", "warmup_stable_decay",
          {"peak_value": peak, "num_warmup_steps": 5, "num_training_steps": 30,
           "num_decay_steps": 10, "warmup_type": "linear", "decay_type": "1-sqrt",
           "min_lr_ratio": 0.05}, range(35)),
        c("registry_wsd_stable_steps", "warmup_stable_decay",
          {"peak_value": peak, "num_warmup_steps": 5, "num_stable_steps": 15,
           "num_decay_steps": 10, "warmup_type": "cosine", "decay_type": "linear",
           "min_lr_ratio": 0.1}, range(40)),
        c("registry_wsd_stable_steps_no_warmup", "warmup_stable_decay",
          {"peak_value": peak, "num_warmup_steps": 0, "num_stable_steps": 8,
           "num_decay_steps": 12, "decay_type": "cosine"}, range(25)),
    ]  # fmt: skip


def keras_cases() -> list[Case]:
    """Golden cases for ``keras.optimizers.schedules``, computed in float64.

    Returns:
        The keras cases.

    Raises:
        RuntimeError: If keras was already imported with another backend.
    """
    os.environ["KERAS_BACKEND"] = "torch"
    import keras  # imported here: the backend must be chosen first

    if keras.config.backend() != "torch":
        raise RuntimeError(f"keras backend is {keras.config.backend()!r}, expected 'torch'")
    keras.config.set_floatx("float64")

    c = functools.partial(_formula_case, keras.optimizers.schedules)

    return [
        # ExponentialDecay -> exponential_decay (decay_steps = transition_steps).
        c("keras_exponential", "ExponentialDecay",
          {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5},
          {"name": "exponential_decay", "init_value": 0.1, "decay_rate": 0.5,
           "transition_steps": 10}, range(50)),
        c("keras_exponential_staircase", "ExponentialDecay",
          {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5,
           "staircase": True},
          {"name": "exponential_decay", "init_value": 0.1, "decay_rate": 0.5,
           "transition_steps": 10, "staircase": True}, range(50)),
        c("keras_exponential_growth", "ExponentialDecay",
          {"initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 1.1},
          {"name": "exponential_decay", "init_value": 0.1, "decay_rate": 1.1,
           "transition_steps": 3}, range(30)),
        c("keras_exponential_staircase_huge_steps", "ExponentialDecay",
          {"initial_learning_rate": 1.0, "decay_steps": 100000, "decay_rate": 0.9999,
           "staircase": True},
          {"name": "exponential_decay", "init_value": 1.0, "decay_rate": 0.9999,
           "transition_steps": 100000, "staircase": True},
          [0, 1, 99999, 100000, 100001, *HUGE_STEPS]),
        # InverseTimeDecay -> inverse_time_decay.
        c("keras_inverse_time", "InverseTimeDecay",
          {"initial_learning_rate": 0.1, "decay_steps": 5, "decay_rate": 0.5},
          {"name": "inverse_time_decay", "init_value": 0.1, "decay_rate": 0.5,
           "decay_steps": 5}, range(40)),
        c("keras_inverse_time_staircase", "InverseTimeDecay",
          {"initial_learning_rate": 0.1, "decay_steps": 5, "decay_rate": 0.5,
           "staircase": True},
          {"name": "inverse_time_decay", "init_value": 0.1, "decay_rate": 0.5,
           "decay_steps": 5, "staircase": True}, range(40)),
        c("keras_inverse_time_huge_steps", "InverseTimeDecay",
          {"initial_learning_rate": 1.0, "decay_steps": 1000, "decay_rate": 2.0},
          {"name": "inverse_time_decay", "init_value": 1.0, "decay_rate": 2.0,
           "decay_steps": 1000}, [0, 1, 999, 1000, 1001, *HUGE_STEPS]),
        # PolynomialDecay -> polynomial_decay; with cycle=True an exact multiple of
        # decay_steps (other than 0) still gives end_value.
        c("keras_polynomial", "PolynomialDecay",
          {"initial_learning_rate": 0.1, "decay_steps": 10, "end_learning_rate": 0.01},
          {"name": "polynomial_decay", "init_value": 0.1, "end_value": 0.01,
           "decay_steps": 10}, range(20)),
        c("keras_polynomial_power2", "PolynomialDecay",
          {"initial_learning_rate": 0.1, "decay_steps": 12, "end_learning_rate": 0.0,
           "power": 2.0},
          {"name": "polynomial_decay", "init_value": 0.1, "end_value": 0.0, "decay_steps": 12,
           "power": 2.0}, range(20)),
        c("keras_polynomial_cycle", "PolynomialDecay",
          {"initial_learning_rate": 0.1, "decay_steps": 10, "end_learning_rate": 0.01,
           "cycle": True},
          {"name": "polynomial_decay", "init_value": 0.1, "end_value": 0.01,
           "decay_steps": 10, "cycle": True}, range(45)),
        c("keras_polynomial_cycle_sqrt", "PolynomialDecay",
          {"initial_learning_rate": 0.1, "decay_steps": 7, "end_learning_rate": 0.001,
           "power": 0.5, "cycle": True},
          {"name": "polynomial_decay", "init_value": 0.1, "end_value": 0.001, "decay_steps": 7,
           "power": 0.5, "cycle": True}, range(40)),
        c("keras_polynomial_cycle_huge_steps", "PolynomialDecay",
          {"initial_learning_rate": 0.1, "decay_steps": 1000, "end_learning_rate": 0.0,
           "power": 2.0, "cycle": True},
          {"name": "polynomial_decay", "init_value": 0.1, "end_value": 0.0,
           "decay_steps": 1000, "power": 2.0, "cycle": True},
          [0, 1, 999, 1000, 1001, 1999, 2000, 2001, *HUGE_STEPS]),
        # PiecewiseConstantDecay -> piecewise_constant with every boundary + 1.
        c("keras_piecewise", "PiecewiseConstantDecay",
          {"boundaries": [5, 10, 20], "values": [0.1, 0.05, 0.01, 0.001]},
          {"name": "piecewise_constant", "boundaries": [6, 11, 21],
           "values": [0.1, 0.05, 0.01, 0.001]}, [*range(30), *HUGE_STEPS]),
        c("keras_piecewise_boundary_zero", "PiecewiseConstantDecay",
          {"boundaries": [0], "values": [1.0, 0.5]},
          {"name": "piecewise_constant", "boundaries": [1], "values": [1.0, 0.5]}, range(5)),
        c("keras_piecewise_non_monotone", "PiecewiseConstantDecay",
          {"boundaries": [3, 4], "values": [0.1, 0.2, 0.05]},
          {"name": "piecewise_constant", "boundaries": [4, 5], "values": [0.1, 0.2, 0.05]},
          range(10)),
        # CosineDecayRestarts -> cosine_restarts with end_value = alpha * init.
        c("keras_cosine_restarts_t_mul_2", "CosineDecayRestarts",
          {"initial_learning_rate": 0.1, "first_decay_steps": 10, "t_mul": 2.0, "m_mul": 1.0,
           "alpha": 0.0},
          {"name": "cosine_restarts", "init_value": 0.1, "first_decay_steps": 10, "t_mul": 2.0,
           "m_mul": 1.0, "end_value": 0.0}, range(80)),
        c("keras_cosine_restarts_keras_defaults", "CosineDecayRestarts",
          {"initial_learning_rate": 0.1, "first_decay_steps": 5},
          {"name": "cosine_restarts", "init_value": 0.1, "first_decay_steps": 5, "t_mul": 2.0},
          range(40)),
        c("keras_cosine_restarts_m_mul", "CosineDecayRestarts",
          {"initial_learning_rate": 0.1, "first_decay_steps": 8, "t_mul": 1.0, "m_mul": 0.5},
          {"name": "cosine_restarts", "init_value": 0.1, "first_decay_steps": 8, "t_mul": 1.0,
           "m_mul": 0.5}, range(50)),
        c("keras_cosine_restarts_float_t_mul_alpha", "CosineDecayRestarts",
          {"initial_learning_rate": 0.1, "first_decay_steps": 10, "t_mul": 1.5, "m_mul": 0.5,
           "alpha": 0.1},
          {"name": "cosine_restarts", "init_value": 0.1, "first_decay_steps": 10, "t_mul": 1.5,
           "m_mul": 0.5, "end_value": 0.01}, range(120)),
        c("keras_cosine_restarts_float_t_mul_short", "CosineDecayRestarts",
          {"initial_learning_rate": 0.1, "first_decay_steps": 4, "t_mul": 1.5, "m_mul": 1.0},
          {"name": "cosine_restarts", "init_value": 0.1, "first_decay_steps": 4, "t_mul": 1.5,
           "m_mul": 1.0}, range(150)),
        c("keras_cosine_restarts_t_mul_3", "CosineDecayRestarts",
          {"initial_learning_rate": 0.1, "first_decay_steps": 2, "t_mul": 3.0, "m_mul": 0.8,
           "alpha": 0.05},
          {"name": "cosine_restarts", "init_value": 0.1, "first_decay_steps": 2, "t_mul": 3.0,
           "m_mul": 0.8, "end_value": 0.005}, range(90)),
        # CosineDecay -> cosine_decay, or warmup_cosine_decay with warmup_target (keras counts
        # decay_steps after the warmup, jaxsched includes it).
        c("keras_cosine_decay_alpha", "CosineDecay",
          {"initial_learning_rate": 0.1, "decay_steps": 20, "alpha": 0.1},
          {"name": "cosine_decay", "init_value": 0.1, "decay_steps": 20, "end_value": 0.01},
          range(30)),
        c("keras_cosine_decay_warmup", "CosineDecay",
          {"initial_learning_rate": 0.0, "decay_steps": 20, "alpha": 0.05,
           "warmup_target": 0.1, "warmup_steps": 5},
          {"name": "warmup_cosine_decay", "init_value": 0.0, "peak_value": 0.1,
           "warmup_steps": 5, "decay_steps": 25, "end_value": 0.005}, range(35)),
    ]  # fmt: skip


def optax_cases() -> list[Case]:
    """Golden cases for the optax schedules, computed with ``jax_enable_x64``.

    Returns:
        The optax cases.
    """
    jax.config.update("jax_enable_x64", True)

    c = functools.partial(_formula_case, optax)

    return [
        c("optax_constant", "constant_schedule", {"value": 0.05},
          {"name": "constant", "value": 0.05}, [0, 1, 2, *HUGE_STEPS]),
        # linear_schedule -> linear.
        c("optax_linear_warmup", "linear_schedule",
          {"init_value": 0.0, "end_value": 0.1, "transition_steps": 10},
          {"name": "linear", "init_value": 0.0, "end_value": 0.1, "transition_steps": 10},
          range(15)),
        c("optax_linear_transition_begin", "linear_schedule",
          {"init_value": 1.0, "end_value": 0.1, "transition_steps": 7, "transition_begin": 3},
          {"name": "linear", "init_value": 1.0, "end_value": 0.1, "transition_steps": 7,
           "transition_begin": 3}, range(15)),
        c("optax_linear_huge_steps", "linear_schedule",
          {"init_value": 0.1, "end_value": 0.0, "transition_steps": 1000,
           "transition_begin": 100},
          {"name": "linear", "init_value": 0.1, "end_value": 0.0, "transition_steps": 1000,
           "transition_begin": 100}, [0, 100, 101, 600, 1099, 1100, 1101, *HUGE_STEPS]),
        # polynomial_schedule -> polynomial_decay (transition_steps = decay_steps).
        c("optax_polynomial_power2", "polynomial_schedule",
          {"init_value": 1.0, "end_value": 0.01, "power": 2, "transition_steps": 20},
          {"name": "polynomial_decay", "init_value": 1.0, "end_value": 0.01,
           "decay_steps": 20, "power": 2.0}, range(25)),
        c("optax_polynomial_transition_begin", "polynomial_schedule",
          {"init_value": 1.0, "end_value": 0.1, "power": 0.5, "transition_steps": 10,
           "transition_begin": 5},
          {"name": "polynomial_decay", "init_value": 1.0, "end_value": 0.1, "decay_steps": 10,
           "power": 0.5, "transition_begin": 5}, range(20)),
        c("optax_polynomial_power3", "polynomial_schedule",
          {"init_value": 0.1, "end_value": 0.0, "power": 3, "transition_steps": 8},
          {"name": "polynomial_decay", "init_value": 0.1, "end_value": 0.0, "decay_steps": 8,
           "power": 3.0}, range(12)),
        # exponential_decay -> exponential_decay.
        c("optax_exponential", "exponential_decay",
          {"init_value": 1.0, "transition_steps": 5, "decay_rate": 0.5},
          {"name": "exponential_decay", "init_value": 1.0, "decay_rate": 0.5,
           "transition_steps": 5}, range(40)),
        c("optax_exponential_staircase", "exponential_decay",
          {"init_value": 1.0, "transition_steps": 5, "decay_rate": 0.5, "staircase": True},
          {"name": "exponential_decay", "init_value": 1.0, "decay_rate": 0.5,
           "transition_steps": 5, "staircase": True}, range(30)),
        c("optax_exponential_transition_begin", "exponential_decay",
          {"init_value": 1.0, "transition_steps": 4, "decay_rate": 0.8,
           "transition_begin": 10},
          {"name": "exponential_decay", "init_value": 1.0, "decay_rate": 0.8,
           "transition_steps": 4, "transition_begin": 10}, range(30)),
        c("optax_exponential_end_value_lower", "exponential_decay",
          {"init_value": 1.0, "transition_steps": 2, "decay_rate": 0.7, "end_value": 0.05},
          {"name": "exponential_decay", "init_value": 1.0, "decay_rate": 0.7,
           "transition_steps": 2, "end_value": 0.05}, range(40)),
        c("optax_exponential_end_value_upper", "exponential_decay",
          {"init_value": 1.0, "transition_steps": 1, "decay_rate": 1.2, "end_value": 3.0},
          {"name": "exponential_decay", "init_value": 1.0, "decay_rate": 1.2,
           "transition_steps": 1, "end_value": 3.0}, range(15)),
        c("optax_exponential_staircase_begin_end", "exponential_decay",
          {"init_value": 2.0, "transition_steps": 3, "decay_rate": 0.5, "transition_begin": 4,
           "staircase": True, "end_value": 0.3},
          {"name": "exponential_decay", "init_value": 2.0, "decay_rate": 0.5,
           "transition_steps": 3, "transition_begin": 4, "staircase": True, "end_value": 0.3},
          range(25)),
        c("optax_exponential_huge_steps", "exponential_decay",
          {"init_value": 1.0, "transition_steps": 100000, "decay_rate": 0.9999,
           "transition_begin": 50},
          {"name": "exponential_decay", "init_value": 1.0, "decay_rate": 0.9999,
           "transition_steps": 100000, "transition_begin": 50},
          [0, 50, 51, 100050, *HUGE_STEPS]),
        # cosine_decay_schedule -> cosine_decay with end_value = alpha * init.
        c("optax_cosine_decay", "cosine_decay_schedule",
          {"init_value": 0.1, "decay_steps": 20},
          {"name": "cosine_decay", "init_value": 0.1, "decay_steps": 20}, range(30)),
        c("optax_cosine_decay_alpha", "cosine_decay_schedule",
          {"init_value": 0.1, "decay_steps": 20, "alpha": 0.1},
          {"name": "cosine_decay", "init_value": 0.1, "decay_steps": 20, "end_value": 0.01},
          range(30)),
        c("optax_cosine_decay_exponent", "cosine_decay_schedule",
          {"init_value": 0.1, "decay_steps": 15, "alpha": 0.05, "exponent": 2.0},
          {"name": "cosine_decay", "init_value": 0.1, "decay_steps": 15, "end_value": 0.005,
           "exponent": 2.0}, range(20)),
        c("optax_cosine_decay_huge_steps", "cosine_decay_schedule",
          {"init_value": 0.1, "decay_steps": 1000},
          {"name": "cosine_decay", "init_value": 0.1, "decay_steps": 1000},
          [0, 500, 999, 1000, 1001, *HUGE_STEPS]),
        # warmup_cosine_decay_schedule -> warmup_cosine_decay.
        c("optax_warmup_cosine", "warmup_cosine_decay_schedule",
          {"init_value": 0.0, "peak_value": 0.1, "warmup_steps": 5, "decay_steps": 30},
          {"name": "warmup_cosine_decay", "init_value": 0.0, "peak_value": 0.1,
           "warmup_steps": 5, "decay_steps": 30}, range(40)),
        c("optax_warmup_cosine_end_exponent", "warmup_cosine_decay_schedule",
          {"init_value": 0.01, "peak_value": 0.1, "warmup_steps": 4, "decay_steps": 20,
           "end_value": 0.001, "exponent": 1.5},
          {"name": "warmup_cosine_decay", "init_value": 0.01, "peak_value": 0.1,
           "warmup_steps": 4, "decay_steps": 20, "end_value": 0.001, "exponent": 1.5},
          range(25)),
        c("optax_warmup_cosine_no_warmup", "warmup_cosine_decay_schedule",
          {"init_value": 0.0, "peak_value": 0.1, "warmup_steps": 0, "decay_steps": 20},
          {"name": "warmup_cosine_decay", "init_value": 0.0, "peak_value": 0.1,
           "warmup_steps": 0, "decay_steps": 20}, range(25)),
        c("optax_warmup_cosine_sqrt_exponent", "warmup_cosine_decay_schedule",
          {"init_value": 0.0, "peak_value": 0.1, "warmup_steps": 10, "decay_steps": 50,
           "end_value": 0.01, "exponent": 0.5},
          {"name": "warmup_cosine_decay", "init_value": 0.0, "peak_value": 0.1,
           "warmup_steps": 10, "decay_steps": 50, "end_value": 0.01, "exponent": 0.5},
          range(60)),
    ]  # fmt: skip


@functools.cache
def _load_timm_scheduler(module: str, name: str) -> type:
    """Imports a timm scheduler class without running ``timm/__init__.py``.

    The package's ``__init__`` imports torchvision, which the schedulers do not need, so the
    ``timm/scheduler`` folder is mounted as a stand-alone package instead.

    Args:
        module: The module in ``timm/scheduler``, e.g. ``"tanh_lr"``.
        name: The class name, e.g. ``"TanhLRScheduler"``.

    Returns:
        The scheduler class.
    """
    timm_dir = importlib.util.find_spec("timm").submodule_search_locations[0]
    package = types.ModuleType("_timm_scheduler")
    package.__path__ = [os.path.join(timm_dir, "scheduler")]
    sys.modules[package.__name__] = package
    return getattr(importlib.import_module(f"_timm_scheduler.{module}"), name)


def _load_timm_tanh_scheduler() -> type:
    """timm's ``TanhLRScheduler`` (see ``_load_timm_scheduler``).

    Returns:
        The ``TanhLRScheduler`` class.
    """
    return _load_timm_scheduler("tanh_lr", "TanhLRScheduler")


def _timm_case(
    case_id: str, base_lr: float, kwargs: dict[str, Any], config: Config, steps: Steps
) -> Case:
    """Builds a case from timm's ``TanhLRScheduler`` with one cycle and no warmup or noise.

    Args:
        case_id: A unique, descriptive identifier.
        base_lr: The optimizer's learning rate, the schedule's starting maximum.
        kwargs: The scheduler's keyword arguments besides the fixed single-cycle ones.
        config: The jaxsched config expected to reproduce it.
        steps: The steps ``t`` at which to call ``scheduler.step(t)`` and record.

    Returns:
        The golden case.
    """
    kwargs = {**kwargs, "warmup_t": 0, "cycle_limit": 1, "t_in_epochs": True}
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=base_lr, momentum=0.9)
    scheduler = _load_timm_tanh_scheduler()(optimizer, **kwargs)
    values = []
    for step in steps:
        scheduler.step(step)
        values.append(optimizer.param_groups[0]["lr"])
    reference = (
        f"{_call_repr('timm.scheduler.TanhLRScheduler', kwargs)}, base lr {base_lr}, "
        "value t read after scheduler.step(t)"
    )
    return _case(case_id, reference, config, steps, values)


def timm_cases() -> list[Case]:
    """Golden cases for timm's ``TanhLRScheduler``.

    Returns:
        The timm cases.
    """
    c = _timm_case
    return [
        c("timm_tanh_defaults", 0.1, {"t_initial": 20},
          {"name": "tanh_decay", "init_value": 0.1, "end_value": 0.0, "decay_steps": 20},
          range(30)),
        c("timm_tanh_bounds_lr_min", 0.1, {"t_initial": 15, "lb": -5.0, "ub": 5.0, "lr_min": 0.001},
          {"name": "tanh_decay", "init_value": 0.1, "end_value": 0.001, "decay_steps": 15,
           "lower": -5.0, "upper": 5.0}, range(25)),
        c("timm_tanh_t_initial_1", 0.1, {"t_initial": 1},
          {"name": "tanh_decay", "init_value": 0.1, "end_value": 0.0, "decay_steps": 1},
          range(4)),
        c("timm_tanh_narrow_bounds", 0.5, {"t_initial": 40, "lb": -3.0, "ub": 1.0, "lr_min": 0.01},
          {"name": "tanh_decay", "init_value": 0.5, "end_value": 0.01, "decay_steps": 40,
           "lower": -3.0, "upper": 1.0}, range(50)),
    ]  # fmt: skip


def _timm_cosine_case(
    case_id: str, base_lr: float, kwargs: dict[str, Any], config: Config, steps: Steps
) -> Case:
    """Builds a case from timm's ``CosineLRScheduler`` (no noise), read as in ``_timm_case``.

    Args:
        case_id: A unique, descriptive identifier.
        base_lr: The optimizer's learning rate, the first cycle's peak.
        kwargs: The scheduler's keyword arguments.
        config: The jaxsched config expected to reproduce it.
        steps: The steps ``t`` at which to call ``scheduler.step(t)`` and record.

    Returns:
        The golden case.
    """
    kwargs = {**kwargs, "t_in_epochs": True}
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=base_lr, momentum=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler = _load_timm_scheduler("cosine_lr", "CosineLRScheduler")(optimizer, **kwargs)
    values = []
    for step in steps:
        scheduler.step(step)
        values.append(optimizer.param_groups[0]["lr"])
    reference = (
        f"{_call_repr('timm.scheduler.CosineLRScheduler', kwargs)}, base lr {base_lr}, "
        "value t read after scheduler.step(t)"
    )
    return _case(case_id, reference, config, steps, values)


def _restarts(init: float, **kwargs: Any) -> Config:
    return {"name": "cosine_restarts", "init_value": init, **kwargs}


def timm_cosine_cases() -> list[Case]:
    """Golden cases for timm's ``CosineLRScheduler``: cycles, ``cycle_decay``, ``k_decay`` and
    the warmup with and without ``warmup_prefix``.

    Returns:
        The timm cosine cases.
    """
    c = _timm_cosine_case
    return [
        c("timm_cosine_one_cycle", 0.1, {"t_initial": 20, "lr_min": 0.001},
          _restarts(0.1, first_decay_steps=20, end_value=0.001, cycle_limit=1), range(30)),
        c("timm_cosine_cycles_decay", 0.1,
          {"t_initial": 10, "lr_min": 0.002, "cycle_decay": 0.5, "cycle_limit": 3},
          _restarts(0.1, first_decay_steps=10, end_value=0.002, cycle_limit=3,
                    cycle_decay=0.5), range(40)),
        c("timm_cosine_cycle_mul_2", 0.1,
          {"t_initial": 5, "cycle_mul": 2.0, "cycle_decay": 0.8, "cycle_limit": 4},
          _restarts(0.1, first_decay_steps=5, t_mul=2.0, cycle_limit=4, cycle_decay=0.8),
          range(80)),
        c("timm_cosine_cycle_mul_fractional", 0.05,
          {"t_initial": 10, "cycle_mul": 1.5, "lr_min": 1e-4, "cycle_limit": 5},
          _restarts(0.05, first_decay_steps=10, t_mul=1.5, end_value=1e-4, cycle_limit=5),
          range(130)),
        c("timm_cosine_k_decay", 0.1, {"t_initial": 25, "k_decay": 2.0, "lr_min": 0.01},
          _restarts(0.1, first_decay_steps=25, end_value=0.01, cycle_limit=1, k_decay=2.0),
          range(30)),
        c("timm_cosine_k_decay_half_cycles", 0.1,
          {"t_initial": 8, "k_decay": 0.5, "cycle_limit": 3, "cycle_decay": 0.7},
          _restarts(0.1, first_decay_steps=8, cycle_limit=3, k_decay=0.5, cycle_decay=0.7),
          range(30)),
        c("timm_cosine_warmup_overlay", 0.1,
          {"t_initial": 30, "lr_min": 0.001, "warmup_t": 5, "warmup_lr_init": 1e-4},
          {"name": "warmup", "warmup_steps": 5, "init_value": 1e-4, "prefix": False,
           "schedule": _restarts(0.1, first_decay_steps=30, end_value=0.001, cycle_limit=1)},
          range(35)),
        c("timm_cosine_warmup_prefix_cycles", 0.1,
          {"t_initial": 10, "warmup_t": 4, "warmup_lr_init": 0.0, "warmup_prefix": True,
           "cycle_limit": 3, "cycle_decay": 0.5},
          {"name": "warmup", "warmup_steps": 4, "init_value": 0.0, "prefix": True,
           "schedule": _restarts(0.1, first_decay_steps=10, cycle_limit=3, cycle_decay=0.5)},
          range(40)),
        c("timm_cosine_warmup_overlay_cycles", 0.1,
          {"t_initial": 6, "warmup_t": 3, "warmup_lr_init": 0.01, "cycle_mul": 2.0,
           "cycle_limit": 3, "lr_min": 0.005},
          {"name": "warmup", "warmup_steps": 3, "init_value": 0.01, "prefix": False,
           "schedule": _restarts(0.1, first_decay_steps=6, t_mul=2.0, cycle_limit=3,
                                 end_value=0.005)},
          range(50)),
    ]  # fmt: skip


def _torch_callable_case(
    case_id: str,
    scheduler: str,
    kwargs: dict[str, Any],
    shown: str,
    config: Config,
    steps: Steps,
) -> Case:
    """Like ``_torch_case``, for schedulers whose kwargs hold a Python function.

    Args:
        case_id: A unique, descriptive identifier.
        scheduler: The scheduler class name in ``torch.optim.lr_scheduler`` (or ``SWALR``).
        kwargs: The scheduler's keyword arguments.
        shown: How the function reads in the ``reference`` text.
        config: The jaxsched config expected to reproduce it.
        steps: Increasing steps at which to record.

    Returns:
        The golden case.
    """  # fmt: skip
    module = torch.optim.swa_utils if scheduler == "SWALR" else torch.optim.lr_scheduler
    scheduler_cls = getattr(module, scheduler)
    values = _record_torch(lambda opt: scheduler_cls(opt, **kwargs), BASE_LR, steps)
    reference = f"{module.__name__}.{scheduler}({shown}), base lr {BASE_LR}"
    return _case(case_id, reference, config, steps, values)


def torch_more_cases() -> list[Case]:
    """Golden cases for torch's ``ConstantLR``, ``LambdaLR``, ``MultiplicativeLR``, ``SWALR``
    and ``CyclicLR`` with a custom ``scale_fn`` (base lr 0.1). The functions come from
    ``tests/reference.py``, where the configs find them.

    Returns:
        The cases.
    """
    from tests.reference import damped, halving, inverse_power, shrinking_factor

    c = _torch_callable_case
    init = BASE_LR
    cyclic = {"base_lr": 0.01, "max_lr": 0.1, "cycle_momentum": False}
    return [
        c("torch_constantlr_factor", "ConstantLR", {"factor": 0.25, "total_iters": 6},
          "factor=0.25, total_iters=6",
          {"name": "constant_factor", "value": init, "factor": 0.25, "transition_steps": 6},
          range(12)),
        c("torch_constantlr_defaults", "ConstantLR", {}, "",
          {"name": "constant_factor", "value": init}, range(10)),
        c("torch_lambdalr_inverse_power", "LambdaLR",
          {"lr_lambda": functools.partial(inverse_power, rate=0.1, power=0.5)},
          "lr_lambda=lambda t: (1 + 0.1 * t) ** -0.5",
          {"name": "lambda_schedule", "fn": "tests.reference:inverse_power", "init_value": init,
           "params": {"rate": 0.1, "power": 0.5}}, range(40)),
        c("torch_multiplicativelr_shrinking", "MultiplicativeLR",
          {"lr_lambda": functools.partial(shrinking_factor, rate=0.3)},
          "lr_lambda=lambda t: 1 / (1 + 0.3 / (1 + t))",
          {"name": "multiplicative", "fn": "tests.reference:shrinking_factor", "max_steps": 30,
           "init_value": init, "params": {"rate": 0.3}}, range(31)),
        c("torch_multiplicativelr_constant", "MultiplicativeLR",
          {"lr_lambda": functools.partial(shrinking_factor, rate=0.0)},
          "lr_lambda=lambda t: 1.0",
          {"name": "multiplicative", "fn": "tests.reference:shrinking_factor", "max_steps": 5,
           "init_value": init, "params": {"rate": 0.0}}, range(8)),
        c("torch_swalr_cos", "SWALR", {"swa_lr": 0.02, "anneal_epochs": 5},
          "swa_lr=0.02, anneal_epochs=5",
          {"name": "swa", "init_value": init, "swa_value": 0.02, "anneal_steps": 5}, range(10)),
        c("torch_swalr_linear", "SWALR",
          {"swa_lr": 0.3, "anneal_epochs": 7, "anneal_strategy": "linear"},
          "swa_lr=0.3, anneal_epochs=7, anneal_strategy='linear'",
          {"name": "swa", "init_value": init, "swa_value": 0.3, "anneal_steps": 7,
           "anneal_strategy": "linear"}, range(12)),
        c("torch_swalr_no_anneal", "SWALR", {"swa_lr": 0.05, "anneal_epochs": 0},
          "swa_lr=0.05, anneal_epochs=0",
          {"name": "swa", "init_value": init, "swa_value": 0.05, "anneal_steps": 0}, range(4)),
        c("torch_swalr_one", "SWALR", {"swa_lr": 0.05, "anneal_epochs": 1},
          "swa_lr=0.05, anneal_epochs=1",
          {"name": "swa", "init_value": init, "swa_value": 0.05, "anneal_steps": 1}, range(4)),
        c("torch_cycliclr_scale_fn_cycle", "CyclicLR",
          {**cyclic, "step_size_up": 3, "step_size_down": 5, "scale_fn": halving,
           "scale_mode": "cycle"},
          "base_lr=0.01, max_lr=0.1, step_size_up=3, step_size_down=5, "
          "scale_fn=lambda c: 0.5 ** (c - 1), scale_mode='cycle', cycle_momentum=False",
          {"name": "cyclic", "base_value": 0.01, "max_value": 0.1, "step_size_up": 3,
           "step_size_down": 5, "scale_fn": "tests.reference:halving", "scale_mode": "cycle"},
          range(40)),
        c("torch_cycliclr_scale_fn_iterations", "CyclicLR",
          {**cyclic, "step_size_up": 4, "scale_fn": damped, "scale_mode": "iterations"},
          "base_lr=0.01, max_lr=0.1, step_size_up=4, "
          "scale_fn=lambda t: 1 / (1 + 0.01 * t), scale_mode='iterations', "
          "cycle_momentum=False",
          {"name": "cyclic", "base_value": 0.01, "max_value": 0.1, "step_size_up": 4,
           "scale_fn": "tests.reference:damped", "scale_mode": "iterations"}, range(40)),
        c("torch_cycliclr_scale_fn_overrides_mode", "CyclicLR",
          {**cyclic, "step_size_up": 2, "mode": "exp_range", "gamma": 0.5, "scale_fn": damped},
          "base_lr=0.01, max_lr=0.1, step_size_up=2, mode='exp_range', gamma=0.5, "
          "scale_fn=lambda c: 1 / (1 + 0.01 * c), cycle_momentum=False",
          {"name": "cyclic", "base_value": 0.01, "max_value": 0.1, "step_size_up": 2,
           "mode": "exp_range", "gamma": 0.5, "scale_fn": "tests.reference:damped"},
          range(20)),
    ]  # fmt: skip


def optax_more_cases() -> list[Case]:
    """Golden cases for optax's warmup, one-cycle, piecewise and SGDR schedules (float64).

    Returns:
        The cases.
    """
    jax.config.update("jax_enable_x64", True)
    c = functools.partial(_formula_case, optax)

    def sgdr_case(case_id: str, cycles: list[dict[str, Any]], steps: Steps) -> Case:
        schedule = optax.sgdr_schedule(cycles)
        values = [np.asarray(schedule(step)) for step in steps]
        reference = _call_repr("optax.sgdr_schedule", {"cosine_kwargs": cycles})
        config = {"get": "sgdr", "kwargs": {"cosine_kwargs": cycles}}
        return _case(case_id, reference, config, steps, values)

    cycle = {"init_value": 0.0, "peak_value": 0.1, "warmup_steps": 3, "decay_steps": 10}
    return [
        c("optax_warmup_constant", "warmup_constant_schedule",
          {"init_value": 0.0, "peak_value": 0.1, "warmup_steps": 8},
          {"name": "warmup_constant", "init_value": 0.0, "peak_value": 0.1, "warmup_steps": 8},
          [*range(12), *HUGE_STEPS]),
        c("optax_warmup_constant_from_above", "warmup_constant_schedule",
          {"init_value": 0.5, "peak_value": 0.1, "warmup_steps": 3},
          {"name": "warmup_constant", "init_value": 0.5, "peak_value": 0.1, "warmup_steps": 3},
          range(6)),
        c("optax_warmup_exponential", "warmup_exponential_decay_schedule",
          {"init_value": 0.0, "peak_value": 0.1, "warmup_steps": 5, "transition_steps": 3,
           "decay_rate": 0.5},
          {"name": "warmup_exponential_decay", "init_value": 0.0, "peak_value": 0.1,
           "warmup_steps": 5, "transition_steps": 3, "decay_rate": 0.5}, range(30)),
        c("optax_warmup_exponential_staircase_begin_end", "warmup_exponential_decay_schedule",
          {"init_value": 0.01, "peak_value": 0.1, "warmup_steps": 4, "transition_steps": 2,
           "decay_rate": 0.7, "transition_begin": 3, "staircase": True, "end_value": 0.02},
          {"name": "warmup_exponential_decay", "init_value": 0.01, "peak_value": 0.1,
           "warmup_steps": 4, "transition_steps": 2, "decay_rate": 0.7, "transition_begin": 3,
           "staircase": True, "end_value": 0.02}, range(30)),
        c("optax_warmup_exponential_no_warmup", "warmup_exponential_decay_schedule",
          {"init_value": 0.0, "peak_value": 0.1, "warmup_steps": 0, "transition_steps": 1,
           "decay_rate": 0.9},
          {"name": "warmup_exponential_decay", "init_value": 0.0, "peak_value": 0.1,
           "warmup_steps": 0, "transition_steps": 1, "decay_rate": 0.9}, range(10)),
        c("optax_linear_onecycle_defaults", "linear_onecycle_schedule",
          {"transition_steps": 100, "peak_value": 0.1},
          {"name": "linear_onecycle", "transition_steps": 100, "peak_value": 0.1},
          [*range(110), *HUGE_STEPS]),
        c("optax_linear_onecycle_fractional", "linear_onecycle_schedule",
          {"transition_steps": 37, "peak_value": 0.05, "pct_start": 0.35, "pct_final": 0.7,
           "div_factor": 10.0, "final_div_factor": 100.0},
          {"name": "linear_onecycle", "transition_steps": 37, "peak_value": 0.05,
           "pct_start": 0.35, "pct_final": 0.7, "div_factor": 10.0,
           "final_div_factor": 100.0}, range(40)),
        c("optax_linear_onecycle_zero_start", "linear_onecycle_schedule",
          {"transition_steps": 10, "peak_value": 1.0, "pct_start": 0.05, "pct_final": 0.5},
          {"name": "linear_onecycle", "transition_steps": 10, "peak_value": 1.0,
           "pct_start": 0.05, "pct_final": 0.5}, range(12)),
        c("optax_cosine_onecycle_defaults", "cosine_onecycle_schedule",
          {"transition_steps": 100, "peak_value": 0.1},
          {"name": "cosine_onecycle", "transition_steps": 100, "peak_value": 0.1},
          [*range(105), *HUGE_STEPS]),
        c("optax_cosine_onecycle_fractional", "cosine_onecycle_schedule",
          {"transition_steps": 33, "peak_value": 0.1, "pct_start": 0.25, "div_factor": 5.0,
           "final_div_factor": 50.0},
          {"name": "cosine_onecycle", "transition_steps": 33, "peak_value": 0.1,
           "pct_start": 0.25, "div_factor": 5.0, "final_div_factor": 50.0}, range(36)),
        c("optax_piecewise_interpolate_linear", "piecewise_interpolate_schedule",
          {"interpolate_type": "linear", "init_value": 0.1,
           "boundaries_and_scales": {5: 2.0, 12: 0.1, 20: 0.5}},
          {"name": "piecewise_interpolate", "init_value": 0.1, "boundaries": [5, 12, 20],
           "scales": [2.0, 0.1, 0.5]}, range(25)),
        c("optax_piecewise_interpolate_cosine_unsorted", "piecewise_interpolate_schedule",
          {"interpolate_type": "cosine", "init_value": 0.1,
           "boundaries_and_scales": {15: 0.1, 4: 3.0}},
          {"name": "piecewise_interpolate", "init_value": 0.1, "boundaries": [4, 15],
           "scales": [3.0, 0.1], "interpolate_type": "cosine"}, range(20)),
        c("optax_piecewise_interpolate_zero_boundary", "piecewise_interpolate_schedule",
          {"interpolate_type": "linear", "init_value": 1.0,
           "boundaries_and_scales": {0: 0.5, 3: 0.0}},
          {"name": "piecewise_interpolate", "init_value": 1.0, "boundaries": [0, 3],
           "scales": [0.5, 0.0]}, range(6)),
        c("optax_piecewise_interpolate_none", "piecewise_interpolate_schedule",
          {"interpolate_type": "linear", "init_value": 0.3, "boundaries_and_scales": None},
          {"name": "piecewise_interpolate", "init_value": 0.3, "boundaries": [],
           "scales": []}, range(4)),
        c("optax_piecewise_constant_scales", "piecewise_constant_schedule",
          {"init_value": 0.1, "boundaries_and_scales": {10: 0.5, 4: 2.0, 20: 0.0}},
          {"name": "piecewise_constant_scales", "init_value": 0.1, "boundaries": [10, 4, 20],
           "scales": [0.5, 2.0, 0.0]}, [*range(25), *HUGE_STEPS]),
        c("optax_piecewise_constant_scales_zero", "piecewise_constant_schedule",
          {"init_value": 1.0, "boundaries_and_scales": {0: 0.1, 1: 0.1}},
          {"name": "piecewise_constant_scales", "init_value": 1.0, "boundaries": [0, 1],
           "scales": [0.1, 0.1]}, range(4)),
        sgdr_case("optax_sgdr_equal_cycles", [cycle, cycle, cycle], range(35)),
        sgdr_case("optax_sgdr_varied_cycles",
                  [{"init_value": 0.0, "peak_value": 0.1, "warmup_steps": 2, "decay_steps": 8},
                   {"init_value": 0.01, "peak_value": 0.05, "warmup_steps": 4,
                    "decay_steps": 12, "end_value": 0.001, "exponent": 2.0},
                   {"init_value": 0.0, "peak_value": 0.02, "warmup_steps": 0,
                    "decay_steps": 5}], range(30)),
    ]  # fmt: skip


def main() -> None:
    """Runs every reference library and writes ``golden.json``.

    Raises:
        ValueError: If two cases share an id.
    """
    cases = [
        *torch_cases(),
        *transformers_cases(),
        *registry_cases(),
        *keras_cases(),
        *optax_cases(),
        *timm_cases(),
        *torch_more_cases(),
        *optax_more_cases(),
        *timm_cosine_cases(),
    ]
    # The peers' names, ported by jaxsched.get (issue 19), and the porting table they make.
    from generate_port import port_cases, refused_cases, stateful_cases

    from tests import port_table

    cases += port_cases()
    stateful, refused = stateful_cases(), refused_cases()
    ids = [case["id"] for case in [*cases, *stateful, *refused]]
    duplicates = sorted({case_id for case_id in ids if ids.count(case_id) > 1})
    if duplicates:
        raise ValueError(f"duplicate case ids: {duplicates}")
    golden = {
        "meta": {
            "generated_by": "tests/golden/generate.py",
            "versions": {name: importlib.metadata.version(name) for name in REFERENCE_PACKAGES},
        },
        "cases": cases,
        "stateful": stateful,
        "refused": refused,
    }
    OUTPUT.write_text(json.dumps(golden, indent=1, allow_nan=False) + "\n")
    port_table.write(golden)
    print(
        f"wrote {len(cases)} cases and {len(stateful)} stateful ones to {OUTPUT}, and the "
        f"porting table to {port_table.PAGE}"
    )


if __name__ == "__main__":
    main()
