"""jaxsched.inject, current_lr, current_hyperparams and set_scale against optax itself."""

from __future__ import annotations

import inspect
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from optax._src import alias

import jaxsched
from jaxsched._config import REGISTRY
from tests import reference

PARAMS = {"w": jnp.array([[0.5, -1.0], [2.0, 0.25]]), "b": jnp.array([0.1, -0.3])}


def loss(params):
    prediction = params["w"] @ jnp.array([1.0, 2.0]) + params["b"]
    return jnp.sum((prediction - 1.0) ** 2) + jnp.sum(params["w"] ** 4)


def run(tx, steps=3, params=PARAMS):
    """Params and optimizer state after `steps` eager gradient steps on `loss`."""
    state = tx.init(params)
    for _ in range(steps):
        value, grads = jax.value_and_grad(loss)(params)
        updates, state = tx.update(grads, state, params, value=value, grad=grads, value_fn=loss)
        params = optax.apply_updates(params, updates)
    return params, state


def assert_bitwise_equal(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def assert_close(a, b, rtol=1e-6, atol=0.0):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


def matrices_only(params):
    return jax.tree.map(lambda x: x.ndim > 1, params)


def test_inject_passes_a_mask_through_where_optax_turns_it_into_false() -> None:
    zero_grads = jax.tree.map(jnp.zeros_like, PARAMS)
    kwargs = dict(learning_rate=0.1, weight_decay=0.5, mask=matrices_only)
    reference, _ = optax.adamw(**kwargs).update(
        zero_grads, optax.adamw(**kwargs).init(PARAMS), PARAMS
    )

    plain = optax.inject_hyperparams(optax.adamw)(**kwargs)
    plain_updates, plain_state = plain.update(zero_grads, plain.init(PARAMS), PARAMS)
    assert plain_state.hyperparams["mask"] is False  # optax called mask(count)
    assert not np.any(np.asarray(plain_updates["w"]))  # so no weight decay at all

    ours = jaxsched.inject(optax.adamw, **kwargs)
    updates, state = ours.update(zero_grads, ours.init(PARAMS), PARAMS)
    assert "mask" not in state.hyperparams
    np.testing.assert_allclose(updates["w"], -0.1 * 0.5 * PARAMS["w"], rtol=1e-6)
    np.testing.assert_array_equal(updates["b"], np.zeros(2))
    assert_bitwise_equal(updates, reference)


def test_momentum_and_b1_schedules_match_optax_inject_hyperparams() -> None:
    lr = jaxsched.one_cycle(0.1, total_steps=6)
    momentum = jaxsched.one_cycle_momentum(total_steps=6)
    ours, ours_state = run(jaxsched.inject(optax.sgd, learning_rate=lr, momentum=momentum), 5)
    theirs, _ = run(optax.inject_hyperparams(optax.sgd)(learning_rate=lr, momentum=momentum), 5)
    assert_bitwise_equal(ours, theirs)
    np.testing.assert_allclose(
        jaxsched.current_hyperparams(ours_state)["momentum"], momentum(4), rtol=1e-6
    )

    b1 = jaxsched.linear(0.5, 0.9, 4)
    weight_decay = jaxsched.exponential_decay(1e-2, 0.5)
    tx = jaxsched.inject(optax.adamw, learning_rate=0.01, b1=b1, weight_decay=weight_decay)
    ours, state = run(tx, 4)
    theirs, _ = run(
        optax.inject_hyperparams(optax.adamw)(learning_rate=0.01, b1=b1, weight_decay=weight_decay),
        4,
    )
    assert_close(ours, theirs, rtol=1e-6)
    hyperparams = jaxsched.current_hyperparams(state)
    np.testing.assert_allclose(hyperparams["b1"], b1(3), rtol=1e-6)
    np.testing.assert_allclose(hyperparams["weight_decay"], weight_decay(3), rtol=1e-6)


def test_current_lr_last_is_the_previous_step_and_next_is_this_step() -> None:
    schedule = jaxsched.exponential_decay(1.0, decay_rate=0.5)
    tx = jaxsched.inject(optax.sgd, learning_rate=schedule)
    state = tx.init(PARAMS)
    assert float(jaxsched.current_lr(state)) == float(jaxsched.current_lr(state, "next")) == 1.0
    for n in range(1, 5):
        _, state = tx.update(jax.grad(loss)(PARAMS), state, PARAMS)
        assert float(jaxsched.current_lr(state)) == float(schedule(n - 1))
        assert float(jaxsched.current_lr(state, which="next")) == float(schedule(n))
    with pytest.raises(ValueError, match="which"):
        jaxsched.current_lr(state, which="now")


@pytest.mark.parametrize(
    "build",
    [
        lambda s: jaxsched.inject(optax.sgd, learning_rate=s),
        lambda s: optax.inject_hyperparams(optax.sgd)(learning_rate=s),
        optax.sgd,
    ],
    ids=["jaxsched.inject", "optax.inject_hyperparams", "optax.sgd"],
)
def test_an_optimizer_rebuilt_with_another_schedule_uses_it_at_once(build) -> None:
    # How a WSD cooldown branches off a stable run: same state, new schedule.
    params, grads = jnp.zeros(1), jnp.ones(1)
    stable = build(jaxsched.constant(1.0))
    _, state = stable.update(grads, stable.init(params), params)
    cooldown = build(jaxsched.linear(2.0, 0.0, transition_steps=4))
    updates, state = jax.jit(cooldown.update)(grads, state, params)
    np.testing.assert_array_equal(updates, [-1.5])  # linear(...)(1): the count carried on
    updates, state = cooldown.update(grads, state, params)
    np.testing.assert_array_equal(updates, [-1.0])
    if build is not optax.sgd:
        assert float(jaxsched.current_lr(state)) == 1.0


def test_current_lr_next_is_computed_by_the_optimizer_that_wrote_the_state() -> None:
    schedule = jaxsched.cosine_decay(1.0, 10)
    tx = jaxsched.inject(optax.sgd, learning_rate=schedule)
    params, state = PARAMS, tx.init(PARAMS)
    for n in range(1, 5):
        updates, state = tx.update(jax.grad(loss)(params), state, params)
        params = optax.apply_updates(params, updates)
        assert float(jaxsched.current_lr(state, "next")) == float(schedule(n))
        assert float(jaxsched.current_lr(state)) == float(schedule(n - 1))
    swapped = jaxsched.inject(optax.sgd, learning_rate=jaxsched.constant(0.5))
    _, state = swapped.update(jax.grad(loss)(params), state, params)
    assert float(jaxsched.current_lr(state)) == 0.5
    assert float(jaxsched.current_lr(state, "next")) == 0.5


def test_current_lr_next_refuses_a_schedule_that_optax_injected() -> None:
    tx = optax.inject_hyperparams(optax.sgd)(learning_rate=optax.linear_schedule(1.0, 0.0, 4))
    state = tx.init(PARAMS)
    assert float(jaxsched.current_lr(state)) == 1.0
    with pytest.raises(ValueError, match=r"jaxsched\.inject"):
        jaxsched.current_lr(state, "next")


def test_current_lr_finds_the_state_in_chains_and_multi_transform() -> None:
    chained = optax.chain(
        optax.clip_by_global_norm(1.0), jaxsched.inject(optax.adam, learning_rate=0.3)
    )
    _, state = run(chained, 1)
    assert float(jaxsched.current_lr(state)) == pytest.approx(0.3)

    labels = {"w": "body", "b": "head"}
    multi = optax.multi_transform(
        {
            "body": jaxsched.inject(optax.sgd, learning_rate=jaxsched.constant(0.1)),
            "head": jaxsched.inject(optax.sgd, learning_rate=jaxsched.constant(0.01)),
        },
        labels,
    )
    _, state = run(multi, 1)
    with pytest.raises(ValueError, match=r"\['body', 'head'\]"):
        jaxsched.current_lr(state)
    assert float(jaxsched.current_lr(state, group="head")) == pytest.approx(0.01)
    assert float(jaxsched.current_lr(state, group="body")) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="group='tail'"):
        jaxsched.current_lr(state, group="tail")
    with pytest.raises(ValueError, match="no injected"):
        jaxsched.current_lr(optax.adam(0.1).init(PARAMS))
    state = optax.scale(2.0).init(PARAMS)
    with pytest.raises(ValueError, match="no injected"):
        jaxsched.current_hyperparams(state)


