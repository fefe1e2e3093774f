"""examples/mnist/core.py and models.py: the training core the trainer and the study share."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import jaxsched
from examples.mnist import core, cpu_tuning, models

BATCH = 32


@pytest.fixture(scope="module")
def batch() -> tuple[jax.Array, jax.Array, jax.Array]:
    rng = np.random.default_rng(0)
    images = jnp.asarray(rng.integers(0, 256, (2 * BATCH, 28, 28, 1), np.uint8))
    labels = jnp.asarray(rng.integers(0, 10, 2 * BATCH).astype(np.int32))
    return images, labels, jnp.arange(2 * BATCH, dtype=jnp.int32)


def _jit_init(fn):
    """`jax.jit(fn)` compiled as the trainer compiles a model's initialisation."""
    return jax.jit(fn, compiler_options=cpu_tuning.init_compiler_options(jax.default_backend()))


def _trained(the_core, hyperparams, batch, steps=3):
    """The state after `steps` jitted core updates from seed 0, and the metrics of each."""
    step = jax.jit(the_core.train_step)
    state = _jit_init(the_core.init)(core.seed_keys(0)[0], hyperparams)
    history = []
    for i in range(steps):
        state, metrics = step(state, hyperparams, *batch, (i % 2) * BATCH)
        history.append(metrics)
    return state, history


@pytest.mark.parametrize("name", ["cnn", "mlp", "linear"])
def test_models_map_a_batch_of_images_to_ten_logits(name):
    def logits():
        return models.create(name, nnx.Rngs(0))(jnp.zeros((3, 28, 28, 1)))

    assert nnx.eval_shape(logits).shape == (3, 10)


def test_cnn_has_the_flax_example_layers():
    model = nnx.eval_shape(lambda: models.create("cnn", nnx.Rngs(0)))
    kernels = [v.shape for v in jax.tree.leaves(nnx.state(model, nnx.Param)) if v.ndim > 1]
    assert kernels == [(3, 3, 1, 32), (3, 3, 32, 64), (3136, 256), (256, 10)]


def test_convolutions_as_matmuls_match_flax_conv():
    hyperparams = {"learning_rate": jaxsched.constant(0.1)}
    model_state = _jit_init(core.build("cnn", "sgd", hyperparams, batch_size=1).init_model)(
        jax.random.PRNGKey(0)
    )
    native, matmul = (
        nnx.merge(
            nnx.graphdef(
                nnx.eval_shape(lambda m=m: models.create("cnn", nnx.Rngs(0), matmul_convs=m))
            ),
            model_state,
        )
        for m in (False, True)
    )
    x = jax.random.uniform(jax.random.PRNGKey(1), (4, 28, 28, 1))

    @nnx.jit
    def logits_and_grads(model):
        def loss(model):
            logits = model(x)
            return jnp.sum(logits**2), logits

        return nnx.grad(loss, has_aux=True)(model)

    native_grads, native_logits = logits_and_grads(native)
    matmul_grads, matmul_logits = logits_and_grads(matmul)
    np.testing.assert_allclose(matmul_logits, native_logits, rtol=1e-4, atol=1e-5)
    jax.tree.map(
        functools.partial(np.testing.assert_allclose, rtol=1e-3, atol=1e-4),
        nnx.to_pure_dict(matmul_grads),
        nnx.to_pure_dict(native_grads),
    )
    with pytest.raises(ValueError, match="stride-1"):
        models.conv_as_matmul(x, jnp.ones((3, 3, 1, 2)), (2, 2), "SAME")


def test_train_step_matches_the_flax_nnx_idiom(batch):
    """The core's pure step (jaxsched.inject, state as arrays) against what the Flax example
    writes: nnx.Optimizer around optax.sgd given the schedule, updated under nnx.jit."""
    schedule = jaxsched.cosine_decay(0.1, 10)
    the_core = core.build(
        "mlp", "sgd", {"learning_rate": schedule, "momentum": 0.9}, batch_size=BATCH
    )
    state, history = _trained(the_core, {"learning_rate": schedule, "momentum": 0.9}, batch)

    model = nnx.merge(the_core.model_graphdef, _jit_init(the_core.init_model)(core.seed_keys(0)[0]))
    optimizer = nnx.Optimizer(model, optax.sgd(schedule, momentum=0.9), wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer, x, y):
        loss, grads = nnx.value_and_grad(lambda m: core.cross_entropy(m(x), y).mean())(model)
        optimizer.update(model, grads)
        return loss

    images, labels, _ = batch
    for i in range(3):
        window = slice((i % 2) * BATCH, (i % 2 + 1) * BATCH)
        loss = step(model, optimizer, core.as_float(images[window]), labels[window])
        np.testing.assert_allclose(history[i]["loss"], loss, rtol=1e-5)
        np.testing.assert_allclose(history[i]["lr"], schedule(i), rtol=1e-6)
    jax.tree.map(
        functools.partial(np.testing.assert_allclose, rtol=1e-5, atol=1e-7),
        state["model"],
        nnx.to_pure_dict(nnx.state(model)),
    )


