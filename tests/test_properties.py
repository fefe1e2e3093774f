"""Property-based tests: every schedule against the float64 NumPy oracle in `reference.py`.

Schedules are described by specs, `(name, kwargs)`, with nested specs for the combinators, so
that one hypothesis draw builds both the jaxsched schedule and its reference: the specs'
helpers are in `tests/specs.py`, the strategies that draw them in `tests/strategies.py`.

Compiles dominate the run time: schedules go through a few module-level jitted functions that
take the schedule as an argument (structure-equal schedules share one compile), and steps are
always padded to `N_STEPS` so that the step shape never triggers a new compile.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable
from typing import Any

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings

import jaxsched
from tests import reference
from tests.reference import Spec
from tests.specs import (
    ATOL,
    F64_WINDOW,
    N_STEPS,
    RTOL,
    assert_matches_reference,
    build,
    evaluate,
    horizon,
    key_steps,
    padded,
    reference_band,
    restart_start,
    steps_for,
)
from tests.strategies import (
    ANY_LEAF,
    ANY_SPEC,
    FAMILIES,
    NESTED,
    VALUE,
    cosine_spec,
    cyclic_spec,
    exponential_spec,
    f32,
    grows_from_zero,
    inverse_sqrt_spec,
    inverse_time_spec,
    is_cyclic,
    linear_spec,
    multistep_spec,
    one_cycle_momentum_spec,
    one_cycle_spec,
    polynomial_spec,
    restarts_spec,
    spec_and_steps,
    step_decay_spec,
    tanh_spec,
    warmup_cosine_spec,
    warmup_spec,
    wsd_spec,
)
from tests.x64 import enable_x64

HUGE_STEPS: tuple[Any, ...] = (
    2**31 + 5,
    2**40,
    np.int64(2**40),
    np.array([2**31 + 5, 2**40, 2**62], dtype=np.int64),
    np.array([2**63 + 5, 2**64 - 1], dtype=np.uint64),
    1e15,
    np.float64(1e15),
    np.array([1e15, 1e18], dtype=np.float32),
)


# ----------------------------------------------------------------------------- the reference window


def test_the_window_holds_the_steep_start_of_a_restart_float32_lands_on() -> None:
    # float32's step 8.0828905 lies 3.7e-9 below this restart; float32 arithmetic lands on
    # the restart (0.0), whose k_decay=0.5 start rises to 5e-5 within the window's end.
    spec = ("cosine_restarts", dict(init_value=0.0, first_decay_steps=1, t_mul=1.2421875,
            m_mul=1.0, end_value=1.0, cycle_limit=None, k_decay=0.5))  # fmt: skip
    steps = np.asarray([8.0828905], np.float32)
    got = np.asarray(build(spec)(steps))
    assert got[0] == 0.0 and reference.build(spec)(steps.astype(np.float64))[0] == 1.0
    assert_matches_reference(got, spec, steps)
    with pytest.raises(pytest.fail.Exception):
        assert_matches_reference(np.asarray([1.5]), spec, steps)


# ----------------------------------------------------------------------------- values


EAGER_STEPS = 16  # steps evaluated one Python number at a time (each call dispatches)
BATCH = 8  # schedules compiled into one program under "jit closed over"


def evaluation_modes(
    schedules: list[jaxsched.Schedule], steps: list[np.ndarray]
) -> list[dict[str, np.ndarray]]:
    """Each schedule's values at its steps in each way users evaluate it.

    "eager" takes one Python number at a time (ints for whole steps) and covers only the
    first `EAGER_STEPS` steps, the ones around the schedule's key steps; the other modes cover
    them all. Under "jit closed over" the schedules' numbers are compile-time constants, which
    XLA folds and rewrites (a division becomes a multiplication by a rounded reciprocal); all
    the schedules of one call are closed over by one program, as a training step closes over
    several, which costs one compile instead of one each.
    """
    closed = jax.jit(lambda xs: [s(x) for s, x in zip(schedules, xs, strict=True)])(steps)
    modes = []
    for schedule, at, closed_over in zip(schedules, steps, closed, strict=True):
        eager = [schedule(int(t) if float(t).is_integer() else float(t)) for t in at[:EAGER_STEPS]]
        modes.append(
            {
                "eager": np.asarray(eager),
                "eager on arrays": np.asarray(schedule(at)),
                "jit closed over": np.asarray(closed_over),
                "jit argument": np.asarray(evaluate(schedule, at)),
            }
        )
    return modes


def assert_modes_agree(cases: list[tuple[Spec, np.ndarray]]) -> list[dict[str, np.ndarray]]:
    """Every mode matches the reference, and at whole steps the modes agree with each other.

    The reference comparison forgives a jump within a tiny window of a step; the modes may not
    disagree about which side of a jump a whole step is on.
    """
    schedules = [build(spec) for spec, _ in cases]
    all_values = evaluation_modes(schedules, [steps for _, steps in cases])
    for (spec, steps), values in zip(cases, all_values, strict=True):
        scale = max(reference.build(spec).scale, 1e-30)
        whole = np.asarray(steps, np.float64) == np.round(steps)
        base = values["jit argument"]
        band = reference_band(spec, steps)
        for mode, got in values.items():
            assert got.dtype == np.float32, (mode, spec)
            assert got.shape == steps[: len(got)].shape, (mode, spec)
            assert_matches_reference(got, spec, steps[: len(got)], band=band[:, : len(got)])
            at = whole[: len(got)]
            np.testing.assert_allclose(
                got[at],
                base[: len(got)][at],
                rtol=RTOL,
                atol=ATOL * scale,
                err_msg=f"{mode} {spec}",
            )
    return all_values


# Schedules per family, at least: rounded up to whole batches of `BATCH`, each of which compiles
# anew under "jit closed over". The families added with issue 13 run fewer, and the largest
# programs (a random draw per step, several cycles) fewer still, to keep the suite's time in
# bounds.
EXAMPLES = {
    **dict.fromkeys(
        [
            "warmup_constant",
            "warmup_exponential_decay",
            "piecewise_interpolate",
            "piecewise_constant_scales",
            "linear_onecycle",
            "cosine_onecycle",
            "constant_factor",
            "lambda_schedule",
            "multiplicative",
            "swa",
            "cooldown",
            "polynomial_ramp",
            "alternate",
            "advance",
        ],
        15,
    ),
    "noise": 6,
    "warmup_stable_decay_cycles": 10,
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_evaluation_mode_matches_the_float64_reference(family: str) -> None:
    batches = -(-EXAMPLES.get(family, 25) // BATCH)  # at least as many schedules as examples

    # Each draw is a batch of independent cases; a filtered strategy drawn `BATCH` times
    # filters more per draw, which is what the health check would report.
    @settings(
        max_examples=batches, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
    )
    @given(st.lists(spec_and_steps(FAMILIES[family]), min_size=BATCH, max_size=BATCH))
    def check(cases: list[tuple[Spec, np.ndarray]]) -> None:
        assert_modes_agree(cases)

    check()


# Restarts at whole steps that a rounded reciprocal of `t_mul - 1` used to move under jit.
@pytest.mark.parametrize("t_mul", [3.0, 4.0, 5.0, 6.0, 7.0, 1.5, 1.25])
@pytest.mark.parametrize("first_decay_steps", [1, 3, 10])
def test_cosine_restarts_restart_on_the_same_whole_step_in_every_mode(
    t_mul: float, first_decay_steps: int
) -> None:
    spec: Spec = (
        "cosine_restarts",
        {
            "init_value": 0.05,
            "first_decay_steps": first_decay_steps,
            "t_mul": t_mul,
            "m_mul": 1.0,
            "end_value": 0.0,
            "cycle_limit": None,
        },
    )
    starts = [restart_start(first_decay_steps, t_mul, i) for i in range(8)]
    whole = [s for s in starts if float(s).is_integer() and s < 2**20]
    steps = padded(sorted({*whole, *(s - 1 for s in whole if s >= 1)}))
    (values,) = assert_modes_agree([(spec, steps)])
    for mode, got in values.items():
        restarted = np.isin(steps[: len(got)], whole)
        np.testing.assert_array_equal(got[restarted], np.float32(0.05), err_msg=mode)


X64_FAMILIES = (
    "linear",
    "polynomial_decay",
    "exponential_decay",
    "cosine_decay",
    "warmup_cosine_decay",
    "warmup_stable_decay",
    "cosine_restarts",
    "cyclic",
    "one_cycle",
    "tanh_decay",
    "join",
    "warmup",
)


@settings(max_examples=40, deadline=None)
@given(spec_and_steps(st.one_of(*(FAMILIES[f] for f in X64_FAMILIES))))
def test_x64_matches_float64_reference_tightly(case: tuple[Spec, np.ndarray]) -> None:
    spec, steps = case
    with enable_x64():
        schedule = build(spec)
        got = evaluate(schedule, steps.astype(np.float64))
        assert got.dtype == jnp.float64
        got = np.asarray(got)
    assert_matches_reference(got, spec, steps, rtol=1e-9, atol=1e-12, window=F64_WINDOW)


@settings(max_examples=40, deadline=None)
@given(ANY_SPEC, st.lists(st.integers(0, 10**6), max_size=8))
@example(  # a cycle's horizon rounded below the step in float32: a negative base under power
    ("polynomial_decay", {"init_value": 1.0, "end_value": 0.0, "decay_steps": 9, "power": 0.5,
                          "transition_begin": 0, "cycle": True, "k_decay": 1.0}),
    [],
)  # fmt: skip
def test_never_nan_on_valid_input(spec: Spec, more: list[int]) -> None:
    assume(not grows_from_zero(spec))  # pinned by its own test
    steps = padded([*sorted(key_steps(spec)), *more, 2**31 + 5, 2.0**40, 1e15, 1e18])
    got = np.asarray(evaluate(build(spec), steps))
    nan = np.unique(steps[np.isnan(got)])
    assert nan.size == 0, f"NaN from {build(spec)!r} at steps {nan}"
    finite = np.abs(reference.build(spec)(steps)) < 1e37
    inf = np.unique(steps[finite & ~np.isfinite(got)])
    assert inf.size == 0, f"{build(spec)!r} overflows at steps {inf}"


# Growing schedules, which overflow float32 eventually: infinity is right there, NaN is not.
@settings(max_examples=30, deadline=None)
@given(
    st.one_of(
        # init_value=0 (0 * inf) is pinned by its own test
        exponential_spec(init=f32(0.125, 4.0), rate=f32(1.01, 4.0)),
        step_decay_spec(init=f32(0.125, 4.0), rate=f32(1.01, 4.0)),
        cyclic_spec(gamma=f32(1.0, 1.5)),
        restarts_spec(m_mul=f32(1.0, 3.0)),
    )
)
# 0 * inf: a cycle start (height 0) of a grown exp_range, a flat (init == end) grown restart
@example(
    (
        "cyclic",
        {
            "base_value": 0.0,
            "max_value": 1.0,
            "step_size_up": 1,
            "step_size_down": None,
            "mode": "exp_range",
            "gamma": 1.25,
        },
    )
)
@example(
    (
        "cosine_restarts",
        {
            "init_value": 1.0,
            "first_decay_steps": 2,
            "t_mul": 1.0,
            "m_mul": 2.0,
            "end_value": 1.0,
            "cycle_limit": None,
        },
    )
)
def test_growing_schedules_overflow_to_inf_never_nan(spec: Spec) -> None:
    steps = padded([0.0, 1.0, 2.0, 6.0, 12.0, 60.0, 2**20, 2**31 + 5, 2.0**40, 1e15, 1e18])
    got = np.asarray(evaluate(build(spec), steps))
    nan = np.unique(steps[np.isnan(got)])
    assert nan.size == 0, f"NaN from {build(spec)!r} at steps {nan}"


@pytest.mark.parametrize(
    "schedule",
    [
        jaxsched.exponential_decay(0.0, decay_rate=2.0),
        jaxsched.exponential_decay(0.0, decay_rate=2.0, end_value=0.5),
        jaxsched.step_decay(0.0, step_size=1, decay_rate=2.0),
    ],
    ids=repr,
)
def test_growing_decay_from_zero_stays_zero_at_huge_steps(schedule) -> None:
    steps = np.asarray([0.0, 10.0, 1e3, 1e6, 2.0**40, 1e15], np.float32)
    np.testing.assert_array_equal(evaluate(schedule, steps), np.zeros_like(steps))


def test_multistep_without_milestones_is_constant_with_the_step_shape() -> None:
    schedule = jaxsched.multistep_decay(0.5, milestones=())
    steps = np.arange(6)
    for got in (schedule(steps), evaluate(schedule, steps.astype(np.float32))):
        assert got.shape == steps.shape
        np.testing.assert_array_equal(got, np.full(6, 0.5, np.float32))


# ----------------------------------------------------------------------------- shape


def assert_non_increasing(values: np.ndarray, scale: float) -> None:
    rises = np.diff(values)
    assert np.all(rises <= 1e-6 * max(scale, 1e-30)), f"rises by {rises.max()}"


def assert_within(values: np.ndarray, low: float, high: float, scale: float) -> None:
    slack = 1e-6 * max(scale, 1e-30)
    assert values.min() >= low - slack, (values.min(), low)
    assert values.max() <= high + slack, (values.max(), high)


NON_NEGATIVE = f32(0.0, 4.0)


@st.composite
def monotone_decay(draw: st.DrawFn) -> tuple[Spec, float, float]:
    """A decay that promises to be non-increasing, with its lowest and highest values."""
    high, low = sorted([draw(NON_NEGATIVE), draw(NON_NEGATIVE)], reverse=True)
    which = draw(st.integers(0, 7))
    rate = f32(0.0, 1.0)
    if which == 0:
        return draw(linear_spec(st.just(high), st.just(low))), low, high
    if which == 1:
        return draw(polynomial_spec(st.just(False), st.just(high), st.just(low))), low, high
    if which == 2:
        return draw(cosine_spec(st.just(high), st.just(low))), low, high
    if which == 3:
        return draw(tanh_spec(st.just(high), st.just(low))), low, high
    if which == 4:
        return draw(step_decay_spec(st.just(high), rate)), 0.0, high
    if which == 5:
        return draw(multistep_spec(st.just(high), rate)), 0.0, high
    if which == 6:
        spec = draw(exponential_spec(st.just(high), f32(0.05, 1.0), st.none() | st.just(low)))
        return spec, 0.0 if spec[1]["end_value"] is None else low, high
    return draw(inverse_time_spec(st.just(high))), 0.0, high


@settings(max_examples=60, deadline=None)
@given(monotone_decay())
def test_decays_are_non_increasing_and_within_their_values(case) -> None:
    spec, low, high = case
    steps = np.sort(steps_for(spec, []))
    values = np.asarray(evaluate(build(spec), steps))
    assert_non_increasing(values, high)
    assert_within(values, low, high, high)


@settings(max_examples=30, deadline=None)
@given(restarts_spec(init=f32(1.0, 4.0), end=f32(-1.0, 1.0), cycle_decay=st.just(1.0)))
def test_cosine_restarts_stays_within_end_and_init_when_m_mul_at_most_one(spec: Spec) -> None:
    kw = spec[1]
    steps = steps_for(spec, [])
    values = np.asarray(evaluate(build(spec), steps))
    assert_within(values, kw["end_value"], kw["init_value"], 4.0)


@settings(max_examples=30, deadline=None)
@given(cyclic_spec(base=f32(-1.0, 1.0), top=f32(1.0, 4.0)))
def test_cyclic_stays_within_base_and_max(spec: Spec) -> None:
    steps = padded([*steps_for(spec, []), 1e5 + 0.5, 2**31 + 5, 1e15])
    values = np.asarray(evaluate(build(spec), steps))
    assert_within(values, spec[1]["base_value"], spec[1]["max_value"], 4.0)


@settings(max_examples=30, deadline=None)
@given(one_cycle_spec())
def test_one_cycle_stays_within_its_minimum_and_peak(spec: Spec) -> None:
    kw = spec[1]
    low = kw["peak_value"] / kw["div_factor"] / kw["final_div_factor"]
    steps = padded([*steps_for(spec, []), 2**31 + 5, 1e15])
    values = np.asarray(evaluate(build(spec), steps))
    assert_within(values, low, kw["peak_value"], kw["peak_value"])


@settings(max_examples=30, deadline=None)
@given(one_cycle_momentum_spec())
def test_one_cycle_momentum_stays_within_base_and_max_momentum(spec: Spec) -> None:
    kw = spec[1]
    values = np.asarray(evaluate(build(spec), steps_for(spec, [])))
    assert_within(values, kw["base_momentum"], kw["max_momentum"], 1.0)


@st.composite
def warmup_case(draw: st.DrawFn) -> tuple[Spec, float]:
    """A schedule with a warmup that must not decrease, and its warmup length."""
    low, high = sorted([draw(VALUE), draw(VALUE)])
    which = draw(st.integers(0, 4))
    if which == 0:
        # prefix=False hands over to the schedule at its step warmup_steps, which may be lower
        spec = draw(warmup_spec(cosine_spec(st.just(high)), st.just(low), prefix=st.just(True)))
        return spec, spec[1]["warmup_steps"]
    if which == 1:
        spec = draw(wsd_spec())
        kw = dict(spec[1], init_value=low, peak_value=high)
        warmup = kw["warmup_steps"]
        if warmup >= kw["total_steps"]:  # no stable phase, no cooldown: end_value at warmup_steps
            warmup = float(np.nextafter(np.float32(warmup), np.float32(0)))
        return (spec[0], kw), warmup
    if which == 2:
        spec = draw(warmup_cosine_spec())
        kw = dict(spec[1], init_value=low, peak_value=high)
        return (spec[0], kw), kw["warmup_steps"]
    if which == 3:
        spec = draw(inverse_sqrt_spec(peak=NON_NEGATIVE))
        return spec, spec[1]["warmup_steps"]
    spec = draw(one_cycle_spec())
    return spec, spec[1]["pct_start"] * spec[1]["total_steps"] - 1


@settings(max_examples=50, deadline=None)
@given(warmup_case())
def test_warmups_are_non_decreasing(case: tuple[Spec, float]) -> None:
    spec, length = case
    steps = padded(list(np.linspace(0.0, length, N_STEPS)))
    values = np.asarray(evaluate(build(spec), steps))
    assert_non_increasing(-values, reference.build(spec).scale)


# ----------------------------------------------------------------------------- horizon


HOLDING = st.one_of(*FAMILIES.values()).filter(lambda s: horizon(s) is not None)


@settings(max_examples=50, deadline=None)
@given(HOLDING)
def test_holds_final_value_exactly_after_horizon(spec: Spec) -> None:
    end = math.ceil(horizon(spec))  # type: ignore[arg-type]
    steps = padded([end + k for k in (0, 1, 2, 10, 1000, 10**6, 2**31 + 5, 10**12, 1e15)])
    values = np.asarray(evaluate(build(spec), steps))
    np.testing.assert_array_equal(values, np.full_like(values, values[0]))
    assert_matches_reference(values[:1], spec, steps[:1])


@settings(max_examples=30, deadline=None)
@given(ANY_SPEC.filter(lambda s: not is_cyclic(s)))
def test_huge_steps_of_any_type_are_finite_and_held(spec: Spec) -> None:
    schedule = build(spec)
    end = horizon(spec)
    held = None if end is None else np.asarray(schedule(math.ceil(end)))
    for step in HUGE_STEPS:
        got = np.asarray(schedule(step))
        assert got.shape == np.shape(step)
        assert not np.any(np.isnan(got)), (step, got)
        t = np.asarray(step, dtype=np.float64)
        if held is not None:
            np.testing.assert_array_equal(got, np.broadcast_to(held, got.shape), err_msg=str(step))
        else:
            with np.errstate(over="ignore"):
                finite = np.abs(reference.build(spec)(t)) < 1e37
            assert np.all(np.isfinite(got[finite])), (step, got)
            assert_matches_reference(got[finite], spec, np.asarray(t, np.float32)[finite])


# ----------------------------------------------------------------------------- joins


def near(boundary: float) -> tuple[float, float]:
    """Float steps just before (by a relative 1e-5) and at a positive `boundary`."""
    return boundary * (1 - 1e-5), boundary


@settings(max_examples=30, deadline=None)
@given(warmup_spec(piece=ANY_LEAF, prefix=st.just(True)), f32(1.0, 40.0))
def test_warmup_meets_its_schedule_at_the_end_of_warmup(spec: Spec, warmup_steps: float) -> None:
    spec = (spec[0], dict(spec[1], warmup_steps=warmup_steps))
    inner = build(spec[1]["schedule"])
    before, at = evaluate(build(spec), jnp.asarray(near(warmup_steps), jnp.float32))
    scale = reference.build(spec).scale
    start = float(evaluate(inner, jnp.zeros((), jnp.float32)))
    assert abs(float(before) - start) <= 0.01 * scale + 1e-6
    assert abs(float(at) - start) <= RTOL * abs(start) + ATOL * scale


@settings(max_examples=30, deadline=None)
@given(warmup_cosine_spec())
def test_warmup_cosine_decay_is_continuous_at_the_end_of_warmup(spec: Spec) -> None:
    kw = spec[1]
    assume(kw["warmup_steps"] > 0)
    before, at = evaluate(build(spec), jnp.asarray(near(kw["warmup_steps"]), jnp.float32))
    scale = reference.build(spec).scale
    assert abs(float(before) - kw["peak_value"]) <= 0.01 * scale + 1e-6
    # XLA on CPU flushes subnormal results to zero: a peak below float32's smallest normal
    # number may come out as 0 (found by hypothesis: peak_value=1.4e-45).
    assert abs(float(at) - kw["peak_value"]) <= 1e-6 * scale + np.finfo(np.float32).tiny


@settings(max_examples=40, deadline=None)
@given(wsd_spec())
def test_warmup_stable_decay_is_continuous_at_phase_ends(spec: Spec) -> None:
    kw = spec[1]
    peak, end = kw["peak_value"], kw["end_value"]
    decay_start = kw["total_steps"] - kw["decay_steps"]
    schedule = build(spec)
    scale = reference.build(spec).scale
    tol = 0.01 * scale + 1e-6  # 1-sqrt is steep (not Lipschitz) at its ends
    # XLA on CPU flushes subnormal float32 results to 0: a subnormal peak may read as 0.
    exact = 1e-6 * scale + float(np.finfo(np.float32).tiny)
    # (a warmup that takes the whole run ends at total_steps, where end_value holds)
    if 0 < kw["warmup_steps"] < kw["total_steps"]:
        before, at = evaluate(schedule, jnp.asarray(near(kw["warmup_steps"]), jnp.float32))
        assert abs(float(before) - peak) <= tol and abs(float(at) - peak) <= exact
    if kw["decay_steps"] > 0:
        before, at = evaluate(schedule, jnp.asarray(near(decay_start), jnp.float32))
        assert abs(float(before) - peak) <= tol and abs(float(at) - peak) <= exact
        before, at = evaluate(schedule, jnp.asarray(near(kw["total_steps"]), jnp.float32))
        assert abs(float(before) - end) <= tol and float(at) == end


@settings(max_examples=40, deadline=None)
@given(st.one_of(one_cycle_spec(), one_cycle_momentum_spec()))
def test_one_cycle_is_continuous_at_phase_ends(spec: Spec) -> None:
    kw = spec[1]
    total, pct = kw["total_steps"], kw["pct_start"]
    ends = [pct * total - 1, total - 1.0]
    if kw["three_phase"]:
        ends.insert(1, 2 * pct * total - 2)
    schedule = build(spec)
    scale = reference.build(spec).scale
    shortest = min(b - a for a, b in itertools.pairwise([0.0, *ends]))
    for end in ends:
        eps = 1e-3 * min(1.0, shortest)
        got = np.asarray(evaluate(schedule, jnp.asarray([end - eps, end, end + eps], jnp.float32)))
        assert np.ptp(got) <= 0.01 * scale, (end, got)
        assert_matches_reference(got[1:2], spec, np.asarray([end], np.float32))


# ----------------------------------------------------------------------------- step types


STEP_VALUES = (0, 1, 7, 50, 1234)


def step_forms() -> list[tuple[str, Callable[[jaxsched.Schedule], np.ndarray]]]:
    as_int = np.asarray(STEP_VALUES)

    def each(convert: Callable[[int], Any]) -> Callable[[jaxsched.Schedule], np.ndarray]:
        return lambda s: np.stack([np.asarray(s(convert(v))) for v in STEP_VALUES])

    def traced(dtype: Any) -> Callable[[jaxsched.Schedule], np.ndarray]:
        return lambda s: np.asarray(jax.jit(lambda s, t: s(t))(s, jnp.asarray(as_int, dtype)))

    return [
        ("python int", each(int)),
        ("python float", each(float)),
        ("numpy int32 scalar", each(np.int32)),
        ("numpy int64 scalar", each(np.int64)),
        ("numpy float32 scalar", each(np.float32)),
        ("numpy float64 scalar", each(np.float64)),
        ("numpy int32 array", lambda s: np.asarray(s(as_int.astype(np.int32)))),
        ("numpy int64 array", lambda s: np.asarray(s(as_int.astype(np.int64)))),
        ("numpy uint64 array", lambda s: np.asarray(s(as_int.astype(np.uint64)))),
        ("numpy float32 array", lambda s: np.asarray(s(as_int.astype(np.float32)))),
        ("numpy float64 array", lambda s: np.asarray(s(as_int.astype(np.float64)))),
        ("jax int32 scalar", each(jnp.int32)),
        ("jax float32 scalar", each(jnp.float32)),
        ("jax int32 array", lambda s: np.asarray(s(jnp.asarray(as_int, jnp.int32)))),
        ("jax float32 array", lambda s: np.asarray(s(jnp.asarray(as_int, jnp.float32)))),
        ("traced int32", traced(jnp.int32)),
        ("traced float32", traced(jnp.float32)),
    ]


@settings(max_examples=10, deadline=None)
@given(ANY_SPEC)
def test_every_step_type_gives_the_same_values(spec: Spec) -> None:
    schedule = build(spec)
    expected = np.asarray(schedule(np.asarray(STEP_VALUES, np.float64)))
    assert expected.dtype == np.float32
    scale = max(reference.build(spec).scale, 1e-30)
    for label, form in step_forms():
        got = form(schedule)
        assert got.dtype == np.float32, label
        np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL * scale, err_msg=label)


def test_step_shape_is_kept() -> None:
    schedule = jaxsched.warmup(jaxsched.cosine_decay(1.0, 100), warmup_steps=10)
    for shape in ((), (3,), (2, 3), (2, 1, 4)):
        steps = np.arange(math.prod(shape)).reshape(shape)
        assert schedule(steps).shape == shape
        assert evaluate(schedule, steps.astype(np.float32)).shape == shape


# ----------------------------------------------------------------------------- tracing


SAME_STRUCTURE: dict[str, list[jaxsched.Schedule]] = {
    "cosine_decay": [
        jaxsched.cosine_decay(1, 100),
        jaxsched.cosine_decay(0.5, 300, end_value=1),
        jaxsched.cosine_decay(init_value=2, decay_steps=7, end_value=0.25, exponent=2),
    ],
    "warmup_cosine_decay": [
        jaxsched.warmup_cosine_decay(0, 1, 10, 100),
        jaxsched.warmup_cosine_decay(0.5, 0.25, 0, 7, end_value=1),
    ],
    "warmup_stable_decay": [
        jaxsched.warmup_stable_decay(1, 100, 10, 20),
        jaxsched.warmup_stable_decay(0.5, 7, 0, 0, init_value=1, end_value=2),
    ],
    "one_cycle": [
        jaxsched.one_cycle(1, 100),
        jaxsched.one_cycle(0.5, 70, pct_start=0.5, div_factor=10, final_div_factor=3),
    ],
    "cyclic": [jaxsched.cyclic(0, 1, 5), jaxsched.cyclic(0.5, 2, 3, mode="triangular")],
    "exponential_decay": [
        jaxsched.exponential_decay(1, 0.5),
        jaxsched.exponential_decay(0.25, 2, 3, transition_begin=4),
    ],
    "piecewise_constant": [
        jaxsched.piecewise_constant((2, 4), (1, 0.5, 0.25)),
        jaxsched.piecewise_constant((7, 90), (3.0, 2, 1)),
    ],
    "join": [
        jaxsched.join((jaxsched.linear(0, 1, 5), jaxsched.cosine_decay(1, 50)), (5,)),
        jaxsched.join((jaxsched.linear(0.5, 2, 9), jaxsched.cosine_decay(2, 3)), (11,)),
    ],
    "warmup": [
        jaxsched.warmup(jaxsched.constant(1), 10),
        jaxsched.warmup(jaxsched.constant(0.5), 3, init_value=1),
    ],
    "by_fraction": [
        jaxsched.by_fraction(100, (0.5, 0.5), (jaxsched.constant(1), jaxsched.constant(2))),
        jaxsched.by_fraction(9, (0.25, 0.75), (jaxsched.constant(0.5), jaxsched.constant(0))),
    ],
    "clip": [
        jaxsched.clip(jaxsched.exponential_decay(1, 0.5), 0.1, 1),
        jaxsched.clip(jaxsched.exponential_decay(2, 0.25), 0, 0.5),
    ],
}


@pytest.mark.parametrize("family", sorted(SAME_STRUCTURE))
def test_changing_numbers_does_not_retrace(family: str) -> None:
    traces = 0

    @jax.jit
    def f(schedule: jaxsched.Schedule, step: jax.Array) -> jax.Array:
        nonlocal traces
        traces += 1
        return schedule(step)

    steps = jnp.arange(8.0)
    for schedule in SAME_STRUCTURE[family]:
        np.testing.assert_allclose(f(schedule, steps), schedule(steps), rtol=RTOL, atol=ATOL)
    assert traces == 1


@settings(max_examples=10, deadline=None)
@given(ANY_SPEC, st.data())
def test_vmap_over_stacked_schedules_equals_each(spec: Spec, data: st.DataObject) -> None:
    # the same structure with other numbers: redraw, keeping those whose treedef matches
    specs = [spec]
    for _ in range(3):
        other = data.draw(FAMILIES[spec[0]])
        if jax.tree.structure(build(other)) == jax.tree.structure(build(spec)):
            specs.append(other)
    schedules = [build(s) for s in specs]
    steps = jnp.asarray(steps_for(spec, [])[:64])
    got = np.asarray(jax.vmap(lambda s: s(steps))(jaxsched.stack(schedules)))
    scale = max(max(reference.build(s).scale for s in specs), 1e-30)
    for row, schedule in zip(got, schedules, strict=True):
        np.testing.assert_allclose(row, evaluate(schedule, steps), rtol=RTOL, atol=ATOL * scale)


def test_vmap_over_traced_warmup_steps_and_peak_value() -> None:
    steps = jnp.arange(0, 1100, 7, dtype=jnp.float32)
    warmups = jnp.asarray([0, 1, 10, 250, 999])
    got = jax.vmap(lambda w: jaxsched.warmup_cosine_decay(0.0, 1.0, w, 1000)(steps))(warmups)
    for row, w in zip(got, warmups.tolist(), strict=True):
        np.testing.assert_allclose(
            row, evaluate(jaxsched.warmup_cosine_decay(0.0, 1.0, w, 1000), steps), RTOL, ATOL
        )
        assert_matches_reference(
            row,
            (
                "warmup_cosine_decay",
                {"init_value": 0.0, "peak_value": 1.0, "warmup_steps": w, "decay_steps": 1000},
            ),
            np.asarray(steps),
        )
    peaks = jnp.asarray([0.0, 1e-4, 0.5, 3.0])
    makers = {
        "warmup_cosine_decay": lambda p: jaxsched.warmup_cosine_decay(0.0, p, 100, 1000),
        "one_cycle": lambda p: jaxsched.one_cycle(p, 1000),
        "warmup_stable_decay": lambda p: jaxsched.warmup_stable_decay(p, 1000, 100, 200),
        "inverse_sqrt": lambda p: jaxsched.inverse_sqrt(p, 100),
        "scaled warmup": lambda p: jaxsched.warmup(jaxsched.cosine_decay(p, 900), 100),
    }
    for label, make in makers.items():
        got = jax.vmap(lambda p, make=make: make(p)(steps))(peaks)
        for row, p in zip(got, peaks.tolist(), strict=True):
            want = evaluate(make(p), steps)
            np.testing.assert_allclose(row, want, rtol=RTOL, atol=ATOL, err_msg=label)


# ----------------------------------------------------------------------------- config


@settings(max_examples=60, deadline=None)
@given(st.one_of(ANY_SPEC, NESTED))
def test_config_round_trips_through_json(spec: Spec) -> None:
    schedule = build(spec)
    config = schedule.to_config()
    again = jaxsched.from_config(json.loads(json.dumps(config)))
    assert again == schedule
    assert type(again) is type(schedule)
    assert again.to_config() == config
    assert jax.tree.structure(again) == jax.tree.structure(schedule)
    steps = steps_for(spec, [])
    np.testing.assert_array_equal(evaluate(again, steps), evaluate(schedule, steps))


# ----------------------------------------------------------------------------- built inside jit


@pytest.mark.parametrize("family", sorted(SAME_STRUCTURE))
def test_valid_schedule_can_be_built_inside_jit(family: str) -> None:
    schedule = SAME_STRUCTURE[family][0]
    config = schedule.to_config()
    steps = jnp.arange(0.0, 200.0, 3.0)
    got = jax.jit(lambda t: jaxsched.from_config(config)(t))(steps)
    np.testing.assert_allclose(got, schedule(steps), rtol=RTOL, atol=ATOL)


def test_huge_integer_hyperparameters_do_not_overflow() -> None:
    big = 2**31 + 5
    cases = [
        jaxsched.linear(0.0, 1.0, transition_steps=2 * big, transition_begin=big),
        jaxsched.cosine_decay(1.0, decay_steps=2 * big),
        jaxsched.warmup_stable_decay(1.0, total_steps=4 * big, warmup_steps=big, decay_steps=big),
        jaxsched.join((jaxsched.constant(1.0), jaxsched.constant(0.5)), boundaries=(big,)),
    ]
    steps = np.asarray([0, big, 2 * big, 3 * big, 10 * big], dtype=np.int64)
    for schedule in cases:
        eager = np.asarray(schedule(steps))
        assert np.all(np.isfinite(eager)), schedule
        np.testing.assert_allclose(evaluate(schedule, steps.astype(np.float32)), eager, 1e-6)