def test_current_lr_works_inside_jit() -> None:
    tx = jaxsched.inject(optax.sgd, learning_rate=jaxsched.linear(1.0, 0.0, 4))
    state = tx.init(PARAMS)

    @jax.jit
    def step(params, state):
        updates, state = tx.update(jax.grad(loss)(params), state, params)
        return optax.apply_updates(params, updates), state, jaxsched.current_lr(state)

    params = PARAMS
    for n in range(3):
        params, state, lr = step(params, state)
        assert float(lr) == pytest.approx(1.0 - n / 4)


def test_bfloat16_params_keep_b2_in_float32_where_optax_rounds_it_to_one() -> None:
    params = jax.tree.map(lambda x: x.astype(jnp.bfloat16), PARAMS)
    grads = jax.tree.map(lambda x: (0.1 * x).astype(jnp.bfloat16), PARAMS)

    plain = optax.inject_hyperparams(optax.adam)(learning_rate=0.1, b2=0.999)
    plain_state = plain.init(params)
    assert float(plain_state.hyperparams["b2"]) == 1.0  # optax#1414
    plain_updates, _ = plain.update(grads, plain_state, params)
    assert not np.all(np.isfinite(np.asarray(plain_updates["w"], np.float32)))

    tx = jaxsched.inject(optax.adam, learning_rate=0.1, b2=0.999)
    state = tx.init(params)
    for name, value in {"b1": 0.9, "b2": 0.999, "eps": 1e-8, "learning_rate": 0.1}.items():
        assert state.hyperparams[name].dtype == jnp.float32
        assert float(state.hyperparams[name]) == np.float32(value)
    updates, new_state = tx.update(grads, state, params)
    # Adam's first step is lr * sign(g) when eps is negligible.
    np.testing.assert_allclose(
        np.asarray(updates["w"], np.float32), -0.1 * np.sign(PARAMS["w"]), rtol=1e-2
    )
    # The inner state keeps its bfloat16 dtypes, so the state type is stable (lax.scan).
    assert jax.tree.map(lambda x: x.dtype, new_state) == jax.tree.map(lambda x: x.dtype, state)

    def body(carry, _):
        params, state = carry
        updates, state = tx.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), None

    (final, _), _ = jax.lax.scan(body, (params, state), length=3)
    assert all(np.all(np.isfinite(np.asarray(x, np.float32))) for x in jax.tree.leaves(final))


