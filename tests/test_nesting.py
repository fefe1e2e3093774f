"""Nested schedules cost work linear in their size, and nesting beyond the limit is refused.

Each combinator evaluates each of its schedules once per evaluation, so a chain of `n`
warmups or cooldowns traces `n` evaluations, not `2**n`; a schedule nested deeper than
`MAX_DEPTH` (32), or holding more than `MAX_SCHEDULES` (10,000) schedules, is refused when
it is built, naming the limit, before anything recursive could reach Python's recursion
limit.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched

Wrap = Callable[[jaxsched.Schedule], jaxsched.Schedule]
WRAPS: dict[str, Wrap] = {
    "warmup": lambda s: jaxsched.warmup(s, 2),
    "warmup overlay": lambda s: jaxsched.warmup(s, 2, shape="cosine", prefix=False),
    "cooldown": lambda s: jaxsched.cooldown(s, start_step=5, decay_steps=4),
    "noise": lambda s: jaxsched.noise(s, noise_start=1, noise_pct=0.01),
    "join": lambda s: jaxsched.join((s, s), boundaries=(4,)),
    "product": lambda s: jaxsched.product(s, jaxsched.constant(0.9)),
    "clip": lambda s: jaxsched.clip(s, min_value=0.0),
    "scale": lambda s: jaxsched.scale(s, 0.9),
    "mixed": lambda s: jaxsched.noise(jaxsched.cooldown(jaxsched.warmup(s, 2), 6, 3), 1),
}


def nested(wrap: Wrap, levels: int, inner: jaxsched.Schedule) -> jaxsched.Schedule:
    for _ in range(levels):
        inner = wrap(inner)
    return inner


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Fails the test once `seconds` have passed.

    SIGALRM interrupts Python code with TimeoutError, again every half second: JAX's tracing
    catches some exceptions on its way, and one alarm alone can be swallowed.
    """

    def fail(*_: object) -> None:
        raise TimeoutError(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, fail)
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.5)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("kind", list(WRAPS))
def test_each_level_evaluates_its_schedule_once(kind: str) -> None:
    calls = []

    def counted(step):
        calls.append(1)
        return 1.0 + 0.0 * step

    levels = {"mixed": 2, "noise": 3, "join": 5}.get(kind, 8)
    schedule = nested(WRAPS[kind], levels, jaxsched.lambda_schedule(counted))
    jax.jit(lambda s: s(jnp.arange(12)))(schedule)  # traced once
    # A join evaluates both of its pieces, here the same schedule twice: 2 per level.
    assert len(calls) == (2**levels if kind == "join" else 1)


@pytest.mark.parametrize("kind", ["warmup", "warmup overlay", "cooldown"])
def test_24_nested_levels_compile_in_seconds(kind: str) -> None:
    # 24 levels of warmups took 2**24 evaluations before (12 levels: 8.8 s eager, 11 s to
    # jit); now about 0.4 s (BUILD_NOTES.md). 60 s leaves room for a loaded machine.
    schedule = nested(WRAPS[kind], 24, jaxsched.cosine_decay(1.0, 50))
    start = time.perf_counter()
    with time_limit(60):
        values = jax.jit(lambda s, t: s(t))(schedule, jnp.arange(64.0))
    assert time.perf_counter() - start < 60
    assert np.all(np.isfinite(values))


@pytest.mark.parametrize("kind", ["warmup", "cooldown", "product", "scale"])
def test_nesting_deeper_than_the_limit_is_refused_naming_it(kind: str) -> None:
    schedule = nested(WRAPS[kind], 31, jaxsched.constant(1.0))  # 32 levels: allowed
    with time_limit(60):
        assert np.isfinite(float(jax.jit(lambda s: s(7.0))(schedule)))
    with pytest.raises(ValueError, match=r"33 deep, more than jaxsched's limit of 32 \(MAX_DEPTH"):
        WRAPS[kind](schedule)
    with pytest.raises(ValueError, match="MAX_DEPTH"):
        nested(WRAPS[kind], 5_000, jaxsched.constant(1.0))  # stops at level 33, no recursion


def test_a_schedule_used_twice_at_each_level_is_refused_once_too_large() -> None:
    # join((s, s)) nested n times holds 2**n uses of the innermost schedule, each evaluated.
    with pytest.raises(ValueError, match=r"more than 10000 schedules.*MAX_SCHEDULES"):
        nested(WRAPS["join"], 31, jaxsched.constant(1.0))
    assert nested(WRAPS["join"], 12, jaxsched.constant(1.0))  # 8,191 schedules: allowed


def test_a_wide_join_is_built_and_evaluated_in_linear_time() -> None:
    pieces = [jaxsched.constant(float(i)) for i in range(500)]
    schedule = jaxsched.join(pieces, boundaries=range(1, 500))
    with time_limit(60):
        values = schedule(jnp.asarray([0.0, 10.5, 499.0, 5e3]))
    np.testing.assert_array_equal(values, [0.0, 10.0, 499.0, 499.0])
