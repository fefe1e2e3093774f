"""A step's achieved FLOP rate next to the device's float32 matrix-product rate.

The FLOPs of a step are what XLA's cost analysis counts in the compiled program
(`jax.jit(f).lower(...).compile().cost_analysis()["flops"]`): the multiply-adds of its
convolutions and matrix products counted as two, and its elementwise work. The reference is a
jitted float32 2048x2048 matrix product timed on the same device in the same run, 2 * 2048**3
FLOPs a call; on CPU it is about the best rate XLA reaches on this machine, so the ratio says
how far the step is from what the machine gives a dense kernel.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

MATMUL_SIZE = 2048


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


def matmul_timer(size: int = MATMUL_SIZE) -> Callable[[int], float]:
    """A function `calls -> seconds a call` of a jitted float32 `size` x `size` matrix
    product on the default device (compiled and warmed up here; the inputs stay on the
    device; each timing waits for its last product)."""
    import jax
    import jax.numpy as jnp

    keys = jax.random.split(jax.random.PRNGKey(0))
    a, b = (jax.random.normal(key, (size, size), jnp.float32) for key in keys)
    product = jax.jit(jnp.matmul)
    jax.block_until_ready(product(a, b))

    def seconds_a_call(calls: int) -> float:
        start = time.perf_counter()
        for _ in range(calls):
            result = product(a, b)
        jax.block_until_ready(result)
        return (time.perf_counter() - start) / calls

    return seconds_a_call


def gflops(seconds_a_call: float, size: int = MATMUL_SIZE) -> float:
    """GFLOP/s of a `size` x `size` matrix product that takes `seconds_a_call`."""
    return 2 * size**3 / seconds_a_call / 1e9


def matmul_gflops(size: int = MATMUL_SIZE, repeats: int = 7, calls: int = 5) -> float:
    """Median GFLOP/s of `repeats` timings of `calls` products (`matmul_timer`)."""
    timer = matmul_timer(size)
    return gflops(statistics.median(timer(calls) for _ in range(repeats)), size)