def test_a_number_written_into_the_state_keeps_its_dtype_and_is_used() -> None:
    params = jax.tree.map(lambda x: x.astype(jnp.bfloat16), PARAMS)
    tx = jaxsched.inject(optax.adam, learning_rate=0.1)
    state = tx.init(params)
    state.hyperparams["b2"] = 0.9995  # optax's documented way to change a number
    _, state = tx.update(jax.tree.map(jnp.ones_like, params), state, params)
    assert state.hyperparams["b2"].dtype == jnp.float32
    assert float(state.hyperparams["b2"]) == np.float32(0.9995)


def test_explicit_hyperparam_dtype_casts_every_float() -> None:
    tx = jaxsched.inject(
        optax.sgd, learning_rate=jaxsched.constant(0.5), momentum=0.9, hyperparam_dtype=jnp.bfloat16
    )
    state = tx.init(PARAMS)
    assert state.hyperparams["learning_rate"].dtype == jnp.bfloat16
    assert state.hyperparams["momentum"].dtype == jnp.bfloat16


def test_per_group_learning_rates_through_multi_transform() -> None:
    body_lr = jaxsched.cosine_decay(0.1, 10)
    head_lr = jaxsched.scale(body_lr, 0.1)
    labels = {"w": "body", "b": "head"}
    tx = optax.multi_transform(
        {
            "body": jaxsched.inject(optax.sgd, learning_rate=body_lr),
            "head": jaxsched.inject(optax.sgd, learning_rate=head_lr),
        },
        labels,
    )
    state = tx.init(PARAMS)
    params = PARAMS
    for n in range(3):
        grads = jax.grad(loss)(params)
        updates, state = tx.update(grads, state, params)
        np.testing.assert_allclose(updates["w"], -body_lr(n) * grads["w"], rtol=1e-6)
        np.testing.assert_allclose(updates["b"], -head_lr(n) * grads["b"], rtol=1e-6)
        params = optax.apply_updates(params, updates)
    assert float(jaxsched.current_lr(state, group="head")) == pytest.approx(float(head_lr(2)))


