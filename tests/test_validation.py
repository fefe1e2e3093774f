"""Bad input is refused when a schedule is built, with a ValueError naming the parameter.

Every parameter of every constructor is tried with values that are not numbers here (bools,
strings, complex numbers, arrays of several values), every flag with values that are not
bools, and every number with values that only break in float32, the dtype schedules compute
in. The parameters come from the classes themselves, so a new schedule is covered the day it
is registered.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched
from tests.test_inject import CATALOGUE
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


@pytest.mark.parametrize(
    ("name", "field", "index"), NUMERIC, ids=[f"{n}.{f}" for n, f, _ in NUMERIC]
)
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


@pytest.mark.parametrize(
    ("name", "field", "index"), NUMERIC, ids=[f"{n}.{f}" for n, f, _ in NUMERIC]
)
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
