"""MULTI-PROCESS: `--distributed` for real, two trainer processes on localhost (issue 14).

Each process sees 2 forced CPU devices (XLA_FLAGS), the coordinator listens on 127.0.0.1 and
the CPU collectives go through gloo (jax's default `jax_cpu_collectives_implementation`). The
two must train as one process with all 4 devices does, and a run whose process 1 is killed
(and the job with it) must resume to the same end: five small MLP processes, which share
their compiled programs through JAX's persistent cache.
"""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import time

import numpy as np

from tests.mnist_helpers import cli, free_port, shared_compiles, wait_all, write_idx_folder

_TRAIN_FIELDS = ("loss", "accuracy", "lr")


def _flags(data_dir: str, workdir: str, epochs: int = 1) -> list[str]:
    # 512 images, batches of 32 over 4 devices: 16 updates an epoch.
    return ["--data-dir", data_dir, "--workdir", workdir, "--model", "mlp",
            "--epochs", str(epochs), "--batch-size", "32", "--checkpoint-every-steps", "4",
            "--log-every-steps", "4", "--no-progress", "--no-plot"]  # fmt: skip


def _env(devices: int, cache: str) -> dict[str, str]:
    return {"XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}",
            "JAX_PLATFORMS": "cpu", **shared_compiles(cache)}  # fmt: skip


def _start_pair(flags: list[str], cache: str) -> list[subprocess.Popen]:
    coordinator = f"127.0.0.1:{free_port()}"
    distributed = ["--distributed", "--coordinator-address", coordinator, "--num-processes", "2"]
    return [cli(*flags, *distributed, "--process-id", str(i), env=_env(2, cache)) for i in (0, 1)]


def _metrics(workdir: str) -> list[dict]:
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        return [json.loads(line) for line in f]


def _assert_same_training(records: list[dict], reference: list[dict]) -> None:
    steps = [r for r in records if r["kind"] == "step"]
    expected = [r for r in reference if r["kind"] == "step"]
    assert [r["step"] for r in steps] == [r["step"] for r in expected]
    for field in _TRAIN_FIELDS:
        np.testing.assert_allclose(
            [r[field] for r in steps], [r[field] for r in expected], rtol=1e-5, atol=1e-6
        )
    last, last_expected = records[-1], reference[-1]
    assert last["kind"] == last_expected["kind"] == "epoch"
    np.testing.assert_allclose(last["test_loss"], last_expected["test_loss"], rtol=1e-5)
    assert last["test_accuracy"] == last_expected["test_accuracy"]


def test_two_processes_train_as_one_process_with_all_devices_and_resume_after_a_kill(tmp_path):
    data_dir = write_idx_folder(str(tmp_path / "data"), num_train=512, num_test=128)
    one_dir, two_dir = str(tmp_path / "one"), str(tmp_path / "two")
    cache = str(tmp_path / "compiled")
    wait_all([cli(*_flags(data_dir, one_dir, epochs=2), env=_env(4, cache))])

    # The pair trains until a checkpoint is complete (its checksums written, the save over);
    # then process 1 is killed. Process 0 cannot go on without it, and a job scheduler would
    # end it too. The resumed pair must end where one process with all four devices ended,
    # step for step: the steps before the kill and those after the resume.
    pair = _start_pair(_flags(data_dir, two_dir, epochs=2), cache)
    checkpoints = os.path.join(two_dir, "checkpoints")
    deadline = time.monotonic() + 240
    while not glob.glob(os.path.join(checkpoints, "*", "checksums.json")):
        assert all(p.poll() is None for p in pair), pair[0].communicate()[1][-3000:]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    pair[1].send_signal(signal.SIGKILL)
    pair[1].communicate()
    assert pair[1].returncode == -signal.SIGKILL  # killed mid-run, not after it ended
    time.sleep(1)
    pair[0].send_signal(signal.SIGKILL)
    pair[0].communicate()
    wait_all(_start_pair([*_flags(data_dir, two_dir, epochs=2), "--resume"], cache))
    _assert_same_training(_metrics(two_dir), _metrics(one_dir))
