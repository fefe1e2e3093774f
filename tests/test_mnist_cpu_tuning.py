"""Tests of examples/mnist/cpu_tuning.py: the options take effect and change no results."""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import jax
import numpy as np
import pytest

from examples.mnist import configs, cpu_tuning, data, main, train
from tests.mnist_helpers import REPO


def test_compiler_options_are_for_the_cnn_on_cpu_only():
    assert cpu_tuning.compiler_options("gpu", "cnn") == {}
    assert cpu_tuning.compiler_options("tpu", "cnn") == {}
    assert cpu_tuning.compiler_options("cpu", "mlp") == {}
    # The pinned jaxlib accepts the option; a newer one that drops it would get {}.
    options = cpu_tuning.compiler_options("cpu", "cnn")
    assert set(options) == {"xla_cpu_experimental_ynn_fusion_type"}


def _cnn_steps(tuned: bool, steps: int = 3):
    """The model after `steps` updates of the trainer's CNN step, and the compiled step's HLO."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (64, 28, 28, 1), np.uint8)
    labels = rng.integers(0, 10, 64).astype(np.int32)
    dataset = data.Dataset(images, labels, images[:8], labels[:8])
    config = configs.Config(model="cnn", batch_size=32, learning_rate=0.05, cpu_tuning=tuned)
    trainer = train.setup(config, dataset)
    run = train.create_state(trainer)
    order = jax.numpy.arange(64, dtype=jax.numpy.int32)
    state = run.state
    for i in range(steps):
        state, _ = trainer.train_step(
            state, trainer.hyperparams, *trainer.data[:2], order, 32 * (i % 2)
        )
    return state["model"], trainer.train_step.as_text()


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="XLA:CPU options")
def test_tuned_step_trains_like_the_default_step_and_leaves_weight_gradients_to_xla():
    tuned, tuned_hlo = _cnn_steps(tuned=True)
    default, default_hlo = _cnn_steps(tuned=False)
    for a, b in zip(jax.tree.leaves(tuned), jax.tree.leaves(default), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)

    # The weight gradient of each convolution (a convolution with a 28x28 or 14x14 window)
    # runs as a plain XLA convolution when tuned, and inside a YNNPACK fusion by default.
    def plain_weight_gradient_convolutions(hlo: str) -> int:
        entry = hlo.split("\nENTRY ", 1)[1]
        return sum(
            " convolution(" in line and ("size=28x28" in line or "size=14x14" in line)
            for line in entry.splitlines()
        )

    assert plain_weight_gradient_convolutions(tuned_hlo) == 2
    assert plain_weight_gradient_convolutions(default_hlo) == 0


# What both fault scripts start with: glibc's malloc and free through ctypes.
_LIBC = """
import ctypes, ctypes.util, json, resource, sys, threading
from examples.mnist import cpu_tuning

libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
"""


def _run_script(script: str, *args: str) -> dict:
    """Runs `_LIBC + script` in a fresh interpreter; the JSON of its last output line."""
    result = subprocess.run(
        [sys.executable, "-c", _LIBC + script, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.splitlines()[-1])


_FAULTS_SCRIPT = """
SIZE = 40 << 20  # about the CNN step's temporaries, which XLA:CPU mallocs every step

def use_a_block():
    block = libc.malloc(SIZE)
    ctypes.memset(block, 1, SIZE)
    libc.free(block)

def faults_per_block():
    use_a_block()
    start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        use_a_block()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start) / 10

before = faults_per_block()
applied = cpu_tuning.keep_freed_memory()
print(json.dumps({"before": before, "applied": applied, "after": faults_per_block()}))
"""


def test_keep_freed_memory_stops_large_blocks_faulting_in_again():
    faults = _run_script(_FAULTS_SCRIPT)
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        assert faults["applied"] is False
        return
    assert faults["applied"] is True
    # 40 MB is about 9,800 pages of 4 KiB: glibc maps and faults them in for every block
    # until told to keep freed memory; then a block reuses the pages of the one before.
    assert faults["before"] > 5000
    assert faults["after"] < faults["before"] / 20


_THREAD_FAULTS_SCRIPT = """
SIZE = 80 << 20  # more than a glibc thread arena's 64 MB heap

if sys.argv[1] == "tuned":
    applied = cpu_tuning.keep_freed_memory()
else:  # the same settings without M_ARENA_MAX
    applied = libc.mallopt(-4, 0) == 1 and libc.mallopt(-1, 2**31 - 1) == 1

def faults_per_block(out):
    for repeat in range(11):
        if repeat == 1:
            start = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
        block = libc.malloc(SIZE)
        ctypes.memset(block, 1, SIZE)
        libc.free(block)
    out.append((resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - start) / 10)

out = []
worker = threading.Thread(target=faults_per_block, args=(out,))
worker.start()
worker.join()
print(json.dumps({"applied": applied, "faults": out[0]}))
"""


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc's malloc"
)
def test_keep_freed_memory_covers_large_blocks_of_other_threads():
    def faults(mode: str) -> float:
        measured = _run_script(_THREAD_FAULTS_SCRIPT, mode)
        assert measured["applied"] is True
        return float(measured["faults"])

    # XLA runs steps on its own threads. A thread's arena serves a block larger than its
    # 64 MB heap with mmap even under M_MMAP_MAX=0, so every block faults its ~20,000 pages
    # in again; with one arena for all threads the block is reused.
    without_arena = faults("without_arena")
    assert without_arena > 10_000
    assert faults("tuned") < without_arena / 20


def test_cpu_tuning_is_a_flag_and_part_of_the_run_that_resume_checks():
    assert main.parse(["--no-cpu-tuning"])[0].cpu_tuning is False
    assert main.parse([])[0].cpu_tuning is True
    assert "cpu_tuning" in configs.Config().run_fields()
