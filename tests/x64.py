"""float64 inside one block of a test, on every jax version the package supports."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import jax


@contextlib.contextmanager
def enable_x64() -> Iterator[None]:
    """JAX computes in float64 inside the block, as `jax.enable_x64(True)` does.

    `jax.enable_x64` exists only from jax 0.8 on and `jax.experimental.enable_x64` is gone
    from jax 0.10, so this sets the global `jax_enable_x64` flag, which every version has,
    and puts back the previous value on the way out.
    """
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", previous)
