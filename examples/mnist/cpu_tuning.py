"""Settings that make training fast on XLA:CPU; BUILD_NOTES.md has what each one measured.

- `compiler_options`: XLA:CPU's YNNPACK path runs a 3x3 convolution's weight gradient several
  times slower than XLA's Eigen convolution; for the CNN, YNNPACK is enabled only for dot,
  elementwise and reduce fusions. The convolution-free models keep XLA's defaults.
- `keep_freed_memory`: glibc serves XLA's large per-step temporaries with mmap and unmaps
  them on free, so every step page-faulted them in again; one heap that keeps freed memory
  removes the faults.
- `init_compiler_options`: the one-off initialisation compiles without backend optimisation,
  which costs seconds on its random-number code.

None changes what is computed beyond float reassociation.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import platform

import jax

# glibc's mallopt(3) parameters.
_M_TRIM_THRESHOLD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -4, -8
_MAX_INT = 2**31 - 1
# The models that get tuned options, and YNNPACK's fusion types for them.
_YNN_FUSION_TYPES = {"cnn": ("DOT", "ELTWISE", "REDUCE")}


def _options(model_name: str) -> dict[str, str]:
    kinds = (f"LIBRARY_FUSION_TYPE_{kind}" for kind in _YNN_FUSION_TYPES[model_name])
    return {"xla_cpu_experimental_ynn_fusion_type": ",".join(kinds)}


@functools.cache
def _options_supported(model_name: str) -> bool:
    """Whether this jaxlib's XLA:CPU accepts the options (they are experimental)."""
    try:
        jax.jit(lambda x: x + 1, compiler_options=_options(model_name)).lower(1.0).compile()
    except Exception as e:  # XLA raises JaxRuntimeError; older versions other types
        logging.getLogger(__name__).warning(
            "XLA:CPU rejected the tuned compiler options, using its defaults: %s", e
        )
        return False
    return True


def compiler_options(platform_name: str, model_name: str) -> dict[str, str]:
    """The `jax.jit(compiler_options=...)` of a step of `model_name` on `platform_name` (as in
    `jax.devices()[0].platform`): the tuned options for the CNN on "cpu" when this jaxlib
    accepts them, else `{}`."""
    if (
        platform_name != "cpu"
        or model_name not in _YNN_FUSION_TYPES
        or not _options_supported(model_name)
    ):
        return {}
    return _options(model_name)


def init_compiler_options(platform_name: str) -> dict[str, int]:
    """The `compiler_options` of a program that runs once: backend optimisation off on "cpu"."""
    return {"xla_backend_optimization_level": 0} if platform_name == "cpu" else {}


@functools.cache
def keep_freed_memory() -> bool:
    """Asks glibc to keep freed memory for reuse instead of unmapping it (process-wide).

    Call it before JAX starts its backends: their threads keep the arena of their first
    allocation, and only threads that allocate after this call share the one heap (called
    later, several runs' temporaries kept faulting, BUILD_NOTES.md). Returns whether it took
    effect: False off Linux or glibc.
    """
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    # mallopt returns 1 on success. M_MMAP_MAX=0: large blocks from the heap, not mmap;
    # M_TRIM_THRESHOLD: never give the heap's free top back; M_ARENA_MAX=1: one heap for every
    # thread, because a thread's own arena still mmaps a block larger than its 64 MB heap.
    settings = ((_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, _MAX_INT), (_M_ARENA_MAX, 1))
    return all(libc.mallopt(option, value) == 1 for option, value in settings)
