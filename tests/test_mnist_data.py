"""Tests of examples/mnist/data.py: IDX files, bad files, tensorflow-datasets (mocked, offline)."""

from __future__ import annotations

import gzip
import os
import time

import numpy as np
import pytest

from examples.mnist import data
from tests.mnist_helpers import idx_bytes, run_cli, synthetic_digits, write_idx_folder


def test_idx_folder_loads_images_and_labels_as_written(tmp_path):
    folder = write_idx_folder(str(tmp_path), num_train=50, num_test=20)
    dataset = data.load("mnist", folder)
    images, labels = synthetic_digits(50, seed=0)
    np.testing.assert_array_equal(dataset.train_images[..., 0], images)
    np.testing.assert_array_equal(dataset.train_labels, labels)
    assert dataset.train_images.shape == (50, 28, 28, 1)
    assert dataset.test_images.shape == (20, 28, 28, 1)
    assert dataset.train_labels.dtype == np.int32


def test_uncompressed_idx_files_are_read_too(tmp_path):
    folder = write_idx_folder(str(tmp_path), num_train=30, num_test=10)
    path = os.path.join(folder, "train-images-idx3-ubyte.gz")
    with gzip.open(path) as f:
        raw = f.read()
    os.remove(path)
    with open(path[: -len(".gz")], "wb") as f:
        f.write(raw)
    assert data.load("mnist", folder).train_images.shape == (30, 28, 28, 1)


def test_subset_flags_keep_the_first_examples(tmp_path):
    folder = write_idx_folder(str(tmp_path), num_train=50, num_test=20)
    dataset = data.load("mnist", folder, max_train_examples=7, max_test_examples=3)
    assert [len(a) for a in dataset] == [7, 7, 3, 3]


def _replace(folder: str, stem: str, raw: bytes, compress: bool = True) -> None:
    with (gzip.open if compress else open)(os.path.join(folder, stem + ".gz"), "wb") as f:
        f.write(raw)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda raw: b"\x00\x00\x08\x01" + raw[4:], "magic number"),
        (lambda raw: raw[:-100], "truncated or corrupt"),
        (lambda raw: raw + b"\x00", "is longer than the .* bytes its header"),
        (lambda raw: raw[:10], "shorter than its header"),
    ],
    ids=["bad_magic", "too_short", "too_long", "cut_header"],
)
def test_damaged_idx_file_raises_data_error(tmp_path, damage, message):
    folder = write_idx_folder(str(tmp_path), num_train=40, num_test=10)
    images, _ = synthetic_digits(40, seed=0)
    _replace(folder, "train-images-idx3-ubyte", damage(idx_bytes(images)))
    with pytest.raises(data.DataError, match=message):
        data.load("mnist", folder)


def test_corrupt_gzip_raises_data_error(tmp_path):
    folder = write_idx_folder(str(tmp_path), num_train=40, num_test=10)
    path = os.path.join(folder, "t10k-images-idx3-ubyte.gz")
    with open(path, "rb") as f:
        raw = f.read()
    with open(path, "wb") as f:
        f.write(raw[: len(raw) // 2])
    with pytest.raises(data.DataError, match=r"cannot read .*t10k-images"):
        data.load("mnist", folder)


def test_missing_idx_file_is_named(tmp_path):
    folder = write_idx_folder(str(tmp_path), num_train=40, num_test=10)
    os.remove(os.path.join(folder, "t10k-labels-idx1-ubyte.gz"))
    with pytest.raises(data.DataError, match=r"no t10k-labels-idx1-ubyte\.gz"):
        data.load("mnist", folder)


def test_images_and_labels_of_different_lengths_are_rejected(tmp_path):
    folder = write_idx_folder(str(tmp_path), num_train=40, num_test=10)
    _replace(folder, "train-labels-idx1-ubyte", idx_bytes(np.zeros(39, np.uint8)))
    with pytest.raises(data.DataError, match="40 train images but 39 train labels"):
        data.load("mnist", folder)


def test_cli_reports_a_bad_file_in_one_line_without_traceback(tmp_path):
    folder = write_idx_folder(str(tmp_path / "data"), num_train=40, num_test=10)
    _replace(folder, "train-images-idx3-ubyte", b"not an idx file at all")
    result = run_cli("--data-dir", folder, "--workdir", str(tmp_path / "run"), timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1, result.stderr
    assert "magic number" in error_lines[0]


def test_unprepared_tfds_dataset_fails_fast_and_names_the_way_out(tmp_path):
    start = time.perf_counter()
    with pytest.raises(data.DataError, match=r"not prepared.*--data-dir.*--download"):
        data.load("mnist", str(tmp_path))
    assert time.perf_counter() - start < 20  # tfds.load retries for minutes when offline


def test_tfds_path_reads_mock_data_without_tensorflow(tmp_path):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=24):
        dataset = data.load("fashion_mnist", str(tmp_path), download=True)
    assert dataset.train_images.shape == (24, 28, 28, 1)
    assert dataset.train_images.dtype == np.uint8
    assert dataset.test_labels.shape == (24,)
    assert dataset.train_labels.min() >= 0 and dataset.train_labels.max() <= 9
