"""What each field of a schedule is: the kinds that validation, perturbation and search share.

A schedule's numeric fields differ in what may be done to them: a learning rate may be
multiplied by 1.25, a step count must stay a whole number, `pct_start` must stay in [0, 1],
`mode` is part of the compiled program and cannot change at all. Each field declares its kind
once, in the class body (`init_value: ArrayLike = kinds.value(0.0)`), as dataclass field
metadata; `jaxsched.Perturbation` and `jaxsched.search_space` read it from there. A kind
bounds what the field's constructor accepts: a value outside it (a negative step count, a
fraction above 1, a non-finite number) raises ValueError naming the field. A constructor may
be narrower (one_cycle's `pct_start` in (0, 1), a positive `decay_steps`, rules between
fields), never wider (tests/test_pbt_library.py walks every registered schedule).
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any


class Kind(enum.Enum):
    """The kind of a schedule field."""

    VALUE = "value"  # a learning-rate-like value (a number or a tuple of them)
    STEPS = "steps"  # a count of updates or a step boundary: non-negative (kept whole when drawn)
    FRACTION = "fraction"  # a share in [0, 1]
    RATIO = "ratio"  # a non-negative factor, rate or exponent
    REAL = "real"  # a free real number (a shift, a bound, a function's parameter)
    SEED = "seed"  # a random seed: a leaf, but never perturbed or sampled
    SCHEDULE = "schedule"  # a schedule or a tuple of them (a join's pieces)
    STATIC = "static"  # pytree metadata: a shape, a mode, a flag, a function


# Kinds whose numbers `perturb` may change; SEED, SCHEDULE and STATIC are left alone.
NUMERIC = (Kind.VALUE, Kind.STEPS, Kind.FRACTION, Kind.RATIO, Kind.REAL)


def _field(kind: Kind, default: Any) -> Any:
    return dataclasses.field(default=default, metadata={"kind": kind})


def value(default: Any = dataclasses.MISSING) -> Any:
    """A learning-rate-like field (`init_value`, `peak_value`, `values`)."""
    return _field(Kind.VALUE, default)


def steps(default: Any = dataclasses.MISSING) -> Any:
    """A count of updates or a step boundary (`decay_steps`, `boundaries`)."""
    return _field(Kind.STEPS, default)


def fraction(default: Any = dataclasses.MISSING) -> Any:
    """A share in [0, 1] (`pct_start`)."""
    return _field(Kind.FRACTION, default)


def ratio(default: Any = dataclasses.MISSING) -> Any:
    """A non-negative factor, rate or exponent (`decay_rate`, `div_factor`, `power`)."""
    return _field(Kind.RATIO, default)


def real(default: Any = dataclasses.MISSING) -> Any:
    """A free real number (`Scale.factor`, `TanhDecay.lower`)."""
    return _field(Kind.REAL, default)


def seed(default: Any = dataclasses.MISSING) -> Any:
    """A random seed: a leaf that is never perturbed or sampled."""
    return _field(Kind.SEED, default)


def schedules(default: Any = dataclasses.MISSING) -> Any:
    """A schedule, or a tuple of schedules, held by a schedule."""
    return _field(Kind.SCHEDULE, default)


def kind_of(field: dataclasses.Field[Any]) -> Kind | None:
    """The declared kind of a dataclass field; None if it declares none."""
    if field.metadata.get("static"):
        return Kind.STATIC
    return field.metadata.get("kind")


def field_kinds(cls: Any) -> dict[str, Kind | None]:
    """Each field of a schedule class (or instance) and its kind, in declaration order."""
    return {f.name: kind_of(f) for f in dataclasses.fields(cls)}
