"""The one timing harness of the benchmarks: warm every side up, time the sides in turns, take
medians.

A *side* is a function `steps -> seconds`: it runs `steps` steps of what it measures and
returns the seconds they took, its last result waited for. `loop` makes one from a call that
returns JAX arrays; the PyTorch worker (`torch_peer.TorchWorker.time_steps`) and the study's
groups (`vmap_sweep.Side.run`) are sides already. `in_turns` runs every side a few steps
first (the first calls compile, allocate and fill caches), then times them in turns,
`repeats` rounds of one timing each, so that a change of the machine's load during the run
hits every side alike; only figures timed in one such run are compared.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any

import jax

Side = Callable[[int], float]


def loop(call: Callable[[], Any]) -> Side:
    """The side that calls `call` `steps` times and waits for the last result (JAX's arrays
    are ready when `jax.block_until_ready` returns; anything else is ready already)."""

    def seconds(steps: int) -> float:
        start = time.perf_counter()
        for _ in range(steps):
            result = call()
        jax.block_until_ready(result)
        return time.perf_counter() - start

    return seconds


def in_turns(
    sides: Mapping[str, Side],
    steps: int | Mapping[str, int],
    repeats: int,
    *,
    warmup_steps: int = 3,
    settle_seconds: float = 0.0,
) -> dict[str, list[float]]:
    """Seconds a step of every side, one figure a round, `repeats` rounds.

    Args:
      sides: name -> side, timed in this order in every round.
      steps: steps a timing, for every side or per name.
      repeats: rounds.
      warmup_steps: steps each side runs, untimed, before the first round (0: none).
      settle_seconds: a pause before each timing. Idle thread pools (XLA's Eigen pool,
        PyTorch's OpenMP) spin for a while after their last task; a side in another process
        that starts at once shares the cores with them.
    """
    counts = {name: steps if isinstance(steps, int) else steps[name] for name in sides}
    if warmup_steps:
        for side in sides.values():
            side(warmup_steps)
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(repeats):
        for name, side in sides.items():
            time.sleep(settle_seconds)
            times[name].append(side(counts[name]) / counts[name])
    return times


def medians(times: Mapping[str, list[float]]) -> dict[str, float]:
    """The median of each side's figures."""
    return {name: statistics.median(values) for name, values in times.items()}


def median(side: Side, steps: int, repeats: int, *, warmup_steps: int = 3) -> float:
    """Median seconds a step of one side (`in_turns` with that side alone)."""
    return medians(in_turns({"side": side}, steps, repeats, warmup_steps=warmup_steps))["side"]


def load() -> float:
    """The machine's one-minute load average, printed and recorded beside every figure."""
    return os.getloadavg()[0]


def write_json(path: str | None, results: Mapping[str, Any]) -> None:
    """Writes `results` to `path` as JSON when a path is given (`--json`)."""
    if path:
        with open(path, "w") as f:
            json.dump(results, f, indent=1, default=str)
