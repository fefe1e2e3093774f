"""Schedules from a user's own jittable function of the step, its numbers kept as leaves."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp

import jaxsched._kinds as kinds
from jaxsched._allowed_functions import resolve_function
from jaxsched._checks import check_finite
from jaxsched._config import register
from jaxsched._numerics import float_dtype
from jaxsched._schedule import Schedule, as_float_leaf, set_field, static_field
from jaxsched._typing import ArrayLike

# `multiplicative` evaluates `fn` at every step up to `max_steps` and keeps their running
# product, at each evaluation: the table costs 4 bytes a step and its time grows with it
# (8.6 ms at 2**20 on the 2-core build machine, BUILD_NOTES.md). 2**31 steps would ask for 8 GiB.
MAX_TABLE_STEPS = 2**20


def _check_params(obj: Any) -> None:
    params = {} if obj.params is None else obj.params
    if not isinstance(params, Mapping):
        raise ValueError(
            f"params must be a dict of the numbers passed to fn by keyword, got params={params!r}"
        )
    checked = {}
    for key, value in params.items():
        if not isinstance(key, str) or not key.isidentifier() or key == "name":
            raise ValueError(
                f"params must have keyword names (not 'name', which configs reserve), got "
                f"params key {key!r}"
            )
        check_finite(f"params[{key!r}]", value)
        checked[key] = as_float_leaf(value)
    set_field(obj, "params", checked)


def _hash(obj: Any) -> int:
    # The dataclass hash would hash the params dict, which Python refuses; `jax.jit(schedule)`
    # hashes the schedule.
    params = tuple(sorted((obj.params or {}).items()))
    return hash((type(obj), obj.fn, getattr(obj, "max_steps", None), obj.init_value, params))


def _evaluate(
    fn: Callable[..., Any] | str, step: jax.Array, params: Mapping[str, Any] | None
) -> jax.Array:
    assert callable(fn), "a function name is resolved at construction"
    value = jnp.asarray(fn(step, **(params or {})), float_dtype())
    return jnp.broadcast_to(value, step.shape)


@register("lambda_schedule")
class LambdaSchedule(Schedule):
    """`init_value * fn(step, **params)`: any jittable function of the step as a schedule.

    `fn` is static (part of the pytree's structure: a new function compiles anew), and the
    numbers in `params` are leaves, passed to it by keyword: change them, trace them, vmap
    or differentiate over them without recompiling. `fn` receives the step as a float array
    and must use `jax.numpy` (it runs under `jax.jit`). In a config `fn` is written as
    `"module:qualname"`; such a string is accepted in its place only for a function allowed
    by `jaxsched.register_function` (or `from_config(config, functions=[fn])`): a name is
    never imported.

    Equivalent: torch `LambdaLR(optimizer, lr_lambda)` on an optimizer with learning rate
    `init_value`, with `lr_lambda(t) = fn(t, **params)`.

    Args:
      fn: a function `fn(step, **params) -> value`, or the `"module:qualname"` of a
        registered one.
      init_value: the multiplier of `fn`'s value (torch's base learning rate).
      params (Mapping[str, ArrayLike] | None): numbers passed to `fn` by keyword.

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> def halve_every(step, period):
      ...     return 0.5 ** jnp.floor(step / period)
      >>> schedule = jaxsched.lambda_schedule(halve_every, 0.1, params={"period": 2})
      >>> print(schedule(jnp.arange(5)))
      [0.1   0.1   0.05  0.05  0.025]
    """

    fn: Callable[..., ArrayLike] | str = static_field()
    init_value: ArrayLike = kinds.value(default=1.0)
    params: Mapping[str, ArrayLike] | None = kinds.real(default=None)

    def __post_init__(self) -> None:
        set_field(self, "fn", resolve_function(self.fn, "fn"))
        check_finite("init_value", self.init_value)
        _check_params(self)

    def __hash__(self) -> int:
        return _hash(self)

    def _at(self, step: jax.Array) -> jax.Array:
        return self.init_value * _evaluate(self.fn, step, self.params)


@register("multiplicative")
class Multiplicative(Schedule):
    """`init_value` times the product of `fn(k, **params)` for `k = 1 ... step`.

    Each whole step multiplies the value by `fn` of that step, the factor of step 0 being 1;
    after `max_steps` steps the value holds. The products are tabulated up to `max_steps`
    (a static number, since it sets the table's length; each evaluation costs `max_steps`
    calls of `fn` on one array), so `fn` must accept an array of steps. `fn` is static and
    the numbers in `params` are leaves, as in `lambda_schedule`.

    Equivalent: torch `MultiplicativeLR(optimizer, lr_lambda)` on an optimizer with learning
    rate `init_value`, for steps up to `max_steps` (torch keeps multiplying after).

    Args:
      fn: a function `fn(steps, **params) -> factors`, or the `"module:qualname"` of a
        registered one.
      max_steps: the last step whose factor counts (an int in [0, 2**20]).
      init_value: the value at step 0.
      params (Mapping[str, ArrayLike] | None): numbers passed to `fn` by keyword.

    Examples:
      >>> import jax.numpy as jnp, jaxsched
      >>> def factor(step, rate):
      ...     return jnp.where(step % 2 == 0, rate, 1.0)
      >>> schedule = jaxsched.multiplicative(factor, 4, 1.0, params={"rate": 0.5})
      >>> print(schedule(jnp.arange(7)))
      [1.   1.   0.5  0.5  0.25 0.25 0.25]
    """

    fn: Callable[..., ArrayLike] | str = static_field()
    max_steps: int = static_field()
    init_value: ArrayLike = kinds.value(default=1.0)
    params: Mapping[str, ArrayLike] | None = kinds.real(default=None)

    def __post_init__(self) -> None:
        set_field(self, "fn", resolve_function(self.fn, "fn"))
        if isinstance(self.max_steps, bool) or not (
            isinstance(self.max_steps, int) and 0 <= self.max_steps <= MAX_TABLE_STEPS
        ):
            raise ValueError(
                "max_steps must be an int in [0, 2**20], the longest table of factors "
                "jaxsched builds (4 MiB, about 10 ms per evaluation on a CPU); for a longer "
                "run write the product in closed form with lambda_schedule, got "
                f"max_steps={self.max_steps!r}"
            )
        check_finite("init_value", self.init_value)
        _check_params(self)

    def __hash__(self) -> int:
        return _hash(self)

    def _at(self, step: jax.Array) -> jax.Array:
        steps = jnp.arange(1, self.max_steps + 1, dtype=float_dtype())
        factors = _evaluate(self.fn, steps, self.params)
        table = jnp.concatenate([jnp.ones((1,), factors.dtype), jnp.cumprod(factors)])
        index = jnp.clip(jnp.floor(step), 0, self.max_steps).astype(jnp.int32)
        return self.init_value * table[index]