def test_the_graph_holds_structure_so_numbers_are_arguments(batch):
    def hyperparams(peak):
        return {"learning_rate": jaxsched.one_cycle(peak, 20), "momentum": 0.9}

    first = core.build("linear", "sgd", hyperparams(0.1), batch_size=BATCH)
    second = core.build("linear", "sgd", hyperparams(0.5), batch_size=BATCH)
    assert first == second and hash(first) == hash(second)
    other = core.build("linear", "sgd", {"learning_rate": jaxsched.constant(0.1)}, batch_size=BATCH)
    assert other != first  # no momentum: another optimizer state
    # One compiled step, the schedule passed in: each call follows its own numbers.
    _, history = _trained(first, hyperparams(0.5), batch, steps=2)
    np.testing.assert_allclose(
        [m["lr"] for m in history], hyperparams(0.5)["learning_rate"](jnp.arange(2)), rtol=1e-6
    )


def test_nnx_jit_on_the_modules_computes_what_the_pure_step_does(batch):
    hyperparams = {"learning_rate": jaxsched.constant(0.05), "momentum": 0.9}
    the_core = core.build("mlp", "sgd", hyperparams, batch_size=BATCH)
    state, _ = _trained(the_core, hyperparams, batch, steps=2)
    model, optimizer = the_core.merge(_jit_init(the_core.init)(core.seed_keys(0)[0], hyperparams))
    update = nnx.jit(
        lambda model, optimizer, *data: the_core.update(model, optimizer, hyperparams, *data)
    )
    for i in range(2):
        update(model, optimizer, *batch, i * BATCH)
    assert optimizer.tx is None  # the transformation lives only inside an update
    jax.tree.map(
        functools.partial(np.testing.assert_allclose, rtol=1e-6),
        state,
        core.state_of(model, optimizer),
    )


def test_schedule_free_runs_are_evaluated_at_their_averaged_weights(batch):
    hyperparams = {"learning_rate": jaxsched.constant(0.5)}
    the_core = core.build("linear", "schedule_free_sgd", hyperparams, batch_size=BATCH)
    state, _ = _trained(the_core, hyperparams, batch, steps=4)
    images, labels, _ = batch
    loss_sum, _ = jax.jit(functools.partial(the_core.eval_step, size=2 * BATCH))(
        state, images, labels, 0
    )
    model, optimizer = the_core.merge(state)
    (schedule_free_state,) = [
        s
        for s in jax.tree.leaves(
            nnx.as_pure(optimizer.opt_state),
            is_leaf=lambda s: isinstance(s, optax.contrib.ScheduleFreeState),
        )
        if isinstance(s, optax.contrib.ScheduleFreeState)
    ]
    y = nnx.as_pure(nnx.state(model, nnx.Param))
    x = optax.contrib.schedule_free_eval_params(schedule_free_state, y)
    assert not np.allclose(x["linear"]["kernel"], y["linear"]["kernel"])
    nnx.update(model, x)
    expected = core.cross_entropy(model(core.as_float(images)), labels).sum()
    np.testing.assert_allclose(loss_sum, expected, rtol=1e-5)


def test_evaluation_leaves_out_the_padding():
    hyperparams = {"learning_rate": jaxsched.constant(0.1)}
    the_core = core.build("linear", "sgd", hyperparams, batch_size=BATCH)
    state = _jit_init(the_core.init)(jax.random.PRNGKey(0), hyperparams)
    images = jnp.zeros((8, 28, 28, 1), jnp.uint8)
    labels = jnp.asarray([0, 1, 2, -1, -1, -1, -1, -1], jnp.int32)
    step = functools.partial(the_core.eval_step, size=4)
    loss, accuracy = core.evaluate(step, state, images, labels, count=3, chunk=4)
    # Zero images give zero logits before training: each real example has loss log(10).
    np.testing.assert_allclose(loss, np.log(10.0), rtol=1e-6)
    assert 0.0 <= accuracy <= 1.0


def test_put_data_holds_the_validation_set_out_of_the_training_set():
    rng = np.random.default_rng(0)
    from examples.mnist import data

    dataset = data.Dataset(
        rng.integers(0, 256, (10, 28, 28, 1), np.uint8),
        np.arange(10, dtype=np.int32),
        rng.integers(0, 256, (5, 28, 28, 1), np.uint8),
        np.arange(5, dtype=np.int32),
    )
    device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    placed = core.put_data(
        dataset, device, eval_batch_size=4, train_examples=3, validation_examples=4
    )
    np.testing.assert_array_equal(placed.train_labels, [0, 1, 2])
    np.testing.assert_array_equal(placed.val_labels, [6, 7, 8, 9])
    np.testing.assert_array_equal(placed.test_labels, [0, 1, 2, 3, 4, -1, -1, -1])
    assert (placed.num_val, placed.num_test) == (4, 5)
    with pytest.raises(ValueError, match="leaves no training data"):
        core.put_data(dataset, device, eval_batch_size=4, validation_examples=10)
