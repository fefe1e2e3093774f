"""Scheduling any optimizer hyperparameter with a jaxsched schedule, through optax."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxsched._checks import check_real
from jaxsched._numerics import float_dtype
from jaxsched._schedule import Schedule


class ScheduledState(NamedTuple):
    """The state of one hyperparameter that `inject` schedules.

    Attributes:
      step: the number of updates applied so far.
      scale: a multiplier of the schedule's value, 1.0 until `set_scale` changes it.
      next_value: the schedule's value at `step`, unscaled, as computed by the optimizer that
        wrote this state; `current_lr(which="next")` reports `scale * next_value`. Updates
        never read it: each update computes `schedule(step)` from the schedule it was built
        with, as optax does, so an optimizer rebuilt with another schedule applies it at once.
    """

    step: jax.Array
    scale: jax.Array
    next_value: jax.Array


class _Scheduled:
    """An optax stateful schedule: `scale * schedule(count)`, evaluated at every update."""

    def __init__(self, schedule: Callable[[Any], Any], dtype: Any) -> None:
        self.schedule = schedule
        self.dtype = dtype

    def _value(self, count: jax.Array) -> jax.Array:
        value = jnp.asarray(self.schedule(count))
        if self.dtype is not None:
            value = value.astype(self.dtype)
        elif getattr(value, "weak_type", False) and jnp.issubdtype(value.dtype, jnp.floating):
            value = value.astype(float_dtype())
        return value

    def init(self) -> ScheduledState:
        step = jnp.zeros([], jnp.int32)
        value = self._value(step)
        scale_dtype = value.dtype if jnp.issubdtype(value.dtype, jnp.floating) else None
        return ScheduledState(step, jnp.ones([], scale_dtype or float_dtype()), value)

    def update(self, state: ScheduledState, **extra_args: Any) -> ScheduledState:
        del extra_args
        step = optax.safe_increment(state.step)
        return ScheduledState(step, state.scale, self._value(step))

    def __call__(self, state: ScheduledState, **extra_args: Any) -> jax.Array:
        del extra_args
        return state.scale * self._value(state.step)


def inject(
    optimizer_factory: Callable[..., optax.GradientTransformation],
    /,
    *,
    scheduled: str | Iterable[str] = (),
    hyperparam_dtype: Any = None,
    **hyperparams: Any,
) -> optax.GradientTransformationExtraArgs:
    """An optimizer whose hyperparameters live in its state, scheduled by jaxsched schedules.

    `inject(optax.adamw, learning_rate=schedule, mask=fn)` is
    `optax.inject_hyperparams(optax.adamw)(learning_rate=schedule, mask=fn)` with three
    differences:

    - Only jaxsched schedules, the names listed in `scheduled` and optax stateful schedules
      are scheduled. Any other callable (adamw's `mask`) reaches the optimizer untouched;
      optax would call `mask(count)` and silently turn it into `False`, disabling weight
      decay everywhere.
    - A hyperparameter keeps its own dtype: Python numbers and schedule values are JAX's
      default float (float32), arrays keep theirs. optax casts them to the parameters' dtype,
      which with bfloat16 parameters rounds `b2=0.999` to 1.0 and makes Adam's bias
      correction divide by zero. The optimizer's own state keeps the dtypes it was
      initialised with (computed in the wider type, then cast back), so it is stable across
      updates and inside `lax.scan`.
    - Each scheduled value is `scale * schedule(count)` where `scale` (1.0) sits in the state:
      `set_scale` changes it without recompiling, which is how `reduce_on_plateau` multiplies
      a decay schedule.

    Numbers that are not scheduled can be changed between updates in the state's
    `hyperparams` dict, as with optax. `current_lr` and `current_hyperparams` read the values
    from the state, wherever it is nested.

    Args:
      optimizer_factory: a function returning an optax transformation, such as `optax.adamw`,
        `optax.sgd` or `optax.scale_by_adam`.
      scheduled: names of hyperparameters whose plain callables (an optax schedule, a lambda
        of the step) are schedules too.
      hyperparam_dtype: cast every float hyperparameter to this dtype instead.
      **hyperparams: the factory's arguments: numbers, jaxsched schedules, anything else.

    Returns:
      The optimizer; its state is an `optax.InjectStatefulHyperparamsState`.

    Raises:
      ValueError: if `optimizer_factory` is a transformation rather than the function that
        builds one, an argument is not one of its parameters, or a number is not a finite
        real number (a bool, a string, a complex number, inf or NaN), where the parameter is
        `learning_rate` or has a number as its default.

    Examples:
      >>> import jax.numpy as jnp, optax, jaxsched
      >>> opt = jaxsched.inject(optax.sgd, learning_rate=jaxsched.linear(1.0, 0.0, 4),
      ...                       momentum=0.9)
      >>> params = jnp.zeros(2)
      >>> state = opt.init(params)
      >>> for _ in range(2):
      ...     updates, state = opt.update(jnp.ones(2), state, params)
      >>> print(jaxsched.current_lr(state), jaxsched.current_lr(state, which="next"))
      0.75 0.5
    """
    names = {scheduled} if isinstance(scheduled, str) else set(scheduled)
    parameters = factory_parameters("optimizer_factory", optimizer_factory)
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    for name in sorted(set(hyperparams) | names):
        if name not in parameters and not takes_any:
            raise ValueError(
                f"{name}={hyperparams.get(name)!r} is not a parameter of "
                f"{getattr(optimizer_factory, '__name__', optimizer_factory)}; it takes "
                f"{sorted(parameters)}"
            )
    # Defaults too: optax would cast an unpassed `b1=0.9` to the parameters' dtype.
    try:
        bound = inspect.signature(optimizer_factory).bind(**hyperparams)
    except TypeError as e:
        raise ValueError(f"bad arguments for {optimizer_factory}: {e}") from None
    bound.apply_defaults()
    items = []
    for name, value in bound.arguments.items():
        if parameters[name].kind is inspect.Parameter.VAR_KEYWORD:
            items.extend(value.items())
        else:
            items.append((name, value))
    static, arguments = [], {}
    for name, value in items:
        default = parameters[name].default if name in parameters else inspect.Parameter.empty
        _check_hyperparam(name, value, default)
        if isinstance(value, Schedule) or (name in names and callable(value)):
            arguments[name] = _Scheduled(value, hyperparam_dtype)
        elif callable(value) and not _is_stateful_schedule(value):
            static.append(name)
            arguments[name] = value
        else:
            arguments[name] = _as_hyperparam(value, hyperparam_dtype)
    dtypes = {
        name: value.dtype for name, value in arguments.items() if isinstance(value, jax.Array)
    }
    factory = optax.inject_hyperparams(
        optimizer_factory, static_args=static, hyperparam_dtype=hyperparam_dtype
    )
    optimizer = factory(**arguments)

    def update(updates: Any, state: Any, params: Any = None, **extra_args: Any) -> tuple[Any, Any]:
        # A number written into `state.hyperparams` between updates would otherwise be cast
        # to the parameters' dtype by optax (and change the state's type: a recompile).
        hyperparams = {
            name: jnp.asarray(value, dtypes[name]) if name in dtypes else value
            for name, value in state.hyperparams.items()
        }
        new_updates, new_state = optimizer.update(
            updates, state._replace(hyperparams=hyperparams), params, **extra_args
        )
        inner = jax.tree.map(_cast_like, new_state.inner_state, state.inner_state)
        return new_updates, new_state._replace(inner_state=inner)

    return optax.GradientTransformationExtraArgs(optimizer.init, update)


def factory_parameters(name: str, factory: Any) -> Mapping[str, inspect.Parameter]:
    """The parameters of an optimizer factory; ValueError for a transformation it built."""
    if isinstance(factory, optax.GradientTransformation):
        raise ValueError(
            f"{name} must be the function that builds the optimizer, not an optimizer it "
            "built: pass `optax.adamw`, not `optax.adamw(...)`"
        )
    try:
        return inspect.signature(factory).parameters
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a function returning an optax transformation, such as "
            f"`optax.adamw`, got {name}={factory!r}"
        ) from None


def _check_hyperparam(name: str, value: Any, default: Any) -> None:
    """ValueError for a number that is not one: a bool, string, complex, inf or NaN.

    `learning_rate` and the parameters whose default is a number take a finite real number
    (or a schedule); elsewhere (`nesterov`, `mask`, dtypes) only a number-like value is
    checked, so flags and other arguments reach the optimizer as they are.
    """
    if value is None or isinstance(value, Schedule) or callable(value):
        return
    numeric_default = isinstance(default, (int, float)) and not isinstance(default, bool)
    expects_number = name == "learning_rate" or numeric_default
    number_like = isinstance(value, (int, float, complex, np.ndarray, np.generic, jax.Array))
    if expects_number or (number_like and not isinstance(value, (bool, np.bool_))):
        check_real(name, value, "a finite real number or a schedule")


def _is_stateful_schedule(value: Any) -> bool:
    return callable(getattr(value, "init", None)) and callable(getattr(value, "update", None))


def _as_hyperparam(value: Any, dtype: Any) -> Any:
    if isinstance(value, bool) or not isinstance(
        value, (int, float, np.ndarray, np.generic, jax.Array)
    ):
        return value
    if isinstance(value, int) and not isinstance(value, np.generic):
        return value  # an integer hyperparameter stays one; optax leaves it alone too
    array = jnp.asarray(value)
    if not jnp.issubdtype(array.dtype, jnp.floating):
        return array
    if dtype is not None:
        return array.astype(dtype)
    if isinstance(value, float) or getattr(value, "weak_type", False):
        return array.astype(float_dtype())
    return array


def _cast_like(new: Any, old: Any) -> Any:
    dtype = getattr(old, "dtype", None)
    if dtype is None or getattr(new, "dtype", dtype) == dtype:
        return new
    return jnp.asarray(new).astype(dtype)