def test_plain_callables_are_scheduled_only_when_opted_in() -> None:
    optax_schedule = optax.linear_schedule(1.0, 0.0, 4)
    _, state = run(jaxsched.inject(optax.sgd, learning_rate=optax_schedule), 2)
    assert "learning_rate" not in jaxsched.current_hyperparams(state)  # passed through
    _, state = run(
        jaxsched.inject(optax.sgd, learning_rate=optax_schedule, scheduled="learning_rate"), 2
    )
    assert float(jaxsched.current_lr(state)) == pytest.approx(0.75)
    assert float(jaxsched.current_lr(state, "next")) == pytest.approx(0.5)


def test_inject_rejects_an_unknown_hyperparameter() -> None:
    with pytest.raises(ValueError, match="momentom"):
        jaxsched.inject(optax.sgd, learning_rate=0.1, momentom=0.9)
    with pytest.raises(ValueError, match="bad arguments"):
        jaxsched.inject(optax.sgd)  # learning_rate is required


NOT_FINITE_REALS = {
    "True": True,
    "numpy bool": np.bool_(True),
    "string": "0.1",
    "bytes": b"0.1",
    "complex": 0.1j,
    "numpy complex": np.complex64(1.0),
    "jax complex": jnp.asarray(1j),
    "inf": math.inf,
    "-inf": -math.inf,
    "nan": math.nan,
    "jax inf": jnp.float32(math.inf),
    "int beyond float64": 10**400,
}
NUMBER_LIKE = ("complex", "numpy complex", "jax complex", "inf", "-inf", "nan", "jax inf")


HYPERPARAMS = {  # the first four take a number; momentum's default is None
    "sgd.learning_rate": (optax.sgd, "learning_rate"),
    "adamw.learning_rate": (optax.adamw, "learning_rate"),
    "adam.b1": (optax.adam, "b1"),
    "adamw.weight_decay": (optax.adamw, "weight_decay"),
    "sgd.momentum": (optax.sgd, "momentum"),
}
BAD_HYPERPARAMS = [
    (hyperparam, bad)
    for hyperparam in HYPERPARAMS
    for bad in NOT_FINITE_REALS
    if hyperparam != "sgd.momentum" or bad in NUMBER_LIKE  # elsewhere any object may pass
]


@pytest.mark.parametrize(("hyperparam", "bad"), BAD_HYPERPARAMS, ids=map("-".join, BAD_HYPERPARAMS))
def test_inject_refuses_a_number_that_is_not_finite_and_real_naming_it(hyperparam, bad) -> None:
    factory, name = HYPERPARAMS[hyperparam]
    hyperparams = {"learning_rate": 0.1, name: NOT_FINITE_REALS[bad]}
    with pytest.raises(ValueError, match=rf"^{name} must be a finite real number"):
        jaxsched.inject(factory, **hyperparams)


def test_inject_accepts_every_kind_of_real_number_and_leaves_other_arguments_alone() -> None:
    for rate in (1, 0.1, np.float32(0.1), np.int64(1), jnp.asarray(0.1), jnp.bfloat16(0.1)):
        state = jaxsched.inject(optax.sgd, learning_rate=rate).init(PARAMS)
        assert float(jaxsched.current_lr(state)) == pytest.approx(float(rate), rel=1e-2)
    tx = jaxsched.inject(optax.sgd, learning_rate=0.1, momentum=0.9, nesterov=True)
    run(tx, steps=1)
    jaxsched.inject(optax.adafactor).init(PARAMS)  # learning_rate=None: adafactor's default
    traced = jax.jit(lambda rate: jaxsched.inject(optax.sgd, learning_rate=rate).init(PARAMS))
    assert float(jaxsched.current_lr(traced(jnp.float32(0.5)))) == 0.5


