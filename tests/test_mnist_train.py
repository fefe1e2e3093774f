"""Tests of examples/mnist/train.py: schedules from flags, models, real learning, NaN stops."""

from __future__ import annotations

import dataclasses
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched
from examples.mnist import checkpoint, configs, data, models, train
from tests.mnist_helpers import FASHION_MNIST, write_idx_folder


def _config(tmp_path, **overrides) -> configs.Config:
    defaults = dict(
        model="mlp",
        epochs=1,
        batch_size=32,
        progress=False,
        plot=False,
        workdir=str(tmp_path / "run"),
    )
    return dataclasses.replace(configs.Config(), **{**defaults, **overrides})


def test_schedule_gets_run_length_and_learning_rate_when_left_out():
    schedule = train.build_schedule("one_cycle", {}, learning_rate=0.05, total_steps=300)
    assert schedule == jaxsched.one_cycle(peak_value=0.05, total_steps=300)


def test_schedule_args_given_explicitly_are_kept():
    kwargs = {"init_value": 0.0, "peak_value": 0.2, "warmup_steps": 10, "decay_steps": 50}
    schedule = train.build_schedule("warmup_cosine_decay", kwargs, 0.05, total_steps=300)
    assert schedule == jaxsched.warmup_cosine_decay(**kwargs)


def test_transformers_names_take_their_arguments_as_given():
    kwargs = {"peak_value": 0.1, "num_warmup_steps": 5, "num_training_steps": 40}
    schedule = train.build_schedule("cosine", kwargs, 0.05, total_steps=300)
    assert schedule.to_config() == jaxsched.get("cosine", **kwargs).to_config()


def test_bad_schedule_args_raise_training_error_that_points_at_the_flag():
    with pytest.raises(train.TrainingError, match="--schedule-args"):
        train.build_schedule("warmup_cosine_decay", {}, 0.05, total_steps=300)
    with pytest.raises(train.TrainingError, match="not a known schedule"):
        train.build_schedule("no_such_schedule", {}, 0.05, total_steps=300)


def test_bad_flag_values_are_rejected_by_the_config():
    with pytest.raises(ValueError, match="--schedule-args is not valid JSON"):
        configs.Config(schedule_args="{peak_value: 1}")
    with pytest.raises(ValueError, match="--model must be one of cnn, mlp"):
        configs.Config(model="resnet")


@pytest.mark.parametrize("name", ["cnn", "mlp"])
def test_models_map_a_batch_of_images_to_ten_logits(name):
    model = models.create(name)
    params = model.init(jax.random.PRNGKey(0), jnp.zeros((1, 28, 28, 1)))
    assert model.apply(params, jnp.zeros((3, 28, 28, 1))).shape == (3, 10)


def test_cnn_has_the_flax_example_layers():
    params = models.create("cnn").init(jax.random.PRNGKey(0), jnp.zeros((1, 28, 28, 1)))
    shapes = [leaf.shape for leaf in jax.tree.leaves(params) if leaf.ndim > 1]
    assert shapes == [(3, 3, 1, 32), (3, 3, 32, 64), (3136, 256), (256, 10)]


def test_one_epoch_on_mock_tfds_data_writes_metrics_checkpoint_and_curves(tmp_path):
    import tensorflow_datasets as tfds

    config = _config(
        tmp_path,
        model="cnn",
        batch_size=16,
        plot=True,
        data_dir=str(tmp_path / "tfds"),
        download=True,
    )
    os.makedirs(config.data_dir)
    with tfds.testing.mock_data(num_examples=64):
        summary = train.train_and_evaluate(config)
    assert summary["step"] == 4
    with open(os.path.join(config.workdir, "metrics.jsonl")) as f:
        records = [json.loads(line) for line in f]
    assert [r["step"] for r in records if r["kind"] == "step"] == [1, 2, 3, 4]
    expected_lr = jaxsched.one_cycle(peak_value=0.1, total_steps=4)(jnp.arange(4))
    np.testing.assert_allclose([r["lr"] for r in records[:4]], expected_lr, rtol=1e-6)
    assert records[-1]["kind"] == "epoch" and 0 <= records[-1]["test_accuracy"] <= 1
    assert checkpoint.Checkpoints(os.path.join(config.workdir, "checkpoints"), 1).all_steps() == [4]
    with open(os.path.join(config.workdir, "curves.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_short_real_fashion_mnist_run_learns(tmp_path):
    if not os.path.isdir(FASHION_MNIST):
        if os.environ.get("CI"):
            pytest.fail(f"{FASHION_MNIST} is missing: apt-get install dataset-fashion-mnist")
        pytest.skip(f"{FASHION_MNIST} is missing: apt-get install dataset-fashion-mnist")
    config = _config(
        tmp_path,
        dataset="fashion_mnist",
        data_dir=FASHION_MNIST,
        epochs=2,
        max_train_examples=4000,
        max_test_examples=2000,
        learning_rate=0.05,
    )
    summary = train.train_and_evaluate(config)
    assert summary["test_accuracy"] > 0.6  # chance is 0.1; this reaches about 0.75


def test_non_finite_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
    folder = write_idx_folder(str(tmp_path / "data"), num_train=640, num_test=64)
    schedule_args = json.dumps({"boundaries": [10], "values": [0.01, 1e30]})
    config = _config(
        tmp_path,
        data_dir=folder,
        schedule="piecewise_constant",
        schedule_args=schedule_args,
        checkpoint_every_steps=5,
        log_every_steps=1,
    )
    with pytest.raises(train.TrainingError, match=r"loss became (nan|inf) at step 1[1-9]"):
        train.train_and_evaluate(config)
    checkpoints = checkpoint.Checkpoints(os.path.join(config.workdir, "checkpoints"), 2)
    assert checkpoints.all_steps() == [5, 10]
    state, _ = checkpoints.restore(10, _abstract_state(config))
    assert all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(state["params"]))


def _abstract_state(config):
    schedule = jaxsched.constant(1.0)
    params = models.create(config.model).init(jax.random.PRNGKey(0), jnp.zeros((1, 28, 28, 1)))
    params = params["params"]
    opt_state = train.make_optimizer(config, schedule).init(params)
    return {
        "params": params,
        "opt_state": opt_state,
        "step": jnp.asarray(0, jnp.int32),
        "data_key": jax.random.PRNGKey(0),
    }


def test_existing_run_needs_resume_and_resume_needs_a_run(tmp_path):
    folder = write_idx_folder(str(tmp_path / "data"), num_train=256, num_test=16)
    config = _config(tmp_path, data_dir=folder)
    with pytest.raises(train.TrainingError, match=r"found no checkpoint.*drop --resume"):
        train.train_and_evaluate(dataclasses.replace(config, resume=True))
    train.train_and_evaluate(config)
    with pytest.raises(train.TrainingError, match=r"already holds a run.*--resume"):
        train.train_and_evaluate(config)
    with pytest.raises(train.TrainingError, match="of another run"):
        train.train_and_evaluate(dataclasses.replace(config, resume=True, seed=1))


def test_batch_larger_than_the_data_is_rejected(tmp_path):
    dataset = data.Dataset(
        np.zeros((8, 28, 28, 1), np.uint8),
        np.zeros(8, np.int32),
        np.zeros((4, 28, 28, 1), np.uint8),
        np.zeros(4, np.int32),
    )
    with pytest.raises(train.TrainingError, match="larger than the 8 training examples"):
        train.train_and_evaluate(_config(tmp_path, batch_size=16), dataset)
