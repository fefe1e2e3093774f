"""Settings that make training fast on XLA:CPU; BUILD_NOTES.md has what each one measured.

  - `compiler_options`: XLA:CPU hands every convolution to its YNNPACK path by default, where
    the weight gradient of a 3x3 convolution (a convolution with a 14x14 window) runs several
    times slower than XLA's own Eigen convolution. For the CNN, enabling YNNPACK only for its
    dot, elementwise and reduce fusions keeps the fast parts and gives the weight gradients
    back to Eigen. The other models keep XLA's defaults: they have no convolutions, and
    YNNPACK's elementwise fusions, which pay off on the CNN's large activations, cost a small
    step fixed time each.
  - `keep_freed_memory`: XLA:CPU allocates each step's temporaries anew. glibc serves blocks
    that large with mmap and hands them back on free, so every step page-faulted its
    temporaries in again. Telling glibc to keep freed memory in one heap removes the faults;
    the process keeps its peak memory instead.
  - `init_compiler_options`: a model's initialisation runs once, but XLA's backend
    optimisation of its random-number code takes seconds to compile; the initialisation is
    compiled without it.

None changes what is computed beyond float reassociation (inside the convolutions, and in the
last bit of a few initial weights).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import platform

import jax

# glibc's mallopt(3) parameters.
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_M_ARENA_MAX = -8
_MAX_INT = 2**31 - 1

# The models that get tuned options, and YNNPACK's fusion types for them.
_YNN_FUSION_TYPES = {"cnn": ("DOT", "ELTWISE", "REDUCE")}


def _options(model_name: str) -> dict[str, str]:
    kinds = _YNN_FUSION_TYPES[model_name]
    return {
        "xla_cpu_experimental_ynn_fusion_type": ",".join(
            f"LIBRARY_FUSION_TYPE_{kind}" for kind in kinds
        )
    }


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
    """The `jax.jit(compiler_options=...)` for a step of `model_name` on `platform_name`.

    Args:
      platform_name: the devices' platform, as in `jax.devices()[0].platform`.
      model_name: the model the step trains, as in `models.create`.

    Returns:
      The tuned XLA:CPU options for the CNN on "cpu" when this jaxlib accepts them, else `{}`.
    """
    if (
        platform_name != "cpu"
        or model_name not in _YNN_FUSION_TYPES
        or not _options_supported(model_name)
    ):
        return {}
    return _options(model_name)


def init_compiler_options(platform_name: str) -> dict[str, int]:
    """The `compiler_options` of a program that runs once (a model's initialisation): XLA's
    backend optimisation off on "cpu", where compiling the random-number code with it costs
    seconds; `{}` elsewhere."""
    return {"xla_backend_optimization_level": 0} if platform_name == "cpu" else {}


@functools.cache
def keep_freed_memory() -> bool:
    """Asks glibc to keep freed memory for reuse instead of unmapping it (process-wide).

    Call it before JAX starts its backends (the first `jax.devices()` or computation): their
    threads keep the glibc arena of their first allocation, and only threads that allocate
    after this call share the one heap. Called later, the CNN's single-run step still gets
    the full effect (measured), but a program with several runs' temporaries kept faulting
    (BUILD_NOTES.md). It only changes how host memory is reused, so it is safe to call
    before the platform is known.

    Returns:
      Whether the setting took effect: False off Linux or on a C library other than glibc.
    """
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    # mallopt returns 1 on success. M_MMAP_MAX=0: serve large blocks from the heap, not mmap;
    # M_TRIM_THRESHOLD: never give the heap's free top back to the system; M_ARENA_MAX=1: one
    # heap for every thread, because a thread's own arena still mmaps (and unmaps) a block
    # larger than its 64 MB heap, whatever M_MMAP_MAX says. XLA's threads allocate after this
    # call (they start with the first computation), so they share the one heap.
    return all(
        libc.mallopt(option, value) == 1
        for option, value in (
            (_M_MMAP_MAX, 0),
            (_M_TRIM_THRESHOLD, _MAX_INT),
            (_M_ARENA_MAX, 1),
        )
    )
