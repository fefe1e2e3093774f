"""Fixtures of the trainer's fault tests (test_mnist_faults.py, test_mnist_hostile.py): a small
IDX folder and a finished run to copy, each made once per module."""

from __future__ import annotations

import os

import pytest

from examples.mnist import configs, train
from tests.mnist_helpers import small_config, write_idx_folder


def run_config(tmp_path: os.PathLike, data_dir: str, **overrides) -> configs.Config:
    """`small_config` on `data_dir` in batches of 64: 8 updates on the `data_dir` fixture."""
    return small_config(tmp_path, **{"data_dir": data_dir, "batch_size": 64, **overrides})


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """512 training and 128 test images of `synthetic_digits`."""
    return write_idx_folder(str(tmp_path_factory.mktemp("data")), num_train=512, num_test=128)


@pytest.fixture(scope="module")
def finished(tmp_path_factory, data_dir):
    """A finished run of 8 updates with checkpoints at steps 6 and 8 (copied per test), and
    what it returned."""
    config = run_config(tmp_path_factory.mktemp("finished"), data_dir, checkpoint_every_steps=2)
    return config, train.train_and_evaluate(config)
