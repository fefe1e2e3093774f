"""A step's achieved FLOP rate next to the device's float32 matrix-product rate.

The FLOPs of a step are what XLA's cost analysis counts in the compiled program
(`jax.jit(f).lower(...).compile().cost_analysis()["flops"]`): the multiply-adds of its
convolutions and matrix products counted as two, and its elementwise work. The reference is a
jitted float32 2048x2048 matrix product timed on the same device in the same run, 2 * 2048**3
FLOPs a call; on CPU it is about the best rate XLA reaches on this machine, so the ratio says
how far the step is from what the machine gives a dense kernel.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp

from benchmarks import timing

MATMUL_SIZE = 2048
_MATMUL = "float32 matmul"


def compiled_flops(compiled: Any) -> float:
    """The FLOPs XLA's cost analysis counts in a compiled program (`jax.stages.Compiled`).

    Raises:
      ValueError: the backend's cost analysis does not count FLOPs.
    """
    analysis = compiled.cost_analysis()
    if isinstance(analysis, list | tuple):  # older jaxlibs: one dict per program
        analysis = analysis[0] if analysis else {}
    if not analysis or "flops" not in analysis:
        raise ValueError("this backend's cost analysis does not count FLOPs")
    return float(analysis["flops"])


def matmul_side(size: int = MATMUL_SIZE) -> timing.Side:
    """A `benchmarks.timing` side of a jitted float32 `size` x `size` matrix product on the
    default device (compiled and run once here; the inputs stay on the device)."""
    keys = jax.random.split(jax.random.PRNGKey(0))
    a, b = (jax.random.normal(key, (size, size), jnp.float32) for key in keys)
    product = jax.jit(jnp.matmul)
    jax.block_until_ready(product(a, b))
    return timing.loop(lambda: product(a, b))


def gflops(seconds_a_call: float, size: int = MATMUL_SIZE) -> float:
    """GFLOP/s of a `size` x `size` matrix product that takes `seconds_a_call`."""
    return 2 * size**3 / seconds_a_call / 1e9


def with_matmul(
    sides: Mapping[str, timing.Side], steps: int, repeats: int
) -> tuple[dict[str, float], float]:
    """Median seconds a step of every side, timed in turns with the matmul (5 products a
    timing; it feels the machine's load most), and the matmul's GFLOP/s."""
    counts = {name: steps for name in sides} | {_MATMUL: 5}
    seconds = timing.medians(timing.in_turns({**sides, _MATMUL: matmul_side()}, counts, repeats))
    return seconds, gflops(seconds.pop(_MATMUL))


def matmul_gflops(size: int = MATMUL_SIZE, repeats: int = 7, calls: int = 5) -> float:
    """GFLOP/s of the median of `repeats` timings of `calls` products (`matmul_side`)."""
    return gflops(timing.median(matmul_side(size), calls, repeats, warmup_steps=0), size)
