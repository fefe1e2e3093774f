"""The per-run training core, written once: the trainer jits it, the study vmaps it.

A run's *state* is the arrays of its NNX model and `nnx.Optimizer` as a plain nested dict
(`nnx.to_pure_dict`), split off a graph definition. `Core.train_step` and `Core.eval_step`
rebuild the modules with `nnx.merge` inside the trace: pure functions, cheap per call (unlike
`nnx.jit`, BUILD_NOTES.md). The graph definition holds no optax transformation (`tx` is None at
rest); each update builds it from the `hyperparams` argument, so a schedule's numbers are
arguments of the compiled program, not constants: vmapped runs each follow their own schedule.
The data lives on the device (`DeviceData`); labels below 0 mark evaluation padding.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax import lax

import jaxsched
from examples.mnist import data, models

OPTIMIZERS: dict[str, Callable[..., optax.GradientTransformation]] = {
    "sgd": optax.sgd,
    "adam": optax.adam,
    "adamw": optax.adamw,
    "adagrad": optax.adagrad,
    "rmsprop": optax.rmsprop,
    "schedule_free_sgd": optax.contrib.schedule_free_sgd,
    "schedule_free_adamw": optax.contrib.schedule_free_adamw,
}


def make_optimizer(name: str, hyperparams: dict[str, Any]) -> optax.GradientTransformation:
    """`jaxsched.inject(OPTIMIZERS[name], **hyperparams)`: schedules among the hyperparameters
    are scheduled, numbers stay numbers, and both live in the optimizer state."""
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {name!r}")
    return jaxsched.inject(OPTIMIZERS[name], **hyperparams)


@functools.cache
def jit(function: Callable[..., Any], static: tuple[int, ...], options: Any, **kwargs: Any) -> Any:
    """`jax.jit(function)`, the arguments `static` (a `Core`, a size) static, the compiler
    `options` as (name, value) pairs: one wrapper per (function, options, shardings), so that
    jit's own caches serve every run and group of an equal core in this process (a study's
    runs, a test's) instead of compiling it again."""
    return jax.jit(function, static_argnums=static, compiler_options=dict(options), **kwargs)


def seed_keys(seed: int) -> tuple[jax.Array, jax.Array]:
    """The initialisation and data-order keys of a run: from the seed alone, so a run gets the
    same parameters and batches whatever else it is trained with."""
    init_key, data_key = jax.random.split(jax.random.PRNGKey(seed))
    return init_key, data_key


def permutation(data_key: jax.Array, epoch: Any, count: int) -> jax.Array:
    """The order in which an epoch visits the `count` training examples."""
    return jax.random.permutation(jax.random.fold_in(data_key, epoch), count)


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels)


def loss_fn(model: nnx.Module, images: jax.Array, labels: jax.Array) -> tuple[Any, jax.Array]:
    """Mean cross-entropy of `model` on a batch of float images, and the logits."""
    logits = model(images)
    return cross_entropy(logits, labels).mean(), logits


def as_float(images: jax.Array) -> jax.Array:
    """uint8 pixels to float32 in [0, 1]."""
    return images.astype(jnp.float32) / 255.0


def use_evaluation_params(model: nnx.Module, optimizer: nnx.Optimizer) -> None:
    """Puts into `model` the parameters to evaluate, when they are not the trained ones: a
    schedule-free optimizer (https://arxiv.org/abs/2405.15682) trains at y and evaluates at the
    average x, which `optax.contrib.schedule_free_eval_params` recovers from y and z."""
    states = [
        leaf
        for leaf in jax.tree.leaves(
            nnx.as_pure(optimizer.opt_state),
            is_leaf=lambda x: isinstance(x, optax.contrib.ScheduleFreeState),
        )
        if isinstance(leaf, optax.contrib.ScheduleFreeState)
    ]
    if states:
        (state,) = states
        params = nnx.as_pure(nnx.state(model, nnx.Param))
        nnx.update(model, optax.contrib.schedule_free_eval_params(state, params))


def init_model(model: str, key: jax.Array, matmul_convs: bool = False) -> dict[str, Any]:
    """The initial state of `model` from `key` (pure). It depends on the model alone, so the
    study compiles it once for every group."""
    created = models.create(model, nnx.Rngs(params=key), matmul_convs=matmul_convs)
    return nnx.to_pure_dict(nnx.state(created))


def state_of(model: nnx.Module, optimizer: nnx.Optimizer) -> dict[str, Any]:
    """The arrays of a model and its optimizer, as nested dicts of arrays."""
    return nnx.to_pure_dict(nnx.state({"model": model, "optimizer": optimizer}))


