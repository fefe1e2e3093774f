"""Cooldowns branched off a schedule, multi-cycle WSD, SWA and seeded noise: their contracts."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxsched

STABLE = jaxsched.warmup(jaxsched.constant(0.1), warmup_steps=10)


@jax.jit
def _evaluate(schedule: jaxsched.Schedule, steps: jax.Array) -> jax.Array:
    return schedule(steps)


def values(schedule: jaxsched.Schedule, steps) -> np.ndarray:
    """Jitted with the schedule as an argument: one compile per structure and step shape."""
    return np.asarray(_evaluate(schedule, jnp.asarray(steps, jnp.float32)))


@pytest.mark.parametrize("shape", ["linear", "cosine", "1-sqrt"])
def test_cooldown_branched_off_the_stable_phase_is_warmup_stable_decay(shape: str) -> None:
    steps = np.arange(120)
    branch = jaxsched.cooldown(STABLE, start_step=80, decay_steps=20, shape=shape)
    wsd = jaxsched.warmup_stable_decay(0.1, 100, 10, 20, decay_shape=shape)
    np.testing.assert_allclose(values(branch, steps), values(wsd, steps), rtol=1e-6, atol=1e-9)


def test_cooldown_follows_the_schedule_then_decays_from_its_value_there() -> None:
    decaying = jaxsched.cosine_decay(1.0, 100)
    branch = jaxsched.cooldown(decaying, 40, 10, shape="linear", end_value=0.01)
    got = values(branch, [0, 39, 40, 45, 50, 51, 10**9])
    start = float(decaying(40))
    np.testing.assert_allclose(
        got,
        [1.0, float(decaying(39)), start, 0.01 + (start - 0.01) / 2, 0.01, 0.01, 0.01],
        rtol=1e-6,
    )


def test_cooldown_of_zero_steps_jumps_to_end_value_at_start_step() -> None:
    branch = jaxsched.cooldown(STABLE, 50, 0, end_value=0.002)
    np.testing.assert_allclose(values(branch, [49, 50, 51]), [0.1, 0.002, 0.002], rtol=1e-6)


def test_one_sqrt_cooldown_is_below_linear_and_above_zero() -> None:
    steps = np.arange(81, 100)
    sqrt = values(jaxsched.cooldown(STABLE, 80, 20), steps)
    linear = values(jaxsched.cooldown(STABLE, 80, 20, shape="linear"), steps)
    assert np.all(sqrt < linear) and np.all(sqrt > 0)


def test_a_cooldown_branch_continues_a_stable_runs_optimizer_state() -> None:
    # The branch point's update uses the stable value; the updates after it decay.
    params, grads = jnp.zeros(()), jnp.ones(())
    stable = jaxsched.inject(optax.sgd, learning_rate=STABLE)
    state = stable.init(params)
    for _ in range(60):
        _, state = stable.update(grads, state, params)
    branch = jaxsched.inject(
        optax.sgd, learning_rate=jaxsched.cooldown(STABLE, 60, 4, shape="linear")
    )
    lrs = []
    for _ in range(6):
        updates, state = jax.jit(branch.update)(grads, state, params)
        lrs.append(-float(updates))
    np.testing.assert_allclose(lrs, [0.1, 0.075, 0.05, 0.025, 0.0, 0.0], atol=1e-7)


def test_cooldown_start_step_is_a_leaf_so_branches_share_one_program() -> None:
    traces = 0

    @jax.jit
    def at(schedule, step):
        nonlocal traces
        traces += 1
        return schedule(step)

    for start in (20, 40, 60):
        branch = jaxsched.cooldown(STABLE, start, 10)
        assert float(at(branch, jnp.float32(start + 10))) == 0.0
        assert float(at(branch, jnp.float32(start - 1))) == pytest.approx(0.1)
    assert traces == 1
    starts = jnp.asarray([20.0, 40.0, 60.0])
    batch = jax.vmap(lambda s: jaxsched.cooldown(STABLE, s, 10)(45.0))(starts)
    np.testing.assert_allclose(batch, [0.0, 0.1 * (1 - np.sqrt(0.5)), 0.1], rtol=1e-5)


def test_wsd_cycles_rewarm_from_end_value_and_hold_it_after_the_last_cycle() -> None:
    schedule = jaxsched.warmup_stable_decay_cycles(
        1.0, (10, 20, 30), warmup_steps=2, decay_steps=4, rewarmup_steps=(2, 0), end_value=0.1
    )
    got = values(schedule, [0, 1, 2, 5, 6, 8, 10, 11, 12, 16, 20, 21, 26, 28, 30, 10**6])
    want = [0.0, 0.5, 1.0, 1.0, 1.0, 0.55, 0.1, 0.55, 1.0, 1.0, 1.0, 1.0, 1.0, 0.55, 0.1, 0.1]
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_one_wsd_cycle_is_warmup_stable_decay() -> None:
    steps = np.arange(60)
    one = jaxsched.warmup_stable_decay_cycles(
        0.3, (50,), 5, decay_steps=20, init_value=0.01, end_value=0.02, decay_shape="1-sqrt"
    )
    wsd = jaxsched.warmup_stable_decay(0.3, 50, 5, 20, 0.01, 0.02, decay_shape="1-sqrt")
    np.testing.assert_allclose(values(one, steps), values(wsd, steps), rtol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"cycle_ends": (10, 5), "warmup_steps": 1}, "cycle_ends"),
        ({"cycle_ends": (), "warmup_steps": 1}, "cycle_ends"),
        ({"cycle_ends": (0, 5), "warmup_steps": 0}, "cycle_ends"),
        ({"cycle_ends": (10, 20), "warmup_steps": 8, "decay_steps": 4}, "warmup_steps"),
        ({"cycle_ends": (10, 20), "warmup_steps": 1, "rewarmup_steps": 11}, "rewarmup_steps"),
        ({"cycle_ends": (10, 20), "warmup_steps": 1, "decay_steps": (1, 2, 3)}, "decay_steps"),
        ({"cycle_ends": (10, 20), "warmup_steps": 1, "rewarmup_steps": (1, 2)}, "rewarmup"),
    ],
)
def test_wsd_cycles_refuse_phases_that_do_not_fit(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        jaxsched.warmup_stable_decay_cycles(1.0, **kwargs)


def test_swa_from_a_running_schedule_is_a_cooldown_with_the_swa_value() -> None:
    swa = jaxsched.swa(0.1, 0.02, anneal_steps=5)
    branch = jaxsched.cooldown(jaxsched.constant(0.1), 0, 5, shape="cosine", end_value=0.02)
    steps = np.arange(10)
    np.testing.assert_allclose(values(swa, steps), values(branch, steps), rtol=1e-6)


NOISY = jaxsched.noise(jaxsched.constant(1.0), noise_start=100, noise_end=5100, noise_pct=0.5)
# One step array for every noise test: each new shape compiles the random draw again.
STEPS = np.arange(6000)


@pytest.fixture(scope="module")
def noisy() -> np.ndarray:
    return values(NOISY, STEPS)


def test_noise_is_applied_only_in_its_range_and_stays_within_its_bound(noisy) -> None:
    assert np.all(noisy[:100] == 1.0) and np.all(noisy[5100:] == 1.0)
    inside = noisy[100:5100] - 1.0
    assert np.all(np.abs(inside) < 0.5) and np.unique(inside).size > 4900


def test_normal_noise_is_a_truncated_normal_and_uniform_noise_is_uniform(noisy) -> None:
    # timm redraws a normal(0, noise_std) until it is within noise_pct; uniform is in
    # [-pct, pct). With std 1 and pct 0.5 the truncated normal has std 0.2838 (a uniform on
    # the same interval: 0.2887).
    inside = noisy[100:5100] - 1.0
    assert abs(inside.mean()) < 0.01
    assert abs(inside.std() - 0.2838) < 0.008
    uniform = jaxsched.noise(jaxsched.constant(1.0), noise_pct=0.5, noise_type="uniform")
    drawn = values(uniform, STEPS) - 1.0
    assert abs(drawn.std() - 0.5 / np.sqrt(3)) < 0.01 and np.all(np.abs(drawn) <= 0.5)


def test_noise_is_a_pure_function_of_step_and_seed(noisy) -> None:
    again = jaxsched.noise(jaxsched.constant(1.0), 100, 5100, noise_pct=0.5)
    np.testing.assert_array_equal(values(again, STEPS), noisy)
    other = jaxsched.noise(jaxsched.constant(1.0), 100, 5100, noise_pct=0.5, seed=7)
    assert not np.any(values(other, STEPS)[100:5100] == noisy[100:5100])
    # Each whole step has one draw: a fractional step uses the draw of its floor.
    np.testing.assert_array_equal(values(NOISY, STEPS + 0.5)[:-1], noisy[:-1])
    seeds = jnp.arange(3.0)
    rows = jax.jit(jax.vmap(lambda seed: jaxsched.noise(jaxsched.constant(1.0), seed=seed)(10.0)))
    assert len(set(np.asarray(rows(seeds)).tolist())) == 3


def test_noise_past_2_to_the_62_keeps_the_draw_of_step_2_to_the_62() -> None:
    # The step is folded into the key as two uint32 halves; past 2**62 the high half would
    # overflow a uint32 (a platform-defined cast), so those steps share the draw of 2**62.
    schedule = jaxsched.noise(jaxsched.constant(1.0), noise_pct=0.5)
    steps = np.array([2.0**62, 2.0**63, 2.0**64, 1e30], np.float32)
    eager = np.asarray(schedule(steps))
    assert np.all(eager == eager[0]) and eager[0] != 1.0
    np.testing.assert_array_equal(np.asarray(jax.jit(schedule)(steps)), eager)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"noise_pct": 0.0}, "noise_pct"),
        ({"noise_std": -1.0}, "noise_std"),
        ({"seed": 1.5}, "seed"),
        ({"seed": 2**24}, "seed"),
        ({"noise_start": 10, "noise_end": 5}, "noise_end"),
        ({"noise_type": "laplace"}, "noise_type"),
    ],
)
def test_noise_refuses_bad_arguments(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        jaxsched.noise(jaxsched.constant(1.0), **kwargs)
