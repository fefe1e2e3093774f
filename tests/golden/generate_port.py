"""Golden port cases: each peer scheduler by its own name, and the table of `docs/porting.md`.

Imported by `generate.py` (run that one). Every case here records the peer's values for one
call in the peer's words and stores three texts beside them: the peer's call as the porting
table shows it, the `jaxsched.get` call that ports it by name (in the peer's words) and the
same schedule in jaxsched's own words. `tests/test_port.py` runs both jaxsched calls against
the values and checks that the table on the page is the one `tests/port_table.py` renders
from these cases. Torch, transformers and timm run on an SGD optimizer built with
`lr=BASE_LR`; Keras computes in float64 (set up by `generate.keras_cases`).

Stateful schedulers (the plateau ones) are recorded over a metric sequence instead of steps,
into the golden file's `stateful` list.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import transformers
from generate import BASE_LR, _case, _load_timm_scheduler, _record_torch

L = torch.optim.lr_scheduler
Case = dict[str, Any]


class Src:
    """A value written into a call's text as given (a lambda, say)."""

    def __init__(self, text: str) -> None:
        self.text = text


def src(value: Any) -> str:
    """`value` as Python source, strings in double quotes (the docs' style)."""
    if isinstance(value, Src):
        return value.text
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{src(k)}: {src(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(src(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(src(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


def args(kwargs: dict[str, Any]) -> str:
    return ", ".join(f"{k}={src(v)}" for k, v in kwargs.items())


def plain(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The kwargs with `Src` values dropped to their config form (`Src.config`)."""
    return {k: getattr(v, "config", v) for k, v in kwargs.items()}


def port(
    case_id: str,
    library: str,
    peer: str,
    call: str | None,
    own: str,
    config: dict[str, Any],
    steps: Sequence[int],
    values: Sequence[float],
    quantity: str = "lr",
) -> Case:
    case = _case(case_id, f"{library}: {peer}", config, steps, values, quantity)
    case["port"] = {"library": library, "peer": peer, "call": call, "own": own}
    return case


# ----------------------------------------------------------------------------- torch


def _torch(
    case_id: str,
    name: str,
    kwargs: dict[str, Any],
    own: str,
    steps: Sequence[int],
    *,
    make: Callable[[Any], Any] | None = None,
    peer: str | None = None,
    takes_lr: bool = True,
    quantity: str = "lr",
    config: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Case:
    """A torch scheduler `name(optimizer, **kwargs)`; `make` builds it when kwargs cannot;
    `extra` are jaxsched's own arguments to `get` (MultiplicativeLR's `max_steps`)."""
    cls = torch.optim.swa_utils.SWALR if name == "SWALR" else getattr(L, name)
    real = {k: getattr(v, "fn", v) for k, v in kwargs.items()}
    values = _record_torch(make or (lambda opt: cls(opt, **real)), BASE_LR, steps, quantity)
    get_kwargs = {"lr": BASE_LR, **kwargs, **(extra or {})} if takes_lr else kwargs
    call = f"jaxsched.get({src(name)}, {args(get_kwargs)})"
    if quantity != "lr":  # get ports the learning rate; the momentum is its own schedule
        peer, call = f"{peer or f'{name}(optimizer, {args(kwargs)})'}, its momentum", None
    config = config or {"get": name, "kwargs": plain(get_kwargs)}
    peer = peer or f"{name}(optimizer, {args(kwargs)})"
    return port(case_id, "torch", peer, call, own, config, steps, values, quantity)


class Fn(Src):
    """A function: its source text for the table, its config string, and itself for torch."""

    def __init__(self, text: str, config: str, fn: Callable[..., Any]) -> None:
        super().__init__(text)
        self.config, self.fn = config, fn


def torch_port_cases() -> list[Case]:
    c = _torch
    geometric = Fn("lambda t: 0.95**t", "tests.reference:geometric", lambda t: 0.95**t)
    slowing = Fn("lambda t: 0.9", "tests.reference:ninety_percent", lambda t: 0.9)
    sequential = [{"name": "LinearLR", "start_factor": 0.1, "total_iters": 5},
                  {"name": "CosineAnnealingLR", "T_max": 10}]  # fmt: skip
    chained = [{"name": "ConstantLR", "factor": 0.5, "total_iters": 3},
               {"name": "ExponentialLR", "gamma": 0.9}]  # fmt: skip
    return [
        c("port_torch_step", "StepLR", {"step_size": 3, "gamma": 0.5},
          "jaxsched.step_decay(0.1, step_size=3, decay_rate=0.5)", range(12)),
        c("port_torch_multistep", "MultiStepLR", {"milestones": [3, 7], "gamma": 0.2},
          "jaxsched.multistep_decay(0.1, milestones=(3, 7), decay_rate=0.2)", range(12)),
        c("port_torch_constant", "ConstantLR", {"factor": 0.25, "total_iters": 4},
          "jaxsched.constant_factor(0.1, factor=0.25, transition_steps=4)", range(8)),
        c("port_torch_linear", "LinearLR", {"start_factor": 0.1, "total_iters": 5},
          "jaxsched.linear(0.01, 0.1, transition_steps=5)", range(8)),
        c("port_torch_exponential", "ExponentialLR", {"gamma": 0.9},
          "jaxsched.exponential_decay(0.1, decay_rate=0.9)", range(10)),
        c("port_torch_polynomial", "PolynomialLR", {"total_iters": 8, "power": 2.0},
          "jaxsched.polynomial_decay(0.1, 0.0, decay_steps=8, power=2.0)", range(11)),
        # torch climbs back up after T_max; jaxsched holds eta_min (conventions table).
        c("port_torch_cosine", "CosineAnnealingLR", {"T_max": 10, "eta_min": 0.001},
          "jaxsched.cosine_decay(0.1, decay_steps=10, end_value=0.001)", range(11)),
        c("port_torch_warm_restarts", "CosineAnnealingWarmRestarts",
          {"T_0": 4, "T_mult": 2, "eta_min": 0.001},
          "jaxsched.cosine_restarts(0.1, first_decay_steps=4, t_mul=2.0, end_value=0.001)",
          range(30)),
        c("port_torch_cyclic", "CyclicLR",
          {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4, "mode": "triangular2"},
          'jaxsched.cyclic(0.01, 0.1, step_size_up=4, mode="triangular2")', range(30),
          takes_lr=False),
        c("port_torch_cyclic_momentum", "CyclicLR",
          {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4, "mode": "triangular2"},
          'jaxsched.cyclic(0.9, 0.8, step_size_up=4, mode="triangular2")', range(30),
          takes_lr=False, quantity="momentum",
          config={"name": "cyclic", "base_value": 0.9, "max_value": 0.8, "step_size_up": 4,
                  "mode": "triangular2"}),
        c("port_torch_one_cycle", "OneCycleLR",
          {"max_lr": 0.1, "total_steps": 100, "pct_start": 0.25},
          "jaxsched.one_cycle(0.1, total_steps=100, pct_start=0.25)", range(100),
          takes_lr=False),
        c("port_torch_one_cycle_epochs", "OneCycleLR",
          {"max_lr": 0.1, "epochs": 4, "steps_per_epoch": 25, "three_phase": True},
          "jaxsched.one_cycle(0.1, total_steps=100, three_phase=True)", range(100),
          takes_lr=False),
        # torch's own tests cycle the momentum between 1 and 22: any finite momentum goes.
        c("port_torch_one_cycle_momentum", "OneCycleLR",
          {"max_lr": 0.1, "total_steps": 20, "base_momentum": 1.0, "max_momentum": 22.0},
          "jaxsched.one_cycle_momentum(20, base_momentum=1.0, max_momentum=22.0)", range(20),
          takes_lr=False, quantity="momentum",
          config={"name": "one_cycle_momentum", "total_steps": 20, "base_momentum": 1.0,
                  "max_momentum": 22.0}),
        c("port_torch_lambda", "LambdaLR", {"lr_lambda": geometric},
          "jaxsched.lambda_schedule(lambda t: 0.95**t, init_value=0.1)", range(12)),
        c("port_torch_multiplicative", "MultiplicativeLR", {"lr_lambda": slowing},
          "jaxsched.multiplicative(lambda t: 0.9, max_steps=20, init_value=0.1)", range(21),
          extra={"max_steps": 20}),
        c("port_torch_swa", "SWALR", {"swa_lr": 0.05, "anneal_epochs": 5},
          "jaxsched.swa(0.1, swa_value=0.05, anneal_steps=5)", range(8)),
        c("port_torch_sequential", "SequentialLR",
          {"schedulers": sequential, "milestones": [5]},
          "jaxsched.join((jaxsched.linear(0.01, 0.1, 5), jaxsched.cosine_decay(0.1, 10)), "
          "boundaries=(5,))", range(16),
          make=lambda opt: L.SequentialLR(opt, [L.LinearLR(opt, start_factor=0.1, total_iters=5),
                                                L.CosineAnnealingLR(opt, T_max=10)], [5]),
          peer="SequentialLR(optimizer, [LinearLR(optimizer, start_factor=0.1, total_iters=5), "
               "CosineAnnealingLR(optimizer, T_max=10)], milestones=[5])"),
        c("port_torch_chained", "ChainedScheduler", {"schedulers": chained},
          "jaxsched.product(jaxsched.constant_factor(0.1, 0.5, 3), "
          "jaxsched.exponential_decay(1.0, 0.9))", range(10),
          make=lambda opt: L.ChainedScheduler([L.ConstantLR(opt, factor=0.5, total_iters=3),
                                               L.ExponentialLR(opt, gamma=0.9)]),
          peer="ChainedScheduler([ConstantLR(optimizer, factor=0.5, total_iters=3), "
               "ExponentialLR(optimizer, gamma=0.9)])"),
    ]  # fmt: skip


# ----------------------------------------------------------------------------- transformers


def _hf_function(
    case_id: str, function: str, kwargs: dict[str, Any], own: str, steps: Sequence[int]
) -> Case:
    make = getattr(transformers, function)
    values = _record_torch(lambda opt: make(opt, **kwargs), BASE_LR, steps)
    call = f"jaxsched.get({src(function)}, {args({'lr': BASE_LR, **kwargs})})"
    peer = f"{function}(optimizer{', ' if kwargs else ''}{args(kwargs)})"
    config = {"get": function, "kwargs": {"lr": BASE_LR, **kwargs}}
    return port(case_id, "transformers", peer, call, own, config, steps, values)


def _hf_type(
    case_id: str, name: str, specific: dict[str, Any], own: str, steps: Sequence[int]
) -> Case:
    """`get_scheduler(name, optimizer, num_warmup_steps=4, num_training_steps=16, ...)`: the
    Trainer's uniform call, both counts for every name."""
    counts = {"num_warmup_steps": 4, "num_training_steps": 16}
    values = _record_torch(
        lambda opt: transformers.get_scheduler(
            name, opt, **counts, scheduler_specific_kwargs=specific or None
        ),
        BASE_LR,
        steps,
    )
    extra = f", scheduler_specific_kwargs={src(specific)}" if specific else ""
    peer = f"get_scheduler({src(name)}, optimizer, {args(counts)}{extra})"
    call = f"jaxsched.get({src(name)}, {args({'peak_value': BASE_LR, **counts, **specific})})"
    config = {"get": name, "kwargs": {"peak_value": BASE_LR, **counts, **specific}}
    return port(case_id, "transformers", peer, call, own, config, steps, values)


def transformers_port_cases() -> list[Case]:
    f, t = _hf_function, _hf_type
    return [
        f("port_hf_constant", "get_constant_schedule", {}, "jaxsched.constant(0.1)", range(6)),
        f("port_hf_constant_warmup", "get_constant_schedule_with_warmup",
          {"num_warmup_steps": 4}, "jaxsched.warmup(jaxsched.constant(0.1), 4)", range(8)),
        f("port_hf_linear", "get_linear_schedule_with_warmup",
          {"num_warmup_steps": 3, "num_training_steps": 12},
          "jaxsched.warmup(jaxsched.linear(0.1, 0.0, 9), 3)", range(15)),
        # transformers' cosines climb back up after num_training_steps; jaxsched holds.
        f("port_hf_cosine", "get_cosine_schedule_with_warmup",
          {"num_warmup_steps": 3, "num_training_steps": 13},
          "jaxsched.warmup(jaxsched.cosine_decay(0.1, 10), 3)", range(14)),
        f("port_hf_hard_restarts", "get_cosine_with_hard_restarts_schedule_with_warmup",
          {"num_warmup_steps": 2, "num_training_steps": 14, "num_cycles": 3},
          "jaxsched.warmup(jaxsched.cosine_restarts(0.1, 4, cycle_limit=3), 2)", range(18)),
        f("port_hf_polynomial", "get_polynomial_decay_schedule_with_warmup",
          {"num_warmup_steps": 2, "num_training_steps": 12, "lr_end": 0.01, "power": 2.0},
          "jaxsched.warmup(jaxsched.polynomial_decay(0.1, 0.01, 10, power=2.0), 2)",
          range(15)),
        f("port_hf_inverse_sqrt", "get_inverse_sqrt_schedule", {"num_warmup_steps": 4},
          "jaxsched.inverse_sqrt(0.1, warmup_steps=4)", range(20)),
        f("port_hf_cosine_min_lr", "get_cosine_with_min_lr_schedule_with_warmup",
          {"num_warmup_steps": 3, "num_training_steps": 13, "min_lr": 0.01},
          "jaxsched.warmup(jaxsched.cosine_decay(0.1, 10, end_value=0.01), 3)", range(14)),
        # Its warmup peaks at step num_warmup_steps - 1 and its cosine runs a step ahead.
        f("port_hf_cosine_min_lr_rate", "get_cosine_with_min_lr_schedule_with_warmup_lr_rate",
          {"num_warmup_steps": 4, "num_training_steps": 14, "min_lr_rate": 0.1},
          "jaxsched.warmup(jaxsched.cosine_decay(0.1, 10, end_value=0.01), 3, init_value=0.025)",
          range(14)),
        f("port_hf_cosine_min_lr_rate_warmup_rate",
          "get_cosine_with_min_lr_schedule_with_warmup_lr_rate",
          {"num_warmup_steps": 5, "num_training_steps": 15, "min_lr_rate": 0.1,
           "warmup_lr_rate": 0.2},
          "jaxsched.warmup(jaxsched.cosine_decay(0.1, 10, end_value=0.01), 4, init_value=0.02)",
          range(15)),
        f("port_hf_cosine_min_lr_rate_no_warmup",
          "get_cosine_with_min_lr_schedule_with_warmup_lr_rate",
          {"num_warmup_steps": 0, "num_training_steps": 10, "min_lr": 0.01},
          "jaxsched.advance(jaxsched.cosine_decay(0.1, 10, end_value=0.01), steps=1)",
          range(10)),
        f("port_hf_cosine_min_lr_rate_one_warmup",
          "get_cosine_with_min_lr_schedule_with_warmup_lr_rate",
          {"num_warmup_steps": 1, "num_training_steps": 11, "min_lr": 0.01,
           "warmup_lr_rate": 0.5},
          "jaxsched.join((jaxsched.constant(0.05), jaxsched.advance(jaxsched.cosine_decay(0.1, "
          "10, end_value=0.01), steps=1)), boundaries=(1,))", range(11)),
        f("port_hf_wsd", "get_wsd_schedule",
          {"num_warmup_steps": 3, "num_decay_steps": 4, "num_stable_steps": 5,
           "min_lr_ratio": 0.1},
          "jaxsched.warmup_stable_decay(0.1, 12, 3, 4, init_value=0.01, end_value=0.01, "
          'decay_shape="cosine")', range(15)),
        # The Trainer's uniform call: both counts for every SchedulerType name.
        t("port_hf_type_linear", "linear", {},
          "jaxsched.warmup(jaxsched.linear(0.1, 0.0, 12), 4)", range(18)),
        t("port_hf_type_cosine", "cosine", {},
          "jaxsched.warmup(jaxsched.cosine_decay(0.1, 12), 4)", range(17)),
        t("port_hf_type_restarts", "cosine_with_restarts", {"num_cycles": 2},
          "jaxsched.warmup(jaxsched.cosine_restarts(0.1, 6, cycle_limit=2), 4)", range(18)),
        t("port_hf_type_polynomial", "polynomial", {"lr_end": 0.01},
          "jaxsched.warmup(jaxsched.polynomial_decay(0.1, 0.01, 12), 4)", range(18)),
        t("port_hf_type_constant", "constant", {}, "jaxsched.constant(0.1)", range(6)),
        t("port_hf_type_constant_warmup", "constant_with_warmup", {},
          "jaxsched.warmup(jaxsched.constant(0.1), 4)", range(8)),
        t("port_hf_type_inverse_sqrt", "inverse_sqrt", {},
          "jaxsched.inverse_sqrt(0.1, warmup_steps=4)", range(20)),
        t("port_hf_type_cosine_min_lr", "cosine_with_min_lr", {"min_lr_rate": 0.1},
          "jaxsched.warmup(jaxsched.cosine_decay(0.1, 12, end_value=0.01), 4)", range(17)),
        t("port_hf_type_cosine_warmup_min_lr", "cosine_warmup_with_min_lr",
          {"min_lr_rate": 0.1},
          "jaxsched.warmup(jaxsched.cosine_decay(0.1, 12, end_value=0.01), 3, init_value=0.025)",
          range(16)),
        t("port_hf_type_wsd", "warmup_stable_decay", {"num_decay_steps": 5},
          'jaxsched.warmup_stable_decay(0.1, 16, 4, 5, decay_shape="cosine")', range(20)),
    ]  # fmt: skip


# ----------------------------------------------------------------------------- timm


def _timm_factory() -> Callable[..., Any]:
    # multistep_lr.py imports `timm.scheduler.scheduler` by its absolute name, which would run
    # timm/__init__.py (and torchvision); point that name at the stand-alone copy instead.
    _load_timm_scheduler("scheduler", "Scheduler")
    spec = importlib.util.find_spec("timm")
    sys.modules.setdefault("timm", importlib.util.module_from_spec(spec))  # not executed
    sys.modules.setdefault("timm.scheduler", sys.modules["_timm_scheduler"])
    sys.modules.setdefault("timm.scheduler.scheduler", sys.modules["_timm_scheduler.scheduler"])
    return _load_timm_scheduler("scheduler_factory", "create_scheduler_v2")


class _Untouched:
    """timm's `sched="none"`: no scheduler, the optimizer keeps its learning rate."""

    def step(self, t: int) -> None:
        del t


def _timm(
    case_id: str,
    name: str,
    kwargs: dict[str, Any],
    own: str,
    steps: Sequence[int],
    on_updates: bool = False,
) -> Case:
    """timm's `create_scheduler_v2(optimizer, **kwargs)` or a scheduler class, read as the
    golden timm cases are: the learning rate after `scheduler.step(t)` (`step_update(t)`
    when it steps on updates)."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=BASE_LR, momentum=0.9)
    factory = _timm_factory()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name == "create_scheduler_v2":
            scheduler = factory(optimizer, **kwargs)[0] or _Untouched()
        else:
            module = {"CosineLRScheduler": "cosine_lr", "TanhLRScheduler": "tanh_lr",
                      "StepLRScheduler": "step_lr", "MultiStepLRScheduler": "multistep_lr",
                      "PolyLRScheduler": "poly_lr", "WSDLRScheduler": "wsd_lr"}[name]  # fmt: skip
            scheduler = _load_timm_scheduler(module, name)(optimizer, **kwargs)
    values = []
    for step in steps:
        (scheduler.step_update if on_updates else scheduler.step)(step)
        values.append(optimizer.param_groups[0]["lr"])
    call = f"jaxsched.get({src(name)}, {args({'lr': BASE_LR, **kwargs})})"
    peer = f"{name}(optimizer, {args(kwargs)})"
    config = {"get": name, "kwargs": {"lr": BASE_LR, **kwargs}}
    return port(case_id, "timm", peer, call, own, config, steps, values)


def timm_port_cases() -> list[Case]:
    c = _timm
    v2 = "create_scheduler_v2"
    return [
        c("port_timm_cosine", v2,
          {"sched": "cosine", "num_epochs": 20, "warmup_epochs": 3, "warmup_lr": 0.001,
           "min_lr": 0.001},
          "jaxsched.warmup(jaxsched.cosine_restarts(0.1, 20, end_value=0.001, cycle_limit=1), "
          "3, init_value=0.001, prefix=False)", range(25)),
        c("port_timm_cosine_cycles", v2,
          {"sched": "cosine", "num_epochs": 10, "cycle_limit": 3, "cycle_decay": 0.5,
           "cycle_mul": 2.0, "k_decay": 2.0, "warmup_lr": 0.0},
          "jaxsched.cosine_restarts(0.1, 10, t_mul=2.0, cycle_limit=3, cycle_decay=0.5, "
          "k_decay=2.0)", range(75)),
        c("port_timm_cosine_updates", v2,
          {"sched": "cosine", "num_epochs": 4, "warmup_epochs": 1, "warmup_lr": 0.0,
           "step_on_epochs": False, "updates_per_epoch": 5},
          "jaxsched.warmup(jaxsched.cosine_restarts(0.1, 20, cycle_limit=1), 5, prefix=False)",
          range(24), on_updates=True),
        # timm's tanh warmup heads for the value where the warmup ends (continuous=True).
        c("port_timm_tanh", v2,
          {"sched": "tanh", "num_epochs": 20, "warmup_epochs": 4, "warmup_lr": 0.0,
           "min_lr": 0.001},
          "jaxsched.warmup(jaxsched.tanh_decay(0.1, 0.001, 20), 4, prefix=False, "
          "continuous=True)", range(24)),
        c("port_timm_step", v2,
          {"sched": "step", "decay_epochs": 3, "decay_rate": 0.5, "warmup_epochs": 2,
           "warmup_lr": 0.01},
          "jaxsched.warmup(jaxsched.step_decay(0.1, 3, 0.5), 2, init_value=0.01, prefix=False)",
          range(14)),
        c("port_timm_constant", v2, {"sched": "constant", "warmup_epochs": 3, "warmup_lr": 0.0},
          "jaxsched.warmup(jaxsched.constant(0.1), 3)", range(6)),
        # timm decays one step before each milestone.
        c("port_timm_multistep", v2,
          {"sched": "multistep", "decay_milestones": [4, 8], "decay_rate": 0.5,
           "warmup_lr": 0.0},
          "jaxsched.multistep_decay(0.1, milestones=(3, 7), decay_rate=0.5)", range(12)),
        c("port_timm_poly", v2,
          {"sched": "poly", "num_epochs": 12, "decay_rate": 2.0, "k_decay": 1.5,
           "min_lr": 0.001, "warmup_lr": 0.0},
          "jaxsched.polynomial_decay(0.1, 0.001, 12, power=2.0, k_decay=1.5)", range(15)),
        c("port_timm_wsd", v2,
          {"sched": "wsd", "num_epochs": 20, "warmup_epochs": 4, "decay_epochs": 0.25,
           "min_lr": 0.001, "warmup_lr": 0.0},
          "jaxsched.warmup_stable_decay(0.1, 20, 4, 4, end_value=0.001, "
          'decay_shape="1-sqrt")', range(23)),
        c("port_timm_rsqrt", v2,
          {"sched": "rsqrt", "num_epochs": 20, "warmup_epochs": 4, "warmup_lr": 0.0},
          "jaxsched.product(jaxsched.warmup(jaxsched.inverse_sqrt(0.1, 0, timescale=4), 4), "
          "jaxsched.warmup_stable_decay(1.0, 20, 0, 3, init_value=1.0))", range(23)),
        c("port_timm_none", v2, {"sched": "none"}, "jaxsched.constant(0.1)", range(4)),
        c("port_timm_tanh_class", "TanhLRScheduler",
          {"t_initial": 15, "warmup_t": 3, "warmup_lr_init": 0.01, "lr_min": 0.001},
          "jaxsched.warmup(jaxsched.tanh_decay(0.1, 0.001, 15), 3, init_value=0.01, "
          "prefix=False, continuous=True)", range(18)),
        c("port_timm_multistep_class", "MultiStepLRScheduler",
          {"decay_t": [3, 6], "decay_rate": 0.5, "warmup_t": 2, "warmup_lr_init": 0.02},
          "jaxsched.warmup(jaxsched.multistep_decay(0.1, (2, 5), 0.5), 2, init_value=0.02)",
          range(12)),
        c("port_timm_poly_class", "PolyLRScheduler",
          {"t_initial": 10, "power": 1.0, "k_decay": 2.0},
          "jaxsched.polynomial_decay(0.1, 0.0, 10, k_decay=2.0)", range(13)),
        c("port_timm_step_class", "StepLRScheduler", {"decay_t": 4, "decay_rate": 0.5},
          "jaxsched.step_decay(0.1, 4, 0.5)", range(13)),
        c("port_timm_cosine_class", "CosineLRScheduler",
          {"t_initial": 10, "lr_min": 0.01, "warmup_t": 2, "warmup_lr_init": 0.001,
           "warmup_prefix": True},
          "jaxsched.warmup(jaxsched.cosine_restarts(0.1, 10, end_value=0.01, cycle_limit=1), 2, "
          "init_value=0.001)", range(15)),
        c("port_timm_wsd_class", "WSDLRScheduler",
          {"t_initial": 12, "decay_t": 4, "decay_fn": "cosine", "warmup_t": 2},
          'jaxsched.warmup_stable_decay(0.1, 14, 2, 4, decay_shape="cosine")', range(16)),
    ]  # fmt: skip


# ----------------------------------------------------------------------------- keras


def _keras(case_id: str, name: str, kwargs: dict[str, Any], own: str, steps: Sequence[int]) -> Case:
    os.environ["KERAS_BACKEND"] = "torch"
    import keras  # the backend is chosen first, as in generate.keras_cases

    keras.config.set_floatx("float64")
    schedule = getattr(keras.optimizers.schedules, name)(**kwargs)
    values = [float(np.asarray(schedule(step))) for step in steps]
    call = f"jaxsched.get({src(name)}, {args(kwargs)})"
    peer = f"{name}({args(kwargs)})"
    config = {"get": name, "kwargs": kwargs}
    return port(case_id, "keras", peer, call, own, config, steps, values)


def keras_port_cases() -> list[Case]:
    c = _keras
    return [
        c("port_keras_exponential", "ExponentialDecay",
          {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5, "staircase": True},
          "jaxsched.exponential_decay(0.1, 0.5, transition_steps=10, staircase=True)",
          range(35)),
        # Keras switches one step after each boundary.
        c("port_keras_piecewise", "PiecewiseConstantDecay",
          {"boundaries": [5, 10], "values": [0.1, 0.05, 0.01]},
          "jaxsched.piecewise_constant(boundaries=(6, 11), values=(0.1, 0.05, 0.01))",
          range(14)),
        c("port_keras_polynomial", "PolynomialDecay",
          {"initial_learning_rate": 0.1, "decay_steps": 10, "end_learning_rate": 0.01,
           "power": 2.0, "cycle": True},
          "jaxsched.polynomial_decay(0.1, 0.01, 10, power=2.0, cycle=True)", range(32)),
        c("port_keras_inverse_time", "InverseTimeDecay",
          {"initial_learning_rate": 0.1, "decay_steps": 5, "decay_rate": 0.5},
          "jaxsched.inverse_time_decay(0.1, 0.5, decay_steps=5)", range(20)),
        c("port_keras_cosine", "CosineDecay",
          {"initial_learning_rate": 0.1, "decay_steps": 20, "alpha": 0.1},
          "jaxsched.cosine_decay(0.1, 20, end_value=0.01)", range(25)),
        # Keras counts decay_steps after the warmup; jaxsched's decay_steps include it.
        c("port_keras_cosine_warmup", "CosineDecay",
          {"initial_learning_rate": 0.0, "decay_steps": 20, "alpha": 0.05,
           "warmup_target": 0.1, "warmup_steps": 5},
          "jaxsched.warmup_cosine_decay(0.0, 0.1, 5, 25, end_value=0.005)", range(30)),
        c("port_keras_restarts", "CosineDecayRestarts",
          {"initial_learning_rate": 0.1, "first_decay_steps": 5, "t_mul": 2.0, "m_mul": 0.8,
           "alpha": 0.05},
          "jaxsched.cosine_restarts(0.1, 5, t_mul=2.0, m_mul=0.8, end_value=0.005)",
          range(40)),
    ]  # fmt: skip


# ----------------------------------------------------------------------------- refused


def refused_cases() -> list[Case]:
    """Names that `jaxsched.get` refuses, saying what to use instead: no values."""
    text = "refused: ValueError says what to use instead"
    rows = [
        ("transformers", 'get_scheduler("greedy", optimizer, num_warmup_steps=4, '
         'num_training_steps=16)',
         'jaxsched.get("greedy", peak_value=0.1, num_warmup_steps=4, num_training_steps=16)'),
        ("transformers", "get_greedy_schedule(optimizer)",
         'jaxsched.get("get_greedy_schedule", lr=0.1)'),
        ("timm", 'create_scheduler_v2(optimizer, sched="plateau")',
         'jaxsched.get("create_scheduler_v2", lr=0.1, sched="plateau")'),
    ]  # fmt: skip
    return [
        {"id": f"port_refused_{i}", "port": {"library": library, "peer": peer, "call": call,
                                             "own": None, "refused": text}}
        for i, (library, peer, call) in enumerate(rows)
    ]  # fmt: skip


# ----------------------------------------------------------------------------- stateful


def _metrics() -> list[float]:
    """A loss that improves, stalls, wobbles and improves again (float32-representable)."""
    t = np.arange(30)
    loss = 2.0 * np.exp(-t / 6.0) + 0.3 * (t > 12) * np.sin(t) ** 2 + 0.5
    return [float(v) for v in loss.astype(np.float32)]


def _stateful(
    case_id: str, library: str, peer: str, call: str, own: str, make: Callable[[Any], Any],
    epoch_offset: int | None = None,
) -> Case:  # fmt: skip
    """Values after each `scheduler.step(metric)` (timm: `step(epoch + 1, metric)`)."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=BASE_LR, momentum=0.9)
    metrics, values = _metrics(), []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler = make(optimizer)
        for epoch, metric in enumerate(metrics):
            optimizer.step()
            if epoch_offset is None:
                scheduler.step(metric)
            else:
                scheduler.step(epoch + epoch_offset, metric)
            values.append(float(optimizer.param_groups[0]["lr"]))
    return {"id": case_id, "reference": f"{library}: {peer}", "metrics": metrics,
            "values": values, "port": {"library": library, "peer": peer, "call": call,
                                       "own": own}}  # fmt: skip


def stateful_cases() -> list[Case]:
    plateau = "jaxsched.reduce_on_plateau(0.1, factor=0.5, patience=2)"
    timm_plateau = _load_timm_scheduler("plateau_lr", "PlateauLRScheduler")
    return [
        _stateful("port_torch_plateau", "torch",
                  "ReduceLROnPlateau(optimizer, factor=0.5, patience=2)",
                  'jaxsched.get("ReduceLROnPlateau", lr=0.1, factor=0.5, patience=2)', plateau,
                  lambda opt: L.ReduceLROnPlateau(opt, factor=0.5, patience=2)),
        _stateful("port_hf_plateau", "transformers",
                  "get_reduce_on_plateau_schedule(optimizer, factor=0.5, patience=2)",
                  'jaxsched.get("get_reduce_on_plateau_schedule", lr=0.1, factor=0.5, '
                  "patience=2)", plateau,
                  lambda opt: transformers.get_reduce_on_plateau_schedule(opt, factor=0.5,
                                                                          patience=2)),
        _stateful("port_hf_type_plateau", "transformers",
                  'get_scheduler("reduce_lr_on_plateau", optimizer, num_warmup_steps=4, '
                  'num_training_steps=16, scheduler_specific_kwargs={"factor": 0.5, '
                  '"patience": 2})',
                  'jaxsched.get("reduce_lr_on_plateau", peak_value=0.1, num_warmup_steps=4, '
                  "num_training_steps=16, factor=0.5, patience=2)", plateau,
                  lambda opt: transformers.get_scheduler(
                      "reduce_lr_on_plateau", opt, num_warmup_steps=4, num_training_steps=16,
                      scheduler_specific_kwargs={"factor": 0.5, "patience": 2})),
        # timm's training loop calls step(epoch + 1, metric); timm defaults to mode="max".
        _stateful("port_timm_plateau", "timm",
                  'PlateauLRScheduler(optimizer, decay_rate=0.5, patience_t=2, mode="min")',
                  'jaxsched.get("PlateauLRScheduler", lr=0.1, decay_rate=0.5, patience_t=2, '
                  'mode="min")', plateau,
                  lambda opt: timm_plateau(opt, decay_rate=0.5, patience_t=2, mode="min"),
                  epoch_offset=1),
    ]  # fmt: skip


def port_cases() -> list[Case]:
    """Every port case with values over steps, in the table's order."""
    return [
        *torch_port_cases(),
        *transformers_port_cases(),
        *timm_port_cases(),
        *keras_port_cases(),
    ]
