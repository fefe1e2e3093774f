"""Formula-level parity with libraries that cannot be installed here: levanter, big_vision, t5x.

Each reference below is a NumPy transcription of the peer's own source (the file named in its
docstring), in float64, keeping its integer conversions and its piece-by-piece joins; the
jaxsched schedule built from the same settings must match it at every step, past the end
included. They are transcriptions of formulas, not runs of those libraries.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest

import jaxsched
from tests.transcriptions import convert_frac_or_steps, levanter_schedule
from tests.x64 import enable_x64

STEPS = np.arange(0, 1300)


LEVANTER_CASES = [
    dict(num_train_steps=1000, cycles=3, warmup=0.05, rewarmup=0.1, decay=0.4),
    dict(num_train_steps=1000, cycles=3, warmup=0.05, rewarmup=0.0, decay=0.4),
    dict(num_train_steps=999, cycles=4, warmup=20, rewarmup=10, decay=None),
    dict(num_train_steps=1200, cycles=[300, 700], warmup=0.1, rewarmup=0.2, decay=0.5),
    dict(num_train_steps=1000, cycles=None, warmup=0.01, decay=0.2, lr_schedule="linear"),
    dict(num_train_steps=1000, cycles=2, warmup=0.0, rewarmup=0.05, decay=0.3,
         lr_schedule="linear", min_lr_ratio=0.0),
]  # fmt: skip


@pytest.mark.parametrize("case", LEVANTER_CASES, ids=lambda c: repr(c))
def test_warmup_stable_decay_cycles_matches_levanter(case: dict) -> None:
    case = dict(case)
    lr_schedule = case.pop("lr_schedule", "cosine")
    ratio = case.pop("min_lr_ratio", 0.1)
    reference, points = levanter_schedule(3e-3, lr_schedule=lr_schedule, min_lr_ratio=ratio, **case)
    # levanter's fractions are of each cycle; converted here per cycle as levanter does.
    lengths = np.diff(points)
    warmups = [convert_frac_or_steps(case["warmup"], lengths[0])]
    warmups += [convert_frac_or_steps(case.get("rewarmup", 0.0), n) for n in lengths[1:]]
    decay = case["decay"]
    decays = None if decay is None else tuple(convert_frac_or_steps(decay, n) for n in lengths)
    schedule = jaxsched.warmup_stable_decay_cycles(
        3e-3,
        cycle_ends=tuple(points[1:]),
        warmup_steps=warmups[0],
        decay_steps=decays,
        rewarmup_steps=tuple(warmups[1:]),
        end_value=ratio * 3e-3,
        decay_shape=lr_schedule,
    )
    with enable_x64():
        got = np.asarray(schedule(STEPS))
    np.testing.assert_allclose(got, reference(STEPS), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(
        np.asarray(jax.jit(schedule)(STEPS.astype(np.float32))),
        reference(STEPS),
        rtol=2e-5,
        atol=1e-9,
    )


def test_get_places_levanter_cycles_and_min_lr_ratio() -> None:
    reference, points = levanter_schedule(
        1e-3, 1000, cycles=3, warmup=30, rewarmup=20, decay=100, min_lr_ratio=0.2
    )
    schedule = jaxsched.get(
        "warmup_stable_decay_cycles",
        peak_value=1e-3,
        cycles=3,
        total_steps=1000,
        warmup_steps=30,
        rewarmup_steps=20,
        decay_steps=100,
        decay_shape="cosine",
        min_lr_ratio=0.2,
    )
    assert schedule.cycle_ends == tuple(float(p) for p in points[1:]) == (333.0, 666.0, 1000.0)
    with enable_x64():
        np.testing.assert_allclose(np.asarray(schedule(STEPS)), reference(STEPS), rtol=1e-9)


def big_vision_rsqrt(base, total_steps, warmup_steps=0, timescale=10_000, shift=0):
    """big_vision `create_learning_rate_schedule(decay_type="rsqrt")` (big_vision/utils.py):
    `lr / sqrt(1 + (step + shift - warmup) / t)` after the warmup, `lr / sqrt(1 + shift / t)`
    during it, times `min(1, step / warmup)`."""

    def fn(step):
        step = np.asarray(step, np.float64)
        lr = np.where(
            warmup_steps <= step,
            base / np.sqrt(1 + (step + shift - warmup_steps) / timescale),
            base / np.sqrt(1 + shift / timescale),
        )
        if warmup_steps:
            lr = lr * np.minimum(1.0, step / warmup_steps)
        return lr

    return fn


@pytest.mark.parametrize(
    ("warmup_steps", "timescale", "shift"),
    [(100, 10_000, 0), (100, 500, 0), (50, 300, 1000), (0, 200, 40), (0, 10_000, 0)],
)
def test_inverse_sqrt_matches_big_vision_rsqrt(warmup_steps, timescale, shift) -> None:
    reference = big_vision_rsqrt(0.1, 1300, warmup_steps, timescale, shift)
    schedule = jaxsched.inverse_sqrt(0.1, warmup_steps, timescale=timescale, shift=shift)
    with enable_x64():
        np.testing.assert_allclose(np.asarray(schedule(STEPS)), reference(STEPS), rtol=1e-12)


def t5x_rsqrt(base, warmup_steps, step_offset, normalized):
    """t5x `create_learning_rate_scheduler("constant * linear_warmup * rsqrt_decay")` and its
    `rsqrt_normalized_decay` (t5x/utils.py), without the `min_learning_rate` floor."""

    def fn(step):
        step = np.maximum(0, np.asarray(step, np.float64) - step_offset)
        ret = base * np.minimum(1.0, step / warmup_steps)
        if normalized:
            ret = ret * np.sqrt(warmup_steps)
        return ret / np.sqrt(np.maximum(step, warmup_steps))

    return fn


@pytest.mark.parametrize("normalized", [True, False])
@pytest.mark.parametrize(("warmup_steps", "step_offset"), [(100, 0), (100, 250), (7, 3)])
def test_inverse_sqrt_matches_t5x_rsqrt(normalized, warmup_steps, step_offset) -> None:
    reference = t5x_rsqrt(0.5, warmup_steps, step_offset, normalized)
    peak = 0.5 if normalized else 0.5 / math.sqrt(warmup_steps)
    schedule = jaxsched.inverse_sqrt(
        peak, warmup_steps, timescale=warmup_steps, step_offset=step_offset
    )
    with enable_x64():
        np.testing.assert_allclose(np.asarray(schedule(STEPS)), reference(STEPS), rtol=1e-12)
