"""MNIST-format data in host memory: uint8 images (N, 28, 28, 1) and int32 labels, from the
four IDX files (read with NumPy) or tensorflow-datasets."""

from __future__ import annotations

import gzip
import math
import os
import stat
import typing
import warnings
import zlib
from typing import BinaryIO, NamedTuple

import numpy as np

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
# The third byte of an IDX magic number is the element type (0x08: unsigned byte), the fourth
# the number of dimensions.
_IDX_MAGIC = {3: 0x00000803, 1: 0x00000801}
_IMAGE_SHAPE = (28, 28)
# No IDX file of an MNIST-format dataset is larger (EMNIST's 814,255 images are 638 MB).
_MAX_IDX_BYTES = 2**30


class DataError(Exception):
    """The data cannot be loaded; the message says what to do instead."""


class Dataset(NamedTuple):
    """Training and test splits in host memory: uint8 images (N, 28, 28, 1), int32 labels."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


class DataWarning(UserWarning):
    """The data loads but looks wrong (the trainer prints it as one `warning:` line)."""


def _idx_path(folder: str, stem: str) -> str | None:
    # By name, not os.path.isfile: a file in a folder without search permission is not a
    # file to isfile, and the error must say the folder cannot be read, not that it is empty.
    names = set(os.listdir(folder))
    return next((os.path.join(folder, n) for n in (stem + ".gz", stem) if n in names), None)


def is_idx_folder(folder: str | None) -> bool:
    """Whether `folder` holds any of the four IDX files (gzipped or not); DataError if it
    cannot be listed."""
    if folder is None:
        return False
    try:
        return any(_idx_path(folder, s) for s in IDX_FILES.values())
    except OSError as e:
        raise DataError(
            f"cannot read --data-dir {folder} ({e.strerror}); give the trainer read access "
            "to it, or pass another folder"
        ) from None


def _read_bounded(f: BinaryIO, path: str, ndim: int) -> tuple[tuple[int, ...], bytes]:
    """The header's shape and the data of an open IDX stream, reading no more than the header
    says plus one byte (a gzip bomb is never decompressed whole)."""
    header_bytes = 4 + 4 * ndim
    header = f.read(header_bytes)
    if len(header) < header_bytes:
        raise DataError(
            f"{path} is truncated ({len(header)} bytes, shorter than its header); "
            "replace it with an intact copy"
        )
    magic = int.from_bytes(header[:4], "big")
    if magic != _IDX_MAGIC[ndim]:
        raise DataError(
            f"{path} has magic number {magic:#010x}, not {_IDX_MAGIC[ndim]:#010x} (an IDX file "
            f"of {ndim}-dimensional unsigned bytes); is it the right file, and intact?"
        )
    shape = tuple(int.from_bytes(header[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    size = math.prod(shape)
    if size > _MAX_IDX_BYTES:
        raise DataError(
            f"{path} has header {shape}, {size} bytes, more than an MNIST-format dataset "
            f"holds ({_MAX_IDX_BYTES}); the file is corrupt: replace it with an intact copy"
        )
    body = f.read(size + 1)  # one byte more than the header allows tells a longer file
    if len(body) < size:
        raise DataError(
            f"{path} has {header_bytes + len(body)} bytes but its header {shape} needs "
            f"{header_bytes + size}; the file is truncated or corrupt: replace it with an "
            "intact copy"
        )
    if len(body) > size:
        raise DataError(
            f"{path} is longer than the {header_bytes + size} bytes its header {shape} says "
            "(read no further); the file is corrupt: replace it with an intact copy"
        )
    return shape, body


def read_idx(path: str, ndim: int) -> np.ndarray:
    """The array in one IDX file of unsigned bytes (gzipped if named .gz); `ndim` is 3 for
    images, 1 for labels.

    Raises:
      DataError: unreadable, truncated, longer than its header says, or not such a file.
    """
    try:
        # Non-blocking, then the type: a FIFO would wait for a writer forever.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with open(fd, "rb") as raw:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise DataError(f"{path} is not a regular file; replace it with the IDX file")
            os.set_blocking(fd, True)
            f = gzip.GzipFile(fileobj=raw) if path.endswith(".gz") else raw
            shape, body = _read_bounded(typing.cast(BinaryIO, f), path, ndim)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"cannot read {path}: {e}; replace it with an intact copy") from None
    return np.frombuffer(body, dtype=np.uint8).reshape(shape)


def load_idx(folder: str) -> Dataset:
    """Loads the four IDX files from `folder`; DataError if one is missing or bad, or images
    and labels disagree in number."""
    arrays = {}
    for key, stem in IDX_FILES.items():
        path = _idx_path(folder, stem)
        if path is None:
            raise DataError(
                f"{folder} has no {stem}.gz (nor {stem}); it needs all four of "
                f"{', '.join(s + '.gz' for s in IDX_FILES.values())}"
            )
        arrays[key] = read_idx(path, ndim=3 if key.endswith("images") else 1)
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.shape[1:] != _IMAGE_SHAPE:
            raise DataError(f"{split} images in {folder} are {images.shape[1:]}, not 28x28")
        if len(images) != len(labels):
            raise DataError(
                f"{folder} has {len(images)} {split} images but {len(labels)} {split} labels; "
                "one of the two files is from another dataset or corrupt"
            )
        if labels.size and labels.max() > 9:
            raise DataError(f"{split} labels in {folder} go up to {labels.max()}, not 9")
    return Dataset(
        arrays["train_images"][..., None],
        arrays["train_labels"].astype(np.int32),
        arrays["test_images"][..., None],
        arrays["test_labels"].astype(np.int32),
    )


def load_tfds(name: str, data_dir: str | None, download: bool) -> Dataset:
    """Loads `name` from tensorflow-datasets without TensorFlow (`tfds.data_source`); fails
    at once with DataError when it is not prepared and not `download` (offline, `tfds.load`
    retries for minutes), or cannot be read."""
    import tensorflow_datasets as tfds  # only this path needs it

    builder = tfds.builder(name, data_dir=data_dir)
    if not builder.is_prepared():
        if not download:
            raise DataError(
                f"{name} is not prepared in the tensorflow-datasets data dir "
                f"{builder.data_dir_root}; pass --data-dir with a folder of the four IDX files "
                "(on Debian: apt-get install dataset-fashion-mnist, then --dataset fashion_mnist "
                "--data-dir /usr/share/datasets/fashion-mnist), or --download when online"
            )
        builder.download_and_prepare(file_format="array_record")
    splits = {}
    for split in ("train", "test"):
        try:
            source = tfds.data_source(name, split=split, data_dir=data_dir, download=False)
        except (NotImplementedError, ValueError) as e:
            raise DataError(
                f"{name} in {builder.data_dir} cannot be read without TensorFlow ({e}); "
                "prepare it again with --download into an empty --data-dir (array_record "
                "format), or pass a folder of the four IDX files"
            ) from None
        # Item by item: tfds's mock data source cannot serve __getitems__.
        examples = [source[i] for i in range(len(source))]
        images = np.stack([np.asarray(e["image"], np.uint8) for e in examples])
        labels = np.asarray([e["label"] for e in examples], np.int32)
        splits[split] = (images.reshape(-1, *_IMAGE_SHAPE, 1), labels)
    return Dataset(*splits["train"], *splits["test"])


def _check_split_sizes(dataset: Dataset, data_dir: str | None) -> None:
    """Raises DataError for an empty split; warns when the test split is the larger (swapped
    files: MNIST-format sets have 6 to 7 times more training images)."""
    for split, images in (("training", dataset.train_images), ("test", dataset.test_images)):
        if len(images) == 0:
            raise DataError(
                f"the {split} split in {data_dir or 'the tensorflow-datasets data dir'} has no "
                "images; replace its files with intact ones"
            )
    if len(dataset.test_images) > len(dataset.train_images):
        warnings.warn(
            f"the test split in {data_dir} has more images ({len(dataset.test_images)}) than "
            f"the training split ({len(dataset.train_images)}); are the train and t10k files "
            "swapped?",
            DataWarning,
            stacklevel=3,
        )


def load(
    name: str,
    data_dir: str | None = None,
    download: bool = False,
    max_train_examples: int = 0,
    max_test_examples: int = 0,
) -> Dataset:
    """Loads `name` ("mnist" or "fashion_mnist"): the IDX files when `data_dir` holds them,
    else tensorflow-datasets (`download` lets it fetch a missing one); keeps the first
    `max_*_examples` (0: all). Raises DataError saying what to pass instead."""
    if data_dir is not None and not os.path.isdir(data_dir):
        raise DataError(
            f"--data-dir {data_dir} is not a folder; pass a folder of the four IDX files "
            "or a tensorflow-datasets data dir"
        )
    if is_idx_folder(data_dir):
        assert data_dir is not None
        dataset = load_idx(data_dir)
    else:
        dataset = load_tfds(name, data_dir, download)
    _check_split_sizes(dataset, data_dir)
    train_n = max_train_examples or len(dataset.train_images)
    test_n = max_test_examples or len(dataset.test_images)
    return Dataset(*(x[:train_n] for x in dataset[:2]), *(x[:test_n] for x in dataset[2:]))
