"""Shared by the tests of examples/mnist: small IDX folders, small configs and running the
real CLI."""

from __future__ import annotations

import dataclasses
import gzip
import os
import shutil
import socket
import subprocess
import sys

import numpy as np

from examples.mnist import configs

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FASHION_MNIST = "/usr/share/datasets/fashion-mnist"


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of a uint8 array: magic (0, 0, 0x08, ndim), big-endian sizes, data."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    return header + np.ascontiguousarray(array, np.uint8).tobytes()


def synthetic_digits(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Learnable 28x28 images: class k lights a 7x7 square at one of ten places, plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, count).astype(np.uint8)
    images = rng.integers(0, 60, (count, 28, 28)).astype(np.uint8)
    for k in range(10):
        row, col = 7 * (k // 4), 7 * (k % 4)
        images[labels == k, row : row + 7, col : col + 7] = 255
    return images, labels


def small_config(tmp_path: os.PathLike, **overrides) -> configs.Config:
    """A run that trains in seconds: the MLP for one epoch, no progress bar or plot, in
    `tmp_path`/run; `overrides` set any other field."""
    defaults = dict(
        model="mlp", epochs=1, progress=False, plot=False, workdir=os.path.join(tmp_path, "run")
    )
    return dataclasses.replace(configs.Config(), **{**defaults, **overrides})


def copy_run(config: configs.Config, tmp_path: os.PathLike) -> configs.Config:
    """A copy of `config`'s work dir in `tmp_path`/copy, and the config that resumes it there."""
    target = os.path.join(tmp_path, "copy")
    shutil.copytree(config.workdir, target, symlinks=True)
    return dataclasses.replace(config, workdir=target, resume=True)


def write_idx_folder(folder: str, num_train: int = 1024, num_test: int = 256) -> str:
    """Writes the four gzipped IDX files of a synthetic dataset into `folder`."""
    os.makedirs(folder, exist_ok=True)
    train = synthetic_digits(num_train, seed=0)
    test = synthetic_digits(num_test, seed=1)
    arrays = {
        "train-images-idx3-ubyte": train[0],
        "train-labels-idx1-ubyte": train[1],
        "t10k-images-idx3-ubyte": test[0],
        "t10k-labels-idx1-ubyte": test[1],
    }
    for stem, array in arrays.items():
        with gzip.open(os.path.join(folder, stem + ".gz"), "wb") as f:
            f.write(idx_bytes(array))
    return folder


def shared_compiles(directory: os.PathLike) -> dict[str, str]:
    """The environment of CLI runs that share their compiled programs through JAX's persistent
    cache in `directory`: runs of one shape compile once (2.3 s CPU of 5.6 for a small run)."""
    return {
        "JAX_COMPILATION_CACHE_DIR": str(directory),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
    }


def cli(*flags: str, env: dict[str, str] | None = None, **kwargs) -> subprocess.Popen:
    """Starts `python -m examples.mnist.main FLAGS` in the repository root."""
    return subprocess.Popen(
        [sys.executable, "-m", "examples.mnist.main", *flags],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def run_cli(*flags: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    """Runs the CLI to the end; returns its exit status and output."""
    process = cli(*flags, **kwargs)
    stdout, stderr = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def free_port() -> int:
    """A localhost port that was free a moment ago (for a coordinator, or one nobody answers)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_all(processes: list[subprocess.Popen], timeout: float = 240) -> None:
    """Reaps every process (a failed one must not leave its partner waiting), then asserts
    that each exited 0."""
    outputs = [process.communicate(timeout=timeout)[1] for process in processes]
    for process, stderr in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr[-3000:]
