"""The pytree contract: JAX, optax, NNX, equinox and orbax rebuild schedules with any leaves.

JAX's documentation ("Custom pytrees and initialization with unexpected values") asks that
unflatten accept whatever leaves a transform puts there; validation belongs to the
constructors users call. Every public pytree class is checked here by round-tripping
arbitrary leaves, then through the transforms that do it in practice.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import optax
import orbax.checkpoint as ocp
import pytest
from flax import nnx
from hypothesis import assume, given, settings

import jaxsched
from jaxsched._config import REGISTRY
from tests import reference
from tests.catalogue import CATALOGUE
from tests.specs import build, children, key_steps
from tests.strategies import ANY_SPEC, FAMILIES, NESTED
from tests.x64 import enable_x64

# What transforms put where a number was.
PLACEHOLDERS = st.sampled_from(
    [
        None,
        object(),
        jax.ShapeDtypeStruct((), jnp.float32),
        jax.ShapeDtypeStruct((5, 2), jnp.bfloat16),
        np.float32(0.0),
        jnp.zeros(()),
        -3.5,
        -(2**40),
        jnp.ones((4,)),
        np.full((2, 3), np.nan),
        "a string",
    ]
)

_PLATEAU = jaxsched.reduce_on_plateau(factor=0.5, patience=2, mode="max")
# One instance of every public pytree class.
INSTANCES: dict[str, Any] = {
    **CATALOGUE,
    "reduce_on_plateau": _PLATEAU,
    "PlateauState": _PLATEAU.update(_PLATEAU.init(), 1.0),
    "ScheduledState": jaxsched.ScheduledState(jnp.int32(3), jnp.float32(0.5), jnp.float32(0.1)),
    "injected optimizer state": jaxsched.inject(
        optax.adamw, learning_rate=CATALOGUE["one_cycle"], b1=CATALOGUE["one_cycle_momentum"]
    ).init({"w": jnp.zeros(3)}),
}


def test_instances_cover_every_public_pytree_class() -> None:
    public = {*REGISTRY.values(), jaxsched.ReduceOnPlateau, jaxsched.PlateauState}
    assert public <= {type(x) for x in INSTANCES.values()}


def _assert_round_trip(tree: Any, leaves: list[Any]) -> None:
    treedef = jax.tree.structure(tree)
    rebuilt = jax.tree.unflatten(treedef, leaves)
    assert type(rebuilt) is type(tree)
    stored = treedef.flatten_up_to(rebuilt)
    assert all(a is b for a, b in zip(stored, leaves, strict=True))


@pytest.mark.parametrize("name", sorted(INSTANCES))
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_unflatten_stores_any_leaves_untouched(name: str, data: st.DataObject) -> None:
    tree = INSTANCES[name]
    count = jax.tree.structure(tree).num_leaves
    _assert_round_trip(tree, [data.draw(PLACEHOLDERS) for _ in range(count)])


@settings(max_examples=100, deadline=None)
@given(st.one_of(ANY_SPEC, NESTED), st.data())
def test_nested_schedules_store_any_leaves_untouched(spec: Any, data: st.DataObject) -> None:
    tree = build(spec)
    count = jax.tree.structure(tree).num_leaves
    _assert_round_trip(tree, [data.draw(PLACEHOLDERS) for _ in range(count)])


def test_leaves_are_stored_untouched_under_jit_vmap_and_grad() -> None:
    schedule = CATALOGUE["warmup_cosine_decay"]
    seen: list[Any] = []

    def keep(s: jaxsched.Schedule) -> jax.Array:
        seen.extend(jax.tree.leaves(s))
        return s(3.0)

    jax.jit(keep)(schedule)
    jax.grad(keep)(schedule)
    jax.vmap(keep)(jaxsched.stack([schedule, schedule]))
    assert all(isinstance(x, jax.core.Tracer) for x in seen)


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_tree_utilities_rebuild_every_schedule(name: str) -> None:
    schedule = CATALOGUE[name]
    nothing = jax.tree.map(lambda x: None, schedule)
    assert all(x is None for x in jax.tree.structure(schedule).flatten_up_to(nothing))
    zeros = optax.tree_utils.tree_zeros_like(schedule)
    assert all(float(x) == 0 for x in jax.tree.leaves(zeros))
    moved = jax.tree.map(lambda x: -x - 1.0, schedule)  # negative step counts included
    for new, old in zip(jax.tree.leaves(moved), jax.tree.leaves(schedule), strict=True):
        assert float(new) == -float(old) - 1.0
    shapes = jax.eval_shape(lambda s: s, schedule)
    assert all(isinstance(x, jax.ShapeDtypeStruct) for x in jax.tree.leaves(shapes))
    assert jax.jit(lambda s: s)(schedule) == jax.tree.map(jnp.asarray, schedule)


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_every_schedule_has_a_finite_gradient_with_respect_to_its_numbers(name: str) -> None:
    schedule = CATALOGUE[name]
    for step in (0.0, 1.0, 2.5, 7.0, 50.0):
        grads = jax.grad(lambda s, t=step: s(t))(schedule)
        assert type(grads) is type(schedule)
        assert all(np.isfinite(x) for x in jax.tree.leaves(grads)), (step, grads)


def test_plateau_and_its_state_pass_through_grad_and_tree_utilities() -> None:
    plateau = jaxsched.reduce_on_plateau(factor=0.5, patience=0)
    state = plateau.update(plateau.init(), 2.0)

    def value_after(p: jaxsched.ReduceOnPlateau) -> jax.Array:
        return p.value(p.update(p.update(p.init(), 2.0), 3.0))

    grads = jax.grad(value_after)(plateau)
    assert float(grads.factor) == 1.0  # one reduction: value = init_value * factor
    assert float(grads.init_value) == 0.5
    assert jax.tree.map(lambda x: None, plateau) is not None
    assert jax.tree.map(lambda x: None, state) is not None
    zeros = optax.tree_utils.tree_zeros_like(state)
    assert all(float(x) == 0 for x in jax.tree.leaves(zeros))


# ----------------------------------------------------------------------------- hypergradients


@jax.jit
def _gradient(schedule: jaxsched.Schedule, step: jax.Array) -> Any:
    return jax.grad(lambda s: s(step))(schedule)


@jax.jit
def _values(batch: jaxsched.Schedule, step: jax.Array) -> jax.Array:
    return jax.vmap(lambda s: s(step))(batch)


def _smooth_derivatives(schedule: jaxsched.Schedule, step: float) -> list[float | None]:
    """Central differences with respect to each leaf, or None where the value is not smooth
    there: the forward and backward differences disagree (a kink, a jump, a clamp)."""
    leaves, treedef = jax.tree.flatten(schedule)
    x = np.asarray(leaves, np.float64)
    # float64: h = 1e-7 leaves 1e-9 of rounding error, and 1e-6 of curvature error
    h = 1e-7 * np.maximum(1.0, np.abs(x))
    offsets = np.stack([h, np.zeros_like(h), -h])  # (3, n)
    batch = np.repeat(x[None, None], 3, 0).repeat(len(x), 1)  # (3, n, n): row (k, i) moves i
    batch[:, np.arange(len(x)), np.arange(len(x))] += offsets
    flat = batch.reshape(-1, len(x))
    values = np.asarray(_values(jax.tree.unflatten(treedef, list(flat.T)), step))
    up, at, down = values.reshape(3, len(x))
    forward, backward, central = (up - at) / h, (at - down) / h, (up - down) / (2 * h)
    smooth = np.isfinite(forward) & np.isfinite(backward)
    slope = np.maximum(np.abs(forward), np.abs(backward))
    smooth &= np.abs(forward - backward) <= 1e-4 * slope + 1e-6
    return [float(c) if ok else None for c, ok in zip(central, smooth, strict=True)]


@settings(max_examples=60, deadline=None)
@given(st.one_of(*FAMILIES.values()), st.data())
def test_gradient_matches_finite_differences_where_the_value_is_smooth(
    spec: reference.Spec, data: st.DataObject
) -> None:
    # clip(x, v, v) is flat in every number but JAX splits the derivative at the ties
    assume(not any(c[1]["min_value"] == c[1]["max_value"] is not None for c in _clips(spec)))
    steps = sorted(key_steps(spec))
    step = data.draw(st.sampled_from(steps) | st.floats(0, 3 * max(steps) + 5))
    step = max(step + data.draw(st.sampled_from([0.0, 0.37, -0.41])), 0.0)
    with enable_x64():
        schedule = build(spec)
        grads = jax.tree.leaves(_gradient(schedule, jnp.asarray(step)))
        assert all(np.isfinite(g) for g in grads), grads
        for i, derivative in enumerate(_smooth_derivatives(schedule, step)):
            if derivative is not None:
                np.testing.assert_allclose(
                    float(grads[i]), derivative, rtol=1e-4, atol=1e-5, err_msg=f"leaf {i}"
                )


def _clips(spec: reference.Spec) -> list[reference.Spec]:
    return ([spec] if spec[0] == "clip" else []) + [c for k in children(spec) for c in _clips(k)]


def test_hypergradient_of_a_training_loss_with_respect_to_the_peak_learning_rate() -> None:
    """d(loss after 20 SGD steps)/d(peak_value), against a central difference."""

    def loss_after_training(schedule: jaxsched.Schedule) -> jax.Array:
        w = jnp.asarray([2.0, -1.0])
        tx = optax.sgd(schedule)
        state = tx.init(w)
        for _ in range(20):
            updates, state = tx.update(w * jnp.asarray([1.0, 3.0]), state)
            w = optax.apply_updates(w, updates)
        return 0.5 * jnp.sum(jnp.asarray([1.0, 3.0]) * w**2)

    with enable_x64():
        schedule = jaxsched.warmup_cosine_decay(0.0, 0.1, warmup_steps=5, decay_steps=20)
        grad = jax.grad(loss_after_training)(schedule).peak_value

        def at(peak: float) -> float:
            return float(loss_after_training(jaxsched.warmup_cosine_decay(0.0, peak, 5, 20)))

        assert grad < 0  # a larger step size still helps here
        np.testing.assert_allclose(grad, (at(0.1 + 1e-6) - at(0.1 - 1e-6)) / 2e-6, rtol=1e-5)


# ----------------------------------------------------------------------------- other libraries


def test_schedules_pass_through_nnx_transforms_as_arguments() -> None:
    schedule = jaxsched.warmup_cosine_decay(0.0, 1.0, 10, 100)
    np.testing.assert_allclose(nnx.jit(lambda s: s(5.0))(schedule), schedule(5.0))
    batch = jaxsched.stack([jaxsched.cosine_decay(v, 10) for v in (0.1, 0.2, 0.4)])
    np.testing.assert_allclose(nnx.vmap(lambda s: s(5.0))(batch), [0.05, 0.1, 0.2], rtol=1e-6)
    grads = nnx.grad(lambda s: s(50.0))(schedule)
    assert float(grads.peak_value) == pytest.approx(float(schedule(50.0)), rel=1e-6)
    plateau = jaxsched.reduce_on_plateau(factor=0.5, patience=0)
    state = nnx.jit(lambda p, s, m: p.update(s, m))(plateau, plateau.init(), 1.0)
    assert float(state.best) == 1.0


def test_schedules_pass_through_equinox_partition_and_filter_transforms() -> None:
    schedule = jaxsched.one_cycle(0.1, 100)
    dynamic, static = eqx.partition(schedule, eqx.is_array)
    assert eqx.combine(dynamic, static) == schedule
    on_device = jax.tree.map(jnp.asarray, schedule)
    dynamic, static = eqx.partition(on_device, eqx.is_array)
    assert all(x is None for x in jax.tree.structure(schedule).flatten_up_to(static))
    np.testing.assert_allclose(eqx.filter_jit(lambda s: s(30))(on_device), schedule(30))
    grads = eqx.filter_grad(lambda s: s(10.0))(on_device)
    assert np.isfinite(float(grads.peak_value))


def test_schedule_and_plateau_round_trip_through_an_orbax_checkpoint(tmp_path) -> None:
    schedule = jaxsched.warmup(jaxsched.cosine_decay(1.0, 90), warmup_steps=10)
    plateau = jaxsched.reduce_on_plateau(factor=0.5, patience=2)
    tree = {"schedule": schedule, "plateau": plateau, "state": plateau.init()}
    checkpointer = ocp.StandardCheckpointer()
    checkpointer.save(tmp_path / "ckpt", tree)
    checkpointer.wait_until_finished()
    target = jax.tree.map(ocp.utils.to_shape_dtype_struct, tree)
    restored = checkpointer.restore(tmp_path / "ckpt", target)
    assert type(restored["schedule"]) is type(schedule)
    np.testing.assert_allclose(restored["schedule"](jnp.arange(100)), schedule(jnp.arange(100)))
    assert float(restored["plateau"].factor) == 0.5
    assert float(restored["state"].value) == 1.0
    plain = checkpointer.restore(tmp_path / "ckpt")  # no target: plain dicts
    assert float(plain["schedule"]["schedule"]["init_value"]) == 1.0