@pytest.mark.parametrize(
    "built",
    [optax.adamw(1e-3), optax.sgd(0.1), optax.chain(optax.scale(-1.0)), optax.scale_by_adam()],
    ids=["adamw", "sgd", "chain", "scale_by_adam"],
)
def test_an_optimizer_instead_of_its_factory_is_refused_with_the_fix(built) -> None:
    with pytest.raises(ValueError, match=r"pass `optax.adamw`, not `optax.adamw\(...\)`"):
        jaxsched.inject(built, learning_rate=jaxsched.constant(0.1))
    with pytest.raises(ValueError, match=r"^optimizer must be .* not `optax.adamw\(...\)`"):
        jaxsched.lr_find(lambda p, b: jnp.sum(p**2), jnp.ones(2), built, [0])


@pytest.mark.parametrize("factory", ["adamw", None, 0.1], ids=["string", "None", "number"])
def test_inject_refuses_a_factory_that_is_not_a_function(factory) -> None:
    with pytest.raises(ValueError, match="optimizer_factory must be a function returning"):
        jaxsched.inject(factory, learning_rate=0.1)


@pytest.mark.parametrize(
    "bad", [*NOT_FINITE_REALS, "None", "list"], ids=[*NOT_FINITE_REALS, "None", "list"]
)
def test_set_scale_refuses_a_scale_that_is_not_finite_and_real_naming_it(bad: str) -> None:
    state = jaxsched.inject(optax.sgd, learning_rate=jaxsched.constant(0.1)).init(PARAMS)
    scale = {**NOT_FINITE_REALS, "None": None, "list": [0.5]}[bad]
    with pytest.raises(ValueError, match=r"^learning_rate must be a finite real number"):
        jaxsched.set_scale(state, learning_rate=scale)


def test_set_scale_accepts_real_numbers_traced_or_not() -> None:
    state = jaxsched.inject(optax.sgd, learning_rate=jaxsched.constant(0.1)).init(PARAMS)
    for scale in (0, 2, 0.5, np.float32(0.5), np.int64(2), jnp.asarray(0.5)):
        scaled = jaxsched.set_scale(state, learning_rate=scale)
        assert float(jaxsched.current_lr(scaled, "next")) == pytest.approx(0.1 * float(scale))
    traced = jax.jit(lambda s: jaxsched.set_scale(state, learning_rate=s))(jnp.float32(3.0))
    assert float(jaxsched.current_lr(traced, "next")) == pytest.approx(0.3)


def test_a_new_schedule_of_the_same_kind_does_not_recompile() -> None:
    traces = []

    @jax.jit
    def step(schedule, params, state):
        traces.append(None)
        tx = jaxsched.inject(optax.adam, learning_rate=schedule)
        updates, state = tx.update(jax.grad(loss)(params), state, params)
        return optax.apply_updates(params, updates), state

    for peak in (0.1, 0.05, 0.3):
        schedule = jaxsched.warmup_cosine_decay(0.0, peak, 2, 10)
        state = jaxsched.inject(optax.adam, learning_rate=schedule).init(PARAMS)
        params = PARAMS
        for _ in range(3):
            params, state = step(schedule, params, state)
        assert float(jaxsched.current_lr(state)) == pytest.approx(float(schedule(2)))
    assert len(traces) == 1


def test_set_scale_multiplies_the_schedule_without_recompiling() -> None:
    schedule = jaxsched.linear(1.0, 0.5, 10)
    tx = jaxsched.inject(optax.sgd, learning_rate=schedule)
    traces = []

    @jax.jit
    def step(params, state):
        traces.append(None)
        updates, state = tx.update(jax.grad(loss)(params), state, params)
        return optax.apply_updates(params, updates), state

    params, state = PARAMS, tx.init(PARAMS)
    params, state = step(params, state)
    state = jaxsched.set_scale(state, learning_rate=0.25)
    assert float(jaxsched.current_lr(state, "next")) == pytest.approx(0.25 * float(schedule(1)))
    params, state = step(params, state)
    assert float(jaxsched.current_lr(state)) == pytest.approx(0.25 * float(schedule(1)))
    state = jaxsched.set_scale(state, learning_rate=jnp.float32(0.5))  # replaces, not compounds
    params, state = step(params, state)
    assert float(jaxsched.current_lr(state)) == pytest.approx(0.5 * float(schedule(2)))
    assert len(traces) == 1

    with pytest.raises(ValueError, match="momentum"):
        jaxsched.set_scale(state, momentum=0.5)
    fixed = jaxsched.inject(optax.sgd, learning_rate=0.1)
    with pytest.raises(ValueError, match="constant"):
        jaxsched.set_scale(fixed.init(PARAMS), learning_rate=0.5)


