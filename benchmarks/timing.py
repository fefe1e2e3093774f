"""The one harness of the benchmarks: warm every side up, time the sides in turns, take medians;
a float32 matmul as a side, XLA's FLOP count, the machine's header (the trainer's step as a
side is `benchmarks.trainer_step`, apart so that the rest does not load the trainer).

A *side* is a function `steps -> seconds`: it runs `steps` steps of what it measures and
returns the seconds they took, its last result waited for. `in_turns` runs every side a few
steps first (the first calls compile, allocate and fill caches), then times them in turns, so
that a change of the machine's load hits every side alike. The roofline's reference is a
jitted float32 2048x2048 matmul, 2 * 2048**3 FLOPs a call, timed in the same run.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import cli

Side = Callable[[int], float]
MATMUL_SIZE = 2048


def loop(call: Callable[[], Any]) -> Side:
    """The side that calls `call` `steps` times and waits for the last result."""

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
    for side in sides.values():
        if warmup_steps:
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
    """The machine's one-minute load average, recorded beside every figure."""
    return os.getloadavg()[0]


def environment() -> dict[str, Any]:
    """The device, its count, the versions of what is measured, the host and its load."""
    device = jax.devices()[0]
    versions = {name: cli.package_version(name) for name in ("jaxlib", "flax", "optax", "torch")}
    return {
        "device_kind": device.device_kind,
        "device_count": jax.device_count(),
        "platform": device.platform,
        "jax": jax.__version__,
        **versions,
        "python": platform.python_version(),
        "processor": platform.processor() or platform.machine(),
        "host_cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
    }


def show(results: Mapping[str, Any], indent: str = "") -> None:
    """Prints `results` a figure a line (floats to 4 significant digits), dicts indented."""
    for key, value in results.items():
        if isinstance(value, Mapping):
            print(f"{indent}{key}:")
            show(value, indent + "  ")
        else:
            print(f"{indent}{key}: {f'{value:.4g}' if isinstance(value, float) else value}")


def write_json(path: str | None, results: Mapping[str, Any]) -> None:
    """Writes `results` to `path` as JSON when a path is given (`--json`)."""
    if path:
        with open(path, "w") as f:
            json.dump(results, f, indent=1, default=str)


def random_images(count: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` random uint8 images and labels, seed 0: a step's cost does not depend on them."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (count, 28, 28, 1), np.uint8)
    return images, rng.integers(0, 10, count).astype(np.int32)


def compiled_flops(compiled: Any) -> float:
    """The FLOPs XLA's cost analysis counts in a compiled program (a multiply-add is two).

    Raises:
      ValueError: the backend's cost analysis does not count FLOPs.
    """
    analysis = compiled.cost_analysis()
    if isinstance(analysis, list | tuple):  # older jaxlibs: one dict per program
        analysis = analysis[0] if analysis else {}
    if not analysis or "flops" not in analysis:
        raise ValueError("this backend's cost analysis does not count FLOPs")
    return float(analysis["flops"])


def matmul_side(size: int = MATMUL_SIZE) -> Side:
    """A jitted float32 `size` x `size` matrix product on the default device."""
    a, b = (jax.random.normal(key, (size, size)) for key in jax.random.split(jax.random.key(0)))
    product = jax.jit(jnp.matmul)
    return loop(lambda: product(a, b))


def gflops(seconds_a_call: float, size: int = MATMUL_SIZE) -> float:
    """GFLOP/s of a `size` x `size` matrix product that takes `seconds_a_call`."""
    return 2 * size**3 / seconds_a_call / 1e9


def roofline(flops: float, seconds: float, matmul_gflops: float) -> dict[str, float]:
    """GFLOP/s of `flops` done in `seconds`, and their share of the matmul's `matmul_gflops`."""
    rate = flops / seconds / 1e9
    return {"gflops": rate, "share_of_matmul": rate / matmul_gflops}


def with_matmul(sides: Mapping[str, Side], steps: int, repeats: int) -> tuple[dict, float]:
    """Median seconds a step of every side, timed in turns with the matmul (5 products a
    timing), and the matmul's GFLOP/s."""
    counts = {name: steps for name in sides} | {"matmul": 5}
    seconds = medians(in_turns({**sides, "matmul": matmul_side()}, counts, repeats))
    return seconds, gflops(seconds.pop("matmul"))


def matmul_gflops(size: int = MATMUL_SIZE, repeats: int = 7) -> float:
    """The matmul's GFLOP/s: the median of `repeats` timings of 5 products."""
    return gflops(median(matmul_side(size), 5, repeats, warmup_steps=1), size)
