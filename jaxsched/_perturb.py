"""The explore step of population-based training: perturbing a schedule's numbers by kind."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from jaxsched._kinds import Kind, field_kinds
from jaxsched._schedule import Schedule
from jaxsched._search import (
    _resolve_family,
    check_bounds,
    check_field_names,
    check_within,
    replace_leaves,
    sample_field,
)


@dataclasses.dataclass(frozen=True, init=False)
class Perturbation:
    """A perturbation of a schedule family's fields, checked once and then applied in `jit`.

    Each chosen field is multiplied by one of `factors`, drawn uniformly (0.8 or 1.25 by
    default, the explore step of Jaderberg et al. 2017, https://arxiv.org/abs/1711.09846);
    with probability `resample_probability` it is instead drawn afresh within its `bounds`,
    as `jaxsched.search_space` draws it. Then each field is put back in range by kind: step
    counts are rounded to whole steps and a positive count stays at least 1, fractions are
    clipped to [0, 1], and every field to its bounds if it has any. Seeds, nested schedules
    and static fields are never changed. One factor is drawn per field and per schedule, so a
    tuple field (`boundaries`) keeps its order. Cross-field rules such as
    `warmup_steps < decay_steps` are not re-checked inside `jit`: perturb fields that do not
    constrain one another, or bound them so that they cannot cross.

    Applying it (`perturbation(schedule, key)`) works on one schedule, on a stacked batch
    (`jaxsched.stack`, where each schedule draws its own factors) and inside `jax.jit` and
    `jax.vmap`.

    Args:
      family: a schedule, a schedule class or a registered name; the fields belong to it.
      fields: names of the fields to perturb; by default the learning-rate-like ones.
      factors: positive multipliers to draw from.
      bounds: `{field: (low, high)}`; needed for every field when `resample_probability`
        is positive.
      resample_probability: the chance, per field and schedule, of a fresh draw instead.

    Raises:
      ValueError: for a field that does not exist or is not a number, a factor that is not
        positive and finite, a probability outside [0, 1], a missing or bad bound, or (when
        `family` is a schedule) a bound that excludes the schedule's current value.

    Examples:
      >>> import jax, jaxsched
      >>> explore = jaxsched.Perturbation("one_cycle", fields=("peak_value", "pct_start"))
      >>> batch = jaxsched.stack([jaxsched.one_cycle(0.1, total_steps=100)] * 4)
      >>> new = jax.jit(explore)(batch, jax.random.key(0))
      >>> {round(float(v), 3) for v in new.peak_value} <= {0.08, 0.125}
      True
    """

    family: type[Schedule]
    fields: tuple[str, ...]
    factors: tuple[float, ...]
    bounds: tuple[tuple[str, tuple[float, float]], ...]  # a dict's items: hashable, for jit
    resample_probability: float

    def __init__(
        self,
        family: Any,
        fields: Sequence[str] | None = None,
        factors: Sequence[float] = (0.8, 1.25),
        bounds: Mapping[str, tuple[float, float]] | None = None,
        resample_probability: float = 0.0,
    ) -> None:
        cls = type(family) if isinstance(family, Schedule) else _resolve_family(family)
        kinds = field_kinds(cls)
        if fields is None:
            fields = tuple(name for name, kind in kinds.items() if kind is Kind.VALUE)
        if isinstance(fields, str):
            fields = (fields,)
        fields = tuple(fields)
        if not fields:
            raise ValueError(f"fields must name at least one field of {cls.name}, got ()")
        check_field_names(cls.name, kinds, fields, "fields")
        factors = _check_factors(factors)
        checked = check_bounds(cls.name, kinds, bounds if bounds is not None else {})
        if not (
            isinstance(resample_probability, (int, float))
            and not isinstance(resample_probability, bool)
            and 0.0 <= resample_probability <= 1.0
        ):
            raise ValueError(
                f"resample_probability must be a number in [0, 1], got "
                f"resample_probability={resample_probability!r}"
            )
        missing = [name for name in fields if name not in checked]
        if resample_probability > 0 and missing:
            raise ValueError(
                f"resample_probability={resample_probability!r} draws fields within their bounds,"
                f" but {missing} have none; pass bounds={{name: (low, high)}}"
            )
        if isinstance(family, Schedule):
            check_within(family, checked)
        for name, value in (("family", cls), ("fields", fields), ("factors", factors),
                            ("bounds", tuple(checked.items())),
                            ("resample_probability", float(resample_probability))):  # fmt: skip
            object.__setattr__(self, name, value)

    def __call__(self, schedule: Any, key: jax.Array) -> Any:
        """`schedule` (or a stacked batch) with its fields perturbed; jittable."""
        if not isinstance(schedule, self.family):
            raise ValueError(
                f"schedule must be a {self.family.name} (this perturbation's family), got "
                f"{type(schedule).__name__}"
            )
        bounds = dict(self.bounds)
        check_within(schedule, bounds)
        kinds = field_kinds(self.family)
        updates = {}
        for i, name in enumerate(self.fields):
            field_key = jax.random.fold_in(key, i)
            kind = kinds[name]
            assert kind is not None  # checked at construction
            updates[name] = _perturb_field(
                getattr(schedule, name), kind, field_key, self, bounds.get(name)
            )
        return replace_leaves(schedule, updates)


def _check_factors(factors: Any) -> tuple[float, ...]:
    try:
        values = tuple(factors)
    except TypeError:
        raise ValueError(
            f"factors must be a sequence of numbers, got factors={factors!r}"
        ) from None
    ok = values and all(
        isinstance(f, (int, float)) and not isinstance(f, bool) and math.isfinite(f) and f > 0
        for f in values
    )
    if not ok:
        raise ValueError(f"factors must be positive finite numbers, got factors={factors!r}")
    return tuple(float(f) for f in values)


def _perturb_field(
    value: Any, kind: Kind, key: jax.Array, how: Perturbation, bounds: tuple[float, float] | None
) -> Any:
    """One field's new value: one factor per schedule, shared by the field's numbers."""
    leaves = jax.tree.leaves(value)
    if not leaves:  # an optional field left at None
        return value
    batch = jnp.shape(leaves[0])
    factor_key, coin_key, draw_key = jax.random.split(key, 3)
    factors = jnp.asarray(how.factors)
    factor = factors[jax.random.randint(factor_key, batch, 0, len(how.factors))]

    def explore(leaf: Any) -> jax.Array:
        leaf = jnp.asarray(leaf)
        new = leaf * factor
        if bounds is not None and how.resample_probability > 0:
            fresh = sample_field(kind, *bounds, draw_key, batch)
            coin = jax.random.bernoulli(coin_key, how.resample_probability, batch)
            new = jnp.where(coin, fresh, new)
        if kind is Kind.STEPS:
            # a positive count stays positive: 1 * 0.8 must not round to a zero-length phase
            new = jnp.maximum(jnp.round(new), jnp.where(leaf > 0, 1.0, 0.0))
        elif kind is Kind.FRACTION:
            new = jnp.clip(new, 0.0, 1.0)
        if bounds is not None:
            new = jnp.clip(new, *bounds)
        return new.astype(jnp.result_type(float))

    return jax.tree.map(explore, value)


def perturb(
    schedule: Schedule,
    key: jax.Array,
    fields: Sequence[str] | None = None,
    factors: Sequence[float] = (0.8, 1.25),
    bounds: Mapping[str, tuple[float, float]] | None = None,
    resample_probability: float = 0.0,
) -> Any:
    """`schedule` (or a stacked batch of them) with its numbers perturbed by kind.

    `jaxsched.Perturbation(schedule, ...)(schedule, key)` in one call: the arguments are
    checked when this is called, so inside `jax.jit` build the `Perturbation` once outside
    and apply it inside. See `Perturbation` for what each kind of field undergoes.

    Args:
      schedule: a schedule, or schedules stacked with `jaxsched.stack`.
      key: a JAX PRNG key.
      fields: names of the fields to perturb; by default the learning-rate-like ones.
      factors: positive multipliers to draw from (0.8 and 1.25 as in Jaderberg et al. 2017).
      bounds: `{field: (low, high)}` to clip to and resample within.
      resample_probability: the chance, per field and schedule, of a fresh draw in bounds.

    Returns:
      A schedule of the same structure and batch shape.

    Examples:
      >>> import jax, jaxsched
      >>> schedule = jaxsched.cosine_decay(0.1, decay_steps=100)
      >>> new = jaxsched.perturb(schedule, jax.random.key(0))
      >>> round(float(new.init_value), 3) in (0.08, 0.125), float(new.decay_steps)
      (True, 100.0)
    """
    how = Perturbation(schedule, fields, factors, bounds, resample_probability)
    return how(schedule, key)