@dataclasses.dataclass(frozen=True)
class Core:
    """One run's training computations; make it with `build`. `graphdef` (model and optimizer)
    is equal for every run of the same model, optimizer and hyperparameter structure;
    `batch_sharding` lays a batch out over devices (None: left to XLA)."""

    model: str
    optimizer: str
    graphdef: Any
    model_graphdef: Any
    batch_size: int
    matmul_convs: bool = False
    batch_sharding: jax.sharding.Sharding | None = None

    def create(self, key: jax.Array, hyperparams: dict[str, Any]) -> tuple[Any, Any]:
        """The run's model, initialised from `key`, and its `nnx.Optimizer` (`tx` left out)."""
        model = models.create(self.model, nnx.Rngs(params=key), matmul_convs=self.matmul_convs)
        return model, self._optimizer(model, hyperparams)

    def _optimizer(self, model: nnx.Module, hyperparams: dict[str, Any]) -> nnx.Optimizer:
        optimizer = nnx.Optimizer(model, make_optimizer(self.optimizer, hyperparams), wrt=nnx.Param)
        optimizer.tx = None
        return optimizer

    def merge(self, state: dict[str, Any]) -> tuple[Any, Any]:
        """The model and optimizer of a state."""
        modules = nnx.merge(self.graphdef, state)
        return modules["model"], modules["optimizer"]

    def init_model(self, key: jax.Array) -> dict[str, Any]:
        """The initial state of a run's model (pure; `init_model`)."""
        return init_model(self.model, key, self.matmul_convs)

    def add_optimizer(
        self, model_state: dict[str, Any], hyperparams: dict[str, Any]
    ) -> dict[str, Any]:
        """A new run's state: the model's and a fresh optimizer's (pure)."""
        model = nnx.merge(self.model_graphdef, model_state)
        return state_of(model, self._optimizer(model, hyperparams))

    def init(self, key: jax.Array, hyperparams: dict[str, Any]) -> dict[str, Any]:
        """A new run's state, the model initialised from `key` (pure)."""
        return self.add_optimizer(self.init_model(key), hyperparams)

    def update(
        self,
        model: Any,
        optimizer: Any,
        hyperparams: dict[str, Any],
        images: jax.Array,
        labels: jax.Array,
        order: jax.Array,
        offset: Any,
    ) -> dict[str, jax.Array]:
        """One update, in place, on the batch at `order[offset:offset + batch_size]`; returns
        the batch's loss and accuracy before the update and the learning rate it used."""
        index = lax.dynamic_slice_in_dim(order, offset, self.batch_size)
        x = as_float(self._constrain(images[index]))
        y = self._constrain(labels[index])
        optimizer.tx = make_optimizer(self.optimizer, hyperparams)
        (loss, logits), grads = nnx.value_and_grad(loss_fn, has_aux=True)(model, x, y)
        optimizer.update(model, grads)
        optimizer.tx = None
        return {
            "loss": loss,
            "accuracy": jnp.mean(jnp.argmax(logits, -1) == y),
            "lr": jaxsched.current_lr(optimizer),
        }

    def _constrain(self, array: jax.Array) -> jax.Array:
        if self.batch_sharding is None:
            return array
        return lax.with_sharding_constraint(array, self.batch_sharding)

    def train_step(
        self,
        state: dict[str, Any],
        hyperparams: dict[str, Any],
        images: jax.Array,
        labels: jax.Array,
        order: jax.Array,
        offset: Any,
    ) -> tuple[dict[str, Any], dict[str, jax.Array]]:
        """`update` as a pure function of the run's state: the new state and the metrics."""
        model, optimizer = self.merge(state)
        metrics = self.update(model, optimizer, hyperparams, images, labels, order, offset)
        return state_of(model, optimizer), metrics

    def eval_step(
        self, state: dict[str, Any], images: jax.Array, labels: jax.Array, offset: Any, size: int
    ) -> tuple[jax.Array, jax.Array]:
        """Summed loss and number correct on `size` examples from `offset`, padding excluded
        (pure; `size` is static)."""
        x = as_float(self._constrain(lax.dynamic_slice_in_dim(images, offset, size)))
        y = self._constrain(lax.dynamic_slice_in_dim(labels, offset, size))
        model, optimizer = self.merge(state)
        use_evaluation_params(model, optimizer)
        logits = model(x)
        valid = y >= 0
        loss = jnp.sum(jnp.where(valid, cross_entropy(logits, jnp.maximum(y, 0)), 0.0))
        return loss, jnp.sum(valid & (jnp.argmax(logits, -1) == y))

    def set_learning_rate_scale(self, state: dict[str, Any], scale: jax.Array) -> dict[str, Any]:
        """The state with the learning rate's multiplier set to `scale` (`jaxsched.set_scale`;
        pure)."""
        model, optimizer = self.merge(state)
        jaxsched.set_scale(optimizer, learning_rate=scale)  # in place, as NNX expects
        return state_of(model, optimizer)


