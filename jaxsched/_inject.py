"""Scheduling any optimizer hyperparameter, and reading and scaling it in the optimizer state."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxsched._base import Schedule, float_dtype

_INJECTED_STATES = (optax.InjectHyperparamsState, optax.InjectStatefulHyperparamsState)


class ScheduledState(NamedTuple):
    """The state of one hyperparameter that `inject` schedules.

    Attributes:
      step: the number of updates applied so far.
      scale: a multiplier of the schedule's value, 1.0 until `set_scale` changes it.
      upcoming: the schedule's value at `step`: unscaled, what the next update will use.
    """

    step: jax.Array
    scale: jax.Array
    upcoming: jax.Array


class _Scheduled:
    """An optax stateful schedule: `scale * schedule(count)`, with the next value kept."""

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
        upcoming = self._value(step)
        scale_dtype = upcoming.dtype if jnp.issubdtype(upcoming.dtype, jnp.floating) else None
        return ScheduledState(step, jnp.ones([], scale_dtype or float_dtype()), upcoming)

    def update(self, state: ScheduledState, **extra_args: Any) -> ScheduledState:
        del extra_args
        step = optax.safe_increment(state.step)
        return ScheduledState(step, state.scale, self._value(step))

    def __call__(self, state: ScheduledState, **extra_args: Any) -> jax.Array:
        del extra_args
        return state.scale * state.upcoming


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
      ValueError: if an argument is not a parameter of `optimizer_factory`.

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
    parameters = inspect.signature(optimizer_factory).parameters
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


def _label(path: tuple[Any, ...]) -> str:
    parts = []
    for key in path:
        if isinstance(key, jax.tree_util.DictKey):
            parts.append(str(key.key))
        elif isinstance(key, jax.tree_util.SequenceKey):
            parts.append(str(key.idx))
    return "/".join(parts)


def _is_injected(x: Any) -> bool:
    return isinstance(x, _INJECTED_STATES)


def _find(opt_state: Any, group: str | None) -> tuple[str, Any]:
    found = [
        (_label(path), leaf)
        for path, leaf in jax.tree_util.tree_flatten_with_path(opt_state, is_leaf=_is_injected)[0]
        if _is_injected(leaf)
    ]
    if not found:
        raise ValueError(
            "opt_state holds no injected hyperparameters: build the optimizer with "
            "jaxsched.inject (or optax.inject_hyperparams)"
        )
    groups = [label for label, _ in found]
    if group is None:
        if len(found) > 1:
            raise ValueError(
                f"opt_state holds {len(found)} injected states, at groups {groups}: pass "
                "group= to pick one"
            )
        return found[0]
    for label, state in found:
        if label == group:
            return label, state
    raise ValueError(f"group={group!r} is not an injected state; found groups {groups}")


def current_hyperparams(
    opt_state: Any, which: Literal["last", "next"] = "last", *, group: str | None = None
) -> dict[str, Any]:
    """The hyperparameters held by an injected optimizer state, anywhere inside `opt_state`.

    optax stores in `opt_state.hyperparams` the values that the most recent update used:
    update `n` (counting from 0) evaluates its schedules at step `n` and leaves
    `schedule(n)` there while the count moves on to `n + 1`. Before the first update the dict
    holds the values for step 0. So after `n >= 1` updates:

    - `which="last"` gives `schedule(n - 1)`: the value the last update used (what to log
      for that update); before any update, the value the first update will use.
    - `which="next"` gives `schedule(n)` (times any `set_scale` multiplier): the value the
      next update will use. It needs a state built by `jaxsched.inject`.

    Works inside `jit`. The state is found through `optax.chain`, `multi_transform`,
    `partition`, `masked` and any other nesting.

    Args:
      opt_state: an optimizer state.
      which: "last" or "next", as above.
      group: which injected state to read when there are several (the `multi_transform`
        label, or the index in a chain, joined by "/"); the error lists them.

    Returns:
      A dict name -> value of every numeric hyperparameter.

    Raises:
      ValueError: if there is no injected state, several and no `group`, or `which="next"`
        asks about a schedule that optax rather than jaxsched injected.

    Examples:
      >>> import jax.numpy as jnp, optax, jaxsched
      >>> opt = jaxsched.inject(optax.adam, learning_rate=0.1, b1=jaxsched.constant(0.8))
      >>> state = opt.init(jnp.zeros(1))
      >>> hyperparams = jaxsched.current_hyperparams(state)
      >>> print(sorted(hyperparams), hyperparams["b1"], hyperparams["b2"])
      ['b1', 'b2', 'eps', 'eps_root', 'learning_rate'] 0.8 0.999
    """
    if which not in ("last", "next"):
        raise ValueError(f"which must be 'last' or 'next', got which={which!r}")
    _, state = _find(opt_state, group)
    values = {k: v for k, v in state.hyperparams.items() if not callable(v)}
    values = {k: v for k, v in values.items() if isinstance(v, (jax.Array, np.ndarray, float))}
    if which == "last":
        return values
    schedule_states = getattr(state, "hyperparams_states", {})
    for name in values:
        if name not in schedule_states:
            continue
        schedule_state = schedule_states[name]
        if not isinstance(schedule_state, ScheduledState):
            raise ValueError(
                f"which='next' needs the schedule of {name!r}, which optax injected: build the "
                "optimizer with jaxsched.inject, or use which='last'"
            )
        values[name] = schedule_state.scale * schedule_state.upcoming
    return values


def current_lr(
    opt_state: Any, which: Literal["last", "next"] = "last", *, group: str | None = None
) -> jax.Array:
    """The learning rate held by an injected optimizer state, anywhere inside `opt_state`.

    `which="last"` (the default) is the learning rate the most recent update used (before
    any update: the one the first update will use); `which="next"` is the one the next update
    will use. See `current_hyperparams` for optax's off-by-one and for `group`.

    Args:
      opt_state: an optimizer state built with `jaxsched.inject` (or
        `optax.inject_hyperparams`).
      which: "last" or "next".
      group: which injected state to read when there are several.

    Returns:
      The learning rate, a scalar array.

    Raises:
      ValueError: as `current_hyperparams`, or if the state has no `learning_rate`.

    Examples:
      >>> import jax.numpy as jnp, optax, jaxsched
      >>> opt = jaxsched.inject(optax.sgd, learning_rate=jaxsched.exponential_decay(
      ...     1.0, decay_rate=0.5))
      >>> params = jnp.zeros(1)
      >>> state = opt.init(params)
      >>> print(jaxsched.current_lr(state))  # before any update: what the first one uses
      1.0
      >>> _, state = opt.update(jnp.ones(1), state, params)
      >>> print(jaxsched.current_lr(state), jaxsched.current_lr(state, "next"))
      1.0 0.5
    """
    values = current_hyperparams(opt_state, which, group=group)
    if "learning_rate" not in values:
        raise ValueError(f"the injected state has no learning_rate; it has {sorted(values)}")
    return values["learning_rate"]


def set_scale(opt_state: Any, *, group: str | None = None, **scales: Any) -> Any:
    """Sets the multiplier of scheduled hyperparameters: they become `scale * schedule(step)`.

    The multiplier lives in the optimizer state, so setting it (inside or outside `jit`) never
    recompiles; it replaces the previous multiplier rather than compounding it, and applies
    from the next update on. Feed it `reduce_on_plateau`'s value to reduce a decay schedule
    when the validation loss stalls. Only hyperparameters given as schedules to
    `jaxsched.inject` have a multiplier: to scale a fixed learning rate, inject
    `jaxsched.constant(lr)`.

    Args:
      opt_state: an optimizer state built with `jaxsched.inject`.
      group: the injected state to change; by default every injected state that schedules
        the named hyperparameters.
      **scales: name -> multiplier, for example `learning_rate=plateau.value(plateau_state)`.

    Returns:
      The new optimizer state.

    Raises:
      ValueError: if no injected state schedules one of the names.

    Examples:
      >>> import jax.numpy as jnp, optax, jaxsched
      >>> opt = jaxsched.inject(optax.sgd, learning_rate=jaxsched.constant(0.1))
      >>> state = jaxsched.set_scale(opt.init(jnp.zeros(1)), learning_rate=0.5)
      >>> print(jaxsched.current_lr(state, "next"))
      0.05
    """
    if group is not None:
        _find(opt_state, group)
    changed = dict.fromkeys(scales, False)

    def rescale(path: tuple[Any, ...], leaf: Any) -> Any:
        if not _is_injected(leaf) or (group is not None and _label(path) != group):
            return leaf
        schedule_states = dict(getattr(leaf, "hyperparams_states", {}))
        for name, scale in scales.items():
            schedule_state = schedule_states.get(name)
            if isinstance(schedule_state, ScheduledState):
                new_scale = jnp.asarray(scale, schedule_state.scale.dtype)
                schedule_states[name] = schedule_state._replace(scale=new_scale)
                changed[name] = True
        if not schedule_states:
            return leaf
        return leaf._replace(hyperparams_states=schedule_states)

    new_state = jax.tree_util.tree_map_with_path(rescale, opt_state, is_leaf=_is_injected)
    missing = sorted(name for name, done in changed.items() if not done)
    if missing:
        raise ValueError(
            f"no injected state schedules {missing}: pass them to jaxsched.inject as schedules "
            "(jaxsched.constant(value) for a fixed value)"
        )
    return new_state