# One instance of every schedule in the catalogue, all positive over the first steps.
CATALOGUE = {
    "by_fraction": jaxsched.by_fraction(
        10, (0.5, 0.5), (jaxsched.constant(0.1), jaxsched.linear(0.1, 0.01, 5))
    ),
    "clip": jaxsched.clip(jaxsched.exponential_decay(0.1, 2.0), max_value=0.2),
    "constant": jaxsched.constant(0.05),
    "cosine_decay": jaxsched.cosine_decay(0.1, 10),
    "cosine_restarts": jaxsched.cosine_restarts(0.1, 3, t_mul=2.0, end_value=0.001),
    "cyclic": jaxsched.cyclic(0.01, 0.1, 2),
    "exponential_decay": jaxsched.exponential_decay(0.1, 0.5, 2),
    "inverse_sqrt": jaxsched.inverse_sqrt(0.1, 2),
    "inverse_time_decay": jaxsched.inverse_time_decay(0.1, 0.5, 2),
    "join": jaxsched.join((jaxsched.constant(0.1), jaxsched.constant(0.01)), (2,)),
    "linear": jaxsched.linear(0.1, 0.01, 5),
    "multistep_decay": jaxsched.multistep_decay(0.1, (1, 3)),
    "one_cycle": jaxsched.one_cycle(0.1, 10),
    "one_cycle_momentum": jaxsched.one_cycle_momentum(10),
    "piecewise_constant": jaxsched.piecewise_constant((2,), (0.1, 0.02)),
    "polynomial_decay": jaxsched.polynomial_decay(0.1, 0.01, 5, power=2.0),
    "product": jaxsched.product(jaxsched.constant(0.5), jaxsched.cosine_decay(0.1, 10)),
    "scale": jaxsched.scale(jaxsched.cosine_decay(1.0, 10), 0.1),
    "step_decay": jaxsched.step_decay(0.1, 2),
    "tanh_decay": jaxsched.tanh_decay(0.1, 0.01, 10),
    "warmup": jaxsched.warmup(jaxsched.constant(0.1), 2),
    "warmup_cosine_decay": jaxsched.warmup_cosine_decay(0.0, 0.1, 2, 10),
    "warmup_stable_decay": jaxsched.warmup_stable_decay(0.1, 10, 2, 3),
    "cooldown": jaxsched.cooldown(jaxsched.cosine_decay(0.1, 20), 4, 4),
    "swa": jaxsched.swa(0.1, 0.02, 3),
    "noise": jaxsched.noise(jaxsched.constant(0.1), 1, 5, noise_pct=0.2),
    "warmup_constant": jaxsched.warmup_constant(0.0, 0.1, 3),
    "warmup_exponential_decay": jaxsched.warmup_exponential_decay(0.0, 0.1, 2, 2, 0.5),
    "linear_onecycle": jaxsched.linear_onecycle(10, 0.1),
    "cosine_onecycle": jaxsched.cosine_onecycle(10, 0.1),
    "piecewise_interpolate": jaxsched.piecewise_interpolate(0.1, {2: 0.5, 5: 0.1}),
    "piecewise_constant_scales": jaxsched.piecewise_constant_scales(0.1, {2: 0.5, 5: 0.1}),
    "constant_factor": jaxsched.constant_factor(0.1, 0.5, 2),
    "lambda_schedule": jaxsched.lambda_schedule(
        reference.inverse_power, 0.1, params={"rate": 0.5, "power": 1.0}
    ),
    "multiplicative": jaxsched.multiplicative(
        reference.shrinking_factor, 8, 0.1, params={"rate": 0.5}
    ),
    "warmup_stable_decay_cycles": jaxsched.warmup_stable_decay_cycles(
        0.1, (5, 10), 1, decay_steps=2, rewarmup_steps=1, end_value=0.01
    ),
    "polynomial_ramp": jaxsched.polynomial_ramp(0.01, 0.1, 5, power=2.0),
    "alternate": jaxsched.alternate(
        (jaxsched.cosine_decay(0.1, 10), jaxsched.constant(0.05)), steps=(3, 1)
    ),
    "advance": jaxsched.advance(jaxsched.cosine_decay(0.1, 10), steps=1, min_step=2),
    "history": jaxsched.history(
        (jaxsched.cosine_decay(0.1, 10), jaxsched.cosine_decay(0.125, 10)), boundaries=(4,)
    ),
}


