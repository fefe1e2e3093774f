"""Tests of examples/mnist/train.py: schedules from flags, real learning, NaN stops, resuming."""

from __future__ import annotations

import dataclasses
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched
from examples.mnist import checkpoint, configs, data, train
from tests.mnist_helpers import FASHION_MNIST, small_config, write_idx_folder


def _config(tmp_path, **overrides) -> configs.Config:
    return small_config(tmp_path, **{"batch_size": 32, **overrides})


def test_schedule_gets_run_length_and_learning_rate_when_left_out():
    schedule = train.build_schedule("one_cycle", {}, learning_rate=0.05, total_steps=300)
    assert schedule == jaxsched.one_cycle(peak_value=0.05, total_steps=300)


def test_schedule_args_given_explicitly_are_kept():
    kwargs = {"init_value": 0.0, "peak_value": 0.2, "warmup_steps": 10, "decay_steps": 50}
    schedule = train.build_schedule("warmup_cosine_decay", kwargs, 0.05, total_steps=300)
    assert schedule == jaxsched.warmup_cosine_decay(**kwargs)


def test_schedule_args_take_durations_as_shares_of_the_run_and_epochs():
    kwargs = {"warmup_steps": "10%", "decay_steps": "2 epochs"}  # a warmup from 0
    schedule = train.build_schedule("warmup_cosine_decay", kwargs, 0.05, 300, steps_per_epoch=100)
    assert schedule == jaxsched.warmup_cosine_decay(
        init_value=0.0, peak_value=0.05, warmup_steps=30, decay_steps=200
    )


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


def test_optimizers_get_the_hyperparameters_their_flags_name():
    schedule = jaxsched.constant(0.1)

    def hyperparams(**overrides):
        return train.make_hyperparams(configs.Config(**overrides), schedule)

    assert hyperparams(optimizer="sgd", momentum=0.8) == {
        "learning_rate": schedule,
        "momentum": 0.8,
    }
    assert hyperparams(optimizer="sgd", momentum=0.0)["momentum"] is None
    assert hyperparams(optimizer="adam") == {"learning_rate": schedule}
    for name in ("adamw", "schedule_free_adamw"):
        assert hyperparams(optimizer=name, weight_decay=0.01)["weight_decay"] == 0.01


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
    state = checkpoints.restore(10, _saved_layout(config))
    assert all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(state["run"]["model"]))


def _saved_layout(config):
    """The arrays a checkpoint of `config`'s run holds (shapes and types only)."""
    trainer = train.setup(
        config, data.Dataset(*[np.zeros((64, 28, 28, 1), np.uint8), np.zeros(64, np.int32)] * 2)
    )
    run = train.create_state(trainer)
    return train._saved(trainer, run)


def test_existing_run_needs_resume_and_resume_needs_a_run(tmp_path):
    folder = write_idx_folder(str(tmp_path / "data"), num_train=256, num_test=16)
    config = _config(tmp_path, data_dir=folder)
    with pytest.raises(train.TrainingError, match=r"found no checkpoint.*drop --resume"):
        train.train_and_evaluate(dataclasses.replace(config, resume=True))
    train.train_and_evaluate(config)
    with pytest.raises(train.TrainingError, match=r"already holds a run.*--resume"):
        train.train_and_evaluate(config)
    with pytest.raises(checkpoint.CheckpointError, match=r"of another run \(--seed 0 there, 1"):
        train.train_and_evaluate(dataclasses.replace(config, resume=True, seed=1))


def test_a_checkpoint_of_the_linen_trainer_is_refused_in_one_line(tmp_path):
    folder = write_idx_folder(str(tmp_path / "data"), num_train=256, num_test=16)
    config = _config(tmp_path, data_dir=folder, resume=True)
    # What the Linen trainer saved: Linen parameters and optax state, and a record without
    # "format".
    params = {"Dense_0": {"kernel": jnp.zeros((784, 128)), "bias": jnp.zeros(128)}}
    linen_state = {
        "params": params,
        "opt_state": {"count": jnp.zeros([], jnp.int32), "trace": params},
        "step": jnp.asarray(8, jnp.int32),
        "data_key": jax.random.PRNGKey(0),
    }
    record = {"config": {"model": "mlp"}, "schedule": {}, "steps_per_epoch": 8}
    checkpoints = checkpoint.Checkpoints(os.path.join(config.workdir, "checkpoints"), 2)
    checkpoints.save(8, linen_state, record)
    checkpoints.close()
    with pytest.raises(checkpoint.CheckpointError, match=r"written by the Linen trainer.*new run"):
        train.train_and_evaluate(config)


def test_batch_larger_than_the_data_is_rejected(tmp_path):
    dataset = data.Dataset(
        np.zeros((8, 28, 28, 1), np.uint8),
        np.zeros(8, np.int32),
        np.zeros((4, 28, 28, 1), np.uint8),
        np.zeros(4, np.int32),
    )
    with pytest.raises(train.TrainingError, match="larger than the 8 training examples"):
        train.train_and_evaluate(_config(tmp_path, batch_size=16), dataset)
