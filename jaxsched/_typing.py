"""The public type alias of what a schedule's number arguments accept."""

from __future__ import annotations

from typing import Any, TypeAlias

#: A number as JAX takes it: a Python int or float, a NumPy or JAX scalar or array, or a
#: tracer (inside `jax.jit`, `jax.vmap` or `jax.grad`). A schedule's hyperparameters take
#: one real value each (a bool, a string, a complex number or an array of several values
#: is refused with a `ValueError`); `schedule(step)` takes a step of any shape. For type
#: checkers it is `Any`: JAX rebuilds a schedule with whatever leaves a transform needs
#: (tracers, None, `jax.ShapeDtypeStruct`), and the fields keep them.
ArrayLike: TypeAlias = Any
