"""Formula-level parity with peers that cannot be installed here: praxis, fastai, MaxText.

Each reference is a NumPy transcription (float64) of the peer's source, named in its
docstring; the jaxsched call that the conventions table or a docstring gives for it must
match at every step. levanter's duration truncation is checked against its transcription in
`tests/test_formulas.py`.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest

import jaxsched
from tests.transcriptions import convert_frac_or_steps, join, levanter_schedule, linear
from tests.x64 import enable_x64

STEPS = np.arange(0, 400)


def _x64(schedule: jaxsched.Schedule, steps: np.ndarray = STEPS) -> np.ndarray:
    with enable_x64():
        return np.asarray(schedule(steps))


# ----------------------------------------------------------------------------- praxis


def praxis_polynomial(power, start, limit, origin):
    """praxis `schedules.Polynomial` (praxis/schedules.py): y0 before x0, y1 from x1 on, a
    power of `(x - x0) / (x1 - x0)` anchored at the start or at the limit in between."""
    (x0, y0), (x1, y1) = start, limit

    def fn(x):
        x = np.asarray(x, np.float64)
        ratio = (x - x0) / (x1 - x0)
        with np.errstate(invalid="ignore"):  # outside [x0, x1], masked below as in praxis
            f = ratio**power if origin == "start" else 1 - (1 - ratio) ** power
        return np.where(x < x0, y0, np.where(x >= x1, y1, y0 + f * (y1 - y0)))

    return fn


@pytest.mark.parametrize("power", [0.5, 1, 2, 3])
@pytest.mark.parametrize(("start", "limit"), [((0, 1.0), (100, 0.1)), ((40, 0.01), (250, 0.3))])
def test_polynomial_ramp_and_decay_match_praxis_polynomial(power, start, limit) -> None:
    (x0, y0), (x1, y1) = start, limit
    ramp = jaxsched.polynomial_ramp(y0, y1, x1 - x0, power=power, transition_begin=x0)
    decay = jaxsched.polynomial_decay(y0, y1, x1 - x0, power=power, transition_begin=x0)
    reference = praxis_polynomial(power, start, limit, "start")(STEPS)
    np.testing.assert_allclose(_x64(ramp), reference, rtol=1e-12)
    reference = praxis_polynomial(power, start, limit, "limit")(STEPS)
    np.testing.assert_allclose(_x64(decay), reference, rtol=1e-12)


def praxis_cycle_schedule(schedules, steps):
    """praxis `schedules.CycleSchedule`: the sub-schedule whose share of the period holds
    `step mod period`, given the absolute step."""
    boundaries = np.cumsum(steps)

    def fn(step):
        step = np.asarray(step, np.float64)
        relative = np.mod(step, boundaries[-1])
        out = schedules[0](step)
        for boundary, schedule in zip(boundaries[:-1], schedules[1:], strict=True):
            out = np.where(relative < boundary, out, schedule(step))
        return out

    return fn


@pytest.mark.parametrize("steps", [(30, 10), (7, 0, 13), (1, 1, 1), (50,)])
def test_alternate_matches_praxis_cycle_schedule(steps) -> None:
    pieces = [
        (jaxsched.exponential_decay(1.0, 0.99), lambda t: 0.99**t),
        (jaxsched.constant(0.05), lambda t: np.full_like(t, 0.05)),
        (jaxsched.linear(0.0, 1.0, 300), lambda t: np.clip(t / 300, 0, 1)),
    ][: len(steps)]
    schedule = jaxsched.alternate(tuple(p[0] for p in pieces), steps)
    reference = praxis_cycle_schedule([p[1] for p in pieces], steps)
    np.testing.assert_allclose(_x64(schedule), reference(STEPS), rtol=1e-12)
    float32 = np.asarray(jax.jit(schedule)(STEPS.astype(np.float32)))
    np.testing.assert_allclose(float32, reference(STEPS), rtol=2e-5, atol=1e-7)


def praxis_linear_rampup_sqrt_decay(peak, warmup_steps):
    """praxis `schedules.LinearRampupSqrtDecay`: the step clamped to at least 1, then
    `peak * min(step / warmup, sqrt(warmup / step))`."""

    def fn(step):
        step = np.maximum(np.asarray(step, np.float64), 1)
        return peak * np.minimum(step / warmup_steps, np.sqrt(warmup_steps / step))

    return fn


@pytest.mark.parametrize("warmup_steps", [1, 4, 100])
def test_advanced_inverse_sqrt_matches_praxis_linear_rampup_sqrt_decay(warmup_steps) -> None:
    schedule = jaxsched.advance(jaxsched.inverse_sqrt(0.1, warmup_steps), min_step=1)
    reference = praxis_linear_rampup_sqrt_decay(0.1, warmup_steps)(STEPS)
    np.testing.assert_allclose(_x64(schedule), reference, rtol=1e-12)
    # Without the clamp only step 0 differs: praxis gives it the value of step 1.
    plain = _x64(jaxsched.inverse_sqrt(0.1, warmup_steps))
    assert plain[0] == 0.0 and reference[0] == pytest.approx(0.1 / warmup_steps)
    np.testing.assert_allclose(plain[1:], reference[1:], rtol=1e-12)


# ----------------------------------------------------------------------------- fastai


def fastai_sched_poly(start, end, power):
    """fastai `SchedPoly` (fastai/callback/schedule.py): `start + pos**power * (end - start)`
    for `pos` in [0, 1], the share of the phase done."""
    return lambda pos: start + np.asarray(pos, np.float64) ** power * (end - start)


@pytest.mark.parametrize(("start", "end", "power"), [(0.1, 1e-4, 2.0), (1e-3, 0.1, 0.5)])
def test_polynomial_ramp_matches_fastai_sched_poly(start, end, power) -> None:
    phase = 250
    schedule = jaxsched.polynomial_ramp(start, end, transition_steps=phase, power=power)
    steps = np.arange(phase + 1)
    reference = fastai_sched_poly(start, end, power)(steps / phase)
    np.testing.assert_allclose(_x64(schedule, steps), reference, rtol=1e-12)


# ----------------------------------------------------------------------------- MaxText


def maxtext_schedule(
    lr, steps, schedule_steps, warmup_fraction, final_fraction, kind="wsd",
    decay_fraction=0.1, decay_style="linear",
):  # fmt: skip
    """MaxText `create_learning_rate_schedule` (maxtext_utils.py): a linear warmup from 0,
    then a cosine to the final value (its `pct = step / (len - 1)`) or WSD's stable phase and
    a decay over `decay_steps - 1` intervals, then 0 from `learning_rate_schedule_steps` to
    `steps`; the pieces joined as optax.join_schedules does."""
    final = lr * final_fraction
    warmup = int(schedule_steps * warmup_fraction)

    def cos(length):
        def fn(t):
            pct = t / (length - 1) if length > 1 else np.ones_like(t)
            a = 0.5 * (np.cos(math.pi * pct) + 1)
            return lr * a + final * (1 - a)

        return fn

    pieces, boundaries = [], []
    if warmup > 0:
        pieces.append(linear(0.0, lr, warmup))
        boundaries.append(warmup)
    if kind == "cosine":
        pieces.append(cos(schedule_steps - warmup))
        boundaries.append(schedule_steps)
    else:
        decay = int(schedule_steps * decay_fraction)
        stable = schedule_steps - warmup - decay
        if stable > 0:
            pieces.append(lambda t: np.full_like(t, lr, dtype=np.float64))
            boundaries.append(warmup + stable)
        pieces.append(linear(lr, final, decay - 1) if decay_style == "linear" else cos(decay))
        boundaries.append(schedule_steps)
    if steps > schedule_steps:
        pieces.append(lambda t: np.zeros_like(t, dtype=np.float64))
        boundaries.append(schedule_steps)
    return lambda t: join(pieces, boundaries, np.asarray(t, np.float64))


MAXTEXT = [
    dict(steps=300, schedule_steps=300, warmup_fraction=0.1, final_fraction=0.1),
    dict(steps=350, schedule_steps=300, warmup_fraction=0.05, final_fraction=0.0,
         decay_fraction=0.2, decay_style="cosine"),
    dict(steps=300, schedule_steps=300, warmup_fraction=0.0, final_fraction=0.1,
         decay_fraction=0.3),
    dict(steps=310, schedule_steps=300, warmup_fraction=0.1, final_fraction=0.1, kind="cosine"),
    dict(steps=300, schedule_steps=300, warmup_fraction=0.0, final_fraction=0.2, kind="cosine"),
    # a decay of one step: optax's zero-step linear keeps the peak, the final value never comes
    dict(steps=25, schedule_steps=20, warmup_fraction=0.1, final_fraction=0.1,
         decay_fraction=0.05),
]  # fmt: skip


@pytest.mark.parametrize("case", MAXTEXT, ids=repr)
def test_maxtext_schedules_are_the_calls_of_the_conventions_table(case: dict) -> None:
    lr, n = 3e-4, case["schedule_steps"]
    reference = maxtext_schedule(lr, **case)
    warmup, final = int(n * case["warmup_fraction"]), lr * case["final_fraction"]
    if case.get("kind") == "cosine":
        # Its cosine reaches the final value on the last step, n - 1.
        schedule = jaxsched.warmup_cosine_decay(0.0, lr, warmup, n - 1, end_value=final)
    else:
        # Its decay spans decay_steps - 1 intervals, ending on the last step, n - 1; a decay of
        # one step has none, and the peak holds to the end (total_steps=n).
        decay = int(n * case.get("decay_fraction", 0.1))
        schedule = jaxsched.warmup_stable_decay(
            lr, total_steps=n - 1 if decay > 1 else n, warmup_steps=warmup,
            decay_steps=decay - 1, end_value=final,
            decay_shape=case.get("decay_style", "linear"),
        )  # fmt: skip
    if case["steps"] > n:  # then 0 up to `steps`
        schedule = jaxsched.join((schedule, jaxsched.constant(0.0)), boundaries=(n,))
    steps = np.arange(case["steps"])
    np.testing.assert_allclose(_x64(schedule, steps), reference(steps), rtol=1e-9, atol=1e-15)


# ----------------------------------------------------------------------------- levanter


def test_levanter_truncates_a_share_of_the_run_where_get_rounds() -> None:
    n, warmup, decay = 1050, 0.03, 0.25
    reference, _ = levanter_schedule(1e-3, n, warmup=warmup, decay=decay, min_lr_ratio=0.1)
    rounded = jaxsched.get("warmup_stable_decay_cycles", peak_value=1e-3, cycle_ends=(n,),
                           warmup_steps="3%", decay_steps="25%", run_steps=n)  # fmt: skip
    assert (rounded.warmup_steps, int(0.03 * n)) == (32.0, 31)  # 31.5 rounds up, int cuts
    schedule = jaxsched.get(
        "warmup_stable_decay_cycles", peak_value=1e-3, cycle_ends=(n,),
        warmup_steps=int(warmup * n), decay_steps=int(decay * n), min_lr_ratio=0.1,
        decay_shape="cosine",
    )  # fmt: skip
    assert int(warmup * n) == convert_frac_or_steps(warmup, n)
    steps = np.arange(n + 20)
    np.testing.assert_allclose(_x64(schedule, steps), reference(steps), rtol=1e-9)
