"""Search spaces of a schedule family: the fields to sample, their bounds, and how to sample.

Each field is sampled as its kind says: learning-rate-like values, ratios and step counts
log-uniformly when the lower bound is positive (so 0.01 to 1 gives as many draws below 0.1
as above), fractions and free numbers uniformly; step counts are rounded to whole steps.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxsched._checks import is_concrete, short_repr
from jaxsched._config import REGISTRY
from jaxsched._kinds import NUMERIC, Kind, field_kinds
from jaxsched._schedule import Schedule

_LOG_KINDS = (Kind.VALUE, Kind.RATIO, Kind.STEPS)


def check_field_names(family: str, kinds: Mapping[str, Kind | None], names: Any, what: str) -> None:
    """Raises ValueError unless each of `names` is a numeric field of the family."""
    for name in names:
        if name not in kinds:
            raise ValueError(
                f"{what} names {name!r}, which {family} does not have; its fields are "
                f"{sorted(kinds)}"
            )
        declared = kinds[name]
        if declared not in NUMERIC:
            kind = declared.value if declared is not None else "undeclared"
            raise ValueError(
                f"{what} names {name!r}, a {kind} field of {family}, not a number that can be "
                "perturbed or sampled"
            )


def check_bounds(family: str, kinds: Mapping[str, Kind | None], bounds: Any) -> dict[str, Any]:
    """`bounds` as {field: (low, high)}; ValueError for a bad name, pair or range."""
    if not isinstance(bounds, Mapping):
        raise ValueError(f"bounds must be a dict of field: (low, high), got bounds={bounds!r}")
    check_field_names(family, kinds, bounds, "bounds")
    checked = {}
    for name, pair in bounds.items():
        try:
            low, high = (float(v) for v in pair)
        except (TypeError, ValueError):
            raise ValueError(
                f"bounds[{name!r}] must be a pair (low, high) of numbers, got {pair!r}"
            ) from None
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ValueError(
                f"bounds[{name!r}] must be finite with low < high, got ({low!r}, {high!r})"
            )
        if kinds[name] is Kind.FRACTION and not (low >= 0.0 and high <= 1.0):
            raise ValueError(f"bounds[{name!r}] of a fraction must lie in [0, 1], got {pair!r}")
        if kinds[name] in (Kind.RATIO, Kind.STEPS) and low < 0:
            raise ValueError(f"bounds[{name!r}] of {name} must be non-negative, got {pair!r}")
        checked[name] = (low, high)
    return checked


def check_within(schedule: Schedule, bounds: Mapping[str, tuple[float, float]]) -> None:
    """Raises ValueError if a concrete field of `schedule` lies outside its bounds."""
    for name, (low, high) in bounds.items():
        current = getattr(schedule, name)
        if not is_concrete(current):
            continue
        values = np.asarray(current, np.float64)
        if not bool(np.all((values >= low) & (values <= high))):
            raise ValueError(
                f"bounds[{name!r}]=({low!r}, {high!r}) excludes the current "
                f"{name}={short_repr(current)}"
            )


def sample_field(
    kind: Kind, low: float, high: float, key: jax.Array, shape: tuple[int, ...]
) -> jax.Array:
    """Draws numbers of `kind` in [low, high]: log-uniform where that makes sense."""
    u = jax.random.uniform(key, shape)
    if kind in _LOG_KINDS and low > 0:
        drawn = jnp.exp(math.log(low) + u * (math.log(high) - math.log(low)))
    else:
        drawn = low + u * (high - low)
    if kind is Kind.STEPS:
        drawn = jnp.clip(jnp.round(drawn), math.ceil(low), math.floor(high))
    return jnp.clip(drawn, low, high)


def replace_leaves(schedule: Schedule, updates: Mapping[str, Any]) -> Any:
    """A copy of `schedule` with fields replaced, without running its constructor.

    The new values may be traced or batched, which the constructor's checks would refuse.
    """
    copy = jax.tree.map(lambda leaf: leaf, schedule)
    for name, value in updates.items():
        object.__setattr__(copy, name, value)
    return copy


def _resolve_family(family: Any) -> type[Schedule]:
    if isinstance(family, str):
        if family not in REGISTRY:
            raise ValueError(f"family must be a registered schedule name, got family={family!r}")
        return REGISTRY[family]
    if isinstance(family, type) and issubclass(family, Schedule) and family.name in REGISTRY:
        return family
    raise ValueError(
        f"family must be a schedule, a schedule class or a registered name, got family={family!r}"
    )


@dataclasses.dataclass(frozen=True)
class SearchSpace:
    """Schedules of one family whose `bounds` fields are drawn at random, the rest fixed.

    Build it with `jaxsched.search_space`; `sample(key, n)` is jittable.

    Attributes:
      template: the fixed fields' values (the bounded fields hold a value within bounds).
      bounds: {field: (low, high)} for each sampled field.
    """

    template: Schedule
    bounds: Mapping[str, tuple[float, float]]

    def sample(self, key: jax.Array, n: int) -> Any:
        """`n` schedules as one stacked schedule (every leaf with a leading axis of `n`)."""
        kinds = field_kinds(self.template)
        stacked = jax.tree.map(
            lambda leaf: jnp.broadcast_to(jnp.asarray(leaf), (n, *jnp.shape(leaf))), self.template
        )
        updates = {
            name: sample_field(kinds[name], low, high, jax.random.fold_in(key, i), (n,))  # type: ignore[arg-type]
            for i, (name, (low, high)) in enumerate(self.bounds.items())
        }
        return replace_leaves(stacked, updates)


def search_space(
    family: Any, bounds: Mapping[str, tuple[float, float]], **fixed: Any
) -> SearchSpace:
    """The search space of a schedule family, for random search and population-based training.

    Fields named in `bounds` are drawn in `[low, high]` as their kind says (log-uniform for
    learning-rate-like values, ratios and step counts with a positive lower bound, uniform
    otherwise; step counts whole); every other field keeps the value of `family` when it is a
    schedule, or the value given in `fixed` (or its default) when it is a class or a name.
    Cross-field rules (`warmup_steps < decay_steps`) are checked for the template only: pick
    bounds that keep them.

    Args:
      family: a schedule (its fields are the fixed values), a schedule class or a registered
        name such as `"one_cycle"`.
      bounds: `{field: (low, high)}` for each field to sample; each a number, not a tuple.
      **fixed: the other fields' values, when `family` is a class or a name.

    Returns:
      A `SearchSpace` whose `sample(key, n)` returns `n` schedules stacked on a leading axis.

    Raises:
      ValueError: for a field that does not exist or is not a number, a bound pair that is
        not `low < high` (or leaves a fraction's [0, 1]), or a schedule whose current value
        lies outside its bounds.

    Examples:
      >>> import jax, jaxsched
      >>> space = jaxsched.search_space(
      ...     "one_cycle", {"peak_value": (0.01, 1.0)}, total_steps=100
      ... )
      >>> batch = space.sample(jax.random.key(0), 8)
      >>> print(batch.peak_value.shape, batch.total_steps.shape)
      (8,) (8,)
    """
    if isinstance(family, Schedule):
        kinds = field_kinds(family)
        checked = check_bounds(family.name, kinds, bounds)
        if fixed:
            raise ValueError(
                f"fixed values are taken from the schedule itself; got {sorted(fixed)} as well"
            )
        check_within(family, checked)
        template = family
    else:
        cls = _resolve_family(family)
        kinds = field_kinds(cls)
        checked = check_bounds(cls.name, kinds, bounds)
        middle = {
            name: _middle(kinds[name], low, high)  # type: ignore[arg-type]
            for name, (low, high) in checked.items()
        }
        template = cls(**fixed, **middle)
    for name in checked:
        if isinstance(getattr(template, name), (tuple, Mapping)):
            raise ValueError(f"bounds names {name!r}, which holds several numbers; name a number")
    return SearchSpace(template, checked)


def _middle(kind: Kind, low: float, high: float) -> float:
    middle = math.sqrt(low * high) if kind in _LOG_KINDS and low > 0 else (low + high) / 2
    return float(round(middle)) if kind is Kind.STEPS else middle
