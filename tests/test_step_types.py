"""A schedule refuses a step that is not a real number, at call time, with a TypeError.

NumPy reads `"3"` as 3, `None` as NaN and `True` as 1; a schedule given any of them used to
answer with a value. The check looks at Python values and at dtypes only (a traced step's
dtype is known when tracing), so jitted evaluation costs nothing more.
"""

from __future__ import annotations

import datetime
from typing import Any

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest

import jaxsched

SCHEDULES = {
    "constant": jaxsched.constant(0.1),
    "cosine_decay": jaxsched.cosine_decay(1.0, 10),
    "warmup of a join": jaxsched.warmup(
        jaxsched.join((jaxsched.constant(1.0), jaxsched.constant(0.5)), (5,)), 2
    ),
    "noise": jaxsched.noise(jaxsched.constant(1.0), noise_pct=0.1),
}
NOT_STEPS = {
    "None": None,
    "str": "3",
    "bytes": b"3",
    "bool": True,
    "numpy bool": np.bool_(False),
    "complex": 3j,
    "numpy complex": np.complex64(3),
    "datetime": datetime.datetime(2026, 1, 1),
    "timedelta": datetime.timedelta(seconds=3),
    "numpy datetime64": np.datetime64("2026-01-01"),
    "numpy timedelta64": np.timedelta64(3, "s"),
    "object": object(),
    "list of str": ["1", "2"],
    "list with None": [1, None],
    "bool array": np.asarray([True, False]),
    "jax bool array": jnp.asarray([True, False]),
    "jax complex array": jnp.asarray([1j]),
}
STEPS = {
    "int": 3,
    "float": 3.0,
    "huge int": 2**70,
    "numpy int64": np.int64(3),
    "numpy uint8": np.uint8(3),
    "numpy float16": np.float16(3),
    "list of ints": [0, 3],
    "numpy int array": np.arange(4),
    "jax int32 array": jnp.arange(4),
    "jax bfloat16 array": jnp.arange(4, dtype=jnp.bfloat16),
    "numpy bfloat16 array": np.arange(4).astype(ml_dtypes.bfloat16),
}


@pytest.mark.parametrize("schedule", list(SCHEDULES.values()), ids=list(SCHEDULES))
@pytest.mark.parametrize("step", list(NOT_STEPS.values()), ids=list(NOT_STEPS))
def test_a_step_that_is_not_a_real_number_raises_type_error(schedule: Any, step: Any) -> None:
    with pytest.raises(TypeError, match="step must be a real number"):
        schedule(step)


@pytest.mark.parametrize("step", [jnp.asarray(True), jnp.asarray([1j, 2j])], ids=["bool", "c64"])
def test_a_traced_step_of_the_wrong_dtype_is_refused_when_tracing(step: Any) -> None:
    with pytest.raises(TypeError, match="a JAX array of dtype"):
        jax.jit(SCHEDULES["cosine_decay"])(step)


@pytest.mark.parametrize("step", list(STEPS.values()), ids=list(STEPS))
def test_steps_of_every_real_type_give_the_value_at_that_step(step: Any) -> None:
    schedule = jaxsched.linear(1.0, 0.0, transition_steps=4)
    want = np.clip(1.0 - np.asarray(step, np.float64) / 4, 0.0, 1.0)
    np.testing.assert_allclose(np.asarray(schedule(step), np.float64), want)


def test_the_step_check_adds_nothing_to_the_traced_program() -> None:
    schedule = jaxsched.warmup(jaxsched.cosine_decay(1.0, 10), 2)

    def unchecked(step: jax.Array) -> jax.Array:  # the evaluation without `as_step`
        leaves = jax.tree.map(lambda leaf: jnp.asarray(leaf, jnp.float32), schedule)
        return leaves._at(step.astype(jnp.float32))

    checked = jax.make_jaxpr(schedule)(jnp.int32(3))
    assert str(checked) == str(jax.make_jaxpr(unchecked)(jnp.int32(3)))
