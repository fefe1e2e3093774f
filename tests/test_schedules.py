"""Hand-computed values and conventions of each schedule, the registry and plotting."""

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
        "warmup(schedule=constant(value=0.1), warmup_steps=5.0, init_value=0.0, shape='linear')"
    )


def test_stack_refuses_schedules_of_different_structure() -> None:
    with pytest.raises(ValueError, match="structure"):
        jaxsched.stack(
            [jaxsched.cyclic(0.0, 1.0, 2), jaxsched.cyclic(0.0, 1.0, 2, mode="exp_range")]
        )


def test_plot_writes_a_png(tmp_path) -> None:
    path = jaxsched.plot(
        {"cosine": jaxsched.cosine_decay(1.0, 50), "1cycle": jaxsched.one_cycle(1.0, 50)},
        steps=60,
        path=tmp_path / "sub" / "schedules.png",
    )
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_one_cycle_reaches_its_final_value_exactly_on_the_last_step() -> None:
    # pct_start * total_steps - 1 = 4.856 is not exact in float32, so the last phase is 0.144
    # steps long and its progress at step 5 rounded to just below 1 (found by hypothesis).
    schedule = jaxsched.one_cycle(
        1.0, 6, pct_start=0.9759832620620728, div_factor=1.0, final_div_factor=2.0,
        anneal_strategy="linear",
    )  # fmt: skip
    np.testing.assert_array_equal(values(schedule, [5, 6, 2**31 + 5]), np.float32([0.5] * 3))