def build(
    model: str,
    optimizer: str,
    hyperparams: dict[str, Any],
    *,
    batch_size: int,
    matmul_convs: bool = False,
    batch_sharding: jax.sharding.Sharding | None = None,
) -> Core:
    """The core of runs of `model` trained by `optimizer` with hyperparameters of the
    structure of `hyperparams` (their numbers do not matter)."""
    if model not in models.MODELS:
        raise ValueError(f"model must be one of {', '.join(models.MODELS)}, got {model!r}")
    make_optimizer(optimizer, hyperparams)  # unknown names and bad arguments fail here
    draft = Core(model, optimizer, None, None, batch_size, matmul_convs, batch_sharding)
    abstract = nnx.eval_shape(lambda: draft.create(jax.random.PRNGKey(0), hyperparams))
    return dataclasses.replace(
        draft,
        graphdef=nnx.graphdef({"model": abstract[0], "optimizer": abstract[1]}),
        model_graphdef=nnx.graphdef(abstract[0]),
    )


class DeviceData(NamedTuple):
    """The splits on the devices (uint8 images, int32 labels); the test and validation sets
    padded with label -1 to whole chunks of `eval_batch_size`, `num_test`/`num_val` real."""

    train_images: jax.Array
    train_labels: jax.Array
    test_images: jax.Array
    test_labels: jax.Array
    num_test: int
    val_images: jax.Array
    val_labels: jax.Array
    num_val: int
    eval_batch_size: int


def put_replicated(array: np.ndarray, sharding: jax.sharding.Sharding) -> jax.Array:
    """Copies a host array to every device of `sharding` (each host passes the same array)."""
    return jax.make_array_from_callback(array.shape, sharding, lambda index: array[index])


def _padded(
    split: tuple[np.ndarray, np.ndarray], multiple: int, sharding: jax.sharding.Sharding
) -> tuple[jax.Array, jax.Array]:
    images, labels = split
    padded = max(1, math.ceil(len(images) / multiple)) * multiple
    out_images = np.zeros((padded, *images.shape[1:]), np.uint8)
    out_labels = np.full((padded,), -1, np.int32)
    out_images[: len(images)], out_labels[: len(labels)] = images, labels
    return put_replicated(out_images, sharding), put_replicated(out_labels, sharding)


def put_data(
    dataset: data.Dataset,
    sharding: jax.sharding.Sharding,
    *,
    eval_batch_size: int,
    train_examples: int = 0,
    validation_examples: int = 0,
    test_examples: int = 0,
) -> DeviceData:
    """Splits `dataset` and copies it whole to each device of `sharding`: validation is the
    LAST `validation_examples` of the training split, training the first `train_examples` of
    the rest, test the first `test_examples` (0: all)."""
    num_train = len(dataset.train_images) - validation_examples
    if num_train <= 0:
        raise ValueError(
            f"validation_examples={validation_examples} leaves no training data out of "
            f"{len(dataset.train_images)}; pass fewer"
        )
    train_n = min(train_examples or num_train, num_train)
    test_n = min(test_examples or len(dataset.test_images), len(dataset.test_images))
    # At most the larger split it evaluates, rounded up to the device count: a larger batch
    # only pads the split (--eval-batch-size 100000000 asked for 73 GiB).
    devices = len(sharding.device_set)
    largest = max(test_n, validation_examples, 1)
    eval_batch_size = min(eval_batch_size, math.ceil(largest / devices) * devices)
    images, labels = dataset.train_images, dataset.train_labels
    test = _padded(
        (dataset.test_images[:test_n], dataset.test_labels[:test_n]), eval_batch_size, sharding
    )
    validation = _padded((images[num_train:], labels[num_train:]), eval_batch_size, sharding)
    train = put_replicated(images[:train_n], sharding), put_replicated(labels[:train_n], sharding)
    return DeviceData(*train, *test, test_n, *validation, validation_examples, eval_batch_size)


def evaluate(
    eval_step: Callable[..., tuple[jax.Array, jax.Array]],
    state: Any,
    images: jax.Array,
    labels: jax.Array,
    count: int,
    chunk: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean loss and accuracy over the first `count` examples (the rest is padding), with
    `eval_step(state, images, labels, offset)` on chunks of `chunk`; per run for stacked runs."""
    sums = [eval_step(state, images, labels, np.int32(o)) for o in range(0, len(images), chunk)]
    loss_sum, correct_sum = jax.device_get(jax.tree.map(lambda *x: sum(x), *sums))
    return np.asarray(loss_sum) / count, np.asarray(correct_sum) / count
