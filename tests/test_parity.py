"""Step-for-step parity with torch, keras, optax, transformers and timm.

The golden sequences in `golden/golden.json` come from running the real libraries
(`golden/generate.py`); these tests need none of them installed.
"""

from __future__ import annotations

import functools
import json
import pathlib
from functools import partial
from typing import Any

import jax
import numpy as np
import pytest

import jaxsched
from tests.specs import N_STEPS, evaluate, through_padded
from tests.x64 import enable_x64

GOLDEN = json.loads((pathlib.Path(__file__).parent / "golden" / "golden.json").read_text())
CASES = GOLDEN["cases"]


def _build(config: dict[str, Any]) -> jaxsched.Schedule:
    if "get" in config:
        return jaxsched.get(config["get"], **config["kwargs"])
    return jaxsched.from_config(config)


def _steps(case: dict[str, Any]) -> np.ndarray:
    return np.asarray(case.get("steps", range(len(case["values"]))), dtype=np.int64)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_matches_reference_in_float64(case: dict[str, Any]) -> None:
    with enable_x64():
        schedule = _build(case["config"])
        got = through_padded(schedule, _steps(case))
    expected = np.asarray(case["values"], dtype=np.float64)
    scale = max(np.max(np.abs(expected)), 1e-30)
    np.testing.assert_allclose(
        got, expected, rtol=1e-7, atol=1e-12 * scale, err_msg=case["reference"]
    )


def _around_jumps(values: np.ndarray, count: int = 8) -> np.ndarray:
    """Indices of the first step, the last, and both sides of the `count` largest jumps."""
    jumps = np.argsort(-np.abs(np.diff(values)))[:count]
    return np.unique(np.concatenate([[0, len(values) - 1], jumps, jumps + 1]))


def _float32_steps(case: dict[str, Any]) -> np.ndarray:
    # float32 holds every integer step exactly only up to 2**24; the huge steps of a case are
    # checked in float64 above. Steps enter jit as floats: an int64 array would be cut to int32.
    steps = _steps(case)
    return steps[steps < 2**24].astype(np.float32)


BATCH = 8  # cases whose schedules one program closes over


@functools.cache
def _closed_over(first: int) -> list[np.ndarray]:
    """The values under jit with the schedules closed over (their numbers compile-time
    constants) of the cases `first` to `first + BATCH`: one program for the batch, as a training
    step closes over several schedules, costs one compile instead of one per case."""
    schedules = [_build(case["config"]) for case in CASES[first : first + BATCH]]
    steps = [_float32_steps(case) for case in CASES[first : first + BATCH]]
    padded = jax.jit(lambda xs: [s(x) for s, x in zip(schedules, xs, strict=True)])(
        [np.resize(x, N_STEPS) for x in steps]
    )
    return [np.asarray(values)[: len(x)] for values, x in zip(padded, steps, strict=True)]


def _float32_modes(schedule: jaxsched.Schedule, index: int, eager_at: np.ndarray):
    """The float32 values of case `index`'s `schedule` in each evaluation mode; "eager" (one
    Python int at a time) only at the indices `eager_at`."""
    steps = _float32_steps(CASES[index])
    return {
        "eager": (eager_at, np.asarray([schedule(int(steps[i])) for i in eager_at])),
        "eager on arrays": (slice(None), through_padded(schedule, steps)),
        "jit closed over": (slice(None), _closed_over(index - index % BATCH)[index % BATCH]),
        "jit argument": (slice(None), through_padded(partial(evaluate, schedule), steps)),
    }


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c["id"] for c in CASES])
def test_matches_reference_in_float32_in_every_evaluation_mode(index: int) -> None:
    case = CASES[index]
    schedule = _build(case["config"])
    expected = np.asarray(case["values"], dtype=np.float64)[_steps(case) < 2**24]
    scale = max(np.max(np.abs(expected)), 1e-30)
    for mode, (at, got) in _float32_modes(schedule, index, _around_jumps(expected)).items():
        assert got.dtype == np.float32, mode
        np.testing.assert_allclose(
            got, expected[at], rtol=2e-5, atol=2e-6 * scale, err_msg=f"{mode}: {case['reference']}"
        )
    assert np.all(np.isfinite(through_padded(schedule, _steps(case))))


def test_golden_covers_the_whole_catalogue() -> None:
    names = set()
    for case in CASES:
        config = case["config"]
        names.add(config.get("name") or "get:" + config["get"])
    catalogue = {
        "linear", "polynomial_decay", "step_decay", "multistep_decay", "piecewise_constant",
        "exponential_decay", "inverse_time_decay", "inverse_sqrt", "cosine_decay",
        "warmup_cosine_decay", "warmup_stable_decay", "cosine_restarts", "cyclic", "one_cycle",
        "one_cycle_momentum", "tanh_decay",
    }  # fmt: skip
    transformers = {
        "get:linear", "get:cosine", "get:cosine_with_restarts", "get:polynomial",
        "get:constant_with_warmup", "get:inverse_sqrt", "get:cosine_with_min_lr",
        "get:warmup_stable_decay",
    }  # fmt: skip
    assert catalogue | transformers <= names, sorted((catalogue | transformers) - names)
