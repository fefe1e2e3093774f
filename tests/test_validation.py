"""Bad input is refused when a schedule is built, with a ValueError naming the parameter.

Every parameter of every constructor is tried with values that are not numbers here (bools,
strings, complex numbers, arrays of several values), every flag with values that are not
bools, and every number with values that only break in float32, the dtype schedules compute
in. The parameters come from the classes themselves, so a new schedule is covered the day it
is registered. A table of bad values and structures, case by case, checks the message, and that
a traced value is not checked inside jit while a concrete one still is.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched
from tests.catalogue import CATALOGUE
from tests.x64 import enable_x64

PLATEAU = jaxsched.reduce_on_plateau()
INSTANCES: dict[str, Any] = {**CATALOGUE, "reduce_on_plateau": PLATEAU}

NOT_NUMBERS = {
    "True": True,
    "False": False,
    "numpy bool": np.bool_(True),
    "string": "abc",
    "numeric string": "0.5",
    "complex": 1 + 2j,
    "array of two": np.asarray([1.0, 2.0]),
    "jax array of two": jnp.asarray([1.0, 2.0]),
    "list": [1.0],
    "dict": {"value": 1.0},
}
NOT_FLAGS = {"string false": "false", "one": 1, "None": None, "float": 0.0}


def _is_static(field: dataclasses.Field) -> bool:
    return bool(field.metadata.get("static"))


def _numeric_parameters() -> list[tuple[str, str, int | str | None]]:
    """(instance, field, index in a tuple field or None) for every number a user passes."""
    cases = []
    for name, instance in INSTANCES.items():
        for field in dataclasses.fields(instance):
            value = getattr(instance, field.name)
            if _is_static(field) or isinstance(value, jaxsched.Schedule):
                continue
            if isinstance(value, tuple):
                if value and not isinstance(value[0], jaxsched.Schedule):
                    cases.append((name, field.name, 0))
            elif isinstance(value, dict):  # a function's params: each is a number
                cases.extend((name, field.name, key) for key in sorted(value))
            else:
                cases.append((name, field.name, None))
    return cases


NUMERIC = _numeric_parameters()
EVERY_NUMBER = pytest.mark.parametrize(
    ("name", "field", "index"), NUMERIC, ids=[f"{n}.{f}" for n, f, _ in NUMERIC]
)
FLAGS = [
    (name, field.name)
    for name, instance in INSTANCES.items()
    for field in dataclasses.fields(instance)
    if _is_static(field) and isinstance(field.default, bool)
]


def _replace(name: str, field: str, index: int | str | None, value: Any) -> Any:
    instance = INSTANCES[name]
    if isinstance(index, str):
        value = {**getattr(instance, field), index: value}
    elif index is not None:
        old = getattr(instance, field)
        value = (*old[:index], value, *old[index + 1 :])
    return dataclasses.replace(instance, **{field: value})


def test_every_numeric_parameter_is_covered() -> None:
    assert len(NUMERIC) > 80
    assert ("one_cycle", "total_steps", None) in NUMERIC
    assert ("join", "boundaries", 0) in NUMERIC
    assert ("reduce_on_plateau", "factor", None) in NUMERIC


@EVERY_NUMBER
@pytest.mark.parametrize("bad", list(NOT_NUMBERS), ids=list(NOT_NUMBERS))
def test_a_value_that_is_not_one_number_is_refused_naming_the_parameter(
    name: str, field: str, index: int | str | None, bad: str
) -> None:
    with pytest.raises(ValueError, match=field):
        _replace(name, field, index, NOT_NUMBERS[bad])


@pytest.mark.parametrize(("name", "field"), FLAGS, ids=[f"{n}.{f}" for n, f in FLAGS])
@pytest.mark.parametrize("bad", list(NOT_FLAGS), ids=list(NOT_FLAGS))
def test_a_flag_that_is_not_a_bool_is_refused_naming_it(name: str, field: str, bad: str) -> None:
    with pytest.raises(ValueError, match=field):
        dataclasses.replace(INSTANCES[name], **{field: NOT_FLAGS[bad]})


@pytest.mark.parametrize(("name", "field"), FLAGS, ids=[f"{n}.{f}" for n, f in FLAGS])
def test_flags_accept_numpy_bools_and_store_python_bools(name: str, field: str) -> None:
    schedule = dataclasses.replace(INSTANCES[name], **{field: np.bool_(False)})
    assert getattr(schedule, field) is False


def test_flags_are_checked_through_from_config_and_get() -> None:
    config = jaxsched.exponential_decay(1.0, 0.5, staircase=True).to_config()
    with pytest.raises(ValueError, match="staircase"):
        jaxsched.from_config({**config, "staircase": "false"})
    with pytest.raises(ValueError, match="cycle"):
        jaxsched.get("polynomial_decay", init_value=1.0, end_value=0.0, decay_steps=5, cycle=1)


# Values that are fine in float64 but not in float32: each parameter that must be finite,
# positive or non-negative is tried with the smallest and largest float64 that break it.
FLOAT32_ONLY = {"overflows to inf": 1e39, "underflows to 0": 1e-46}


@EVERY_NUMBER
@pytest.mark.parametrize("bad", list(FLOAT32_ONLY), ids=list(FLOAT32_ONLY))
def test_values_that_break_in_float32_are_refused_or_computed_finite(
    name: str, field: str, index: int | str | None, bad: str
) -> None:
    try:
        schedule = _replace(name, field, index, FLOAT32_ONLY[bad])
    except ValueError as e:
        assert field in str(e) or "float32" in str(e), e
        return
    # Accepted: then every value at every step must be finite (or NaN-free where a growing
    # schedule legitimately reaches inf), never NaN.
    if isinstance(schedule, jaxsched.ReduceOnPlateau):
        state = schedule.update(schedule.update(schedule.init(), 1.0), 2.0)
        assert all(not np.any(np.isnan(np.asarray(x))) for x in jax.tree.leaves(state))
        return
    values = np.asarray(schedule(jnp.asarray([0, 1, 2, 5, 10, 100, 10**6], jnp.float32)))
    assert not np.any(np.isnan(values)), (schedule, values)


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: jaxsched.constant(1e39), "value"),
        (lambda: jaxsched.cyclic(0.01, 0.1, step_size_up=1e-46), "step_size_up"),
        (lambda: jaxsched.cyclic(-3e38, 3e38, step_size_up=5), "max_value"),
        (lambda: jaxsched.cosine_restarts(3e38, 10, end_value=-3e38), "init_value"),
        (lambda: jaxsched.one_cycle(1e30, 100, div_factor=1e-10), "div_factor"),
        (lambda: jaxsched.one_cycle(1e30, 100, final_div_factor=1e-10), "final_div_factor"),
        (lambda: jaxsched.tanh_decay(3e38, -3e38, 10), "init_value"),
        (lambda: jaxsched.cosine_restarts(0.1, first_decay_steps=False), "first_decay_steps"),
        (lambda: jaxsched.reduce_on_plateau(factor=True), "factor"),
        (lambda: jaxsched.exponential_decay(1.0, 0.5, staircase="false"), "staircase"),
        (lambda: jaxsched.one_cycle_momentum(100, base_momentum=math.nan), "base_momentum"),
        (lambda: jaxsched.one_cycle_momentum(100, max_momentum=math.inf), "max_momentum"),
        (lambda: jaxsched.one_cycle_momentum(100, -3e38, 3e38), "max_momentum"),
        (lambda: jaxsched.linear(0.0, 1.0, transition_steps=jnp.asarray([5, 6])), "transition"),
        (lambda: jaxsched.alternate((C(1.0), C(2.0)), (1e-46, 0)), r"steps=\(1e-46, 0\)"),
    ],
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_the_issues_cases_are_refused(make: Any, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        make()


def test_x64_schedules_accept_what_only_float32_refuses() -> None:
    with enable_x64():
        assert float(jaxsched.constant(1e39)(0)) == 1e39
    with pytest.raises(ValueError, match="float32"):
        jaxsched.constant(1e39)


def test_tracers_are_type_checked_but_not_value_checked() -> None:
    got = jax.jit(lambda v: jaxsched.constant(v)(0))(jnp.float32(math.inf))
    assert math.isinf(float(got))
    with pytest.raises(ValueError, match="value"):
        jax.jit(lambda v: jaxsched.constant(v)(0))(jnp.asarray([1.0, 2.0]))
    with pytest.raises(ValueError, match="value"):
        jax.jit(lambda v: jaxsched.constant(v)(0))(jnp.asarray(True))


def test_numbers_of_every_kind_are_accepted_and_stored_as_floats() -> None:
    for value in (1, 1.0, np.int32(1), np.int64(1), np.float32(1), np.asarray(1.0), np.uint8(1)):
        schedule = jaxsched.cosine_decay(value, decay_steps=value)
        assert type(schedule.init_value) is float and schedule.decay_steps == 1.0
    on_device = jaxsched.cosine_decay(jnp.float32(1.0), 10)
    assert isinstance(on_device.init_value, jax.Array)


def _halving(step):
    return 0.5 + 0.0 * step


@pytest.mark.parametrize("max_steps", [2**20 + 1, 2**31 - 1, 10**12])
def test_multiplicative_refuses_a_table_longer_than_its_limit_naming_it(max_steps: int) -> None:
    with pytest.raises(ValueError, match=rf"in \[0, 2\*\*20\].*got max_steps={max_steps}$"):
        jaxsched.multiplicative(_halving, max_steps=max_steps)
    with pytest.raises(ValueError, match=r"2\*\*20"):
        jaxsched.get("multiplicative", fn=_halving, max_steps=max_steps)


def test_multiplicative_at_its_limit_builds_and_evaluates() -> None:
    schedule = jaxsched.multiplicative(lambda k: 1.0 - 0.0 * k, max_steps=2**20)
    np.testing.assert_array_equal(schedule(np.asarray([0.0, 2**20, 2**40])), [1.0, 1.0, 1.0])


# ---------------------------------------------------- bad values and structures, concrete or traced


C = jaxsched.constant
# (id, build(x), a bad x, the parameter the message must name). x may be traced.
NUMERIC_BAD: list[tuple[str, Callable[[Any], Any], float, str]] = [
    ("constant value nan", lambda x: jaxsched.constant(x), math.nan, "value"),
    ("linear init inf", lambda x: jaxsched.linear(x, 0.0, 10), math.inf, "init_value"),
    ("linear zero length", lambda x: jaxsched.linear(1.0, 0.0, x), 0, "transition_steps"),
    ("linear negative length", lambda x: jaxsched.linear(1.0, 0.0, x), -3, "transition_steps"),
    ("linear negative begin", lambda x: jaxsched.linear(1.0, 0.0, 5, x), -1, "transition_begin"),
    ("poly zero decay", lambda x: jaxsched.polynomial_decay(1.0, 0.0, x), 0, "decay_steps"),
    ("poly zero power", lambda x: jaxsched.polynomial_decay(1.0, 0.0, 9, x), 0.0, "power"),
    ("poly negative power", lambda x: jaxsched.polynomial_decay(1.0, 0.0, 9, x), -1.0, "power"),
    (
        "poly negative begin",
        lambda x: jaxsched.polynomial_decay(1.0, 0.0, 9, transition_begin=x),
        -2,
        "transition_begin",
    ),
    ("step zero size", lambda x: jaxsched.step_decay(1.0, x), 0, "step_size"),
    ("step negative rate", lambda x: jaxsched.step_decay(1.0, 3, x), -0.5, "decay_rate"),
    ("multistep negative", lambda x: jaxsched.multistep_decay(1.0, (5, x)), -1, "milestones"),
    ("multistep rate", lambda x: jaxsched.multistep_decay(1.0, (5,), x), -0.1, "decay_rate"),
    (
        "piecewise decreasing",
        lambda x: jaxsched.piecewise_constant((5, x), (1.0, 0.5, 0.1)),
        3,
        "boundaries",
    ),
    (
        "piecewise repeated",
        lambda x: jaxsched.piecewise_constant((5, x), (1.0, 0.5, 0.1)),
        5,
        "boundaries",
    ),
    (
        "piecewise negative",
        lambda x: jaxsched.piecewise_constant((x, 5), (1.0, 0.5, 0.1)),
        -1,
        "boundaries",
    ),
    ("piecewise nan", lambda x: jaxsched.piecewise_constant((5,), (1.0, x)), math.nan, "values"),
    ("exp zero rate", lambda x: jaxsched.exponential_decay(1.0, x), 0.0, "decay_rate"),
    ("exp negative rate", lambda x: jaxsched.exponential_decay(1.0, x), -0.5, "decay_rate"),
    ("exp zero steps", lambda x: jaxsched.exponential_decay(1.0, 0.5, x), 0, "transition_steps"),
    (
        "exp negative begin",
        lambda x: jaxsched.exponential_decay(1.0, 0.5, transition_begin=x),
        -1,
        "transition_begin",
    ),
    (
        "exp end nan",
        lambda x: jaxsched.exponential_decay(1.0, 0.5, end_value=x),
        math.nan,
        "end_value",
    ),
    ("inverse time rate", lambda x: jaxsched.inverse_time_decay(1.0, x, 10), -1.0, "decay_rate"),
    ("inverse time steps", lambda x: jaxsched.inverse_time_decay(1.0, 1.0, x), 0, "decay_steps"),
    ("inverse sqrt warmup", lambda x: jaxsched.inverse_sqrt(1.0, x), -1, "warmup_steps"),
    ("inverse sqrt timescale", lambda x: jaxsched.inverse_sqrt(1.0, 5, x), 0, "timescale"),
    ("cosine zero decay", lambda x: jaxsched.cosine_decay(1.0, x), 0, "decay_steps"),
    ("cosine negative decay", lambda x: jaxsched.cosine_decay(1.0, x), -5, "decay_steps"),
    ("cosine exponent", lambda x: jaxsched.cosine_decay(1.0, 10, exponent=x), 0.0, "exponent"),
    (
        "wcd negative warmup",
        lambda x: jaxsched.warmup_cosine_decay(0.0, 1.0, x, 10),
        -1,
        "warmup_steps",
    ),
    ("wcd zero decay", lambda x: jaxsched.warmup_cosine_decay(0.0, 1.0, 0, x), 0, "decay_steps"),
    (
        "wcd decay equal to warmup",
        lambda x: jaxsched.warmup_cosine_decay(0.0, 1.0, 10, x),
        10,
        "decay_steps",
    ),
    (
        "wcd decay shorter than warmup",
        lambda x: jaxsched.warmup_cosine_decay(0.0, 1.0, 10, x),
        5,
        "decay_steps",
    ),
    (
        "wcd exponent",
        lambda x: jaxsched.warmup_cosine_decay(0.0, 1.0, 1, 10, exponent=x),
        -1.0,
        "exponent",
    ),
    ("wsd zero total", lambda x: jaxsched.warmup_stable_decay(1.0, x, 0, 0), 0, "total_steps"),
    (
        "wsd negative warmup",
        lambda x: jaxsched.warmup_stable_decay(1.0, 10, x, 0),
        -1,
        "warmup_steps",
    ),
    (
        "wsd negative decay",
        lambda x: jaxsched.warmup_stable_decay(1.0, 10, 0, x),
        -1,
        "decay_steps",
    ),
    (
        "wsd total too short",
        lambda x: jaxsched.warmup_stable_decay(1.0, x, 6, 6),
        10,
        "total_steps",
    ),
    ("restarts first", lambda x: jaxsched.cosine_restarts(1.0, x), 0, "first_decay_steps"),
    ("restarts t_mul", lambda x: jaxsched.cosine_restarts(1.0, 10, t_mul=x), 0.5, "t_mul"),
    ("restarts m_mul", lambda x: jaxsched.cosine_restarts(1.0, 10, m_mul=x), -0.1, "m_mul"),
    (
        "restarts cycle_limit",
        lambda x: jaxsched.cosine_restarts(1.0, 10, cycle_limit=x),
        0,
        "cycle_limit",
    ),
    ("cyclic up", lambda x: jaxsched.cyclic(0.0, 1.0, x), 0, "step_size_up"),
    ("cyclic down", lambda x: jaxsched.cyclic(0.0, 1.0, 5, x), -1, "step_size_down"),
    ("cyclic gamma", lambda x: jaxsched.cyclic(0.0, 1.0, 5, gamma=x), 0.0, "gamma"),
    ("one_cycle total", lambda x: jaxsched.one_cycle(1.0, x), 0, "total_steps"),
    ("one_cycle pct 0", lambda x: jaxsched.one_cycle(1.0, 100, x), 0.0, "pct_start"),
    ("one_cycle pct 1", lambda x: jaxsched.one_cycle(1.0, 100, x), 1.0, "pct_start"),
    ("one_cycle pct 1.5", lambda x: jaxsched.one_cycle(1.0, 100, x), 1.5, "pct_start"),
    ("one_cycle empty first", lambda x: jaxsched.one_cycle(1.0, 10, x), 0.05, "pct_start"),
    (
        "one_cycle empty third",
        lambda x: jaxsched.one_cycle(1.0, 10, x, three_phase=True),
        0.6,
        "pct_start",
    ),
    ("one_cycle div", lambda x: jaxsched.one_cycle(1.0, 100, div_factor=x), 0.0, "div_factor"),
    (
        "one_cycle final div",
        lambda x: jaxsched.one_cycle(1.0, 100, final_div_factor=x),
        -1.0,
        "final_div_factor",
    ),
    ("momentum total", lambda x: jaxsched.one_cycle_momentum(x), -10, "total_steps"),
    ("momentum pct", lambda x: jaxsched.one_cycle_momentum(100, pct_start=x), 1.0, "pct_start"),
    ("tanh decay", lambda x: jaxsched.tanh_decay(1.0, 0.0, x), 0, "decay_steps"),
    ("tanh upper = lower", lambda x: jaxsched.tanh_decay(1.0, 0.0, 9, upper=x), -7.0, "upper"),
    ("tanh upper < lower", lambda x: jaxsched.tanh_decay(1.0, 0.0, 9, upper=x), -8.0, "upper"),
    ("join decreasing", lambda x: jaxsched.join((C(1.0), C(2.0), C(3.0)), (5, x)), 2, "boundaries"),
    ("join negative", lambda x: jaxsched.join((C(1.0), C(2.0)), (x,)), -1, "boundaries"),
    (
        "by_fraction total",
        lambda x: jaxsched.by_fraction(x, (0.5, 0.5), (C(1.0), C(2.0))),
        0,
        "total_steps",
    ),
    (
        "by_fraction sum",
        lambda x: jaxsched.by_fraction(10, (0.5, x), (C(1.0), C(2.0))),
        0.6,
        "fractions",
    ),
    (
        "by_fraction negative",
        lambda x: jaxsched.by_fraction(10, (1.5, x), (C(1.0), C(2.0))),
        -0.5,
        "fractions",
    ),
    ("warmup negative", lambda x: jaxsched.warmup(C(1.0), x), -1, "warmup_steps"),
    ("warmup init nan", lambda x: jaxsched.warmup(C(1.0), 5, x), math.nan, "init_value"),
    ("scale nan", lambda x: jaxsched.scale(C(1.0), x), math.nan, "factor"),
    ("clip max < min", lambda x: jaxsched.clip(C(1.0), 0.5, x), 0.1, "max_value"),
    ("clip min nan", lambda x: jaxsched.clip(C(1.0), x), math.nan, "min_value"),
    ("poly k_decay", lambda x: jaxsched.polynomial_decay(1.0, 0.0, 9, k_decay=x), 0.0, "k_decay"),
    ("ramp zero steps", lambda x: jaxsched.polynomial_ramp(0.0, 1.0, x), 0, "transition_steps"),
    ("ramp power", lambda x: jaxsched.polynomial_ramp(0.0, 1.0, 5, power=x), -1.0, "power"),
    ("ramp end inf", lambda x: jaxsched.polynomial_ramp(0.0, x, 5), math.inf, "end_value"),
    ("alternate negative", lambda x: jaxsched.alternate((C(1.0), C(2.0)), (3, x)), -1, "steps"),
    ("alternate period", lambda x: jaxsched.alternate((C(1.0), C(2.0)), (0, x)), 0, "steps"),
    ("advance nan", lambda x: jaxsched.advance(C(1.0), x), math.nan, "steps"),
    ("advance min_step", lambda x: jaxsched.advance(C(1.0), 1, x), -1, "min_step"),
    ("momentum nan", lambda x: jaxsched.one_cycle_momentum(9, x), math.nan, "base_momentum"),
]

STRUCTURAL_BAD: list[tuple[str, Callable[[], Any], str]] = [
    (
        "wsd warmup shape",
        lambda: jaxsched.warmup_stable_decay(1.0, 9, 1, 1, warmup_shape="exp"),
        "warmup_shape",
    ),
    (
        "wsd decay shape",
        lambda: jaxsched.warmup_stable_decay(1.0, 9, 1, 1, decay_shape="step"),
        "decay_shape",
    ),
    ("cyclic mode", lambda: jaxsched.cyclic(0.0, 1.0, 5, mode="sine"), "mode"),
    (
        "one_cycle strategy",
        lambda: jaxsched.one_cycle(1.0, 100, anneal_strategy="poly"),
        "anneal_strategy",
    ),
    (
        "momentum strategy",
        lambda: jaxsched.one_cycle_momentum(100, anneal_strategy="exp"),
        "anneal_strategy",
    ),
    ("warmup shape", lambda: jaxsched.warmup(C(1.0), 5, shape="quadratic"), "shape"),
    ("warmup continuous", lambda: jaxsched.warmup(C(1.0), 5, continuous="yes"), "continuous"),
    ("alternate lengths", lambda: jaxsched.alternate((C(1.0), C(2.0)), (3,)), "steps"),
    ("alternate non-schedule", lambda: jaxsched.alternate((0.1, C(2.0)), (1, 1)), "schedules"),
    ("advance non-schedule", lambda: jaxsched.advance(0.1, 1), "schedule"),
    ("piecewise lengths", lambda: jaxsched.piecewise_constant((1, 2), (1.0, 2.0)), "values"),
    ("join lengths", lambda: jaxsched.join((C(1.0), C(2.0)), (1, 2)), "boundaries"),
    ("join non-schedule", lambda: jaxsched.join((0.1, C(2.0)), (1,)), "schedules"),
    ("join empty", lambda: jaxsched.join((), ()), "schedules"),
    ("warmup non-schedule", lambda: jaxsched.warmup(0.1, 5), "schedule"),
    ("by_fraction lengths", lambda: jaxsched.by_fraction(10, (0.5, 0.5), (C(1.0),)), "fractions"),
    ("milestones not a sequence", lambda: jaxsched.multistep_decay(1.0, "abc"), "milestones"),
    ("product of numbers", lambda: jaxsched.product(0.1), "schedules"),
    (
        "stack of two families",
        lambda: jaxsched.stack([C(1.0), jaxsched.cosine_decay(1.0, 5)]),
        "schedules",
    ),
    (
        "stack of two modes",
        lambda: jaxsched.stack(
            [jaxsched.cyclic(0.0, 1.0, 5), jaxsched.cyclic(0.0, 1.0, 5, mode="triangular2")]
        ),
        "schedules",
    ),
    ("stack of nothing", lambda: jaxsched.stack([]), "schedules"),
    ("constant of None", lambda: jaxsched.constant(None), "value"),
    ("cosine of None", lambda: jaxsched.cosine_decay(None, 10), "init_value"),
    ("registry unknown", lambda: jaxsched.get("cosine_annealing", init_value=1.0), "name"),
    ("registry bad kwargs", lambda: jaxsched.get("cosine_decay", init_value=1.0), "decay_steps"),
    (
        "registry invalid",
        lambda: jaxsched.get("cosine_decay", init_value=1.0, decay_steps=0),
        "decay_steps",
    ),
    (
        "hf horizon",
        lambda: jaxsched.get("cosine", peak_value=1.0, num_warmup_steps=10, num_training_steps=5),
        "num_training_steps",
    ),
    (
        "hf cycles",
        lambda: jaxsched.get("cosine", peak_value=1.0, num_training_steps=50, num_cycles=2),
        "num_cycles",
    ),
    (
        "hf lr_end",
        lambda: jaxsched.get("polynomial", peak_value=1.0, num_training_steps=50, lr_end=2.0),
        "lr_end",
    ),
    (
        "hf min_lr both",
        lambda: jaxsched.get(
            "cosine_with_min_lr", peak_value=1.0, num_training_steps=50, min_lr=0.1, min_lr_rate=0.1
        ),
        "min_lr",
    ),
    (
        "hf wsd horizon",
        lambda: jaxsched.get(
            "warmup_stable_decay", peak_value=1.0, num_warmup_steps=1, num_decay_steps=2
        ),
        "num_training_steps",
    ),
    ("config unknown name", lambda: jaxsched.from_config({"name": "nope"}), "name"),
    ("config without name", lambda: jaxsched.from_config({"init_value": 1.0}), "name"),
    ("config not a dict", lambda: jaxsched.from_config([1, 2]), "config"),
    (
        "config missing argument",
        lambda: jaxsched.from_config({"name": "cosine_decay", "init_value": 1.0}),
        "decay_steps",
    ),
    (
        "config unknown argument",
        lambda: jaxsched.from_config({"name": "constant", "value": 1.0, "bogus": 2}),
        "bogus",
    ),
    (
        "config invalid value",
        lambda: jaxsched.from_config(
            {"name": "cosine_decay", "init_value": 1.0, "decay_steps": -1}
        ),
        "decay_steps",
    ),
    (
        "config invalid nested",
        lambda: jaxsched.from_config(
            {"name": "warmup", "schedule": {"name": "constant", "value": 1.0}, "warmup_steps": -1}
        ),
        "warmup_steps",
    ),
]


numeric_bad = pytest.mark.parametrize(
    ("make", "bad", "name"), [c[1:] for c in NUMERIC_BAD], ids=[c[0] for c in NUMERIC_BAD]
)


@numeric_bad
def test_invalid_concrete_value_raises_value_error_naming_it(make, bad, name) -> None:
    with pytest.raises(ValueError, match=name):
        make(bad)


@pytest.mark.parametrize(
    ("make", "name"), [c[1:] for c in STRUCTURAL_BAD], ids=[c[0] for c in STRUCTURAL_BAD]
)
def test_invalid_structure_raises_value_error_naming_it(make, name) -> None:
    with pytest.raises(ValueError, match=name):
        make()


@numeric_bad
def test_traced_value_is_not_checked_inside_jit(make, bad, name) -> None:
    del name
    value = jax.jit(lambda x: make(x)(jnp.arange(4.0)))(jnp.asarray(bad, jnp.float32))
    assert value.shape == (4,)


@numeric_bad
def test_concrete_value_is_still_checked_when_built_inside_jit(make, bad, name) -> None:
    with pytest.raises(ValueError, match=name):
        jax.jit(lambda t: make(bad)(t))(jnp.arange(4.0))
