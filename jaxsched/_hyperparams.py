"""Reading and scaling injected hyperparameters in an optimizer state, whatever holds it.

The same injected state turns up in several forms, and every function here accepts each:

- optax's own NamedTuples (`optax.InjectStatefulHyperparamsState`, nested in chains,
  `multi_transform`, `masked`, a Linen `TrainState`, ...);
- a Flax NNX `nnx.Optimizer`, its `opt_state` and `nnx.state(...)` of either, where every
  array sits in an `nnx.Variable`;
- the plain dicts and lists that orbax restores when no target is given, and `nnx.State`,
  where the NamedTuples have become mappings of their fields (and an NNX variable saved by
  orbax a mapping `{"value": array}`).

NNX is recognised through `sys.modules`, so `import jaxsched` never imports flax.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxsched._checks import check_real
from jaxsched._inject import ScheduledState

_INJECTED_STATES = (optax.InjectHyperparamsState, optax.InjectStatefulHyperparamsState)


def _nnx_attribute(name: str) -> Any:
    """`flax.nnx.<name>` if flax.nnx has been imported (by the user), else None."""
    nnx = sys.modules.get("flax.nnx")
    return getattr(nnx, name, None)


def _is_variable(x: Any) -> bool:
    variable = _nnx_attribute("Variable")
    return variable is not None and isinstance(x, variable)


def _is_saved_variable(x: Any) -> bool:
    """An `nnx.Variable` as orbax restores it without a target: `{"value": array}`."""
    return isinstance(x, Mapping) and set(x) == {"value"}


def _unwrap(x: Any) -> Any:
    """The array inside an `nnx.Variable` (live or restored by orbax), or `x` itself."""
    if _is_saved_variable(x):
        return x["value"]
    if _is_variable(x):
        # `get_value` since flax 0.12 (`.value` is deprecated there), `.value` before
        return x.get_value() if hasattr(x, "get_value") else x.value
    return x


def _get(state: Any, name: str, default: Any = None) -> Any:
    """A field of a NamedTuple state or the same key of its mapping form."""
    if isinstance(state, Mapping):
        return state.get(name, default)
    return getattr(state, name, default)


def _is_injected(x: Any) -> bool:
    """An injected state: optax's NamedTuple, or a mapping with its fields.

    `nnx.State` leaves out fields without arrays (an empty `inner_state`), so the mapping form
    is recognised by the two that are always there.
    """
    if isinstance(x, _INJECTED_STATES):
        return True
    return isinstance(x, Mapping) and "count" in x and isinstance(x.get("hyperparams"), Mapping)


def _is_scheduled(x: Any) -> bool:
    """A `ScheduledState`, or a mapping with its fields."""
    if isinstance(x, ScheduledState):
        return True
    return isinstance(x, Mapping) and {"step", "scale", "next_value"} <= set(x)


def _label(path: tuple[Any, ...]) -> str:
    """The group of an injected state: `multi_transform` labels and chain indices, by "/".

    Keys naming a wrapper's state field (`inner_state`, `inner_states`, `opt_state`, ...) are
    left out, so a state has one label in its NamedTuple, mapping and NNX forms.
    """
    parts = []
    for key in path:
        if isinstance(key, jax.tree_util.DictKey):
            name = str(key.key)
            if not name.endswith(("state", "states")):
                parts.append(name)
        elif isinstance(key, jax.tree_util.SequenceKey):
            parts.append(str(key.idx))
    return "/".join(parts)


def _find_all(opt_state: Any) -> list[tuple[str, Any]]:
    flat, _ = jax.tree_util.tree_flatten_with_path(opt_state, is_leaf=_is_injected)
    return [(_label(path), leaf) for path, leaf in flat if _is_injected(leaf)]


def _check_state(opt_state: Any) -> None:
    if isinstance(opt_state, optax.GradientTransformation):
        raise ValueError(
            "opt_state must be the optimizer's state (what `optimizer.init(params)` and "
            "`optimizer.update` return), not the optimizer itself"
        )


def _find(opt_state: Any, group: str | None) -> tuple[str, Any]:
    _check_state(opt_state)
    found = _find_all(opt_state)
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


def _is_number(x: Any) -> bool:
    return isinstance(x, (jax.Array, np.ndarray, np.generic, float, int)) and not isinstance(
        x, bool
    )


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
      next update will use if it is made by the optimizer that wrote this state. It needs a
      state built by `jaxsched.inject`.

    Works inside `jit`. The state is found through `optax.chain`, `multi_transform`,
    `partition`, `masked` and any other nesting, and in every form it takes: optax's
    NamedTuples, a Flax NNX `nnx.Optimizer`, its `opt_state` or `nnx.state(...)`, and the plain
    dicts that orbax restores without a target.

    Args:
      opt_state: an optimizer state, or an `nnx.Optimizer`, or anything holding one.
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
    values = {k: _unwrap(v) for k, v in _get(state, "hyperparams").items()}
    values = {k: v for k, v in values.items() if _is_number(v)}
    if which == "last":
        return values
    schedule_states = _get(state, "hyperparams_states") or {}
    for name in values:
        if name not in schedule_states:
            continue
        schedule_state = schedule_states[name]
        if not _is_scheduled(schedule_state):
            raise ValueError(
                f"which='next' needs the schedule of {name!r}, which optax injected: build the "
                "optimizer with jaxsched.inject, or use which='last'"
            )
        scale = _unwrap(_get(schedule_state, "scale"))
        values[name] = scale * _unwrap(_get(schedule_state, "next_value"))
    return values


def current_lr(
    opt_state: Any, which: Literal["last", "next"] = "last", *, group: str | None = None
) -> jax.Array:
    """The learning rate held by an injected optimizer state, anywhere inside `opt_state`.

    `which="last"` (the default) is the learning rate the most recent update used (before
    any update: the one the first update will use); `which="next"` is the one the next update
    will use. See `current_hyperparams` for optax's off-by-one, the forms of state accepted
    (optax, Flax NNX, orbax) and `group`.

    Args:
      opt_state: an optimizer state built with `jaxsched.inject` (or
        `optax.inject_hyperparams`), or an `nnx.Optimizer`, or anything holding one.
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

    A plain state (optax NamedTuples, orbax's dicts) is returned changed, the input left as it
    was. Where the multiplier sits in a Flax NNX `nnx.Variable` (an `nnx.Optimizer`, its
    `opt_state`, `nnx.state(...)`), the variable is written in place, as NNX expects, and the
    same object is returned.

    Args:
      opt_state: an optimizer state built with `jaxsched.inject`, or an `nnx.Optimizer`.
      group: the injected state to change; by default every injected state that schedules
        the named hyperparameters.
      **scales: name -> multiplier, for example `learning_rate=plateau.value(plateau_state)`.

    Returns:
      The new optimizer state (the same object for NNX).

    Raises:
      ValueError: if no injected state schedules one of the names, or a multiplier is not a
        finite real number (a bool, a string, a complex number, inf or NaN).

    Examples:
      >>> import jax.numpy as jnp, optax, jaxsched
      >>> opt = jaxsched.inject(optax.sgd, learning_rate=jaxsched.constant(0.1))
      >>> state = jaxsched.set_scale(opt.init(jnp.zeros(1)), learning_rate=0.5)
      >>> print(jaxsched.current_lr(state, "next"))
      0.05
    """
    _check_state(opt_state)
    for name, scale in scales.items():
        check_real(name, scale, "a finite real number (its schedule's multiplier)")
    if group is not None:
        _find(opt_state, group)
    changed = dict.fromkeys(scales, False)

    def rescale(path: tuple[Any, ...], leaf: Any) -> Any:
        if not _is_injected(leaf) or (group is not None and _label(path) != group):
            return leaf
        schedule_states = dict(_get(leaf, "hyperparams_states") or {})
        for name, scale in scales.items():
            schedule_state = schedule_states.get(name)
            if _is_scheduled(schedule_state):
                schedule_states[name] = _with_scale(schedule_state, scale)
                changed[name] = True
        if not schedule_states:
            return leaf
        if isinstance(leaf, Mapping):
            return {**leaf, "hyperparams_states": schedule_states}
        return leaf._replace(hyperparams_states=schedule_states)

    pytree = _nnx_attribute("Pytree")
    if pytree is not None and isinstance(opt_state, pytree):  # an nnx.Optimizer: in place
        flat, _ = jax.tree_util.tree_flatten_with_path(opt_state, is_leaf=_is_injected)
        for path, leaf in flat:
            rescale(path, leaf)
        new_state = opt_state
    else:
        new_state = jax.tree_util.tree_map_with_path(rescale, opt_state, is_leaf=_is_injected)
    missing = sorted(name for name, done in changed.items() if not done)
    if missing:
        raise ValueError(
            f"no injected state schedules {missing}: pass them to jaxsched.inject as schedules "
            "(jaxsched.constant(value) for a fixed value)"
        )
    return new_state


def _with_scale(schedule_state: Any, scale: Any) -> Any:
    """`schedule_state` with `scale`; an NNX variable holding the old one is written in place."""
    old = _get(schedule_state, "scale")
    new: Any = jnp.asarray(scale, jnp.asarray(_unwrap(old)).dtype)
    if _is_variable(old):
        if hasattr(old, "set_value"):
            old.set_value(new)
        else:
            old.value = new
        return schedule_state
    if _is_saved_variable(old):
        new = {"value": new}
    if isinstance(schedule_state, Mapping):
        return {**schedule_state, "scale": new}
    return schedule_state._replace(scale=new)