def test_the_catalogue_example_covers_every_registered_schedule() -> None:
    assert set(CATALOGUE) == set(REGISTRY)
    assert all(type(s) is REGISTRY[name] for name, s in CATALOGUE.items())


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_every_schedule_is_a_learning_rate_for_optax_and_inject(name: str) -> None:
    schedule = CATALOGUE[name]
    # Each optax update uses schedule(count) with the count before the increment.
    params = PARAMS
    for n in range(3):
        grads = jax.grad(loss)(params)
        params = jax.tree.map(lambda p, g, n=n: p - schedule(n) * g, params, grads)
    direct, _ = run(optax.sgd(schedule))
    injected, state = run(jaxsched.inject(optax.sgd, learning_rate=schedule))
    assert_close(direct, params, rtol=1e-6)
    assert_bitwise_equal(injected, direct)
    assert float(jaxsched.current_lr(state)) == float(schedule(2))


ALIASES = sorted(
    name
    for name, f in vars(alias).items()
    if inspect.isfunction(f)
    and f.__module__ == alias.__name__
    and "learning_rate" in inspect.signature(f).parameters
)
# optax itself takes only a number as the learning rate of these.
NO_SCHEDULES = {"optimistic_adam", "rprop", "sm3"}
# fromage computes its multiplier in float32 from a schedule but in float64 from a float.
ROUNDED_DIFFERENTLY = {"fromage"}


@pytest.mark.filterwarnings("ignore:Specifying a key:UserWarning")
@pytest.mark.filterwarnings("ignore:`optimistic_adam` is deprecated:DeprecationWarning")
@pytest.mark.parametrize("name", ALIASES)
def test_constant_is_bit_identical_to_a_float_learning_rate(name: str) -> None:
    factory = getattr(alias, name)
    from_float, _ = run(factory(learning_rate=0.05), steps=2)
    if name in NO_SCHEDULES:
        with pytest.raises((ValueError, TypeError)):
            run(factory(learning_rate=jaxsched.constant(0.05)), steps=1)
    else:
        from_constant, _ = run(factory(learning_rate=jaxsched.constant(0.05)), steps=2)
        if name in ROUNDED_DIFFERENTLY:
            assert_close(from_constant, from_float, rtol=1e-6)
            # any schedule returning a float32 array rounds the same way as ours
            from_array, _ = run(factory(learning_rate=lambda count: jnp.float32(0.05)), 2)
            assert_bitwise_equal(from_constant, from_array)
        else:
            assert_bitwise_equal(from_constant, from_float)
    # Through inject, every alias takes a schedule, and a constant one is the float. The other
    # hyperparameters become float32 arrays there, so `1 - b1` rounds differently from optax's
    # Python arithmetic: close to the plain alias, not bitwise.
    injected_float, _ = run(jaxsched.inject(factory, learning_rate=0.05), steps=2)
    injected_constant, state = run(
        jaxsched.inject(factory, learning_rate=jaxsched.constant(0.05)), steps=2
    )
    assert_bitwise_equal(injected_constant, injected_float)
    assert_close(injected_float, from_float, rtol=1e-4, atol=1e-6)
    assert float(jaxsched.current_lr(state)) == np.float32(0.05)


def test_the_alias_list_is_the_whole_of_optax() -> None:
    assert {"adam", "adamw", "sgd", "lion", "lbfgs", "adafactor", "fromage"} <= set(ALIASES)
    assert set(NO_SCHEDULES | ROUNDED_DIFFERENTLY) <= set(ALIASES)
