"""Field kinds, `perturb`, `search_space` and `history`: the library side of PBT."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings

import jaxsched
from jaxsched import Kind
from jaxsched._config import REGISTRY
from tests.catalogue import CATALOGUE

NUMERIC = (Kind.VALUE, Kind.STEPS, Kind.FRACTION, Kind.RATIO, Kind.REAL)


def numeric_fields(schedule: Any) -> list[str]:
    kinds = jaxsched.field_kinds(schedule)
    return [n for n, k in kinds.items() if k in NUMERIC and jax.tree.leaves(getattr(schedule, n))]


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_registered_field_declares_a_kind(name: str) -> None:
    for field in dataclasses.fields(REGISTRY[name]):
        assert jaxsched.field_kinds(REGISTRY[name])[field.name] is not None, field.name


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(sorted(CATALOGUE)),
    factors=st.lists(st.floats(0.01, 100.0), min_size=1, max_size=3),
    seed=st.integers(0, 2**31 - 1),
)
def test_perturbed_schedules_respect_every_fields_kind(
    name: str, factors: list[float], seed: int
) -> None:
    schedule = CATALOGUE[name]
    fields = numeric_fields(schedule)
    if not fields:  # product: only schedules
        return
    new = jaxsched.perturb(schedule, jax.random.key(seed), fields=fields, factors=factors)
    assert jax.tree.structure(new) == jax.tree.structure(schedule)
    for field, kind in jaxsched.field_kinds(schedule).items():
        old_leaves = jax.tree.leaves(getattr(schedule, field))
        new_leaves = jax.tree.leaves(getattr(new, field))
        if kind is Kind.STATIC:
            assert getattr(new, field) == getattr(schedule, field), field
        elif field not in fields:
            assert [float(v) for v in new_leaves] == [float(v) for v in old_leaves], field
        if field not in fields:
            continue
        ratios = {
            float(n) / float(o) for o, n in zip(old_leaves, new_leaves, strict=True) if o != 0
        }
        for old, value in zip(old_leaves, new_leaves, strict=True):
            value, old = float(value), float(old)
            if kind is Kind.STEPS:
                assert value == round(value) and value >= 0, (field, value)
                assert (value >= 1) == (old >= 1) or old >= 1, (field, old, value)
            if kind is Kind.FRACTION:
                assert 0.0 <= value <= 1.0, (field, value)
            if kind in (Kind.VALUE, Kind.RATIO, Kind.REAL):
                assert any(np.isclose(value, old * f, rtol=1e-5, atol=1e-30) for f in factors)
        if kind in (Kind.VALUE, Kind.RATIO) and ratios:
            assert max(ratios) == pytest.approx(min(ratios), rel=1e-5), field  # one factor


def test_perturb_draws_each_stacked_schedule_its_own_factor_inside_jit_and_vmap() -> None:
    batch = jaxsched.stack([jaxsched.cosine_decay(0.1, 100)] * 64)
    explore = jaxsched.Perturbation("cosine_decay", fields=("init_value", "decay_steps"))
    jitted = jax.jit(explore)(batch, jax.random.key(0))
    values = np.round(np.asarray(jitted.init_value), 6)
    assert set(values) == {np.float32(0.08).round(6), np.float32(0.125).round(6)}
    assert set(np.asarray(jitted.decay_steps)) == {80.0, 125.0}
    mapped = jax.vmap(explore)(batch, jax.random.split(jax.random.key(1), 64))
    assert set(np.round(np.asarray(mapped.init_value), 6)) == set(values)


def test_perturb_reuses_its_program_for_other_numbers() -> None:
    traces = []
    explore = jaxsched.Perturbation("one_cycle")

    @jax.jit
    def step(schedule: Any, key: jax.Array) -> Any:
        traces.append(1)
        return explore(schedule, key)

    for peak in (0.1, 0.2, 0.3):
        step(jaxsched.stack([jaxsched.one_cycle(peak, 100)] * 4), jax.random.key(0))
    assert len(traces) == 1


def test_resampling_draws_within_bounds_and_clips_there() -> None:
    bounds = {"peak_value": (0.05, 0.5), "pct_start": (0.1, 0.5)}
    explore = jaxsched.Perturbation(
        "one_cycle", ("peak_value", "pct_start"), bounds=bounds, resample_probability=1.0
    )
    new = explore(jaxsched.stack([jaxsched.one_cycle(0.1, 100)] * 200), jax.random.key(3))
    for name, (low, high) in bounds.items():
        values = np.asarray(getattr(new, name))
        assert values.min() >= low and values.max() <= high
        assert len(set(values)) > 100  # fresh draws, not two factors


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"factors": (0.8, 0.0)},
            "factors must be positive finite numbers, got factors=(0.8, 0.0)",
        ),
        ({"factors": ()}, "factors must be positive finite numbers"),
        ({"fields": ("peak",)}, "fields names 'peak', which one_cycle does not have"),
        ({"fields": ("anneal_strategy",)}, "a static field of one_cycle, not a number"),
        ({"bounds": {"peak_value": (0.2, 0.5)}}, "excludes the current peak_value=0.1"),
        ({"bounds": {"peak_value": (0.5, 0.2)}}, "low < high"),
        ({"bounds": {"pct_start": (0.1, 2.0)}}, "of a fraction must lie in [0, 1]"),
        ({"resample_probability": 0.5}, "have none; pass bounds="),
        ({"resample_probability": 1.5}, "resample_probability must be a number in [0, 1]"),
    ],
)
def test_bad_perturbation_arguments_raise_one_line_value_errors(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError) as info:
        jaxsched.Perturbation(jaxsched.one_cycle(0.1, 100), **kwargs)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_perturb_refuses_nested_schedules_and_seeds() -> None:
    noisy = jaxsched.noise(jaxsched.constant(0.1))
    for field in ("schedule", "seed"):
        with pytest.raises(ValueError, match=f"names '{field}', a"):
            jaxsched.perturb(noisy, jax.random.key(0), fields=(field,))


def test_search_space_samples_within_bounds_log_uniformly_with_whole_steps() -> None:
    space = jaxsched.search_space(
        "warmup_cosine_decay",
        {"peak_value": (1e-3, 1.0), "warmup_steps": (1, 100)},
        init_value=0.0,
        decay_steps=1000,
    )
    batch = space.sample(jax.random.key(0), 4000)
    peaks, warmups = np.asarray(batch.peak_value), np.asarray(batch.warmup_steps)
    assert peaks.min() >= 1e-3 and peaks.max() <= 1.0
    assert np.median(np.log10(peaks)) == pytest.approx(-1.5, abs=0.1)  # log-uniform
    assert np.all(warmups == np.round(warmups)) and warmups.min() >= 1 and warmups.max() <= 100
    assert np.all(np.asarray(batch.decay_steps) == 1000.0)
    one = jax.tree.map(lambda leaf: leaf[7], batch)
    assert float(one(0)) == 0.0 and float(one(one.warmup_steps)) == pytest.approx(peaks[7])


def test_search_space_refuses_tuples_and_unknown_families() -> None:
    with pytest.raises(ValueError, match="holds several numbers"):
        jaxsched.search_space(jaxsched.piecewise_constant((10,), (0.1, 0.01)), {"values": (0, 1)})
    with pytest.raises(ValueError, match="registered schedule name, got family='cosine'"):
        jaxsched.search_space("cosine", {})


def _oracle(peaks: list[float], boundaries: list[int], steps: np.ndarray) -> np.ndarray:
    """The history by hand, in float64: the cosine whose turn it is, at the global step."""
    peak = np.asarray(peaks)[np.searchsorted(np.asarray(boundaries), steps, side="right")]
    return peak * 0.5 * (1 + np.cos(np.pi * np.minimum(steps, 60) / 60))


@settings(max_examples=10, deadline=None)
@given(
    peaks=st.lists(st.floats(1e-4, 1.0), min_size=1, max_size=4),
    gaps=st.lists(st.integers(1, 30), min_size=3, max_size=3),
)
def test_history_evaluates_each_piece_at_the_global_step(
    peaks: list[float], gaps: list[int]
) -> None:
    pieces = [jaxsched.cosine_decay(p, 60) for p in peaks]
    boundaries = list(np.cumsum(gaps[: len(pieces) - 1]))
    history = jaxsched.history(pieces, boundaries)
    steps = np.arange(100)
    np.testing.assert_allclose(
        history(steps), _oracle(peaks, boundaries, steps), rtol=1e-5, atol=1e-7
    )
    # Closed over, the numbers are constants XLA folds: a rounding apart (an ulp of the peak).
    ulp = float(np.spacing(np.float32(max(peaks))))
    np.testing.assert_allclose(jax.jit(history)(steps), history(steps), rtol=1e-6, atol=2 * ulp)
    again = jaxsched.from_config(history.to_config())
    np.testing.assert_array_equal(again(steps), history(steps))


@pytest.mark.parametrize(
    ("schedules", "boundaries", "message"),
    [
        (3, (5,), "boundaries must have one entry fewer than schedules"),
        (2, (), "boundaries must have one entry fewer than schedules"),
        (3, (5, 5), "boundaries must be strictly increasing, got boundaries=(5, 5)"),
        (2, (-1,), "boundaries must be non-negative and finite, got boundaries=-1"),
    ],
)
def test_bad_histories_raise_value_errors(schedules: int, boundaries: Any, message: str) -> None:
    with pytest.raises(ValueError) as info:
        jaxsched.history([jaxsched.constant(0.1)] * schedules, boundaries)
    assert message in str(info.value)


def test_history_is_not_a_join() -> None:
    first, second = jaxsched.linear(1.0, 0.0, 4), jaxsched.linear(2.0, 0.0, 4)
    history = jaxsched.history((first, second), (2,))
    join = jaxsched.join((first, second), (2,))
    assert float(history(3)) == float(second(3)) == pytest.approx(0.5)
    assert float(join(3)) == float(second(1)) == pytest.approx(1.5)


def test_history_is_a_pytree_that_stores_any_leaves() -> None:
    history = jaxsched.history((jaxsched.constant(0.1), jaxsched.constant(0.2)), (3,))
    rebuilt = jax.tree.map(lambda leaf: None, history)
    assert rebuilt.boundaries == (None,)
    assert jnp.shape(jaxsched.stack([history, history]).boundaries[0]) == (2,)


# Values each kind forbids: a constructor must refuse every one, naming the field.
_FORBIDDEN = {
    Kind.VALUE: (math.nan, math.inf),
    Kind.STEPS: (-1.0, math.nan),
    Kind.FRACTION: (-0.5, 1.5, math.nan),
    Kind.RATIO: (-1.0, math.inf),
    Kind.REAL: (math.nan, -math.inf),
    Kind.SEED: (-1, 1.5),
}
# Fields whose constructor ties them to another field, so that scaling one alone may break
# the tie (a perturbation does not re-check these; `Perturbation`'s docstring says so).
_TIED = {("by_fraction", "fractions"), ("linear_onecycle", "pct_final")}


def _like(current: Any, value: Any) -> Any:
    """`value` in the shape of a field's `current` value (one per number of a tuple or dict)."""
    if isinstance(current, tuple):
        return tuple(value for _ in current)
    if isinstance(current, dict):
        return dict.fromkeys(current, value)
    return value


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_every_constructor_accepts_what_its_fields_kinds_allow_and_refuses_the_rest(
    name: str,
) -> None:
    schedule = CATALOGUE[name]
    for field, kind in jaxsched.field_kinds(schedule).items():
        current = getattr(schedule, field)
        if kind not in _FORBIDDEN or current is None:
            continue
        for bad in _FORBIDDEN[kind]:
            with pytest.raises(ValueError, match=field):
                dataclasses.replace(schedule, **{field: _like(current, bad)})
        if kind is Kind.SEED or (name, field) in _TIED:
            continue
        for factor in (0.8, 1.25):  # what exploration does to the field, within its kind
            explore = jaxsched.Perturbation(schedule, fields=(field,), factors=(factor,))
            moved = explore(schedule, jax.random.key(0))
            value = jax.tree.map(float, getattr(moved, field))
            dataclasses.replace(schedule, **{field: value})  # accepted: no ValueError
