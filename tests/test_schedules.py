"""Hand-computed values and conventions of each schedule and the registry."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched


def values(schedule: jaxsched.Schedule, steps) -> np.ndarray:
    return np.asarray(schedule(np.asarray(steps)))


def test_cosine_restarts_restarts_exactly_on_cycle_starts_with_fractional_t_mul() -> None:
    # Cycles of 10, 15, 22.5 steps start at 0, 10, 25, 47.5: log-based formulas in float32
    # put step 25 at the end of cycle 1 instead of the start of cycle 2.
    schedule = jaxsched.cosine_restarts(1.0, first_decay_steps=10, t_mul=1.5, m_mul=0.5)
    np.testing.assert_allclose(values(schedule, [0, 10, 25]), [1.0, 0.5, 0.25], rtol=1e-6)
    assert values(schedule, [24])[0] < 0.01
    assert values(schedule, [47])[0] < 0.001 < values(schedule, [48])[0]


def test_cosine_restarts_holds_end_value_after_cycle_limit() -> None:
    schedule = jaxsched.cosine_restarts(1.0, 4, t_mul=2.0, end_value=0.1, cycle_limit=2)
    assert values(schedule, [4])[0] == pytest.approx(1.0)  # start of the second cycle
    np.testing.assert_allclose(values(schedule, [12, 13, 10**9]), 0.1)


def test_piecewise_constant_switches_at_the_boundary_step() -> None:
    schedule = jaxsched.piecewise_constant(boundaries=(3,), values=(1.0, 2.0))
    np.testing.assert_array_equal(values(schedule, [2, 3]), [1.0, 2.0])


def test_multistep_counts_repeated_and_unsorted_milestones_like_torch() -> None:
    schedule = jaxsched.multistep_decay(1.0, milestones=(4, 2, 4), decay_rate=0.5)
    np.testing.assert_allclose(values(schedule, [1, 2, 3, 4, 9]), [1.0, 0.5, 0.5, 0.125, 0.125])


def test_polynomial_cycle_restarts_after_each_multiple_like_keras() -> None:
    schedule = jaxsched.polynomial_decay(1.0, 0.0, decay_steps=4, cycle=True)
    # At 4 the first decay ends; at 5 the horizon doubles to 8, so the value is 1 - 5/8.
    np.testing.assert_allclose(values(schedule, [0, 4, 5, 8, 9]), [1.0, 0.0, 0.375, 0.0, 0.25])


def test_exponential_end_value_is_an_upper_bound_when_growing() -> None:
    schedule = jaxsched.exponential_decay(1.0, decay_rate=2.0, end_value=5.0)
    np.testing.assert_allclose(values(schedule, [0, 2, 3, 100]), [1.0, 4.0, 5.0, 5.0])


def test_exponential_waits_for_transition_begin() -> None:
    schedule = jaxsched.exponential_decay(1.0, 0.5, transition_steps=2, transition_begin=3)
    np.testing.assert_allclose(values(schedule, [0, 3, 5, 7]), [1.0, 1.0, 0.5, 0.25])


def test_one_cycle_uses_torch_fractional_phase_ends() -> None:
    # pct_start * total_steps - 1 = 2.5: the peak falls between steps 2 and 3.
    schedule = jaxsched.one_cycle(1.0, total_steps=10, pct_start=0.35, anneal_strategy="linear")
    start = 1.0 / 25.0
    np.testing.assert_allclose(values(schedule, [0, 2]), [start, start + (1 - start) * 2 / 2.5])
    assert values(schedule, [9])[0] == pytest.approx(start / 1e4)


def test_one_cycle_three_phase_returns_to_start_before_final_anneal() -> None:
    schedule = jaxsched.one_cycle(1.0, total_steps=21, pct_start=0.25, three_phase=True)
    # Phases end at steps 4.25, 8.5 and 20.
    start = 1.0 / 25.0
    np.testing.assert_allclose(values(schedule, [0, 20]), [start, start / 1e4], rtol=1e-5)
    # Step 9 is just past 8.5, where the value is back at the start.
    assert values(schedule, [9])[0] == pytest.approx(start, rel=0.01)


def test_wsd_phases_and_1_sqrt_cooldown() -> None:
    schedule = jaxsched.warmup_stable_decay(
        1.0, total_steps=10, warmup_steps=2, decay_steps=4, decay_shape="1-sqrt"
    )
    expected = [0.0, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1 - math.sqrt(0.25), 1 - math.sqrt(0.5)]
    np.testing.assert_allclose(values(schedule, range(9)), expected, rtol=1e-6)
    np.testing.assert_allclose(values(schedule, [10, 11]), 0.0)


def test_warmup_starts_the_wrapped_schedule_from_its_own_step_zero() -> None:
    inner = jaxsched.step_decay(1.0, step_size=2, decay_rate=0.5)
    schedule = jaxsched.warmup(inner, warmup_steps=4, init_value=0.2)
    np.testing.assert_allclose(values(schedule, [0, 2, 4, 5, 6]), [0.2, 0.6, 1.0, 1.0, 0.5])


def test_zero_warmup_is_the_schedule_itself() -> None:
    inner = jaxsched.cosine_decay(1.0, 10)
    np.testing.assert_array_equal(
        values(jaxsched.warmup(inner, 0), range(12)), values(inner, range(12))
    )


def test_tanh_decay_lands_on_end_value_at_the_horizon_like_timm() -> None:
    schedule = jaxsched.tanh_decay(1.0, 0.1, decay_steps=10)
    assert values(schedule, [9])[0] > 0.1
    np.testing.assert_array_equal(values(schedule, [10, 10**6]), np.float32([0.1, 0.1]))


def test_schedule_accepts_steps_of_every_integer_and_float_type() -> None:
    schedule = jaxsched.cosine_decay(1.0, 100)
    expected = float(schedule(37))
    for step in (37, 37.0, np.int32(37), np.int64(37), np.uint64(37), np.float32(37),
                 jnp.int32(37), jnp.float32(37)):  # fmt: skip
        assert float(schedule(step)) == pytest.approx(expected), type(step)
    assert float(jax.jit(schedule)(jnp.int32(37))) == pytest.approx(expected)


def test_huge_python_int_steps_do_not_overflow() -> None:
    schedule = jaxsched.step_decay(1.0, step_size=2**40, decay_rate=0.5)
    assert float(schedule(2**41 + 5)) == 0.25  # jnp.asarray(2**41) would not fit int32


def test_registry_builds_own_and_transformers_names() -> None:
    assert jaxsched.get("cosine_decay", init_value=1.0, decay_steps=4) == jaxsched.cosine_decay(
        1.0, 4
    )
    own = jaxsched.get("linear", init_value=1.0, end_value=0.0, transition_steps=4)
    hf = jaxsched.get("linear", peak_value=1.0, num_warmup_steps=2, num_training_steps=6)
    np.testing.assert_allclose(values(own, [2]), [0.5])
    np.testing.assert_allclose(values(hf, [0, 1, 2, 4, 6, 7]), [0, 0.5, 1.0, 0.5, 0.0, 0.0])


@pytest.mark.parametrize(
    ("name", "kwargs", "parameter"),
    [
        ("nope", {}, "name"),
        ("cosine_decay", {"init_value": 1.0}, "decay_steps"),
        ("cosine", {"peak_value": 1.0, "num_training_steps": 10, "num_cycles": 2}, "num_cycles"),
        ("linear", {"peak_value": 1.0, "num_warmup_steps": 5, "num_training_steps": 5},
         "num_training_steps"),
    ],
)  # fmt: skip
def test_registry_errors_name_the_parameter(name, kwargs, parameter) -> None:
    with pytest.raises(ValueError, match=parameter):
        jaxsched.get(name, **kwargs)


def test_repr_reads_like_the_constructor_call() -> None:
    schedule = jaxsched.warmup(jaxsched.constant(0.1), 5)
    assert repr(schedule) == (
        "warmup(schedule=constant(value=0.1), warmup_steps=5.0, init_value=0.0, shape='linear', "
        "prefix=True, continuous=False)"
    )


def test_repr_names_a_function_by_its_import_path() -> None:
    schedule = jaxsched.lambda_schedule(
        "tests.reference:inverse_power", 0.1, {"rate": 0.1, "power": 0.5}
    )
    assert "0x" not in repr(schedule)
    assert eval(repr(schedule), {"lambda_schedule": jaxsched.lambda_schedule}) == schedule


def test_stack_refuses_schedules_of_different_structure() -> None:
    with pytest.raises(ValueError, match="structure"):
        jaxsched.stack(
            [jaxsched.cyclic(0.0, 1.0, 2), jaxsched.cyclic(0.0, 1.0, 2, mode="exp_range")]
        )


def test_one_cycle_reaches_its_final_value_exactly_on_the_last_step() -> None:
    # pct_start * total_steps - 1 = 4.856 is not exact in float32, so the last phase is 0.144
    # steps long and its progress at step 5 rounded to just below 1 (found by hypothesis).
    schedule = jaxsched.one_cycle(
        1.0, 6, pct_start=0.9759832620620728, div_factor=1.0, final_div_factor=2.0,
        anneal_strategy="linear",
    )  # fmt: skip
    np.testing.assert_array_equal(values(schedule, [5, 6, 2**31 + 5]), np.float32([0.5] * 3))


# ------------------------------------------ get's durations and the conventions of ported schedules


@pytest.mark.parametrize(
    ("value", "steps"),
    [
        (300, 300),
        (12.5, 12.5),
        ("10%", 100),
        ("12.5 %", 125),
        ("2 epochs", 700),
        ("1 epoch", 350),
        ("0.5epochs", 175),
        ("300 steps", 300),
        ("1 step", 1),
        ("42", 42),
        ({"fraction": 0.25}, 250),
        ({"epochs": 1.5}, 525),
        ({"steps": 7}, 7),
        ("0.05%", 1),  # 0.5 steps, rounded half up
    ],
)
def test_get_converts_durations_to_steps(value, steps) -> None:
    schedule = jaxsched.get(
        "linear",
        init_value=0.0,
        end_value=1.0,
        transition_steps=value,
        run_steps=1000,
        steps_per_epoch=350,
    )
    assert schedule.transition_steps == steps


def test_get_converts_durations_inside_lists_dicts_and_nested_schedules() -> None:
    schedule = jaxsched.get(
        "cooldown",
        schedule={"name": "warmup", "schedule": {"name": "constant", "value": 0.1},
                  "warmup_steps": "5%"},
        start_step="80%",
        decay_steps="1 epoch",
        run_steps=200,
        steps_per_epoch=30,
    )  # fmt: skip
    assert (schedule.start_step, schedule.decay_steps, schedule.schedule.warmup_steps) == (
        160.0,
        30.0,
        10.0,
    )
    steps = jaxsched.get(
        "multistep_decay", init_value=1.0, milestones=["50%", "3 epochs"], run_steps=100,
        steps_per_epoch=25,
    )  # fmt: skip
    assert steps.milestones == (50.0, 75.0)
    scales = jaxsched.get(
        "piecewise_constant_scales", init_value=1.0, boundaries={"50%": 0.1, "90": 0.5},
        run_steps=100,
    )  # fmt: skip
    assert (scales.boundaries, scales.scales) == ((50.0, 90.0), (0.1, 0.5))
    sgdr = jaxsched.get(
        "sgdr",
        cosine_kwargs=[{"init_value": 0.0, "peak_value": 1.0, "warmup_steps": "1%",
                        "decay_steps": "50%"}] * 2,
        run_steps=400,
    )  # fmt: skip
    assert sgdr.boundaries == (200.0,) and sgdr.schedules[0].warmup_steps == 4.0


def test_get_min_lr_ratio_sets_end_value_from_the_peak() -> None:
    schedule = jaxsched.get(
        "warmup_cosine_decay", init_value=0.0, peak_value=0.2, warmup_steps=5, decay_steps=50,
        min_lr_ratio=0.1,
    )  # fmt: skip
    assert schedule.end_value == pytest.approx(0.02)
    cosine = jaxsched.get("cosine_decay", init_value=0.5, decay_steps=10, min_lr_ratio=0.5)
    assert cosine.end_value == 0.25
    # the transformers meaning of warmup_stable_decay's min_lr_ratio is kept
    hf = jaxsched.get(
        "warmup_stable_decay", peak_value=1.0, num_warmup_steps=2, num_decay_steps=2,
        num_training_steps=10, min_lr_ratio=0.1,
    )  # fmt: skip
    assert (hf.init_value, hf.end_value) == (0.1, 0.1)


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"transition_steps": "10%"}, "run_steps"),
        ({"transition_steps": "2 epochs"}, "steps_per_epoch"),
        ({"transition_steps": "ten steps"}, "transition_steps"),
        ({"transition_steps": {"minutes": 3}}, "transition_steps"),
        ({"transition_steps": "inf%", "run_steps": 10}, "transition_steps"),
        ({"transition_steps": 5, "min_lr_ratio": 0.1}, "min_lr_ratio"),
    ],
)
def test_get_duration_errors_say_what_to_pass(kwargs, parameter) -> None:
    with pytest.raises(ValueError, match=parameter):
        jaxsched.get("linear", init_value=1.0, end_value=0.0, **kwargs)


def test_get_min_lr_ratio_with_end_value_is_refused() -> None:
    with pytest.raises(ValueError, match="min_lr_ratio"):
        jaxsched.get("cosine_decay", init_value=1.0, decay_steps=5, end_value=0.1,
                     min_lr_ratio=0.1)  # fmt: skip


def test_constant_factor_is_torch_constant_lr() -> None:
    schedule = jaxsched.constant_factor(0.1)
    np.testing.assert_allclose(values(schedule, [0, 4, 5, 10**9]), [0.1 / 3, 0.1 / 3, 0.1, 0.1])


def test_function_schedules_write_their_function_to_the_config() -> None:
    from tests import reference

    schedule = jaxsched.lambda_schedule(
        reference.inverse_power, 0.5, params={"rate": 1.0, "power": 1.0}
    )
    config = schedule.to_config()
    assert config["fn"] == "tests.reference:inverse_power"
    assert jaxsched.from_config(config) == schedule
    np.testing.assert_allclose(values(schedule, [0, 1, 3]), [0.5, 0.25, 0.125])
    with pytest.raises(ValueError, match="fn"):
        jaxsched.lambda_schedule(lambda step: step, 1.0).to_config()
    with pytest.raises(ValueError, match="fn"):
        jaxsched.lambda_schedule("tests.reference:no_such_function")
    with pytest.raises(ValueError, match="params"):
        jaxsched.lambda_schedule(reference.inverse_power, params={"name": 1.0})
    cyclic = jaxsched.cyclic(0.0, 1.0, 2, scale_fn="tests.reference:halving")
    assert cyclic.scale_fn is reference.halving
    assert jaxsched.from_config(cyclic.to_config()) == cyclic


def test_multiplicative_multiplies_from_step_one_and_holds_after_max_steps() -> None:
    schedule = jaxsched.multiplicative(lambda k: 0.5 + 0.0 * k, max_steps=3, init_value=8.0)
    np.testing.assert_allclose(values(schedule, [0, 1, 2, 3, 4, 100]), [8, 4, 2, 1, 1, 1])
    with pytest.raises(ValueError, match="max_steps"):
        jaxsched.multiplicative(lambda k: k, max_steps=-1)


def test_cyclic_scale_fn_gets_the_cycle_from_one_or_the_step() -> None:
    seen = jaxsched.cyclic(0.0, 1.0, 1, scale_fn=lambda x: x, scale_mode="cycle")
    np.testing.assert_allclose(values(seen, [1, 3, 5]), [1.0, 2.0, 3.0])
    seen = jaxsched.cyclic(0.0, 1.0, 1, scale_fn=lambda x: x, scale_mode="iterations")
    np.testing.assert_allclose(values(seen, [1, 3, 5]), [1.0, 3.0, 5.0])


def test_piecewise_scales_accept_optax_dicts_with_string_keys() -> None:
    interpolated = jaxsched.piecewise_interpolate(1.0, {"8": 0.1, "4": 10.0})
    assert interpolated.boundaries == (4.0, 8.0) and interpolated.scales == (10.0, 0.1)
    np.testing.assert_allclose(values(interpolated, [0, 2, 4, 6, 8, 9]), [1, 5.5, 10, 5.5, 1, 1])
    with pytest.raises(ValueError, match="scales"):
        jaxsched.piecewise_constant_scales(1.0, {2: -0.5})
    with pytest.raises(ValueError, match="scales"):
        jaxsched.piecewise_interpolate(1.0, {2: 0.5}, scales=(0.1,))


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: jaxsched.linear_onecycle(100, 1.0, pct_start=0.5, pct_final=0.5), "pct_final"),
        (lambda: jaxsched.linear_onecycle(10, 1.0, pct_start=0.3, pct_final=1.0), "pct_final"),
        (lambda: jaxsched.cosine_onecycle(1.5, 1.0, pct_start=0.9), "pct_start"),
        (lambda: jaxsched.cosine_onecycle(10, 1.0, pct_start=1.0), "pct_start"),
    ],
)
def test_one_cycle_layouts_refuse_phases_without_steps(make, name) -> None:
    with pytest.raises(ValueError, match=name):
        make()


def test_linear_onecycle_reads_pct_times_steps_as_the_whole_step_meant() -> None:
    # optax computes int(0.29 * 100) = 28 in float64; the peak is at step 29 here.
    schedule = jaxsched.linear_onecycle(100, 1.0, pct_start=0.29)
    assert float(schedule(29)) == 1.0 and float(schedule(28)) < 1.0


def test_warmup_without_prefix_overlays_the_schedule_like_timm() -> None:
    inner = jaxsched.cosine_decay(1.0, 10)
    overlay = jaxsched.warmup(inner, 4, init_value=0.0, prefix=False)
    np.testing.assert_allclose(
        values(overlay, [0, 2, 4, 7, 12]), [0.0, 0.5, *values(inner, [4, 7, 12])], rtol=1e-6
    )


def test_the_composing_guide_runs_as_written() -> None:
    import pathlib
    import re

    text = (pathlib.Path(__file__).parent.parent / "docs" / "guides" / "composing.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 2  # the set-up blocks; what they print is a pycon block
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "docs/guides/composing.md", "exec"), namespace)
    branch = namespace["branch"]
    assert float(branch(7_999)) == pytest.approx(1e-3) and float(branch(10_000)) == 0.0


def test_a_cycles_position_stays_in_the_cycle_past_float32s_whole_numbers() -> None:
    # float32 steps past 2**24 hold no fraction, and `step - floor(step / p) * p` went negative
    # at 1e18 (the quotient rounds); the position is an exact remainder instead.
    steps = jnp.asarray([2.0**31, 2.0**40, 1e15, 1e18], jnp.float32)
    where = np.remainder(np.asarray(steps, np.float64), 3.0)  # exact: every float32 is whole
    cyclic = jaxsched.cyclic(0.1, 1.0, step_size_up=2, step_size_down=1)
    np.testing.assert_allclose(
        cyclic(steps), 0.1 + 0.9 * np.minimum(where / 2, 3 - where), rtol=1e-6
    )
    pieces = (jaxsched.exponential_decay(1.0, 2.0, transition_steps=1), jaxsched.constant(0.5))
    alternate = jaxsched.alternate(pieces, steps=(0, 3))  # never the first piece
    np.testing.assert_array_equal(alternate(steps), 0.5)
